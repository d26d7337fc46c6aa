"""A report's photos are stored without their location by a job after the report commits:
the request only checks them and holds them, as received, outside the served media."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from gridgov.cases import tasks
from gridgov.cases.models import Attachment
from gridgov.cases.tests.conftest import POINT
from gridgov.core import uploads
from gridgov.core.tests.test_uploads import photo_exif

pytestmark = pytest.mark.django_db

GPS = ("N", (31, 18, 18.0), "E", (120, 30, 18.0))  # 31.305, 120.505: inside the world's grid


def located_photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG", exif=photo_exif(gps=GPS))
    return SimpleUploadedFile("scene.jpg", buffer.getvalue(), content_type="image/jpeg")


def has_gps(path) -> bool:
    with Image.open(path) as image:
        return bool(image.getexif().get_ifd(0x8825))


def report_with_photo(client, world, callbacks):
    with callbacks() as queued:
        response = client.post("/api/v1/cases", {
            "channel": "worker", "category_id": world.category.pk, "description": "路边暴露垃圾",
            "photos": [located_photo()]})
    assert response.status_code == 201, response.content
    return response.json()["id"], queued


def attachment_out(client, case_id) -> dict:
    entries = client.get(f"/api/v1/cases/{case_id}").json()["log"]
    return next(a for entry in entries for a in entry["attachments"])


def test_the_photo_is_held_until_its_job_stores_it_without_the_location(
        world, client_for, settings, django_capture_on_commit_callbacks):
    client = client_for(world.worker)
    case_id, queued = report_with_photo(client, world, django_capture_on_commit_callbacks)
    # The request took the point from the photo and located the case with it.
    attachment = Attachment.objects.get(case_id=case_id)
    assert attachment.case.grid.parent == world.grid and abs(attachment.case.lat - POINT[0]) < 1e-4

    # Until the job runs: held as received (GPS and all) outside MEDIA_ROOT, private, not served.
    held = settings.GRIDGOV_HELD_DIR / attachment.held
    assert attachment.status == "processing" and has_gps(held)
    assert held.stat().st_mode & 0o777 == 0o600
    assert not list(settings.MEDIA_ROOT.rglob("*.jpg")) if settings.MEDIA_ROOT.exists() else True
    assert attachment_out(client, case_id) | {"id": 0} == {
        "id": 0, "stage": "report", "kind": "image", "status": "processing", "url": None, "thumbnail": None}
    page = client.get(f"/cases/{case_id}/").content.decode()
    assert 'data-attachment="processing"' in page and "正在处理" in page

    assert len(queued) == 1
    queued[0]()  # the commit's callback queues the job; in tests it runs at once

    attachment.refresh_from_db()
    assert attachment.status == "ready" and not held.exists()
    assert not has_gps(attachment.file.path) and attachment.thumbnail
    assert attachment.size == attachment.file.size
    out = attachment_out(client, case_id)
    assert out["status"] == "ready" and out["url"] == attachment.file.url and out["thumbnail"]


def test_a_photo_whose_job_was_lost_is_finished_by_the_sweep(
        world, client_for, django_capture_on_commit_callbacks):
    case_id, _queued = report_with_photo(client_for(world.worker), world,
                                         django_capture_on_commit_callbacks)  # never run
    assert tasks.finish_stale_photos.call_local() == 0  # too young: its job may still come
    Attachment.objects.filter(case_id=case_id).update(uploaded_at=timezone.now() - timedelta(minutes=5))
    assert tasks.finish_stale_photos.call_local() == 1
    assert Attachment.objects.get(case_id=case_id).status == "ready"


def test_a_photo_that_cannot_be_decoded_is_dropped_and_said_so(
        world, client_for, settings, django_capture_on_commit_callbacks):
    client = client_for(world.worker)
    case_id, queued = report_with_photo(client, world, django_capture_on_commit_callbacks)
    attachment = Attachment.objects.get(case_id=case_id)
    held = settings.GRIDGOV_HELD_DIR / attachment.held
    held.write_bytes(held.read_bytes()[:200])  # damaged on disk before the job ran
    queued[0]()
    attachment.refresh_from_db()
    assert attachment.status == "failed" and not held.exists() and not attachment.held
    assert attachment_out(client, case_id)["status"] == "failed"
    assert 'data-attachment="failed"' in client.get(f"/cases/{case_id}/").content.decode()


def test_two_runs_at_once_store_the_photo_once(world, client_for, settings,
                                               django_capture_on_commit_callbacks, monkeypatch):
    case_id, _queued = report_with_photo(client_for(world.worker), world,
                                         django_capture_on_commit_callbacks)
    first = Attachment.objects.get(case_id=case_id)
    second = Attachment.objects.get(case_id=case_id)
    thumbnail = uploads.make_thumbnail

    def meanwhile_the_other_run_finishes(f, **kwargs):
        monkeypatch.setattr(uploads, "make_thumbnail", thumbnail)
        assert uploads.finish_held(first) == "done"
        return thumbnail(f, **kwargs)

    monkeypatch.setattr(uploads, "make_thumbnail", meanwhile_the_other_run_finishes)
    assert uploads.finish_held(second) == ""  # it lost the claim and removed what it wrote
    stored = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    first.refresh_from_db()
    assert stored == sorted([first.file.name.rsplit("/", 1)[1], first.thumbnail.name.rsplit("/", 1)[1]])
