"""Registry rules: placing records in grids, people and their codes, reveal, search.

Every write goes through these functions (API, admin, importer and demo alike), so a
record's grid always follows its building, an ID number is always validated with its
birth date and sex derived from it, and a duplicate ID number is always refused.
"""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.text import is_digits
from gridgov.grids.locator import CRS, get_index, to_wgs84
from gridgov.grids.models import Grid
from gridgov.population import codes
from gridgov.population.models import (
    Building,
    House,
    Household,
    Organization,
    Person,
    PersonTag,
    TagType,
    Unit,
)
from gridgov.privacy.fields import LookupHashField
from gridgov.privacy.masking import normalize_phone, validate_phone
from gridgov.privacy.services import record_reveal

# What may be revealed, per model: field → the permission it takes.
REVEALABLE = {
    Person: {"id_number": Perm.REVEAL_PERSONAL, "phone": Perm.REVEAL_PERSONAL},
    House: {"landlord_phone": Perm.REVEAL_PERSONAL},
    Organization: {"contact_phone": Perm.REVEAL_PERSONAL},
}


def check_editable(actor, grid: Grid) -> None:
    if not has_perm(actor, Perm.EDIT_REGISTRY, grid):
        raise PermissionDenied(_("You may not change the registry of grid %s.") % grid.code)


# --- places ---------------------------------------------------------------------------------


def locate_grid(lat: float, lon: float, crs: str = CRS.WGS84) -> tuple[Grid, float, float]:
    """The deepest basic grid at a point, with the point in WGS-84."""
    if crs not in CRS.ALL:
        raise ValidationError({"crs": _("Coordinate system must be one of: %s.") % ", ".join(CRS.ALL)})
    lat, lon = to_wgs84(lat, lon, crs)
    ref = get_index().locate(lon, lat)
    if ref is None:
        raise ValidationError({"location": _("The point is outside the district: no grid contains it.")})
    return Grid.objects.get(pk=ref.id), lat, lon


@transaction.atomic
def move_building(building: Building, grid: Grid) -> None:
    """Put a building (and everything in it) in another grid."""
    if building.grid_id == grid.pk:
        return
    building.grid = grid
    building.save(update_fields=["grid"])
    Unit.objects.filter(building=building).update(grid=grid)
    House.objects.filter(building=building).update(grid=grid)
    households = Household.objects.filter(house__building=building)
    households.update(grid=grid)
    Person.objects.filter(household__in=households).update(grid=grid)
    follow_person_grid(Person.objects.filter(household__in=households))


# Rows that belong to a person and carry a copy of the person's grid (for the scope filter).
def _person_rows():
    from gridgov.population.models import CareNote, CareReminder, CareService, CareTask, CaseConcern

    return (PersonTag, CareNote, CareTask, CareService, CaseConcern, CareReminder)


def follow_person_grid(people) -> None:
    """Copy each person's grid onto their tags and care-file rows (after a person has moved)."""
    grid_of_person = Person.objects.filter(pk=OuterRef("person_id")).values("grid_id")[:1]
    for model in _person_rows():
        model.objects.filter(person__in=people).exclude(grid_id=F("person__grid_id")).update(
            grid_id=Subquery(grid_of_person)
        )


def fill_house(house: House) -> House:
    """Copy the building's grid down and check the unit belongs to the building."""
    if house.unit_id and house.unit.building_id != house.building_id:
        raise ValidationError({"unit": _("The unit is not in this building.")})
    house.grid_id = house.building.grid_id
    return house


# --- people ---------------------------------------------------------------------------------


def clean_person(person: Person, *, today: date | None = None) -> dict[str, str]:
    """Normalise and validate a person in place; returns per-field errors (empty when valid)."""
    errors: dict[str, str] = {}
    person.name = (person.name or "").strip()
    if not person.name:
        errors["name"] = _("Enter the name.")
    if person.id_number:
        try:
            info = codes.parse_id_number(person.id_number, today=today)
        except ValidationError as exc:
            errors["id_number"] = exc.messages[0]
        else:
            person.id_number, person.birth_date, person.sex = info.number, info.birth_date, info.sex
    if person.phone:
        try:
            validate_phone(person.phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages[0]
        else:
            person.phone = normalize_phone(person.phone)
    if person.household_id:
        person.grid_id = person.household.grid_id
    elif not person.grid_id:
        errors["household"] = _("Choose the household the person lives in.")
    if person.is_migrant and not person.arrived_on:
        errors["arrived_on"] = _("Give the date a migrant arrived.")
    if person.arrived_on and person.birth_date and person.arrived_on < person.birth_date:
        errors["arrived_on"] = _("The arrival date is before the birth date.")
    return errors


def _hash(model, field: str, value: str) -> str:
    hash_field = next(f for f in model._meta.fields if isinstance(f, LookupHashField) and f.source == field)
    return hash_field.digest(value)


def id_number_taken(number: str, exclude_pk=None) -> Person | None:
    found = Person.objects.filter(id_number_hash=_hash(Person, "id_number", number))
    if exclude_pk:
        found = found.exclude(pk=exclude_pk)
    return found.select_related("grid").first()


def person_errors(person: Person) -> dict[str, str]:
    """`clean_person`, plus the check that no one else holds the ID number."""
    errors = clean_person(person)
    if not errors and person.id_number:
        other = id_number_taken(person.id_number, exclude_pk=person.pk)
        if other:
            errors["id_number"] = _("This ID number is already registered (grid %s).") % other.grid.code
    return errors


@transaction.atomic
def save_person(actor, person: Person, tags: list[dict] | None = None) -> Person:
    """Create or update a person; one transaction, nothing half-saved."""
    errors = person_errors(person)
    if errors:
        raise ValidationError(errors)
    check_editable(actor, Grid.objects.get(pk=person.grid_id))
    moved = person.pk and not Person.objects.filter(pk=person.pk, grid_id=person.grid_id).exists()
    person.save()
    if moved:
        follow_person_grid(Person.objects.filter(pk=person.pk))
    if tags is not None:
        set_tags(actor, person, tags)
    return person


def set_tags(actor, person: Person, tags: list[dict]) -> None:
    """Replace the person's tags with these ({tag, care_level, grade, note, since}).

    Sensitive tags the actor may not see are neither shown nor touched.
    """
    visible = visible_tag_types(actor, person.grid)
    by_code = {t.code: t for t in visible}
    wanted = {}
    for entry in tags:
        tag_type = by_code.get(entry.get("tag"))
        if tag_type is None:
            raise ValidationError({"tags": _("Unknown tag %s.") % entry.get("tag")})
        wanted[tag_type.pk] = entry
    PersonTag.objects.filter(person=person, tag_type__in=visible).exclude(tag_type__in=wanted).delete()
    for tag_type_id, entry in wanted.items():
        PersonTag.objects.update_or_create(
            person=person,
            tag_type_id=tag_type_id,
            defaults={
                "grid_id": person.grid_id,
                "care_level": entry.get("care_level") or "normal",
                "grade": entry.get("grade"),
                "note": entry.get("note", ""),
                "since": entry.get("since"),
            },
        )


def visible_tag_types(user, grid: Grid | None = None) -> list[TagType]:
    types = TagType.objects.filter(is_active=True)
    if not has_perm(user, Perm.VIEW_SENSITIVE_TAGS, grid):
        types = types.filter(is_sensitive=False)
    return list(types)


def tags_for(user, persons) -> dict[int, list[PersonTag]]:
    """The tags of these people that the user may see, by person id (one query)."""
    allowed = {t.pk for t in visible_tag_types(user)}
    result: dict[int, list[PersonTag]] = {}
    for tag in (
        PersonTag.objects.filter(person__in=[p.pk for p in persons], tag_type__in=allowed)
        .select_related("tag_type")
        .order_by("tag_type__sort")
    ):
        result.setdefault(tag.person_id, []).append(tag)
    return result


# --- reveal and search ----------------------------------------------------------------------


@transaction.atomic
def reveal(actor, obj, field: str, reason: str, ip_address: str | None = None) -> str:
    """The full value of one personal field: permission-checked and audited."""
    perm = REVEALABLE.get(type(obj), {}).get(field)
    if perm is None:
        raise ValidationError({"field": _("This field cannot be revealed.")})
    if not has_perm(actor, perm, obj.grid):
        raise PermissionDenied(_("You may not see the full personal data of this grid."))
    record_reveal(actor=actor, obj=obj, field=field, reason=reason, ip_address=ip_address)
    return getattr(obj, field) or ""


def search_people(user, q: str):
    """People in the user's registry scope by name, exact ID number, exact phone or address."""
    people = Person.objects.visible_to(user)
    q = (q or "").strip()
    if not q:
        return people
    number = codes.normalize_id_number(q)
    if len(number) == 18 and is_digits(number[:17]):
        return people.filter(id_number_hash=_hash(Person, "id_number", number))
    phone = normalize_phone(q)
    if is_digits(phone) and len(phone) == 11:
        return people.filter(phone_hash=_hash(Person, "phone", phone))
    return people.filter(
        Q(name__contains=q)
        | Q(household__house__building__address__contains=q)
        | Q(household__house__building__name__contains=q)
        | Q(household__house__building__compound__name__contains=q)
    )


# --- places and organizations: create and update -------------------------------------------


def _full_clean(obj, exclude=()) -> None:
    """Model validation as per-field errors (one message per field)."""
    try:
        obj.full_clean(exclude=["grid", *exclude], validate_unique=True, validate_constraints=True)
    except ValidationError as exc:
        raise ValidationError({field: msgs[0] for field, msgs in exc.message_dict.items()}) from None


@transaction.atomic
def save_building(
    actor, building: Building, *, lat=None, lon=None, crs: str = CRS.WGS84, grid_code: str = ""
) -> Building:
    """A building lies in the deepest grid at its point (or in the grid named)."""
    if lat is not None and lon is not None:
        grid, building.lat, building.lon = locate_grid(lat, lon, crs)
    elif grid_code:
        grid = Grid.objects.filter(code=grid_code).first()
        if grid is None:
            raise ValidationError({"grid_code": _("No grid %s.") % grid_code})
    elif building.grid_id:
        grid = building.grid
    else:
        raise ValidationError({"location": _("Give the building's point on the map or its grid.")})
    check_editable(actor, grid)
    compound_code = building.compound.grid.code if building.compound_id else ""
    if compound_code and not (grid.code.startswith(compound_code) or compound_code.startswith(grid.code)):
        raise ValidationError({"compound_id": _("The compound is in another grid.")})
    _full_clean(building, exclude=["compound"])
    if building.pk:
        move_building(building, grid)
    building.grid = grid
    building.save()
    return building


@transaction.atomic
def save_house(actor, house: House) -> House:
    fill_house(house)
    check_editable(actor, house.grid)
    if house.use not in (House.Use.RENTED, House.Use.DORMITORY):
        house.landlord_name, house.landlord_phone, house.lease_start, house.lease_end = "", "", None, None
    errors = {}
    if house.landlord_phone:
        try:
            validate_phone(house.landlord_phone)
            house.landlord_phone = normalize_phone(house.landlord_phone)
        except ValidationError as exc:
            errors["landlord_phone"] = exc.messages[0]
    if house.lease_start and house.lease_end and house.lease_end < house.lease_start:
        errors["lease_end"] = _("The lease ends before it starts.")
    if errors:
        raise ValidationError(errors)
    _full_clean(house)
    house.save()
    return house


@transaction.atomic
def save_household(actor, household: Household) -> Household:
    household.grid_id = household.house.grid_id
    check_editable(actor, household.house.grid)
    _full_clean(household)
    household.save()
    return household


@transaction.atomic
def save_organization(
    actor, organization: Organization, *, lat=None, lon=None, crs: str = CRS.WGS84, grid_code: str = ""
) -> Organization:
    if organization.building_id:
        grid = organization.building.grid
        organization.lat, organization.lon = organization.building.lat, organization.building.lon
    elif lat is not None and lon is not None:
        grid, organization.lat, organization.lon = locate_grid(lat, lon, crs)
    elif grid_code:
        grid = Grid.objects.filter(code=grid_code).first()
        if grid is None:
            raise ValidationError({"grid_code": _("No grid %s.") % grid_code})
    else:
        raise ValidationError({"location": _("Give the building, a point on the map or the grid.")})
    check_editable(actor, grid)
    organization.grid = grid
    organization.credit_code = codes.normalize_credit_code(organization.credit_code)
    if organization.contact_phone:
        try:
            validate_phone(organization.contact_phone)
        except ValidationError as exc:
            raise ValidationError({"contact_phone": exc.messages[0]}) from None
        organization.contact_phone = normalize_phone(organization.contact_phone)
    _full_clean(organization, exclude=["building", "employees"])
    organization.save()
    return organization
