"""Inspecting, limiting and thumbnailing uploaded media: photos, videos and voice recordings.

The cases app calls these for every file attached to a report. Functions on the files and on
the unsaved rows that hold them (`store`, `hold`); `finish_held` alone writes a row.

- The type of a file is decided by its content, never by its name or the client's content
  type: photos are opened with Pillow (JPEG, PNG, WebP), videos and recordings are
  recognised by their container headers (MP4/MOV, WebM/Matroska; MP3, M4A, AAC, AMR, Ogg,
  WAV). An MP4 or WebM that holds only sound counts as a recording.
- Size limits come from settings (`GRIDGOV_UPLOAD_MAX_IMAGE_BYTES`, `..._VIDEO_BYTES`,
  `..._AUDIO_BYTES`) and are checked before anything is decoded; photos are also limited in
  pixels (`GRIDGOV_UPLOAD_MAX_IMAGE_PIXELS`) before their pixels are decoded.
- Every refusal is a `ValidationError` naming the file, with a `code`: "unsupported_type",
  "too_large", "empty", "corrupt" (and "too_many" from `inspect_uploads`).
- Every function rewinds the file before it returns, so callers can save it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import math
import os
import struct
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps, UnidentifiedImageError

Kind = Literal["image", "video", "audio", "document"]
# What a report takes by default; documents (PDF) only where a caller asks for them.
KINDS: tuple[Kind, ...] = ("image", "video", "audio")
ALL_KINDS: tuple[Kind, ...] = ("image", "video", "audio", "document")

KIB = 1024
MIB = 1024 * KIB

# setting name, default
MAX_BYTES_SETTINGS = {
    "image": ("GRIDGOV_UPLOAD_MAX_IMAGE_BYTES", 10 * MIB),
    "video": ("GRIDGOV_UPLOAD_MAX_VIDEO_BYTES", 50 * MIB),
    "audio": ("GRIDGOV_UPLOAD_MAX_AUDIO_BYTES", 10 * MIB),
    "document": ("GRIDGOV_UPLOAD_MAX_DOCUMENT_BYTES", 20 * MIB),
}
MAX_PIXELS_SETTING = ("GRIDGOV_UPLOAD_MAX_IMAGE_PIXELS", 50_000_000)

# Per report: at most `max_count` photos (inspect_uploads) and one of each of these.
MAX_VIDEOS = 1
MAX_AUDIO = 1
MAX_DOCUMENTS = 5

THUMBNAIL_QUALITY = 80
REENCODE_QUALITY = 90

# EXIF tags
_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
# What strip_location keeps: when and with what the photo was taken. Everything else goes
# (GPS, maker notes, owner and serial numbers, XMP), since any of it can identify someone.
_KEPT_BASE_TAGS = (0x010F, 0x0110, 0x0132)  # Make, Model, DateTime
_KEPT_EXIF_TAGS = (0x9003, 0x9004, 0x9010, 0x9011, 0x9012)  # DateTime(Original|Digitized), offsets

# What Pillow may raise on a malformed file, from opening, verifying, loading or EXIF.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError,
                  KeyError, TypeError)


@dataclasses.dataclass(frozen=True)
class UploadInfo:
    """What an uploaded file is, found from its content."""

    kind: Kind
    mime: str
    extension: str  # with the dot: ".jpg"
    size: int  # bytes
    sha256: str  # hex digest of the content
    width: int | None = None  # photos: as displayed, i.e. after the EXIF orientation
    height: int | None = None
    taken_at: dt.datetime | None = None  # EXIF DateTimeOriginal; aware when USE_TZ
    point: tuple[float, float] | None = None  # (lat, lon) in WGS-84 from the EXIF GPS IFD, 7 decimals


@dataclasses.dataclass(frozen=True)
class _Format:
    kind: Kind
    mime: str
    extension: str
    pil_formats: tuple[str, ...] = ()


_JPEG = _Format("image", "image/jpeg", ".jpg", ("JPEG",))  # multi-picture JPEGs open as "MPO"
_PNG = _Format("image", "image/png", ".png", ("PNG",))
_WEBP = _Format("image", "image/webp", ".webp", ("WEBP",))
_HEIC = _Format("image", "image/heic", ".heic")  # recognised only to refuse it with advice
_MP4 = _Format("video", "video/mp4", ".mp4")
_MOV = _Format("video", "video/quicktime", ".mov")
_3GP = _Format("video", "video/3gpp", ".3gp")
_M4A = _Format("audio", "audio/mp4", ".m4a")
_WEBM_VIDEO = _Format("video", "video/webm", ".webm")
_WEBM_AUDIO = _Format("audio", "audio/webm", ".webm")
_MKV_VIDEO = _Format("video", "video/x-matroska", ".mkv")
_MKV_AUDIO = _Format("audio", "audio/x-matroska", ".mka")
_MP3 = _Format("audio", "audio/mpeg", ".mp3")
_AAC = _Format("audio", "audio/aac", ".aac")
_AMR = _Format("audio", "audio/amr", ".amr")
_AMR_WB = _Format("audio", "audio/amr-wb", ".awb")
_OGG = _Format("audio", "audio/ogg", ".ogg")
_WAV = _Format("audio", "audio/wav", ".wav")
_PDF = _Format("document", "application/pdf", ".pdf")

# ISO BMFF brands (the 'ftyp' box)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"mif2",
                b"miaf", b"avif", b"avis", b"avio"}
_AVIF_BRANDS = {b"avif", b"avis", b"avio"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"F4A ", b"F4B "}
_QUICKTIME_BRAND = b"qt  "
_3GP_BRANDS = {b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gp8", b"3gp9", b"3gg6", b"3g2a", b"3g2b", b"3g2c"}
_VIDEO_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
                 b"mp41", b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"MSNV",
                 b"mmp4", b"f4v ", b"XAVC", _QUICKTIME_BRAND} | _3GP_BRANDS
_NOT_MEDIA_BRANDS = {b"crx "}  # Canon raw photos are ISO BMFF too
_MAX_MOOV_BYTES = 16 * MIB
_MAX_BOXES = 1000

# Matroska / WebM element IDs
_EBML = 0x1A45DFA3
_EBML_DOCTYPE = 0x4282
_SEGMENT = 0x18538067
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_TYPE = 0x83
_CLUSTER = 0x1F43B675
_TRACK_VIDEO = 1
_TRACK_AUDIO = 2
_MAX_ELEMENTS = 1000

_ID3_SEARCH_BYTES = 64 * KIB


# --- public API ------------------------------------------------------------------------


def inspect_upload(f, *, allowed: Iterable[Kind] = KINDS) -> UploadInfo:
    """Find what an uploaded file is and check it against the limits.

    Raises `ValidationError` (codes "empty", "unsupported_type", "too_large", "corrupt")
    naming the file. The file is rewound before returning.
    """
    allowed = _allowed_kinds(allowed)
    f = _as_file(f)
    try:
        return _inspect(f, _display_name(f), allowed)
    finally:
        _rewind(f)


def inspect_uploads(files: Iterable, *, max_count: int = 9, allowed: Iterable[Kind] = KINDS
                    ) -> list[UploadInfo]:
    """Inspect the files attached to one report: at most `max_count` photos, one video and one
    voice recording.

    Every file is inspected; one `ValidationError` lists every problem (too many files of a
    kind, code "too_many", first; then each refused file), so the user sees them all at once.
    Returns the infos in the order of `files`.
    """
    allowed = _allowed_kinds(allowed)
    infos: list[UploadInfo] = []
    file_errors: list[ValidationError] = []
    for f in files:
        try:
            infos.append(inspect_upload(f, allowed=allowed))
        except ValidationError as exc:
            file_errors.extend(exc.error_list)

    counts = Counter(info.kind for info in infos)
    errors: list[ValidationError] = []
    if counts["image"] > max_count:
        errors.append(ValidationError(
            ngettext("Attach at most %(max)d photo to a report; you attached %(count)d.",
                     "Attach at most %(max)d photos to a report; you attached %(count)d.", max_count),
            code="too_many", params={"max": max_count, "count": counts["image"], "kind": "image"}))
    if counts["video"] > MAX_VIDEOS:
        errors.append(ValidationError(
            _("Attach at most one video to a report; you attached %(count)d."),
            code="too_many", params={"max": MAX_VIDEOS, "count": counts["video"], "kind": "video"}))
    if counts["audio"] > MAX_AUDIO:
        errors.append(ValidationError(
            _("Attach at most one voice recording to a report; you attached %(count)d."),
            code="too_many", params={"max": MAX_AUDIO, "count": counts["audio"], "kind": "audio"}))
    if counts["document"] > MAX_DOCUMENTS:
        errors.append(ValidationError(
            _("Attach at most %(max)d documents at once; you attached %(count)d."),
            code="too_many",
            params={"max": MAX_DOCUMENTS, "count": counts["document"], "kind": "document"}))
    errors.extend(file_errors)
    if errors:
        raise ValidationError(errors)
    return infos


def make_thumbnail(f, *, size: tuple[int, int] = (320, 320)) -> ContentFile:
    """A JPEG no larger than `size`, upright (EXIF orientation applied), on white where the
    photo is transparent, without any metadata. Named "<name>-thumb.jpg"."""
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"thumbnail size must be positive, not {size!r}")
    f = _as_file(f)
    name = _display_name(f)
    try:
        image = _open_image(f, name, _image_format(f, name))
        with image:
            # JPEGs decode at 1/2, 1/4 or 1/8 scale when that still covers the box (either way up).
            largest = max(size)
            image.draft("RGB", (largest, largest))
            _load(image, name)
            thumb = _to_rgb(_upright(image))
            thumb.thumbnail(size, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
        return ContentFile(out.getvalue(), name=f"{_stem(f)}-thumb.jpg")
    finally:
        _rewind(f)


def strip_location(f) -> ContentFile:
    """The photo re-encoded in its own format, upright, without its location.

    Keeps only when and with what camera the photo was taken (EXIF date, time, make and
    model) and the colour profile; drops the GPS data and every other piece of metadata
    (XMP, maker notes, owner and serial numbers). Animated images keep their first frame.
    """
    f = _as_file(f)
    name = _display_name(f)
    try:
        fmt = _image_format(f, name)
        image = _open_image(f, name, fmt)
        with image:
            _load(image, name)
            exif = _exif(image)
            icc_profile = image.info.get("icc_profile")
            upright = _upright(image)
            params: dict = {}
            kept = _kept_exif(exif)
            if kept is not None:
                params["exif"] = kept.tobytes()
            if icc_profile:
                params["icc_profile"] = icc_profile
            if fmt is _JPEG:
                if upright.mode not in ("RGB", "L"):
                    upright = _to_rgb(upright)
                pil_format = "JPEG"
                params.update(quality=REENCODE_QUALITY, optimize=True)
            elif fmt is _WEBP:
                upright = upright.convert("RGBA" if upright.has_transparency_data else "RGB")
                pil_format = "WEBP"
                params.update(quality=REENCODE_QUALITY)
            else:
                pil_format = "PNG"
                params.update(optimize=True)
            out = io.BytesIO()
            upright.save(out, pil_format, **params)
        return ContentFile(out.getvalue(), name=f"{_stem(f)}{fmt.extension}")
    finally:
        _rewind(f)


def held_dir() -> Path:
    """Where photos wait, as received, for `finish_held`: outside MEDIA_ROOT, because they still
    carry their location and must never be served."""
    return Path(getattr(settings, "GRIDGOV_HELD_DIR", Path(settings.VAR_DIR) / "held"))


def hold(instance, upload, info: UploadInfo) -> None:
    """Like `store`, but a photo is only written as received to `held_dir()` and named in
    `instance.held`; `finish_held` makes the stored photo and its thumbnail later, in a job.

    Re-encoding and thumbnailing take about four fifths of a report's server time; the
    checks that can refuse the file (`inspect_upload`) have already run in the request.
    Other kinds are stored at once, as `store` does. The caller saves the row.
    """
    if info.kind != "image":
        store(instance, upload, info)
        return
    f = _as_file(upload)
    _rewind(f)
    folder = held_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}{info.extension}"
    # 0600 from the start: the file holds the photographer's position.
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in f.chunks():
            handle.write(chunk)
    _rewind(f)
    instance.held = name
    instance.size = info.size


def finish_held(instance) -> str:
    """Store a held photo upright without its location, with its thumbnail, and delete what
    was held. Returns "done", "failed" (the photo could not be decoded after all: nothing is
    kept, the row says so by an empty file) or "" (nothing held, or another run finished it).

    Safe to run twice at once: the row is claimed by a conditional UPDATE on its `held` name,
    and the loser deletes the files it wrote.
    """
    name = instance.held
    if not name:
        return ""
    path = held_dir() / name
    rows = type(instance)._default_manager.filter(pk=instance.pk, held=name)
    if not path.is_file():
        return "failed" if rows.update(held="", size=0) else ""
    stem = path.stem[:16]
    try:
        with open(path, "rb") as handle:
            upload = File(handle, name=path.name)
            stripped = strip_location(upload)
            thumbnail = make_thumbnail(upload)
    except ValidationError:
        outcome = "failed" if rows.update(held="", size=0) else ""
        path.unlink(missing_ok=True)
        return outcome
    instance.file.save(f"{stem}{path.suffix}", stripped, save=False)
    instance.thumbnail.save(f"{stem}-thumb.jpg", thumbnail, save=False)
    claimed = rows.update(held="", file=instance.file.name, thumbnail=instance.thumbnail.name,
                          size=stripped.size)
    if not claimed:
        instance.file.delete(save=False)
        instance.thumbnail.delete(save=False)
        return ""
    instance.held, instance.size = "", stripped.size
    path.unlink(missing_ok=True)
    return "done"


def store(instance, upload, info: UploadInfo) -> None:
    """Put an inspected upload into `instance`'s `file` (and `thumbnail` for photos) fields,
    unsaved: photos are stored upright without their location, other files as received.
    `instance.size` becomes the stored size. The caller saves the row."""
    stem = info.sha256[:16]
    if info.kind == "image":
        stripped = strip_location(upload)
        instance.size = stripped.size
        instance.file.save(f"{stem}{info.extension}", stripped, save=False)
        _rewind(_as_file(upload))
        instance.thumbnail.save(f"{stem}-thumb.jpg", make_thumbnail(upload), save=False)
        return
    f = _as_file(upload)
    _rewind(f)
    instance.size = info.size
    instance.file.save(f"{stem}{info.extension}", ContentFile(f.read()), save=False)


# --- inspection ------------------------------------------------------------------------


def _inspect(f: File, name: str, allowed: tuple[Kind, ...]) -> UploadInfo:
    declared = _declared_size(f)
    if declared == 0:
        raise _empty(name)
    fmt = _sniff(f, declared)
    if fmt is _HEIC and "image" in allowed:
        raise ValidationError(
            _("%(name)s is a HEIC photo, which we cannot open: choose JPEG in the camera settings "
              "(on an iPhone: Settings › Camera › Formats › Most Compatible) or share the photo "
              "as JPEG."),
            code="unsupported_type", params={"name": name})
    if fmt is None or fmt is _HEIC or fmt.kind not in allowed:
        raise _unsupported(name, allowed)
    limit = max_bytes(fmt.kind)
    if declared > limit:
        raise _too_large(name, fmt.kind, declared, limit)

    digest = hashlib.sha256()
    size = 0
    for chunk in f.chunks():
        digest.update(chunk)
        size += len(chunk)
    if size == 0:
        raise _empty(name)
    if size > limit:  # the declared size was wrong
        raise _too_large(name, fmt.kind, size, limit)

    width = height = taken_at = point = None
    if fmt.kind == "image":
        width, height, taken_at, point = _examine_image(f, name, fmt)
    elif fmt is _PDF and b"%%EOF" not in _read_at(f, max(size - 1024, 0), 1024):
        raise _corrupt(name)  # cut off in transfer: a PDF ends with its end-of-file marker
    return UploadInfo(kind=fmt.kind, mime=fmt.mime, extension=fmt.extension, size=size,
                      sha256=digest.hexdigest(), width=width, height=height, taken_at=taken_at,
                      point=point)


def max_bytes(kind: Kind) -> int:
    """The largest file of this kind we accept, from settings."""
    setting, default = MAX_BYTES_SETTINGS[kind]
    return int(getattr(settings, setting, default))


def max_pixels() -> int:
    """The most pixels a photo may have (a decompression-bomb guard), from settings."""
    setting, default = MAX_PIXELS_SETTING
    return int(getattr(settings, setting, default))


def _examine_image(f: File, name: str, fmt: _Format):
    """Verify and fully decode the photo; return its upright size, time and place."""
    with _open_image(f, name, fmt) as image:
        try:
            image.verify()  # what the format can check without decoding (PNG CRCs)
        except _DECODE_ERRORS as exc:
            raise _corrupt(name) from exc
    with _open_image(f, name, fmt) as image:
        width, height = image.size
        # Decoding every byte finds truncated and damaged files. A JPEG may decode at 1/8
        # scale for that, which still reads all of its data.
        image.draft(image.mode, (1, 1))
        _load(image, name)
        exif = _exif(image)
    taken_at = point = None
    if exif is not None:
        if exif.get(_ORIENTATION) in (5, 6, 7, 8):
            width, height = height, width
        taken_at = _taken_at(exif)
        point = _point(exif)
    return width, height, taken_at, point


def _open_image(f: File, name: str, fmt: _Format) -> Image.Image:
    """Open (not decode) the photo, refusing too many pixels before any is decoded.

    Use the image as a context manager and never call its close(): for a file object
    passed in, that closes the caller's file.
    """
    f.seek(0)
    try:
        # Pillow itself refuses more than twice its own limit (about 179 million pixels).
        image = Image.open(f, formats=fmt.pil_formats)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(name) from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise _corrupt(name) from exc
    width, height = image.size
    if width * height > max_pixels():
        image.fp = None  # let go of the file without closing it
        raise _too_many_pixels(name, width, height)
    return image


def _load(image: Image.Image, name: str) -> None:
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise _corrupt(name) from exc


def _image_format(f: File, name: str) -> _Format:
    """The photo format of the file, for functions that only take photos."""
    fmt = _sniff(f, _declared_size(f))
    if fmt is None or fmt.kind != "image" or fmt is _HEIC:
        raise _unsupported(name, ("image",))
    return fmt


# --- photo metadata --------------------------------------------------------------------


def _exif(image: Image.Image) -> Image.Exif | None:
    try:
        return image.getexif()
    except _DECODE_ERRORS:
        return None


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (a copy)."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image.copy()


def _sub_ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag))
    except _DECODE_ERRORS:
        return {}


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    """EXIF DateTimeOriginal, with OffsetTimeOriginal when the camera wrote one; otherwise the
    local time of the default time zone (where the photos are taken)."""
    tags = _sub_ifd(exif, _EXIF_IFD)
    return _parse_exif_datetime(tags.get(_DATETIME_ORIGINAL), tags.get(_OFFSET_TIME_ORIGINAL))


def _parse_exif_datetime(value, offset=None) -> dt.datetime | None:
    text = _text(value)[:19]
    for pattern in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            naive = dt.datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    else:
        return None  # missing, or "0000:00:00 00:00:00" from a camera without a clock
    tzinfo = _parse_utc_offset(offset)
    if tzinfo is None:
        return timezone.make_aware(naive) if settings.USE_TZ else naive
    aware = naive.replace(tzinfo=tzinfo)
    return aware if settings.USE_TZ else timezone.make_naive(aware)


def _parse_utc_offset(value) -> dt.timezone | None:
    text = _text(value)
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes >= 60:
        return None
    delta = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-delta if text[0] == "-" else delta)


def _point(exif: Image.Exif) -> tuple[float, float] | None:
    return _gps_point(_sub_ifd(exif, _GPS_IFD))


def _gps_point(gps: dict) -> tuple[float, float] | None:
    """(lat, lon) from an EXIF GPS IFD (tags 1-4), or None when missing or not believable."""
    lat = _gps_coordinate(gps.get(2), gps.get(1), "N", "S", 90)
    lon = _gps_coordinate(gps.get(4), gps.get(3), "E", "W", 180)
    if lat is None or lon is None:
        return None
    if abs(lat) < 1e-6 and abs(lon) < 1e-6:
        return None  # 0,0: a receiver without a fix
    return round(lat, 7), round(lon, 7)


def _gps_coordinate(value, ref, positive: str, negative: str, limit: float) -> float | None:
    if value is None:
        return None
    # Three rationals (degrees, minutes, seconds) as the standard says; some writers put
    # decimal degrees in one.
    parts = list(value) if isinstance(value, (list, tuple)) else [value]
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_rational(part) for part in parts]
    if any(n is None or not math.isfinite(n) or n < 0 for n in numbers):
        return None
    degrees, minutes, seconds = (numbers + [0.0, 0.0])[:3]
    if minutes >= 60 or seconds >= 60:
        return None
    coordinate = degrees + minutes / 60 + seconds / 3600
    if coordinate > limit:
        return None
    direction = _text(ref).upper()[:1]
    if direction == negative:
        return -coordinate
    if direction in (positive, ""):  # a missing reference is read as north / east
        return coordinate
    return None


def _rational(value) -> float | None:
    """A number from an IFDRational, a (numerator, denominator) tuple, an int or a float."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not all(isinstance(v, (int, float)) for v in value):
            return None
        numerator, denominator = value
        return numerator / denominator if denominator else None
    denominator = getattr(value, "denominator", 1)
    if denominator == 0:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _kept_exif(exif: Image.Exif | None) -> Image.Exif | None:
    if exif is None:
        return None
    kept = Image.Exif()
    for tag in _KEPT_BASE_TAGS:
        if isinstance(exif.get(tag), str):
            kept[tag] = exif[tag]
    sub = _sub_ifd(exif, _EXIF_IFD)
    kept_sub = {tag: sub[tag] for tag in _KEPT_EXIF_TAGS if isinstance(sub.get(tag), str)}
    if kept_sub:
        kept[_EXIF_IFD] = kept_sub
    return kept if len(kept) else None


# --- pixels ----------------------------------------------------------------------------


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent parts on white, 16-bit grey scaled down to 8 bits."""
    if image.mode == "RGB":
        return image
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image.convert("RGB")


# --- recognising formats by content ----------------------------------------------------


def _sniff(f: File, size: int) -> _Format | None:
    head = _read_at(f, 0, 64)
    if head.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _WAV
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(f, head, size)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _sniff_matroska(f, size)
    if head.startswith(b"OggS"):
        return _OGG
    if head.startswith(b"#!AMR"):
        return _AMR_WB if head.startswith(b"#!AMR-WB") else _AMR
    if head.startswith(b"ID3"):
        return _sniff_id3(f, head)
    if head.startswith(b"%PDF-"):
        return _PDF
    return _mpeg_audio_frame(head)


def _read_at(f: File, offset: int, count: int) -> bytes:
    f.seek(offset)
    return f.read(count) or b""


def _sniff_iso_bmff(f: File, head: bytes, size: int) -> _Format | None:
    """MP4, MOV, 3GP, M4A and HEIF all start with an 'ftyp' box: major brand, version,
    compatible brands. Sound-only files are recordings whatever their brand says."""
    box_size = int.from_bytes(head[:4], "big")
    ftyp = _read_at(f, 0, min(box_size, 4096)) if box_size >= 16 else head[:12]
    major = ftyp[8:12]
    brands = {major} | {ftyp[i:i + 4] for i in range(16, len(ftyp) - 3, 4)}
    if major in _HEIF_BRANDS:
        return None if brands & _AVIF_BRANDS else _HEIC
    if major in _NOT_MEDIA_BRANDS or not brands & (_VIDEO_BRANDS | _AUDIO_BRANDS):
        return None
    handlers = _iso_bmff_handlers(f, size)
    if b"vide" in handlers:
        kind = "video"
    elif b"soun" in handlers:
        kind = "audio"
    elif major in _AUDIO_BRANDS or not brands & _VIDEO_BRANDS:
        kind = "audio"
    else:
        kind = "video"
    if kind == "audio":
        return _M4A
    if major == _QUICKTIME_BRAND:
        return _MOV
    return _3GP if major in _3GP_BRANDS else _MP4


def _iso_boxes(read: Callable[[int, int], bytes], start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, end) of the boxes between start and end."""
    position = start
    for _index in range(_MAX_BOXES):
        if position + 8 > end:
            return
        header = read(position, 16)
        if len(header) < 8:
            return
        box_size, box_type, offset = int.from_bytes(header[:4], "big"), header[4:8], 8
        if box_size == 1:
            if len(header) < 16:
                return
            box_size, offset = int.from_bytes(header[8:16], "big"), 16
        elif box_size == 0:  # up to the end
            box_size = end - position
        if box_size < offset:
            return
        yield box_type, position + offset, min(position + box_size, end)
        position += box_size


def _iso_bmff_handlers(f: File, size: int) -> set[bytes]:
    """The handler types ('vide', 'soun', ...) of the tracks in the 'moov' box."""
    for box_type, start, end in _iso_boxes(lambda at, n: _read_at(f, at, n), 0, size):
        if box_type == b"moov":
            if end - start > _MAX_MOOV_BYTES:
                return set()
            return _track_handlers(_read_at(f, start, end - start))
    return set()


def _track_handlers(moov: bytes) -> set[bytes]:
    def read(at: int, n: int) -> bytes:
        return moov[at:at + n]

    handlers = set()
    for trak, trak_start, trak_end in _iso_boxes(read, 0, len(moov)):
        if trak != b"trak":
            continue
        for mdia, mdia_start, mdia_end in _iso_boxes(read, trak_start, trak_end):
            if mdia != b"mdia":
                continue
            for hdlr, hdlr_start, hdlr_end in _iso_boxes(read, mdia_start, mdia_end):
                # version and flags (4), pre_defined (4), handler_type (4)
                if hdlr == b"hdlr" and hdlr_end - hdlr_start >= 12:
                    handlers.add(moov[hdlr_start + 8:hdlr_start + 12])
    return handlers


def _vint_length(first: int) -> int | None:
    for length in range(1, 9):
        if first & (0x80 >> (length - 1)):
            return length
    return None


def _ebml_elements(read: Callable[[int, int], bytes], start: int, end: int
                   ) -> Iterator[tuple[int, int, int]]:
    """(element id, data start, data end) of the EBML elements between start and end. An
    element of unknown size runs to `end` and is the last one yielded."""
    position = start
    for _index in range(_MAX_ELEMENTS):
        if position >= end:
            return
        header = read(position, 12)
        if not header:
            return
        id_length = _vint_length(header[0])
        if id_length is None or id_length > 4 or len(header) < id_length + 1:
            return
        size_length = _vint_length(header[id_length])
        if size_length is None or len(header) < id_length + size_length:
            return
        element_id = int.from_bytes(header[:id_length], "big")
        all_ones = (1 << (7 * size_length)) - 1
        data_size = int.from_bytes(header[id_length:id_length + size_length], "big") & all_ones
        data_start = position + id_length + size_length
        if data_size == all_ones:  # unknown size (live recordings)
            yield element_id, data_start, end
            return
        yield element_id, data_start, min(data_start + data_size, end)
        position = data_start + data_size


def _sniff_matroska(f: File, size: int) -> _Format | None:
    """WebM and Matroska: the EBML header names the document type; the Tracks element says
    whether there is a picture or only sound."""

    def read(at: int, n: int) -> bytes:
        return _read_at(f, at, n)

    doc_type = "matroska"  # the default when the header does not say
    track_types: set[int] = set()
    for element_id, start, end in _ebml_elements(read, 0, size):
        if element_id == _EBML:
            for child, child_start, child_end in _ebml_elements(read, start, end):
                if child == _EBML_DOCTYPE:
                    doc_type = _text(read(child_start, min(child_end - child_start, 32)))
        elif element_id == _SEGMENT:
            track_types = _matroska_track_types(read, start, end)
            break
    if doc_type not in ("webm", "matroska"):
        return None
    sound_only = _TRACK_AUDIO in track_types and _TRACK_VIDEO not in track_types
    if doc_type == "webm":
        return _WEBM_AUDIO if sound_only else _WEBM_VIDEO
    return _MKV_AUDIO if sound_only else _MKV_VIDEO


def _matroska_track_types(read, start: int, end: int) -> set[int]:
    types: set[int] = set()
    for element_id, tracks_start, tracks_end in _ebml_elements(read, start, end):
        if element_id == _CLUSTER:  # the media data: tracks come before it
            break
        if element_id != _TRACKS:
            continue
        for entry, entry_start, entry_end in _ebml_elements(read, tracks_start, tracks_end):
            if entry != _TRACK_ENTRY:
                continue
            for field, field_start, field_end in _ebml_elements(read, entry_start, entry_end):
                if field == _TRACK_TYPE and 0 < field_end - field_start <= 8:
                    types.add(int.from_bytes(read(field_start, field_end - field_start), "big"))
        break
    return types


def _sniff_id3(f: File, head: bytes) -> _Format | None:
    """An ID3v2 tag (title, cover art) followed by MPEG audio frames."""
    if len(head) < 10 or any(b >= 0x80 for b in head[6:10]):
        return None
    tag_size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    data = _read_at(f, 10 + tag_size + footer, _ID3_SEARCH_BYTES)
    position = data.find(b"\xff")
    while 0 <= position <= len(data) - 4:
        if fmt := _mpeg_audio_frame(data[position:position + 4]):
            return fmt
        position = data.find(b"\xff", position + 1)
    return None


def _mpeg_audio_frame(header: bytes) -> _Format | None:
    """An MPEG audio frame header (MP3) or an ADTS header (raw AAC)."""
    if len(header) < 4 or header[0] != 0xFF:
        return None
    if header[1] & 0xF6 == 0xF0:  # ADTS: 12-bit sync, layer 00
        return _AAC if (header[2] >> 2) & 0x0F < 13 else None
    if header[1] & 0xE0 != 0xE0:  # 11-bit frame sync
        return None
    version = (header[1] >> 3) & 0x03
    layer = (header[1] >> 1) & 0x03
    bitrate = header[2] >> 4
    sample_rate = (header[2] >> 2) & 0x03
    if version == 1 or layer == 0 or bitrate in (0, 15) or sample_rate == 3:
        return None  # reserved or free-format values: not an audio frame we can trust
    return _MP3


# --- files -----------------------------------------------------------------------------


def _as_file(f) -> File:
    return f if isinstance(f, File) else File(f)


def _rewind(f: File) -> None:
    try:
        f.seek(0)
    except (OSError, ValueError):  # closed
        pass


def _declared_size(f: File) -> int:
    try:
        size = f.size
    except (AttributeError, OSError, TypeError):
        size = None
    if size is None:
        f.seek(0, os.SEEK_END)
        size = f.tell()
    return int(size)


def _base_name(f: File) -> str:
    return str(f.name or "").replace("\\", "/").rsplit("/", 1)[-1]


def _display_name(f: File) -> str:
    name = _base_name(f)
    if not name:
        return _("The file")
    return name if len(name) <= 80 else f"{name[:55]}…{name[-20:]}"


def _stem(f: File) -> str:
    stem = os.path.splitext(_base_name(f))[0][:80]
    return stem or "upload"


# --- refusals --------------------------------------------------------------------------

_UNSUPPORTED_MESSAGES = {
    frozenset({"image", "video", "audio"}): lambda: _(
        "%(name)s is not a picture, video or voice recording we accept: upload JPEG, PNG or WebP "
        "photos, MP4/WebM video, or MP3/M4A/AMR/Ogg/WAV audio."),
    frozenset({"image"}): lambda: _(
        "%(name)s is not a picture we accept: upload JPEG, PNG or WebP photos."),
    frozenset({"video"}): lambda: _(
        "%(name)s is not a video we accept: upload MP4/WebM video."),
    frozenset({"audio"}): lambda: _(
        "%(name)s is not a voice recording we accept: upload MP3/M4A/AMR/Ogg/WAV audio."),
    frozenset({"image", "video"}): lambda: _(
        "%(name)s is not a picture or video we accept: upload JPEG, PNG or WebP photos, or "
        "MP4/WebM video."),
    frozenset({"image", "audio"}): lambda: _(
        "%(name)s is not a picture or voice recording we accept: upload JPEG, PNG or WebP photos, "
        "or MP3/M4A/AMR/Ogg/WAV audio."),
    frozenset({"video", "audio"}): lambda: _(
        "%(name)s is not a video or voice recording we accept: upload MP4/WebM video, or "
        "MP3/M4A/AMR/Ogg/WAV audio."),
    frozenset({"document"}): lambda: _("%(name)s is not a document we accept: upload a PDF."),
    frozenset({"image", "document"}): lambda: _(
        "%(name)s is not a picture or document we accept: upload JPEG, PNG or WebP photos, or "
        "PDF documents."),
}


def _allowed_kinds(allowed: Iterable[Kind]) -> tuple[Kind, ...]:
    kinds = (allowed,) if isinstance(allowed, str) else tuple(allowed)
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown or not kinds or frozenset(kinds) not in _UNSUPPORTED_MESSAGES:
        raise ValueError(f"allowed must be one of {list(_UNSUPPORTED_MESSAGES)}, not {allowed!r}")
    return tuple(kind for kind in ALL_KINDS if kind in kinds)


def _unsupported(name: str, allowed: Iterable[Kind]) -> ValidationError:
    message = _UNSUPPORTED_MESSAGES[frozenset(allowed)]()
    return ValidationError(message, code="unsupported_type", params={"name": name})


def _empty(name: str) -> ValidationError:
    return ValidationError(_("%(name)s is empty; please attach the file again."),
                           code="empty", params={"name": name})


def _corrupt(name: str) -> ValidationError:
    return ValidationError(
        _("%(name)s is damaged or incomplete and cannot be opened; please take or attach it again."),
        code="corrupt", params={"name": name})


def _too_large(name: str, kind: Kind, size: int, limit: int) -> ValidationError:
    messages = {
        "image": _("%(name)s is %(size)s; photos may be at most %(limit)s."),
        "video": _("%(name)s is %(size)s; videos may be at most %(limit)s."),
        "audio": _("%(name)s is %(size)s; voice recordings may be at most %(limit)s."),
        "document": _("%(name)s is %(size)s; documents may be at most %(limit)s."),
    }
    limit_text = format_size(limit)
    size_text = format_size(size)
    if size_text == limit_text:  # just over: 10.01 MB must not read "10 MB"
        size_text = format_size(size, up=True)
    return ValidationError(messages[kind], code="too_large", params={
        "name": name, "size": size_text, "limit": limit_text, "bytes": size, "max_bytes": limit})


def _too_many_pixels(name: str, width: int | None = None, height: int | None = None
                     ) -> ValidationError:
    limit = max_pixels()
    millions = limit / 1_000_000
    megapixels = (f"{math.floor(millions * 10) / 10:.1f}".removesuffix(".0") if millions >= 1
                  else f"{millions:.2g}")
    return ValidationError(
        _("%(name)s has too many pixels; photos may have at most %(megapixels)s million pixels."),
        code="too_large", params={"name": name, "megapixels": megapixels, "width": width,
                                  "height": height, "max_pixels": limit})


def format_size(size: int, *, up: bool = False) -> str:
    """A size for people: 12.3 MB, 512 KB, 20 bytes (1 MB = 1024 KB), one decimal at most.

    Rounded to the nearest tenth, or up with `up` (for a file just over a limit)."""
    if size < KIB:
        return ngettext("%(size)d byte", "%(size)d bytes", size) % {"size": size}
    unit, pattern = (MIB, _("%s MB")) if size >= MIB else (KIB, _("%s KB"))
    tenths = size * 10 / unit
    tenths = math.ceil(tenths) if up else math.floor(tenths + 0.5)
    return pattern % f"{tenths / 10:.1f}".removesuffix(".0")
