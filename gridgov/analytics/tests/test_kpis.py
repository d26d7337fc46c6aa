"""The CJ/T 292 figures, rates, component scores, composites and grades of one known month,
each computed by hand from the cases of the `september` fixture (see its docstring)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from gridgov.analytics import kpis
from gridgov.analytics.periods import period_of

pytestmark = pytest.mark.django_db

SEPTEMBER = period_of("month", date(2026, 9, 1))
AUGUST = period_of("month", date(2026, 8, 1))


def keyed(rows) -> dict:
    return {r.key: r for r in rows}


def test_area_figures_rates_scores_and_grades(september):
    s = september
    rows, source = kpis.area_rows(s.leader, SEPTEMBER)
    # The leader of community 1 compares its two grids, in code order, from the raw cases
    # (no rollups have been built).
    assert [r.key for r in rows] == [s.grid_a.code, s.grid_b.code] and source == "raw"
    a, b = rows

    # Grid B. reported in September: c1 c2 c3 c4 c5 c6 = 6 (c13 was reported on Aug 31);
    # registered: c1 c2 c5 c6 c13 = 5, of which public (resident c5, hotline c6) = 2;
    # due = registered, none rejected or merged = 5; all 5 closed; on time: all but c2 = 4;
    # rated: c5 (satisfied), c6 (unsatisfied) = 2, satisfied 1; solved on the spot: c4.
    assert b.figures == {"reported": 6, "registered": 5, "due": 5, "closed": 5, "closed_on_time": 4,
                         "self_resolved": 1, "rated": 2, "satisfied": 1, "public_registered": 2,
                         "households": 400}
    # closure 5/5; on time 4/5; on the spot 1/6; satisfaction 1/2; supervision 2/5;
    # per 1,000 households 1000 × 6 / 400 = 15.
    assert b.rates == pytest.approx({"closure": 1.0, "on_time": 0.8, "self_resolved": 1 / 6,
                                     "satisfaction": 0.5, "supervision": 0.4, "per_1000_households": 15.0})
    # supervision scores inversely: 100 × (1 − 0.4) = 60; load 1000 × 5 / 400 × 30 / 30 = 12.5 per
    # 1,000 households a month → the "≤ 20" band, 75; closure 100; on time 80.
    assert b.components == pytest.approx({"supervision": 60, "caseload": 75, "closure": 100, "on_time": 80})
    # (10 × 60 + 20 × 75 + 30 × 100 + 40 × 80) / 100 = (600 + 1500 + 3000 + 3200) / 100 = 83.0 → B
    assert (b.score, b.grade) == (83.0, "B")

    # Grid A. reported and registered: c7 c8 c9 c10 = 4, public: c10 (resident) = 1; due: c9 was
    # merged, so c7 c8 c10 = 3; closed (on time): c7 = 1; rated: c7 basically satisfied = 1.
    assert a.figures == {"reported": 4, "registered": 4, "due": 3, "closed": 1, "closed_on_time": 1,
                         "self_resolved": 0, "rated": 1, "satisfied": 1, "public_registered": 1,
                         "households": 400}
    assert a.rates == pytest.approx({"closure": 1 / 3, "on_time": 1 / 3, "self_resolved": 0.0,
                                     "satisfaction": 1.0, "supervision": 0.25, "per_1000_households": 10.0})
    # supervision 100 × 0.75 = 75; load 1000 × 4 / 400 = 10 → "≤ 10", 90; closure and on time 33.3
    assert a.components == pytest.approx({"supervision": 75, "caseload": 90, "closure": 100 / 3,
                                          "on_time": 100 / 3})
    # (750 + 1800 + 30 × 33.33 + 40 × 33.33) / 100 = (2550 + 2333.33) / 100 = 48.83 → 48.8 → D
    assert (a.score, a.grade) == (48.8, "D")


def test_a_rate_of_nothing_is_none_and_the_other_components_are_reweighed(september):
    rows = keyed(kpis.area_rows(september.leader, AUGUST)[0])
    a, b = rows[september.grid_a.code], rows[september.grid_b.code]
    # August: only c13 (grid B, reported Aug 31 20:00, registered Sep 1) and nothing in grid A.
    assert b.figures["reported"] == 1 and b.figures["registered"] == b.figures["due"] == 0
    assert b.rates == {"closure": None, "on_time": None, "self_resolved": 0.0, "satisfaction": None,
                       "supervision": None, "per_1000_households": 2.5}
    assert a.rates["self_resolved"] is None and a.rates["per_1000_households"] == 0
    # With nothing registered only the case load (0 → 100) could be scored; nothing was due to
    # close, so the area is not assessed rather than ranked first on a quiet month.
    assert b.components == {"supervision": None, "caseload": 100, "closure": None, "on_time": None}
    assert (b.score, b.grade) == (None, "")


def test_the_case_load_is_scaled_to_thirty_days(september):
    # Sep 1 in grid B: c1 reported and registered; c13 registered (reported the day before).
    day = period_of("day", date(2026, 9, 1))
    b = keyed(kpis.area_rows(september.leader, day)[0])[september.grid_b.code]
    assert (b.figures["reported"], b.figures["registered"], b.figures["closed_on_time"]) == (1, 2, 2)
    # 1000 × 2 / 400 × 30 / 1 = 150 registered per 1,000 households a month: beyond every band → 0.
    assert b.components == {"supervision": 100.0, "caseload": 0.0, "closure": 100.0, "on_time": 100.0}
    # (10 × 100 + 20 × 0 + 30 × 100 + 40 × 100) / 100 = 80.0
    assert (b.score, b.grade) == (80.0, "B")


def test_the_weights_can_be_changed_in_settings(september, settings):
    settings.GRIDGOV_KPI_WEIGHTS = {"area": {"on_time": 10}}
    b = keyed(kpis.area_rows(september.leader, SEPTEMBER)[0])[september.grid_b.code]
    # (600 + 1500 + 3000 + 10 × 80) / (10 + 20 + 30 + 10) = 5900 / 70 = 84.29 → 84.3
    assert (b.score, b.grade) == (84.3, "B")


def test_the_street_compares_its_communities_and_a_level_or_grid_narrows_it(september):
    s = september
    rows = keyed(kpis.area_rows(s.auditor, SEPTEMBER)[0])
    one, two = s.district.communities
    assert set(rows) == {one.code, two.code}
    # Community 1 = grid A + grid B; community 2 holds only c12 (closed on time).
    assert rows[one.code].figures == {"reported": 10, "registered": 9, "due": 8, "closed": 6,
                                      "closed_on_time": 5, "self_resolved": 1, "rated": 3, "satisfied": 2,
                                      "public_registered": 3, "households": 800}
    assert rows[two.code].figures == {"reported": 1, "registered": 1, "due": 1, "closed": 1,
                                      "closed_on_time": 1, "self_resolved": 0, "rated": 0, "satisfied": 0,
                                      "public_registered": 0, "households": 800}
    by_level = kpis.area_rows(s.auditor, SEPTEMBER, level=3)[0]
    assert [r.key for r in by_level] == [g.code for g in s.district.grids]
    in_one = kpis.area_rows(s.auditor, SEPTEMBER, grid_code=one.code)[0]
    assert [r.as_dict() for r in in_one] == [r.as_dict() for r in kpis.area_rows(s.leader, SEPTEMBER)[0]]
    with pytest.raises(ValidationError) as error:
        kpis.area_rows(s.auditor, SEPTEMBER, grid_code=one.code, level=2)
    assert set(error.value.message_dict) == {"level"}


def test_department_figures_rates_scores_and_grades(september):
    s = september
    rows, _source = kpis.department_rows(s.leader, SEPTEMBER)
    # Only departments with cases; sorted by id (the sanitation office was made first).
    assert [r.key for r in rows] == [str(s.sanitation.pk), str(s.police.pk)]
    sanitation, police = rows
    # S: dispatched to it in September and still its: c1 c2 c5 c13 c7 c8 = 6 (c6 went on to P;
    # c12 is in community 2); handled: all but c8 = 5, on time: all but c2 = 4; closed 5;
    # reworked c7; extended c8; returned c6 once; rated c5 (satisfied) and c7 (basically).
    assert sanitation.figures == {"to_handle": 6, "handled": 5, "handled_on_time": 4, "dept_closed": 5,
                                  "reworked": 1, "returns": 1, "extended": 1, "rated": 2, "satisfied": 2}
    assert sanitation.rates == pytest.approx({"on_time": 4 / 6, "closure": 5 / 6, "rework": 1 / 6,
                                              "satisfaction": 1.0})
    # load 6 ≤ 50 → 100; closure 83.3; on time 66.7; rework 100 × (1 − 1/6) = 83.3
    assert sanitation.components == pytest.approx({"caseload": 100, "closure": 500 / 6, "on_time": 400 / 6,
                                                   "rework": 500 / 6})
    # (10 × 100 + 30 × 83.33 + 30 × 66.67 + 30 × 83.33) / 100 = (1000 + 2500 + 2000 + 2500) / 100 = 80
    assert (sanitation.score, sanitation.grade) == (80.0, "B")
    # P: c6 only, handled on time and closed, rated unsatisfied.
    assert police.figures == {"to_handle": 1, "handled": 1, "handled_on_time": 1, "dept_closed": 1,
                              "reworked": 0, "returns": 0, "extended": 0, "rated": 1, "satisfied": 0}
    assert police.rates == {"on_time": 1.0, "closure": 1.0, "rework": 0.0, "satisfaction": 0.0}
    assert (police.score, police.grade) == (100.0, "A")
    # August: nothing was dispatched. c13 (reported on Aug 31) is S's case now, but a report is
    # an area figure: with no work of its own S is not listed.
    assert kpis.department_rows(s.leader, AUGUST)[0] == []


def test_worker_figures_rates_scores_and_grades(september):
    s = september
    rows = keyed(kpis.worker_rows(s.leader, SEPTEMBER)[0])
    # The grid workers of community 1 (the one of community 2 is not the leader's).
    assert set(rows) == {str(s.worker.pk), str(s.worker_a.pk)}
    b, a = rows[str(s.worker.pk)], rows[str(s.worker_a.pk)]
    # world.worker (grid B): reports c1 c2 c3 c4 = 4, valid (registered or solved on the spot, not
    # rejected) c1 c2 c4 = 3; registered in grid B: 5, found by the public (c5 c6) = 2; results
    # reported in September: c1 c2 c5 c6 c13 = 5, checked within the hour: all but c2 = 4;
    # visits: 6 households × 30 / 90 = 2 due, 1 done (the Aug 20 visit is outside).
    assert b.figures == {"reports": 4, "valid_reports": 3, "registered_in_grids": 5, "missed": 2,
                         "verifications_due": 5, "verified_on_time": 4, "visits_done": 1, "visits_due": 2,
                         "patrol_hours": 0.0, "patrol_km": 0.0}
    assert b.rates == {"valid": 0.75, "missed": 0.4, "verified_on_time": 0.8, "visits": 0.5}
    assert b.components == pytest.approx({"valid": 75, "missed": 60, "verified_on_time": 80, "visits": 50})
    # (40 × 75 + 20 × 60 + 20 × 80 + 20 × 50) / 100 = (3000 + 1200 + 1600 + 1000) / 100 = 68.0 → C
    assert (b.score, b.grade) == (68.0, "C")
    # worker_a (grid A): reports c7 c8 c9 = 3, all registered (c9 merged later) = 3 valid;
    # registered in grid A 4, missed c10 = 1; results: c7 (the second one, 11:30), verified 11:40
    # (the rework at 11:10 came before it); no households, so no visit figure.
    assert a.figures == {"reports": 3, "valid_reports": 3, "registered_in_grids": 4, "missed": 1,
                         "verifications_due": 1, "verified_on_time": 1, "visits_done": 0, "visits_due": 0,
                         "patrol_hours": 0.0, "patrol_km": 0.0}
    assert a.rates == {"valid": 1.0, "missed": 0.25, "verified_on_time": 1.0, "visits": None}
    # (40 × 100 + 20 × 75 + 20 × 100) / (40 + 20 + 20) = 7500 / 80 = 93.75 → 93.8 → A
    assert a.components == {"valid": 100.0, "missed": 75.0, "verified_on_time": 100.0, "visits": None}
    assert (a.score, a.grade) == (93.8, "A")
    # August: worker_a has no figure with a denominator at all, so no score.
    august = keyed(kpis.worker_rows(s.leader, AUGUST)[0])[str(s.worker_a.pk)]
    assert august.rates == {"valid": None, "missed": None, "verified_on_time": None, "visits": None}
    assert (august.score, august.grade) == (None, "")


def test_dispatcher_figures(september):
    s = september
    rows = kpis.dispatcher_rows(s.leader, SEPTEMBER)[0]
    # The community 1 dispatcher is the only dispatcher assigned in community 1.
    assert [r.key for r in rows] == [str(s.community_dispatcher.pk)]
    # registered: c1 c2 c5 c6 c13 c7 c8 c9 c10 = 9; dispatched: c1 c2 c5 c6 (twice, counted once)
    # c13 c7 c8 = 7; right first time (never returned): all but c6 = 6.
    assert rows[0].figures == {"registered": 9, "dispatched": 7, "accurate": 6}
    assert rows[0].rates == {"accuracy": pytest.approx(6 / 7)}
    assert (rows[0].score, rows[0].rank) == (None, None)


def test_rankings_order_by_score_with_movement_against_the_previous_period(september):
    s = september
    areas, _source = kpis.ranking(s.leader, "areas", SEPTEMBER)
    # September: B 83.0 first, A 48.8 second. August: nothing was due in either, so neither was
    # ranked and there is no movement to show.
    ranked = [(r.key, r.rank, r.movement) for r in areas]
    assert ranked == [(s.grid_b.code, 1, None), (s.grid_a.code, 2, None)]
    workers, _source = kpis.ranking(s.leader, "workers", SEPTEMBER)
    # worker_a 93.8 first (unscored in August: no movement); world.worker 68.0 second, first in
    # August (reports 1/1 valid → 100, visits 1 of 2 → 50: 83.3).
    assert [(r.key, r.rank, r.movement) for r in workers] == [(str(s.worker_a.pk), 1, None),
                                                               (str(s.worker.pk), 2, -1)]
    departments, _source = kpis.ranking(s.leader, "departments", SEPTEMBER)
    assert [(r.key, r.rank, r.movement) for r in departments] == [(str(s.police.pk), 1, None),
                                                                   (str(s.sanitation.pk), 2, None)]
    dispatchers, _source = kpis.ranking(s.leader, "dispatchers", SEPTEMBER)
    assert [r.rank for r in dispatchers] == [None]


def test_totals_and_what_is_open_now(september):
    s = september
    totals = kpis.totals(s.leader, SEPTEMBER)
    # The whole community: the sums of grids A and B, and S's and P's department figures.
    assert (totals["reported"], totals["due"], totals["closed"], totals["to_handle"], totals["returns"]) == (
        10, 8, 6, 7, 1)
    # Open now (not final, not suspended): c8 (being handled) and c10 (registered); all of grid B
    # is closed or rejected.
    assert kpis.open_now(s.leader)["open"] == 2
    assert kpis.open_now(s.leader, s.grid_b.code)["open"] == 0


def test_composite_grade_and_bands():
    assert kpis.rate(0, 0) is None and kpis.rate(3, 0) is None and kpis.rate(0, 4) == 0.0
    assert [kpis.grade(x) for x in (None, 100, 90, 89.9, 75, 60, 40, 39.9)] == ["", "A", "A", "B", "B", "C",
                                                                            "D", "E"]
    assert kpis.band_score(None, kpis.AREA_LOAD_BANDS) is None
    assert [kpis.band_score(v, kpis.DEPARTMENT_LOAD_BANDS) for v in (1, 50, 51, 1000, 1001)] == [
        100, 100, 90, 40, 0.0]
    assert kpis.composite({"closure": None, "on_time": None}, "area") is None
    # Only the components with data count: (30 × 50 + 40 × 100) / 70 = 78.57 → 78.6
    assert kpis.composite({"closure": 50, "on_time": 100, "supervision": None}, "area") == 78.6


def test_patrol_time_counts_the_part_inside_the_period_and_not_forgotten_patrols(september):
    from gridgov.analytics.tests.conftest import at
    from gridgov.patrols.models import Patrol

    s = september
    walk = dict(worker=s.worker, grid=s.grid_b)
    # Sep 3, 9:00–11:30, 3 km: all inside.
    Patrol.objects.create(**walk, started_at=at(9, 3, 9), ended_at=at(9, 3, 11, 30), distance_m=3000)
    # Sep 30 23:00 – Oct 1 01:00, 4 km: one hour of two inside, so 2 km.
    Patrol.objects.create(**walk, started_at=at(9, 30, 23), ended_at=at(10, 1, 1), distance_m=4000)
    # Forgotten and closed by the system after 12 hours: not a walk.
    Patrol.objects.create(**walk, started_at=at(9, 10, 8), ended_at=at(9, 10, 20), distance_m=500,
                          closed_automatically=True)
    rows = keyed(kpis.worker_rows(s.leader, SEPTEMBER)[0])
    mine = rows[str(s.worker.pk)].figures
    assert (mine["patrol_hours"], mine["patrol_km"]) == (3.5, 5.0)  # 2.5 h + 1 h; 3 km + 2 km
    october = keyed(kpis.worker_rows(s.leader, period_of("month", date(2026, 10, 1)))[0])
    assert october[str(s.worker.pk)].figures["patrol_hours"] == 1.0
