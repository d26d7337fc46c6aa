"""Migrants over HTTP: dormitories (rooms, beds, stays, access cards), employers' workers, residence
permits, rental houses and their inspections, the figures. Thin handlers over `dormitories`,
`employers`, `permits`, `rentals` and `figures`; ID numbers and phones masked in every answer."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from gridgov.core.openapi import CONFLICT, ERROR_TEXTS
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.grids.models import Grid
from gridgov.migrants import dormitories, employers, figures, lookups, permits, rentals
from gridgov.migrants.models import (
    AccessCard,
    Bed,
    Dormitory,
    Employment,
    Inspection,
    Permit,
    Rental,
    Room,
    Stay,
)
from gridgov.population.api import MaskedPersonRef, masked_person_ref, xlsx_response
from gridgov.population.models import House, Organization, Person

router = Router(tags=["migrants"])
NOT_FOUND = {"responses": {"404": {"description": ERROR_TEXTS["404"]}}}
NOT_FOUND_OR_CONFLICT = {"responses": {**NOT_FOUND["responses"], **CONFLICT["responses"]}}


def _grid(g) -> dict:
    return {"code": g.code, "name": g.name}


# --- dormitories ------------------------------------------------------------------------------------


class DormitoryIn(Schema):
    grid_code: str = Field(description="the dormitory's dedicated grid (special type dormitory)")
    name: str
    address: str = ""
    police_room: str = ""
    service_office: str = ""
    employer_ids: list[int] = Field([], description="organizations whose workers it houses")


class OccupancyOut(Schema):
    rooms: int
    beds: int
    occupied: int
    free: int
    over_capacity_rooms: int
    waiting: int = Field(
        description="workers of the employers housed, in the dormitory's grid, without a bed"
    )


class DormitoryOut(Schema):
    id: int
    name: str
    grid: GridRef
    address: str
    police_room: str
    service_office: str
    employers: list[str]
    occupancy: OccupancyOut


def _dormitory_out(d: Dormitory) -> dict:
    return {
        "id": d.pk,
        "name": d.name,
        "grid": _grid(d.grid),
        "address": d.address,
        "police_room": d.police_room,
        "service_office": d.service_office,
        "employers": [lessee.organization.name for lessee in d.lessees.select_related("organization")],
        "occupancy": dormitories.occupancy(d),
    }


@router.get(
    "/migrants/dormitories", response=list[DormitoryOut], summary="Dormitories in my area, with occupancy"
)
@paginate(Pagination)
def list_dormitories(request):
    return LazyPage(Dormitory.objects.visible_to(request.auth).select_related("grid"), _dormitory_out)


@router.post(
    "/migrants/dormitories",
    response={201: DormitoryOut},
    summary="Set up a dormitory on its dedicated grid",
    openapi_extra=NOT_FOUND,
)
def create_dormitory(request, payload: DormitoryIn):
    grid = Grid.objects.visible_to(request.auth).filter(code=payload.grid_code).first()
    if grid is None:
        raise Http404(_("No such grid in your area."))
    found = list(Organization.objects.visible_to(request.auth).filter(pk__in=payload.employer_ids))
    if len(found) != len(set(payload.employer_ids)):
        raise Http404(_("No such employer in your area."))
    dormitory = dormitories.save_dormitory(
        request.auth,
        grid=grid,
        name=payload.name,
        address=payload.address,
        police_room=payload.police_room,
        service_office=payload.service_office,
        employers=found,
    )
    return Status(201, _dormitory_out(dormitory))


@router.get(
    "/migrants/dormitories/{dormitory_id}",
    response=DormitoryOut,
    summary="A dormitory and its occupancy",
    openapi_extra=NOT_FOUND,
)
def get_dormitory(request, dormitory_id: int):
    return _dormitory_out(dormitories.dormitory_of(request.auth, dormitory_id))


class RoomPlanIn(Schema):
    building: str = Field(
        description="the building's name, e.g. 木桥公寓1幢 (added to the registry when new)"
    )
    first_floor: int = 1
    last_floor: int
    rooms_per_floor: int
    capacity: int = Field(description="people a room may house")
    beds: int | None = Field(None, description="beds in each room; the capacity when not given")


@router.post(
    "/migrants/dormitories/{dormitory_id}/rooms",
    response={201: dict},
    summary="Add rooms floor by floor (301, 302…) with their beds",
    openapi_extra=NOT_FOUND,
)
def add_rooms(request, dormitory_id: int, payload: RoomPlanIn):
    dormitory = dormitories.dormitory_of(request.auth, dormitory_id)
    added = dormitories.add_rooms(request.auth, dormitory, dormitories.RoomPlan(**payload.dict()))
    return Status(201, {"added": added})


class RoomOut(Schema):
    id: int
    building: str
    floor: int
    number: str
    capacity: int
    beds: int
    occupied: int
    over_capacity: bool


def _room_out(r: Room) -> dict:
    return {
        "id": r.pk,
        "building": r.building.name,
        "floor": r.floor,
        "number": r.number,
        "capacity": r.capacity,
        "beds": r.bed_count,
        "occupied": r.occupied,
        "over_capacity": r.occupied > r.capacity,
    }


@router.get(
    "/migrants/dormitories/{dormitory_id}/rooms",
    response=list[RoomOut],
    summary="Rooms with beds and occupancy; `over`: only rooms over capacity, `free`: with a free bed",
    openapi_extra=NOT_FOUND,
)
@paginate(Pagination)
def list_rooms(request, dormitory_id: int, over: bool = False, free: bool = False):
    rooms = dormitories.rooms_with_occupancy(dormitories.dormitory_of(request.auth, dormitory_id))
    if over:
        rooms = rooms.filter(occupied__gt=F("capacity"))
    if free:
        rooms = rooms.filter(occupied__lt=F("bed_count"))
    return LazyPage(rooms, _room_out)


class CapacityIn(Schema):
    capacity: int


@router.patch(
    "/migrants/rooms/{room_id}", response=RoomOut, summary="Change a room's capacity", openapi_extra=NOT_FOUND
)
def change_room(request, room_id: int, payload: CapacityIn):
    room = lookups.visible(
        Room.objects.select_related("dormitory__grid"), request.auth, room_id, _("No such room in your area.")
    )
    dormitories.set_capacity(request.auth, room, payload.capacity)
    return _room_out(dormitories.rooms_with_occupancy(room.dormitory).get(pk=room.pk))


class BedOut(Schema):
    id: int
    number: str
    label: str
    is_active: bool
    stay_id: int | None
    occupant: MaskedPersonRef | None
    employer: str


@router.get(
    "/migrants/rooms/{room_id}/beds",
    response=list[BedOut],
    summary="A room's beds and who sleeps in each",
    openapi_extra=NOT_FOUND,
)
def list_beds(request, room_id: int):
    room = lookups.visible(
        Room.objects.select_related("building", "dormitory"),
        request.auth,
        room_id,
        _("No such room in your area."),
    )
    dormitories.check_manager(request.auth, room.dormitory)
    stays = {
        s.bed_id: s
        for s in dormitories.live_stays().filter(bed__room=room).select_related("person", "organization")
    }
    out = []
    for bed in room.beds.all():
        stay = stays.get(bed.pk)
        out.append(
            {
                "id": bed.pk,
                "number": bed.number,
                "label": bed.label(room),
                "is_active": bed.is_active,
                "stay_id": stay.pk if stay else None,
                "occupant": masked_person_ref(stay.person) if stay else None,
                "employer": stay.organization.name if stay and stay.organization else "",
            }
        )
    return out


class WaitingOut(MaskedPersonRef):
    employer: str


@router.get(
    "/migrants/dormitories/{dormitory_id}/waiting",
    response=list[WaitingOut],
    summary="Workers of the employers housed who wait for a bed",
    openapi_extra=NOT_FOUND,
)
@paginate(Pagination)
def list_waiting(request, dormitory_id: int):
    dormitory = dormitories.dormitory_of(request.auth, dormitory_id)
    dormitories.check_manager(request.auth, dormitory)
    people = dormitories.waiting(dormitory).filter(
        pk__in=Person.objects.visible_to(request.auth).values("pk")
    )
    return LazyPage(people, lambda p: {**masked_person_ref(p), "employer": p.employer_name})


class AssignIn(Schema):
    organization_id: int | None = Field(None, description="only this employer's workers")
    limit: int | None = Field(None, ge=1, le=20000)


@router.post(
    "/migrants/dormitories/{dormitory_id}/assign",
    response=dict,
    summary="Give waiting workers free beds, each employer's together, rooms filled up to their capacity",
    openapi_extra=NOT_FOUND,
)
def assign(request, dormitory_id: int, payload: AssignIn):
    dormitory = dormitories.dormitory_of(request.auth, dormitory_id)
    organization = None
    if payload.organization_id:
        organization = dormitory.lessees.filter(organization_id=payload.organization_id).first()
        if organization is None:
            raise Http404(_("No such employer in this dormitory."))
        organization = organization.organization
    stays = dormitories.assign_waiting(
        request.auth, dormitory, organization=organization, limit=payload.limit
    )
    return {"assigned": len(stays), "occupancy": dormitories.occupancy(dormitory)}


class CheckInIn(Schema):
    person_id: int
    on: date | None = None


class StayOut(Schema):
    id: int
    bed: str
    person: MaskedPersonRef
    employer: str
    checked_in_on: date
    checked_out_on: date | None
    out_reason: str
    over_capacity: bool = Field(description="the room now houses more people than its capacity")


def _stay_out(s: Stay) -> dict:
    room = s.bed.room
    occupied = dormitories.live_stays().filter(bed__room=room).count()
    return {
        "id": s.pk,
        "bed": s.bed.label(room),
        "person": masked_person_ref(s.person),
        "employer": s.organization.name if s.organization_id else "",
        "checked_in_on": s.checked_in_on,
        "checked_out_on": s.checked_out_on,
        "out_reason": s.out_reason,
        "over_capacity": occupied > room.capacity,
    }


@router.post(
    "/migrants/beds/{bed_id}/check-in",
    response={201: StayOut},
    summary="Check a person into a free bed (someone in another bed moves)",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def check_in(request, bed_id: int, payload: CheckInIn):
    bed = lookups.visible(Bed.objects.all(), request.auth, bed_id, _("No such bed in your area."))
    stay = dormitories.check_in(
        request.auth, lookups.person(request.auth, payload.person_id), bed, payload.on
    )
    return Status(
        201,
        _stay_out(
            Stay.objects.select_related("bed__room__building", "person", "organization").get(pk=stay.pk)
        ),
    )


class CheckOutIn(Schema):
    on: date | None = None
    reason: str = ""


@router.post(
    "/migrants/stays/{stay_id}/check-out",
    response=StayOut,
    summary="Check a person out of their bed",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def check_out(request, stay_id: int, payload: CheckOutIn):
    stay = lookups.visible(Stay.objects.all(), request.auth, stay_id, _("No such stay in your area."))
    dormitories.check_out(request.auth, stay, on=payload.on, reason=payload.reason)
    return _stay_out(
        Stay.objects.select_related("bed__room__building", "person", "organization").get(pk=stay.pk)
    )


class CardIn(Schema):
    person_id: int
    number: str


class CardOut(Schema):
    id: int
    number: str
    state: str
    holder: MaskedPersonRef | None
    issued_on: date


def _card_out(c: AccessCard) -> dict:
    return {
        "id": c.pk,
        "number": c.number,
        "state": c.state,
        "holder": masked_person_ref(c.holder) if c.holder else None,
        "issued_on": c.issued_on,
    }


@router.get(
    "/migrants/dormitories/{dormitory_id}/cards",
    response=list[CardOut],
    summary="The dormitory's access cards (issued, lost, blocked, returned)",
    openapi_extra=NOT_FOUND,
)
@paginate(Pagination)
def list_cards(request, dormitory_id: int, state: str = "", q: str = ""):
    dormitory = dormitories.dormitory_of(request.auth, dormitory_id)
    cards = AccessCard.objects.visible_to(request.auth).filter(dormitory=dormitory).select_related("holder")
    if state:
        cards = cards.filter(state=state)
    if q:
        cards = cards.filter(Q(number__icontains=q.strip()) | Q(holder__name__contains=q.strip()))
    return LazyPage(cards, _card_out)


@router.post(
    "/migrants/dormitories/{dormitory_id}/cards",
    response={201: CardOut},
    summary="Issue an access card (a new number, or a returned card given out again)",
    openapi_extra=NOT_FOUND,
)
def issue_card(request, dormitory_id: int, payload: CardIn):
    dormitory = dormitories.dormitory_of(request.auth, dormitory_id)
    card = dormitories.issue_card(
        request.auth, dormitory, lookups.person(request.auth, payload.person_id), payload.number
    )
    return Status(201, _card_out(card))


class CardStepIn(Schema):
    action: str = Field(description="lose, block, unblock or return")
    note: str = ""


@router.post(
    "/migrants/cards/{card_id}/step",
    response=CardOut,
    summary="Report a card lost, block, unblock or take it back",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def card_step(request, card_id: int, payload: CardStepIn):
    card = lookups.visible(AccessCard.objects.all(), request.auth, card_id, _("No such card in your area."))
    card = dormitories.card_step(request.auth, card, payload.action, payload.note)
    return _card_out(AccessCard.objects.select_related("holder").get(pk=card.pk))


# --- employers and their workers --------------------------------------------------------------------


class EmployerOut(Schema):
    id: int
    name: str
    grid: GridRef
    workers: int = Field(description="employed now")
    dormitory: str


@router.get(
    "/migrants/employers",
    response=list[EmployerOut],
    summary="The employers I act for (an employer's account) or that my dormitories house",
)
def list_employers(request):
    rows = employers.employers_for(request.auth)
    counts = dict(
        Employment.objects.filter(organization__in=[o.pk for o in rows], ended_on=None)
        .values_list("organization_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    housed = employers.dormitories_of_employers(rows)
    out = []
    for org in rows:
        dormitory = housed.get(org.pk)
        out.append(
            {
                "id": org.pk,
                "name": org.name,
                "grid": _grid(org.grid),
                "workers": counts.get(org.pk, 0),
                "dormitory": dormitory.name if dormitory else "",
            }
        )
    return out


class WorkerIn(Schema):
    name: str
    id_number: str
    started_on: date
    phone: str = ""
    arrived_on: date | None = None
    registered_address: str = ""
    is_migrant: bool = True


class EmploymentOut(Schema):
    id: int
    person: MaskedPersonRef
    employer: str
    started_on: date
    ended_on: date | None
    bed: str
    permit_state: str


def _employment_out(e: Employment) -> dict:
    return {
        "id": e.pk,
        "person": masked_person_ref(e.person),
        "employer": e.organization.name,
        "started_on": e.started_on,
        "ended_on": e.ended_on,
        "bed": e.person.dormitory_bed,
        "permit_state": e.person.permit_state,
    }


@router.get(
    "/migrants/employers/{organization_id}/workers",
    response=list[EmploymentOut],
    summary="An employer's workers (employed now; `left` for those who left)",
    openapi_extra=NOT_FOUND,
)
@paginate(Pagination)
def list_workers(request, organization_id: int, left: bool = False, q: str = ""):
    organization = employers.organization_of(request.auth, organization_id)
    rows = (
        Employment.objects.visible_to(request.auth)
        .filter(organization=organization, ended_on__isnull=not left)
        .select_related("person", "organization")
        .order_by("-started_on", "pk")
    )
    if q:
        rows = rows.filter(person__name__contains=q.strip())
    return LazyPage(rows, _employment_out)


@router.post(
    "/migrants/employers/{organization_id}/workers",
    response={201: EmploymentOut},
    summary="Register one worker (found by ID number in the registry, or added)",
    openapi_extra=NOT_FOUND,
)
def register_worker(request, organization_id: int, payload: WorkerIn):
    organization = employers.organization_of(request.auth, organization_id)
    employment = employers.register_worker(request.auth, organization, employers.Worker(**payload.dict()))
    return Status(
        201,
        _employment_out(Employment.objects.select_related("person", "organization").get(pk=employment.pk)),
    )


@router.get(
    "/migrants/workers/template", summary="The Excel template of workers (.xlsx)", response={200: None}
)
def workers_template(request):
    return xlsx_response(employers.template(), "gridgov-workers-template")


class RowErrorOut(Schema):
    row: int
    column: str
    value: str
    message: str


class WorkersImportOut(Schema):
    total: int
    created: int
    updated: int = Field(description="people the registry knew already")
    saved: bool
    assigned: int = Field(description="beds given")
    errors: list[RowErrorOut]


@router.post(
    "/migrants/employers/{organization_id}/workers/import",
    response=WorkersImportOut,
    summary="Register workers from Excel: every row checked, all saved or none; beds given on request "
    "(dormitory managers)",
    openapi_extra=NOT_FOUND,
)
def import_workers(
    request,
    organization_id: int,
    file: UploadedFile = File(...),
    dry_run: bool = Form(False),
    assign_beds: bool = Form(False),
):
    organization = employers.organization_of(request.auth, organization_id)
    result = employers.import_workers(
        request.auth, organization, file, dry_run=dry_run, assign_beds=assign_beds
    )
    report = result.report
    return {
        "total": report.total,
        "created": report.created,
        "updated": report.updated,
        "saved": report.saved,
        "assigned": result.assigned,
        "errors": [
            {"row": e.row, "column": e.column, "value": e.value, "message": e.message} for e in report.errors
        ],
    }


class LeaveIn(Schema):
    on: date | None = None
    reason: str = ""


@router.post(
    "/migrants/employments/{employment_id}/end",
    response=EmploymentOut,
    summary="The worker left: the employment ends, and their bed and access card with it",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def end_employment(request, employment_id: int, payload: LeaveIn):
    employment = lookups.visible(
        Employment.objects.select_related("organization__grid"),
        request.auth,
        employment_id,
        _("No such worker in your area."),
    )
    employers.end_employment(request.auth, employment, on=payload.on, reason=payload.reason)
    return _employment_out(Employment.objects.select_related("person", "organization").get(pk=employment.pk))


# --- residence permits --------------------------------------------------------------------------------


class PermitDueOut(Schema):
    person: MaskedPersonRef
    grid: GridRef
    kind: str = Field(description="apply (the stay reached) or renew (the permit runs out)")
    due_on: date
    overdue: bool
    permit_id: int | None


@router.get(
    "/migrants/permits/due",
    response=list[PermitDueOut],
    summary="Residence permits to see to: migrants due to apply, permits running out (earliest first)",
)
def permits_due(request, limit: int = Query(200, ge=1, le=1000)):
    return [
        {
            "person": masked_person_ref(d.person),
            "grid": _grid(d.person.grid),
            "kind": d.kind,
            "due_on": d.due_on,
            "overdue": d.overdue,
            "permit_id": d.permit.pk if d.permit else None,
        }
        for d in permits.due_list(request.auth, limit=limit)
    ]


class PermitIn(Schema):
    person_id: int
    applied_on: date | None = None
    on_behalf: bool = Field(False, description="staff applied for the person (代办)")
    note: str = ""


class PermitOut(Schema):
    id: int
    person: MaskedPersonRef
    state: str
    applied_on: date
    on_behalf: bool
    number: str
    issued_on: date | None
    expires_on: date | None
    note: str


def _permit_out(p: Permit) -> dict:
    return {
        "id": p.pk,
        "person": masked_person_ref(p.person),
        "state": p.state,
        "applied_on": p.applied_on,
        "on_behalf": p.on_behalf,
        "number": p.number,
        "issued_on": p.issued_on,
        "expires_on": p.expires_on,
        "note": p.note,
    }


@router.get("/migrants/permits", response=list[PermitOut], summary="Residence permits recorded in my area")
@paginate(Pagination)
def list_permits(request, state: str = ""):
    rows = Permit.objects.visible_to(request.auth).select_related("person")
    if state:
        rows = rows.filter(state=state)
    return LazyPage(rows, _permit_out)


@router.post(
    "/migrants/permits",
    response={201: PermitOut},
    summary="Record an application (by the person or on their behalf)",
    openapi_extra=NOT_FOUND,
)
def apply_permit(request, payload: PermitIn):
    permit = permits.apply(
        request.auth,
        lookups.person(request.auth, payload.person_id),
        applied_on=payload.applied_on,
        on_behalf=payload.on_behalf,
        note=payload.note,
    )
    return Status(201, _permit_out(permit))


class IssueIn(Schema):
    number: str
    issued_on: date | None = None
    expires_on: date | None = Field(
        None, description="GRIDGOV_PERMIT_VALID_MONTHS after issue when not given"
    )


@router.post(
    "/migrants/permits/{permit_id}/issue",
    response=PermitOut,
    summary="Record the permit issued",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def issue_permit(request, permit_id: int, payload: IssueIn):
    permit = permits.issue(
        request.auth,
        permits.permit_of(request.auth, permit_id),
        number=payload.number,
        issued_on=payload.issued_on,
        expires_on=payload.expires_on,
    )
    return _permit_out(permit)


class RenewIn(Schema):
    expires_on: date


@router.post(
    "/migrants/permits/{permit_id}/renew",
    response=PermitOut,
    summary="Record the yearly endorsement (签注)",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def renew_permit(request, permit_id: int, payload: RenewIn):
    return _permit_out(
        permits.renew(request.auth, permits.permit_of(request.auth, permit_id), expires_on=payload.expires_on)
    )


class RefuseIn(Schema):
    reason: str


@router.post(
    "/migrants/permits/{permit_id}/refuse",
    response=PermitOut,
    summary="Record the application refused",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def refuse_permit(request, permit_id: int, payload: RefuseIn):
    return _permit_out(
        permits.refuse(request.auth, permits.permit_of(request.auth, permit_id), reason=payload.reason)
    )


# --- rental houses -----------------------------------------------------------------------------------


class RentalIn(Schema):
    house_id: int
    scheme: str = Field(
        "market", description="market (let by the landlord) or proxy (代租制: leased to an employer)"
    )
    lessee_id: int | None = Field(None, description="the employer, for the proxy scheme")
    interval_days: int = 90
    first_due_on: date | None = None


class RentalPatch(Schema):
    interval_days: int | None = None
    is_active: bool | None = None


class RentalOut(Schema):
    id: int
    house: str
    grid: GridRef
    scheme: str
    lessee: str
    interval_days: int
    next_due_on: date
    overdue: bool
    is_active: bool
    tenants_registered: int


def _rental_out(r: Rental) -> dict:
    return {
        "id": r.pk,
        "house": str(r.house),
        "grid": _grid(r.grid),
        "scheme": r.scheme,
        "lessee": r.lessee.name if r.lessee_id else "",
        "interval_days": r.interval_days,
        "next_due_on": r.next_due_on,
        "overdue": r.is_active and r.next_due_on < timezone.localdate(),
        "is_active": r.is_active,
        "tenants_registered": rentals.tenants_registered(r),
    }


@router.get(
    "/migrants/rentals",
    response=list[RentalOut],
    summary="Rental houses on the schedule (`overdue`: only those past their inspection date)",
)
@paginate(Pagination)
def list_rentals(request, overdue: bool = False, grid: str = ""):
    rows = (
        rentals.overdue(request.auth)
        if overdue
        else Rental.objects.visible_to(request.auth).select_related("house__building", "grid", "lessee")
    )
    if grid:
        rows = rows.filter(grid__code__startswith=grid)
    # str(house) reads its building and unit; the tenants are counted in the page's query.
    return LazyPage(rentals.with_tenants(rows.select_related("lessee", "house__unit")), _rental_out)


@router.post(
    "/migrants/rentals",
    response={201: RentalOut},
    summary="Put a house on the inspection schedule",
    openapi_extra=NOT_FOUND,
)
def create_rental(request, payload: RentalIn):
    house = lookups.visible(
        House.objects.select_related("grid", "building"),
        request.auth,
        payload.house_id,
        _("No such house in your area."),
    )
    lessee = None
    if payload.lessee_id:
        lessee = lookups.visible(
            Organization.objects.all(), request.auth, payload.lessee_id, _("No such employer in your area.")
        )
    rental = rentals.register(
        request.auth,
        house,
        scheme=payload.scheme,
        lessee=lessee,
        interval_days=payload.interval_days,
        first_due_on=payload.first_due_on,
    )
    return Status(201, _rental_out(rentals.rental_of(request.auth, rental.pk)))


@router.patch(
    "/migrants/rentals/{rental_id}",
    response=RentalOut,
    summary="Change the interval, or mark the house no longer let",
    openapi_extra=NOT_FOUND,
)
def change_rental(request, rental_id: int, payload: RentalPatch):
    rental = rentals.change(
        request.auth,
        rentals.rental_of(request.auth, rental_id),
        interval_days=payload.interval_days,
        is_active=payload.is_active,
    )
    return _rental_out(rentals.rental_of(request.auth, rental.pk))


class InspectionIn(Schema):
    results: dict[str, str] = Field(
        description="each checklist item: pass or fail (fire_safety, overcrowding, tenants_registered)"
    )
    tenants_found: int
    notes: str = ""
    done_on: date | None = None


class FindingOut(Schema):
    item: str
    case_id: int
    case_number: str


class InspectionOut(Schema):
    id: int
    done_on: date
    due_on: date
    on_time: bool
    tenants_found: int
    tenants_registered: int
    results: dict[str, str]
    passed: bool
    notes: str
    inspector: str
    findings: list[FindingOut]


def _inspection_out(i: Inspection) -> dict:
    return {
        "id": i.pk,
        "done_on": i.done_on,
        "due_on": i.due_on,
        "on_time": i.on_time,
        "tenants_found": i.tenants_found,
        "tenants_registered": i.tenants_registered,
        "results": i.results,
        "passed": i.passed,
        "notes": i.notes,
        "inspector": i.inspector.name or i.inspector.username,
        "findings": [
            {"item": f.item, "case_id": f.case_id, "case_number": f.case.number}
            for f in i.findings.select_related("case")
        ],
    }


class RentalDetail(RentalOut):
    inspections: list[InspectionOut]
    checklist: dict[str, str]


@router.get(
    "/migrants/rentals/{rental_id}",
    response=RentalDetail,
    summary="A rental house and its inspections",
    openapi_extra=NOT_FOUND,
)
def get_rental(request, rental_id: int):
    rental = rentals.rental_of(request.auth, rental_id)
    inspections = rental.inspections.select_related("inspector")[:50]
    return {
        **_rental_out(rental),
        "inspections": [_inspection_out(i) for i in inspections],
        "checklist": {k: str(label) for k, (label, _code) in rentals.CHECKLIST.items()},
    }


@router.post(
    "/migrants/rentals/{rental_id}/inspections",
    response={201: InspectionOut},
    summary="Record an inspection against the checklist",
    openapi_extra=NOT_FOUND,
)
def inspect(request, rental_id: int, payload: InspectionIn):
    inspection = rentals.inspect(
        request.auth,
        rentals.rental_of(request.auth, rental_id),
        results=payload.results,
        tenants_found=payload.tenants_found,
        notes=payload.notes,
        done_on=payload.done_on,
    )
    return Status(201, _inspection_out(Inspection.objects.select_related("inspector").get(pk=inspection.pk)))


class FindingIn(Schema):
    item: str
    category_id: int | None = Field(None, description="the item's usual category when not given")
    description: str = ""


@router.post(
    "/migrants/inspections/{inspection_id}/cases",
    response={201: FindingOut},
    summary="Report a failed item as a case (once per item)",
    openapi_extra=NOT_FOUND,
)
def finding_to_case(request, inspection_id: int, payload: FindingIn):
    inspection = lookups.visible(
        Inspection.objects.all(), request.auth, inspection_id, _("No such inspection in your area.")
    )
    case = rentals.to_case(
        request.auth,
        inspection,
        payload.item,
        category_id=payload.category_id,
        description=payload.description,
    )
    return Status(201, {"item": payload.item, "case_id": case.pk, "case_number": case.number})


# --- figures ----------------------------------------------------------------------------------------


class FiguresQuery(Schema):
    grid: str = Field("", description="the areas below this grid; the user's top areas when empty")
    start: date | None = Field(None, description="the period's first day (this month's first by default)")
    end: date | None = Field(None, description="the day after the period (tomorrow by default)")


class FiguresRow(Schema):
    grid: GridRef
    migrants: int
    estimated: int | None
    registered_share: float | None = Field(description="migrants registered ÷ estimated")
    permits_due: int
    permits_overdue: int
    beds: int
    beds_occupied: int
    rentals: int
    inspections: int = Field(description="inspections done in the period")
    inspections_on_time: int
    on_time_share: float | None
    rentals_overdue: int


@router.get(
    "/migrants/figures",
    response=list[FiguresRow],
    summary="Per area: migrants registered vs estimated, permits due and overdue, beds, inspections on time",
    openapi_extra=NOT_FOUND,
)
def get_figures(request, filters: Query[FiguresQuery]):
    area = None
    if filters.grid:
        area = Grid.objects.visible_to(request.auth).filter(code=filters.grid).first()
        if area is None:
            raise Http404(_("No such grid in your area."))
    if filters.start and filters.end and filters.end <= filters.start:
        raise ValidationError({"end": _("The end must come after the start.")})
    return figures.area_rows(request.auth, area, start=filters.start, end=filters.end)
