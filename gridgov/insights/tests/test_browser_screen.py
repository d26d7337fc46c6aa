"""The command centre's big screen in a real browser: the 研判 panel and the case figures are
fetched again by the screen's one refresh loop (dashboard.js `gridgovRefresh`) and redrawn,
without a reload. The page's clock is Playwright's, run forward a minute."""

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import make_district, staff
from gridgov.insights.models import EarlyWarning
from gridgov.insights.tests.test_screen import warning

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_big_screen_refreshes_the_warnings_panel_and_the_figures(live_server, browser_for):
    district = make_district()
    grid = district.micro_grids[2]
    warning(grid, title="枫桥一号楼垃圾堆放热点", severity=EarlyWarning.Severity.HIGH)
    page = browser_for(staff(Role.LEADER, district.communities[0]))
    page.clock.install()
    page.goto(f"{live_server.url}/analytics/screen/")
    page.wait_for_selector("#insight-screen")
    assert page.locator('[data-insight="open"]').inner_text() == "1"
    assert page.locator("#insight-screen-newest li[data-warning]").count() == 1
    drawn_at = page.locator("#screen-updated").inner_text()

    warning(grid, title="同一地点重复发生的噪音扰民", kind=EarlyWarning.Kind.RECURRENCE,
            severity=EarlyWarning.Severity.HIGH)
    page.clock.run_for(61_000)
    page.wait_for_function(
        "document.querySelector('[data-insight=\"open\"]').textContent === '2'")
    assert page.locator("#insight-screen-newest li[data-warning]").count() == 2
    assert "同一地点重复发生的噪音扰民" in page.locator("#insight-screen-newest").inner_text()
    # The case figures were fetched and redrawn too (their own request), at the clock's new time.
    page.wait_for_function("(before) => document.getElementById('screen-updated').textContent !== before",
                           arg=drawn_at)
