"""研判 on seeded cases and registry rows with known hotspots, recurrences, repeat callers, unusual
weeks and neglected households: each is found, once, with what stands behind it; noise is not."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.analytics import rollups
from gridgov.cases.categories import STANDARD
from gridgov.cases.models import Case, Category
from gridgov.core.testing import staff
from gridgov.insights import analysis, conf
from gridgov.insights.models import EarlyWarning
from gridgov.population import testing as registry
from gridgov.population.models import PersonTag, TagType, VisitRule

pytestmark = pytest.mark.django_db
NOW = timezone.now()
SPOT = (31.3051, 120.5051)  # inside community 1
M = 1 / 111_000  # about a metre in degrees


@pytest.fixture
def garbage():
    return Category.objects.get(standard_ref=STANDARD, kind="matter", code="06010")  # 暴露垃圾


@pytest.fixture
def other_class():
    found = Category.objects.filter(kind="matter", children__isnull=True).exclude(code__startswith="06")
    return found.order_by("code").first()


def case(
    category, lat, lon, *, days_ago: float, grid, state=Case.State.REGISTERED, closed_days_ago=None, **fields
):
    reported = NOW - timedelta(days=days_ago, minutes=5)  # a little before the run's moment
    return Case.objects.create(
        channel=fields.pop("channel", Case.Channel.WORKER),
        state=state,
        category=category,
        description="有问题需要处理",
        grid=grid,
        lat=lat,
        lon=lon,
        reported_at=reported,
        closed_at=NOW - timedelta(days=closed_days_ago) if closed_days_ago is not None else None,
        **fields,
    )


def noise(category, grid, count=40, seed=7):
    """Cases scattered over the district: no two within a hotspot's reach of many others."""
    rng = random.Random(seed)
    made = 0
    while made < count:
        lat, lon = 31.30 + rng.random() * 0.04, 120.50 + rng.random() * 0.04
        if abs(lat - SPOT[0]) < 300 * M and abs(lon - SPOT[1]) < 300 * M:
            continue  # away from the hotspot planted in the tests
        case(category, lat, lon, days_ago=rng.random() * 25, grid=grid)
        made += 1


def test_a_cluster_of_one_class_is_a_hotspot_and_scattered_cases_are_not(district, garbage, other_class):
    grid = district.micro_grids[2]
    for n in range(8):  # eight cases of garbage within about 40 m
        case(garbage, SPOT[0] + (n % 3) * 15 * M, SPOT[1] + (n // 3) * 15 * M, days_ago=n, grid=grid)
    for n in range(4):  # four of another class at the same place: too few alone
        case(other_class, SPOT[0], SPOT[1], days_ago=n, grid=grid)
    noise(garbage, grid)
    found = analysis.hotspots(NOW)
    assert len(found) == 1
    spot = found[0]
    assert spot.evidence["count"] == 8 and spot.category_id == analysis.classes()[garbage.pk].pk
    assert abs(spot.lat - SPOT[0]) < 0.001
    # Cases outside the window are not counted.
    assert analysis.hotspots(NOW - timedelta(days=40)) == []


def test_a_case_back_after_its_fix_is_a_recurring_problem(district, garbage):
    grid = district.micro_grids[2]
    first = case(garbage, *SPOT, days_ago=20, grid=grid, state=Case.State.CLOSED, closed_days_ago=18)
    again = case(
        garbage, SPOT[0] + 20 * M, SPOT[1], days_ago=10, grid=grid, state=Case.State.CLOSED, closed_days_ago=9
    )
    third = case(garbage, SPOT[0], SPOT[1] + 20 * M, days_ago=2, grid=grid)
    # Not a recurrence: too far, or before the fix, or long after it.
    case(garbage, SPOT[0] + 900 * M, SPOT[1], days_ago=5, grid=grid)
    old = case(
        garbage,
        31.335,
        120.535,
        days_ago=200,
        grid=district.micro_grids[7],
        state=Case.State.CLOSED,
        closed_days_ago=150,
    )
    case(garbage, 31.335, 120.535, days_ago=3, grid=district.micro_grids[7])
    found = analysis.recurrences(NOW)
    assert len(found) == 1
    place = found[0]
    assert (
        place.evidence["cases"] == sorted([first.pk, again.pk, third.pk]) and place.evidence["recurred"] == 2
    )
    assert old.pk not in place.evidence["cases"]


def test_repeat_callers_by_phone_hash_and_by_resident(district, garbage):
    grid = district.micro_grids[0]
    for n in range(5):
        case(garbage, *SPOT, days_ago=n, grid=grid, channel=Case.Channel.HOTLINE, caller_phone="13800001111")
    for n in range(3):
        case(garbage, *SPOT, days_ago=n, grid=grid, channel=Case.Channel.HOTLINE, caller_phone="13800002222")
    resident = staff(Role.RESIDENT, district.grids[0])
    for n in range(4):
        case(garbage, *SPOT, days_ago=n, grid=grid, channel=Case.Channel.RESIDENT, reporter=resident)
    found = analysis.repeat_callers(NOW)
    assert sorted(f.evidence["count"] for f in found) == [4, 5]
    assert all("1380000" not in f.key and "1380000" not in f.title for f in found)  # never the number


def test_a_week_far_above_its_baseline_is_a_trend(district, garbage):
    grid = district.micro_grids[2]
    rng = random.Random(3)
    last_week = analysis.week_start(timezone.localdate()) - timedelta(weeks=1)
    for week in range(1, 13):  # one or two cases a week for twelve weeks
        for _n in range(1 + week % 2):
            days = (timezone.localdate() - (last_week - timedelta(weeks=week))).days - 2
            case(garbage, 31.30 + rng.random() * 0.01, 120.50 + rng.random() * 0.01, days_ago=days, grid=grid)
    for _n in range(12):  # then twelve in the last full week
        days = (timezone.localdate() - last_week).days - 2
        case(garbage, 31.30 + rng.random() * 0.01, 120.50 + rng.random() * 0.01, days_ago=days, grid=grid)
    rollups.rebuild()  # trends read the daily rollups
    found = [f for f in analysis.trends(NOW) if f.kind == EarlyWarning.Kind.TREND]
    assert len(found) == 1
    assert found[0].evidence["count"] == 12 and found[0].grid_id == district.grids[1].pk
    assert found[0].evidence["seasonal"] is None  # no year of history: the twelve weeks alone


def weekly(category, grid, counts: dict[int, int], seed=5):
    """`counts[k]` cases in the week k weeks before the last full week (0: the last full week)."""
    rng = random.Random(seed)
    last_week = analysis.week_start(timezone.localdate()) - timedelta(weeks=1)
    for weeks_before, count in counts.items():
        days = (timezone.localdate() - (last_week - timedelta(weeks=weeks_before))).days - 2
        for _n in range(count):
            lat, lon = 31.30 + rng.random() * 0.01, 120.50 + rng.random() * 0.01
            case(category, lat, lon, days_ago=days, grid=grid)


def test_a_week_that_is_busy_every_year_is_the_season_not_a_trend(district, garbage):
    grid = district.micro_grids[2]
    usual = {k: 1 + k % 2 for k in range(1, 13)}
    # A year earlier: the same quiet weeks, then the same week and those around it as busy as now.
    a_year_before = {52 + k: n for k, n in usual.items()} | {52 + k: 12 for k in range(-2, 3)}
    weekly(garbage, grid, {**usual, 0: 12, **a_year_before})
    rollups.rebuild()
    found = [f for f in analysis.trends(NOW) if f.kind == EarlyWarning.Kind.TREND]
    assert found == []
    # The same week three times as busy as the season's: a trend, against the seasonal expectation.
    weekly(garbage, grid, {0: 24}, seed=6)
    rollups.rebuild()
    (trend,) = [f for f in analysis.trends(NOW) if f.kind == EarlyWarning.Kind.TREND]
    assert trend.evidence["count"] == 36 and trend.evidence["seasonal"] > 4
    assert trend.evidence["expected"] > trend.evidence["baseline"]


def test_a_cared_for_household_left_unvisited_is_a_registry_warning(district):
    alone = TagType.objects.create(code="alone-test", name="独居老人", is_sensitive=False)
    VisitRule.objects.create(tag_type=alone, interval_days=7)
    home = registry.household(
        district.micro_grids[0], head_name="李奶奶", last_visited_on=timezone.localdate() - timedelta(days=30)
    )
    person = registry.person(home, "李奶奶")
    PersonTag.objects.create(person=person, tag_type=alone, grid=person.grid)
    visited = registry.household(
        district.micro_grids[0], house_number="102", last_visited_on=timezone.localdate()
    )
    PersonTag.objects.create(person=registry.person(visited, "王爷爷"), tag_type=alone, grid=visited.grid)
    registry.person(
        registry.household(district.micro_grids[0], house_number="103"), "张三"
    )  # no care: no warning
    found = analysis.care_unvisited(timezone.localdate())
    assert [f.key for f in found] == [f"household:{home.pk}"]
    assert found[0].evidence["people"] == [person.pk] and "23" in found[0].title


def test_a_run_raises_each_warning_once_and_updates_it(district, garbage):
    grid = district.micro_grids[2]
    for n in range(6):
        case(garbage, SPOT[0] + n * 10 * M, SPOT[1], days_ago=n, grid=grid)
    analysis.run(now=NOW)
    warning = EarlyWarning.objects.get(kind=EarlyWarning.Kind.HOTSPOT)
    assert warning.evidence["count"] == 6 and warning.times_seen == 1 and warning.is_current
    # Two more cases the next day, the cluster's centre moved a little: the same warning, updated.
    for n in range(2):
        case(garbage, SPOT[0] + 60 * M, SPOT[1] + n * 10 * M, days_ago=0, grid=grid)
    analysis.run(now=NOW + timedelta(hours=1))
    warning.refresh_from_db()
    assert EarlyWarning.objects.filter(kind=EarlyWarning.Kind.HOTSPOT).count() == 1
    assert warning.evidence["count"] == 8 and warning.times_seen == 2
    assert warning.evidence["rank"] == 1
    # Resolved: found again with nothing new, it stays resolved; a newer case there, and it is back.
    EarlyWarning.objects.filter(pk=warning.pk).update(state=EarlyWarning.State.RESOLVED)
    analysis.run(now=NOW + timedelta(hours=2), full=True)
    warning.refresh_from_db()
    assert warning.state == EarlyWarning.State.RESOLVED and warning.times_seen == 3
    case(garbage, SPOT[0] + 20 * M, SPOT[1], days_ago=0, grid=grid)
    analysis.run(now=NOW + timedelta(hours=3))
    warning.refresh_from_db()
    assert warning.state == EarlyWarning.State.NEW and warning.logs.get().action == "found_again"
    analysis.run(now=NOW + timedelta(days=60))
    warning.refresh_from_db()
    assert not warning.is_current and EarlyWarning.objects.filter(kind=EarlyWarning.Kind.HOTSPOT).count() == 1


def test_a_later_run_analyses_again_only_the_classes_whose_cases_changed(district, garbage, other_class):
    grid, top = district.micro_grids[2], analysis.classes()
    window = timedelta(days=conf.window_days())
    for n in range(6):
        case(garbage, SPOT[0] + n * 10 * M, SPOT[1], days_ago=n, grid=grid)
    for n in range(6):  # another class's hotspot 2 km away, its cases about to leave the window
        made = case(other_class, SPOT[0] + 2000 * M + n * 10 * M, SPOT[1], days_ago=0, grid=grid)
        Case.objects.filter(pk=made.pk).update(reported_at=NOW - window + timedelta(seconds=30 + n))
    assert analysis.run(now=NOW).is_full  # the first run of the day
    hotspot = EarlyWarning.objects.get(kind=EarlyWarning.Kind.HOTSPOT, category_id=top[garbage.pk].pk)
    other = EarlyWarning.objects.get(kind=EarlyWarning.Kind.HOTSPOT, category_id=top[other_class.pk].pk)
    # One more garbage case: only its class is clustered again; the other hotspot is left as it was.
    case(garbage, SPOT[0] + 30 * M, SPOT[1] + 10 * M, days_ago=0, grid=grid)
    second = analysis.run(now=NOW + timedelta(seconds=10))
    assert not second.is_full and second.classes == [top[garbage.pk].pk]
    assert "trend" not in second.counts  # whole weeks: once a day
    hotspot.refresh_from_db(), other.refresh_from_db()
    assert hotspot.evidence["count"] == 7 and hotspot.times_seen == 2
    assert other.times_seen == 1 and other.is_current
    # Nothing reported since, but the other class's cases have left the window: it is analysed again.
    third = analysis.run(now=NOW + timedelta(minutes=1))
    assert third.classes == [top[other_class.pk].pk]
    hotspot.refresh_from_db(), other.refresh_from_db()
    assert not other.is_current
    assert hotspot.is_current and hotspot.times_seen == 2
    # The next day's first run is full again.
    assert analysis.run(now=NOW + timedelta(days=1)).is_full
