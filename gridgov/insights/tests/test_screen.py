"""研判 on the command centre's big screen (/analytics/screen/): open warnings by kind and severity,
the newest of high severity and the top hotspots of the viewer's area only — sensitive ones only for
those who see the special-population tags —, no panel for those who do not read warnings, the same
figures from the API the panel refreshes from, and a fixed number of queries however many warnings
there are."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.insights.models import EarlyWarning

pytestmark = pytest.mark.django_db
Kind, Severity = EarlyWarning.Kind, EarlyWarning.Severity


def warning(grid, kind=Kind.HOTSPOT, *, title, age_days=0, **fields):
    found = timezone.now() - timedelta(days=age_days)
    return EarlyWarning.objects.create(
        kind=kind,
        key=f"screen:{EarlyWarning.objects.count()}",
        source=fields.pop("source", EarlyWarning.Source.CASES),
        grid=grid,
        title=title,
        first_seen_at=found,
        last_seen_at=found,
        **fields,
    )


def panel_of(page: str) -> str:
    start = page.index('id="insight-screen"')
    return page[start : page.index("</section>", start)]


def test_the_panel_shows_the_warnings_of_the_viewer_s_area_only(district, client_for):
    warning(
        district.micro_grids[0],
        title="12 起暴露垃圾集中在 60 米内",
        severity=Severity.HIGH,
        evidence={"count": 12},
        age_days=3,
    )
    warning(district.micro_grids[2], title="8 起占道经营集中在 40 米内", evidence={"count": 8})
    warning(district.grids[0], Kind.TREND, title="本周案件远超往常", severity=Severity.HIGH)
    warning(
        district.micro_grids[0],
        title="已处置的热点",
        severity=Severity.HIGH,
        state=EarlyWarning.State.RESOLVED,
    )
    warning(district.micro_grids[6], title="别的社区的热点", severity=Severity.HIGH, evidence={"count": 30})
    warning(
        district.micro_grids[0],
        Kind.CARE_UNVISITED,
        title="特殊人群未走访",
        severity=Severity.HIGH,
        source=EarlyWarning.Source.REGISTRY,
        is_sensitive=True,
    )
    leader = client_for(staff(Role.LEADER, district.communities[0]))
    response = leader.get("/analytics/screen/")
    assert response.status_code == 200
    page = response.content.decode()
    panel = panel_of(page)
    assert (
        '<strong data-insight="open">4</strong>' in panel
        and '<strong data-insight="high">3</strong>' in panel
    )
    assert "本周案件远超往常" in panel and "特殊人群未走访" in panel  # leaders see the sensitive ones
    assert "别的社区的热点" not in page and "已处置的热点" not in page
    newest = panel[panel.index('id="insight-screen-newest"') : panel.index('id="insight-screen-hotspots"')]
    assert newest.index("本周案件远超往常") < newest.index("12 起暴露垃圾集中在 60 米内")  # newest first
    assert "3" in newest[newest.index("12 起暴露垃圾") :]  # its age: 3 days
    hotspots = panel[panel.index('id="insight-screen-hotspots"') :]
    assert hotspots.index("12 起暴露垃圾") < hotspots.index("8 起占道经营")  # largest first
    assert '<tr data-kind="hotspot"><td>' in panel and "gridgov/bigscreen-insights.js" in page
    assert "/api/v1/insights/screen" in panel

    # The API the panel refreshes from gives the same figures.
    data = leader.get("/api/v1/insights/screen").json()
    assert data["totals"] == {"open": 4, "high": 3}
    assert [h["title"] for h in data["hotspots"]] == [
        "12 起暴露垃圾集中在 60 米内",
        "8 起占道经营集中在 40 米内",
    ]
    assert {k["kind"]: k["severity"] for k in data["kinds"]}["hotspot"] == [0, 1, 1]

    # The command centre reads warnings but not the special-population tags.
    dispatcher = client_for(staff(Role.DISPATCHER, district.communities[0]))
    panel = panel_of(dispatcher.get("/analytics/screen/").content.decode())
    assert "本周案件远超往常" in panel and "特殊人群未走访" not in panel
    # A grid chosen on the screen narrows the panel to it.
    narrowed = leader.get(f"/analytics/screen/?grid={district.grids[0].code}").content.decode()
    assert "本周案件远超往常" in panel_of(narrowed) and "8 起占道经营" not in panel_of(narrowed)


def test_no_panel_for_those_who_do_not_read_warnings(district, client_for):
    warning(district.micro_grids[0], title="12 起暴露垃圾集中在 60 米内", severity=Severity.HIGH)
    auditor = client_for(staff(Role.AUDITOR))  # the leaders' console and dashboards, not 研判
    page = auditor.get("/analytics/screen/")
    assert page.status_code == 200
    assert 'id="insight-screen"' not in page.content.decode() and "12 起暴露垃圾" not in page.content.decode()
    assert "bigscreen-insights.js" not in page.content.decode()
    assert auditor.get("/api/v1/insights/screen").status_code == 403


def test_the_panel_takes_a_fixed_number_of_queries(district, client_for, django_assert_max_num_queries):
    leader = client_for(staff(Role.LEADER, district.communities[0]))
    warning(district.micro_grids[0], title="热点 0", severity=Severity.HIGH, evidence={"count": 5})
    leader.get("/analytics/screen/")  # sessions, content types and the like, read once
    with CaptureQueriesContext(connection) as few:
        assert leader.get("/analytics/screen/").status_code == 200
    kinds = [Kind.HOTSPOT, Kind.RECURRENCE, Kind.TREND, Kind.REPEAT_CALLER]
    for n in range(1, 41):
        warning(
            district.micro_grids[n % 4],
            kinds[n % 4],
            title=f"预警 {n}",
            severity=Severity.HIGH if n % 2 else Severity.MEDIUM,
            evidence={"count": n},
            age_days=n % 7,
        )
    with django_assert_max_num_queries(len(few)):
        page = leader.get("/analytics/screen/").content.decode()
    assert '<strong data-insight="open">41</strong>' in panel_of(page)
