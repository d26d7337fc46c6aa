"""The due list picks its candidates in SQL (issue 22): the same households, intervals, dates and
order as testing every active household of the scope one by one, and only candidates are built."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from gridgov.population import testing as registry
from gridgov.population import visits
from gridgov.population.models import Household, PersonTag, TagType, VisitRule

pytestmark = pytest.mark.django_db


def one_by_one(user, today, horizon_days):
    """The due list as it was computed before: every active household built, then tested."""
    households = Household.objects.visible_to(user).filter(is_active=True)
    days = visits.intervals(households)
    due = []
    for household in households:
        interval = days[household.pk]
        last = household.last_visited_on
        due_on = last + timedelta(days=interval) if last else today
        if due_on <= today + timedelta(days=horizon_days):
            due.append((household.pk, interval, due_on, due_on < today or not last))
    return sorted(due, key=lambda d: (d[2], d[0]))


def listed(user, today, horizon_days):
    return [(d.household.pk, d.interval_days, d.due_on, d.overdue)
            for d in visits.due_list(user, today=today, horizon_days=horizon_days)]


@pytest.fixture
def mixed(town):
    """Households of grid A with every kind of interval, visited at every distance from today."""
    today = timezone.localdate()
    grid = town.district.micro_grids[0]
    building = town.home.house.building
    plain, tagged = [], []
    for n, ago in enumerate((None, 0, 1, 30, 82, 83, 84, 89, 90, 91, 200)):
        home = registry.household(grid, house_number=f"2{n:02d}", in_building=building)
        registry.person(home, f"张{n}")
        plain.append((home, ago))
    kinds = [
        ("elderly_alone", "normal", True),  # 7 days
        ("disabled", "normal", True),  # 30 days
        ("disabled", "medium", True),  # the care level's 15 days
        ("party_member", "high", True),  # no rule of its own, the level's 7 days
        ("party_member", "normal", True),  # the default
        ("severe_mental_disorder", "normal", True),  # a rule as long as the default
        ("elderly_alone", "normal", False),  # the tagged member moved out: the default
        ("low_income", "normal", True),  # the tag type is retired (below): the default
    ]
    for k, (code, level, active) in enumerate(kinds):
        for m, ago in enumerate((None, 0, 5, 6, 7, 8, 14, 15, 22, 23, 29, 30, 37, 38, 84, 100)):
            home = registry.household(grid, house_number=f"3{k:02d}{m:02d}", in_building=building)
            member = registry.person(home, f"李{k}{m}", tags=(code,), is_active=active)
            PersonTag.objects.filter(person=member).update(care_level=level)
            tagged.append((home, ago))
    TagType.objects.filter(code="low_income").update(is_active=False)
    gone = registry.household(grid, house_number="999", in_building=building, is_active=False)
    for home, ago in [*plain, *tagged]:
        last = None if ago is None else today - timedelta(days=ago)
        Household.objects.filter(pk=home.pk).update(last_visited_on=last)
    return town, today, gone


@pytest.mark.parametrize("horizon", [0, 1, 7, 8, 30, 60, 365])
def test_the_due_list_is_the_same_as_testing_every_household(mixed, horizon):
    town, today, gone = mixed
    expected = one_by_one(town.worker, today, horizon)
    assert listed(town.worker, today, horizon) == expected
    assert gone.pk not in [pk for pk, *_rest in expected]
    assert {interval for _pk, interval, *_rest in expected} >= ({7, 90} if horizon < 60 else {7, 15, 30, 90})


def test_the_due_list_follows_edited_rules(mixed):
    town, today, _gone = mixed
    VisitRule.objects.filter(tag_type=None, care_level="").update(interval_days=20)  # shorter than some
    VisitRule.objects.filter(care_level="medium").update(interval_days=120)  # longer than the default
    VisitRule.objects.create(care_level="normal", interval_days=10)
    for horizon in (0, 7, 30):
        assert listed(town.worker, today, horizon) == one_by_one(town.worker, today, horizon)


def test_only_candidates_are_built(mixed):
    """Households visited within the default interval, with no shorter rule, are never loaded."""
    town, today, _gone = mixed
    built = []
    original = Household.from_db

    def counting(cls, db, field_names, values):
        built.append(values[field_names.index("id")])
        return original.__func__(cls, db, field_names, values)

    with mock.patch.object(Household, "from_db", classmethod(counting)):
        due = visits.due_list(town.worker, today=today, horizon_days=7)
    recent = set(Household.objects.filter(is_active=True, last_visited_on__gt=today - timedelta(days=83),
                                          members__tags=None).values_list("pk", flat=True))
    assert recent and not recent & set(built)
    assert {d.household.pk for d in due} <= set(built)
