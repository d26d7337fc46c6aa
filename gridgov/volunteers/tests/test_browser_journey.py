"""The volunteer's whole journey in a real browser (Debian's Chromium through Playwright): a
resident logs in by phone and texted code, applies, is approved by the grid leader, signs up,
checks in by opening the QR link on the organizer's screen, checks out, the organizer closes the
activity, the resident sees the points, redeems a shop item and downloads the points certificate.
Screenshots land in test-artifacts/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts import sms
from gridgov.privacy.models import AuditEntry
from gridgov.volunteers import services
from gridgov.volunteers.models import Attendance, Certificate, Order, ShopItem, Volunteer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = "13800138011"


def shot(page, name: str):
    from gridgov.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def resident_logs_in(chromium, live_server):
    """A phone-sized tab logged in as a resident through the phone + texted code form."""
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, accept_downloads=True
    )
    page = context.new_page()
    page.on("pageerror", lambda exc: print(f"[browser error] {exc}"))
    page.goto(f"{live_server.url}/resident/login/")
    page.get_by_label("手机号").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    code = re.search(r"\d{6}", sms.MemoryBackend.outbox[-1][1]).group()
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/resident/")
    return context, page


def test_a_resident_volunteers_from_application_to_certificate(
    crew, live_server, chromium, browser_for, settings
):
    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.MemoryBackend"
    sms.MemoryBackend.outbox.clear()
    context, phone = resident_logs_in(chromium, live_server)

    # Apply, naming the grid served.
    phone.goto(f"{live_server.url}/volunteers/")
    phone.locator("#grid_code").fill(crew.grid_a.code)
    phone.locator("#skills").fill("急救")
    phone.locator("#apply-form button[type=submit]").click()
    phone.wait_for_selector("#vol-state")
    assert phone.locator("#vol-state").inner_text() == "已申请"
    profile = Volunteer.objects.get()

    # The grid leader approves on the staff page.
    leader = browser_for(crew.grid_leader)
    leader.goto(f"{live_server.url}/volunteers/staff/")
    leader.locator(f'tr[data-volunteer="{profile.pk}"] form[action$="/approve/"] button').click()
    leader.wait_for_selector('p.ok[role="alert"]')
    shot(leader, "volunteers-staff-approved")
    assert Volunteer.objects.get().state == "approved"

    # An activity under way (fixed points), and a shop item of the grid.
    now = timezone.now()
    event = services.publish(
        crew.grid_leader,
        {
            "grid_code": crew.grid_a.code,
            "title": "河道清洁",
            "kind": "environment",
            "lat": 31.33,
            "lon": 120.51,
            "starts_at": now - timedelta(minutes=10),
            "ends_at": now + timedelta(hours=2),
            "signup_deadline": now + timedelta(hours=2),
            "quota": 10,
            "points_rule": "fixed",
            "points": 30,
        },
    )
    ShopItem.objects.create(name="环保袋", price=20, stock=5, pickup_point="社区服务中心", grid=crew.grid_a)

    phone.reload()
    assert phone.locator("#vol-state").inner_text() == "已通过"
    phone.locator(f'li[data-activity="{event.pk}"] form[action$="/signup/"] button').click()
    phone.wait_for_selector(f'li[data-activity="{event.pk}"] .my-signup')
    shot(phone, "volunteers-signed-up")

    # Check in by the link the organizer's QR code encodes, then check out the same way.
    leader.goto(f"{live_server.url}/volunteers/staff/activities/{event.pk}/qr/")
    url = leader.locator("#qr-code").get_attribute("data-url")
    assert "/volunteers/checkin/?t=" in url
    phone.goto(url)
    phone.locator("#checkin-button").click()
    phone.wait_for_selector("#checkout-button")
    shot(phone, "volunteers-checked-in")
    phone.locator("#checkout-button").click()
    phone.wait_for_url(f"{live_server.url}/volunteers/")
    attendance = Attendance.objects.get()
    assert (attendance.check_in_method, attendance.check_out_method) == ("qr", "qr")

    # The organizer closes the activity: the points are earned.
    leader.goto(f"{live_server.url}/volunteers/staff/activities/{event.pk}/")
    leader.locator("#close-activity").click()
    leader.wait_for_selector("#activity-state")
    assert leader.locator("#activity-state").inner_text() == "已结束"

    phone.reload()
    assert phone.locator("#vol-balance").inner_text() == "30"
    phone.locator("#vol-shop li", has_text="环保袋").locator("button").click()
    phone.wait_for_selector("#vol-orders li")
    assert "环保袋" in phone.locator("#vol-orders").inner_text()
    assert phone.locator("#vol-balance").inner_text() == "10"
    assert Order.objects.get().state == "placed"
    shot(phone, "volunteers-redeemed")

    # The certificate of the year, as a PDF download; its code verifies in public.
    with phone.expect_download() as waiting:
        phone.locator("#certificate-button").click()
    download = waiting.value
    path = download.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    made = Certificate.objects.get()
    assert (made.points, made.activities) == (30, 1)
    assert download.suggested_filename.endswith(f"{made.code}.pdf")
    assert AuditEntry.objects.filter(object_type="volunteers.certificate").count() == 2  # issue, PDF
    phone.goto(f"{live_server.url}/volunteers/certificates/verify/{made.code}/")
    assert phone.locator("#verify-result").inner_text() == "证书有效。"
    assert phone.locator("#verify-points").inner_text() == "30"
    shot(phone, "volunteers-certificate-verified")
    context.close()
