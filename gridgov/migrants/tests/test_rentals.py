"""Rental houses through the API: put on a schedule, inspected against the checklist (the facts fail
what they must), a failed item taken up as a case in one step, overdue houses listed per grid."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Case
from gridgov.core.testing import staff
from gridgov.migrants.models import Rental
from gridgov.population import testing as registry
from gridgov.population.models import House

pytestmark = pytest.mark.django_db
API = "/api/v1/migrants"
ALL_PASS = {"fire_safety": "pass", "overcrowding": "pass", "tenants_registered": "pass"}


@pytest.fixture
def keeper(district):
    return staff(Role.GRID_WORKER, district.grids[0])


@pytest.fixture
def flat(district):
    """A let flat of 30 m² with two tenants in the registry."""
    home = registry.household(district.micro_grids[0], house_number="502")
    House.objects.filter(pk=home.house_id).update(use=House.Use.RENTED, area_m2=Decimal("30"))
    registry.person(home, "租客甲")
    registry.person(home, "租客乙")
    return House.objects.get(pk=home.house_id)


def schedule(client, house, **fields):
    return client.post(f"{API}/rentals", {"house_id": house.pk, **fields}, content_type="application/json")


def test_a_rental_is_scheduled_and_inspected_on_time(flat, keeper, client_for):
    client = client_for(keeper)
    created = schedule(client, flat, interval_days=60)
    assert created.status_code == 201, created.content
    rental = created.json()
    assert rental["tenants_registered"] == 2 and rental["next_due_on"] == str(timezone.localdate())
    assert schedule(client, flat).status_code == 400  # once per house
    done = client.post(
        f"{API}/rentals/{rental['id']}/inspections",
        {"results": ALL_PASS, "tenants_found": 2},
        content_type="application/json",
    )
    assert done.status_code == 201 and done.json()["passed"] and done.json()["on_time"]
    detail = client.get(f"{API}/rentals/{rental['id']}").json()
    assert detail["next_due_on"] == str(timezone.localdate() + timedelta(days=60))
    assert [i["passed"] for i in detail["inspections"]] == [True]
    assert set(detail["checklist"]) == set(ALL_PASS)


def test_the_facts_fail_overcrowding_and_unregistered_tenants(flat, keeper, client_for):
    client = client_for(keeper)
    rental_id = schedule(client, flat).json()["id"]
    done = client.post(
        f"{API}/rentals/{rental_id}/inspections",
        {"results": ALL_PASS, "tenants_found": 7},
        content_type="application/json",
    ).json()
    assert done["results"] == {"fire_safety": "pass", "overcrowding": "fail", "tenants_registered": "fail"}
    assert done["passed"] is False and "7" in done["notes"]
    # A failed inspection is repeated within 30 days, whatever the interval.
    assert Rental.objects.get(pk=rental_id).next_due_on == timezone.localdate() + timedelta(days=30)


def test_a_failed_item_becomes_a_case_once(flat, keeper, client_for):
    client = client_for(keeper)
    rental_id = schedule(client, flat).json()["id"]
    done = client.post(
        f"{API}/rentals/{rental_id}/inspections",
        {"results": {**ALL_PASS, "fire_safety": "fail"}, "tenants_found": 2, "notes": "楼道堆放杂物"},
        content_type="application/json",
    ).json()
    passed_item = client.post(
        f"{API}/inspections/{done['id']}/cases", {"item": "overcrowding"}, content_type="application/json"
    )
    assert passed_item.status_code == 400
    taken = client.post(
        f"{API}/inspections/{done['id']}/cases", {"item": "fire_safety"}, content_type="application/json"
    )
    assert taken.status_code == 201, taken.content
    case = Case.objects.get(pk=taken.json()["case_id"])
    assert case.category.code == "13001" and case.reporter == keeper and "楼道堆放杂物" in case.description
    assert case.grid.code.startswith(flat.grid.code[:12])
    assert (
        client.post(
            f"{API}/inspections/{done['id']}/cases", {"item": "fire_safety"}, content_type="application/json"
        ).status_code
        == 400
    )
    shown = client.get(f"{API}/rentals/{rental_id}").json()["inspections"][0]["findings"]
    assert shown == [{"item": "fire_safety", "case_id": case.pk, "case_number": case.number}]


def test_a_bad_inspection_is_refused_field_by_field(flat, keeper, client_for):
    client = client_for(keeper)
    rental_id = schedule(client, flat).json()["id"]
    response = client.post(
        f"{API}/rentals/{rental_id}/inspections",
        {
            "results": {"fire_safety": "maybe", "noise": "pass"},
            "tenants_found": -1,
            "done_on": str(timezone.localdate() + timedelta(days=1)),
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert {"results.fire_safety", "results.overcrowding", "results", "tenants_found", "done_on"} <= set(
        response.json()["errors"]
    )


def test_overdue_rentals_are_listed_per_grid_and_a_proxy_lease_names_its_employer(
    flat, keeper, district, client_for
):
    client = client_for(keeper)
    rental_id = schedule(client, flat, first_due_on=str(timezone.localdate() - timedelta(days=5))).json()[
        "id"
    ]
    assert [r["id"] for r in client.get(f"{API}/rentals?overdue=true").json()["items"]] == [rental_id]
    other = registry.household(district.micro_grids[1], house_number="601").house
    employer = registry.organization(district.micro_grids[1], "建筑公司")
    refused = schedule(client, other, scheme="proxy")
    assert refused.status_code == 400 and "lessee_id" in refused.json()["errors"]
    leased = schedule(client, other, scheme="proxy", lessee_id=employer.pk)
    assert leased.json()["lessee"] == "建筑公司"
    other.refresh_from_db()
    assert other.use == House.Use.RENTED
    stranger = client_for(staff(Role.GRID_WORKER, district.grids[3]))
    assert stranger.get(f"{API}/rentals").json()["count"] == 0
    assert stranger.get(f"{API}/rentals/{rental_id}").status_code == 404
