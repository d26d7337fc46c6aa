"""The data scope of every volunteer route: people of grid A never see or touch grid B's rows.

`grid_b_requests` builds one request per route that names an object (or grid) of grid B; it is
shaped like `core/tests/test_scope.py::scoped_requests` so that test can include it.
"""

import pytest
from django.utils import timezone

from gridgov.accounts.models import Assignment, Role
from gridgov.core.testing import assert_routes_classified, staff
from gridgov.population import testing as registry
from gridgov.volunteers import certificate, services
from gridgov.volunteers.models import ShopItem
from gridgov.volunteers.tests.conftest import activity, volunteer

pytestmark = pytest.mark.django_db

ROUTES = {
    ("GET", "/api/v1/volunteers/me"): "own account only",
    (
        "POST",
        "/api/v1/volunteers/apply",
    ): "own account only: residents apply for themselves (grids are public)",
    ("GET", "/api/v1/volunteers"): "scoped",
    ("GET", "/api/v1/volunteers/{volunteer_id}"): "scoped",
    ("POST", "/api/v1/volunteers/{volunteer_id}/decide"): "scoped",
    ("GET", "/api/v1/volunteers/me/points"): "own account only",
    ("GET", "/api/v1/volunteers/{volunteer_id}/points"): "scoped",
    ("POST", "/api/v1/volunteers/{volunteer_id}/points"): "scoped",
    ("GET", "/api/v1/volunteers/teams"): "scoped",
    ("POST", "/api/v1/volunteers/teams"): "scoped",
    ("POST", "/api/v1/volunteers/teams/{team_id}/members"): "scoped",
    ("POST", "/api/v1/volunteers/teams/{team_id}/members/{volunteer_id}/remove"): "scoped",
    ("POST", "/api/v1/volunteers/teams/{team_id}/leader"): "scoped",
    ("GET", "/api/v1/volunteers/figures"): "scoped",
    ("PATCH", "/api/v1/volunteers/activities/{activity_id}"): "scoped",
    ("POST", "/api/v1/volunteers/activities/{activity_id}/cancel-activity"): "scoped",
    ("POST", "/api/v1/volunteers/activities"): "scoped",
    ("GET", "/api/v1/volunteers/activities"): "scoped",
    (
        "GET",
        "/api/v1/volunteers/me/activities",
    ): "own account only: activities on the volunteer's line of the tree",
    ("GET", "/api/v1/volunteers/activities/{activity_id}"): "scoped",
    ("GET", "/api/v1/volunteers/activities/{activity_id}/signups"): "scoped",
    ("POST", "/api/v1/volunteers/activities/{activity_id}/signup"): "scoped",
    ("POST", "/api/v1/volunteers/activities/{activity_id}/cancel"): "scoped",
    ("GET", "/api/v1/volunteers/activities/{activity_id}/qr"): "scoped",
    ("POST", "/api/v1/volunteers/activities/{activity_id}/check-in"): "scoped",
    ("POST", "/api/v1/volunteers/activities/{activity_id}/check-out"): "scoped",
    ("POST", "/api/v1/volunteers/activities/{activity_id}/attendance/{volunteer_id}"): "scoped",
    ("POST", "/api/v1/volunteers/activities/{activity_id}/close"): "scoped",
    ("GET", "/api/v1/volunteers/shop/items"): "scoped",
    ("POST", "/api/v1/volunteers/shop/items"): "scoped",
    ("GET", "/api/v1/volunteers/me/shop"): "own account only: items on the volunteer's line of the tree",
    ("POST", "/api/v1/volunteers/orders"): "scoped",
    ("GET", "/api/v1/volunteers/me/orders"): "own account only",
    ("GET", "/api/v1/volunteers/orders"): "scoped",
    ("POST", "/api/v1/volunteers/orders/{order_id}/cancel"): "scoped",
    ("POST", "/api/v1/volunteers/orders/{order_id}/fulfil"): "scoped",
    ("POST", "/api/v1/volunteers/groups"): "scoped",
    ("GET", "/api/v1/volunteers/groups"): "scoped",
    (
        "GET",
        "/api/v1/volunteers/me/groups",
    ): "own account only: the volunteer's groups and the open ones on their line of the tree",
    ("GET", "/api/v1/volunteers/groups/{group_id}"): "scoped",
    ("POST", "/api/v1/volunteers/groups/{group_id}/join"): "scoped",
    ("POST", "/api/v1/volunteers/groups/{group_id}/leave"): "scoped",
    ("POST", "/api/v1/volunteers/groups/{group_id}/close"): "scoped",
    ("GET", "/api/v1/volunteers/groups/{group_id}/members"): "scoped",
    ("GET", "/api/v1/volunteers/groups/{group_id}/notices"): "scoped",
    ("POST", "/api/v1/volunteers/groups/{group_id}/notices"): "scoped",
    ("POST", "/api/v1/volunteers/me/certificates"): "own account only: a volunteer's own certificate",
    ("GET", "/api/v1/volunteers/me/certificates"): "own account only",
    ("GET", "/api/v1/volunteers/certificates/{certificate_id}/pdf"): "scoped",
    ("POST", "/api/v1/volunteers/certificates/{certificate_id}/revoke"): "scoped",
    ("POST", "/api/v1/volunteers/{volunteer_id}/certificates"): "scoped",
    ("GET", "/api/v1/volunteers/{volunteer_id}/certificates"): "scoped",
}
# Lists: proven by their contents below.
LISTS = {
    ("GET", "/api/v1/volunteers"),
    ("GET", "/api/v1/volunteers/teams"),
    ("GET", "/api/v1/volunteers/activities"),
    ("GET", "/api/v1/volunteers/shop/items"),
    ("GET", "/api/v1/volunteers/orders"),
    ("GET", "/api/v1/volunteers/groups"),
}


def grid_b_requests(district) -> dict:
    """(method, route) → (verb, url, JSON body or None, status for a grid-A volunteer manager)."""
    b = district.grids[3]
    # A grid has one grid leader: the one the caller made for grid B, if any.
    held = Assignment.objects.filter(role=Role.GRID_LEADER, grid=b, is_active=True).first()
    leader_b = held.user if held else staff(Role.GRID_LEADER, b)
    someone = volunteer(b, leader_b, name="乙志愿者")
    services.adjust_points(leader_b, someone.pk, amount=100, reason="启动积分")
    event = activity(leader_b, b, lat=31.31, lon=120.53)
    services.sign_up(someone.user, event.pk)
    org = registry.organization(district.micro_grids[6], "乙网格物业")
    team = services.create_team(leader_b, organization_id=org.pk, leader_id=someone.pk)
    gift = ShopItem.objects.create(name="乙网格礼品", price=10, stock=5, pickup_point="乙驿站", grid=b)
    order = services.place_order(someone.user, gift.pk)
    club = services.create_group(leader_b, grid_code=b.code, name="乙网格书法小组")
    services.join_group(someone.user, club.pk)
    services.post_group_notice(leader_b, club.pk, "周六练字")
    paper, _new = certificate.issue(leader_b, year=timezone.localdate().year, volunteer_id=someone.pk)
    v, a = f"/api/v1/volunteers/{someone.pk}", f"/api/v1/volunteers/activities/{event.pk}"
    g, c = f"/api/v1/volunteers/groups/{club.pk}", f"/api/v1/volunteers/certificates/{paper.pk}"
    year = {"year": timezone.localdate().year}
    return {
        ("GET", "/api/v1/volunteers/{volunteer_id}"): ("get", v, None, 404),
        ("POST", "/api/v1/volunteers/{volunteer_id}/decide"): (
            "post",
            f"{v}/decide",
            {"action": "suspend", "reason": "越权"},
            404,
        ),
        ("GET", "/api/v1/volunteers/{volunteer_id}/points"): ("get", f"{v}/points", None, 404),
        ("POST", "/api/v1/volunteers/{volunteer_id}/points"): (
            "post",
            f"{v}/points",
            {"amount": 5, "reason": "越权"},
            404,
        ),
        # An organization of grid B: the registry keeps it out of sight (404).
        ("POST", "/api/v1/volunteers/teams"): (
            "post",
            "/api/v1/volunteers/teams",
            {"organization_id": org.pk, "leader_id": someone.pk},
            404,
        ),
        ("POST", "/api/v1/volunteers/teams/{team_id}/members"): (
            "post",
            f"/api/v1/volunteers/teams/{team.pk}/members",
            {"volunteer_id": someone.pk},
            404,
        ),
        ("POST", "/api/v1/volunteers/teams/{team_id}/members/{volunteer_id}/remove"): (
            "post",
            f"/api/v1/volunteers/teams/{team.pk}/members/{someone.pk}/remove",
            {"reason": "越权"},
            404,
        ),
        ("POST", "/api/v1/volunteers/teams/{team_id}/leader"): (
            "post",
            f"/api/v1/volunteers/teams/{team.pk}/leader",
            {"leader_id": someone.pk},
            404,
        ),
        ("GET", "/api/v1/volunteers/figures"): (
            "get",
            f"/api/v1/volunteers/figures?grid={b.code}",
            None,
            404,
        ),
        ("PATCH", "/api/v1/volunteers/activities/{activity_id}"): ("patch", a, {"title": "越权"}, 404),
        ("POST", "/api/v1/volunteers/activities/{activity_id}/cancel-activity"): (
            "post",
            f"{a}/cancel-activity",
            {"reason": "越权"},
            404,
        ),
        # Publishing to grid B: the grid is public, publishing there is not (403).
        ("POST", "/api/v1/volunteers/activities"): (
            "post",
            "/api/v1/volunteers/activities",
            {
                "grid_code": b.code,
                "title": "越权活动",
                "kind": "other",
                "lat": 31.31,
                "lon": 120.53,
                "starts_at": event.starts_at.isoformat(),
                "ends_at": event.ends_at.isoformat(),
                "quota": 1,
                "points_rule": "fixed",
                "points": 1,
            },
            403,
        ),
        ("GET", "/api/v1/volunteers/activities/{activity_id}"): ("get", a, None, 404),
        ("GET", "/api/v1/volunteers/activities/{activity_id}/signups"): ("get", f"{a}/signups", None, 404),
        ("POST", "/api/v1/volunteers/activities/{activity_id}/signup"): ("post", f"{a}/signup", None, 403),
        ("POST", "/api/v1/volunteers/activities/{activity_id}/cancel"): ("post", f"{a}/cancel", None, 404),
        ("GET", "/api/v1/volunteers/activities/{activity_id}/qr"): ("get", f"{a}/qr", None, 404),
        ("POST", "/api/v1/volunteers/activities/{activity_id}/check-in"): (
            "post",
            f"{a}/check-in",
            {"lat": 31.31, "lon": 120.53},
            403,
        ),
        ("POST", "/api/v1/volunteers/activities/{activity_id}/check-out"): (
            "post",
            f"{a}/check-out",
            {"lat": 31.31, "lon": 120.53},
            403,
        ),
        ("POST", "/api/v1/volunteers/activities/{activity_id}/attendance/{volunteer_id}"): (
            "post",
            f"{a}/attendance/{someone.pk}",
            {"checked_in_at": event.starts_at.isoformat(), "reason": "越权"},
            404,
        ),
        ("POST", "/api/v1/volunteers/activities/{activity_id}/close"): ("post", f"{a}/close", None, 404),
        ("POST", "/api/v1/volunteers/shop/items"): (
            "post",
            "/api/v1/volunteers/shop/items",
            {"name": "越权", "price": 1, "stock": 1, "pickup_point": "乙驿站", "grid_code": b.code},
            403,
        ),
        ("POST", "/api/v1/volunteers/orders"): (
            "post",
            "/api/v1/volunteers/orders",
            {"item_id": gift.pk},
            403,
        ),
        ("POST", "/api/v1/volunteers/orders/{order_id}/cancel"): (
            "post",
            f"/api/v1/volunteers/orders/{order.pk}/cancel",
            {"reason": "越权"},
            404,
        ),
        ("POST", "/api/v1/volunteers/orders/{order_id}/fulfil"): (
            "post",
            f"/api/v1/volunteers/orders/{order.pk}/fulfil",
            None,
            404,
        ),
        # Setting up a group in grid B: the grid is public, managing it is not (403).
        ("POST", "/api/v1/volunteers/groups"): (
            "post",
            "/api/v1/volunteers/groups",
            {"grid_code": b.code, "name": "越权小组"},
            403,
        ),
        ("GET", "/api/v1/volunteers/groups/{group_id}"): ("get", g, None, 404),
        # Joining is for approved volunteers (403 for staff who are not one).
        ("POST", "/api/v1/volunteers/groups/{group_id}/join"): ("post", f"{g}/join", None, 403),
        ("POST", "/api/v1/volunteers/groups/{group_id}/leave"): ("post", f"{g}/leave", None, 404),
        ("POST", "/api/v1/volunteers/groups/{group_id}/close"): ("post", f"{g}/close", None, 404),
        ("GET", "/api/v1/volunteers/groups/{group_id}/members"): ("get", f"{g}/members", None, 404),
        ("GET", "/api/v1/volunteers/groups/{group_id}/notices"): ("get", f"{g}/notices", None, 404),
        ("POST", "/api/v1/volunteers/groups/{group_id}/notices"): (
            "post",
            f"{g}/notices",
            {"text": "越权"},
            404,
        ),
        ("GET", "/api/v1/volunteers/certificates/{certificate_id}/pdf"): ("get", f"{c}/pdf", None, 404),
        ("POST", "/api/v1/volunteers/certificates/{certificate_id}/revoke"): (
            "post",
            f"{c}/revoke",
            {"reason": "越权"},
            404,
        ),
        ("POST", "/api/v1/volunteers/{volunteer_id}/certificates"): ("post", f"{v}/certificates", year, 404),
        ("GET", "/api/v1/volunteers/{volunteer_id}/certificates"): ("get", f"{v}/certificates", None, 404),
    }


def send(client, verb, url, body):
    if body is None:
        return getattr(client, verb)(url)
    return getattr(client, verb)(url, body, content_type="application/json")


def test_every_volunteer_route_is_classified_and_every_scoped_one_exercised(district):
    assert_routes_classified("/api/v1/volunteers", ROUTES, LISTS, grid_b_requests(district))


def _row_counts() -> dict[str, int]:
    from django.apps import apps

    return {m._meta.label: m._default_manager.count() for m in apps.get_app_config("volunteers").get_models()}


def test_a_grid_a_volunteer_manager_never_sees_or_acts_on_grid_b(district, client_for):
    requests = grid_b_requests(district)
    client = client_for(staff(Role.GRID_LEADER, district.grids[0]))
    before = _row_counts()
    for key, (verb, url, body, expected) in requests.items():
        response = send(client, verb, url, body)
        # Volunteer-only routes refuse staff who are not volunteers (403); the rest are 404/403 above.
        assert response.status_code == expected, (key, response.content)
    assert _row_counts() == before
    for path in ("", "/teams", "/activities", "/shop/items", "/orders", "/groups"):
        assert client.get(f"/api/v1/volunteers{path}").json()["count"] == 0, path


@pytest.mark.parametrize(
    "who",
    [
        "grid worker of grid A",
        "community 1 leader",
        "approved volunteer of grid A",
        "resident of grid A",
        "auditor",
    ],
)
def test_nobody_outside_grid_b_writes_there(district, client_for, who):
    requests = grid_b_requests(district)
    makers = {
        "grid worker of grid A": lambda: staff(Role.GRID_WORKER, district.grids[0]),
        "community 1 leader": lambda: staff(Role.LEADER, district.communities[0]),
        "approved volunteer of grid A": lambda: (
            volunteer(district.grids[0], staff(Role.GRID_LEADER, district.grids[0])).user
        ),
        "resident of grid A": lambda: staff(Role.RESIDENT, district.grids[0]),
        "auditor": lambda: staff(Role.AUDITOR),
    }
    client = client_for(makers[who]())
    before = _row_counts()
    for key, (verb, url, body, _expected) in requests.items():
        response = send(client, verb, url, body)
        if who == "auditor" and verb == "get":
            continue  # auditors read everything
        assert response.status_code in (403, 404), (who, key, response.status_code, response.content)
    assert _row_counts() == before, who
