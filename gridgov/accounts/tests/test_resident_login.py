"""Residents log in with phone + texted code: codes expire, are tried 5 times, are rate-limited."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from gridgov.accounts import otp
from gridgov.accounts.models import OneTimeCode, Role
from gridgov.core.testing import staff

pytestmark = pytest.mark.django_db
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def outbox(sms_outbox):
    return sms_outbox


def last_code(outbox) -> str:
    return re.search(r"\d{6}", outbox[-1][1]).group()


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_a_new_phone_becomes_a_resident_with_a_token(client, outbox):
    assert post(client, "/api/v1/auth/sms-code", {"phone": "+86 139-1234-5678"}).json() == {"sent": True}
    assert outbox[0][0] == PHONE and "验证码" in outbox[0][1]
    response = post(client, "/api/v1/auth/sms-login", {"phone": PHONE, "code": last_code(outbox)})
    token = response.json()["token"]
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [a["role"] for a in me["assignments"]] == [Role.RESIDENT]
    again = post(client, "/api/v1/auth/sms-login", {"phone": PHONE, "code": last_code(outbox)})
    assert again.status_code == 400  # a code works once


def test_no_plaintext_code_or_phone_is_stored(client, outbox):
    post(client, "/api/v1/auth/sms-code", {"phone": PHONE})
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone_hash, code_hash FROM accounts_onetimecode")
        stored = " ".join(cursor.fetchone())
    assert PHONE not in stored and last_code(outbox) not in stored


def test_five_wrong_tries_spend_the_code(client, outbox):
    otp.request_code(PHONE)
    for _ in range(5):
        assert post(client, "/api/v1/auth/sms-login", {"phone": PHONE, "code": "000000x"}).status_code == 400
    right = post(client, "/api/v1/auth/sms-login", {"phone": PHONE, "code": last_code(outbox)})
    assert right.status_code == 400


def test_codes_expire(client, outbox):
    otp.request_code(PHONE)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(client, "/api/v1/auth/sms-login", {"phone": PHONE, "code": last_code(outbox)})
    assert response.status_code == 400 and "过期" in response.json()["errors"]["code"][0]


def test_rate_limits(client):
    assert post(client, "/api/v1/auth/sms-code", {"phone": PHONE}).status_code == 200
    assert post(client, "/api/v1/auth/sms-code", {"phone": PHONE}).status_code == 403  # within a minute
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    for _ in range(4):
        OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        assert post(client, "/api/v1/auth/sms-code", {"phone": PHONE}).status_code == 200
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    assert post(client, "/api/v1/auth/sms-code", {"phone": PHONE}).status_code == 403  # 5 an hour


def test_a_bad_phone_is_a_400(client):
    response = post(client, "/api/v1/auth/sms-code", {"phone": "12345"})
    assert response.status_code == 400 and "phone" in response.json()["errors"]


def test_a_staff_phone_cannot_log_in_by_text(district, client, outbox):
    staff(Role.GRID_WORKER, district.grids[0], phone=PHONE)
    otp.request_code(PHONE)
    response = post(client, "/api/v1/auth/sms-login", {"phone": PHONE, "code": last_code(outbox)})
    assert response.status_code == 403


def test_the_login_page(client, outbox):
    page = client.post("/resident/login/", {"phone": PHONE, "action": "send"}).content.decode()
    assert 'name="code"' in page
    response = client.post("/resident/login/", {"phone": PHONE, "action": "login", "code": last_code(outbox)})
    assert response.status_code == 302
    assert client.get("/api/v1/me").json()["assignments"][0]["role"] == Role.RESIDENT


class RefusingGateway:
    """A gateway that refuses the number, as Alibaba does with isv.MOBILE_NUMBER_ILLEGAL."""

    def send(self, phone: str, text: str) -> str:
        from gridgov.accounts.sms import SmsError

        raise SmsError("isv.MOBILE_NUMBER_ILLEGAL", retryable=False)


def test_a_gateway_refusal_is_a_400_on_the_phone_field(client, settings):
    settings.GRIDGOV_SMS_BACKEND = f"{__name__}.RefusingGateway"
    response = post(client, "/api/v1/auth/sms-code", {"phone": PHONE})
    assert response.status_code == 400
    assert "isv.MOBILE_NUMBER_ILLEGAL" in response.json()["errors"]["phone"][0]
