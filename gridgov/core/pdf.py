"""The Chinese font of every PDF gridgov makes (reports, grid notice boards).

A printed or mailed PDF is read on machines that may have no Chinese font, so the font is
embedded (as a subset) rather than named. `register_font` finds one and registers it with
reportlab once per process; without one, `ReportUnavailable` says what to install.
"""

from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

# Where a Chinese TrueType font is looked for (Debian's fonts-wqy-microhei first).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FONT_NAME = "GridgovCJK"


class ReportUnavailable(Exception):
    """The PDF cannot be made here (no Chinese font): the message says what to install."""


def font_path() -> Path:
    configured = getattr(settings, "GRIDGOV_PDF_FONT", "")
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ReportUnavailable(
        _(
            "No Chinese font is installed for PDF reports: install Debian's "
            "fonts-wqy-microhei or set GRIDGOV_PDF_FONT to a TrueType font."
        )
    )


def register_font() -> str:
    """The reportlab name of the embedded Chinese font, registered on first use."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = font_path()
        extra = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), **extra))  # embedded as a subset
    return FONT_NAME
