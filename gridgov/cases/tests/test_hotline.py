"""The hotline desk through the HTTP API: caller history, addresses said on the phone, duplicates
before registering, and the call registered (and dispatched) in one all-or-nothing step."""

import pytest

from gridgov.cases import hotline
from gridgov.cases.models import Case
from gridgov.cases.tests.conftest import POINT
from gridgov.population.models import Compound
from gridgov.population.testing import building

pytestmark = pytest.mark.django_db
PHONE = "13800138000"


@pytest.fixture
def compound(world):
    place = Compound.objects.create(name="惠丰花园", grid=world.grid)
    building(world.grid, "3幢", compound=place)
    building(world.grid, "12幢", compound=place)
    return place


def call(client, **fields):
    body = {"caller_phone": PHONE, "caller_name": "张先生", "category_id": fields.pop("category_id"),
            "description": "小区门口垃圾堆了三天没人清运", **fields}
    return client.post("/api/v1/hotline/calls", body, content_type="application/json")


def test_the_callers_earlier_cases_are_found_by_phone(world, client_for):
    operator = client_for(world.district_dispatcher)
    assert call(operator, category_id=world.category.pk, lat=POINT[0], lon=POINT[1]).status_code == 201
    found = operator.get("/api/v1/hotline/caller?phone=138 0013 8000").json()
    assert [c["category"] for c in found] == [world.category.name]
    assert operator.get("/api/v1/hotline/caller?phone=13900139000").json() == []
    response = operator.get("/api/v1/hotline/caller?phone=12345")
    assert response.status_code == 400 and "phone" in response.json()["errors"]
    # Only the hotline's operators look callers up.
    assert client_for(world.worker).get(f"/api/v1/hotline/caller?phone={PHONE}").status_code == 403
    assert client_for(world.handler).get(f"/api/v1/hotline/caller?phone={PHONE}").status_code == 403


def test_an_address_is_located_to_the_building_it_names(world, client_for, compound):
    operator = client_for(world.district_dispatcher)
    found = operator.get("/api/v1/hotline/address",
                         {"text": "江苏省苏州市虎丘区枫桥街道惠丰花园3幢楼下"}).json()
    assert (found["county"], found["county_code"], found["outside"]) == ("虎丘区", "320505", False)
    first = found["places"][0]
    assert (first["kind"], first["name"]) == ("building", "惠丰花园3幢")
    assert first["grid"]["code"] == world.grid.code
    assert first["lat"] and first["lon"]
    assert found["places"][1]["kind"] == "compound"
    assert found["message"] == ""


def test_an_address_in_another_district_is_refused_with_its_name(world, client_for):
    found = client_for(world.district_dispatcher).get("/api/v1/hotline/address",
                                                       {"text": "北京市朝阳区建国路88号"}).json()
    assert found["outside"] and found["places"] == [] and "朝阳区" in found["message"]


def test_an_address_naming_only_a_community_is_rough(world, client_for):
    found = client_for(world.district_dispatcher).get("/api/v1/hotline/address",
                                                       {"text": "枫桥街道社区2菜场门口"}).json()
    assert [p["kind"] for p in found["places"]][:1] == ["grid"]
    assert found["places"][0]["grid"]["code"] == world.district.communities[1].code
    assert found["message"]  # the operator is told the case will be flagged


def test_nothing_recognised_asks_for_the_map(world, client_for):
    operator = client_for(world.district_dispatcher)
    found = operator.get("/api/v1/hotline/address", {"text": "那个老地方"}).json()
    assert found["places"] == [] and found["message"]


def test_before_registering_the_operator_sees_duplicates_and_the_proposed_department(
        world, report, client_for):
    earlier = report()
    operator = client_for(world.district_dispatcher)
    found = operator.get("/api/v1/hotline/nearby", {"lat": POINT[0], "lon": POINT[1],
                                                    "category_id": world.category.pk,
                                                    "description": "门口有暴露垃圾"}).json()
    assert found["grid"]["code"].startswith(world.grid.code)
    assert found["proposed_department"]["id"] == world.sanitation.pk
    assert [d["id"] for d in found["duplicates"]] == [earlier.pk]
    # Only the area: no point to compare, still a department to propose.
    found = operator.get("/api/v1/hotline/nearby", {"grid_code": world.district.communities[0].code,
                                                    "category_id": world.category.pk}).json()
    assert found["duplicates"] == [] and found["proposed_department"]["id"] == world.sanitation.pk


def test_a_call_is_reported_registered_and_dispatched_in_one_step(world, client_for, compound):
    operator = client_for(world.district_dispatcher)
    place = hotline.locate_address(world.district_dispatcher, "惠丰花园12幢").best
    response = call(operator, category_id=world.category.pk, lat=place.lat, lon=place.lon,
                    address="惠丰花园12幢", department_id=world.sanitation.pk, client_key="call-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["channel"], body["department"], body["roughly_located"]) == (
        "dispatched", "hotline", world.sanitation.name, False)
    case = Case.objects.get(pk=body["id"])
    assert case.caller_phone == PHONE and case.grid.code.startswith(world.grid.code)
    assert list(case.log.values_list("action", flat=True)) == ["report", "register", "dispatch"]
    detail = operator.get(f"/api/v1/cases/{case.pk}").json()
    assert detail["caller_phone"] == "138****8000"
    # The same call sent again is the same case.
    again = call(operator, category_id=world.category.pk, lat=place.lat, lon=place.lon,
                 department_id=world.sanitation.pk, client_key="call-1")
    assert again.status_code == 200 and again.json()["id"] == case.pk


def test_a_call_located_only_to_the_community_is_flagged(world, client_for):
    response = call(client_for(world.district_dispatcher), category_id=world.category.pk,
                    grid_code=world.district.communities[0].code, address="社区1附近")
    assert response.status_code == 201 and response.json()["roughly_located"] is True
    case = Case.objects.get(pk=response.json()["id"])
    assert case.location_source == "grid" and case.state == Case.State.REGISTERED


def test_a_refused_step_leaves_nothing_behind(world, client_for):
    # A dispatcher of community 2 cannot register a case that belongs to community 1's centre.
    response = call(client_for(world.other_dispatcher), category_id=world.category.pk,
                    lat=POINT[0], lon=POINT[1], department_id=world.sanitation.pk)
    assert response.status_code == 403
    response = call(client_for(world.district_dispatcher), category_id=world.category.pk,
                    lat=POINT[0], lon=POINT[1], department_id=999999)
    assert response.status_code == 400 and "department_id" in response.json()["errors"]
    response = call(client_for(world.district_dispatcher), category_id=world.category.pk)
    assert response.status_code == 400 and "location" in response.json()["errors"]
    response = call(client_for(world.district_dispatcher), category_id=world.category.pk,
                    lat=POINT[0], lon=POINT[1], caller_phone="110")
    assert response.status_code == 400 and "caller_phone" in response.json()["errors"]
    assert not Case.objects.exists()


def test_only_operators_register_calls(world, client_for):
    assert call(client_for(world.worker), category_id=world.category.pk,
                lat=POINT[0], lon=POINT[1]).status_code == 403
    assert client_for(world.worker).get("/console/hotline/").status_code == 403
    page = client_for(world.district_dispatcher).get("/console/hotline/")
    assert page.status_code == 200 and "热线受理" in page.content.decode()
