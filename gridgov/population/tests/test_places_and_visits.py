"""Buildings (民情图), houses, households, organizations, visits and the 10+X survey over HTTP."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from gridgov.cases.models import Case, Category
from gridgov.population import testing as registry
from gridgov.population.models import Building, Household, Organization, Visit, VisitRule
from gridgov.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_a_building_is_placed_in_the_micro_grid_at_its_point(town, client_for):
    lat, lon = registry.point_in(town.district.micro_grids[1])
    response = post(
        client_for(town.worker),
        "/api/v1/registry/buildings",
        {"name": "5幢", "lat": lat, "lon": lon, "floors": 6},
    )
    assert response.status_code == 201, response.content
    assert response.json()["grid"]["code"] == town.district.micro_grids[1].code


def test_a_building_outside_the_district_or_the_workers_grid_is_refused(town, client_for):
    client = client_for(town.worker)
    outside = post(client, "/api/v1/registry/buildings", {"name": "5幢", "lat": 40.0, "lon": 116.4})
    assert outside.status_code == 400 and "location" in outside.json()["errors"]
    lat, lon = registry.point_in(town.district.micro_grids[6])
    assert (
        post(client, "/api/v1/registry/buildings", {"name": "5幢", "lat": lat, "lon": lon}).status_code == 403
    )
    assert Building.objects.count() == 2


def test_houses_and_households_follow_their_building(town, client_for):
    client = client_for(town.worker)
    building = town.home.house.building
    house = post(
        client,
        "/api/v1/registry/houses",
        {
            "building_id": building.pk,
            "unit": "2",
            "floor": 3,
            "number": "302",
            "use": "rented",
            "landlord_name": "陈",
            "landlord_phone": "13900002222",
        },
    )
    assert house.status_code == 201, house.content
    again = post(
        client, "/api/v1/registry/houses", {"building_id": building.pk, "unit": "2", "number": "302"}
    )
    assert again.status_code == 400
    household = post(
        client,
        "/api/v1/registry/households",
        {"house_id": house.json()["id"], "head_name": "租户甲", "kind": "renting"},
    )
    assert household.status_code == 201, household.content
    assert household.json()["grid"]["code"] == building.grid.code


def test_the_building_map_shows_houses_households_members_and_tags(
    town, client_for, django_assert_max_num_queries
):
    client = client_for(town.worker)
    with django_assert_max_num_queries(12):
        body = client.get(f"/api/v1/registry/buildings/{town.home.house.building_id}").json()
    [house] = body["houses"]
    [household] = house["households"]
    members = {m["name"]: m for m in household["members"]}
    assert set(members) == {"王建国", "李秀英"}
    assert members["王建国"]["age"] >= 76
    assert [t["tag"] for t in members["李秀英"]["tags"]] == ["elderly_alone"]  # the sensitive tag is hidden
    assert "id_number" not in members["王建国"]


def test_organizations_with_a_credit_code_and_a_masked_contact(town, client_for):
    client = client_for(town.worker)
    good = registry.credit_code()
    response = post(
        client,
        "/api/v1/registry/organizations",
        {
            "name": "枫桥五金店",
            "kind": "shop",
            "credit_code": good.lower(),
            "building_id": town.home.house.building_id,
            "contact_phone": "13912345678",
            "employee_count": 3,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["credit_code"] == good and body["contact_phone"] == "139****5678"
    assert body["grid"]["code"] == town.home.grid.code
    bad = post(
        client,
        "/api/v1/registry/organizations",
        {"name": "某店", "credit_code": good[:-1] + "0", "grid_code": town.home.grid.code},
    )
    if good[-1] == "0":
        bad = post(
            client,
            "/api/v1/registry/organizations",
            {"name": "某店", "credit_code": good[:-1] + "1", "grid_code": town.home.grid.code},
        )
    assert bad.status_code == 400 and "credit_code" in bad.json()["errors"]
    duplicate = post(
        client,
        "/api/v1/registry/organizations",
        {"name": "又一家", "credit_code": good, "grid_code": town.home.grid.code},
    )
    assert duplicate.status_code == 400
    revealed = post(
        client,
        f"/api/v1/registry/organizations/{body['id']}/reveal",
        {"field": "contact_phone", "reason": "联系店主整改"},
    )
    assert revealed.json()["value"] == "13912345678"
    assert AuditEntry.objects.filter(object_type="population.organization").count() == 1
    assert Organization.objects.visible_to(town.worker).count() == 1


def test_a_visit_is_recorded_once_per_client_key_and_moves_the_household_out_of_due(town, client_for):
    client = client_for(town.worker)
    due = client.get("/api/v1/registry/visits/due").json()
    assert [d["household"]["id"] for d in due] == [town.home.pk]
    assert due[0]["overdue"] and due[0]["interval_days"] == 7  # an elder living alone: weekly
    body = {
        "household_id": town.home.pk,
        "visited_on": str(timezone.localdate()),
        "met": "王建国",
        "notes": "老人身体尚好",
        "client_key": "phone-1-visit-9",
    }
    first, second = (
        post(client, "/api/v1/registry/visits", body),
        post(client, "/api/v1/registry/visits", body),
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and Visit.objects.count() == 1
    assert client.get("/api/v1/registry/visits/due?days=6").json() == []
    [soon] = client.get("/api/v1/registry/visits/due").json()  # due within a week
    assert soon["due_on"] == str(timezone.localdate() + timedelta(days=7)) and not soon["overdue"]


def test_visit_input_is_checked(town, client_for):
    client = client_for(town.worker)
    tomorrow = str(timezone.localdate() + timedelta(days=1))
    response = post(client, "/api/v1/registry/visits", {"household_id": town.home.pk, "visited_on": tomorrow})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"visited_on", "notes"}


def test_visit_rules_are_configurable(town):
    from gridgov.population.visits import due_list

    VisitRule.objects.filter(tag_type__code="elderly_alone").update(interval_days=14)
    Household.objects.filter(pk=town.home.pk).update(last_visited_on=date.today() - timedelta(days=10))
    assert due_list(town.worker, horizon_days=0) == []
    [item] = due_list(town.worker, horizon_days=4)
    assert item.interval_days == 14 and not item.overdue


def test_coverage_per_grid(town, client_for):
    registry.household(town.district.micro_grids[1], head_name="孙")
    Household.objects.filter(pk=town.home.pk).update(last_visited_on=timezone.localdate())
    rows = client_for(town.leader).get("/api/v1/registry/visits/coverage").json()
    by_grid = {r["grid_code"]: r for r in rows}
    assert by_grid[town.district.micro_grids[0].code]["share"] == 1.0
    assert by_grid[town.district.micro_grids[1].code]["covered"] == 0
    assert by_grid[town.district.micro_grids[6].code]["households"] == 1


def test_a_need_found_on_a_visit_becomes_a_case_in_one_step(town, client_for):
    client = client_for(town.worker)
    visit = post(
        client,
        "/api/v1/registry/visits",
        {
            "household_id": town.home.pk,
            "visited_on": str(timezone.localdate()),
            "needs": "楼道灯坏了，老人晚上出门不便",
        },
    ).json()
    category = Category.objects.get(code="06010", kind="matter")
    response = post(client, f"/api/v1/registry/visits/{visit['id']}/case", {"category_id": category.pk})
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=response.json()["case_id"])
    assert case.description == "楼道灯坏了，老人晚上出门不便"
    assert case.grid == town.home.grid and case.reporter == town.worker
    again = post(client, f"/api/v1/registry/visits/{visit['id']}/case", {"category_id": category.pk})
    assert again.json()["case_id"] == case.pk and Case.objects.count() == 1


def test_the_building_head_confirms_the_ten_figures_and_reports_a_hazard(town, client_for):
    head = client_for(town.building_head)
    building = town.home.house.building
    survey = head.get(f"/api/v1/registry/buildings/{building.pk}/survey").json()
    figures = {f["key"]: f for f in survey["figures"]}
    assert len(figures) == 10
    assert (figures["households"]["value"], figures["actual"]["value"], figures["elderly"]["value"]) == (
        1,
        2,
        1,
    )
    assert figures["care"]["value"] == 1 and figures["households"]["confirmed"] is None
    confirmed = post(
        head, f"/api/v1/registry/buildings/{building.pk}/survey/confirm", {"note": "已核对"}
    ).json()
    assert {f["key"]: f["confirmed"] for f in confirmed["figures"]}["actual"] == 2
    item = post(
        head,
        f"/api/v1/registry/buildings/{building.pk}/survey/items",
        {"kind": "hazard", "text": "楼道堆放杂物"},
    )
    assert item.status_code == 201
    # The building head sees the figures, not the people.
    assert head.get(f"/api/v1/registry/buildings/{building.pk}").status_code == 404
    other = town.other_home.house.building
    assert head.get(f"/api/v1/registry/buildings/{other.pk}/survey").status_code == 404
    category = Category.objects.get(code="06010", kind="matter")
    case = post(
        client_for(town.worker),
        f"/api/v1/registry/survey-items/{item.json()['id']}/case",
        {"category_id": category.pk},
    )
    assert case.status_code == 200 and Case.objects.get().description == "楼道堆放杂物"
