"""Deployment security: Django's deploy checklist, headers on every answer, cookies, the back office."""

import re
import subprocess
import sys

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import PASSWORD, staff

pytestmark = pytest.mark.django_db


def test_check_deploy_is_clean_behind_tls(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gridgov", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True, text=True,
        env={"GRIDGOV_VAR_DIR": str(tmp_path), "PATH": "/usr/bin", "GRIDGOV_HTTPS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_asks_several_servers_to_share_keys_and_queue(tmp_path):
    base = {"GRIDGOV_VAR_DIR": str(tmp_path), "PATH": "/usr/bin", "GRIDGOV_HTTPS": "1",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres"}
    command = [sys.executable, "-m", "gridgov", "check", "--deploy", "--fail-level", "WARNING"]
    alone = subprocess.run(command, capture_output=True, text=True, env=base)
    assert alone.returncode == 1
    assert {"gridgov.W001", "gridgov.W002"} <= set(re.findall(r"gridgov\.W\d+", alone.stdout + alone.stderr))
    shared = {**base, "GRIDGOV_DATA_KEY": "k" * 64, "REDIS_URL": "redis://127.0.0.1:6379/0",
              "GRIDGOV_SECRET_KEY": "gridgov-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"}
    result = subprocess.run(command, capture_output=True, text=True, env=shared)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tls_settings_follow_the_switch(tmp_path):
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0)")
    script = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='gridgov.settings'; "
              f"django.setup(); {code}")
    for switch, expected in (("1", "True True True True"), ("", "False False False False")):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                env={"GRIDGOV_VAR_DIR": str(tmp_path), "GRIDGOV_HTTPS": switch})
        assert result.stdout.strip() == expected, result.stderr


@pytest.mark.parametrize("url", ["/login/", "/api/v1/health", "/admin/login/"])
def test_every_answer_refuses_framing_by_other_sites_and_foreign_scripts(client, url):
    response = client.get(url)
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy
    scripts = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "http" not in scripts and "*" not in scripts
    assert ("'unsafe-inline'" in scripts) == url.startswith("/admin/")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_for_the_policy_to_block(district, client_for):
    page = client_for(staff(Role.LEADER, district.street)).get("/").content.decode()
    assert " onchange=" not in page and " onclick=" not in page
    assert "<script>" not in page


def test_session_cookie_is_httponly_and_samesite(district, client):
    user = staff(Role.GRID_WORKER, district.grids[0])
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_only_staff_reach_the_back_office(district, client):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    response = client.post("/admin/login/", {"username": worker.username, "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error: not staff
    assert client.get("/admin/").status_code == 302
