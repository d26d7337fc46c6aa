"""Five failed logins lock the account for the lock window, on every login path."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import LoginFailure, Role
from gridgov.core.testing import PASSWORD, staff

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def token(client, username, password):
    return client.post("/api/v1/auth/token", {"username": username, "password": password},
                       content_type="application/json")


def test_five_failures_lock_the_page_login_and_the_api(district, client):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    for _ in range(5):
        assert login(client, worker.username, "wrong").status_code == 200
    page = login(client, worker.username, PASSWORD)
    assert page.status_code == 200 and "锁定" in page.content.decode()  # the right password, refused
    response = token(client, worker.username, PASSWORD)
    assert response.status_code == 403 and "锁定" in response.json()["detail"]


def test_the_lock_ends_after_the_window_and_a_success_clears_the_count(district, client, settings):
    settings.GRIDGOV_LOGIN_LOCK_MINUTES = 15
    worker = staff(Role.GRID_WORKER, district.grids[0])
    for _ in range(5):
        login(client, worker.username, "wrong")
    LoginFailure.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert login(client, worker.username, PASSWORD).status_code == 302
    assert not LoginFailure.objects.filter(username=worker.username).exists()


def test_four_failures_do_not_lock(district, client):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    for _ in range(4):
        token(client, worker.username, "wrong")
    assert token(client, worker.username, PASSWORD).status_code == 200


def test_the_admin_login_is_locked_too(district, client):
    from gridgov.core.testing import admin_user

    boss = admin_user()
    for _ in range(5):
        client.post("/admin/login/", {"username": boss.username, "password": "wrong"})
    page = client.post("/admin/login/", {"username": boss.username, "password": PASSWORD})
    assert page.status_code == 200 and "锁定" in page.content.decode()
