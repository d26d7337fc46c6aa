"""The daily rollups give the same counters as the raw cases, for every user, period and grid,
after a rebuild and after cases change and the periodic refresh runs; and a refresh rebuilds only
the days the changes touched."""

import random
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, Sum
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.analytics import kpis, rollups
from gridgov.analytics.models import (
    ACTOR_COUNTERS,
    COUNTERS,
    ActorRollup,
    DailyRollup,
    RollupSlice,
    RollupState,
)
from gridgov.analytics.periods import Period, _add_months, period_of
from gridgov.analytics.tests.conftest import SHANGHAI, at, point, reported, step
from gridgov.cases.models import Case
from gridgov.cases.workflow import Params, act
from gridgov.core.testing import staff
from gridgov.grids.models import Grid

pytestmark = pytest.mark.django_db

RATINGS = ("satisfied", "basically", "unsatisfied")


def generate(people, seed: int = 2026, count: int = 45) -> SimpleNamespace:
    """`count` cases over about a hundred days ending a month or more before today, reported and
    moved along the loop at random (but seeded) moments: every channel, rejections, merges,
    returns, extensions, reworks, late results, ratings in a later month, and some left open at
    every stage. Then four cases left where the refresh test moves them on."""
    rng = random.Random(seed)
    p = people
    first = _add_months(timezone.localdate().replace(day=1), -4)
    micro = p.district.micro_grids
    worker_c = staff(Role.GRID_WORKER, p.district.grids[2])
    workers = [p.worker_a, p.worker_a, p.worker, p.worker, worker_c, worker_c, p.other_worker, p.other_worker]
    dispatchers = [p.community_dispatcher] * 4 + [p.other_dispatcher] * 4
    departments = {p.sanitation.pk: p.handler, p.police.pk: p.other_handler}
    open_by_community: dict[int, list[Case]] = {0: [], 1: []}
    made = []

    def later(moment, longest_minutes=600):
        return moment + timedelta(minutes=rng.randrange(5, longest_minutes))

    for _n in range(count):
        spot = rng.randrange(8)
        worker, d = workers[spot], dispatchers[spot]
        day = first + timedelta(days=rng.randrange(100))
        t = datetime.combine(day, time(rng.randrange(7, 21), rng.randrange(60)), SHANGHAI)
        channel = rng.choice(["worker", "worker", "worker", "resident", "hotline", "self_resolved"])
        reporter = {"worker": worker, "self_resolved": worker, "resident": p.resident, "hotline": d}[channel]
        case = reported(t, reporter, point(micro[spot]), channel=channel)
        made.append(case)
        if channel == "self_resolved":
            continue
        t = later(t)
        if rng.random() < 0.08:
            step(case, t, d, "reject")
            continue
        if rng.random() < 0.08:
            continue  # not registered yet
        case = step(case, t, d, "register")
        masters = [c for c in open_by_community[spot // 4] if c.pk != case.pk]
        if masters and rng.random() < 0.08:
            step(case, later(t), d, "merge", master_id=rng.choice(masters).pk)
            continue
        open_by_community[spot // 4].append(case)
        if rng.random() < 0.08:
            continue  # registered, waiting
        department = rng.choice(list(departments))
        t = later(t, 3000)  # sometimes a day or two later: dispatched in another month
        case = step(case, t, d, "dispatch", department_id=department)
        if rng.random() < 0.2:
            t = later(t, 120)
            case = step(case, t, departments[department], "return")
            if rng.random() < 0.3:
                continue  # back with the dispatcher
            department = next(k for k in departments if k != department)
            t = later(t, 120)
            case = step(case, t, d, "dispatch", department_id=department)
        handler = departments[department]
        if rng.random() < 0.08:
            continue  # dispatched, not accepted
        t = later(t, 30)
        case = step(case, t, handler, "accept")
        if rng.random() < 0.3:
            t = t + timedelta(minutes=5)
            step(case, t, handler, "request_extension", until=case.handle_deadline + timedelta(days=2))
            t = t + timedelta(minutes=5)
            case = step(case, t, d, "approve_extension" if rng.random() < 0.7 else "deny_extension")
        if rng.random() < 0.08:
            continue  # being handled
        t = later(t, rng.choice([120, 600, 6000]))  # on time, or days late
        case = step(case, t, handler, "report_result")
        if rng.random() < 0.15:
            t = later(t, 90)
            step(case, t, worker, "rework")
            t = later(t, 600)
            case = step(case, t, handler, "report_result")
        if rng.random() < 0.08:
            continue  # result waiting to be checked
        t = later(t, rng.choice([50, 3000]))
        case = step(case, t, worker, "verify")
        if rng.random() < 0.08:
            continue  # verified, not closed
        t = later(t, 60)
        case = step(case, t, d, "close")
        if case in open_by_community[spot // 4]:
            open_by_community[spot // 4].remove(case)
        if rng.random() < 0.6:
            step(case, later(t, 6000), reporter, "rate", rating=rng.choice(RATINGS))

    # Four cases left where the refresh test takes them on, in grid B (community 1).
    d, h, here = p.community_dispatcher, p.handler, point(micro[2])
    day = first + timedelta(days=30)
    moment = datetime.combine(day, time(10), SHANGHAI)

    def up_to(last: str, channel: str = "worker"):
        reporter = p.resident if channel == "resident" else p.worker
        case = reported(moment, reporter, here, channel=channel)
        loop = [("register", d, {}), ("dispatch", d, {"department_id": p.sanitation.pk}), ("accept", h, {}),
                ("report_result", h, {}), ("verify", p.worker, {}), ("close", d, {})]
        for n, (action, actor, params) in enumerate(loop, 1):
            case = step(case, moment + timedelta(minutes=10 * n), actor, action, **params)
            if action == last:
                return case
        return case

    # Visits by three workers to households of their grids on random days.
    from gridgov.population.models import Visit
    from gridgov.population.testing import household

    for n, worker in enumerate((p.worker_a, p.worker, worker_c)):
        grid = micro[2 * n] if n < 2 else p.district.grids[2]
        home = household(grid, house_number=f"{300 + n}")
        for _ in range(rng.randint(3, 6)):
            Visit.objects.create(household=home, grid=home.grid, worker=worker, notes="走访",
                                 visited_on=first + timedelta(days=rng.randrange(100)))

    return SimpleNamespace(first=first, cases=made, worker_c=worker_c, to_close=up_to("verify"),
                           to_rate=up_to("close", "resident"), to_return=up_to("dispatch"),
                           to_rework=up_to("report_result"))


@pytest.fixture
def history(people):
    return generate(people)


def periods_to_compare(first: date) -> list[Period]:
    """Every month from `first` to today, and periods of other kinds across and at both ends."""
    today = timezone.localdate()
    months, month = [], first
    while month <= today:
        months.append(period_of("month", month))
        month = _add_months(month, 1)
    return [*months, period_of("quarter", first + timedelta(days=45)), period_of("year", today),
            Period("custom", first - timedelta(days=3), today + timedelta(days=1)),
            period_of("week", first + timedelta(days=30)), period_of("day", first + timedelta(days=30)),
            period_of("day", today)]


def scopes(people) -> list[tuple]:
    """(user, grid codes to look at) for people of every kind of scope that rollups serve."""
    d = people.district
    return [
        (people.auditor, ["", d.communities[1].code, d.grids[2].code, d.micro_grids[2].code]),
        (people.dispatcher, [""]),
        (people.leader, ["", d.grids[1].code]),
        (people.other_dispatcher, [""]),
        (people.worker, [""]),
    ]


def nonzero(by_key: dict) -> dict:
    return {k: v for k, v in by_key.items() if any(v.values())}


def area_sets(user, grid: str) -> list[list[str] | None]:
    """The areas a figure may be asked for: the default (the subtree or the scope), and the
    grids of each level inside it."""
    inside = Grid.objects.visible_to(user)
    if grid:
        inside = inside.filter(code__startswith=grid)
    levels = sorted(set(inside.values_list("level", flat=True)))
    return [None, *(list(inside.filter(level=n).values_list("code", flat=True)) for n in levels)]


def by_areas(user, period: Period, grid: str, codes: list[str] | None) -> tuple[dict, dict]:
    """(the rollups' counters of these areas, the raw cases' counters summed per area)."""
    from_rollups, used = kpis.counters(user, period, grid, "grid__code", source="rollup", codes=codes)
    raw, _raw = kpis.counters(user, period, grid, "grid__code", source="raw")
    areas = kpis.scope_codes(user, grid) if codes is None else codes
    assert used == "rollup"
    return nonzero(from_rollups), nonzero({code: kpis.sum_prefix(raw, code) for code in areas})


def assert_rollups_equal_raw(people, first: date) -> int:
    """Compare the counters by area (at every level) and by department, and the rankings."""
    compared = 0
    counted = {"worker": 0, "dispatcher": 0}
    for period in periods_to_compare(first):
        for user, grids in scopes(people):
            for grid in grids:
                for codes in area_sets(user, grid):
                    from_rollups, raw = by_areas(user, period, grid, codes)
                    assert from_rollups == raw, (user.username, period.label, grid, codes)
                    compared += 1
                from_rollups, used = kpis.counters(user, period, grid, "department_id", source="rollup")
                raw, _raw = kpis.counters(user, period, grid, "department_id", source="raw")
                assert used == "rollup" and from_rollups == raw, (user.username, period.label, grid)
                compared += 1
            if period.kind in ("month", "custom"):
                grid = grids[1] if len(grids) > 1 else ""  # a grid with children
                areas, used = kpis.area_rows(user, period, grid, source="rollup")
                raw_areas, raw_used = kpis.area_rows(user, period, grid, source="raw")
                assert (used, raw_used) == ("rollup", "raw") and areas
                assert [r.as_dict() for r in areas] == [r.as_dict() for r in raw_areas], (user, period, grid)
                departments, _used = kpis.department_rows(user, period, grid, source="rollup")
                raw_departments, _used = kpis.department_rows(user, period, grid, source="raw")
                assert [r.as_dict() for r in departments] == [r.as_dict() for r in raw_departments]
                for build in (kpis.worker_rows, kpis.dispatcher_rows):
                    persons, used = build(user, period, grid, source="rollup")
                    raw_persons, raw_used = build(user, period, grid, source="raw")
                    assert (used, raw_used) == ("rollup", "raw")
                    assert [r.as_dict() for r in persons] == [r.as_dict() for r in raw_persons], (user, grid)
                    for r in persons:
                        counted[r.kind] += sum(v or 0 for v in r.figures.values())
                compared += 4
    assert all(counted.values()), counted  # people's figures were compared, not empty tables
    return compared


def test_rollups_equal_the_raw_cases_before_and_after_changes(people, history):
    everything = Period("custom", history.first - timedelta(days=3), timezone.localdate() + timedelta(days=1))
    written = rollups.rebuild()
    assert written == DailyRollup.objects.count() + ActorRollup.objects.count() + RollupSlice.objects.count()
    assert DailyRollup.objects.count() > 20
    # The generated history is varied: every counter is counted somewhere.
    sums = DailyRollup.objects.aggregate(**{n: Sum(n) for n in COUNTERS})
    assert all(sums.values()), sums
    actor_sums = ActorRollup.objects.aggregate(**{n: Sum(n) for n in ACTOR_COUNTERS})
    assert all(actor_sums.values()), actor_sums
    assert sums["reported"] == Case.objects.count()
    assert assert_rollups_equal_raw(people, history.first) > 200

    p = people
    act(history.to_close.pk, p.community_dispatcher, "close")
    act(history.to_rate.pk, p.resident, "rate", Params(rating="basically"))
    act(history.to_return.pk, p.handler, "return", Params(note="不属于本部门"))
    act(history.to_return.pk, p.community_dispatcher, "dispatch", Params(department_id=p.police.pk))
    act(history.to_rework.pk, p.worker, "rework", Params(note="没有清理干净"))
    # A visit entered today for a day in the history: the refresh counts it on its own date.
    from gridgov.population.models import Visit

    old_visit = Visit.objects.filter(worker=p.worker).first()
    Visit.objects.create(household=old_visit.household, grid=old_visit.grid, worker=p.worker, notes="补录",
                         visited_on=history.first + timedelta(days=40))
    before = kpis.counters(p.auditor, everything, "", "department_id", source="rollup")[0]
    rollups.refresh()
    after = kpis.counters(p.auditor, everything, "", "department_id", source="rollup")[0]
    # The changes are in the rollups now: one more closed and rated, a return by S, a case moved
    # from S to P, a rework.
    sanitation, police = p.sanitation.pk, p.police.pk
    assert after[sanitation]["returns"] == before[sanitation]["returns"] + 1
    assert after[sanitation]["to_handle"] == before[sanitation]["to_handle"] - 1
    assert after[police]["to_handle"] == before[police]["to_handle"] + 1
    assert after[sanitation]["reworked"] == before[sanitation]["reworked"] + 1
    assert after[sanitation]["dept_closed"] == before[sanitation]["dept_closed"] + 1
    assert after[sanitation]["rated"] == before[sanitation]["rated"] + 1
    assert assert_rollups_equal_raw(people, history.first) > 200


def test_a_refresh_rebuilds_only_the_days_that_changed(september):
    s = september
    rollups.rebuild()
    sep1, sep9 = date(2026, 9, 1), date(2026, 9, 9)
    # Spoil two days' rows; only a day that a change touches is counted again.
    assert DailyRollup.objects.filter(day=sep1).update(reported=F("reported") + 100) > 0
    assert DailyRollup.objects.filter(day=sep9).update(reported=F("reported") + 100) > 0
    # c8 (reported, registered and dispatched on Sep 9) is finished today.
    act(s.c8.pk, s.handler, "report_result", Params(note="已清运"))
    act(s.c8.pk, s.worker_a, "verify")
    act(s.c8.pk, s.community_dispatcher, "close")
    rollups.refresh()
    state = RollupState.objects.get()
    # Sep 9 and today, and the dates of the fixture's two visits, entered within the look-back
    assert state.days_refreshed == 4
    by_department = {source: lambda day, source=source: kpis.counters(
        s.auditor, period_of("day", day), "", "department_id", source=source)[0]
        for source in ("rollup", "raw")}
    for day in (sep9, timezone.localdate()):
        from_rollups, raw = by_areas(s.auditor, period_of("day", day), "", None)
        assert from_rollups == raw
        assert by_department["rollup"](day) == by_department["raw"](day)
    # a day's figures by department are read from its daily rows, still spoiled on Sep 1
    on_sep1, raw_sep1 = by_department["rollup"](sep1), by_department["raw"](sep1)
    assert sum(c["reported"] for c in on_sep1.values()) == sum(c["reported"] for c in raw_sep1.values()) + 100
    # c8 now counts as closed on its registration day, in its department's figures too.
    b = {r.key: r for r in kpis.area_rows(s.leader, period_of("month", sep1), source="rollup")[0]}
    assert b[s.grid_a.code].figures["closed"] == 2
    # The next run looks back ten minutes and reads c8's changes again: counted once only ...
    rollups.refresh()
    assert RollupState.objects.get().days_refreshed == 0
    # ... but a case changed again is counted again (its report day and today).
    Case.objects.filter(pk=s.c8.pk).update(updated_at=timezone.now())
    rollups.refresh()
    assert RollupState.objects.get().days_refreshed == 2


def test_the_first_refresh_rebuilds_everything_and_the_figures_come_from_fresh_rollups(september, settings):
    s = september
    sep = period_of("month", date(2026, 9, 1))
    assert kpis.counters(s.leader, sep, "", "grid__code")[1] == "raw"  # never built
    rollups.refresh()
    state = RollupState.objects.get()
    assert state.rebuilt_at == state.refreshed_at and state.days_refreshed > 90  # Aug 31 to today
    assert DailyRollup.objects.filter(day=date(2026, 8, 31)).exists()
    # Fresh rollups serve people whose scope is grids ...
    assert kpis.counters(s.leader, sep, "", "grid__code")[1] == "rollup"
    assert kpis.area_rows(s.auditor, sep)[1] == "rollup"
    assert kpis.department_rows(s.leader, sep)[1] == "rollup"
    # ... but not a handler, whose cases are their department's wherever they are.
    assert kpis.department_rows(s.handler, sep)[1] == "raw"
    # Stale rollups are not used.
    settings.GRIDGOV_ROLLUP_MAX_AGE_SECONDS = 60
    RollupState.objects.update(refreshed_at=timezone.now() - timedelta(minutes=2))
    assert kpis.counters(s.leader, sep, "", "grid__code")[1] == "raw"


def test_the_refresh_runs_every_five_minutes_in_huey(september):
    from huey.contrib.djhuey import HUEY

    from gridgov.analytics import tasks

    assert tasks.refresh_rollups.task_class in HUEY._registry._periodic_tasks
    task = tasks.refresh_rollups.task_class()
    assert task.validate_datetime(datetime(2026, 11, 23, 9, 5)) is True
    assert task.validate_datetime(datetime(2026, 11, 23, 9, 7)) is False
    tasks.refresh_rollups()  # jobs run at once in tests
    assert RollupState.objects.get().refreshed_at is not None
    sep = period_of("month", date(2026, 9, 1))
    from_rollups, raw = by_areas(september.leader, sep, "", None)
    assert from_rollups == raw and from_rollups


def test_the_rollup_command(september, capsys):
    call_command("rollup", "--rebuild", "--since", "2026-09-01")
    assert "rollup rows written" in capsys.readouterr().out
    assert not DailyRollup.objects.filter(day__lt=date(2026, 9, 1)).exists()
    assert DailyRollup.objects.filter(day=date(2026, 9, 1)).exists()
    with pytest.raises(CommandError):
        call_command("rollup", "--since", "2026-09-01")
    with pytest.raises(CommandError):
        call_command("rollup", "--rebuild", "--since", "1 Sept")


def test_moments_are_counted_on_their_local_day(people):
    # 23:30 in Shanghai is 15:30 UTC: the case is the local day's, on both sides.
    case = reported(at(9, 30, 23, 30), people.worker, point(people.district.micro_grids[2]))
    rollups.rebuild()
    assert DailyRollup.objects.get().day == date(2026, 9, 30)
    october = kpis.counters(people.auditor, period_of("month", date(2026, 10, 1)), "", "grid__code",
                            source="rollup")[0]
    assert october == {} == kpis.counters(people.auditor, period_of("month", date(2026, 10, 1)), "",
                                          "grid__code", source="raw")[0]
    assert case.number.startswith("20260930")
