"""Publishing a notice to a building in a real browser: find the building with the form's search,
tick it, publish; its head reads it in the app and the neighbour without an account gets a text."""

import pytest

from gridgov.engagement.models import Notice, NoticeDelivery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_worker_publishes_to_a_building(browser_for, live_server, world, registry, sms_outbox):
    from gridgov.conftest import ARTIFACTS

    page = browser_for(world.worker_a)
    page.goto(f"{live_server.url}/notices/new/")
    page.get_by_label("标题").fill("3幢停水通知")
    page.locator("#notice-body").fill("明天上午9点至12点3幢停水，请提前储水。")
    page.locator("#notice-grid").select_option(world.grid_1.code)
    page.locator("#notice-find").fill("3幢")
    page.get_by_role("button", name="查找").click()
    building = page.locator(f'input[name="target_building_ids"][value="{registry.building.pk}"]')
    building.check()
    page.locator("#notice-sms-contact").fill("0512-65251234")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notice-to-a-building.png"), full_page=True)
    page.get_by_role("button", name="发布", exact=True).click()
    page.wait_for_url(f"{live_server.url}/notices/*/")
    notice = Notice.objects.get()
    assert notice.audience == "targets" and list(notice.target_buildings.all()) == [registry.building]
    assert set(NoticeDelivery.objects.filter(channel="app").values_list("user_id", flat=True)) == {
        world.head_1.pk, world.resident_1.pk}
    assert [phone for phone, _text in sms_outbox] == ["13600000001"]

    page = browser_for(world.head_1)
    page.goto(f"{live_server.url}/notices/")
    page.get_by_role("link", name="3幢停水通知").click()
    assert "请提前储水" in page.content()
