"""The hotline desk in a real browser: a call that gives only an address becomes a located,
registered and dispatched case; a leader's instruction then heads the handler's queue."""

import pytest

from gridgov.cases.models import Case
from gridgov.consoles.tests.test_browser_journeys import act_on_case_page, shot
from gridgov.population.models import Compound
from gridgov.population.testing import building

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_call_with_only_an_address_becomes_a_located_dispatched_case(world, live_server, browser_for):
    place = Compound.objects.create(name="惠丰花园", grid=world.grid)
    three = building(world.grid, "3幢", compound=place)
    operator = browser_for(world.district_dispatcher)
    operator.goto(f"{live_server.url}/console/dispatch/")
    operator.locator("#open-hotline").click()
    operator.wait_for_url(f"{live_server.url}/console/hotline/")

    operator.locator("#caller_phone").fill("13800138000")
    operator.get_by_role("button", name="该来电人的历史案件").click()
    operator.wait_for_selector("#caller-cases li")
    assert "没有历史案件" in operator.locator("#caller-cases").inner_text()

    operator.locator("#address").fill("苏州市虎丘区枫桥街道惠丰花园3幢门口")
    operator.get_by_role("button", name="定位地址").click()
    operator.wait_for_selector("#address-places input:checked")
    assert "惠丰花园3幢" in operator.locator("#address-places").inner_text()
    assert "虎丘区" in operator.locator("#address-status").inner_text()

    operator.locator("#category-search").fill("暴露垃圾")
    operator.locator("#category-suggestions button").first.click()
    operator.locator("#description").fill("楼下垃圾堆了三天，没人清运")
    # The routing rule's department is proposed once the place and the category are known.
    operator.wait_for_function(
        f"document.querySelector('#department_id').value === '{world.sanitation.pk}'")
    shot(operator, "hotline-desk")
    operator.get_by_role("button", name="立案").click()
    operator.wait_for_selector("#hotline-status[data-case]")
    assert "已立案并派遣" in operator.locator("#hotline-status").inner_text()

    case = Case.objects.get(channel=Case.Channel.HOTLINE)
    assert (case.state, case.department, case.caller_phone) == (
        Case.State.DISPATCHED, world.sanitation, "13800138000")
    assert abs(case.lat - three.lat) < 1e-6 and abs(case.lon - three.lon) < 1e-6
    assert case.address == "苏州市虎丘区枫桥街道惠丰花园3幢门口"
    assert case.grid.code.startswith(world.grid.code)

    # A leader instructs on it; the handler finds it first, with the instruction, and answers.
    leader = browser_for(world.leader)
    leader.goto(f"{live_server.url}/cases/{case.pk}/")
    act_on_case_page(leader, "instruct", note="群众反映多次，今天务必清运完毕")
    handler = browser_for(world.handler)
    handler.goto(f"{live_server.url}/console/handler/")
    first_row = handler.locator("#to-accept tbody tr").first
    assert "今天务必清运完毕" in first_row.inner_text()
    first_row.get_by_role("link", name=case.number).click()
    assert "今天务必清运完毕" in handler.locator("#instructions").inner_text()
    act_on_case_page(handler, "answer_instruction", note="已安排今天下午清运")
    assert case.instructions.get().response == "已安排今天下午清运"
    shot(handler, "case-with-instruction")
