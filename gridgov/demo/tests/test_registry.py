"""The demo registry: volumes and shares, valid codes, places inside their grids, one grid
per household, the scope rule, and a year of visits — on the fengqiao district built once
for this module and test_demo.py (conftest.py)."""

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta

import pytest
import shapely
from django.db.models import Count, F, Max
from django.utils import timezone

from gridgov.accounts.models import Assignment, Role, User
from gridgov.demo import registry
from gridgov.demo.builder import PROFILES, reset_registry
from gridgov.demo.tests.conftest import TEST_COMMUNITIES
from gridgov.grids.locator import get_index
from gridgov.grids.models import Grid
from gridgov.population import codes, visits
from gridgov.population.models import (
    Building,
    Compound,
    House,
    Household,
    Organization,
    Person,
    PersonTag,
    Unit,
    Visit,
)
from gridgov.privacy.masking import PHONE_RE

pytestmark = pytest.mark.django_db
PROFILE = replace(PROFILES["fengqiao"], registry_communities=TEST_COMMUNITIES)  # as conftest builds it


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _age(person_birth, today) -> float:
    return (today - person_birth).days / 365.25


def test_the_populated_communities_hold_every_household_of_their_grids(fengqiao):
    populated, communities = registry.populated_communities(PROFILE)
    assert (populated, communities) == (PROFILE.registry_communities, 119)
    households = Household.objects.count()
    assert households == registry.expected_households(PROFILE)
    # Full density: each populated level-3 grid holds its own estimate (≈ 400).
    per_grid = Counter(code[:15] for code in Household.objects.values_list("grid__code", flat=True))
    estimates = dict(Grid.objects.filter(code__in=per_grid).values_list("code", "households_estimate"))
    assert per_grid == Counter(estimates)
    assert all(code.startswith("320505003") for code in per_grid)  # the demo accounts' street
    people = Person.objects.count()
    assert 2.3 <= people / households <= 2.9
    assert Compound.objects.exists() and Unit.objects.exists()


def test_houses_have_the_expected_uses(fengqiao):
    uses = Counter(House.objects.values_list("use", flat=True))
    total = sum(uses.values())
    for use, share in ((House.Use.OWNER_OCCUPIED, 0.75), (House.Use.RENTED, 0.15), (House.Use.VACANT, 0.07),
                       (House.Use.BUSINESS, 0.03)):
        assert abs(_share(uses[use], total) - share) < 0.015, use
    occupied = House.objects.filter(use__in=[House.Use.OWNER_OCCUPIED, House.Use.RENTED])
    assert occupied.count() == Household.objects.count()
    assert not House.objects.exclude(use__in=[House.Use.OWNER_OCCUPIED, House.Use.RENTED]).filter(
        households__isnull=False).exists()
    rented = House.objects.filter(use=House.Use.RENTED)
    assert not rented.filter(landlord_name="").exists()
    assert all(PHONE_RE.match(house.landlord_phone) and house.lease_end > house.lease_start
               for house in rented)


def test_people_look_like_a_real_population(fengqiao):
    today = timezone.localdate()
    rows = list(Person.objects.values_list("birth_date", "is_migrant", "political_status", "ethnicity",
                                           "arrived_on", "permit_state"))
    n = len(rows)
    ages = [_age(birth, today) for birth, *_rest in rows]
    assert 0.17 <= _share(sum(a >= 60 for a in ages), n) <= 0.23
    assert 0.08 <= _share(sum(a < 15 for a in ages), n) <= 0.2
    assert max(ages) < 105
    migrants = [row for row in rows if row[1]]
    assert 0.22 <= _share(len(migrants), n) <= 0.28
    assert all(row[4] and row[4] >= row[0] for row in migrants)
    assert {row[5] for row in migrants} >= {"valid", "applied", "expired", "none"}
    assert {row[5] for row in rows if not row[1]} == {"none"}
    assert 0.06 <= _share(sum(row[2] == "01" for row in rows), n) <= 0.10
    assert 0.97 <= _share(sum(row[3] == "01" for row in rows), n) < 1
    assert {status for *_r, status, _e, _a, _p in rows} <= {c for c, _label in codes.POLITICAL_STATUS}


def test_every_id_number_and_phone_is_valid_and_matches_the_person(fengqiao):
    today = timezone.localdate()
    numbers = set()
    for number, birth, sex, phone, migrant, address in Person.objects.values_list(
            "id_number", "birth_date", "sex", "phone", "is_migrant", "registered_address"):
        info = codes.parse_id_number(number)
        assert (info.birth_date, info.sex) == (birth, sex)
        numbers.add(number)
        if phone:
            assert PHONE_RE.match(phone)
        else:
            assert _age(birth, today) < 12
        assert address  # "province city county" of the ID's address code
        if not migrant:
            assert number.startswith("3205")  # the district, or another county of Suzhou
    assert len(numbers) == Person.objects.count()
    local = Person.objects.filter(is_migrant=False).count()
    home = sum(n.startswith("320505") for n in numbers)
    assert home >= 0.8 * local


def test_households_are_consistent(fengqiao):
    today = timezone.localdate()
    members = defaultdict(list)
    for household, relation, sex, birth, marital, name in Person.objects.order_by("pk").values_list(
            "household", "relation", "sex", "birth_date", "marital_status", "name"):
        members[household].append((relation, sex, _age(birth, today), marital, name))
    heads = dict(Household.objects.values_list("id", "head_name"))
    sizes = Counter(len(m) for m in members.values())
    assert set(sizes) == {1, 2, 3, 4, 5} and len(members) == len(heads)
    for household, people in members.items():
        relations = [p[0] for p in people]
        assert relations.count("02") == 1 and relations[0] == "02"
        head = people[0]
        assert heads[household] == head[4]
        spouses = [p for p in people if p[0] == "10"]
        assert len(spouses) <= 1
        for spouse in spouses:
            assert spouse[1] != head[1] and spouse[3] in ("20", "22") and head[3] in ("20", "22")
        for relation, sex, age, marital, _name in people:
            if relation in ("20", "30"):
                assert age < head[2] - 15 and sex == ("1" if relation == "20" else "2")
            if relation == "50":
                assert age > head[2] + 15
            if age < 20:
                assert marital == "10"
    assert sum(len(m) for m in members.values()) == Person.objects.count()


def test_tags_come_at_realistic_shares(fengqiao):
    today = timezone.localdate()
    people = Person.objects.count()
    elderly = Person.objects.filter(birth_date__lte=today - timedelta(days=int(60 * 365.25))).count()
    tags = Counter(PersonTag.objects.values_list("tag_type__code", flat=True))
    assert 0.008 <= _share(tags["low_income"], people) <= 0.025
    assert 0.015 <= _share(tags["elderly_alone"], elderly) <= 0.05
    assert 0.012 <= _share(tags["disabled"], people) <= 0.03
    assert tags["empty_nest"] > 0 and tags["left_behind_child"] > 0
    assert tags["party_member"] == Person.objects.filter(political_status="01").count()
    grades = set(PersonTag.objects.filter(tag_type__code="disabled").values_list("grade", flat=True))
    assert grades == {1, 2, 3, 4}
    assert not PersonTag.objects.exclude(tag_type__code="disabled").filter(grade__isnull=False).exists()
    sensitive = PersonTag.objects.filter(tag_type__is_sensitive=True)
    assert 0 < sensitive.count() < 0.01 * people
    assert {"community_correction", "severe_mental_disorder"} <= set(
        sensitive.values_list("tag_type__code", flat=True))
    alone = (PersonTag.objects.filter(tag_type__code="elderly_alone")
             .values_list("person__household", flat=True))
    assert set(Household.objects.filter(pk__in=alone).annotate(n=Count("members"))
               .values_list("n", flat=True)) == {1}


def test_every_credit_code_is_valid(fengqiao):
    rows = list(Organization.objects.values_list("credit_code", "kind", "grid__level", "grid",
                                                 "building__grid"))
    kinds = Counter(kind for _code, kind, *_rest in rows)
    assert kinds["shop"] > 50 and kinds["company"] > 20
    assert len({code for code, *_rest in rows}) == len(rows)
    for code, kind, level, grid, building_grid in rows:
        codes.validate_credit_code(code)
        assert code[:2] == ("92" if kind == "shop" else "91") and code[2:8] == "320505"
        assert level == 4 and grid == building_grid


def test_every_building_lies_in_its_micro_grid(fengqiao):
    shapes = {pk: shapely.geometry.shape(boundary)
              for pk, boundary in Grid.objects.filter(level=4).values_list("id", "boundary")}
    rows = list(Building.objects.values_list("grid", "grid__code", "lon", "lat"))
    assert all(grid in shapes for grid, *_rest in rows)
    assert all(shapes[grid].contains(shapely.Point(lon, lat)) for grid, _code, lon, lat in rows)
    located = get_index().locate_many([r[2] for r in rows], [r[3] for r in rows])
    assert [ref.code for ref in located] == [code for _grid, code, _lon, _lat in rows]


def test_every_row_carries_its_parents_grid(fengqiao):
    assert not Unit.objects.exclude(grid=F("building__grid")).exists()
    assert not House.objects.exclude(grid=F("building__grid")).exists()
    assert not Household.objects.exclude(grid=F("house__grid")).exists()
    assert not Person.objects.exclude(grid=F("household__grid")).exists()
    assert not Person.objects.filter(household__isnull=True).exists()
    assert not PersonTag.objects.exclude(grid=F("person__grid")).exists()
    assert not Visit.objects.exclude(grid=F("household__grid")).exists()
    assert not Building.objects.filter(compound__isnull=False).exclude(grid=F("compound__grid")).exists()


def test_a_grid_worker_sees_only_the_people_of_their_grid(fengqiao):
    worker = User.objects.get(username="worker")
    grid = worker.assignments.get().grid
    mine = Person.objects.visible_to(worker)
    assert mine.count() == Person.objects.filter(grid__code__startswith=grid.code).count() > 500
    assert {code[:15] for code in mine.values_list("grid__code", flat=True)} == {grid.code}
    assert Person.objects.exclude(grid__code__startswith=grid.code).exists()
    assert not Household.objects.visible_to(worker).exclude(grid__code__startswith=grid.code).exists()
    head = User.objects.get(username="buildinghead")
    assert not Person.objects.visible_to(head).exists()  # building heads keep no registry


def test_the_building_head_sits_on_a_micro_grid_with_buildings(fengqiao):
    grid = Assignment.objects.get(user__username="buildinghead").grid
    assert grid.level == 4 and Building.objects.filter(grid=grid, use=Building.Use.RESIDENTIAL).exists()


def test_every_household_is_visited_every_two_to_three_months(fengqiao):
    today = timezone.localdate()
    visited = Visit.objects.values("household").annotate(n=Count("id"), last=Max("visited_on"))
    by_household = {row["household"]: row for row in visited}
    assert len(by_household) == Household.objects.count()
    for pk, last in Household.objects.values_list("id", "last_visited_on"):
        assert by_household[pk]["last"] == last
    assert Visit.objects.filter(visited_on__gt=today).count() == 0
    assert Visit.objects.filter(visited_on__lt=today - timedelta(days=366)).count() == 0
    tagged = set(PersonTag.objects.filter(tag_type__visit_rule__isnull=False)
                 .values_list("person__household", flat=True))
    plain = [row["n"] for pk, row in by_household.items() if pk not in tagged]
    cared = [row["n"] for pk, row in by_household.items() if pk in tagged]
    assert 4 <= sum(plain) / len(plain) <= 6.5
    assert sum(cared) / len(cared) > 1.5 * sum(plain) / len(plain)
    weekdays = Counter(day.weekday() for day in Visit.objects.values_list("visited_on", flat=True))
    assert weekdays[5] == weekdays[6] == 0
    needs = Visit.objects.exclude(needs="").count()
    assert 0.03 <= needs / Visit.objects.count() <= 0.1


def test_visits_are_made_by_the_grids_own_workers_and_cover_the_grid(fengqiao):
    workers = defaultdict(set)
    for grid, user in Assignment.objects.filter(role=Role.GRID_WORKER).values_list("grid__code", "user"):
        workers[grid].add(user)
    for code, user in Visit.objects.values_list("grid__code", "worker").distinct():
        assert user in workers[code[:15]]
    worker = User.objects.get(username="worker")
    assert Visit.objects.filter(worker=worker).exists()
    rows = visits.coverage(worker)
    assert rows and all(0.85 <= row["share"] < 1 for row in rows)


def test_reset_registry_deletes_every_registry_row(fengqiao):
    reset_registry()  # inside the test's transaction: rolled back afterwards
    for model in (Visit, PersonTag, Person, Household, House, Unit, Organization, Building, Compound):
        assert not model.objects.exists(), model


def test_the_registry_is_built_once(fengqiao):
    with pytest.raises(RuntimeError):
        registry.build_registry(replace(PROFILE, registry_communities=1))
