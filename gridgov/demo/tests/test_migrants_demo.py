"""The demo's migrants: the dormitory sized as planned, every bed and card held by one person at a time,
permits and rentals as the services would have left them, and the new accounts' scope — on the
fengqiao district built once for this package's modules (conftest.py)."""

from collections import Counter
from datetime import timedelta

import pytest
import shapely
from django.db.models import Count, F, Q
from django.utils import timezone

from gridgov.accounts.models import Role, User
from gridgov.demo import migrants as demo_migrants
from gridgov.demo.builder import PROFILES, demo_accounts, reset_migrants
from gridgov.grids.models import Grid
from gridgov.migrants import conf, dormitories, employers, figures, permits, rentals
from gridgov.migrants.models import (
    AccessCard,
    Bed,
    CardEvent,
    Dormitory,
    Employment,
    Inspection,
    Lessee,
    MigrantEstimate,
    Permit,
    Rental,
    Room,
    Stay,
)
from gridgov.population import codes
from gridgov.population.models import Person

pytestmark = pytest.mark.django_db
SIZE = demo_migrants.SIZES["fengqiao"]


@pytest.fixture(scope="module")
def migrants(fengqiao, django_db_blocker):
    """The section as the demo command builds it; built here (and removed afterwards) when the shared
    district was built without it (`gridgov demo --no-migrants`)."""
    with django_db_blocker.unblock():
        built_here = not Dormitory.objects.exists()
        if built_here:
            demo_migrants.build_migrants(PROFILES["fengqiao"])
        yield Dormitory.objects.select_related("grid").get()
        if built_here:
            reset_migrants()


def test_the_dormitory_is_a_dedicated_grid_inside_a_community(migrants):
    grid = migrants.grid
    assert grid.kind == Grid.Kind.SPECIAL and grid.special_type == Grid.SpecialType.DORMITORY
    assert migrants.name == grid.name == "木桥公寓" and migrants.police_room and migrants.service_office
    community = grid.parent
    assert community.level == 2 and grid.code.startswith(community.code)
    assert shapely.geometry.shape(community.boundary).contains(shapely.geometry.shape(grid.boundary))
    manager = User.objects.get(username="dormmanager")
    assert manager.assignments.get().role == Role.DORM_MANAGER and manager.assignments.get().grid == grid
    assert manager.check_password("gridgov-demo-2026")
    employer = User.objects.get(username="employer").assignments.get()
    assert employer.role == Role.EMPLOYER and employer.grid is None
    biggest = Counter(Employment.objects.filter(ended_on=None).values_list("organization", flat=True))
    assert employer.organization_id == biggest.most_common(1)[0][0]
    shown = {a.username: a for a in demo_accounts()}
    assert shown["dormmanager"].where == grid.name and shown["employer"].where == employer.organization.name


def test_sizes(migrants):
    rooms = Room.objects.filter(dormitory=migrants)
    assert rooms.count() == SIZE.buildings * SIZE.floors * SIZE.rooms_per_floor
    assert set(rooms.values_list("capacity", flat=True)) == {4, 6, 8}
    assert 9_000 <= Bed.objects.count() <= 12_000
    workers = Person.objects.filter(grid=migrants.grid)
    assert 9_000 <= workers.count() <= 12_000 and not workers.filter(is_migrant=False).exists()
    assert 10 <= Lessee.objects.filter(dormitory=migrants).count() <= 15
    occupancy = dormitories.occupancy(migrants)
    assert occupancy["waiting"] == SIZE.waiting
    assert 0 < occupancy["over_capacity_rooms"] <= SIZE.over_rooms
    assert 0 < occupancy["free"] < 0.05 * occupancy["beds"]
    assert occupancy["occupied"] == workers.exclude(dormitory_bed="").count()


def test_workers_are_valid_migrants_from_other_provinces(migrants):
    today = timezone.localdate()
    local = PROFILES["fengqiao"].district_code[:2]
    rows = list(
        Person.objects.filter(grid=migrants.grid).values_list(
            "id_number", "birth_date", "arrived_on", "household", "registered_address"
        )
    )
    numbers = set()
    for number, birth, arrived, household, address in rows:
        codes.validate_id_number(number)
        assert number[:2] != local and number[6:14] == f"{birth:%Y%m%d}" and address
        assert household is None and today - timedelta(days=3 * 365 + 1) <= arrived <= today
        numbers.add(number)
    assert len(numbers) == len(rows)
    # The lookup hashes are the fields' own: a worker is found by their ID number.
    number = rows[0][0]
    assert (
        Person.objects.filter(id_number_hash=Person._meta.get_field("id_number_hash").digest(number)).count()
        == 1
    )


def test_no_bed_holds_two_people_and_no_person_two_beds(migrants):
    live = Stay.objects.filter(checked_out_on=None)
    assert not live.values("bed").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not live.values("person").annotate(n=Count("pk")).filter(n__gt=1).exists()
    for stay in live.select_related("bed__room__building", "person").order_by("?")[:300]:
        assert stay.person.dormitory_bed == stay.bed.label() and stay.checked_in_on <= timezone.localdate()
        assert stay.organization_id == stay.person.employer_id
    left = Stay.objects.exclude(checked_out_on=None)
    assert left.count() == SIZE.former
    assert not Employment.objects.filter(person__in=left.values("person"), ended_on=None).exists()
    # Rooms over their capacity hold more people than the capacity, never more than their beds.
    for room in dormitories.rooms_with_occupancy(migrants):
        assert room.occupied <= room.bed_count


def test_every_card_number_is_unique_and_each_step_an_event(migrants):
    cards = AccessCard.objects.filter(dormitory=migrants)
    assert cards.values("number").distinct().count() == cards.count()
    states = Counter(cards.values_list("state", flat=True))
    assert states["issued"] > 9_000 and states["lost"] and states["blocked"] and states["returned"]
    assert not cards.filter(state="issued").values("holder").annotate(n=Count("pk")).filter(n__gt=1).exists()
    events = Counter(CardEvent.objects.values_list("action", flat=True))
    assert events["issue"] == cards.count()
    assert (events["lose"], events["block"], events["return"]) == (
        states["lost"],
        states["blocked"],
        states["returned"],
    )
    assert not CardEvent.objects.filter(at__gt=timezone.now()).exists()


def test_permits_follow_the_rules_and_leave_a_few_hundred_due(migrants):
    today = timezone.localdate()
    live = Permit.objects.filter(state__in=("applied", "issued"))
    assert not live.values("person").annotate(n=Count("pk")).filter(n__gt=1).exists()
    for permit in Permit.objects.select_related("person").order_by("?")[:500]:
        assert permit.applied_on <= today and permit.grid_id == permit.person.grid_id
        if permit.state in ("issued", "expired"):
            assert permit.number and permit.applied_on <= permit.issued_on < permit.expires_on
            assert (permit.expires_on >= today) == (permit.state == "issued")
    # The person's permit state follows the newest permit.
    expected = {"applied": "applied", "issued": "valid", "expired": "expired", "refused": "none"}
    newest = {}
    for person, state in Permit.objects.order_by("applied_on", "id").values_list("person", "state"):
        newest[person] = expected[state]
    shown = dict(Person.objects.filter(pk__in=list(newest)).values_list("pk", "permit_state"))
    assert shown == newest
    migrants_past_stay = Person.objects.filter(
        is_migrant=True,
        is_active=True,
        arrived_on__lte=permits.add_months(today, -conf.stay_months()) - timedelta(days=60),
    )
    issued = migrants_past_stay.filter(permits__state="issued").distinct().count()
    assert issued / migrants_past_stay.count() > 0.85
    admin = User.objects.get(username="admin")
    due = permits.counts(admin, today)
    assert 50 <= due["apply_due"] + due["renew_due"] <= 1_000, due
    assert due["apply_overdue"] > 0 and due["renew_due"] > 0
    assert permits.due_list(User.objects.get(username="dormmanager"), today)  # the manager's list


def test_rentals_have_a_year_of_inspections_as_inspect_records_them(migrants):
    assert 100 <= Rental.objects.count() <= SIZE.rentals + SIZE.proxy
    proxy = Rental.objects.filter(scheme=Rental.Scheme.PROXY)
    assert proxy.exists() and not proxy.filter(lessee=None).exists()
    assert set(proxy.values_list("lessee", flat=True)) <= set(
        Lessee.objects.values_list("organization", flat=True)
    )
    assert not Rental.objects.exclude(house__use="rented").exists()
    assert not Rental.objects.exclude(grid=F("house__grid")).exists()
    inspections = Inspection.objects.all()
    total = inspections.count()
    assert total >= 3 * Rental.objects.count()
    assert 0.85 <= inspections.filter(passed=True).count() / total < 1
    assert 0.85 <= inspections.filter(on_time=True).count() / total < 1
    for inspection in inspections.select_related("rental").order_by("?")[:300]:
        assert set(inspection.results) == set(rentals.CHECKLIST)
        assert inspection.passed == all(v == rentals.PASS for v in inspection.results.values())
        assert inspection.on_time == (inspection.done_on <= inspection.due_on)
        assert inspection.done_on <= timezone.localdate()
        assert inspection.done_on < inspection.rental.next_due_on
    overdue = rentals.overdue(User.objects.get(username="admin")).count()
    assert 0 < overdue < 0.2 * Rental.objects.count()


def test_estimates_put_the_registered_share_at_85_to_95_percent(migrants):
    assert MigrantEstimate.objects.filter(grid=migrants.grid).exists()
    leader = User.objects.get(username="community")
    rows = figures.area_rows(leader)
    share = sum(r["migrants"] for r in rows) / sum(r["estimated"] or 0 for r in rows)
    assert 0.85 <= share <= 0.95


def test_the_dormitory_manager_sees_the_dormitorys_workers_only(migrants):
    manager = User.objects.get(username="dormmanager")
    mine = Person.objects.visible_to(manager)
    assert mine.count() == Person.objects.filter(grid=migrants.grid).count() > 9_000
    assert not mine.exclude(grid=migrants.grid).exists()
    assert Person.objects.exclude(grid=migrants.grid).exists()
    assert list(Dormitory.objects.visible_to(manager)) == [migrants]
    worker = User.objects.get(username="worker")  # a grid worker of the same community
    assert not Person.objects.visible_to(worker).filter(grid=migrants.grid).exists()
    assert not Stay.objects.visible_to(worker).exists()


def test_the_employer_sees_its_own_workers(migrants):
    account = User.objects.get(username="employer")
    organization = account.assignments.get().organization
    assert [o.pk for o in employers.employers_for(account)] == [organization.pk]
    visible = Employment.objects.visible_to(account)
    assert visible.count() == Employment.objects.filter(organization=organization).count() > 1_000
    assert not visible.exclude(organization=organization).exists()
    assert not Stay.objects.visible_to(account).filter(~Q(organization=organization)).exists()


def test_reset_deletes_the_section_and_a_second_build_is_refused(migrants):
    with pytest.raises(RuntimeError):
        demo_migrants.build_migrants(PROFILES["fengqiao"])
    grids = Grid.objects.count()
    reset_migrants()  # inside the test's transaction: rolled back afterwards
    for model in (
        Dormitory,
        Room,
        Bed,
        Stay,
        Employment,
        AccessCard,
        CardEvent,
        Permit,
        Rental,
        Inspection,
        MigrantEstimate,
        Lessee,
    ):
        assert not model.objects.exists(), model
    assert not User.objects.filter(username__in=("dormmanager", "employer")).exists()
    assert Grid.objects.count() == grids - 1 and User.objects.exists()
