"""The leader's dashboard and big screen: every chart adds up, drills down to its cases, reads
the same from rollups and raw cases, and shows only the leader's area."""

from urllib.parse import urlsplit

import pytest

from gridgov.accounts.models import Role
from gridgov.analytics import dashboard, kpis, rollups
from gridgov.analytics.periods import Period
from gridgov.core.testing import staff

pytestmark = pytest.mark.django_db
SEPTEMBER = Period("month", __import__("datetime").date(2026, 9, 1), __import__("datetime").date(2026, 10, 1))
QUERY = "period=month&date=2026-09-01"


def drilled(client, drill: str) -> int:
    """How many cases the case list behind a chart entry holds (the API takes the page's query)."""
    assert urlsplit(drill).path == "/cases/"
    return client.get(f"/api/v1/cases?{urlsplit(drill).query}").json()["count"]


def test_the_charts_add_up_to_the_totals(september):
    board = dashboard.build(september.leader, SEPTEMBER)
    totals = board["totals"]
    # Community 1 in September: c1–c10 and c13's registration; c12 is community 2's.
    assert totals["reported"] == 10  # c1–c10 (c13 was reported on Aug 31)
    assert sum(c["reported"] for c in board["categories"]) == totals["reported"]
    assert sum(c["reported"] for c in board["channels"]) == totals["reported"]
    assert sum(p["reported"] for p in board["trend"]["points"]) == totals["reported"]
    assert sum(p["registered"] for p in board["trend"]["points"]) == totals["registered"]
    assert sum(a["reported"] for a in board["areas"]) == totals["reported"]
    assert board["trend"]["unit"] == "day" and len(board["trend"]["points"]) == 30
    channels = {c["code"]: c["reported"] for c in board["channels"]}
    assert channels == {"worker": 6, "self_resolved": 1, "resident": 2, "hotline": 1}
    # Open now: c8 (accepted, extended) and c10 (registered); the merged c9 is final.
    assert board["open_now"]["open"] == 2 and sum(light["open"] for light in board["lights"]) == 2


def test_every_chart_entry_lists_exactly_its_cases(september, client_for):
    client = client_for(september.leader)
    board = client.get(f"/api/v1/analytics/dashboard?{QUERY}").json()
    assert drilled(client, board["drill"]) == board["totals"]["reported"]
    for entry in board["categories"] + board["top_problems"] + board["channels"] + board["areas"]:
        assert drilled(client, entry["drill"]) == entry["reported"], entry["name"]
    for point in board["trend"]["points"]:
        assert drilled(client, point["drill"]) == point["reported"], point["label"]
    for light in board["lights"]:
        assert drilled(client, light["drill"]) == light["open"], light["code"]


def test_rollups_and_raw_cases_draw_the_same_dashboard(september):
    rollups.rebuild()
    for user, grid in (
        (september.leader, ""),
        (september.leader, september.grid_b.code),
        (staff(Role.LEADER, september.district.street), ""),
    ):
        from_rollups = dashboard.build(user, SEPTEMBER, grid, source="rollup")
        from_cases = dashboard.build(user, SEPTEMBER, grid, source="raw")
        for key in ("totals", "rates", "trend", "categories", "top_problems", "channels", "areas", "visits"):
            assert from_rollups[key] == from_cases[key], key
    assert dashboard.build(september.leader, SEPTEMBER, source="rollup")["visits"]["households"] == 6
    # The workers' visits due come from the visit rollups too: 6 households × 30 / 90 = 2.
    workers, used = kpis.worker_rows(september.leader, SEPTEMBER, source="rollup")
    assert used == "rollup" and workers == kpis.worker_rows(september.leader, SEPTEMBER, source="raw")[0]
    assert {r.key: r.figures["visits_due"] for r in workers}[str(september.worker.pk)] == 2


def test_a_community_leader_sees_only_their_community(september, client_for):
    street_leader = staff(Role.LEADER, september.district.street)
    mine = dashboard.build(september.leader, SEPTEMBER)["totals"]["reported"]
    street = dashboard.build(street_leader, SEPTEMBER)["totals"]["reported"]
    assert (mine, street) == (10, 11)  # the street adds community 2's c12
    other = september.district.communities[1].code
    assert (
        client_for(september.leader).get(f"/api/v1/analytics/dashboard?{QUERY}&grid={other}").status_code
        == 404
    )


def test_a_year_is_drawn_per_month_up_to_today(september):
    from datetime import date

    from django.utils import timezone

    board = dashboard.build(september.leader, Period("year", date(2026, 1, 1), date(2027, 1, 1)))
    labels = [p["label"] for p in board["trend"]["points"]]
    assert board["trend"]["unit"] == "month" and labels[0] == "2026-01"
    assert labels[-1] == f"{timezone.localdate():%Y-%m}"
    assert sum(p["reported"] for p in board["trend"]["points"]) == 11  # c13 (Aug 31) counts in the year


def test_special_groups_hide_sensitive_groups_from_those_who_may_not_see_them(september):
    from gridgov.population import testing as registry

    home = registry.household(september.district.micro_grids[2], house_number="909")
    registry.person(home, name="甲", tags=("low_income", "community_correction"))
    leader = {g["code"]: g["people"] for g in dashboard.build(september.leader, SEPTEMBER)["special_groups"]}
    dispatcher = {
        g["code"]: g["people"]
        for g in dashboard.build(september.community_dispatcher, SEPTEMBER)["special_groups"]
    }
    assert leader == {"low_income": 1, "community_correction": 1}
    assert dispatcher == {"low_income": 1}
    assert dashboard.build(september.handler, SEPTEMBER)["special_groups"] is None  # no registry


def test_special_groups_from_the_tag_rollups_count_the_registry(september):
    from gridgov.population import testing as registry

    home = registry.household(september.district.micro_grids[2], house_number="909")
    registry.person(home, name="甲", tags=("low_income", "community_correction"))
    registry.person(home, name="乙", tags=("low_income",))
    registry.person(home, name="丙", tags=("low_income",), is_active=False)  # moved away: not counted
    rollups.rebuild()
    street_leader = staff(Role.LEADER, september.district.street)
    for user, grid in ((september.leader, ""), (september.leader, september.grid_b.code), (street_leader, ""),
                       (september.community_dispatcher, "")):
        from_rollups = dashboard.build(user, SEPTEMBER, grid, source="rollup")["special_groups"]
        assert from_rollups == dashboard.build(user, SEPTEMBER, grid, source="raw")["special_groups"]
    groups = dashboard.build(september.leader, SEPTEMBER, source="rollup")["special_groups"]
    assert {g["code"]: g["people"] for g in groups} == {"low_income": 2, "community_correction": 1}


def test_a_bad_period_is_400_per_field_in_chinese(september, client_for):
    response = client_for(september.leader).get("/api/v1/analytics/dashboard?period=custom&start=2026-09-10")
    assert response.status_code == 400
    assert response.json()["errors"] == {"end": ["请输入结束日期的次日。"]}


def test_the_pages_for_leaders_and_not_for_residents(september, client_for):
    leader = client_for(september.leader)
    page = leader.get(f"/analytics/?{QUERY}").content.decode()
    assert 'data-figure="reported">10<' in page and 'id="dashboard-data"' in page
    screen = leader.get(f"/analytics/screen/?{QUERY}")
    assert screen.status_code == 200 and b"big-screen" in screen.content
    assert b"/api/v1/analytics/dashboard?period=month" in screen.content
    assert client_for(september.resident).get("/analytics/").status_code == 403
    assert client_for(september.worker).get("/analytics/screen/").status_code == 403
    errors = leader.get("/analytics/?period=fortnight").content.decode()
    assert "请选择日、周、月、季、年或自定义。" in errors


def test_the_monthly_report_opens_in_excel_with_the_figures(september, client_for):
    import io

    from openpyxl import load_workbook

    response = client_for(september.leader).get(f"/analytics/report.xlsx?{QUERY}")
    assert response.status_code == 200
    assert "gridgov-report-20260901-20261001.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    summary = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True) if row and row[0]}
    assert summary["上报数"] == "10" and summary["结案率"] == dashboard_rate(september, "closure")
    assert sum(row[1] for row in book["趋势"].iter_rows(min_row=2, values_only=True)) == 10
    assert book["趋势"]._charts and [c.value for c in book["区域"][1]][:3] == ["名次", "变化", "名称"]


def dashboard_rate(september, name) -> str:
    value = dashboard.build(september.leader, SEPTEMBER)["rates"][name]
    return f"{value * 100:.1f}%"


def test_the_pdf_report_embeds_its_chinese_font_and_carries_the_figures(september, client_for):
    import io

    from pypdf import PdfReader

    from gridgov.analytics import report

    try:
        report.font_path()
    except report.ReportUnavailable:
        pytest.skip("no Chinese font on this machine (./dev.sh test installs fonts-wqy-microhei)")
    response = client_for(september.leader).get(f"/api/v1/analytics/report/pdf?{QUERY}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"/FontFile2" in response.content  # the TrueType subset travels with the file
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "网格化治理报告 2026-09" in text and "上报数" in text and "网格员" in text
    assert dashboard_rate(september, "on_time") in text


def test_reports_are_refused_to_residents_and_outside_the_area(september, client_for):
    assert client_for(september.resident).get(f"/analytics/report.xlsx?{QUERY}").status_code == 403
    other = september.district.communities[1].code
    leader = client_for(september.leader)
    assert leader.get(f"/api/v1/analytics/report/pdf?{QUERY}&grid={other}").status_code == 404
    assert leader.get(f"/api/v1/analytics/report/doc?{QUERY}").status_code == 404
