"""The data scope of every insights route: staff of grid A never see or act on grid B's warnings.
Shaped like the services' scope module so that `core/tests/test_scope.py` includes it."""

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import assert_routes_classified, staff
from gridgov.insights.models import EarlyWarning, WarningLog

pytestmark = pytest.mark.django_db

ROUTES = {
    ("GET", "/api/v1/insights/warnings"): "scoped",
    ("GET", "/api/v1/insights/warnings/{warning_id}"): "scoped",
    ("POST", "/api/v1/insights/warnings/{warning_id}/steps/{name}"): "scoped",
    ("GET", "/api/v1/insights/warnings/{warning_id}/candidates"): "scoped",
    ("GET", "/api/v1/insights/screen"): "scoped",
    (
        "POST",
        "/api/v1/insights/runs",
    ): "the analysis of the whole district; what it finds is read through the "
    "scoped routes (readers of warnings only)",
    ("GET", "/api/v1/insights/runs"): "when the analysis ran and how many of each kind: no row of any grid",
}
LIST_PATHS = ("/api/v1/insights/warnings",)
LISTS = {("GET", path) for path in LIST_PATHS}


def grid_b_requests(district) -> dict:
    """(method, route) → (verb, url, body, status for a grid-A grid worker: 403, warnings are not theirs
    to read; the leaders and dispatchers of grid A get 404)."""
    now = timezone.now()
    hotspot = EarlyWarning.objects.create(
        kind=EarlyWarning.Kind.HOTSPOT,
        key="b:1",
        source=EarlyWarning.Source.CASES,
        grid=district.micro_grids[6],
        title="乙网格热点",
        first_seen_at=now,
        last_seen_at=now,
    )
    i = "/api/v1/insights"
    return {
        ("GET", f"{i}/warnings/{{warning_id}}"): ("get", f"{i}/warnings/{hotspot.pk}", None, 403),
        ("POST", f"{i}/warnings/{{warning_id}}/steps/{{name}}"): (
            "post",
            f"{i}/warnings/{hotspot.pk}/steps/dismiss",
            {"note": "越权"},
            403,
        ),
        ("GET", f"{i}/warnings/{{warning_id}}/candidates"): (
            "get",
            f"{i}/warnings/{hotspot.pk}/candidates",
            None,
            403,
        ),
        # The panel of another area's grid: a 404 for those who read warnings.
        ("GET", f"{i}/screen"): ("get", f"{i}/screen?grid={district.communities[1].code}", None, 403),
    }


def test_every_insights_route_is_classified_and_every_scoped_one_exercised(district):
    assert_routes_classified("/api/v1/insights", ROUTES, LISTS, grid_b_requests(district))


def test_grid_a_staff_never_see_or_touch_grid_b(district, client_for):
    requests = grid_b_requests(district)
    grid_a, community_a = district.grids[0], district.communities[0]
    for user in (
        staff(Role.GRID_LEADER, grid_a),
        staff(Role.DISPATCHER, community_a),
        staff(Role.LEADER, community_a),
        staff(Role.GRID_WORKER, grid_a),
    ):
        client = client_for(user)
        for (method, path), (verb, url, body, status) in requests.items():
            response = getattr(client, verb)(url, body or {}, content_type="application/json")
            assert response.status_code in (status, 404), (user, method, path, response.content)
        listed = client.get("/api/v1/insights/warnings")
        assert listed.status_code == 403 or listed.json()["count"] == 0
    assert EarlyWarning.objects.get().state == EarlyWarning.State.NEW and not WarningLog.objects.exists()


def test_the_candidates_and_the_panel_of_another_area_are_not_found(district, client_for):
    """A leader of community A reads warnings, so grid B's are a 404 to them (not a 403), and their
    panel never counts grid B's warnings."""
    requests = grid_b_requests(district)
    leader = client_for(staff(Role.LEADER, district.communities[0]))
    for key in (
        ("GET", "/api/v1/insights/warnings/{warning_id}/candidates"),
        ("GET", "/api/v1/insights/screen"),
    ):
        verb, url, _body, _status = requests[key]
        assert getattr(leader, verb)(url).status_code == 404, key
    panel = leader.get("/api/v1/insights/screen").json()
    assert panel["totals"]["open"] == 0 and panel["hotspots"] == []
