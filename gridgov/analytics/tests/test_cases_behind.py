"""Every figure can be reproduced: the cases behind it (kpis.cases_behind) are exactly as many as
the figure says, for every figure of every ranking, for several users and periods."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from gridgov.analytics import kpis
from gridgov.analytics.periods import period_of
from gridgov.analytics.tests.conftest import at, point, reported, step

pytestmark = pytest.mark.django_db

SEPTEMBER = period_of("month", date(2026, 9, 1))
PERIODS = [SEPTEMBER, period_of("month", date(2026, 8, 1)), period_of("week", date(2026, 9, 7)),
           period_of("day", date(2026, 9, 1))]


def all_rows(user, period, grid_code: str = "") -> list[kpis.Row]:
    areas, _source = kpis.area_rows(user, period, grid_code)
    departments, _source = kpis.department_rows(user, period, grid_code)
    return [*areas, *departments, *kpis.worker_rows(user, period, grid_code)[0],
            *kpis.dispatcher_rows(user, period, grid_code)[0]]


def assert_reproducible(user, period, grid_code: str = "") -> int:
    """Check every figure of every row; return how many were checked."""
    checked = 0
    for row in all_rows(user, period, grid_code):
        for name in kpis.KPIS[row.kind]:
            behind = kpis.cases_behind(user, f"{row.kind}.{name}", row.key, period, grid_code)
            assert behind.count() == row.figures[name], (user.username, period.label, row.kind, row.key, name)
            checked += 1
    return checked


def numbers(rows) -> set[int]:
    return set(rows.values_list("pk", flat=True))


def test_every_figure_of_the_leader_is_the_count_of_its_cases(september):
    # In September every figure is non-zero for some row: each check below can fail.
    rows = all_rows(september.leader, SEPTEMBER)
    shown = {(r.kind, name) for r in rows for name, value in r.figures.items() if value}
    assert {(kind, name) for kind, names in kpis.KPIS.items() for name in names} <= shown
    for period in PERIODS:
        # 2 areas × 9 + 2 workers × 6 + 1 dispatcher × 3, and the departments with cases.
        assert assert_reproducible(september.leader, period) >= 33
    assert assert_reproducible(september.leader, SEPTEMBER, september.grid_b.code) > 0


def test_every_figure_of_the_whole_street_and_of_others(september):
    s = september
    for user in (s.auditor, s.dispatcher, s.worker, s.handler, s.other_dispatcher):
        assert assert_reproducible(user, SEPTEMBER) > 0, user


def test_the_cases_behind_some_figures(september):
    s, sep = september, SEPTEMBER
    behind = lambda kpi, subject: numbers(kpis.cases_behind(s.leader, kpi, subject, sep))  # noqa: E731
    ids = lambda *names: {s.cases[n].pk for n in names}  # noqa: E731
    assert behind("area.closed_on_time", s.grid_b.code) == ids("c1", "c5", "c6", "c13")
    assert behind("area.public_registered", s.grid_b.code) == ids("c5", "c6")
    assert behind("area.due", s.grid_a.code) == ids("c7", "c8", "c10")  # c9 was merged
    assert behind("area.registered", s.district.communities[0].code) == ids(
        "c1", "c2", "c5", "c6", "c13", "c7", "c8", "c9", "c10")
    assert behind("department.returns", s.sanitation.pk) == ids("c6")
    assert behind("department.to_handle", s.police.pk) == ids("c6")
    assert behind("department.handled_on_time", s.sanitation.pk) == ids("c1", "c5", "c13", "c7")
    assert behind("worker.missed", s.worker.pk) == ids("c5", "c6")
    assert behind("worker.verified_on_time", s.worker.pk) == ids("c1", "c5", "c6", "c13")
    assert behind("worker.valid_reports", s.worker_a.pk) == ids("c7", "c8", "c9")
    assert behind("dispatcher.dispatched", s.community_dispatcher.pk) == ids("c1", "c2", "c5", "c6", "c13",
                                                                             "c7", "c8")
    assert behind("dispatcher.accurate", s.community_dispatcher.pk) == ids("c1", "c2", "c5", "c13", "c7",
                                                                           "c8")


def test_a_department_returning_a_case_twice_counts_two_returns_of_one_case(people):
    """department.returns counts return events; the cases behind it are the cases returned, so
    one department returning the same case twice makes the figure 2 and the list 1 case."""
    p, d = people, people.community_dispatcher
    case = reported(at(9, 14, 10), p.worker, point(p.district.micro_grids[2]))
    step(case, at(9, 14, 10, 5), d, "register")
    step(case, at(9, 14, 10, 10), d, "dispatch", department_id=p.sanitation.pk)
    step(case, at(9, 14, 10, 20), p.handler, "return")
    step(case, at(9, 14, 10, 30), d, "dispatch", department_id=p.sanitation.pk)
    step(case, at(9, 14, 10, 40), p.handler, "return")
    step(case, at(9, 14, 10, 50), d, "dispatch", department_id=p.police.pk)
    rows = {r.key: r for r in kpis.department_rows(p.leader, SEPTEMBER)[0]}
    assert rows[str(p.sanitation.pk)].figures["returns"] == 2
    assert rows[str(p.police.pk)].figures == {"to_handle": 1, "handled": 0, "handled_on_time": 0,
                                              "dept_closed": 0, "reworked": 0, "returns": 0, "extended": 0,
                                              "rated": 0, "satisfied": 0}
    behind = kpis.cases_behind(p.leader, "department.returns", p.sanitation.pk, SEPTEMBER)
    assert numbers(behind) == {case.pk}
    # Its dispatcher dispatched it (three times): once, and not accurately.
    dispatcher = kpis.dispatcher_rows(p.leader, SEPTEMBER)[0][0]
    assert dispatcher.figures == {"registered": 1, "dispatched": 1, "accurate": 0}


def test_a_figure_is_asked_for_by_name_and_subject(september):
    s, sep = september, SEPTEMBER

    def error(kpi, subject, user=s.leader):
        with pytest.raises(ValidationError) as caught:
            kpis.cases_behind(user, kpi, subject, sep)
        return caught.value.message_dict

    assert error("area.bogus", s.grid_b.code) == {"kpi": ["未知指标 area.bogus。"]}
    assert set(error("bogus.closed", s.grid_b.code)) == {"kpi"}
    assert set(error("", s.grid_b.code)) == {"kpi"}
    assert error("area.closed", "") == {"subject": ["请选择网格。"]}
    assert set(error("department.returns", "S")) == {"subject"}
    assert set(error("worker.reports", None)) == {"subject"}
    # Outside the leader's area: no such grid, no such grid worker.
    other_grid = s.district.grids[3].code
    with pytest.raises(Http404):
        kpis.cases_behind(s.leader, "area.closed", other_grid, sep)
    with pytest.raises(Http404):
        kpis.cases_behind(s.leader, "worker.missed", s.other_worker.pk, sep)
    with pytest.raises(Http404):
        kpis.cases_behind(s.leader, "dispatcher.registered", s.community_dispatcher.pk, sep, other_grid)
    # A department's cases outside the leader's area are not theirs to count: c12 is S's.
    assert s.cases["c12"].pk not in numbers(kpis.cases_behind(s.leader, "department.to_handle",
                                                              s.sanitation.pk, sep))
