"""A grid's printable contact card, the public notice board (网格公示牌), as an A4 PDF.

A notice board hangs where residents read it, so it shows the numbers they can call: the full
phones of the grid leader, the police officer, the city-management supervisor and whoever else
holds one of the grid's posts. Printing them is a reveal of personal data: it needs
`Perm.REVEAL_STAFF_PHONE` on the grid, and every card made is audited: one export entry for
the card, and for each person on it the same reveal entry their phone's reveal button writes,
so an auditor asking "who saw this person's number" finds the board too.
"""

import io
from html import escape

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from gridgov.accounts.models import Post, Role
from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.pdf import register_font
from gridgov.grids.models import Grid
from gridgov.grids.staffing import GridStaffing, grid_staffing
from gridgov.privacy import audit
from gridgov.privacy.models import AuditEntry
from gridgov.privacy.services import record_reveal

# Always on the board, vacant or not: whom residents look for first.
KEY_POSTS = (Post.POLICE_OFFICER, Post.SUPERVISOR)


def vacant_text() -> str:
    return pgettext("post", "Vacant")


def board_rows(staffing: GridStaffing) -> list[tuple[str, object | None]]:
    """(post label, user or None when vacant): the grid leader and the key posts always,
    the other posts when someone holds them."""
    rows = [(str(Role.GRID_LEADER.label), staffing.leader.user if staffing.leader else None)]
    for entry in staffing.posts:
        if entry.vacant and entry.post in KEY_POSTS:
            rows.append((entry.label, None))
        rows += [(entry.label, held.user) for held in entry.holders]
    return rows


def parents_text(grid: Grid) -> str:
    """The community and street above the grid, top first (grid names are public)."""
    above = Grid.objects.filter(code__in=grid.ancestor_codes()).order_by("level")
    return " › ".join(above.values_list("name", flat=True))


def filename(grid: Grid) -> str:
    return f"gridgov-notice-board-{grid.code}.pdf"


@transaction.atomic
def notice_board(viewer, grid: Grid, ip_address: str | None = None) -> bytes:
    """The card's PDF for a grid the viewer sees (callers 404 first), audited.

    Raises PermissionDenied without the permission and core.pdf.ReportUnavailable without a
    Chinese font (nothing is audited then: nothing was printed)."""
    if not has_perm(viewer, Perm.REVEAL_STAFF_PHONE, grid):
        raise PermissionDenied(_("Your role may not print full phone numbers."))
    rows = board_rows(grid_staffing(grid, viewer))
    content = layout(grid, rows)
    reason = _("Printed on the notice board of grid %(code)s") % {"code": grid.code}
    audit.append(actor=viewer, action=AuditEntry.Action.EXPORT, object_type=grid._meta.label_lower,
                 object_id=grid.code, field="notice_board", reason=reason, ip_address=ip_address)
    for person in {user.pk: user for _label, user in rows if user is not None}.values():
        record_reveal(actor=viewer, obj=person, field="phone", reason=reason, ip_address=ip_address)
    return content


def layout(grid: Grid, rows: list[tuple[str, object | None]]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_font()
    title_text = _("Grid notice board")
    title = ParagraphStyle("title", fontName=font, fontSize=32, leading=42, alignment=TA_CENTER, spaceAfter=8)
    name = ParagraphStyle("name", fontName=font, fontSize=22, leading=30, alignment=TA_CENTER)
    body = ParagraphStyle("body", fontName=font, fontSize=12, leading=18, alignment=TA_CENTER)
    note = ParagraphStyle("note", fontName=font, fontSize=11, leading=16)
    vacant = vacant_text()
    table = [[_("Post"), pgettext("person", "Name"), _("Phone")]]
    table += [[label, str(user), user.phone or "—"] if user else [label, vacant, vacant]
              for label, user in rows]
    style = TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 15),
        ("LEADING", (0, 0), (-1, -1), 22),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
    ])
    for index, (_label, user) in enumerate(rows, start=1):
        if user is None:
            style.add("TEXTCOLOR", (1, index), (-1, index), colors.HexColor("#c0392b"))
    parents = parents_text(grid)
    story = [
        Paragraph(title_text, title),
        Paragraph(escape(grid.name), name),  # Paragraph reads markup: names are text
        Paragraph(_("Grid code %(code)s") % {"code": grid.code}, body),
        *([Paragraph(escape(parents), body)] if parents else []),
        Spacer(1, 10 * mm),
        Table(table, colWidths=[55 * mm, 50 * mm, 65 * mm], repeatRows=1, style=style),
        Spacer(1, 10 * mm),
        Paragraph(_("For any matter in this grid (a problem to report, help you need), call the "
                    "people above."), note),
    ]
    out = io.BytesIO()
    printed = timezone.localtime()

    def footer(canvas, doc):
        canvas.setFont(font, 8)
        canvas.drawString(20 * mm, 12 * mm, f"gridgov · {title_text} · {grid.code} · {printed:%Y-%m-%d}")

    document = SimpleDocTemplate(out, pagesize=A4, title=f"{title_text} {grid.name}", author="gridgov",
                                 leftMargin=20 * mm, rightMargin=20 * mm, topMargin=25 * mm,
                                 bottomMargin=20 * mm)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
