"""Uploaded media: recognised by content, limited, located, thumbnailed, stripped of location.

Every fixture file is generated here, with Pillow or as bytes. The shared fixtures make
Chinese active; assertions use codes and numbers, except in the tests under
`translation.override("en")`.
"""

import datetime as dt
import hashlib
import io
import random
import struct
import wave
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from gridgov.core import uploads
from gridgov.core.uploads import (
    UploadInfo,
    inspect_upload,
    inspect_uploads,
    make_thumbnail,
    strip_location,
)

MIB = 1024 * 1024
RED = (220, 20, 20)
BLUE = (20, 20, 220)

# --- building files --------------------------------------------------------------------


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def image_bytes(fmt: str = "JPEG", size=(64, 32), mode: str = "RGB", color=RED, image=None,
                **params) -> bytes:
    image = image or Image.new(mode, size, color)
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def noise_image(size=(160, 120)) -> Image.Image:
    rng = random.Random(7)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def halves_image(size=(640, 320)) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def rational(value: float) -> IFDRational:
    return IFDRational(round(value * 10_000), 10_000)


def photo_exif(*, gps=None, taken=None, offset=None, orientation=None, make=None) -> Image.Exif:
    """EXIF written with Pillow's own API: the GPS and Exif IFDs as dicts of tags."""
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if make:
        exif[0x010F] = make
        exif[0x0110] = "Model X"
    if gps:
        lat_ref, lat, lon_ref, lon = gps
        exif[0x8825] = {1: lat_ref, 2: tuple(rational(v) for v in lat),
                        3: lon_ref, 4: tuple(rational(v) for v in lon)}
    sub = {}
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    if sub:
        exif[0x8769] = sub
    return exif


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but has no pixel data at all."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + png_chunk(b"IEND", b""))


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def iso_bmff(major=b"isom", compatible=(b"isom", b"mp42"), handlers=(b"vide", b"soun"),
             moov_at_end=False, with_moov=True) -> bytes:
    ftyp = box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))
    traks = b"".join(
        box(b"trak", box(b"tkhd", bytes(84)) + box(b"mdia", box(b"mdhd", bytes(24))
            + box(b"hdlr", bytes(8) + handler + bytes(12) + b"track\x00"))) for handler in handlers)
    moov = box(b"moov", box(b"mvhd", bytes(100)) + traks) if with_moov else b""
    mdat = box(b"mdat", bytes(range(256)) * 8)
    return ftyp + (mdat + moov if moov_at_end else moov + mdat)


def ebml(element_id: int, payload: bytes) -> bytes:
    id_bytes = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    return id_bytes + b"\x01" + len(payload).to_bytes(7, "big") + payload


def matroska(doc_type=b"webm", track_types=(1, 2), unknown_segment_size=False) -> bytes:
    header = ebml(0x1A45DFA3, ebml(0x4286, b"\x01") + ebml(0x4282, doc_type))
    info = ebml(0x1549A966, ebml(0x2AD7B1, b"\x0f\x42\x40"))
    tracks = ebml(0x1654AE6B, b"".join(
        ebml(0xAE, ebml(0xD7, bytes([number])) + ebml(0x83, bytes([kind])))
        for number, kind in enumerate(track_types, start=1)))
    cluster = ebml(0x1F43B675, ebml(0xE7, b"\x00") + ebml(0xA3, bytes(200)))
    body = info + tracks + cluster
    if unknown_segment_size:  # as browsers' MediaRecorder writes it
        return header + b"\x18\x53\x80\x67" + b"\x01" + b"\xff" * 7 + body
    return header + ebml(0x18538067, body)


MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(413)  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz


def mp3(with_id3=True) -> bytes:
    frames = MP3_FRAME * 4
    if not with_id3:
        return frames
    title = b"TIT2" + struct.pack(">I", 6) + b"\x00\x00" + b"\x03voice"
    size = len(title)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + title + frames


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))
    return out.getvalue()


def refused(f, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        inspect_upload(f, **kwargs)
    return caught.value


# --- photos ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, mime, extension", [
    ("JPEG", "image/jpeg", ".jpg"),
    ("PNG", "image/png", ".png"),
    ("WEBP", "image/webp", ".webp"),
])
def test_photos_are_accepted_with_size_and_hash(fmt, mime, extension):
    data = image_bytes(fmt, size=(120, 80))
    f = upload(data, name="IMG_0001.bin", content_type="application/octet-stream")

    info = inspect_upload(f)

    assert info == UploadInfo(kind="image", mime=mime, extension=extension, size=len(data),
                              sha256=hashlib.sha256(data).hexdigest(), width=120, height=80,
                              taken_at=None, point=None)
    assert f.tell() == 0
    assert f.read() == data  # rewound, and not closed by Pillow


def test_type_comes_from_content_not_from_name():
    data = image_bytes("PNG")
    info = inspect_upload(upload(data, name="photo.jpg", content_type="image/jpeg"))
    assert (info.mime, info.extension) == ("image/png", ".png")


def test_multi_picture_jpeg_from_a_phone_is_a_jpeg():
    out = io.BytesIO()
    Image.new("RGB", (90, 60), RED).save(out, "MPO", save_all=True,
                                          append_images=[Image.new("RGB", (45, 30), BLUE)])
    info = inspect_upload(upload(out.getvalue()))
    assert (info.mime, info.width, info.height) == ("image/jpeg", 90, 60)


def test_plain_file_objects_are_accepted_too():
    data = image_bytes("JPEG")
    stream = io.BytesIO(data)
    assert inspect_upload(File(stream, name="a.jpg")).sha256 == hashlib.sha256(data).hexdigest()
    assert inspect_upload(io.BytesIO(data)).width == 64
    assert stream.tell() == 0


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("gps, expected", [
    (("N", (39, 54, 26.4), "E", (116, 23, 29.52)), (39.9073333, 116.3915333)),
    (("S", (33, 52, 4.56), "W", (151, 12, 30)), (-33.8679333, -151.2083333)),
    (("N", (30.25, 0, 0), "E", (120.5, 0, 0)), (30.25, 120.5)),  # decimal degrees
])
def test_location_is_read_from_the_exif_gps_ifd(fmt, gps, expected):
    data = image_bytes(fmt, exif=photo_exif(gps=gps))
    point = inspect_upload(upload(data)).point
    assert point == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("gps", [
    ("N", (0, 0, 0), "E", (0, 0, 0)),  # no fix
    ("N", (95, 0, 0), "E", (116, 0, 0)),  # beyond the pole
    ("N", (39, 75, 0), "E", (116, 0, 0)),  # 75 minutes
    ("N", (39, 0, 0), "E", (190, 0, 0)),
    ("X", (39, 0, 0), "E", (116, 0, 0)),
])
def test_unbelievable_locations_are_ignored(gps):
    assert inspect_upload(upload(image_bytes(exif=photo_exif(gps=gps)))).point is None


def test_gps_values_as_tuples_and_bytes_references():
    gps = {1: b"S\x00", 2: ((33, 1), (52, 1), (456, 100)), 3: "W", 4: ((151, 1), (12, 1), (30, 1))}
    assert uploads._gps_point(gps) == pytest.approx((-33.8679333, -151.2083333), abs=1e-6)
    assert uploads._gps_point({**gps, 2: ((33, 1), (52, 0), (0, 1))}) is None  # zero denominator
    assert uploads._gps_point({**gps, 2: (IFDRational(33, 1), IFDRational(1, 0), 0)}) is None
    assert uploads._gps_point({1: "N", 2: ((30, 1), (0, 1), (0, 1))}) is None  # no longitude
    assert uploads._gps_point({}) is None


def test_time_taken_with_the_cameras_offset():
    data = image_bytes(exif=photo_exif(taken="2024:05:06 07:08:09", offset="-03:30"))
    taken_at = inspect_upload(upload(data)).taken_at
    west = dt.timezone(-dt.timedelta(hours=3, minutes=30))
    assert taken_at == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=west)


def test_time_taken_without_offset_is_local_time(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    data = image_bytes(exif=photo_exif(taken="2024:05:06 07:08:09"))
    taken_at = inspect_upload(upload(data)).taken_at
    assert taken_at.replace(tzinfo=None) == dt.datetime(2024, 5, 6, 7, 8, 9)
    assert taken_at.utcoffset() == dt.timedelta(hours=8)
    assert taken_at == dt.datetime(2024, 5, 5, 23, 8, 9, tzinfo=dt.UTC)


def test_a_camera_without_a_clock_has_no_time():
    data = image_bytes(exif=photo_exif(taken="0000:00:00 00:00:00"))
    assert inspect_upload(upload(data)).taken_at is None


def test_size_is_reported_upright():
    data = image_bytes(image=halves_image((640, 320)), exif=photo_exif(orientation=6))
    info = inspect_upload(upload(data))
    assert (info.width, info.height) == (320, 640)


# --- refusals --------------------------------------------------------------------------


def test_renamed_exe_is_refused():
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
    f = upload(exe, name="photo.jpg", content_type="image/jpeg")
    error = refused(f)
    assert error.code == "unsupported_type"
    assert error.params["name"] == "photo.jpg"
    assert f.tell() == 0


@pytest.mark.parametrize("data", [
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "河道边有垃圾\nrubbish by the river\n".encode(),
    image_bytes("GIF"),
    image_bytes("BMP"),
    image_bytes("TIFF"),
    box(b"ftyp", b"avif\x00\x00\x00\x00mif1avif") + bytes(64),
    box(b"ftyp", b"crx \x00\x00\x00\x01crx isom") + bytes(64),  # a Canon raw photo
    b"ID3\x04\x00\x00\x00\x00\x00\x00MZ\x90\x00" + bytes(300),  # a tag, then no audio
    matroska(doc_type=b"notwebm"),
    b"\xff\xe8\x00\x00" + bytes(100),  # frame sync with reserved bits
    b"\xff",
], ids=["pdf", "text", "gif", "bmp", "tiff", "avif", "cr3", "id3-without-audio", "ebml-other",
        "bad-sync", "one-byte"])
def test_other_files_are_refused(data):
    assert refused(upload(data)).code == "unsupported_type"


def test_heic_is_refused_with_advice():
    heic = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + box(b"meta", bytes(100))
    with translation.override("en"):
        error = refused(upload(heic, name="IMG_0002.HEIC", content_type="image/heic"))
        message = error.messages[0]
    assert error.code == "unsupported_type"
    assert message.startswith("IMG_0002.HEIC is a HEIC photo")
    assert "JPEG" in message


def test_heic_is_plain_unsupported_where_photos_are_not_allowed():
    heic = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + bytes(64)
    with translation.override("en"):
        message = refused(upload(heic), allowed=("audio",)).messages[0]
    assert message == ("photo.jpg is not a voice recording we accept: upload MP3/M4A/AMR/Ogg/WAV audio.")


def test_empty_file_is_refused():
    f = upload(b"", name="photo.jpg")
    assert refused(f).code == "empty"


def test_oversize_photo_is_refused_before_decoding(settings, monkeypatch):
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_BYTES = 1000
    # A JPEG signature and then nothing a decoder could read: decoding would say "corrupt".
    data = b"\xff\xd8\xff\xe0" + bytes(2000)
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded an oversize file"))
    f = upload(data)
    # Nor is it read through (hashed): its declared size is enough to refuse it.
    monkeypatch.setattr(f, "chunks", lambda *a, **k: pytest.fail("read an oversize file"))
    error = refused(f)
    assert error.code == "too_large"
    assert (error.params["bytes"], error.params["max_bytes"]) == (2004, 1000)


def test_limit_is_exact(settings):
    data = image_bytes("PNG")
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_BYTES = len(data)
    assert inspect_upload(upload(data)).size == len(data)
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_BYTES = len(data) - 1
    assert refused(upload(data)).code == "too_large"


def test_a_wrong_declared_size_does_not_get_past_the_limit(settings):
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_BYTES = 1000
    f = upload(image_bytes(image=noise_image()))
    f.size = 10
    error = refused(f)
    assert error.code == "too_large"
    assert error.params["bytes"] > 1000


@pytest.mark.parametrize("setting, data", [
    ("GRIDGOV_UPLOAD_MAX_VIDEO_BYTES", iso_bmff()),
    ("GRIDGOV_UPLOAD_MAX_VIDEO_BYTES", matroska()),
    ("GRIDGOV_UPLOAD_MAX_AUDIO_BYTES", mp3()),
    ("GRIDGOV_UPLOAD_MAX_AUDIO_BYTES", wav()),
])
def test_video_and_audio_limits(settings, setting, data):
    setattr(settings, setting, len(data) - 1)
    assert refused(upload(data)).code == "too_large"
    setattr(settings, setting, len(data))
    assert inspect_upload(upload(data)).size == len(data)


def test_too_many_pixels_are_refused_before_decoding(settings):
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_PIXELS = 10_000
    error = refused(upload(image_bytes("PNG", size=(200, 100))))
    assert error.code == "too_large"
    assert (error.params["width"], error.params["height"]) == (200, 100)
    # Headers that claim more pixels than memory holds; there are none to decode.
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_PIXELS = 50_000_000
    assert refused(upload(png_header_only(10_000, 6_000))).code == "too_large"
    assert refused(upload(png_header_only(100_000, 100_000))).code == "too_large"


def corrupted(data: bytes, at: float) -> bytes:
    index = int(len(data) * at)
    return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1:]


@pytest.mark.parametrize("data", [
    image_bytes(image=noise_image())[:2000],
    image_bytes(image=noise_image(), progressive=True)[:2000],
    image_bytes("PNG", image=noise_image())[:20000],
    corrupted(image_bytes("PNG", image=noise_image()), 0.5),
    image_bytes("WEBP", image=noise_image())[:3000],
    b"\xff\xd8\xff\xe0" + b"not a jpeg at all" * 20,
], ids=["truncated-jpeg", "truncated-progressive-jpeg", "truncated-png", "damaged-png",
        "truncated-webp", "jpeg-signature-only"])
def test_damaged_photos_are_refused(data):
    assert refused(upload(data)).code == "corrupt"


def test_allowed_kinds():
    video = upload(iso_bmff(), name="clip.mp4")
    assert refused(video, allowed=("image",)).code == "unsupported_type"
    assert inspect_upload(video, allowed=("image", "video")).kind == "video"
    assert inspect_upload(upload(mp3()), allowed="audio").kind == "audio"
    with pytest.raises(ValueError):
        inspect_upload(video, allowed=("spreadsheet",))
    with pytest.raises(ValueError):  # no refusal message is written for this mix
        inspect_upload(video, allowed=("video", "document"))


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_pdf_documents_only_where_asked_for():
    assert inspect_upload(upload(PDF, "minutes.pdf"), allowed=("image", "document")).mime == "application/pdf"
    assert refused(upload(PDF, "minutes.pdf")).code == "unsupported_type"  # a report takes no PDF
    assert refused(upload(PDF[:-7], "cut.pdf"), allowed="document").code == "corrupt"
    exe = refused(upload(b"MZ" + bytes(100), "x.pdf"), allowed=("image", "document"))
    assert exe.code == "unsupported_type" and "PDF" in exe.messages[0]


def test_a_stored_pdf_is_kept_as_received(tmp_path, settings):
    from gridgov.participation.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    info = inspect_upload(upload(PDF, "minutes.pdf"), allowed="document")
    row = Attachment(kind=info.kind, mime=info.mime, extension=info.extension, size=0, sha256=info.sha256)
    uploads.store(row, upload(PDF, "minutes.pdf"), info)
    assert row.size == len(PDF) and row.file.read() == PDF and not row.thumbnail


def test_messages_in_english(settings):
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_BYTES = 10 * MIB
    big = upload(b"\xff\xd8\xff\xe0" + bytes(round(12.3 * MIB) - 4))
    exe = upload(b"MZ" + bytes(100))
    with translation.override("en"):
        assert refused(exe).messages == [
            "photo.jpg is not a picture, video or voice recording we accept: upload JPEG, PNG or "
            "WebP photos, MP4/WebM video, or MP3/M4A/AMR/Ogg/WAV audio."]
        assert refused(big).messages == ["photo.jpg is 12.3 MB; photos may be at most 10 MB."]
        assert refused(upload(b"")).messages == ["photo.jpg is empty; please attach the file again."]
        with pytest.raises(ValidationError) as caught:
            inspect_uploads([upload(image_bytes()) for _ in range(10)])
        assert caught.value.messages == ["Attach at most 9 photos to a report; you attached 10."]


def test_sizes_just_over_the_limit_read_differently(settings):
    assert uploads.format_size(10 * MIB) == "10 MB"
    assert uploads.format_size(10 * MIB + 1) == "10 MB"
    assert uploads.format_size(10 * MIB + 1, up=True) == "10.1 MB"
    assert uploads.format_size(1536) == "1.5 KB"
    settings.GRIDGOV_UPLOAD_MAX_AUDIO_BYTES = 10 * MIB
    with translation.override("en"):
        message = refused(upload(mp3() + bytes(10 * MIB))).messages[0]
    assert message == "photo.jpg is 10.1 MB; voice recordings may be at most 10 MB."


# --- video and audio -------------------------------------------------------------------


@pytest.mark.parametrize("data, kind, mime, extension", [
    (iso_bmff(), "video", "video/mp4", ".mp4"),
    (iso_bmff(moov_at_end=True), "video", "video/mp4", ".mp4"),
    (iso_bmff(with_moov=False), "video", "video/mp4", ".mp4"),
    (iso_bmff(b"qt  ", (b"qt  ",)), "video", "video/quicktime", ".mov"),
    (iso_bmff(b"3gp4", (b"isom", b"3gp4")), "video", "video/3gpp", ".3gp"),
    (iso_bmff(b"M4A ", (b"M4A ", b"mp42", b"isom"), handlers=(b"soun",)), "audio", "audio/mp4", ".m4a"),
    (iso_bmff(b"M4A ", (b"M4A ",), with_moov=False), "audio", "audio/mp4", ".m4a"),
    # An Android voice recorder: an MP4 brand, one sound track.
    (iso_bmff(b"mp42", (b"isom", b"mp42"), handlers=(b"soun",)), "audio", "audio/mp4", ".m4a"),
    (matroska(), "video", "video/webm", ".webm"),
    (matroska(track_types=(2,), unknown_segment_size=True), "audio", "audio/webm", ".webm"),
    (matroska(doc_type=b"matroska"), "video", "video/x-matroska", ".mkv"),
    (mp3(), "audio", "audio/mpeg", ".mp3"),
    (mp3(with_id3=False), "audio", "audio/mpeg", ".mp3"),
    (b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(100), "audio", "audio/aac", ".aac"),
    (b"#!AMR\n" + b"\x3c" + bytes(31), "audio", "audio/amr", ".amr"),
    (b"#!AMR-WB\n" + b"\x44" + bytes(60), "audio", "audio/amr-wb", ".awb"),
    (b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\x01" + bytes(20), "audio", "audio/ogg", ".ogg"),
    (wav(), "audio", "audio/wav", ".wav"),
], ids=["mp4", "mp4-moov-at-end", "mp4-header-only", "mov", "3gp", "m4a", "m4a-header-only",
        "mp4-sound-only", "webm", "webm-sound-only", "mkv", "mp3-id3", "mp3-frames", "aac", "amr",
        "amr-wb", "ogg", "wav"])
def test_video_and_audio_are_recognised_by_their_headers(data, kind, mime, extension):
    f = upload(data, name="photo.jpg", content_type="image/jpeg")
    info = inspect_upload(f)
    assert (info.kind, info.mime, info.extension) == (kind, mime, extension)
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (info.width, info.height, info.taken_at, info.point) == (None, None, None, None)
    assert f.tell() == 0


# --- a report's files ------------------------------------------------------------------


def test_nine_photos_a_video_and_a_recording_are_accepted():
    files = [upload(image_bytes(color=(i, i, i)), name=f"{i}.jpg") for i in range(9)]
    files += [upload(iso_bmff(), name="clip.mp4"), upload(mp3(), name="note.mp3")]
    infos = inspect_uploads(files)
    assert [info.kind for info in infos] == ["image"] * 9 + ["video", "audio"]
    assert infos[3].sha256 == hashlib.sha256(image_bytes(color=(3, 3, 3))).hexdigest()
    assert inspect_uploads([]) == []


def test_ten_photos_are_refused():
    with pytest.raises(ValidationError) as caught:
        inspect_uploads([upload(image_bytes()) for _ in range(10)])
    [error] = caught.value.error_list
    assert error.code == "too_many"
    assert (error.params["max"], error.params["count"]) == (9, 10)


def test_every_problem_is_listed_at_once():
    files = [upload(image_bytes(), name=f"{i}.jpg") for i in range(10)]
    files += [upload(b"MZ" + bytes(50), name="virus.jpg"), upload(b"", name="blank.png"),
              upload(iso_bmff(), name="a.mp4"), upload(matroska(), name="b.webm"),
              upload(image_bytes()[:300], name="cut.jpg")]
    with pytest.raises(ValidationError) as caught:
        inspect_uploads(files)
    errors = caught.value.error_list
    assert [(e.code, e.params.get("name") or e.params["kind"]) for e in errors] == [
        ("too_many", "image"), ("too_many", "video"), ("unsupported_type", "virus.jpg"),
        ("empty", "blank.png"), ("corrupt", "cut.jpg")]
    assert len(caught.value.messages) == 5
    assert all(f.tell() == 0 for f in files)


def test_fewer_photos_when_asked():
    with pytest.raises(ValidationError) as caught:
        inspect_uploads([upload(image_bytes()) for _ in range(3)], max_count=2)
    assert [e.code for e in caught.value.error_list] == ["too_many"]
    with pytest.raises(ValidationError) as caught:
        inspect_uploads([upload(mp3()), upload(wav())])
    assert [(e.code, e.params["kind"]) for e in caught.value.error_list] == [("too_many", "audio")]


# --- thumbnails ------------------------------------------------------------------------


def opened(content: ContentFile) -> Image.Image:
    image = Image.open(io.BytesIO(content.read()))
    image.load()
    return image


def is_near(pixel, color, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=True))


def test_thumbnail_is_a_small_upright_jpeg():
    data = image_bytes(image=halves_image((640, 320)), exif=photo_exif(orientation=6, gps=(
        "N", (39, 54, 26.4), "E", (116, 23, 29.52))), quality=95)
    f = upload(data, name="IMG_0003.jpg")

    thumb = make_thumbnail(f)

    assert thumb.name == "IMG_0003-thumb.jpg"
    image = opened(thumb)
    assert image.format == "JPEG" and image.mode == "RGB"
    # 640 × 320 lying on its side: upright it is 320 × 640, so 160 × 320.
    assert image.size == (160, 320)
    # Orientation 6 turns the picture a quarter clockwise: its left (red) half is now on top.
    assert is_near(image.getpixel((80, 60)), RED)
    assert is_near(image.getpixel((80, 260)), BLUE)
    assert "exif" not in image.info  # no location, no orientation to apply twice
    assert f.tell() == 0


@pytest.mark.parametrize("orientation, top", [(1, None), (3, None), (8, BLUE)])
def test_thumbnail_other_orientations(orientation, top):
    data = image_bytes(image=halves_image((640, 320)), exif=photo_exif(orientation=orientation))
    image = opened(make_thumbnail(upload(data)))
    if orientation == 8:  # a quarter anticlockwise: the right (blue) half on top
        assert image.size == (160, 320)
        assert is_near(image.getpixel((80, 60)), top)
    else:
        assert image.size == (320, 160)
        left = RED if orientation == 1 else BLUE  # 3: half a turn
        assert is_near(image.getpixel((40, 80)), left)


def test_large_photos_are_thumbnailed_within_the_box():
    data = image_bytes(image=halves_image((2400, 1000)))
    assert opened(make_thumbnail(upload(data))).size == (320, 133)
    assert opened(make_thumbnail(upload(data), size=(100, 100))).size == (100, 42)


def test_small_photos_are_not_enlarged():
    assert opened(make_thumbnail(upload(image_bytes(size=(64, 32))))).size == (64, 32)


@pytest.mark.parametrize("fmt, mode", [("PNG", "RGBA"), ("PNG", "P"), ("WEBP", "RGBA")])
def test_transparent_images_get_a_white_background(fmt, mode):
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (50, 50, 150, 150))
    if mode == "P":
        image = image.quantize(colors=4)  # a palette with a transparent entry
        assert image.has_transparency_data
    data = image_bytes(fmt, image=image, **({"lossless": True} if fmt == "WEBP" else {}))
    thumb = opened(make_thumbnail(upload(data, name="sign.png")))
    assert thumb.format == "JPEG"
    assert is_near(thumb.getpixel((5, 5)), (255, 255, 255), tolerance=8)
    assert is_near(thumb.getpixel((100, 100)), (200, 0, 0))


def test_sixteen_bit_grey_png_keeps_its_tone():
    grey = Image.new("I;16", (64, 64), 32768)
    thumb = opened(make_thumbnail(upload(image_bytes("PNG", image=grey), name="scan.png")))
    assert is_near(thumb.getpixel((10, 10)), (128, 128, 128), tolerance=6)


def test_thumbnail_refuses_what_is_not_a_photo():
    with pytest.raises(ValidationError) as caught:
        make_thumbnail(upload(iso_bmff(), name="clip.mp4"))
    assert caught.value.code == "unsupported_type"
    with pytest.raises(ValidationError) as caught:
        make_thumbnail(upload(image_bytes(image=noise_image())[:2000]))
    assert caught.value.code == "corrupt"


# --- removing the location -------------------------------------------------------------

HOME = ("N", (30, 17, 2.5), "E", (120, 9, 41.3))
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="30,17.04N" '
       b'exif:GPSLongitude="120,9.69E"/></rdf:RDF></x:xmpmeta>')


def test_strip_location_removes_gps_and_keeps_time():
    exif = photo_exif(gps=HOME, taken="2024:05:06 07:08:09", offset="+08:00", orientation=6,
                      make="Phone Maker")
    exif[0xA431] = "SERIAL-123"  # would identify the camera's owner
    data = image_bytes(image=halves_image((320, 160)), exif=exif, xmp=XMP)
    before = inspect_upload(upload(data))
    assert before.point is not None

    stripped = strip_location(upload(data, name="IMG_0004.jpg"))

    assert stripped.name == "IMG_0004.jpg"
    image = opened(stripped)
    assert image.format == "JPEG"
    assert image.size == (160, 320)  # turned upright
    assert is_near(image.getpixel((80, 40)), RED)
    tags = image.getexif()
    assert 0x8825 not in tags and tags.get_ifd(0x8825) == {}
    assert 0x0112 not in tags  # the orientation is applied, not repeated
    assert tags.get(0x010F) == "Phone Maker"
    assert tags.get_ifd(0x8769).get(0x9003) == "2024:05:06 07:08:09"
    assert 0xA431 not in tags.get_ifd(0x8769)
    assert "xmp" not in image.info and b"GPS" not in stripped.read()

    after = inspect_upload(stripped)
    assert after.point is None
    assert after.taken_at == before.taken_at
    assert (after.width, after.height) == (before.width, before.height)


@pytest.mark.parametrize("fmt, extension", [("PNG", ".png"), ("WEBP", ".webp")])
def test_strip_location_keeps_the_format(fmt, extension):
    data = image_bytes(fmt, exif=photo_exif(gps=HOME, taken="2024:05:06 07:08:09"))
    assert inspect_upload(upload(data)).point is not None
    stripped = strip_location(upload(data, name=f"photo{extension}"))
    info = inspect_upload(stripped)
    assert (info.extension, info.point) == (extension, None)
    assert info.taken_at is not None


def test_strip_location_of_a_photo_without_metadata():
    f = upload(image_bytes("PNG", mode="P", color=3), name="map.png")
    stripped = strip_location(f)
    assert opened(stripped).size == (64, 32)
    assert f.tell() == 0
