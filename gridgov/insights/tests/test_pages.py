"""The 研判 pages: a leader lists and maps the warnings of their own area only, works a warning through
its steps from its page (a refused step says why and saves nothing), runs the analysis at most every
five minutes; grid workers are refused. The period report carries the 研判 sheet and section, the
dashboard its section, and the top bar and the leader's console link to /insights/."""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import pgettext

from gridgov.accounts.models import Role
from gridgov.cases.categories import STANDARD
from gridgov.cases.models import Case, Category
from gridgov.core.testing import staff
from gridgov.insights.models import AnalysisRun, EarlyWarning, WarningLog
from gridgov.population import testing as registry

pytestmark = pytest.mark.django_db
SPOT = (31.3051, 120.5051)  # inside community 1


def warning(grid, kind=EarlyWarning.Kind.HOTSPOT, *, source=EarlyWarning.Source.CASES, **fields):
    now = timezone.now()
    return EarlyWarning.objects.create(
        kind=kind,
        key=fields.pop("key", f"test:{EarlyWarning.objects.count()}"),
        source=source,
        grid=grid,
        title=fields.pop("title", "8 起暴露垃圾集中在 40 米内"),
        first_seen_at=fields.pop("first_seen_at", now),
        last_seen_at=now,
        **fields,
    )


@pytest.fixture
def garbage():
    return Category.objects.get(standard_ref=STANDARD, kind="matter", code="06010")


@pytest.fixture
def leader(district):
    return staff(Role.LEADER, district.communities[0])


def test_a_leader_lists_and_maps_the_warnings_of_their_area_only(district, leader, client_for):
    mine = warning(
        district.micro_grids[0],
        severity=EarlyWarning.Severity.HIGH,
        lat=SPOT[0],
        lon=SPOT[1],
        evidence={"count": 8, "radius_m": 40, "cases": []},
    )
    gone = warning(
        district.micro_grids[1],
        EarlyWarning.Kind.RECURRENCE,
        is_current=False,
        lat=SPOT[0],
        lon=SPOT[1] + 0.001,
    )
    theirs = warning(district.micro_grids[6], lat=31.31, lon=120.53)  # community 2
    closed = warning(district.micro_grids[0], state=EarlyWarning.State.DISMISSED, lat=SPOT[0], lon=SPOT[1])
    client = client_for(leader)
    page = client.get("/insights/").content.decode()
    assert f'data-warning="{mine.pk}"' in page and f'data-warning="{gone.pk}"' in page
    assert (
        f'data-warning="{theirs.pk}"' not in page and f'data-warning="{closed.pk}"' not in page
    )  # open only
    assert 'data-severity="3"' in page and "tag-high" in page and 'data-gone="1"' in page
    assert 'id="nav-insights"' in page  # the top bar's link
    # The filters: dismissed ones, the latest run's only, a grid, a kind.
    assert f'data-warning="{closed.pk}"' in client.get("/insights/?state=dismissed").content.decode()
    current = client.get("/insights/?current=1").content.decode()
    assert f'data-warning="{mine.pk}"' in current and f'data-warning="{gone.pk}"' not in current
    by_grid = client.get(f"/insights/?grid={district.grids[0].code}&kind=hotspot").content.decode()
    assert f'data-warning="{mine.pk}"' in by_grid and f'data-warning="{gone.pk}"' not in by_grid
    # The map's points: the same area and filters, each linking to its warning.
    points = client.get("/insights/map.json").json()["warnings"]
    assert {p["id"] for p in points} == {mine.pk, gone.pk}
    spot = next(p for p in points if p["id"] == mine.pk)
    assert spot["radius_m"] == 40 and spot["url"] == f"/insights/{mine.pk}/" and spot["kind"] == "hotspot"
    assert [p["id"] for p in client.get("/insights/map.json?kind=recurrence").json()["warnings"]] == [gone.pk]
    # Another area's warning is not found.
    assert client.get(f"/insights/{theirs.pk}/").status_code == 404


def test_grid_workers_are_refused(district, client_for):
    found = warning(district.micro_grids[0])
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    assert worker.get("/insights/").status_code == 403
    assert worker.get("/insights/map.json").status_code == 403
    assert worker.get(f"/insights/{found.pk}/").status_code == 403
    worker.post(f"/insights/{found.pk}/acknowledge/", {"note": ""})
    found.refresh_from_db()
    assert found.state == EarlyWarning.State.NEW and not WarningLog.objects.exists()
    assert 'id="nav-insights"' not in worker.get("/").content.decode()


def test_a_warning_s_page_shows_its_cases_and_its_steps_work(district, leader, client_for, garbage):
    case = Case.objects.create(
        channel=Case.Channel.WORKER,
        state=Case.State.DISPATCHED,
        category=garbage,
        description="暴露垃圾",
        grid=district.micro_grids[0],
        lat=SPOT[0],
        lon=SPOT[1],
        reported_at=timezone.now() - timedelta(days=1),
    )
    elsewhere = Case.objects.create(
        channel=Case.Channel.WORKER,
        state=Case.State.DISPATCHED,
        category=garbage,
        description="暴露垃圾",
        grid=district.micro_grids[6],
        lat=31.31,
        lon=120.53,
        reported_at=timezone.now() - timedelta(days=1),
    )
    found = warning(district.micro_grids[0], evidence={"cases": [case.pk, elsewhere.pk], "count": 2})
    worker = staff(Role.GRID_WORKER, district.micro_grids[0])
    client = client_for(leader)
    url = f"/insights/{found.pk}/"
    page = client.get(url).content.decode()
    assert f'href="/cases/{case.pk}/"' in page and case.number in page
    assert elsewhere.number not in page and 'id="hidden-cases"' in page  # outside the leader's area
    assert 'id="step-acknowledge"' in page and 'id="step-reopen"' not in page
    assert f'<option value="{worker.pk}">' in page  # someone on the grid's line to assign it to

    response = client.post(f"{url}acknowledge/", {"note": "", "next": url}, follow=True)
    assert response.redirect_chain[-1][0] == url
    found.refresh_from_db()
    assert found.state == EarlyWarning.State.ACKNOWLEDGED
    client.post(f"{url}assign/", {"assignee_id": worker.pk, "note": "请核实", "next": url})
    found.refresh_from_db()
    assert found.state == EarlyWarning.State.ASSIGNED and found.assignee == worker
    assert list(found.logs.values_list("action", flat=True)) == ["acknowledge", "assign"]
    page = client.get(url).content.decode()
    assert 'id="warning-assignee"' in page and 'data-action="assign"' in page


def test_a_refused_step_says_why_and_saves_nothing(district, leader, client_for):
    found = warning(district.micro_grids[0])
    outsider = staff(Role.GRID_WORKER, district.micro_grids[6])  # community 2: not on the grid's line
    client = client_for(leader)
    url = f"/insights/{found.pk}/"
    # Dismissing without a reason.
    page = client.post(f"{url}dismiss/", {"note": " ", "next": url}, follow=True).content.decode()
    assert 'class="error"' in page
    # Reopening what is open, assigning to someone outside the area.
    page = client.post(f"{url}reopen/", {"note": "再看看", "next": url}, follow=True).content.decode()
    assert 'class="error"' in page
    page = client.post(
        f"{url}assign/", {"assignee_id": outsider.pk, "next": url}, follow=True
    ).content.decode()
    assert 'class="error"' in page and found.grid.name in page
    found.refresh_from_db()
    assert found.state == EarlyWarning.State.NEW and found.assignee is None and found.note == ""
    assert not found.logs.exists()


def test_registry_warnings_name_their_people_masked(district, leader, client_for):
    person = registry.person(registry.household(district.micro_grids[0]), "李奶奶")
    found = warning(
        district.micro_grids[0],
        EarlyWarning.Kind.CARE_UNVISITED,
        source=EarlyWarning.Source.REGISTRY,
        evidence={"people": [person.pk], "interval": 7},
    )
    page = client_for(leader).get(f"/insights/{found.pk}/").content.decode()
    assert "李奶奶" in page and person.id_number_masked in page
    assert person.id_number not in page and person.phone not in page


def test_a_trend_s_weeks_are_drawn_on_its_page(district, leader, client_for):
    found = warning(
        district.grids[0],
        EarlyWarning.Kind.TREND,
        evidence={"week": "2026-03-02", "weeks": [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 12], "count": 12},
    )
    page = client_for(leader).get(f"/insights/{found.pk}/").content.decode()
    assert 'data-chart="weeks"' in page and 'id="insights-weeks"' in page and '"03-02"' in page


def test_the_analysis_runs_from_the_page_at_most_every_five_minutes(district, leader, client_for):
    client = client_for(leader)
    client.post("/insights/run/")
    assert AnalysisRun.objects.count() == 1 and AnalysisRun.objects.get().requested_by == leader
    page = client.post("/insights/run/", follow=True).content.decode()
    assert AnalysisRun.objects.count() == 1 and 'class="ok"' in page
    AnalysisRun.objects.update(finished_at=timezone.now() - timedelta(minutes=6))
    client.post("/insights/run/")
    assert AnalysisRun.objects.count() == 2
    # Those who do not read warnings cannot run it.
    client_for(staff(Role.GRID_WORKER, district.grids[0])).post("/insights/run/")
    assert AnalysisRun.objects.count() == 2


def test_the_report_carries_the_analysis_sheet(district, leader, client_for):
    from openpyxl import load_workbook

    warning(
        district.micro_grids[0],
        title="12 起暴露垃圾集中在 60 米内",
        evidence={"count": 12, "radius_m": 60},
        severity=EarlyWarning.Severity.HIGH,
    )
    warning(district.micro_grids[0], title="8 起暴露垃圾集中在 40 米内", evidence={"count": 8})
    warning(
        district.micro_grids[1],
        EarlyWarning.Kind.RECURRENCE,
        title="暴露垃圾关闭后又出现 2 次",
        evidence={"count": 3, "recurred": 2},
        state=EarlyWarning.State.ACKNOWLEDGED,
    )
    warning(district.micro_grids[6], title="别的社区的热点", evidence={"count": 30})  # community 2
    response = client_for(leader).get("/analytics/report.xlsx?period=month")
    assert response.status_code == 200, response.content[:300]
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book[pgettext("insights", "Analysis")[:31]].iter_rows(values_only=True))
    cells = [c for row in rows for c in row if c]
    assert "12 起暴露垃圾集中在 60 米内" in cells and "暴露垃圾关闭后又出现 2 次" in cells
    assert "别的社区的热点" not in cells
    spots = [row for row in rows if row and row[0] in ("1", "2")]
    assert [(r[1], r[3]) for r in spots] == [
        ("12 起暴露垃圾集中在 60 米内", "12"),
        ("8 起暴露垃圾集中在 40 米内", "8"),
    ]
    figures = {row[0]: row[1] for row in rows[:6]}
    assert list(figures.values()) == ["3", "1", "3", "3", "0", "0"]
    # A dispatcher's report has the sheet too; those who do not read warnings have no figures for it.
    from gridgov.analytics.periods import period_of
    from gridgov.insights import figures

    month = period_of("month", timezone.localdate())
    assert figures.build(staff(Role.DISPATCHER, district.street), month)["totals"]["open"] == 4
    assert figures.build(staff(Role.GRID_WORKER, district.grids[0]), month) is None


def test_the_pdf_carries_the_analysis_section(district, leader, client_for):
    from pypdf import PdfReader

    from gridgov.analytics import report

    try:
        report.font_path()
    except report.ReportUnavailable:
        pytest.skip("no Chinese font on this machine (./dev.sh test installs fonts-wqy-microhei)")
    warning(district.micro_grids[0], title="12 起暴露垃圾集中在 60 米内", evidence={"count": 12})
    response = client_for(leader).get("/analytics/report.pdf?period=month")
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert pgettext("insights", "Analysis") in text and "60" in text


def test_the_dashboard_and_the_console_link_to_the_warnings(district, leader, client_for):
    warning(district.micro_grids[0], severity=EarlyWarning.Severity.HIGH)
    warning(district.micro_grids[0], EarlyWarning.Kind.RECURRENCE)
    resolved = warning(district.micro_grids[0], state=EarlyWarning.State.RESOLVED)
    WarningLog.objects.create(warning=resolved, action="resolve", actor=leader, note="已清理")
    warning(district.micro_grids[6])  # community 2
    client = client_for(leader)
    page = client.get("/analytics/?period=month").content.decode()
    section = page[page.index('id="insight-figures"') :]
    assert '<strong data-figure="open">2</strong>' in section
    assert '<strong data-figure="high">1</strong>' in section
    assert '<strong data-figure="new">3</strong>' in section
    assert '<strong data-figure="resolved">1</strong>' in section
    assert 'id="insights-dashboard-link"' in section
    assert 'id="insights-link"' in client.get("/console/leader/").content.decode()


def test_the_assign_form_offers_the_candidates_of_the_api(district, leader, client_for):
    found = warning(district.grids[0])
    on_grid = staff(Role.GRID_WORKER, district.grids[0])
    below = staff(Role.GRID_WORKER, district.micro_grids[0])  # their area does not include the grid
    outsider = staff(Role.GRID_WORKER, district.micro_grids[6])
    client = client_for(leader)
    page = client.get(f"/insights/{found.pk}/").content.decode()
    offered = {int(v) for v in re.findall(r'<option value="(\d+)">', page)}
    listed = {c["id"] for c in client.get(f"/api/v1/insights/warnings/{found.pk}/candidates").json()}
    assert offered == listed == {leader.pk, on_grid.pk}
    assert below.pk not in offered and outsider.pk not in offered
