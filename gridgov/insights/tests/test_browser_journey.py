"""研判 in a real browser: a community leader opens /insights/, runs the analysis over seeded cases (a
planted hotspot: eight cases of one category within about 40 m, and six of another class elsewhere),
sees the hotspots on the list, the map and the chart, opens the planted one, acknowledges it and
assigns it to the grid's leader, then dismisses the other with a reason. Screenshots land in
test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.categories import STANDARD
from gridgov.cases.models import Case, Category
from gridgov.consoles.tests.test_browser_journeys import shot
from gridgov.core.testing import make_district, staff
from gridgov.insights.models import EarlyWarning

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
SPOT = (31.3051, 120.5051)  # community 1, grid 2, micro-grid 1
ELSEWHERE = (31.3151, 120.5151)  # community 1, grid 2, micro-grid 2
M = 1 / 111_000  # about a metre in degrees


def seed(category, at, count, grid):
    now = timezone.now()
    for n in range(count):  # within about 40 m of each other
        Case.objects.create(
            channel=Case.Channel.WORKER,
            state=Case.State.REGISTERED,
            category=category,
            description="有问题需要处理",
            grid=grid,
            lat=at[0] + (n % 3) * 15 * M,
            lon=at[1] + (n // 3) * 15 * M,
            reported_at=now - timedelta(days=n, minutes=5),
        )


def test_a_leader_runs_the_analysis_and_works_the_hotspots(live_server, browser_for):
    district = make_district()
    garbage = Category.objects.get(standard_ref=STANDARD, kind="matter", code="06010")  # 暴露垃圾
    other = (
        Category.objects.filter(kind="matter", children__isnull=True)
        .exclude(code__startswith="06")
        .order_by("code")
        .first()
    )
    seed(garbage, SPOT, 8, district.micro_grids[2])
    seed(other, ELSEWHERE, 6, district.micro_grids[3])
    grid_leader = staff(Role.GRID_LEADER, district.grids[1])
    leader = browser_for(staff(Role.LEADER, district.communities[0]))

    leader.locator("#nav-insights").click()
    leader.wait_for_selector("#run-form")
    assert leader.locator("#warnings tr[data-warning]").count() == 0
    leader.locator("#run-form button").click()
    leader.wait_for_selector("p.ok")
    assert leader.locator('#warnings tr[data-kind="hotspot"]').count() == 2
    planted = EarlyWarning.objects.get(kind=EarlyWarning.Kind.HOTSPOT, evidence__count=8)
    second = EarlyWarning.objects.get(kind=EarlyWarning.Kind.HOTSPOT, evidence__count=6)
    assert planted.grid == district.micro_grids[2] and planted.evidence["radius_m"] <= 40
    # The map: one circle per hotspot, in a "hotspot" layer; the chart of open warnings by kind.
    leader.wait_for_function("document.getElementById('insights-map').dataset.loaded === '2'")
    assert leader.locator(f'#insights-map [data-warning="{planted.pk}"]').count() == 1
    assert leader.locator(".leaflet-control-layers label").count() == 1
    leader.wait_for_selector('[data-chart="by-kind"][data-drawn="1"]')
    shot(leader, "insights-list")
    # The circle's popup links to the warning.
    leader.locator(f'#insights-map [data-warning="{planted.pk}"]').click(force=True)
    popup_link = leader.locator(".leaflet-popup .insights-popup-link")
    popup_link.wait_for()
    assert popup_link.get_attribute("href") == f"/insights/{planted.pk}/"

    popup_link.click()
    leader.wait_for_selector("#warning-title")
    assert leader.locator("#warning-cases tr[data-case]").count() == 8
    leader.locator("#step-acknowledge button").click()
    leader.wait_for_selector('#warning-state[data-state="acknowledged"]')
    leader.select_option("#s-assignee", str(grid_leader.pk))
    leader.locator("#s-note-assign").fill("请本周内清理并设置提示牌")
    leader.locator("#step-assign button").click()
    leader.wait_for_selector('#warning-state[data-state="assigned"]')
    assert leader.locator("#warning-log li").count() == 2
    shot(leader, "insights-warning")

    leader.goto(f"{live_server.url}/insights/")
    leader.locator(f'#warnings tr[data-warning="{second.pk}"] a').first.click()
    leader.wait_for_selector("#step-dismiss")
    leader.locator("#s-note-dismiss").fill("施工临时堆放，已于昨日清运")
    leader.locator("#step-dismiss button").click()
    leader.wait_for_selector('#warning-state[data-state="dismissed"]')

    planted.refresh_from_db()
    second.refresh_from_db()
    assert planted.state == EarlyWarning.State.ASSIGNED and planted.assignee == grid_leader
    assert second.state == EarlyWarning.State.DISMISSED and second.note == "施工临时堆放，已于昨日清运"
    assert list(second.logs.values_list("action", "note")) == [("dismiss", "施工临时堆放，已于昨日清运")]
