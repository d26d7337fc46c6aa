"""The data scope of every services route: staff of grid A never see or act on grid B's points,
orders, errands or job rows. Shaped like the mediation's scope module so that
`core/tests/test_scope.py` includes it."""

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import assert_routes_classified, staff
from gridgov.population import testing as registry
from gridgov.services import errands, jobs
from gridgov.services.models import ErrandItem, Order
from gridgov.services.tests.conftest import B, point, proxy_point

pytestmark = pytest.mark.django_db

PUBLIC = "public places: name, address and business phone of points, the catalogue"
ROUTES = {
    ("GET", "/api/v1/services/points"): "scoped",
    ("POST", "/api/v1/services/points"): "scoped",
    ("GET", "/api/v1/services/points/near"): PUBLIC,
    ("GET", "/api/v1/services/points/template"): "an empty workbook: no data",
    ("POST", "/api/v1/services/points/import"): "each row's grid is checked against the importer's scope",
    (
        "POST",
        "/api/v1/services/points/import-geojson",
    ): "each row's grid is checked against the importer's scope",
    ("GET", "/api/v1/services/points/{point_id}"): "scoped",
    ("PUT", "/api/v1/services/points/{point_id}"): "scoped",
    ("POST", "/api/v1/services/points/{point_id}/ratings"): PUBLIC + "; a resident's own rating",
    ("GET", "/api/v1/services/orders/offer"): "scoped",
    ("POST", "/api/v1/services/orders"): "scoped",
    ("GET", "/api/v1/services/orders"): "scoped",
    ("GET", "/api/v1/services/orders/figures"): "scoped",
    ("POST", "/api/v1/services/orders/{order_id}/accept"): "scoped",
    ("POST", "/api/v1/services/orders/{order_id}/deliver"): "scoped",
    ("POST", "/api/v1/services/orders/{order_id}/cancel"): "scoped",
    ("GET", "/api/v1/services/errand-items"): PUBLIC,
    ("GET", "/api/v1/services/errand-items/template"): "an empty workbook: no data",
    ("POST", "/api/v1/services/errand-items/import"): "the district's catalogue: administrators only",
    ("GET", "/api/v1/services/proxy-points"): PUBLIC,
    ("POST", "/api/v1/services/errands"): "scoped",
    ("GET", "/api/v1/services/errands"): "scoped",
    ("GET", "/api/v1/services/errands/figures"): "scoped",
    ("GET", "/api/v1/services/errands/{errand_id}"): "scoped",
    ("POST", "/api/v1/services/errands/{errand_id}/actions/{action}"): "scoped",
    ("POST", "/api/v1/services/job-wishes"): "scoped",
    ("GET", "/api/v1/services/job-wishes"): "scoped",
    ("GET", "/api/v1/services/job-wishes/{wish_id}/suggestions"): "scoped",
    ("POST", "/api/v1/services/job-openings"): "scoped",
    ("GET", "/api/v1/services/job-openings"): "scoped",
    ("POST", "/api/v1/services/job-matches"): "scoped",
    ("POST", "/api/v1/services/job-matches/{match_id}/outcome"): "scoped",
    ("GET", "/api/v1/services/jobs/figures"): "scoped",
}
LIST_PATHS = (
    "/api/v1/services/points",
    "/api/v1/services/orders",
    "/api/v1/services/errands",
    "/api/v1/services/job-wishes",
    "/api/v1/services/job-openings",
)
LISTS = {("GET", path) for path in LIST_PATHS} | {("GET", "/api/v1/services/jobs/figures")}


def grid_b_requests(district) -> dict:
    """(method, route) → (verb, url, JSON body or None, status for a grid-A staff member)."""
    b = district.grids[3]
    micro = district.micro_grids[6]
    b_worker = staff(Role.GRID_WORKER, b)
    canteen = point(micro, "乙食堂", *B)
    order = Order.objects.create(
        kind="meal",
        point=canteen,
        grid=micro,
        lat=B[0],
        lon=B[1],
        estimated_minutes=1,
        called_at=timezone.now(),
        taken_by=b_worker,
        caller_phone="13812345678",
    )
    office = proxy_point(b, "乙代办点", b_worker)
    item = ErrandItem.objects.first()
    someone = registry.person(registry.household(micro), "乙居民")
    errand = errands.request(b_worker, office.pk, item.pk, "proxy", person_id=someone.pk)
    wish = jobs.file_wish(b_worker, "保洁", person_id=someone.pk)
    employer = registry.organization(micro, "乙公司")
    opening = jobs.record_opening(b_worker, employer.pk, "保洁员")
    matched = jobs.match(b_worker, wish.pk, opening.pk)
    new_point = {"name": "越权", "kind": "meal", "lat": B[0], "lon": B[1]}
    s = "/api/v1/services"
    return {
        ("POST", f"{s}/points"): ("post", f"{s}/points", new_point, 403),
        ("GET", f"{s}/points/{{point_id}}"): ("get", f"{s}/points/{canteen.pk}", None, 404),
        ("PUT", f"{s}/points/{{point_id}}"): ("put", f"{s}/points/{canteen.pk}", new_point, 404),
        ("GET", f"{s}/orders/offer"): (
            "get",
            f"{s}/orders/offer?kind=meal&person_id={someone.pk}",
            None,
            404,
        ),
        ("POST", f"{s}/orders"): (
            "post",
            f"{s}/orders",
            {"point_id": canteen.pk, "phone": "13812345678", "lat": B[0], "lon": B[1]},
            403,
        ),
        ("GET", f"{s}/orders/figures"): ("get", f"{s}/orders/figures?grid={b.code}", None, 404),
        ("POST", f"{s}/orders/{{order_id}}/accept"): ("post", f"{s}/orders/{order.pk}/accept", None, 404),
        ("POST", f"{s}/orders/{{order_id}}/deliver"): ("post", f"{s}/orders/{order.pk}/deliver", None, 404),
        ("POST", f"{s}/orders/{{order_id}}/cancel"): ("post", f"{s}/orders/{order.pk}/cancel", None, 404),
        ("POST", f"{s}/errands"): (
            "post",
            f"{s}/errands",
            {"proxy_point_id": office.pk, "item_id": item.pk, "kind": "proxy"},
            404,
        ),
        ("GET", f"{s}/errands/figures"): ("get", f"{s}/errands/figures?grid={b.code}", None, 404),
        ("GET", f"{s}/errands/{{errand_id}}"): ("get", f"{s}/errands/{errand.pk}", None, 404),
        ("POST", f"{s}/errands/{{errand_id}}/actions/{{action}}"): (
            "post",
            f"{s}/errands/{errand.pk}/actions/accept",
            {"note": "越权"},
            404,
        ),
        ("POST", f"{s}/job-wishes"): (
            "post",
            f"{s}/job-wishes",
            {"work": "保洁", "person_id": someone.pk},
            404,
        ),
        ("GET", f"{s}/job-wishes/{{wish_id}}/suggestions"): (
            "get",
            f"{s}/job-wishes/{wish.pk}/suggestions",
            None,
            404,
        ),
        ("POST", f"{s}/job-openings"): (
            "post",
            f"{s}/job-openings",
            {"employer_id": employer.pk, "work": "保洁"},
            404,
        ),
        ("POST", f"{s}/job-matches"): (
            "post",
            f"{s}/job-matches",
            {"wish_id": wish.pk, "opening_id": opening.pk},
            404,
        ),
        ("POST", f"{s}/job-matches/{{match_id}}/outcome"): (
            "post",
            f"{s}/job-matches/{matched.pk}/outcome",
            {"hired": True},
            404,
        ),
    }


def test_every_services_route_is_classified_and_every_scoped_one_exercised(district):
    assert_routes_classified("/api/v1/services", ROUTES, LISTS, grid_b_requests(district))


def test_grid_a_staff_never_see_or_touch_grid_b(district, client_for):
    from gridgov.services.models import Errand, ErrandLog, JobMatch, JobOpening, JobWish, ServicePoint

    def counts():
        return tuple(
            m.objects.count() for m in (ServicePoint, Order, Errand, ErrandLog, JobWish, JobOpening, JobMatch)
        )

    requests = grid_b_requests(district)
    before = counts()
    grid_a, community_a = district.grids[0], district.communities[0]
    for user in (
        staff(Role.GRID_WORKER, grid_a),
        staff(Role.GRID_LEADER, grid_a),
        staff(Role.DISPATCHER, community_a),
        staff(Role.LEADER, community_a),
    ):
        client = client_for(user)
        for (method, path), (verb, url, body, status) in requests.items():
            response = getattr(client, verb)(url, body or {}, content_type="application/json")
            assert response.status_code == status, (user, method, path, response.content)
        for path in LIST_PATHS:
            assert client.get(path).json()["count"] == 0, (user, path)
        assert client.get("/api/v1/services/jobs/figures").json() == {
            "wishes": 0,
            "openings": 0,
            "matches": 0,
            "hired": 0,
            "declined": 0,
        }
        assert client.get("/api/v1/services/orders/figures").json() == []
        assert client.get("/api/v1/services/errands/figures").json() == []
    assert counts() == before
