"""Open311 GeoReport v2 through HTTP, in JSON and XML: discovery, services, filing and following
requests, the spec's errors, keys and their limits, and what the public may see."""

from xml.etree import ElementTree

import pytest
from django.test import Client

from gridgov.cases.models import Case, Category
from gridgov.open311 import services
from gridgov.open311.models import CallLog, Endpoint, ServiceRequest
from gridgov.open311.tests.conftest import POINT

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"


@pytest.fixture
def public(world):
    """The world's category (暴露垃圾) offered to the public, with its points rounded."""
    Category.objects.filter(pk=world.category.pk).update(is_public=True)
    world.category.refresh_from_db()
    return world.category


@pytest.fixture
def key(public):
    _client, secret = services.create_client("随手拍App", contact="dev@example.com", rate_limit=100)
    return secret


def file(client, key, **fields):
    body = {
        "api_key": key,
        "service_code": "06010",
        "lat": POINT[0],
        "long": POINT[1],
        "description": "路口有暴露垃圾，联系人13812345678",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812345678",
        "email": "zhang@example.com",
        "media_url": "https://img.example.com/1.jpg",
        **fields,
    }
    return client.post(f"{BASE}/requests.json", {k: v for k, v in body.items() if v is not None})


def xml(response) -> ElementTree.Element:
    assert response["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)


def test_discovery_in_both_formats(public):
    Endpoint.objects.create(contact="枫桥街道综治中心 0575-87000000")
    body = Client().get(f"{BASE}/discovery.json").json()
    assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert body["endpoints"][0]["url"].endswith("/open311/v2/") and "综治中心" in body["contact"]
    root = xml(Client().get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and root.find("endpoints/endpoint/formats/format").text == "text/xml"
    assert Client().get(f"{BASE}/discovery.yaml").status_code == 404


def test_services_are_the_public_categories(public):
    services_json = Client().get(f"{BASE}/services.json").json()
    assert [s["service_code"] for s in services_json] == ["06010"]
    assert services_json[0]["service_name"] == public.name and services_json[0]["type"] == "realtime"
    root = xml(Client().get(f"{BASE}/services.xml"))
    assert [e.text for e in root.findall("service/service_code")] == ["06010"]
    assert root.find("service/metadata").text == "false"


def test_a_service_definition_and_unknown_services(public):
    found = Client().get(f"{BASE}/services/06010.json").json()
    assert found == {"service_code": "06010", "attributes": []}
    component = Category.objects.get(kind="component", code="01001")
    Category.objects.filter(pk=component.pk).update(is_public=True)
    attributes = Client().get(f"{BASE}/services/component-01001.json").json()["attributes"]
    assert attributes[0]["code"] == "component_id" and attributes[0]["required"] is False
    definition = xml(Client().get(f"{BASE}/services/component-01001.xml"))
    assert definition.tag == "service_definition"
    assert definition.find("attributes/attribute/code").text == "component_id"
    assert definition.find("attributes/attribute/required").text == "false"
    missing = Client().get(f"{BASE}/services/99999.xml")
    assert missing.status_code == 404
    assert xml(missing).find("error/code").text == "404"


def test_filing_a_request_makes_a_case_in_its_grid(world, key):
    response = file(Client(), key)
    assert response.status_code == 201, response.content
    [answer] = response.json()
    case = Case.objects.get()
    assert answer["service_request_id"] == case.number and len(answer["token"]) == 16
    assert case.channel == "open311" and case.grid.parent == world.grid and case.state == "reported"
    assert case.reporter.open311_client.name == "随手拍App" and case.caller_phone == "13812345678"
    link = ServiceRequest.objects.get()
    assert link.email == "zhang@example.com" and link.media_url == "https://img.example.com/1.jpg"
    token = Client().get(f"{BASE}/tokens/{answer['token']}.json").json()
    assert token == [{"service_request_id": case.number, "token": answer["token"]}]
    as_xml = xml(Client().get(f"{BASE}/tokens/{answer['token']}.xml"))
    assert as_xml.find("request/service_request_id").text == case.number
    assert Client().get(f"{BASE}/tokens/nope.json").status_code == 404
    filed = Client().post(
        f"{BASE}/requests.xml",
        {
            "api_key": key,
            "service_code": "06010",
            "lat": POINT[0],
            "long": POINT[1],
            "description": "又有一堆垃圾",
        },
    )
    assert filed.status_code == 201 and xml(filed).find("request/token").text


def test_a_request_as_the_public_sees_it(world, key):
    number = file(Client(), key).json()[0]["service_request_id"]
    [shown] = Client().get(f"{BASE}/requests/{number}.json").json()
    assert shown["status"] == "open" and shown["service_code"] == "06010"
    assert "13812345678" not in str(shown) and "138****5678" in shown["description"]
    assert "张" not in str(shown) and "zhang@" not in str(shown)
    assert shown["lat"] == round(POINT[0], 3) and shown["address"] == world.grid.name  # rounded
    assert shown["media_url"] == "https://img.example.com/1.jpg" and shown["expected_datetime"]
    root = xml(Client().get(f"{BASE}/requests/{number}.xml"))
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == number
    assert Client().get(f"{BASE}/requests/20260101-9999999.json").status_code == 404


def test_how_much_of_the_place_is_public_is_the_categorys_choice(world, key):
    number = file(Client(), key, address_string="枫桥路12号3幢").json()[0]["service_request_id"]
    Category.objects.filter(pk=world.category.pk).update(public_location="exact")
    exact = Client().get(f"{BASE}/requests/{number}.json").json()[0]
    assert exact["lat"] == POINT[0] and exact["address"] == "枫桥路12号3幢"
    Category.objects.filter(pk=world.category.pk).update(public_location="hidden")
    hidden = Client().get(f"{BASE}/requests/{number}.json").json()[0]
    assert hidden["lat"] is None and hidden["long"] is None and hidden["address"] == world.grid.parent.name


def test_an_address_instead_of_a_point(world, key):
    response = file(Client(), key, lat=None, long=None, address_string=f"{world.grid.name}门口")
    assert response.status_code == 201, response.content
    assert Case.objects.get().grid == world.grid
    nowhere = file(Client(), key, lat=None, long=None, address_string="上海市浦东新区世纪大道")
    assert nowhere.status_code == 400 and nowhere.json()[0]["description"].startswith("address_string")


def test_bad_requests_are_400_one_error_per_field_and_save_nothing(world, key):
    response = file(
        Client(), key, service_code="", lat="95", phone="12345", email="not-an-email", media_url="ftp://x"
    )
    assert response.status_code == 400
    fields = sorted(e["description"].split(": ")[0] for e in response.json())
    assert fields == ["email", "lat", "media_url", "phone", "service_code"]
    assert all(e["code"] == 400 for e in response.json())
    short = file(Client(), key, description="脏")
    assert short.status_code == 400 and short.json()[0]["description"].startswith("description")
    outside = file(Client(), key, lat="39.9", long="116.4")
    assert outside.status_code == 400 and outside.json()[0]["description"].startswith("lat")
    assert Case.objects.count() == 0 and ServiceRequest.objects.count() == 0
    errors = xml(Client().post(f"{BASE}/requests.xml", {"api_key": key}))
    assert errors.tag == "errors" and errors.find("error/code").text == "400"


def test_keys_anonymous_filing_and_revoking(world, key):
    assert file(Client(), None).status_code == 403
    assert file(Client(), "gg311_wrong").status_code == 403
    Endpoint.objects.create(allow_anonymous=True)
    anonymous = file(Client(), None)
    assert anonymous.status_code == 201 and Case.objects.get().reporter.open311_client.name == "anonymous"
    client = services.client_for_key(key)
    client.is_active = False
    client.save()
    assert file(Client(), key).status_code == 403


def test_a_retried_request_with_the_same_idempotency_key_is_one_case(world, key):
    first = Client().post(
        f"{BASE}/requests.json",
        {
            "api_key": key,
            "service_code": "06010",
            "lat": POINT[0],
            "long": POINT[1],
            "description": "路口有暴露垃圾",
        },
        HTTP_IDEMPOTENCY_KEY="a1b2c3",
    )
    again = Client().post(
        f"{BASE}/requests.json",
        {
            "api_key": key,
            "service_code": "06010",
            "lat": POINT[0],
            "long": POINT[1],
            "description": "路口有暴露垃圾",
        },
        HTTP_IDEMPOTENCY_KEY="a1b2c3",
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() and Case.objects.count() == 1


def test_the_rate_limit_counts_every_call_of_a_key(world, public):
    client, secret = services.create_client("测试", rate_limit=3)
    for _ in range(3):
        assert Client().get(f"{BASE}/services.json", {"api_key": secret}).status_code == 200
    limited = Client().get(f"{BASE}/services.json", {"api_key": secret})
    assert limited.status_code == 429 and "3" in limited.json()[0]["description"]
    assert CallLog.objects.filter(client=client).count() == 4
    assert Client().get(f"{BASE}/services.json").status_code == 200  # keyless reads count apart


def test_a_foreign_jurisdiction_is_refused(public):
    Endpoint.objects.create(jurisdiction_id="zhuji.gov.cn")
    assert Client().get(f"{BASE}/services.json", {"jurisdiction_id": "zhuji.gov.cn"}).status_code == 200
    other = Client().get(f"{BASE}/services.json", {"jurisdiction_id": "example.org"})
    assert other.status_code == 404 and "example.org" in other.json()[0]["description"]


def test_listing_requests_by_status_service_dates_and_pages(world, key, report):
    for _ in range(3):
        file(Client(), key)
    private = (
        Category.objects.exclude(pk=world.category.pk).filter(children__isnull=True, kind="matter").first()
    )
    report(category_id=private.pk)  # not a public category: never listed
    listed = Client().get(f"{BASE}/requests.json").json()
    assert len(listed) == 3 and {r["status"] for r in listed} == {"open"}
    assert Client().get(f"{BASE}/requests.json", {"status": "closed"}).json() == []
    assert len(Client().get(f"{BASE}/requests.json", {"page_size": 2, "page": 2}).json()) == 1
    assert Client().get(f"{BASE}/requests.json", {"service_code": "01001"}).json() == []
    ids = ",".join(r["service_request_id"] for r in listed[:2])
    assert len(Client().get(f"{BASE}/requests.json", {"service_request_id": ids}).json()) == 2
    later = Client().get(f"{BASE}/requests.json", {"start_date": "2099-01-01T00:00:00+08:00"}).json()
    assert later == []
    bad = Client().get(
        f"{BASE}/requests.json", {"start_date": "yesterday", "status": "done", "page_size": 5000}
    )
    assert bad.status_code == 400 and len(bad.json()) == 3
    root = xml(Client().get(f"{BASE}/requests.xml"))
    assert len(root.findall("request")) == 3


def test_closed_requests_show_the_result_masked(world, key):
    number = file(Client(), key).json()[0]["service_request_id"]
    Case.objects.filter(pk=Case.id_from_number(number)).update(
        state="closed", result="已清理，联系身份证330621199001011234的业主"
    )
    shown = Client().get(f"{BASE}/requests/{number}.json").json()[0]
    assert shown["status"] == "closed" and "330621********1234" in shown["status_notes"]
    assert shown["expected_datetime"] is None


def test_the_admin_shows_a_new_key_once_and_rotates_or_revokes_it(world, client_for):
    from gridgov.core.testing import admin_user

    admin = client_for(admin_user())

    def shown(response) -> str:
        return response.content.decode().split('class="readonly">')[1].split("<")[0].strip()

    added = admin.post(
        "/admin/open311/apiclient/add/",
        {"name": "城市大脑", "contact": "ops@example.com", "rate_limit": 30},
        follow=True,
    )
    secret = shown(added)
    client = services.client_for_key(secret)
    assert client.name == "城市大脑" and client.rate_limit == 30 and secret not in client.key_hash
    assert shown(admin.get(f"/admin/open311/apiclient/{client.pk}/change/")) == "—"  # once only
    admin.post("/admin/open311/apiclient/", {"action": "rotate", "_selected_action": [client.pk]})
    fresh = shown(admin.get(f"/admin/open311/apiclient/{client.pk}/change/"))
    assert fresh != secret and services.client_for_key(fresh) == client
    with pytest.raises(services.Refused):
        services.client_for_key(secret)
    admin.post("/admin/open311/apiclient/", {"action": "revoke", "_selected_action": [client.pk]})
    with pytest.raises(services.Refused):
        services.client_for_key(fresh)
