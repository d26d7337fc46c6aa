"""The mediation centre in a real browser: a visitor registered at the front desk gets a queue
number, their dispute is registered, a mediator holds a session, records the agreement, downloads
its PDF, and the return visit closes the dispute. Screenshots land in test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.consoles.tests.test_browser_journeys import shot
from gridgov.mediation.models import Dispute, Visit
from gridgov.mediation.tests.conftest import OTHER_PHONE, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_visitor_at_the_desk_to_an_agreement_that_held(town, live_server, browser_for):
    url = live_server.url
    desk = browser_for(town.desk)
    desk.goto(f"{url}/mediation/desk/")
    desk.locator("#v-name").fill("李来访")
    desk.locator("#v-phone").fill(PHONE)
    desk.select_option("#v-grid", town.grid_a.code)
    desk.locator("#v-purpose").fill("楼上漏水")
    desk.locator("#visit-form button").click()
    desk.wait_for_selector("#queue-number")
    visit = Visit.objects.get()
    assert desk.locator("#queue-number").get_attribute("data-queue") == "1" == str(visit.queue_number)
    assert "李*访" in desk.locator("#visits-today").inner_text()
    shot(desk, "mediation-desk")

    desk.select_option("#d-visit", str(visit.pk))
    desk.locator("#d-title").fill("楼上漏水")
    desk.locator("#d-description").fill("302室漏水到202室，双方协商不成")
    desk.select_option("#d-kind", "neighbour")
    desk.select_option("#d-grid", town.grid_a.code)
    desk.locator("#d-amount").fill("3000")
    desk.locator("#d-a-name").fill("李来访")
    desk.locator("#d-a-phone").fill(PHONE)
    desk.locator("#d-r-name").fill("周被申")
    desk.locator("#d-r-phone").fill(OTHER_PHONE)
    desk.locator("#dispute-form button").click()
    desk.wait_for_selector("#assign-form")
    dispute = Dispute.objects.get()
    assert dispute.visit == visit and dispute.state == "registered"
    desk.select_option("#as-mediator", str(town.mediator.pk))
    desk.locator("#assign-form button").click()
    desk.wait_for_selector("p.ok")

    mediator = browser_for(town.mediator, phone=True)
    mediator.goto(f"{url}/mediation/")
    mediator.locator(f'#disputes [data-dispute="{dispute.pk}"] a').click()
    mediator.wait_for_selector("#session-form")
    held = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    mediator.locator("#se-held").fill(held)
    mediator.locator("#se-place").fill("调解室")
    mediator.locator("#se-participants").fill("李来访、周被申")
    mediator.locator("#se-notes").fill("释法明理，双方同意赔偿")
    mediator.locator("#session-form button").click()
    mediator.wait_for_selector("#sessions [data-session]")
    mediator.locator("#ag-terms").fill("周被申于十日内赔偿李来访3000元")
    mediator.locator("#agree-form button").click()
    mediator.wait_for_selector(".agreement-pdf")
    shot(mediator, "mediation-agreement")
    href = mediator.locator(".agreement-pdf").first.get_attribute("href")
    pdf = mediator.context.request.get(f"{url}{href}")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

    mediator.locator("#rv-held").check()
    mediator.locator("#rv-note").fill("回访：已按协议履行")
    mediator.locator("#return-visit-form button").click()
    mediator.wait_for_selector('#dispute[data-state="closed"]')
    dispute.refresh_from_db()
    assert dispute.state == "closed" and dispute.return_visits.get().held is True
    assert [e for e in dispute.log.values_list("action", flat=True)] == [
        "register",
        "assign",
        "session",
        "agree",
        "return_visit",
    ]
    shot(mediator, "mediation-closed")
