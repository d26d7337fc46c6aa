"""Worker dormitories: rooms and beds, who sleeps where, the employers housed, access cards.

A dormitory is a dedicated grid (Grid.special_type "dormitory"); its manager holds the
`dorm_manager` role there and `Perm.MANAGE_DORMITORY`, as do the leaders above it. Checking a
worker in moves the person, in the registry, to the dormitory's grid and writes the bed on the
person (`Person.dormitory_bed`), so the grid workers' registry says where everyone sleeps.
"""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases.workflow import IllegalTransition
from gridgov.core import bulk
from gridgov.grids.models import Grid
from gridgov.migrants.models import AccessCard, Bed, CardEvent, Dormitory, Employment, Lessee, Room, Stay
from gridgov.population import services as registry
from gridgov.population.models import Building, Organization, Person

MAX_CAPACITY = 20  # people in one room: beyond it the figure is a typing error


def check_manager(actor, dormitory: Dormitory) -> None:
    if not has_perm(actor, Perm.MANAGE_DORMITORY, dormitory.grid):
        raise PermissionDenied(_("You do not manage dormitory %s.") % dormitory.name)


def dormitory_of(user, pk: int) -> Dormitory:
    found = Dormitory.objects.visible_to(user).select_related("grid").filter(pk=pk).first()
    if found is None:
        raise Http404(_("No such dormitory in your area."))
    return found


def _today(on: date | None) -> date:
    return on or timezone.localdate()


# --- the dormitory and its rooms ------------------------------------------------------------------


@transaction.atomic
def save_dormitory(
    actor,
    *,
    grid: Grid,
    name: str,
    address: str = "",
    police_room: str = "",
    service_office: str = "",
    employers: list[Organization] | None = None,
) -> Dormitory:
    """A dormitory on its dedicated grid (one per grid), with the employers it houses."""
    errors = {}
    if grid.special_type != Grid.SpecialType.DORMITORY:
        errors["grid"] = _("A dormitory is a dedicated grid of the type “dormitory”: choose one.")
    if not name.strip():
        errors["name"] = _("Enter the name.")
    if errors:
        raise ValidationError(errors)
    if not has_perm(actor, Perm.MANAGE_DORMITORY, grid):
        raise PermissionDenied(_("You do not manage dormitories in grid %s.") % grid.code)
    dormitory, _created = Dormitory.objects.update_or_create(
        grid=grid,
        defaults={
            "name": name.strip(),
            "address": address.strip(),
            "police_room": police_room.strip(),
            "service_office": service_office.strip(),
        },
    )
    for organization in employers or []:
        Lessee.objects.get_or_create(
            dormitory=dormitory, organization=organization, defaults={"since": timezone.localdate()}
        )
    return dormitory


@dataclass
class RoomPlan:
    building: str
    first_floor: int
    last_floor: int
    rooms_per_floor: int
    capacity: int
    beds: int | None = None  # beds in each room; the capacity when not given


def _check_plan(plan: RoomPlan) -> None:
    errors = {}
    if not plan.building.strip():
        errors["building"] = _("Enter the building's name.")
    if not 1 <= plan.first_floor <= plan.last_floor <= 60:
        errors["last_floor"] = _("Give floors from 1 to 60, the first not above the last.")
    if not 1 <= plan.rooms_per_floor <= 99:
        errors["rooms_per_floor"] = _("Give 1 to 99 rooms a floor.")
    if not 1 <= plan.capacity <= MAX_CAPACITY:
        errors["capacity"] = _("Give a capacity from 1 to %d.") % MAX_CAPACITY
    if plan.beds is not None and not 1 <= plan.beds <= MAX_CAPACITY:
        errors["beds"] = _("Give 1 to %d beds.") % MAX_CAPACITY
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def add_rooms(actor, dormitory: Dormitory, plan: RoomPlan) -> int:
    """Rooms numbered floor + two digits (301, 302…) with their beds, in a building of the dormitory's
    grid (added to the registry when new); rooms already there are left as they are. How many were
    added."""
    check_manager(actor, dormitory)
    _check_plan(plan)
    # The building joins the registry in the dormitory's grid (checked above: the manager's grid).
    building, _created = Building.objects.get_or_create(
        grid=dormitory.grid,
        name=plan.building.strip(),
        defaults={"floors": plan.last_floor, "address": dormitory.address},
    )
    existing = set(Room.objects.filter(building=building).values_list("number", flat=True))
    rooms = [
        Room(
            dormitory=dormitory,
            building=building,
            floor=floor,
            number=f"{floor}{n:02d}",
            capacity=plan.capacity,
        )
        for floor in range(plan.first_floor, plan.last_floor + 1)
        for n in range(1, plan.rooms_per_floor + 1)
        if f"{floor}{n:02d}" not in existing
    ]
    Room.objects.bulk_create(rooms)
    rooms = Room.objects.filter(building=building, number__in=[r.number for r in rooms])
    beds = plan.beds or plan.capacity
    Bed.objects.bulk_create([Bed(room=room, number=str(n)) for room in rooms for n in range(1, beds + 1)])
    return len(rooms)


@transaction.atomic
def set_capacity(actor, room: Room, capacity: int) -> Room:
    check_manager(actor, room.dormitory)
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationError({"capacity": _("Give a capacity from 1 to %d.") % MAX_CAPACITY})
    room.capacity = capacity
    room.save(update_fields=["capacity"])
    return room


# --- occupancy ------------------------------------------------------------------------------------


def live_stays():
    return Stay.objects.filter(checked_out_on=None)


def rooms_with_occupancy(dormitory: Dormitory):
    """The dormitory's rooms with `beds` and `occupied` counted in SQL; `over` when more people sleep
    there than its capacity."""
    occupied = Count("beds__stays", filter=Q(beds__stays__checked_out_on=None), distinct=True)
    return (
        Room.objects.filter(dormitory=dormitory)
        .select_related("building")
        .annotate(bed_count=Count("beds", filter=Q(beds__is_active=True), distinct=True), occupied=occupied)
        .order_by("building__name", "floor", "number")
    )


def occupancy(dormitory: Dormitory) -> dict:
    """Rooms, beds, occupied, free beds and the rooms over capacity, at a glance."""
    beds = Bed.objects.filter(room__dormitory=dormitory, is_active=True)
    taken = live_stays().filter(bed__room__dormitory=dormitory)
    per_room = taken.values("bed__room_id", "bed__room__capacity").annotate(n=Count("pk")).order_by()
    over = sum(1 for row in per_room if row["n"] > row["bed__room__capacity"])
    total, occupied = beds.count(), taken.count()
    return {
        "rooms": Room.objects.filter(dormitory=dormitory).count(),
        "beds": total,
        "occupied": occupied,
        "free": max(total - occupied, 0),
        "over_capacity_rooms": over,
        "waiting": waiting(dormitory).count(),
    }


def waiting(dormitory: Dormitory):
    """People working for an employer the dormitory houses, in the dormitory's grid, without a bed."""
    lessees = Lessee.objects.filter(dormitory=dormitory).values("organization_id")
    employed = Employment.objects.filter(person=OuterRef("pk"), ended_on=None, organization_id__in=lessees)
    return (
        Person.objects.filter(grid=dormitory.grid, is_active=True)
        .filter(Exists(employed))
        .exclude(Exists(live_stays().filter(person=OuterRef("pk"))))
        .order_by("employer_id", "name", "pk")
    )


# --- check-in and check-out -------------------------------------------------------------------------


def _employer_of(person: Person) -> int | None:
    return (
        Employment.objects.filter(person=person, ended_on=None)
        .order_by("-started_on")
        .values_list("organization_id", flat=True)
        .first()
    )


def _move_in(people: list[Person], beds: dict[int, Bed], grid: Grid) -> None:
    """The registry follows: the people live in the dormitory's grid, in their bed, in no household.
    What all of them share is one UPDATE per chunk; each one's bed one executemany (Django's
    bulk_update writes a CASE per row, four fifths of a 10,000-worker import)."""
    now, ids = timezone.now(), [p.pk for p in people]
    for chunk in bulk.chunks(ids, 900):
        Person.objects.filter(pk__in=chunk).update(grid=grid, household=None, updated_at=now)
        registry.follow_person_grid(Person.objects.filter(pk__in=chunk))
        Employment.objects.filter(person__in=chunk, ended_on=None).update(grid=grid)
    table, column = (connection.ops.quote_name(n) for n in (Person._meta.db_table, "dormitory_bed"))
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s",
                           [(beds[p.pk].label(), p.pk) for p in people])
    for person in people:
        person.grid_id, person.household_id, person.updated_at = grid.pk, None, now
        person.dormitory_bed = beds[person.pk].label()


@transaction.atomic
def check_in(actor, person: Person, bed: Bed, on: date | None = None) -> Stay:
    """Put a person in a free bed; someone already in another bed moves (that stay ends today).
    A bed taken is refused; a room filled beyond its capacity is allowed and flagged."""
    bed = (
        Bed.objects.select_for_update()
        .select_related("room__dormitory__grid", "room__building")
        .get(pk=bed.pk)
    )
    dormitory = bed.room.dormitory
    check_manager(actor, dormitory)
    if not bed.is_active:
        raise ValidationError({"bed": _("This bed is not in use.")})
    taken = live_stays().filter(bed=bed).select_related("person").first()
    if taken is not None:
        raise ValidationError(
            {"bed": _("Bed %(bed)s is taken by %(name)s.") % {"bed": bed.label(), "name": taken.person.name}}
        )
    on = _today(on)
    current = live_stays().select_for_update().filter(person=person).first()
    if current is not None:
        _end(current, actor, on, _("Moved to bed %s.") % bed.label())
    try:
        with transaction.atomic():
            stay = Stay.objects.create(
                bed=bed,
                person=person,
                organization_id=_employer_of(person),
                grid=dormitory.grid,
                checked_in_on=on,
                checked_in_by=actor,
            )
    except IntegrityError:
        raise IllegalTransition(_("The bed was taken a moment ago: choose another.")) from None
    _move_in([person], {person.pk: bed}, dormitory.grid)
    return stay


def _end(stay: Stay, actor, on: date, reason: str) -> None:
    stay.checked_out_on, stay.checked_out_by, stay.out_reason = on, actor, reason[:200]
    stay.save(update_fields=["checked_out_on", "checked_out_by", "out_reason"])


@transaction.atomic
def check_out(actor, stay: Stay, *, on: date | None = None, reason: str = "") -> Stay:
    stay = (
        Stay.objects.select_for_update()
        .select_related("bed__room__dormitory__grid", "person")
        .get(pk=stay.pk)
    )
    check_manager(actor, stay.bed.room.dormitory)
    if stay.checked_out_on is not None:
        raise IllegalTransition(_("%s has checked out already.") % stay.person.name)
    on = _today(on)
    if on < stay.checked_in_on:
        raise ValidationError({"on": _("Check-out cannot come before check-in (%s).") % stay.checked_in_on})
    _end(stay, actor, on, reason.strip() or _("Checked out."))
    Person.objects.filter(pk=stay.person_id).update(dormitory_bed="", updated_at=timezone.now())
    return stay


def end_stays_of(actor, people_ids: list[int], on: date, reason: str) -> int:
    """End the stays of people who left their employer (inside the caller's transaction)."""
    stays = list(live_stays().select_for_update().filter(person_id__in=people_ids))
    for stay in stays:
        _end(stay, actor, on, reason)
    Person.objects.filter(pk__in=[s.person_id for s in stays]).update(
        dormitory_bed="", updated_at=timezone.now()
    )
    return len(stays)


@transaction.atomic
def assign_waiting(
    actor,
    dormitory: Dormitory,
    *,
    organization: Organization | None = None,
    limit: int | None = None,
    on: date | None = None,
    people: list[Person] | None = None,
) -> list[Stay]:
    """Give the waiting workers free beds: each employer's workers together, rooms filled in order up
    to their capacity (never beyond it). Who is left waits for the next free bed. `people` (those an
    import has just registered) are placed instead of the waiting list, less any already in a bed."""
    check_manager(actor, dormitory)
    list(Dormitory.objects.select_for_update().filter(pk=dormitory.pk).values_list("pk"))  # one at a time
    people = _waiting_list(dormitory, organization) if people is None else _not_housed(people)
    people = people[:limit] if limit else people
    if not people:
        return []
    beds = free_beds(dormitory, len(people))
    on = _today(on)
    employer = {}
    for chunk in bulk.chunks([p.pk for p in people], 900):
        employer.update(Employment.objects.filter(person__in=chunk, ended_on=None)
                        .values_list("person_id", "organization_id"))
    stays, placed = [], {}
    for person, bed in zip(people, beds, strict=False):
        stays.append(
            Stay(
                bed=bed,
                person=person,
                organization_id=employer.get(person.pk),
                grid=dormitory.grid,
                checked_in_on=on,
                checked_in_by=actor,
            )
        )
        placed[person.pk] = bed
    Stay.objects.bulk_create(stays, batch_size=1000)
    _move_in([p for p in people if p.pk in placed], placed, dormitory.grid)
    return stays


def _waiting_list(dormitory: Dormitory, organization: Organization | None) -> list[Person]:
    people = waiting(dormitory)
    if organization is not None:
        people = people.filter(employments__organization=organization, employments__ended_on=None)
    return list(people)


def _not_housed(people: list[Person]) -> list[Person]:
    housed = set()
    for chunk in bulk.chunks([p.pk for p in people], 900):
        housed |= set(live_stays().filter(person__in=chunk).values_list("person_id", flat=True))
    return [p for p in people if p.pk not in housed]


def free_beds(dormitory: Dormitory, wanted: int) -> list[Bed]:
    """Free beds in rooms below their capacity, room by room, never filling a room past it."""
    taken = dict(
        live_stays()
        .filter(bed__room__dormitory=dormitory)
        .values_list("bed__room_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    taken_beds = set(live_stays().filter(bed__room__dormitory=dormitory).values_list("bed_id", flat=True))
    beds = (
        Bed.objects.filter(room__dormitory=dormitory, is_active=True)
        .select_related("room__building")
        .order_by("room__building__name", "room__floor", "room__number", "number")
    )
    free, room_count = [], dict(taken)
    for bed in beds.iterator(chunk_size=2000):
        if bed.pk in taken_beds or room_count.get(bed.room_id, 0) >= bed.room.capacity:
            continue
        free.append(bed)
        room_count[bed.room_id] = room_count.get(bed.room_id, 0) + 1
        if len(free) >= wanted:
            break
    return free


# --- access cards ---------------------------------------------------------------------------------


def _card_event(card: AccessCard, action: str, actor, note: str = "") -> None:
    CardEvent.objects.create(card=card, person_id=card.holder_id, action=action, actor=actor, note=note[:200])


@transaction.atomic
def issue_card(
    actor, dormitory: Dormitory, person: Person, number: str, on: date | None = None
) -> AccessCard:
    """A card to a person: a new number, or a returned card given out again. A card issued, lost or
    blocked belongs to its holder and cannot go to anyone else; a person holds one live card."""
    check_manager(actor, dormitory)
    number = number.strip().upper()
    if not number or len(number) > 32:
        raise ValidationError({"number": _("Enter the card number (at most 32 characters).")})
    card = AccessCard.objects.select_for_update().filter(number=number).first()
    if card is not None and card.state != AccessCard.State.RETURNED:
        raise ValidationError(
            {"number": _("Card %s belongs to someone else: it must be returned first.") % number}
        )
    if card is not None and card.dormitory_id != dormitory.pk:
        raise ValidationError({"number": _("Card %s is another dormitory's.") % number})
    if AccessCard.objects.filter(dormitory=dormitory, holder=person, state=AccessCard.State.ISSUED).exists():
        raise ValidationError(
            {"person": _("%s already holds a card: report it lost or take it back first.") % person.name}
        )
    card = card or AccessCard(number=number, dormitory=dormitory)
    card.grid, card.holder, card.state, card.issued_on = (
        dormitory.grid,
        person,
        AccessCard.State.ISSUED,
        _today(on),
    )
    card.save()
    _card_event(card, CardEvent.Action.ISSUE, actor)
    return card


# Which card states each action leaves from, and where it leads.
CARD_STEPS = {
    CardEvent.Action.LOSE: ({AccessCard.State.ISSUED, AccessCard.State.BLOCKED}, AccessCard.State.LOST),
    CardEvent.Action.BLOCK: ({AccessCard.State.ISSUED}, AccessCard.State.BLOCKED),
    CardEvent.Action.UNBLOCK: ({AccessCard.State.BLOCKED}, AccessCard.State.ISSUED),
    CardEvent.Action.RETURN: ({AccessCard.State.ISSUED, AccessCard.State.BLOCKED}, AccessCard.State.RETURNED),
}


@transaction.atomic
def card_step(actor, card: AccessCard, action: str, note: str = "") -> AccessCard:
    if action not in CARD_STEPS:
        raise ValidationError({"action": _("Choose one of: %s.") % ", ".join(CARD_STEPS)})
    card = AccessCard.objects.select_for_update().select_related("dormitory__grid").get(pk=card.pk)
    check_manager(actor, card.dormitory)
    sources, target = CARD_STEPS[action]
    if card.state not in sources:
        raise IllegalTransition(
            _("Card %(number)s is %(state)s: it cannot be %(action)s.")
            % {
                "number": card.number,
                "state": card.get_state_display(),
                "action": CardEvent.Action(action).label,
            }
        )
    if (
        action == CardEvent.Action.UNBLOCK
        and AccessCard.objects.filter(
            dormitory=card.dormitory, holder_id=card.holder_id, state=AccessCard.State.ISSUED
        ).exists()
    ):
        raise IllegalTransition(_("The holder has another card in use."))
    card.state = target
    card.save(update_fields=["state", "changed_at"])
    _card_event(card, action, actor, note)
    return card


def block_cards_of(actor, people_ids: list[int], note: str) -> int:
    """Cards in use of people who left: blocked (inside the caller's transaction)."""
    cards = list(
        AccessCard.objects.select_for_update().filter(holder_id__in=people_ids, state=AccessCard.State.ISSUED)
    )
    for card in cards:
        card.state = AccessCard.State.BLOCKED
        card.save(update_fields=["state", "changed_at"])
        _card_event(card, CardEvent.Action.BLOCK, actor, note)
    return len(cards)
