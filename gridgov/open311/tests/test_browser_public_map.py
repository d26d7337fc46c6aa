"""The public map in a real browser, with no login: the grids and the public reports' dots, a
popup with the service and status, and the status filter."""

import pytest

from gridgov.cases.models import Category
from gridgov.consoles.tests.test_browser_journeys import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_anyone_sees_recent_reports_on_the_public_map(world, report, live_server, page):
    Category.objects.filter(pk=world.category.pk).update(is_public=True)
    report()
    page.goto(f"{live_server.url}/public/map/")
    page.wait_for_function("document.getElementById('public-map-count').textContent.includes('1')")
    assert "1" in page.locator("#public-map-count").inner_text()
    dot = page.locator("#public-map path.leaflet-interactive").first
    area = page.locator("#public-map path").first.bounding_box()  # the street's outline
    box = dot.bounding_box()
    assert (
        area["x"] < box["x"] < area["x"] + area["width"] and area["y"] < box["y"] < area["y"] + area["height"]
    )
    dot.click()
    page.wait_for_selector(".leaflet-popup-content")
    assert world.category.name in page.locator(".leaflet-popup-content").inner_text()
    shot(page, "public-map")
    page.select_option("#pm-status", "closed")
    page.get_by_role("button", name="显示").click()
    page.wait_for_function("document.getElementById('public-map-count').textContent.endsWith(' 0')")
