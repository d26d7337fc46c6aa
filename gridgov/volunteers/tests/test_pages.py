"""The resident's portal, the check-in page the QR code opens, and the staff page (forms, no script)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.volunteers import services
from gridgov.volunteers.models import Activity, Attendance, Order, PointEntry, ShopItem, Volunteer
from gridgov.volunteers.tests.conftest import PLACE_A, activity, volunteer

pytestmark = pytest.mark.django_db


def test_a_resident_applies_on_the_portal_and_staff_approve_on_their_page(crew, client_for):
    client = client_for(crew.resident)
    page = client.get("/volunteers/")
    assert page.status_code == 200 and 'id="apply-form"' in page.content.decode()
    assert f'value="{crew.grid_a.code}"' in page.content.decode()  # the home grid, offered
    response = client.post(
        "/volunteers/apply/", {"grid_code": crew.grid_a.code, "skills": "理发"}, follow=True
    )
    assert "您的申请已提交" in response.content.decode()
    profile = Volunteer.objects.get()
    bad = client.post("/volunteers/apply/", {"grid_code": crew.grid_a.code}, follow=True)
    assert 'class="error"' in bad.content.decode()

    staff = client_for(crew.grid_leader)
    assert f'data-volunteer="{profile.pk}"' in staff.get("/volunteers/staff/").content.decode()
    refused = staff.post(
        f"/volunteers/staff/volunteers/{profile.pk}/refuse/", {"next": "/volunteers/staff/"}, follow=True
    )
    assert "请填写原因" in refused.content.decode()
    staff.post(f"/volunteers/staff/volunteers/{profile.pk}/approve/", {"next": "/volunteers/staff/"})
    assert Volunteer.objects.get().state == "approved"
    assert 'id="vol-activities"' in client.get("/volunteers/").content.decode()


def test_the_staff_page_is_for_volunteer_managers(crew, client_for):
    assert client_for(crew.resident).get("/volunteers/staff/").status_code == 403
    assert client_for(crew.worker).get("/volunteers/staff/").status_code == 403
    assert client_for(crew.leader).get("/volunteers/staff/").status_code == 200


def test_publish_run_the_qr_screen_check_in_and_out_and_close(crew, client_for):
    staff = client_for(crew.grid_leader)
    now = timezone.localtime()
    published = staff.post(
        "/volunteers/staff/activities/",
        {
            "grid_code": crew.grid_a.code,
            "title": "垃圾分类宣传",
            "kind": "environment",
            "address": "文化广场",
            "lat": str(PLACE_A[0]),
            "lon": str(PLACE_A[1]),
            "starts_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "signup_deadline": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "quota": "10",
            "points_rule": "fixed",
            "points": "5",
            "radius_m": "200",
        },
    )
    event = Activity.objects.get()
    assert (
        published.status_code == 302 and published["Location"] == f"/volunteers/staff/activities/{event.pk}/"
    )
    mine = volunteer(crew.grid_a, crew.grid_leader, name="周志愿")
    portal = client_for(mine.user)
    portal.post(f"/volunteers/activities/{event.pk}/signup/")
    assert "已报名" in portal.get("/volunteers/").content.decode()

    screen = staff.get(f"/volunteers/staff/activities/{event.pk}/qr/").content.decode()
    assert '<meta http-equiv="refresh" content="30">' in screen and "<svg" in screen
    url = re.search(r'data-url="([^"]+)"', screen).group(1).replace("&amp;", "&")
    assert "/volunteers/checkin/?t=" in url
    landing = portal.get(url[url.index("/volunteers/") :])
    assert 'id="checkin-button"' in landing.content.decode() and "垃圾分类宣传" in landing.content.decode()
    token = url.split("?t=")[1]
    checked = portal.post(f"/volunteers/activities/{event.pk}/check-in/", {"token": token}, follow=True)
    assert "签到成功" in checked.content.decode()
    assert 'id="checkout-button"' in portal.get(f"/volunteers/checkin/?t={token}").content.decode()
    portal.post(f"/volunteers/activities/{event.pk}/check-out/", {"lat": PLACE_A[0], "lon": PLACE_A[1]})
    attendance = Attendance.objects.get()
    assert attendance.check_in_method == "qr" and attendance.check_out_method == "geofence"

    sheet = staff.get(f"/volunteers/staff/activities/{event.pk}/").content.decode()
    assert f'data-volunteer="{mine.pk}"' in sheet
    staff.post(f"/volunteers/staff/activities/{event.pk}/close/")
    assert PointEntry.objects.get().amount == 5
    assert 'id="vol-balance">5<' in portal.get("/volunteers/").content.decode()


def test_a_forged_code_on_the_check_in_page(crew, client_for):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    page = client_for(mine.user).get("/volunteers/checkin/?t=forged")
    assert page.status_code == 200 and "这不是有效的签到码" in page.content.decode()


def test_redeem_on_the_portal_and_hand_over_on_the_staff_page(crew, client_for):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    services.adjust_points(crew.grid_leader, mine.pk, amount=40, reason="补录")
    gift = ShopItem.objects.create(
        name="雨伞", price=25, stock=3, pickup_point="社区服务中心", grid=crew.grid_a
    )
    portal = client_for(mine.user)
    assert "雨伞" in portal.get("/volunteers/").content.decode()
    placed = portal.post("/volunteers/orders/", {"item_id": gift.pk}, follow=True)
    assert "社区服务中心" in placed.content.decode()
    again = portal.post("/volunteers/orders/", {"item_id": gift.pk}, follow=True)
    assert 'class="error"' in again.content.decode()  # 15 points left
    order = Order.objects.get()
    staff = client_for(crew.grid_leader)
    assert f'data-order="{order.pk}"' in staff.get("/volunteers/staff/").content.decode()
    staff.post(f"/volunteers/orders/{order.pk}/fulfil/", {"next": "/volunteers/staff/#orders"})
    assert Order.objects.get().state == "fulfilled"


def test_links_from_the_workbenches(crew, client_for):
    assert "/volunteers/" in client_for(crew.resident).get("/resident/").content.decode()
    assert "/volunteers/staff/" in client_for(crew.leader).get("/console/leader/").content.decode()


def test_a_next_outside_the_site_is_ignored(crew, client_for):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    upcoming = activity(crew.grid_leader, crew.grid_a, starts_at=timezone.now() + timedelta(hours=1))
    response = client_for(mine.user).post(
        f"/volunteers/activities/{upcoming.pk}/signup/", {"next": "//evil.example/"}
    )
    assert response["Location"] == "/volunteers/"


def test_the_back_office_lists_are_scoped(crew, client_for):
    from gridgov.accounts.models import User
    from gridgov.core.testing import admin_user

    mine = volunteer(crew.grid_a, crew.grid_leader, name="甲志愿者")
    other = volunteer(crew.grid_b, crew.grid_leader_b, name="乙志愿者")
    event = activity(crew.grid_leader, crew.grid_a)
    services.sign_up(mine.user, event.pk)
    services.adjust_points(crew.grid_leader, mine.pk, amount=10, reason="补录")
    ShopItem.objects.create(name="雨伞", price=25, stock=3, pickup_point="社区服务中心", grid=crew.grid_a)
    admin = client_for(admin_user())
    for model in (
        "volunteer",
        "team",
        "activity",
        "signup",
        "attendance",
        "activitylog",
        "pointentry",
        "order",
        "shopitem",
    ):
        assert admin.get(f"/admin/volunteers/{model}/").status_code == 200, model
    assert admin.get(f"/admin/volunteers/volunteer/{mine.pk}/change/").status_code == 200
    User.objects.filter(pk=crew.grid_leader.pk).update(is_staff=True)
    leader = client_for(User.objects.get(pk=crew.grid_leader.pk))
    listing = leader.get("/admin/volunteers/volunteer/").content.decode()
    assert "甲志愿者" in listing and "乙志愿者" not in listing
    assert leader.get(f"/admin/volunteers/volunteer/{other.pk}/change/").status_code == 302  # not found: back
    assert leader.get("/admin/volunteers/shopitem/add/").status_code == 200
