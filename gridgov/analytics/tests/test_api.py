"""The analytics API over HTTP: ranking tables for a period, 400 per field for a bad period, and
the case list of the cases behind a figure."""

import pytest

pytestmark = pytest.mark.django_db

SEPTEMBER = "period=month&date=2026-09-15"


def get(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.content
    return response.json()


def test_the_areas_of_a_leader_ranked_for_a_month(september, client_for):
    s = september
    data = get(client_for(s.leader), f"/api/v1/analytics/areas?{SEPTEMBER}")
    assert data["period"] == {"kind": "month", "start": "2026-09-01", "end": "2026-10-01", "label": "2026-09"}
    assert data["previous"]["label"] == "2026-08" and data["grid"] == "" and data["source"] == "raw"
    assert "CJ/T 292" in data["caveat"]
    b, a = data["rows"]
    # The figures of test_kpis, computed by hand there.
    assert (b["key"], b["rank"], b["movement"], b["score"], b["grade"]) == (s.grid_b.code, 1, None, 83.0, "B")
    assert (a["key"], a["rank"], a["movement"], a["score"], a["grade"]) == (s.grid_a.code, 2, None, 48.8, "D")
    assert b["figures"]["closed_on_time"] == 4 and b["rates"]["on_time"] == 0.8
    assert a["rates"]["self_resolved"] == 0.0 and b["components"]["caseload"] == 75
    assert b["name"] == s.grid_b.name and b["kind"] == "area"


def test_areas_of_a_chosen_grid_or_level(september, client_for):
    s = september
    client = client_for(s.auditor)
    street = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}")
    rows = {r["key"]: r for r in street["rows"]}
    assert set(rows) == {c.code for c in s.district.communities}
    assert rows[s.district.communities[0].code]["figures"]["reported"] == 10
    in_b = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}&grid={s.grid_b.code}")
    assert in_b["grid"] == s.grid_b.code
    # Every grid B case was reported in its first micro-grid: 6 there, none in the other.
    assert {r["key"]: r["figures"]["reported"] for r in in_b["rows"]} == {
        s.district.micro_grids[2].code: 6, s.district.micro_grids[3].code: 0}
    grids = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}&level=3")
    assert {r["key"] for r in grids["rows"]} == {g.code for g in s.district.grids}
    bad = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}&level=three", 400)
    assert bad["errors"] == {"level": ["请输入数字。"]}
    above = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}&grid={s.grid_b.code}&level=2", 400)
    assert above["errors"] == {"level": ["请选择所选网格以下的层级。"]}


def test_fresh_rollups_give_the_same_answer(september, client_for):
    from gridgov.analytics import rollups

    client = client_for(september.leader)
    raw = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}")
    rollups.refresh()
    from_rollups = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}")
    assert (raw["source"], from_rollups["source"]) == ("raw", "rollup")
    assert from_rollups["rows"] == raw["rows"]
    departments = get(client, f"/api/v1/analytics/departments?{SEPTEMBER}")
    assert departments["source"] == "rollup" and departments["rows"][1]["figures"]["returns"] == 1


def test_workers_departments_and_dispatchers(september, client_for):
    s = september
    client = client_for(s.leader)
    workers = get(client, f"/api/v1/analytics/workers?{SEPTEMBER}")
    assert [(r["key"], r["rank"], r["score"]) for r in workers["rows"]] == [
        (str(s.worker_a.pk), 1, 93.8), (str(s.worker.pk), 2, 68.0)]
    assert workers["rows"][1]["figures"]["visits_due"] == 2 and workers["source"] == "raw"
    departments = get(client, f"/api/v1/analytics/departments?{SEPTEMBER}")
    assert [(r["name"], r["score"], r["figures"]["returns"]) for r in departments["rows"]] == [
        ("枫桥派出所", 100.0, 0), ("枫桥街道环卫所", 80.0, 1)]
    dispatchers = get(client, f"/api/v1/analytics/dispatchers?{SEPTEMBER}")
    assert [(r["key"], r["figures"], r["rank"]) for r in dispatchers["rows"]] == [
        (str(s.community_dispatcher.pk), {"registered": 9, "dispatched": 7, "accurate": 6}, None)]
    # A custom range is the same as the month it spans.
    custom = get(client, "/api/v1/analytics/dispatchers?period=custom&start=2026-09-01&end=2026-10-01")
    assert custom["rows"][0]["figures"] == dispatchers["rows"][0]["figures"]
    assert custom["period"]["label"] == "2026-09-01 – 2026-09-30"
    assert custom["previous"]["end"] == "2026-09-01"


@pytest.mark.parametrize(("query", "errors"), [
    ("period=decade", {"period": ["请选择日、周、月、季、年或自定义。"]}),
    ("period=month&date=2026-02-30", {"date": ["请按 YYYY-MM-DD 格式输入日期。"]}),
    ("period=custom&start=2026-09-10&end=2026-09-01", {"end": ["结束必须晚于开始。"]}),
    ("period=custom&start=2010-01-01&end=2026-01-01", {"end": ["最多选择十年。"]}),
    ("period=custom&end=nope", {"start": ["请输入开始日期。"], "end": ["请按 YYYY-MM-DD 格式输入日期。"]}),
])
def test_a_bad_period_is_400_with_a_message_per_field(people, client_for, query, errors):
    client = client_for(people.leader)
    for what in ("areas", "workers", "departments", "dispatchers"):
        data = get(client, f"/api/v1/analytics/{what}?{query}", 400)
        assert data["errors"] == errors
        assert data["detail"] in [message for messages in errors.values() for message in messages]


def test_messages_in_english_when_asked(people, client_for):
    data = get(client_for(people.leader, "en"), "/api/v1/analytics/areas?period=decade", 400)
    assert data["errors"] == {"period": ["Choose day, week, month, quarter, year or custom."]}
    week = get(client_for(people.leader, "en"), "/api/v1/analytics/areas?period=week&date=2026-09-15")
    assert week["period"]["label"] == "2026 week 38"


def test_a_grid_outside_the_area_is_404(september, client_for):
    s = september
    client = client_for(s.leader)
    elsewhere = s.district.grids[3].code
    for what in ("areas", "workers", "departments", "dispatchers"):
        data = get(client, f"/api/v1/analytics/{what}?{SEPTEMBER}&grid={elsewhere}", 404)
        assert data["detail"] == "您负责的区域内没有这个网格。"
    get(client, f"/api/v1/cases?kpi=area.closed&subject={elsewhere}&{SEPTEMBER}", 404)
    get(client_for(s.worker), f"/api/v1/analytics/areas?{SEPTEMBER}&grid={s.grid_a.code}", 404)


def test_anonymous_callers_are_refused(people):
    from django.test import Client

    assert Client().get(f"/api/v1/analytics/areas?{SEPTEMBER}").status_code == 401


def test_a_resident_gets_no_figures(september, client_for):
    client = client_for(september.resident)
    for what in ("areas", "workers", "departments", "dispatchers"):
        assert get(client, f"/api/v1/analytics/{what}?{SEPTEMBER}")["rows"] == [], what


def listed(client, query: str) -> set[int]:
    data = get(client, f"/api/v1/cases?{query}&limit=100")
    assert data["count"] == len(data["items"])
    return {c["id"] for c in data["items"]}


def test_the_case_list_holds_exactly_the_cases_behind_a_figure(september, client_for):
    s = september
    client = client_for(s.leader)
    ids = lambda *names: {s.cases[n].pk for n in names}  # noqa: E731
    assert listed(client, f"kpi=area.closed&subject={s.grid_b.code}&period=month&date=2026-09-01") == ids(
        "c1", "c2", "c5", "c6", "c13")
    assert listed(client, f"kpi=area.reported&subject={s.grid_b.code}&period=month&date=2026-08-31") == ids(
        "c13")
    assert listed(client, f"kpi=area.due&subject={s.grid_a.code}&{SEPTEMBER}") == ids("c7", "c8", "c10")
    assert listed(client, f"kpi=department.returns&subject={s.sanitation.pk}&{SEPTEMBER}") == ids("c6")
    assert listed(client, f"kpi=department.extended&subject={s.sanitation.pk}&{SEPTEMBER}") == ids("c8")
    assert listed(client, f"kpi=worker.missed&subject={s.worker_a.pk}&{SEPTEMBER}") == ids("c10")
    assert listed(client, f"kpi=dispatcher.accurate&subject={s.community_dispatcher.pk}"
                          "&period=custom&start=2026-09-07&end=2026-09-08") == set()
    assert listed(client, f"kpi=dispatcher.dispatched&subject={s.community_dispatcher.pk}"
                          "&period=custom&start=2026-09-07&end=2026-09-08") == ids("c6")
    # The figure and the list agree for each area figure (the API's count is the ranking's figure).
    rows = get(client, f"/api/v1/analytics/areas?{SEPTEMBER}")["rows"]
    for row in rows:
        for name in ("reported", "registered", "due", "closed", "closed_on_time", "rated", "satisfied"):
            query = f"kpi=area.{name}&subject={row['key']}&{SEPTEMBER}"
            assert get(client, f"/api/v1/cases?{query}")["count"] == row["figures"][name], (row["key"], name)
    # Other filters still apply on top.
    resident = f"kpi=area.closed&subject={s.grid_b.code}&{SEPTEMBER}&channel=resident"
    assert listed(client, resident) == ids("c5")


def test_a_bad_figure_or_period_in_the_case_list_is_400(september, client_for):
    s = september
    client = client_for(s.leader)
    data = get(client, f"/api/v1/cases?kpi=area.bogus&subject={s.grid_b.code}&{SEPTEMBER}", 400)
    assert data["errors"] == {"kpi": ["未知指标 area.bogus。"]}
    data = get(client, f"/api/v1/cases?kpi=area.closed&subject={s.grid_b.code}&period=month&date=2026-9", 400)
    assert set(data["errors"]) == {"date"}
    data = get(client, f"/api/v1/cases?kpi=department.returns&subject=sanitation&{SEPTEMBER}", 400)
    assert set(data["errors"]) == {"subject"}
