"""A newcomer logs in and sees their part of the district on the map, in a real browser."""

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import PASSWORD, admin_user, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")


def test_a_grid_worker_sees_only_their_grid_and_its_people(district, live_server, page, screenshot):
    grid = district.grids[0]
    worker = staff(Role.GRID_WORKER, grid)
    for micro in district.micro_grids[:2]:
        staff(Role.BUILDING_HEAD, micro, name="王小明", phone="13912345678")
    log_in(page, live_server, worker)
    assert grid.code in page.locator("#my-grids").inner_text()
    page.get_by_role("link", name="打开网格地图").click()
    page.wait_for_selector("#grid-map[data-loaded]")
    # the grid and its two micro-grids, nothing else
    assert page.locator("#grid-map").get_attribute("data-loaded") == "3"
    box = page.locator("#grid-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#grid-panel .staff li")
    panel = page.locator("#grid-panel").inner_text()
    assert "微网格" in panel and grid.name in panel  # the micro-grid, below the worker's grid
    assert "王小明" in panel and "楼门长" in panel
    assert "139****5678" in panel and "13912345678" not in panel
    screenshot("grid-map-worker")


def test_the_admin_sees_the_whole_district_deeper_as_they_zoom_in(district, live_server, page, screenshot):
    log_in(page, live_server, admin_user())
    page.goto(f"{live_server.url}/grids/map/")
    page.wait_for_selector("#grid-map[data-loaded]")
    grids = page.locator("#grid-map")
    # The whole street at once, as deep as its zoom shows: 1 street, 2 communities, 4 grids, 8 micro-grids.
    shown = {"2": "3", "3": "7", "4": "15", "5": "15"}
    level = grids.get_attribute("data-level")
    assert grids.get_attribute("data-loaded") == shown[level]
    screenshot("grid-map-admin")
    if level < "4":  # closer in: the micro-grids in view are drawn too
        page.get_by_role("button", name="Zoom in").click()
        page.get_by_role("button", name="Zoom in").click()
        page.wait_for_function("document.getElementById('grid-map').dataset.level >= '4'")
        assert int(grids.get_attribute("data-loaded")) > int(shown[level])
