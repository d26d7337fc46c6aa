"""The data scope of every migrants route: staff of grid A never see or act on community B's dormitory,
workers, permits or rentals, and an employer only ever reaches its own workers. Shaped like the services'
scope module so that `core/tests/test_scope.py` includes it."""

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import assert_routes_classified, staff
from gridgov.migrants import dormitories, permits, rentals
from gridgov.migrants.models import AccessCard, Bed, Employment, Permit, Rental, Room, Stay
from gridgov.migrants.tests.conftest import make_site, worker
from gridgov.migrants.tests.test_employers import workbook
from gridgov.population import testing as registry

pytestmark = pytest.mark.django_db

ROUTES = {
    ("GET", "/api/v1/migrants/dormitories"): "scoped",
    ("POST", "/api/v1/migrants/dormitories"): "scoped",
    ("GET", "/api/v1/migrants/dormitories/{dormitory_id}"): "scoped",
    ("POST", "/api/v1/migrants/dormitories/{dormitory_id}/rooms"): "scoped",
    ("GET", "/api/v1/migrants/dormitories/{dormitory_id}/rooms"): "scoped",
    ("PATCH", "/api/v1/migrants/rooms/{room_id}"): "scoped",
    ("GET", "/api/v1/migrants/rooms/{room_id}/beds"): "scoped",
    ("GET", "/api/v1/migrants/dormitories/{dormitory_id}/waiting"): "scoped",
    ("POST", "/api/v1/migrants/dormitories/{dormitory_id}/assign"): "scoped",
    ("POST", "/api/v1/migrants/beds/{bed_id}/check-in"): "scoped",
    ("POST", "/api/v1/migrants/stays/{stay_id}/check-out"): "scoped",
    ("GET", "/api/v1/migrants/dormitories/{dormitory_id}/cards"): "scoped",
    ("POST", "/api/v1/migrants/dormitories/{dormitory_id}/cards"): "scoped",
    ("POST", "/api/v1/migrants/cards/{card_id}/step"): "scoped",
    ("GET", "/api/v1/migrants/employers"): "scoped",
    ("GET", "/api/v1/migrants/employers/{organization_id}/workers"): "scoped",
    ("POST", "/api/v1/migrants/employers/{organization_id}/workers"): "scoped",
    ("GET", "/api/v1/migrants/workers/template"): "an empty workbook: no data",
    ("POST", "/api/v1/migrants/employers/{organization_id}/workers/import"): (
        "a multipart upload: the organization is checked (404) before the file is read, proven below"
    ),
    ("POST", "/api/v1/migrants/employments/{employment_id}/end"): "scoped",
    ("GET", "/api/v1/migrants/permits/due"): "scoped",
    ("GET", "/api/v1/migrants/permits"): "scoped",
    ("POST", "/api/v1/migrants/permits"): "scoped",
    ("POST", "/api/v1/migrants/permits/{permit_id}/issue"): "scoped",
    ("POST", "/api/v1/migrants/permits/{permit_id}/renew"): "scoped",
    ("POST", "/api/v1/migrants/permits/{permit_id}/refuse"): "scoped",
    ("GET", "/api/v1/migrants/rentals"): "scoped",
    ("POST", "/api/v1/migrants/rentals"): "scoped",
    ("PATCH", "/api/v1/migrants/rentals/{rental_id}"): "scoped",
    ("GET", "/api/v1/migrants/rentals/{rental_id}"): "scoped",
    ("POST", "/api/v1/migrants/rentals/{rental_id}/inspections"): "scoped",
    ("POST", "/api/v1/migrants/inspections/{inspection_id}/cases"): "scoped",
    ("GET", "/api/v1/migrants/figures"): "scoped",
}
LIST_PATHS = ("/api/v1/migrants/dormitories", "/api/v1/migrants/permits", "/api/v1/migrants/rentals")
LISTS = {("GET", path) for path in LIST_PATHS} | {
    ("GET", "/api/v1/migrants/employers"),
    ("GET", "/api/v1/migrants/permits/due"),
}


def grid_b_requests(district) -> dict:
    """(method, route) → (verb, url, JSON body or None, status for a grid-A staff member): community B's
    dormitory and its employer's workers, a permit and a rental in grid B."""
    site = make_site(district, 2, 120.525, 31.305)
    person = worker(site, "乙厂工人")
    dormitories.assign_waiting(site.manager, site.dormitory)
    stay = Stay.objects.get(person=person)
    card = dormitories.issue_card(site.manager, site.dormitory, person, "B-1")
    room = Room.objects.filter(dormitory=site.dormitory).first()
    free_bed = Bed.objects.filter(room__dormitory=site.dormitory).exclude(pk=stay.bed_id).first()
    employment = Employment.objects.get(person=person)
    b_keeper = staff(Role.GRID_WORKER, district.grids[3])
    home = registry.household(district.micro_grids[6], house_number="808")
    migrant = registry.person(home, "乙租客", is_migrant=True, arrived_on=registry_date(400))
    permit = permits.apply(b_keeper, migrant)
    rental = rentals.register(b_keeper, home.house)
    inspection = rentals.inspect(
        b_keeper,
        rental,
        results={"fire_safety": "fail", "overcrowding": "pass", "tenants_registered": "pass"},
        tenants_found=1,
    )
    m = "/api/v1/migrants"
    d = f"{m}/dormitories/{site.dormitory.pk}"
    org = f"{m}/employers/{site.employer.pk}"
    new_worker = {"name": "越权", "id_number": registry.id_number(), "started_on": "2026-05-01"}
    return {
        ("POST", f"{m}/dormitories"): (
            "post",
            f"{m}/dormitories",
            {"grid_code": site.grid.code, "name": "越权"},
            404,
        ),
        ("GET", f"{m}/dormitories/{{dormitory_id}}"): ("get", d, None, 404),
        ("POST", f"{m}/dormitories/{{dormitory_id}}/rooms"): (
            "post",
            f"{d}/rooms",
            {"building": "越权", "last_floor": 1, "rooms_per_floor": 1, "capacity": 4},
            404,
        ),
        ("GET", f"{m}/dormitories/{{dormitory_id}}/rooms"): ("get", f"{d}/rooms", None, 404),
        ("PATCH", f"{m}/rooms/{{room_id}}"): ("patch", f"{m}/rooms/{room.pk}", {"capacity": 9}, 404),
        ("GET", f"{m}/rooms/{{room_id}}/beds"): ("get", f"{m}/rooms/{room.pk}/beds", None, 404),
        ("GET", f"{m}/dormitories/{{dormitory_id}}/waiting"): ("get", f"{d}/waiting", None, 404),
        ("POST", f"{m}/dormitories/{{dormitory_id}}/assign"): ("post", f"{d}/assign", {"limit": 5}, 404),
        ("POST", f"{m}/beds/{{bed_id}}/check-in"): (
            "post",
            f"{m}/beds/{free_bed.pk}/check-in",
            {"person_id": person.pk},
            404,
        ),
        ("POST", f"{m}/stays/{{stay_id}}/check-out"): (
            "post",
            f"{m}/stays/{stay.pk}/check-out",
            {"reason": "越权"},
            404,
        ),
        ("GET", f"{m}/dormitories/{{dormitory_id}}/cards"): ("get", f"{d}/cards", None, 404),
        ("POST", f"{m}/dormitories/{{dormitory_id}}/cards"): (
            "post",
            f"{d}/cards",
            {"person_id": person.pk, "number": "B-2"},
            404,
        ),
        ("POST", f"{m}/cards/{{card_id}}/step"): (
            "post",
            f"{m}/cards/{card.pk}/step",
            {"action": "block"},
            404,
        ),
        ("GET", f"{m}/employers/{{organization_id}}/workers"): ("get", f"{org}/workers", None, 404),
        ("POST", f"{m}/employers/{{organization_id}}/workers"): ("post", f"{org}/workers", new_worker, 404),
        ("POST", f"{m}/employments/{{employment_id}}/end"): (
            "post",
            f"{m}/employments/{employment.pk}/end",
            {"reason": "越权"},
            404,
        ),
        ("POST", f"{m}/permits"): ("post", f"{m}/permits", {"person_id": migrant.pk}, 404),
        ("POST", f"{m}/permits/{{permit_id}}/issue"): (
            "post",
            f"{m}/permits/{permit.pk}/issue",
            {"number": "x"},
            404,
        ),
        ("POST", f"{m}/permits/{{permit_id}}/renew"): (
            "post",
            f"{m}/permits/{permit.pk}/renew",
            {"expires_on": "2030-01-01"},
            404,
        ),
        ("POST", f"{m}/permits/{{permit_id}}/refuse"): (
            "post",
            f"{m}/permits/{permit.pk}/refuse",
            {"reason": "越权"},
            404,
        ),
        ("POST", f"{m}/rentals"): ("post", f"{m}/rentals", {"house_id": home.house_id}, 404),
        ("PATCH", f"{m}/rentals/{{rental_id}}"): (
            "patch",
            f"{m}/rentals/{rental.pk}",
            {"interval_days": 30},
            404,
        ),
        ("GET", f"{m}/rentals/{{rental_id}}"): ("get", f"{m}/rentals/{rental.pk}", None, 404),
        ("POST", f"{m}/rentals/{{rental_id}}/inspections"): (
            "post",
            f"{m}/rentals/{rental.pk}/inspections",
            {"results": {}, "tenants_found": 0},
            404,
        ),
        ("POST", f"{m}/inspections/{{inspection_id}}/cases"): (
            "post",
            f"{m}/inspections/{inspection.pk}/cases",
            {"item": "fire_safety"},
            404,
        ),
        ("GET", f"{m}/figures"): ("get", f"{m}/figures?grid={district.grids[3].code}", None, 404),
    }


def site_b_employer(requests) -> int:
    url = requests[("GET", "/api/v1/migrants/employers/{organization_id}/workers")][1]
    return int(url.split("/")[-2])


def registry_date(days_ago: int):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.localdate() - timedelta(days=days_ago)


def test_every_migrants_route_is_classified_and_every_scoped_one_exercised(district):
    assert_routes_classified("/api/v1/migrants", ROUTES, LISTS, grid_b_requests(district))


def _counts():
    return tuple(m.objects.count() for m in (Stay, Employment, AccessCard, Permit, Rental, Room, Bed))


def test_grid_a_staff_and_employers_never_see_or_touch_community_b(district, site_a, client_for):
    requests = grid_b_requests(district)
    before = _counts()
    grid_a, community_a = district.grids[0], district.communities[0]
    for user in (
        staff(Role.GRID_WORKER, grid_a),
        staff(Role.GRID_LEADER, grid_a),
        staff(Role.DISPATCHER, community_a),
        staff(Role.LEADER, community_a),
        site_a.manager,
        site_a.employer_user,
    ):
        client = client_for(user)
        for (method, path), (verb, url, body, status) in requests.items():
            response = getattr(client, verb)(url, body or {}, content_type="application/json")
            assert response.status_code in (status, 403), (user, method, path, response.content)
        upload = client.post(
            f"/api/v1/migrants/employers/{site_b_employer(requests)}/workers/import",
            {"file": workbook([("越权", registry.id_number(), "", "2026-05-01", "", "", "")])},
        )
        assert upload.status_code == 404, (user, upload.content)
        for path in LIST_PATHS:
            names = [str(row) for row in client.get(path).json()["items"]]
            assert "木桥公寓2" not in " ".join(names) and "乙" not in " ".join(names), (user, path)
        assert all(e["name"] != "电子厂2" for e in client.get("/api/v1/migrants/employers").json())
        assert all("乙" not in d["person"]["name"] for d in client.get("/api/v1/migrants/permits/due").json())
    assert _counts() == before
