"""Services near people's pages through the test client: the public map and "near me", the meal
desk from a call to a timed delivery, the errand workbench and an errand's steps, job wishes
matched; refusals shown as error messages with nothing saved, and another area's rows unseen."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import resident, staff
from gridgov.population import testing as registry
from gridgov.services.models import Errand, ErrandItem, JobMatch, JobOpening, JobWish, Order
from gridgov.services.tests.conftest import A, B, point, proxy_point

pytestmark = pytest.mark.django_db
ALL_DAY = ["00:00-24:00"] * 7


def _errors(response) -> str:
    page = response.content.decode()
    assert 'class="error"' in page, page[:3000]
    return page


def test_the_public_map_shows_a_communitys_active_points_by_kind(district):
    community_a = district.communities[0]
    point(district.micro_grids[0], "幸福食堂", *A, phone="0579-1234567", hours=ALL_DAY)
    point(district.grids[0], "社区卫生站", A[0] + 0.001, A[1], kind="clinic")
    point(district.grids[0], "已停业食堂", *A, is_active=False)
    point(district.grids[3], "乙社区食堂", *B)
    anyone = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = anyone.get("/services/map/", {"community": community_a.code})
    assert page.status_code == 200 and f'data-community="{community_a.code}"' in page.content.decode()
    found = anyone.get("/services/map/points.geojson", {"community": community_a.code}).json()
    names = {f["properties"]["name"]: f["properties"] for f in found["features"]}
    assert set(names) == {"幸福食堂", "社区卫生站"}
    assert names["幸福食堂"]["kind_label"] and names["幸福食堂"]["phone"] == "0579-1234567"
    assert anyone.get("/services/map/points.geojson", {"community": "nowhere"}).status_code == 400


def test_near_me_lists_points_by_walking_time_and_says_how(district):
    point(district.grids[0], "远食堂", A[0] + 0.01, A[1], hours=ALL_DAY)
    point(district.grids[0], "近食堂", A[0] + 0.001, A[1], hours=ALL_DAY)
    page = (
        Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        .get("/services/near/", {"kind": "meal", "lat": A[0], "lon": A[1]})
        .content.decode()
    )
    assert page.index("近食堂") < page.index("远食堂")
    assert "1.3" in page and "4.5" in page  # the detour factor and walking speed are stated


def test_the_meal_desk_from_a_call_to_a_delivery_within_target(district, client_for):
    micro = district.micro_grids[0]
    home = registry.household(micro)
    at = home.house.building
    canteen = point(micro, "幸福食堂", at.lat + 0.001, at.lon, hours=ALL_DAY, capacity_per_hour=5)
    elder = registry.person(home, "孙独居", phone="13900001111")
    desk = client_for(staff(Role.DISPATCHER, district.street))
    found = desk.get("/services/orders/", {"q": "孙独居"}).content.decode()
    listed = found[found.index('id="caller-people"') : found.index('id="offer-form"')]
    assert f'data-person="{elder.pk}"' in listed and "孙独居" not in listed  # masked in the list
    offered = desk.get("/services/orders/", {"kind": "meal", "person_id": elder.pk}).content.decode()
    assert f'data-point="{canteen.pk}"' in offered
    placed = desk.post(
        "/services/orders/new/",
        {"point_id": canteen.pk, "person_id": elder.pk, "address": "1幢"},
        follow=True,
    )
    order = Order.objects.get()
    assert order.person == elder and order.state == "placed" and "幸福食堂" in placed.content.decode()
    Order.objects.filter(pk=order.pk).update(called_at=timezone.now() - timedelta(minutes=12))
    desk.post(f"/services/orders/{order.pk}/accept/")
    page = desk.post(f"/services/orders/{order.pk}/deliver/", follow=True).content.decode()
    order.refresh_from_db()
    assert order.state == "delivered" and order.accepted_at and order.delivered_at
    assert f'data-order="{order.pk}" data-state="delivered"' in page and 'data-within="yes"' in page
    _errors(desk.post(f"/services/orders/{order.pk}/cancel/", follow=True))  # out of turn: refused
    order.refresh_from_db()
    assert order.state == "delivered"


def test_the_meal_desk_refuses_bad_orders_and_residents(district, client_for):
    canteen = point(district.micro_grids[0], "幸福食堂", *A, hours=ALL_DAY)
    desk = client_for(staff(Role.DISPATCHER, district.street))
    no_phone = desk.post(
        "/services/orders/new/", {"point_id": canteen.pk, "lat": A[0], "lon": A[1]}, follow=True
    )
    assert "电话" in _errors(no_phone) or "phone" in _errors(no_phone)
    bad_point = desk.get("/services/orders/", {"kind": "meal", "lat": "95", "lon": A[1]})
    assert 'id="offer-error"' in bad_point.content.decode()
    assert not Order.objects.exists()
    assert client_for(resident(district.grids[0])).get("/services/orders/").status_code == 403


def test_an_errand_from_the_residents_request_to_their_confirmation(district, client_for):
    agent = staff(Role.GRID_WORKER, district.grids[0])
    office = proxy_point(district.grids[0], "社区代办点", agent)
    item = ErrandItem.objects.get(name="高龄津贴申领")
    asker = resident(district.grids[0])
    mine, worker = client_for(asker), client_for(agent)
    form = mine.get("/services/errands/").content.decode()
    assert f'value="{office.pk}"' in form and f'value="{item.pk}"' in form
    mine.post("/services/errands/new/", {"proxy_point_id": office.pk, "item_id": item.pk, "kind": "proxy"})
    errand = Errand.objects.get()
    assert errand.resident == asker and errand.state == "requested"
    assert f'data-errand="{errand.pk}"' in worker.get("/services/errands/").content.decode()
    url = f"/services/errands/{errand.pk}/"
    worker.post(f"{url}accept/")
    missing = worker.post(f"{url}submit/", {"materials": item.materials[:1]}, follow=True)
    _errors(missing)
    errand.refresh_from_db()
    assert errand.state == "accepted" and errand.deadline is not None
    worker.post(f"{url}submit/", {"materials": item.materials})
    worker.post(f"{url}answer/", {"answer": "已受理，十日内发放"})
    worker.post(f"{url}close/", {"result": "津贴已到账"})
    page = mine.get(url).content.decode()
    assert 'id="act-confirm"' in page and "津贴已到账" in page
    mine.post(f"{url}confirm/", {"rating": "5"})
    errand.refresh_from_db()
    assert errand.state == "confirmed" and errand.rating == 5
    assert errand.logs.count() == 6


def test_another_areas_errand_is_not_found(district, client_for):
    agent_b = staff(Role.GRID_WORKER, district.grids[3])
    office = proxy_point(district.grids[3], "乙代办点", agent_b)
    errand = Errand.objects.create(
        proxy_point=office,
        grid=district.grids[3],
        item=ErrandItem.objects.first(),
        kind="proxy",
        requested_at=timezone.now(),
    )
    worker_a = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    assert worker_a.get(f"/services/errands/{errand.pk}/").status_code == 404
    assert f'data-errand="{errand.pk}"' not in worker_a.get("/services/errands/?state=all").content.decode()
    worker_a.post(f"/services/errands/{errand.pk}/accept/")
    errand.refresh_from_db()
    assert errand.state == "requested"


def test_a_job_wish_matched_and_hired(district, client_for):
    asker = resident(district.grids[0])
    mine = client_for(asker)
    mine.post("/services/jobs/wishes/", {"work": "保洁", "hours": "白天", "place": "附近"})
    wish = JobWish.objects.get()
    assert wish.resident == asker and wish.grid == district.grids[0]
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    employer = registry.organization(district.grids[0], "阳光物业")
    worker.post("/services/jobs/openings/", {"employer_id": employer.pk, "work": "保洁员", "positions": "1"})
    opening = JobOpening.objects.get()
    suggested = worker.get("/services/jobs/", {"wish": wish.pk}).content.decode()
    assert f'data-opening="{opening.pk}"' in suggested
    worker.post("/services/jobs/matches/", {"wish_id": wish.pk, "opening_id": opening.pk})
    found = JobMatch.objects.get()
    page = worker.post(
        f"/services/jobs/matches/{found.pk}/", {"outcome": "hired"}, follow=True
    ).content.decode()
    wish.refresh_from_db()
    opening.refresh_from_db()
    assert wish.state == "hired" and not opening.is_open
    assert '<strong id="hired-count">1</strong>' in page
    empty = worker.post("/services/jobs/wishes/", {"work": ""}, follow=True)
    _errors(empty)
    assert JobWish.objects.count() == 1


def test_a_resident_rates_a_point_from_the_near_list(district, client_for):
    canteen = point(district.grids[0], "近食堂", *A, hours=ALL_DAY)
    mine = client_for(resident(district.grids[0]))
    listed = mine.get("/services/near/", {"kind": "meal", "lat": A[0], "lon": A[1]}).content.decode()
    assert f"/services/points/{canteen.pk}/rate/" in listed
    back = f"/services/near/?kind=meal&lat={A[0]}&lon={A[1]}"
    page = mine.post(f"/services/points/{canteen.pk}/rate/", {"score": "4", "next": back}, follow=True)
    assert "★ 4.0 (1)" in page.content.decode() or "★ 4 (1)" in page.content.decode()
    _errors(mine.post(f"/services/points/{canteen.pk}/rate/", {"score": "9", "next": back}, follow=True))
    assert canteen.ratings.get().score == 4
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    assert "/rate/" not in worker.get(back).content.decode()
