"""Whose figures: a community leader counts only their community, a grid worker their grid, a
handler their department's cases, a resident nothing."""

from datetime import date

import pytest
from django.http import Http404

from gridgov.accounts.models import Role
from gridgov.analytics import kpis
from gridgov.analytics.periods import period_of
from gridgov.analytics.tests.conftest import at, point, reported, step
from gridgov.core.testing import staff

pytestmark = pytest.mark.django_db

SEPTEMBER = period_of("month", date(2026, 9, 1))


def everything_of(user) -> dict:
    """Every figure the user's rankings and totals show for September."""
    return {what: [r.as_dict() for r in kpis.ranking(user, what, SEPTEMBER)[0]] for what in kpis.RANKINGS} | {
        "totals": kpis.totals(user, SEPTEMBER), "open": kpis.open_now(user)}


def test_a_case_in_another_community_does_not_change_a_leaders_figures(september):
    s = september
    before = everything_of(s.leader)
    street_before = kpis.totals(s.auditor, SEPTEMBER)
    # In community 2: reported by its worker and by a resident of grid B, registered, dispatched to
    # the sanitation office, returned, handled, closed and rated, all in September.
    elsewhere = point(s.district.micro_grids[7])
    for reporter, channel in ((s.other_worker, "worker"), (s.resident, "resident")):
        case = reported(at(9, 21, 10), reporter, elsewhere, channel=channel)
        step(case, at(9, 21, 10, 10), s.other_dispatcher, "register")
        step(case, at(9, 21, 10, 20), s.other_dispatcher, "dispatch", department_id=s.sanitation.pk)
        step(case, at(9, 21, 10, 25), s.handler, "return")
        step(case, at(9, 21, 10, 30), s.other_dispatcher, "dispatch", department_id=s.sanitation.pk)
        step(case, at(9, 21, 10, 40), s.handler, "accept")
        step(case, at(9, 21, 11), s.handler, "report_result")
        step(case, at(9, 21, 11, 10), s.other_worker, "verify")
        step(case, at(9, 21, 11, 20), s.other_dispatcher, "close")
        step(case, at(9, 22, 9), reporter, "rate", rating="unsatisfied")
    assert everything_of(s.leader) == before
    after = kpis.totals(s.auditor, SEPTEMBER)
    assert (after["reported"], after["closed"], after["returns"], after["rated"]) == (
        street_before["reported"] + 2, street_before["closed"] + 2, street_before["returns"] + 2,
        street_before["rated"] + 2)
    # The leader of community 2 sees them (and c12), and nothing of community 1.
    leader_two = staff(Role.LEADER, s.district.communities[1])
    totals = kpis.totals(leader_two, SEPTEMBER)
    assert (totals["reported"], totals["closed"], totals["to_handle"]) == (3, 3, 3)
    assert {r.key for r in kpis.area_rows(leader_two, SEPTEMBER)[0]} == {g.code for g in s.district.grids[2:]}


def test_a_grid_outside_the_leaders_area_is_not_found(september):
    s = september
    for build in (kpis.area_rows, kpis.department_rows, kpis.worker_rows, kpis.dispatcher_rows,
                  kpis.totals):
        with pytest.raises(Http404):
            build(s.leader, SEPTEMBER, s.district.grids[2].code)
    with pytest.raises(Http404):
        kpis.area_rows(s.leader, SEPTEMBER, s.district.street.code)  # above the community


def test_a_grid_worker_sees_their_grid_by_micro_grid(september):
    s = september
    rows = {r.key: r for r in kpis.area_rows(s.worker, SEPTEMBER)[0]}
    micro = s.district.micro_grids
    assert set(rows) == {micro[2].code, micro[3].code}
    assert rows[micro[2].code].figures["reported"] == 6 and rows[micro[3].code].figures["reported"] == 0
    # Their totals are grid B's; worker_a's are grid A's.
    assert kpis.totals(s.worker, SEPTEMBER)["registered"] == 5
    assert kpis.totals(s.worker_a, SEPTEMBER)["registered"] == 4
    assert [r.key for r in kpis.worker_rows(s.worker, SEPTEMBER)[0]] == [str(s.worker.pk)]


def test_a_handler_sees_their_departments_cases_wherever_they_are(september):
    s = september
    rows, source = kpis.department_rows(s.handler, SEPTEMBER)
    assert source == "raw" and [r.key for r in rows] == [str(s.sanitation.pk)]
    (sanitation,) = rows
    # The cases now at the sanitation office in both communities: c1 c2 c5 c13 c7 c8 and c12 = 7;
    # handled all but c8 = 6; on time all but c2 and c8 = 5; closed 6; c7 reworked, c8 extended;
    # rated c5 (satisfied), c7 (basically).
    figures = dict(sanitation.figures)
    # c6, which S returned, went to the police: the handler no longer sees it, so its return is
    # not among what they count (the leader's figure, with the case in view, is 1).
    assert figures.pop("returns") == 0
    assert figures == {"to_handle": 7, "handled": 6, "handled_on_time": 5, "dept_closed": 6, "reworked": 1,
                       "extended": 1, "rated": 2, "satisfied": 2}
    # (10 × 100 + 30 × 6/7 × 100 + 30 × 5/7 × 100 + 30 × 6/7 × 100) / 100 = 82.86 → 82.9
    assert (sanitation.score, sanitation.grade) == (82.9, "B")
    # No areas of their own.
    assert kpis.area_rows(s.handler, SEPTEMBER)[0] == []
    # The police station's handler sees c6 only: their row, and S's return of that case (which
    # they can read in its log), but nothing of S's own cases.
    police = {r.key: r for r in kpis.department_rows(s.other_handler, SEPTEMBER)[0]}
    assert police[str(s.police.pk)].figures["to_handle"] == 1
    assert police[str(s.sanitation.pk)].figures == dict.fromkeys(sanitation.figures, 0) | {"returns": 1}
    assert set(police) == {str(s.police.pk), str(s.sanitation.pk)}


def test_a_resident_has_no_figures_not_even_of_their_own_requests(september):
    s = september
    assert everything_of(s.resident) == {"areas": [], "workers": [], "departments": [], "dispatchers": [],
                                         "board": [], "mediation": [], "totals": kpis.empty_counts(),
                                         "open": {"open": 0, "overdue": 0}}
