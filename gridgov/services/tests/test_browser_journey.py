"""Services near people in a real browser: the operator takes a meal call for an elderly person
living alone, is offered the nearest open partner, places the order, and marks it accepted and
delivered, timed against the 15-minute target; a resident asks for an errand on the phone, the
agent takes it through to its result, and the resident confirms and rates it. Screenshots land in
test-artifacts/."""

import pytest

from gridgov.accounts.models import Role
from gridgov.consoles.tests.test_browser_journeys import shot
from gridgov.core.testing import make_district, resident, staff
from gridgov.population import testing as registry
from gridgov.services.models import Errand, ErrandItem, Order
from gridgov.services.tests.conftest import point, proxy_point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ALL_DAY = ["00:00-24:00"] * 7


def test_a_meal_call_to_a_timed_delivery(live_server, browser_for):
    district = make_district()
    micro = district.micro_grids[0]
    elder = registry.person(registry.household(micro), "孙独居", phone="13900001111")
    at = elder.household.house.building
    near = point(micro, "幸福食堂", at.lat + 0.001, at.lon, hours=ALL_DAY, capacity_per_hour=10)
    point(micro, "远方餐厅", at.lat + 0.004, at.lon, hours=ALL_DAY)
    desk = browser_for(staff(Role.DISPATCHER, district.street))
    desk.goto(f"{live_server.url}/services/map/?community={district.communities[0].code}")
    desk.wait_for_function("document.getElementById('services-map-count').textContent.includes('2')")
    assert desk.locator("#services-map path.leaflet-interactive").count() == 2  # one dot per point
    assert desk.locator(".leaflet-control-layers label").count() == 1  # one layer: meals
    shot(desk, "services-map")
    desk.goto(f"{live_server.url}/services/orders/")
    desk.locator("#o-q").fill("孙独居")
    desk.locator("#caller-search button").click()
    desk.locator(f'#caller-people [data-person="{elder.pk}"]').click()
    desk.locator("#offer-form button").click()
    desk.wait_for_selector("#offers li")
    assert desk.locator("#offers li").first.get_attribute("data-point") == str(near.pk)
    shot(desk, "services-offer")
    desk.locator("#offers li").first.locator("button").click()
    desk.wait_for_selector("p.ok")
    order = Order.objects.get()
    assert order.person == elder and order.point == near
    row = f'#order-rows [data-order="{order.pk}"]'
    desk.locator(f"{row} button").first.click()  # accepted
    desk.wait_for_selector(f'{row}[data-state="accepted"]')
    desk.locator(f"{row} button").first.click()  # delivered
    desk.wait_for_selector(f'{row}[data-state="delivered"]')
    assert desk.locator(f"{row} [data-within]").get_attribute("data-within") == "yes"
    shot(desk, "services-delivered")
    order.refresh_from_db()
    assert order.state == "delivered" and order.delivered_at >= order.accepted_at >= order.called_at


def test_a_residents_errand_from_request_to_confirmation(live_server, browser_for, resident_browser):
    district = make_district()
    agent = staff(Role.GRID_WORKER, district.grids[0])
    office = proxy_point(district.grids[0], "社区代办点", agent)
    item = ErrandItem.objects.get(name="高龄津贴申领")
    asker = resident(district.grids[0])
    phone = resident_browser(asker.phone)
    phone.locator("#errands-link").click()
    phone.select_option("#e-item", str(item.pk))
    phone.select_option("#e-point", str(office.pk))
    phone.locator("#e-note").fill("母亲行动不便，请代办")
    phone.locator("#errand-form button").click()
    phone.wait_for_selector("#errand-state")
    errand = Errand.objects.get()
    assert errand.resident == asker and errand.state == "requested"

    worker = browser_for(agent)
    worker.goto(f"{live_server.url}/services/errands/")
    worker.locator(f'#errands [data-errand="{errand.pk}"] a').click()
    worker.locator("#act-accept button").click()
    worker.wait_for_selector("#act-submit")
    for box in worker.locator('#act-submit input[type="checkbox"]').all():
        box.check()
    worker.locator("#act-submit button").click()
    worker.wait_for_selector("#act-answer")
    worker.locator("#a-answer").fill("已受理，十日内发放")
    worker.locator("#act-answer button").click()
    worker.wait_for_selector("#act-close")
    worker.locator("#a-result").fill("津贴已到账")
    worker.locator("#act-close button").click()
    worker.wait_for_selector('#errand-state[data-state="done"]')
    shot(worker, "services-errand-done")

    phone.goto(f"{live_server.url}/services/errands/{errand.pk}/")
    assert "津贴已到账" in phone.locator("#errand-result").inner_text()
    phone.select_option("#a-rating", "5")
    phone.locator("#act-confirm button").click()
    phone.wait_for_selector('#errand-state[data-state="confirmed"]')
    errand.refresh_from_db()
    assert errand.state == "confirmed" and errand.rating == 5 and errand.materials_ticked == item.materials
