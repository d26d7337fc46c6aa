"""Staff passwords (等保 2.0 level 3): kinds of character, no reuse, an age limit, and the change page."""

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridgov.accounts.models import PasswordHistory, Role, User
from gridgov.core.testing import PASSWORD, staff

pytestmark = pytest.mark.django_db


def change(client, old, new):
    return client.post("/account/password/", {"old_password": old, "new_password1": new,
                                              "new_password2": new})


@pytest.mark.parametrize("weak", ["abcdefgh", "abcd1234", "ABCDEFG1", "Ab1!"])
def test_weak_passwords_are_refused(weak):
    with pytest.raises(ValidationError):
        validate_password(weak)


@pytest.mark.parametrize("good", ["grid-work-2026", "Gridwork2026", "网格Work#1"])
def test_three_kinds_of_character_are_enough(good):
    validate_password(good)


def test_a_recent_password_cannot_come_back(district, client_for):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    client = client_for(worker)
    passwords = [PASSWORD] + [f"new-pass-{n}X" for n in range(6)]
    for old, new in zip(passwords, passwords[1:], strict=False):
        assert change(client, old, new).status_code == 302
    again = change(client, passwords[-1], passwords[-2])
    assert again.status_code == 200 and "不能重复使用" in again.content.decode()
    assert change(client, passwords[-1], PASSWORD).status_code == 302  # six changes ago: allowed
    assert PasswordHistory.objects.filter(user=worker).count() == 5


def test_an_expired_password_must_be_changed_first(district, client_for, client, settings):
    settings.GRIDGOV_PASSWORD_MAX_AGE_DAYS = 90
    worker = staff(Role.GRID_WORKER, district.grids[0])
    User.objects.filter(pk=worker.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    browser = client_for(User.objects.get(pk=worker.pk))
    response = browser.get("/")
    assert response.status_code == 302 and response["Location"] == "/account/password/"
    assert "90" in browser.get("/account/password/").content.decode()
    assert browser.get("/api/v1/me").status_code == 403
    token = client.post("/api/v1/auth/token", {"username": worker.username, "password": PASSWORD},
                        content_type="application/json")
    assert token.status_code == 403 and "90" in token.json()["detail"]
    assert change(browser, PASSWORD, "fresh-pass-2026").status_code == 302
    assert browser.get("/").status_code == 200


def test_expiry_can_be_switched_off_and_residents_have_no_password_to_expire(district, client_for, settings):
    old = timezone.now() - timedelta(days=400)
    worker = staff(Role.GRID_WORKER, district.grids[0])
    resident = staff(Role.RESIDENT, district.grids[0])
    resident.set_unusable_password()
    resident.save()
    User.objects.update(password_changed_at=old, date_joined=old)
    assert client_for(User.objects.get(pk=resident.pk)).get("/resident/").status_code == 200
    settings.GRIDGOV_PASSWORD_MAX_AGE_DAYS = 0
    assert client_for(User.objects.get(pk=worker.pk)).get("/").status_code == 200
