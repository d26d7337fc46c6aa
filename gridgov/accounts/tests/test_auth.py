"""API authentication as real clients meet it: CSRF enforced, as in production."""

from django.test import Client

from gridgov.accounts.auth import issue_token
from gridgov.accounts.models import Role
from gridgov.core.testing import PASSWORD, staff


def test_a_phone_with_a_token_can_post_without_a_csrf_token(district):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    token = issue_token(worker, "phone")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/cases", {"description": "x"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    # Authenticated: the report itself is refused for its missing fields, not for CSRF.
    assert response.status_code == 400, response.content


def test_a_browser_session_still_needs_the_csrf_token(district):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=worker.username, password=PASSWORD)
    response = client.post("/api/v1/cases", {"description": "x"})
    assert response.status_code == 403


def test_a_wrong_token_is_401_not_a_csrf_error(district):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/cases", {"description": "x"}, HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
