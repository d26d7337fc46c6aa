"""Intake over HTTP: worker reports with photos, resident requests, hotline, solved on the spot."""

import prcoords
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.cases.models import Attachment, Case
from gridgov.cases.tests.conftest import POINT, jpeg

pytestmark = pytest.mark.django_db


def post_case(client, **fields):
    data = {"channel": "worker", "description": "小区门口有暴露垃圾，气味很大",
            "lat": POINT[0], "lon": POINT[1], **fields}
    return client.post("/api/v1/cases", data)


def test_worker_reports_with_photos_and_the_grid_is_located(world, client_for,
                                                             django_capture_on_commit_callbacks):
    client = client_for(world.worker)
    with django_capture_on_commit_callbacks(execute=True):  # the photos' job, after the commit
        response = post_case(client, category_id=world.category.pk,
                             photos=[jpeg("a.jpg"), jpeg("b.jpg")])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["grid"]["code"] == f"{world.grid.code}001"
    assert body["state"] == "reported" and body["created"] is True
    case = Case.objects.get(pk=body["id"])
    assert case.attachments.filter(stage=Attachment.Stage.REPORT).count() == 2
    assert all(a.thumbnail for a in case.attachments.all())
    assert case.deadline is not None


def test_the_same_client_key_returns_the_same_case(world, client_for):
    client = client_for(world.worker)
    first = post_case(client, category_id=world.category.pk, client_key="phone-1-0001")
    again = post_case(client, category_id=world.category.pk, client_key="phone-1-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    assert Case.objects.count() == 1


def test_gcj02_points_from_amap_are_converted(world, client_for):
    gcj = prcoords.wgs_gcj(POINT)
    response = post_case(client_for(world.worker), category_id=world.category.pk, lat=gcj.lat,
                         lon=gcj.lon, crs="gcj02")
    case = Case.objects.get(pk=response.json()["id"])
    assert case.lat == pytest.approx(POINT[0], abs=1e-6)


def test_a_renamed_exe_is_refused_and_nothing_is_stored(world, client_for, settings):
    fake = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" + b"\x00" * 200, content_type="image/jpeg")
    response = post_case(client_for(world.worker), category_id=world.category.pk, photos=[fake])
    assert response.status_code == 400
    assert "photo.jpg" in response.json()["detail"]
    assert not Case.objects.exists() and not Attachment.objects.exists()
    assert not any((settings.MEDIA_ROOT).rglob("*.jpg")) if settings.MEDIA_ROOT.exists() else True


def test_an_oversize_photo_is_refused(world, client_for, settings):
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_BYTES = 100
    response = post_case(client_for(world.worker), category_id=world.category.pk, photos=[jpeg()])
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_outside_the_district_is_a_clear_400(world, client_for):
    response = post_case(client_for(world.worker), category_id=world.category.pk, lat=39.9, lon=116.4)
    assert response.status_code == 400
    assert "辖区" in response.json()["errors"]["location"][0]


def test_a_class_is_not_a_category_to_report(world, client_for):
    response = post_case(client_for(world.worker), category_id=world.category.parent_id)
    assert response.status_code == 400 and "category_id" in response.json()["errors"]


def test_resident_request(world, client_for):
    from gridgov.cases.models import Category

    meal = Category.objects.get(code="14001")
    response = post_case(client_for(world.resident), channel="resident", category_id=meal.pk,
                         description="独居老人今天中午需要送餐")
    assert response.status_code == 201
    assert response.json()["urgency"] == "urgent"


def test_residents_cannot_pose_as_grid_workers(world, client_for):
    response = post_case(client_for(world.resident), category_id=world.category.pk)
    assert response.status_code == 403


def test_hotline_entry_keeps_the_callers_phone_encrypted_and_masked(world, client_for):
    from django.db import connection

    response = post_case(client_for(world.dispatcher), channel="hotline", category_id=world.category.pk,
                         lat="", lon="", grid_code=world.grid.code, caller_name="张三丰",
                         caller_phone="13812345678", address="枫桥街道白马涧社区3号楼")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    detail = client_for(world.dispatcher).get(f"/api/v1/cases/{case_id}").json()
    assert (detail["caller"], detail["caller_phone"]) == ("张*丰", "138****5678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT caller_phone FROM cases_case WHERE id = %s", [case_id])
        assert "13812345678" not in cursor.fetchone()[0]


def test_hotline_needs_a_valid_phone(world, client_for):
    response = post_case(client_for(world.dispatcher), channel="hotline", category_id=world.category.pk,
                         caller_phone="12345")
    assert response.status_code == 400 and "caller_phone" in response.json()["errors"]


def test_solved_on_the_spot_closes_at_once_with_before_and_after(world, client_for):
    client = client_for(world.worker)
    missing = post_case(client, channel="self_resolved", category_id=world.category.pk,
                        photos=[jpeg("before.jpg")])
    assert missing.status_code == 400 and "after_files" in missing.json()["errors"]
    response = post_case(client, channel="self_resolved", category_id=world.category.pk,
                         photos=[jpeg("before.jpg")], after_photos=[jpeg("after.jpg", (30, 200, 30))])
    assert response.status_code == 201
    case = Case.objects.get(pk=response.json()["id"])
    assert case.state == Case.State.CLOSED and case.handled_on_time is True
    assert sorted(case.attachments.values_list("stage", flat=True)) == ["after", "before"]


def test_case_lists_are_scoped(world, client_for, report):
    mine = report()
    other = report(actor=world.other_worker, lat=31.335, lon=120.535)
    assert client_for(world.worker).get("/api/v1/cases").json()["items"][0]["id"] == mine.pk
    ids = {c["id"] for c in client_for(world.other_worker).get("/api/v1/cases").json()["items"]}
    assert ids == {other.pk}
    assert client_for(world.other_worker).get(f"/api/v1/cases/{mine.pk}").status_code == 404
    # a handler sees only what was dispatched to their department
    assert client_for(world.handler).get("/api/v1/cases").json()["count"] == 0


def test_list_filters(world, client_for, report):
    report()
    report(actor=world.other_worker, lat=31.335, lon=120.535)
    client = client_for(world.dispatcher)
    assert client.get("/api/v1/cases").json()["count"] == 2
    assert client.get(f"/api/v1/cases?grid={world.grid.code}").json()["count"] == 1
    assert client.get("/api/v1/cases?state=closed").json()["count"] == 0
    assert client.get("/api/v1/cases?category=06").json()["count"] == 2
    assert client.get("/api/v1/cases?light=green&channel=worker").json()["count"] == 2


def test_actions_over_http_with_409_for_an_illegal_one(world, client_for, report):
    case = report()
    client = client_for(world.dispatcher)
    assert client.post(f"/api/v1/cases/{case.pk}/actions/register").status_code == 200
    again = client.post(f"/api/v1/cases/{case.pk}/actions/register")
    assert again.status_code == 409 and "立案" in again.json()["detail"]
    detail = client.get(f"/api/v1/cases/{case.pk}").json()
    assert detail["proposed_department"] == {"id": world.sanitation.pk, "name": "枫桥街道环卫所"}
    assert "dispatch" in [a["name"] for a in detail["actions"]]
    response = client.post(f"/api/v1/cases/{case.pk}/actions/dispatch",
                           {"department_id": world.sanitation.pk})
    assert response.json()["state"] == "dispatched"
    timeline = client.get(f"/api/v1/cases/{case.pk}").json()["log"]
    assert [e["action"] for e in timeline] == ["report", "register", "dispatch"]


def test_duplicates_are_proposed_to_the_dispatcher(world, client_for, report):
    first = report(description="3号楼门口垃圾堆积没人清理")
    client = client_for(world.community_dispatcher)
    second = report(actor=world.grid_leader, description="3号楼门口垃圾堆积", lat=POINT[0] + 0.0001)
    far = report(actor=world.grid_leader, description="3号楼门口垃圾堆积", lat=POINT[0] + 0.002)
    candidates = client.get(f"/api/v1/cases/{second.pk}/duplicates").json()
    assert [c["id"] for c in candidates] == [first.pk]  # 220 m away is not a duplicate
    assert candidates[0]["distance_m"] < 20 and far.pk not in [c["id"] for c in candidates]


def test_category_search_suggests_leaves(world, client_for):
    body = client_for(world.worker).get("/api/v1/categories?q=垃圾").json()
    names = [c["name"] for c in body]
    assert "暴露垃圾" in names[:3]
    # Components (垃圾箱, 垃圾间) are reported too since GB/T 47678.5's components became reportable.
    assert {"matter", "component"} <= {c["kind"] for c in body}
