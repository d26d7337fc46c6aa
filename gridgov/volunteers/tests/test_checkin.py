"""Check-in and check-out (QR code, location), corrections, closing: hours, no-shows and points."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.utils import timezone

from gridgov.volunteers import services
from gridgov.volunteers.models import ActivityLog, Attendance, PointEntry, Signup
from gridgov.volunteers.tests.conftest import PLACE_A, activity, post, volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(crew):
    return activity(crew.grid_leader, crew.grid_a)


@pytest.fixture
def signed_up(crew, event):
    """An approved volunteer of grid A with a place in the activity."""
    mine = volunteer(crew.grid_a, crew.grid_leader, name="刘志愿")
    services.sign_up(mine.user, event.pk)
    return mine


def qr(client, event) -> dict:
    response = client.get(f"/api/v1/volunteers/activities/{event.pk}/qr")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_organizer_screen_gives_a_signed_code_and_its_picture(crew, client_for, event):
    code = qr(client_for(crew.grid_leader), event)
    assert code["expires_in"] == 60 and code["refresh_in"] == 30
    assert code["url"].endswith(f"/volunteers/checkin/?t={code['token']}")
    assert code["svg"].startswith("<svg") and "path" in code["svg"]
    assert (
        client_for(crew.grid_leader_b).get(f"/api/v1/volunteers/activities/{event.pk}/qr").status_code == 404
    )
    assert client_for(crew.auditor).get(f"/api/v1/volunteers/activities/{event.pk}/qr").status_code == 403


def test_check_in_by_qr_is_idempotent(crew, client_for, event, signed_up):
    token = qr(client_for(crew.grid_leader), event)["token"]
    client = client_for(signed_up.user)
    first = post(client, f"/api/v1/volunteers/activities/{event.pk}/check-in", {"token": token})
    assert first.status_code == 201, first.content
    assert first.json()["check_in_method"] == "qr" and first.json()["checked_out_at"] is None
    retried = post(client, f"/api/v1/volunteers/activities/{event.pk}/check-in", {"token": token})
    assert retried.status_code == 200 and retried.json() == first.json()
    assert Attendance.objects.count() == 1


def test_an_expired_code_is_refused(crew, client_for, event, signed_up, monkeypatch):
    token = qr(client_for(crew.grid_leader), event)["token"]
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    response = post(
        client_for(signed_up.user), f"/api/v1/volunteers/activities/{event.pk}/check-in", {"token": token}
    )
    assert response.status_code == 400
    assert response.json()["errors"]["token"] == ["此码已过期：请重新扫描组织者屏幕上的码。"]
    assert not Attendance.objects.exists()


def test_forged_and_foreign_codes_are_refused(crew, client_for, event, signed_up):
    client = client_for(signed_up.user)
    url = f"/api/v1/volunteers/activities/{event.pk}/check-in"
    window = int(time.time() // 30)
    forged = [
        signing.TimestampSigner(salt="another.salt").sign(f"{event.pk}.{window}"),
        signing.TimestampSigner(key="not-our-secret", salt=services.QR_SALT).sign(f"{event.pk}.{window}"),
        qr(client_for(crew.grid_leader), event)["token"].replace(f"{event.pk}.", f"{event.pk + 1}.", 1),
        "hello",
    ]
    for token in forged:
        response = post(client, url, {"token": token})
        assert response.status_code == 400, token
        assert response.json()["errors"]["token"] == ["这不是有效的签到码。"], token
    other = activity(crew.grid_leader, crew.grid_a, title="另一个活动")
    foreign = qr(client_for(crew.grid_leader), other)["token"]
    response = post(client, url, {"token": foreign})
    assert response.status_code == 400 and response.json()["errors"]["token"] == ["此码属于另一个活动。"]
    nothing = post(client, url, {})
    assert nothing.status_code == 400 and "token" in nothing.json()["errors"]
    assert not Attendance.objects.exists()


def test_check_in_by_location_inside_the_radius_only(crew, client_for, event, signed_up):
    client = client_for(signed_up.user)
    url = f"/api/v1/volunteers/activities/{event.pk}/check-in"
    far = post(client, url, {"lat": PLACE_A[0] + 0.01, "lon": PLACE_A[1]})  # about 1.1 km north
    assert far.status_code == 400
    message = far.json()["errors"]["location"][0]
    assert "1112" in message and "200" in message
    bad = post(client, url, {"lat": 91, "lon": 120.5, "crs": "mars"})
    assert set(bad.json()["errors"]) == {"lat", "crs"}
    assert not Attendance.objects.exists()
    near = post(client, url, {"lat": PLACE_A[0] + 0.001, "lon": PLACE_A[1]})  # about 111 m
    assert near.status_code == 201 and near.json()["check_in_method"] == "geofence"


def test_only_those_with_a_place_check_in(crew, client_for, event):
    waiting_event = activity(crew.grid_leader, crew.grid_a, quota=1)
    first = volunteer(crew.grid_a, crew.grid_leader, name="甲")
    second = volunteer(crew.grid_a, crew.grid_leader, name="乙")
    services.sign_up(first.user, waiting_event.pk)
    services.sign_up(second.user, waiting_event.pk)
    token = qr(client_for(crew.grid_leader), waiting_event)["token"]
    url = f"/api/v1/volunteers/activities/{waiting_event.pk}/check-in"
    assert post(client_for(second.user), url, {"token": token}).status_code == 409
    not_signed = post(
        client_for(first.user), f"/api/v1/volunteers/activities/{event.pk}/check-in", {"token": token}
    )
    assert not_signed.status_code == 409
    later = activity(
        crew.grid_leader,
        crew.grid_a,
        starts_at=timezone.now() + timedelta(hours=2),
        ends_at=timezone.now() + timedelta(hours=3),
    )
    services.sign_up(first.user, later.pk)
    early = post(
        client_for(first.user),
        f"/api/v1/volunteers/activities/{later.pk}/check-in",
        {"token": qr(client_for(crew.grid_leader), later)["token"]},
    )
    assert early.status_code == 409 and "30" in early.json()["detail"]


def test_check_out_hours_corrections_and_closing(crew, client_for, event, signed_up):
    organizer = client_for(crew.grid_leader)
    client = client_for(signed_up.user)
    base = f"/api/v1/volunteers/activities/{event.pk}"
    assert post(client, f"{base}/check-out", {"token": qr(organizer, event)["token"]}).status_code == 409
    post(client, f"{base}/check-in", {"token": qr(organizer, event)["token"]})
    out = post(client, f"{base}/check-out", {"lat": PLACE_A[0], "lon": PLACE_A[1]})
    assert out.status_code == 200 and out.json()["check_out_method"] == "geofence"
    again = post(client, f"{base}/check-out", {"lat": PLACE_A[0], "lon": PLACE_A[1]})
    assert again.json()["checked_out_at"] == out.json()["checked_out_at"]

    # The organizer corrects the times (the volunteer came at the start and left two hours later).
    starts = event.starts_at
    corrected = post(
        organizer,
        f"{base}/attendance/{signed_up.pk}",
        {
            "checked_in_at": starts.isoformat(),
            "checked_out_at": (starts + timedelta(hours=2)).isoformat(),
            "reason": "手机没电，现场登记",
        },
    )
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["hours"] == 2.0 and corrected.json()["check_in_method"] == "organizer"
    log = ActivityLog.objects.get(action="correct")
    assert log.reason == "手机没电，现场登记" and log.volunteer == signed_up
    assert log.data["checked_in_at"][1] == starts.isoformat()
    no_reason = post(organizer, f"{base}/attendance/{signed_up.pk}", {"checked_in_at": starts.isoformat()})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    backwards = post(
        organizer,
        f"{base}/attendance/{signed_up.pk}",
        {"checked_out_at": (starts - timedelta(hours=1)).isoformat(), "reason": "更正"},
    )
    assert backwards.status_code == 400 and "checked_out_at" in backwards.json()["errors"]
    assert ActivityLog.objects.filter(action="correct").count() == 1

    # Someone else signed up and never came: a no-show at closing.
    absent = volunteer(crew.grid_a, crew.grid_leader, name="缺席者")
    services.sign_up(absent.user, event.pk)
    closed = post(organizer, f"{base}/close")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert Signup.objects.get(volunteer=absent).state == "no_show"
    earned = PointEntry.objects.get(volunteer=signed_up)
    assert (earned.amount, earned.kind, earned.activity_id, earned.approver) == (
        20,
        "earn",
        event.pk,
        crew.grid_leader,
    )
    assert not PointEntry.objects.filter(volunteer=absent).exists()
    # Closing again gives nothing twice; nothing changes after closing.
    assert post(organizer, f"{base}/close").status_code == 200
    assert PointEntry.objects.count() == 1
    assert (
        post(
            organizer,
            f"{base}/attendance/{signed_up.pk}",
            {"checked_in_at": starts.isoformat(), "reason": "再改"},
        ).status_code
        == 409
    )
    me = client.get("/api/v1/volunteers/me").json()
    assert me["balance"] == 20 and me["hours"] == 2.0
    ledger = client.get("/api/v1/volunteers/me/points").json()["items"]
    assert [(e["amount"], e["kind"], e["activity_id"]) for e in ledger] == [(20, "earn", event.pk)]


def test_closing_checks_out_the_forgotten_and_fixed_points(crew, client_for):
    event = activity(crew.grid_leader, crew.grid_a, points_rule="fixed", points=15)
    mine = volunteer(crew.grid_a, crew.grid_leader)
    services.sign_up(mine.user, event.pk)
    services.check_in(mine.user, event.pk, {"lat": PLACE_A[0], "lon": PLACE_A[1]})
    post(client_for(crew.grid_leader), f"/api/v1/volunteers/activities/{event.pk}/close")
    attendance = Attendance.objects.get()
    assert attendance.check_out_method == "closing" and attendance.checked_out_at is not None
    assert PointEntry.objects.get().amount == 15


def test_points_per_hour_round_half_up(crew, event):
    attendance = Attendance(
        activity=event,
        volunteer_id=0,
        checked_in_at=event.starts_at,
        checked_out_at=event.starts_at + timedelta(minutes=87),
    )
    assert services.hours(attendance, event) == Decimal("1.45")
    assert services.points_for(attendance, event) == 15  # 14.5 rounds up
    early = Attendance(
        activity=event,
        volunteer_id=0,
        checked_in_at=event.starts_at - timedelta(hours=1),
        checked_out_at=event.ends_at + timedelta(hours=5),
    )
    assert services.hours(early, event) == Decimal("4.00")  # only the activity's own time counts


def test_closing_before_the_start_and_by_others(crew, client_for, event):
    upcoming = activity(crew.grid_leader, crew.grid_a, starts_at=timezone.now() + timedelta(hours=1))
    assert (
        post(client_for(crew.grid_leader), f"/api/v1/volunteers/activities/{upcoming.pk}/close").status_code
        == 409
    )
    assert (
        post(client_for(crew.grid_leader_b), f"/api/v1/volunteers/activities/{event.pk}/close").status_code
        == 404
    )
    assert (
        post(client_for(crew.auditor), f"/api/v1/volunteers/activities/{event.pk}/close").status_code == 403
    )
    assert (
        post(client_for(crew.resident), f"/api/v1/volunteers/activities/{event.pk}/close").status_code == 404
    )
