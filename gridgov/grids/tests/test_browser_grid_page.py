"""A grid leader goes from the map to their grid's page, sees which posts are vacant, prints the
notice board and goes back to the map on their grid, in a real browser."""

import pytest

from gridgov.grids.tests.test_browser_map import log_in
from gridgov.privacy.models import AuditEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_from_the_map_to_the_grid_page_and_its_notice_board(district, crew, font, live_server, page,
                                                             screenshot):
    log_in(page, live_server, crew.leader)
    page.goto(f"{live_server.url}/grids/map/")
    page.wait_for_selector("#grid-map[data-loaded]")
    box = page.locator("#grid-map").bounding_box()
    # the grid's top-left quarter lies in its first micro-grid: any click inside reaches the panel
    page.mouse.click(box["x"] + box["width"] / 4, box["y"] + box["height"] / 4)
    page.wait_for_selector("#grid-page-link")
    page.locator("#grid-page-link").click()
    page.wait_for_selector("#grid-posts")
    assert page.url.startswith(f"{live_server.url}/grids/")
    code = page.locator("#grid-page").get_attribute("data-code")
    if code != crew.grid.code:  # the click landed on a micro-grid: go up to the grid
        page.locator("#grid-path").get_by_role("link", name="社区1网格1").click()
        page.wait_for_selector(f'#grid-page[data-code="{crew.grid.code}"]')
    assert "王网格长" in page.locator("#grid-leader").inner_text()
    posts = page.locator("#grid-posts")
    assert posts.locator("tr.vacant").count() == 4
    assert "空缺" in posts.locator('tr[data-post="firefighter"]').inner_text()
    assert "赵城管" in posts.locator('tr[data-post="supervisor"]').inner_text()
    assert "139****0002" in posts.inner_text() and "13900000002" not in posts.inner_text()
    children = page.locator("#grid-children")
    assert children.locator("tr[data-code]").count() == 2
    screenshot("grid-page-leader")

    href = page.locator("#grid-card-link").get_attribute("href")
    card = page.request.get(f"{live_server.url}{href}")
    assert card.status == 200 and card.headers["content-type"] == "application/pdf"
    assert AuditEntry.objects.filter(action="export", object_id=crew.grid.code).count() == 1

    page.get_by_role("link", name="在网格地图上查看").click()
    page.wait_for_selector("#grid-panel .staff li")
    assert "社区1网格1" in page.locator("#grid-panel h2").inner_text()
    screenshot("grid-map-focus")
