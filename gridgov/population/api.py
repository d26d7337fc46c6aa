"""Registry endpoints: people, households, houses, buildings (民情图), organizations, visits, survey.

Every read goes through `visible_to` (registry scope: out of scope is 404); every write
through `services`, `visits` or `survey`. Lists and details show personal data masked;
`.../reveal` returns one full value, permission-checked and audited.
"""

from datetime import date, datetime

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.grids.locator import CRS
from gridgov.population import care, excel, imports, services, survey, visits
from gridgov.population.models import (
    Building,
    Compound,
    House,
    Household,
    ImportJob,
    Organization,
    Person,
    SurveyItem,
    Unit,
    Visit,
)
from gridgov.privacy.masking import mask_phone

router = Router(tags=["registry"])


def _user(request):
    return request.auth


# --- people -------------------------------------------------------------------------------


class TagOut(Schema):
    tag: str
    name: str
    care_level: str
    grade: int | None
    note: str
    since: date | None


class MaskedPersonRef(Schema):
    """A person named in another app's answer (a warning, a bed, an employment): masked, as in lists."""

    id: int
    name: str
    id_number: str = Field(description="masked, e.g. 110105********002X")
    phone: str = Field(description="masked, e.g. 138****5678")


def masked_person_ref(p: Person) -> dict:
    return {"id": p.pk, "name": p.name, "id_number": p.id_number_masked, "phone": p.phone_masked}


class PersonOut(Schema):
    id: int
    name: str
    id_number: str = Field(description="masked, e.g. 110105********002X")
    phone: str = Field(description="masked, e.g. 138****5678")
    sex: str
    birth_date: date | None
    ethnicity: str
    relation: str
    political_status: str
    is_migrant: bool
    household_id: int | None
    grid: GridRef
    address: str
    tags: list[TagOut]


class PersonDetail(PersonOut):
    education: str
    marital_status: str
    registered_address: str
    arrived_on: date | None
    permit_state: str
    employer: str
    dormitory_bed: str


def _address(person: Person) -> str:
    return str(person.household.house) if person.household_id else ""


def _tags_out(tags) -> list[dict]:
    return [
        {
            "tag": t.tag_type.code,
            "name": t.tag_type.name,
            "care_level": t.care_level,
            "grade": t.grade,
            "note": t.note,
            "since": t.since,
        }
        for t in tags
    ]


def person_out(person: Person, tags) -> dict:
    return {
        "id": person.pk,
        "name": person.name,
        "id_number": person.id_number_masked,
        "phone": person.phone_masked,
        "sex": person.sex,
        "birth_date": person.birth_date,
        "ethnicity": person.ethnicity,
        "relation": person.relation,
        "political_status": person.political_status,
        "is_migrant": person.is_migrant,
        "household_id": person.household_id,
        "grid": {"code": person.grid.code, "name": person.grid.name},
        "address": _address(person),
        "tags": _tags_out(tags),
    }


def person_detail(person: Person, tags) -> dict:
    employer = person.employer.name if person.employer_id else person.employer_name
    return {
        **person_out(person, tags),
        "education": person.education,
        "marital_status": person.marital_status,
        "registered_address": person.registered_address,
        "arrived_on": person.arrived_on,
        "permit_state": person.permit_state,
        "employer": employer,
        "dormitory_bed": person.dormitory_bed,
    }


PERSON_RELATED = ("grid", "household__house__building__compound", "household__house__unit")


class PersonFilter(Schema):
    q: str = Field("", description="name, full ID number, full phone number, or address text")
    grid: str = Field("", description="grid code: this grid and everything below it")
    tag: str = Field("", description="tag code, e.g. elderly_alone")
    migrant: bool | None = None


@router.get("/registry/people", response=list[PersonOut], summary="People in my grids (masked)")
@paginate(Pagination)
def list_people(request, filters: PersonFilter = Query(...)):
    user = _user(request)
    people = services.search_people(user, filters.q).filter(is_active=True)
    if filters.grid:
        people = people.filter(grid__code__startswith=filters.grid)
    if filters.tag:
        allowed = {t.code for t in services.visible_tag_types(user)}
        people = people.filter(tags__tag_type__code=filters.tag if filters.tag in allowed else "")
    if filters.migrant is not None:
        people = people.filter(is_migrant=filters.migrant)
    return LazyPage(people.select_related(*PERSON_RELATED).order_by("grid__code", "name", "pk"),
                    out_page=_people_out(user))


def _people_out(user):
    """A page of people with the tags this user may see, read in one query for the page."""

    def out(people):
        tags = services.tags_for(user, people)
        return [person_out(p, tags.get(p.pk, [])) for p in people]

    return out


def _person(request, person_id: int) -> Person:
    return get_object_or_404(
        Person.objects.visible_to(_user(request)).select_related(*PERSON_RELATED, "employer"), pk=person_id
    )


@router.get("/registry/people/{person_id}", response=PersonDetail, summary="One person (masked)")
def get_person(request, person_id: int):
    person = _person(request, person_id)
    return person_detail(person, services.tags_for(_user(request), [person]).get(person.pk, []))


class TagIn(Schema):
    tag: str
    care_level: str = "normal"
    grade: int | None = Field(None, ge=1, le=4)
    note: str = Field("", max_length=200)
    since: date | None = None


class PersonIn(Schema):
    household_id: int
    name: str = Field(max_length=50)
    id_number: str = Field("", max_length=20)
    phone: str = Field("", max_length=20)
    ethnicity: str = Field("", max_length=10)
    relation: str = Field("", max_length=20)
    political_status: str = Field("", max_length=20)
    education: str = Field("", max_length=20)
    marital_status: str = Field("", max_length=20)
    registered_address: str = Field("", max_length=200)
    is_migrant: bool = False
    arrived_on: date | None = None
    permit_state: str = Person.PermitState.NONE
    employer_name: str = Field("", max_length=100)
    dormitory_bed: str = Field("", max_length=30)
    tags: list[TagIn] | None = None


def _apply_person(person: Person, payload: PersonIn, user) -> None:
    household = get_object_or_404(Household.objects.visible_to(user), pk=payload.household_id)
    person.household = household
    data = payload.dict(exclude={"household_id", "tags"})
    for table in ("ethnicity", "relation", "political_status", "education", "marital_status"):
        # Accept the code or its label (汉族 or 01), as the Excel templates do.
        data[table] = services.codes.code_for(table, data[table]) if data[table] else ""
    for field, value in data.items():
        setattr(person, field, value)


@router.post("/registry/people", response={201: PersonDetail}, summary="Register a person")
def create_person(request, payload: PersonIn):
    user = _user(request)
    person = Person()
    _apply_person(person, payload, user)
    services.save_person(
        user, person, tags=[t.dict() for t in payload.tags] if payload.tags is not None else None
    )
    return Status(201, get_person(request, person.pk))


@router.put("/registry/people/{person_id}", response=PersonDetail, summary="Update a person")
def update_person(request, person_id: int, payload: PersonIn):
    user = _user(request)
    person = _person(request, person_id)
    services.check_editable(user, person.grid)
    _apply_person(person, payload, user)
    services.save_person(
        user, person, tags=[t.dict() for t in payload.tags] if payload.tags is not None else None
    )
    return get_person(request, person.pk)


class RevealIn(Schema):
    field: str = Field(description="id_number or phone (person), landlord_phone (house), contact_phone")
    reason: str = Field(max_length=200, description="why the full value is needed; written to the audit log")


class RevealOut(Schema):
    field: str
    value: str


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


@router.post(
    "/registry/people/{person_id}/reveal", response=RevealOut, summary="Reveal a full value (audited)"
)
def reveal_person(request, person_id: int, payload: RevealIn):
    value = services.reveal(
        _user(request), _person(request, person_id), payload.field, payload.reason, _ip(request)
    )
    return {"field": payload.field, "value": value}


# --- tag types ----------------------------------------------------------------------------


class TagTypeOut(Schema):
    code: str
    name: str
    is_sensitive: bool
    has_grade: bool


@router.get("/registry/tag-types", response=list[TagTypeOut], summary="Tags I may see and set")
def tag_types(request):
    return [
        {"code": t.code, "name": t.name, "is_sensitive": t.is_sensitive, "has_grade": t.has_grade}
        for t in services.visible_tag_types(_user(request))
    ]


# --- buildings, houses, households ----------------------------------------------------------


class BuildingOut(Schema):
    id: int
    name: str
    compound: str
    address: str
    lat: float | None
    lon: float | None
    floors: int
    use: str
    grid: GridRef


def building_out(b: Building) -> dict:
    return {
        "id": b.pk,
        "name": b.name,
        "compound": b.compound.name if b.compound_id else "",
        "address": b.address,
        "lat": b.lat,
        "lon": b.lon,
        "floors": b.floors,
        "use": b.use,
        "grid": {"code": b.grid.code, "name": b.grid.name},
    }


@router.get("/registry/buildings", response=list[BuildingOut], summary="Buildings in my grids")
@paginate(Pagination)
def list_buildings(request, grid: str = "", q: str = ""):
    buildings = Building.objects.visible_to(_user(request)).select_related("grid", "compound")
    if grid:
        buildings = buildings.filter(grid__code__startswith=grid)
    if q:
        buildings = (
            buildings.filter(name__contains=q)
            | buildings.filter(address__contains=q)
            | buildings.filter(compound__name__contains=q)
        )
    return [building_out(b) for b in buildings.order_by("grid__code", "name", "pk")]


class MemberOut(Schema):
    id: int
    name: str
    sex: str
    age: int | None
    relation: str
    is_migrant: bool
    tags: list[TagOut]


class HouseholdOut(Schema):
    id: int
    number: str
    kind: str
    head_name: str
    last_visited_on: date | None
    members: list[MemberOut]


class HouseOut(Schema):
    id: int
    unit: str
    floor: int
    number: str
    use: str
    use_label: str
    households: list[HouseholdOut]


class BuildingMap(BuildingOut):
    houses: list[HouseOut]


def _age(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def building_map(user, building: Building) -> dict:
    """The building's 民情图: every house, its household, members and visible tags (4 queries)."""
    today = date.today()
    houses = list(House.objects.filter(building=building).select_related("unit"))
    households = list(Household.objects.filter(house__building=building, is_active=True))
    members = list(Person.objects.filter(household__in=households, is_active=True).order_by("relation", "pk"))
    tags = services.tags_for(user, members)
    by_household: dict[int, list] = {}
    for m in members:
        by_household.setdefault(m.household_id, []).append(
            {
                "id": m.pk,
                "name": m.name,
                "sex": m.sex,
                "age": _age(m.birth_date, today),
                "relation": m.relation,
                "is_migrant": m.is_migrant,
                "tags": _tags_out(tags.get(m.pk, [])),
            }
        )
    by_house: dict[int, list] = {}
    for h in households:
        by_house.setdefault(h.house_id, []).append(
            {
                "id": h.pk,
                "number": h.number,
                "kind": h.kind,
                "head_name": h.head_name,
                "last_visited_on": h.last_visited_on,
                "members": by_household.get(h.pk, []),
            }
        )
    return {
        **building_out(building),
        "houses": [
            {
                "id": h.pk,
                "unit": h.unit.number if h.unit_id else "",
                "floor": h.floor,
                "number": h.number,
                "use": h.use,
                "use_label": h.get_use_display(),
                "households": by_house.get(h.pk, []),
            }
            for h in houses
        ],
    }


def _building(request, building_id: int) -> Building:
    return get_object_or_404(
        Building.objects.visible_to(_user(request)).select_related("grid", "compound"), pk=building_id
    )


@router.get("/registry/buildings/{building_id}", response=BuildingMap, summary="A building's 民情图")
def get_building(request, building_id: int):
    return building_map(_user(request), _building(request, building_id))


class BuildingIn(Schema):
    name: str = Field(max_length=100)
    compound_id: int | None = None
    address: str = Field("", max_length=200)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    crs: str = CRS.WGS84
    grid_code: str = ""
    floors: int = Field(1, ge=1, le=200)
    use: str = Building.Use.RESIDENTIAL


@router.post("/registry/buildings", response={201: BuildingOut}, summary="Add a building")
def create_building(request, payload: BuildingIn):
    user = _user(request)
    building = Building(name=payload.name, address=payload.address, floors=payload.floors, use=payload.use)
    if payload.compound_id:
        building.compound = get_object_or_404(Compound.objects.visible_to(user), pk=payload.compound_id)
    services.save_building(
        user, building, lat=payload.lat, lon=payload.lon, crs=payload.crs, grid_code=payload.grid_code
    )
    return Status(201, building_out(building))


class HouseIn(Schema):
    building_id: int
    unit: str = Field("", max_length=20, description="unit number; created when new")
    floor: int = Field(1, ge=-5, le=200)
    number: str = Field(max_length=20)
    use: str = House.Use.OWNER_OCCUPIED
    area_m2: float | None = Field(None, gt=0, lt=100000)
    landlord_name: str = Field("", max_length=50)
    landlord_phone: str = Field("", max_length=20)
    lease_start: date | None = None
    lease_end: date | None = None


class HouseBrief(Schema):
    id: int
    building_id: int
    unit: str
    floor: int
    number: str
    use: str


@router.post("/registry/houses", response={201: HouseBrief}, summary="Add a house (flat or room)")
def create_house(request, payload: HouseIn):
    user = _user(request)
    building = _building(request, payload.building_id)
    services.check_editable(user, building.grid)
    unit = None
    if payload.unit:
        unit, _created = Unit.objects.get_or_create(
            building=building, number=payload.unit, defaults={"grid": building.grid}
        )
    house = House(building=building, unit=unit, **payload.dict(exclude={"building_id", "unit"}))
    services.save_house(user, house)
    return Status(
        201,
        {
            "id": house.pk,
            "building_id": building.pk,
            "unit": payload.unit,
            "floor": house.floor,
            "number": house.number,
            "use": house.use,
        },
    )


class HouseholdIn(Schema):
    house_id: int
    number: str = Field("", max_length=30)
    kind: str = Household.Kind.FAMILY
    head_name: str = Field("", max_length=50)


class HouseholdBrief(Schema):
    id: int
    house_id: int
    number: str
    kind: str
    head_name: str
    grid: GridRef
    address: str
    last_visited_on: date | None


def household_brief(h: Household) -> dict:
    return {
        "id": h.pk,
        "house_id": h.house_id,
        "number": h.number,
        "kind": h.kind,
        "head_name": h.head_name,
        "grid": {"code": h.grid.code, "name": h.grid.name},
        "address": str(h.house),
        "last_visited_on": h.last_visited_on,
    }


HOUSEHOLD_RELATED = ("grid", "house__building__compound", "house__unit")


@router.post("/registry/households", response={201: HouseholdBrief}, summary="Add a household")
def create_household(request, payload: HouseholdIn):
    user = _user(request)
    house = get_object_or_404(House.objects.visible_to(user).select_related("grid"), pk=payload.house_id)
    household = services.save_household(user, Household(house=house, **payload.dict(exclude={"house_id"})))
    return Status(
        201, household_brief(Household.objects.select_related(*HOUSEHOLD_RELATED).get(pk=household.pk))
    )


@router.get("/registry/households", response=list[HouseholdBrief], summary="Households in my grids")
@paginate(Pagination)
def list_households(request, grid: str = ""):
    households = Household.objects.visible_to(_user(request)).filter(is_active=True)
    if grid:
        households = households.filter(grid__code__startswith=grid)
    return [
        household_brief(h) for h in households.select_related(*HOUSEHOLD_RELATED).order_by("grid__code", "pk")
    ]


class HouseholdDetail(HouseholdBrief):
    members: list[PersonOut]


@router.get(
    "/registry/households/{household_id}", response=HouseholdDetail, summary="A household and members"
)
def get_household(request, household_id: int):
    user = _user(request)
    household = get_object_or_404(
        Household.objects.visible_to(user).select_related(*HOUSEHOLD_RELATED), pk=household_id
    )
    members = list(household.members.filter(is_active=True).select_related(*PERSON_RELATED))
    tags = services.tags_for(user, members)
    return {**household_brief(household), "members": [person_out(m, tags.get(m.pk, [])) for m in members]}


# --- organizations ------------------------------------------------------------------------


class OrganizationOut(Schema):
    id: int
    name: str
    kind: str
    credit_code: str
    address: str
    grid: GridRef
    building_id: int | None
    contact_name: str
    contact_phone: str = Field(description="masked")
    employee_count: int


def organization_out(o: Organization) -> dict:
    return {
        "id": o.pk,
        "name": o.name,
        "kind": o.kind,
        "credit_code": o.credit_code,
        "address": o.address,
        "grid": {"code": o.grid.code, "name": o.grid.name},
        "building_id": o.building_id,
        "contact_name": o.contact_name,
        "contact_phone": mask_phone(o.contact_phone),
        "employee_count": o.employee_count,
    }


@router.get("/registry/organizations", response=list[OrganizationOut], summary="Organizations in my grids")
@paginate(Pagination)
def list_organizations(request, q: str = "", grid: str = "", kind: str = ""):
    rows = Organization.objects.visible_to(_user(request)).select_related("grid")
    if q:
        rows = rows.filter(name__contains=q) | rows.filter(
            credit_code=services.codes.normalize_credit_code(q)
        )
    if grid:
        rows = rows.filter(grid__code__startswith=grid)
    if kind:
        rows = rows.filter(kind=kind)
    return [organization_out(o) for o in rows.order_by("grid__code", "name", "pk")]


class OrganizationIn(Schema):
    name: str = Field(max_length=150)
    kind: str = Organization.Kind.COMPANY
    credit_code: str = Field("", max_length=30)
    building_id: int | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    crs: str = CRS.WGS84
    grid_code: str = ""
    address: str = Field("", max_length=200)
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)
    employee_count: int = Field(0, ge=0)


@router.post("/registry/organizations", response={201: OrganizationOut}, summary="Add an organization")
def create_organization(request, payload: OrganizationIn):
    user = _user(request)
    data = payload.dict(exclude={"building_id", "lat", "lon", "crs", "grid_code"})
    organization = Organization(**data)
    if payload.building_id:
        organization.building = _building(request, payload.building_id)
    services.save_organization(
        user, organization, lat=payload.lat, lon=payload.lon, crs=payload.crs, grid_code=payload.grid_code
    )
    return Status(201, organization_out(organization))


@router.post(
    "/registry/organizations/{organization_id}/reveal",
    response=RevealOut,
    summary="Reveal the contact phone (audited)",
)
def reveal_organization(request, organization_id: int, payload: RevealIn):
    user = _user(request)
    organization = get_object_or_404(
        Organization.objects.visible_to(user).select_related("grid"), pk=organization_id
    )
    return {
        "field": payload.field,
        "value": services.reveal(user, organization, payload.field, payload.reason, _ip(request)),
    }


# --- visits -------------------------------------------------------------------------------


class VisitIn(Schema):
    household_id: int
    visited_on: date
    met: str = Field("", max_length=100)
    notes: str = Field("", max_length=4000)
    needs: str = Field("", max_length=2000)
    client_key: str = Field("", max_length=64, description="resubmitting the same key returns the same visit")


class VisitOut(Schema):
    id: int
    household_id: int
    address: str
    visited_on: date
    worker: str
    met: str
    notes: str
    needs: str
    case_id: int | None


class VisitCreated(VisitOut):
    created: bool


def visit_out(v: Visit) -> dict:
    return {
        "id": v.pk,
        "household_id": v.household_id,
        "address": str(v.household.house),
        "visited_on": v.visited_on,
        "worker": str(v.worker),
        "met": v.met,
        "notes": v.notes,
        "needs": v.needs,
        "case_id": v.case_id,
    }


VISIT_RELATED = ("worker", "household__house__building__compound", "household__house__unit")


@router.post("/registry/visits", response={200: VisitCreated, 201: VisitCreated}, summary="Record a visit")
def create_visit(request, payload: VisitIn):
    user = _user(request)
    household = get_object_or_404(
        Household.objects.visible_to(user).select_related("grid"), pk=payload.household_id
    )
    visit, created = visits.record_visit(user, household, **payload.dict(exclude={"household_id"}))
    visit = Visit.objects.select_related(*VISIT_RELATED).get(pk=visit.pk)
    return Status(201 if created else 200, {**visit_out(visit), "created": created})


@router.get("/registry/visits", response=list[VisitOut], summary="Visits in my grids, newest first")
@paginate(Pagination)
def list_visits(request, household_id: int | None = None, grid: str = ""):
    rows = Visit.objects.visible_to(_user(request)).select_related(*VISIT_RELATED)
    if household_id:
        rows = rows.filter(household_id=household_id)
    if grid:
        rows = rows.filter(grid__code__startswith=grid)
    return LazyPage(rows.order_by("-visited_on", "-id"), visit_out)


class DueOut(Schema):
    household: HouseholdBrief
    interval_days: int
    due_on: date
    overdue: bool


@router.get("/registry/visits/due", response=list[DueOut], summary="Households due or overdue for a visit")
def due(request, grid: str = "", days: int = Query(visits.DUE_SOON_DAYS, ge=0, le=365)):
    households = Household.objects.visible_to(_user(request)).select_related(*HOUSEHOLD_RELATED)
    if grid:
        households = households.filter(grid__code__startswith=grid)
    return [
        {
            "household": household_brief(d.household),
            "interval_days": d.interval_days,
            "due_on": d.due_on,
            "overdue": d.overdue,
        }
        for d in visits.due_list(_user(request), horizon_days=days, households=households)
    ]


class CoverageOut(Schema):
    grid_code: str
    grid_name: str
    households: int
    covered: int
    share: float


@router.get("/registry/visits/coverage", response=list[CoverageOut], summary="Visit coverage per grid")
def coverage(request, grid: str = ""):
    households = Household.objects.visible_to(_user(request))
    if grid:
        households = households.filter(grid__code__startswith=grid)
    return visits.coverage(_user(request), households=households)


class ToCaseIn(Schema):
    category_id: int
    description: str = Field("", max_length=2000)


class VisitToCaseIn(ToCaseIn):
    person_id: int | None = Field(
        None, description="the household member (with a care file) the case concerns; by default "
        "every tagged member named in the visit's `met`")


class CaseRef(Schema):
    case_id: int
    number: str


@router.post("/registry/visits/{visit_id}/case", response=CaseRef, summary="Turn a visit's needs into a case")
def visit_to_case(request, visit_id: int, payload: VisitToCaseIn):
    user = _user(request)
    visit = get_object_or_404(
        Visit.objects.visible_to(user).select_related("household__house__building", "grid"), pk=visit_id
    )
    case = visits.need_to_case(user, visit, category_id=payload.category_id, description=payload.description,
                               person_id=payload.person_id)
    return {"case_id": case.pk, "number": case.number}


# --- building survey (10+X) -----------------------------------------------------------------


class SurveyFigure(Schema):
    key: str
    label: str
    value: int
    confirmed: int | None


class SurveyItemOut(Schema):
    id: int
    kind: str
    text: str
    reported_at: str
    case_id: int | None


class SurveyOut(Schema):
    building_id: int
    figures: list[SurveyFigure]
    confirmed_at: str | None
    confirmed_by: str | None
    items: list[SurveyItemOut]


def survey_out(building: Building) -> dict:
    current = survey.figures(building)
    last = building.surveys.select_related("confirmed_by").first()
    confirmed = last.figures if last else {}
    items = [
        {
            "id": i.pk,
            "kind": i.kind,
            "text": i.text,
            "reported_at": i.reported_at.isoformat(),
            "case_id": i.case_id,
        }
        for i in building.survey_items.all()[:50]
    ]
    return {
        "building_id": building.pk,
        "figures": [
            {"key": key, "label": str(label), "value": current[key], "confirmed": confirmed.get(key)}
            for key, label in survey.ITEMS
        ],
        "confirmed_at": last.confirmed_at.isoformat() if last else None,
        "confirmed_by": str(last.confirmed_by) if last else None,
        "items": items,
    }


def _surveyed_building(request, building_id: int) -> Building:
    """Building heads survey their own building, which lies outside their registry scope."""
    user = _user(request)
    building = get_object_or_404(Building.objects.select_related("grid", "compound"), pk=building_id)
    if not (
        Building.objects.visible_to(user).filter(pk=building.pk).exists() or survey.may_survey(user, building)
    ):
        raise Http404(_("Not found."))
    return building


@router.get(
    "/registry/buildings/{building_id}/survey", response=SurveyOut, summary="The building's 10+X survey"
)
def get_survey(request, building_id: int):
    return survey_out(_surveyed_building(request, building_id))


class ConfirmIn(Schema):
    note: str = Field("", max_length=200)


@router.post(
    "/registry/buildings/{building_id}/survey/confirm",
    response=SurveyOut,
    summary="Confirm the ten figures (building head)",
)
def confirm_survey(request, building_id: int, payload: ConfirmIn):
    building = _surveyed_building(request, building_id)
    survey.confirm(_user(request), building, payload.note)
    return survey_out(building)


class SurveyItemIn(Schema):
    kind: str = SurveyItem.Kind.REQUEST
    text: str = Field(max_length=500)


@router.post(
    "/registry/buildings/{building_id}/survey/items",
    response={201: SurveyItemOut},
    summary="Add a free item (request, hazard)",
)
def add_survey_item(request, building_id: int, payload: SurveyItemIn):
    item = survey.add_item(
        _user(request), _surveyed_building(request, building_id), kind=payload.kind, text=payload.text
    )
    return Status(
        201,
        {
            "id": item.pk,
            "kind": item.kind,
            "text": item.text,
            "reported_at": item.reported_at.isoformat(),
            "case_id": None,
        },
    )


@router.post(
    "/registry/survey-items/{item_id}/case", response=CaseRef, summary="Turn a survey item into a case"
)
def survey_item_to_case(request, item_id: int, payload: ToCaseIn):
    user = _user(request)
    item = get_object_or_404(SurveyItem.objects.visible_to(user).select_related("building__grid"), pk=item_id)
    case = survey.item_to_case(user, item, category_id=payload.category_id)
    return {"case_id": case.pk, "number": case.number}


# --- Excel: templates, imports (background, with progress), exports ---------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@router.get("/registry/templates/{kind}", summary="Download an import template (.xlsx)", response={200: None})
def import_template(request, kind: str):
    if kind not in excel.KINDS:
        raise Http404(_("Not found."))
    return xlsx_response(excel.template(kind), f"gridgov-{kind}-template")


class ImportForm(Schema):
    kind: str = Field(description="people, households, houses or organizations")
    dry_run: bool = Field(True, description="check every row and report, save nothing")
    grid_code: str = Field("", description="confine the import to this grid subtree")


class ImportErrorOut(Schema):
    row: int
    column: str
    value: str
    message: str


class ImportJobOut(Schema):
    id: int
    kind: str
    dry_run: bool
    state: str
    done: int
    total: int
    created: int | None = None
    updated: int | None = None
    skipped: int | None = None
    saved: bool | None = None
    error_count: int | None = None
    errors: list[ImportErrorOut] = []


def job_out(job: ImportJob) -> dict:
    report = job.report or {}
    return {"id": job.pk, "kind": job.kind, "dry_run": job.dry_run, "state": job.state, "done": job.done,
            "total": job.total, **{k: report.get(k) for k in ("created", "updated", "skipped", "saved",
                                                               "error_count")},
            "errors": report.get("errors", [])}


@router.post("/registry/imports", response={202: ImportJobOut}, summary="Import an Excel ledger (background)")
def start_import(request, form: ImportForm = Form(...), file: UploadedFile = File(...)):
    job = imports.start(_user(request), form.kind, file, dry_run=form.dry_run, grid_code=form.grid_code)
    job.refresh_from_db()
    return Status(202, job_out(job))


@router.get("/registry/imports/{job_id}", response=ImportJobOut, summary="An import's progress and report")
def get_import(request, job_id: int):
    return job_out(get_object_or_404(ImportJob, pk=job_id, actor=_user(request)))


@router.get("/registry/exports/{kind}", summary="Export a ledger (.xlsx; masked unless permitted; audited)",
            response={200: None})
def export_ledger(request, kind: str, grid: str = "", reason: str = Query("", max_length=200)):
    if kind not in excel.KINDS:
        raise Http404(_("Not found."))
    content = excel.export(_user(request), kind, grid=grid or None, reason=reason)
    return xlsx_response(content, f"gridgov-{kind}-{timezone.localdate():%Y%m%d}")


# --- care files (一人一档) ------------------------------------------------------------------------
# Thin handlers over `care`: it decides who sees a file (404), who may write (403), what is valid
# (400) and what is overdue. Personal data is masked as everywhere in the registry.


class CareMemberOut(Schema):
    id: int
    name: str
    relation: str
    age: int | None


class CareHouseholdOut(Schema):
    id: int
    number: str
    kind: str
    head_name: str
    address: str
    building_id: int
    house_use: str
    members: list[CareMemberOut]


class CarePersonOut(Schema):
    id: int
    name: str
    id_number: str = Field(description="masked")
    phone: str = Field(description="masked")
    sex: str
    birth_date: date | None
    age: int | None
    grid: GridRef
    address: str


class CareVisitPlanOut(Schema):
    interval_days: int | None = Field(description="the care visit interval; null: no care visits of its own")
    last_visited_on: date | None
    due_on: date | None = Field(description="null: no interval, or never visited")
    overdue: bool


class CareTaskOut(Schema):
    id: int
    title: str
    due_on: date
    assignee_id: int | None
    assignee: str | None
    created_by: str
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    result: str
    overdue: bool


class CareCaseOut(Schema):
    id: int
    number: str
    category: str
    state: str
    state_label: str
    reported_at: datetime
    grid: GridRef


class CareServiceOut(Schema):
    id: int
    kind: str
    kind_label: str
    served_on: date
    provider: str
    note: str
    recorded_by: str


class CareNoteOut(Schema):
    id: int
    text: str
    author: str
    at: datetime


class CareFileOut(Schema):
    person: CarePersonOut
    care_level: str
    tags: list[TagOut]
    household: CareHouseholdOut | None
    visit_plan: CareVisitPlanOut
    tasks: list[CareTaskOut]
    visits: list[VisitOut] = Field(description="the household's visits, latest first")
    reported_cases: list[CareCaseOut] = Field(description="cases the person reported (by their phone)")
    concern_cases: list[CareCaseOut] = Field(description="cases marked as concerning the person")
    services: list[CareServiceOut]
    notes: list[CareNoteOut]
    may_write: bool


def _who(user) -> str:
    return (user.name or user.username) if user else ""


def care_task_out(task, today: date) -> dict:
    return {"id": task.pk, "title": task.title, "due_on": task.due_on, "assignee_id": task.assignee_id,
            "assignee": _who(task.assignee) or None, "created_by": _who(task.created_by),
            "created_at": task.created_at, "done_at": task.done_at, "done_by": _who(task.done_by) or None,
            "result": task.result, "overdue": task.is_overdue(today)}


def care_case_out(case) -> dict:
    return {"id": case.pk, "number": case.number, "category": case.category.name, "state": case.state,
            "state_label": case.get_state_display(), "reported_at": case.reported_at,
            "grid": {"code": case.grid.code, "name": case.grid.name}}


def care_service_out(service) -> dict:
    return {"id": service.pk, "kind": service.kind, "kind_label": service.get_kind_display(),
            "served_on": service.served_on, "provider": service.provider, "note": service.note,
            "recorded_by": _who(service.recorded_by)}


def care_note_out(note) -> dict:
    return {"id": note.pk, "text": note.text, "author": _who(note.author), "at": note.at}


def _care_household(person: Person, members, today: date) -> dict | None:
    if not person.household_id:
        return None
    household = person.household
    return {"id": household.pk, "number": household.number, "kind": household.get_kind_display(),
            "head_name": household.head_name, "address": str(household.house),
            "building_id": household.house.building_id, "house_use": household.house.get_use_display(),
            "members": [{"id": m.pk, "name": m.name, "relation": m.get_relation_display(),
                         "age": _age(m.birth_date, today)} for m in members]}


def care_file_out(file: care.CareFile) -> dict:
    """The file as the API answers it (and the page shows it)."""
    person, today = file.person, file.today
    plan = file.plan
    return {
        "person": {"id": person.pk, "name": person.name, "id_number": person.id_number_masked,
                   "phone": person.phone_masked, "sex": person.sex, "birth_date": person.birth_date,
                   "age": _age(person.birth_date, today),
                   "grid": {"code": person.grid.code, "name": person.grid.name}, "address": _address(person)},
        "care_level": file.care_level,
        "tags": _tags_out(file.tags),
        "household": _care_household(person, file.members, today),
        "visit_plan": {"interval_days": plan.interval_days, "last_visited_on": plan.last_visited_on,
                       "due_on": plan.due_on, "overdue": plan.overdue},
        "tasks": [care_task_out(t, today) for t in file.tasks],
        "visits": [{**visit_out_brief(v), "address": _address(person)} for v in file.visits],
        "reported_cases": [care_case_out(c) for c in file.reported_cases],
        "concern_cases": [care_case_out(c) for c in file.concern_cases],
        "services": [care_service_out(s) for s in file.services],
        "notes": [care_note_out(n) for n in file.notes],
        "may_write": file.may_write,
    }


def visit_out_brief(v: Visit) -> dict:
    """`visit_out` without re-reading the household (the file has it already)."""
    return {"id": v.pk, "household_id": v.household_id, "visited_on": v.visited_on, "worker": str(v.worker),
            "met": v.met, "notes": v.notes, "needs": v.needs, "case_id": v.case_id}


class CareOverdueTaskOut(Schema):
    id: int
    title: str
    due_on: date


class CareOverdueOut(Schema):
    person: CarePersonOut
    care_level: str
    interval_days: int | None
    visit_due_on: date | None
    visit_overdue: bool
    never_visited: bool
    overdue_days: int | None = Field(description="how late the most overdue item is; null: never visited")
    tasks: list[CareOverdueTaskOut]


def care_overdue_out(item: care.Overdue, today: date) -> dict:
    person = item.person
    return {
        "person": {"id": person.pk, "name": person.name, "id_number": person.id_number_masked,
                   "phone": person.phone_masked, "sex": person.sex, "birth_date": person.birth_date,
                   "age": _age(person.birth_date, today),
                   "grid": {"code": person.grid.code, "name": person.grid.name}, "address": _address(person)},
        "care_level": item.care_level, "interval_days": item.interval_days, "visit_due_on": item.visit_due_on,
        "visit_overdue": item.visit_overdue, "never_visited": item.never_visited, "overdue_days": item.days,
        "tasks": [{"id": t.pk, "title": t.title, "due_on": t.due_on} for t in item.tasks],
    }


# Registered before /registry/care/{person_id}: "overdue" is not a person.
@router.get("/registry/care/overdue", response=list[CareOverdueOut],
            summary="Care files overdue (visit or task), most overdue first")
@paginate(Pagination)
def care_overdue(request):
    today = timezone.localdate()
    return [care_overdue_out(item, today) for item in care.overdue_list(_user(request), today=today)]


@router.get("/registry/care/{person_id}", response=CareFileOut, summary="A person's care file (一人一档)")
def get_care_file(request, person_id: int):
    return care_file_out(care.care_file(_user(request), person_id))


class CareNoteIn(Schema):
    text: str = Field(max_length=care.NOTE_MAX)


@router.post("/registry/care/{person_id}/notes", response={201: CareNoteOut},
             summary="Add a note to a care file")
def add_care_note(request, person_id: int, payload: CareNoteIn):
    return Status(201, care_note_out(care.add_note(_user(request), person_id, payload.text)))


class CareTaskIn(Schema):
    title: str = Field(max_length=200)
    due_on: date
    assignee_id: int | None = Field(
        None, description="someone who keeps the file (a leader, grid leader or grid worker of its grid)")


@router.post("/registry/care/{person_id}/tasks", response={201: CareTaskOut}, summary="Add a care-plan task")
def add_care_task(request, person_id: int, payload: CareTaskIn):
    task = care.add_task(_user(request), person_id, title=payload.title, due_on=payload.due_on,
                         assignee_id=payload.assignee_id)
    return Status(201, care_task_out(task, timezone.localdate()))


class CareTaskDoneIn(Schema):
    result: str = Field("", max_length=500, description="what came of it")


@router.post("/registry/care/{person_id}/tasks/{task_id}/done", response=CareTaskOut,
             summary="Mark a care-plan task done (again: unchanged)")
def complete_care_task(request, person_id: int, task_id: int, payload: CareTaskDoneIn):
    task = care.complete_task(_user(request), person_id, task_id, result=payload.result)
    return care_task_out(task, timezone.localdate())


class CareServiceIn(Schema):
    kind: str = Field(description="daily_care, meals, health, assistance, companionship, errand or other")
    served_on: date
    provider: str = Field("", max_length=100)
    note: str = Field("", max_length=500)


@router.post("/registry/care/{person_id}/services", response={201: CareServiceOut},
             summary="Record a service the person received")
def add_care_service(request, person_id: int, payload: CareServiceIn):
    service = care.record_service(_user(request), person_id, kind=payload.kind, served_on=payload.served_on,
                                  provider=payload.provider, note=payload.note)
    return Status(201, care_service_out(service))


class CaseConcernIn(Schema):
    case_id: int


class CaseConcernOut(Schema):
    person_id: int
    case: CareCaseOut
    created: bool


@router.post("/registry/care/{person_id}/concerns", response={200: CaseConcernOut, 201: CaseConcernOut},
             summary="Mark a case as concerning the person (again: 200)")
def link_care_case(request, person_id: int, payload: CaseConcernIn):
    link, created = care.link_case(_user(request), person_id, payload.case_id)
    return Status(201 if created else 200, {"person_id": link.person_id, "case": care_case_out(link.case),
                                            "created": created})


@router.delete("/registry/care/{person_id}/concerns/{case_id}", response={204: None},
               summary="Unmark a case as concerning the person")
def unlink_care_case(request, person_id: int, case_id: int):
    care.unlink_case(_user(request), person_id, case_id)
    return Status(204, None)
