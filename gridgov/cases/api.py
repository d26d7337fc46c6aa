"""Case endpoints: intake, lists, the case page's data, actions, duplicates, notifications."""

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate
from pydantic import field_validator

from gridgov.cases import duplicates, hotline, intake, routing, workflow
from gridgov.cases.filters import CaseFilter, filtered
from gridgov.cases.models import Case, Category, Notification, case_number
from gridgov.core.openapi import CONFLICT
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import Schema
from gridgov.grids.locator import CRS

router = Router(tags=["cases"])


# --- categories ---------------------------------------------------------------------------

class CategoryOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    level: int
    parent_id: int | None
    standard_ref: str
    urgency: str
    handle_limit: float
    handle_unit: str
    is_leaf: bool


def _category_out(c: Category, leaf_ids: set[int]) -> dict:
    return {"id": c.id, "code": c.code, "name": c.name, "kind": c.kind, "level": c.level,
            "parent_id": c.parent_id, "standard_ref": c.standard_ref, "urgency": c.urgency,
            "handle_limit": c.handle_limit, "handle_unit": c.handle_unit, "is_leaf": c.id in leaf_ids}


@router.get("/categories", response=list[CategoryOut],
            summary="Case categories (components, matters and requests)")
def categories(request, q: str = "", kind: str = ""):
    """Active categories; `q` matches code or name, ranked for "category search with suggestions".

    `kind` is component (部件), matter (事项) or request (诉求); all three can be reported.
    """
    rows = Category.objects.filter(is_active=True)
    if kind:
        rows = rows.filter(kind=kind)
    parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True))
    if q:
        for word in q.split():
            rows = rows.filter(Q(name__icontains=word) | Q(code__startswith=word) |
                               Q(parent__name__icontains=word))
        # Most used first (what workers here report), then the shortest, most exact names.
        since = timezone.now() - timedelta(days=90)
        rows = rows.annotate(used=Count("cases", filter=Q(cases__reported_at__gte=since)))
        rows = sorted(rows, key=lambda c: (c.id in parents, -c.used, len(c.name)))[:20]
    leaves = {c.id for c in rows if c.id not in parents}
    return [_category_out(c, leaves) for c in rows]


# --- intake ------------------------------------------------------------------------------

class CaseIn(Schema):
    channel: str = Field(Case.Channel.WORKER, description="worker, resident, hotline or self_resolved")
    category_id: int
    description: str = Field(max_length=2000)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    crs: str = Field(CRS.WGS84, description="wgs84, cgcs2000, gcj02 or bd09")
    address: str = Field("", max_length=200)
    grid_code: str = ""
    client_key: str = Field("", max_length=64, description="resubmitting the same key returns the same case")
    caller_name: str = Field("", max_length=50)
    caller_phone: str = Field("", max_length=20)
    component_id: str = Field("", max_length=40, description="a reported component's 17-digit identifier")

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def blank_is_none(cls, value):
        """HTML forms send an empty field as ""; it means "no point given"."""
        return None if value == "" else value


class Brief(Schema):
    code: str
    name: str


class CaseOut(Schema):
    id: int
    number: str
    channel: str
    channel_label: str
    state: str
    state_label: str
    category: str
    category_code: str
    grid: Brief
    department: str | None
    description: str
    lat: float | None
    lon: float | None
    light: str
    deadline: datetime | None
    deadline_provisional: bool
    reported_at: datetime
    is_supervised: bool
    urgency: str


def case_out(case: Case) -> dict:
    return {
        "id": case.pk, "number": case.number, "channel": case.channel,
        "channel_label": case.get_channel_display(), "state": case.state,
        "state_label": case.get_state_display(), "category": case.category.name,
        "category_code": case.category.code,
        "grid": {"code": case.grid.code, "name": case.grid.name},
        "department": case.department.name if case.department_id else None,
        "description": case.description, "lat": case.lat, "lon": case.lon, "light": case.light,
        "deadline": case.deadline, "deadline_provisional": case.deadline_provisional,
        "reported_at": case.reported_at, "is_supervised": case.is_supervised, "urgency": case.urgency,
    }


class IntakeOut(CaseOut):
    created: bool


@router.post("/cases", response={200: IntakeOut, 201: IntakeOut}, summary="Report a case")
def create_case(request, payload: Form[CaseIn], photos: list[UploadedFile] = File(None),
                after_photos: list[UploadedFile] = File(None)):
    """Worker report, resident request, hotline entry or "solved on the spot".

    Up to 9 photos plus one video and one voice file (`photos`); solved on the spot needs
    `after_photos` too. 201 when created; 200 with the same case when the client key was
    seen before. Possible duplicates: `GET /cases/{id}/duplicates`.
    """
    report = intake.Report(**payload.dict(), files=list(photos or []),
                           after_files=list(after_photos or []))
    case, created = intake.submit(request.user, report)
    # Possible duplicates are the dispatcher's concern (case page, /duplicates), not the
    # reporter's: intake stays light for phones on bad networks.
    body = {**case_out(case), "created": created}
    return Status(201 if created else 200, body)


def candidate_out(c: duplicates.Candidate) -> dict:
    """A possible duplicate as the case page and the hotline desk show it."""
    return {"id": c.case.pk, "number": c.case.number, "state": c.case.state,
            "state_label": c.case.get_state_display(), "category": c.case.category.name,
            "distance_m": round(c.distance_m, 1), "similarity": round(c.similarity, 2),
            "description": c.case.description[:100]}


def _duplicates(case: Case) -> list[dict]:
    return [candidate_out(c) for c in duplicates.find_candidates(case)]


# --- lists and detail --------------------------------------------------------------------

@router.get("/cases", response=list[CaseOut], summary="Cases in my area, filtered")
@paginate(Pagination)
def list_cases(request, filters: Query[CaseFilter]):
    return LazyPage(filtered(request.user, filters).order_by("-reported_at", "-id"), case_out)


MAP_LIMIT = 20_000


@router.get("/cases/map", response=dict, summary="Cases with a point, as GeoJSON, for the map")
def case_map(request, filters: Query[CaseFilter]):
    """Open cases by default (`open=false` for finished ones), newest first, at most 20,000: a
    city's open cases in one answer. Each dot carries only what colours it and opens it (id,
    number, state, light); the map reads the rest of a case (`GET /cases/{id}`) when it is clicked.

    `truncated` says when more matched: the map then asks the user to narrow the filters.
    """
    if filters.open is None:
        filters = filters.model_copy(update={"open": True})
    rows = filtered(request.user, filters).filter(lat__isnull=False).order_by("-reported_at")
    dots = list(rows.values_list("pk", "lon", "lat", "state", "light", "reported_at")[: MAP_LIMIT + 1])
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": pk, "number": case_number(pk, reported), "state": state, "light": light},
        }
        for pk, lon, lat, state, light, reported in dots[:MAP_LIMIT]
    ]
    return {"type": "FeatureCollection", "features": features, "truncated": len(dots) > MAP_LIMIT}


class CaseAttachmentOut(Schema):
    id: int
    stage: str
    kind: str
    status: str = Field(description='"processing" while a photo is being stored without its '
                        'location (no url yet), "ready", or "failed" (it could not be decoded)')
    url: str | None
    thumbnail: str | None


class LogOut(Schema):
    at: datetime
    actor: str | None
    action: str
    from_state: str
    to_state: str
    note: str
    data: dict
    attachments: list[CaseAttachmentOut]


class InstructionOut(Schema):
    id: int
    author: str
    text: str
    due_at: datetime | None
    created_at: datetime
    response: str
    responded_by: str | None
    responded_at: datetime | None
    is_overdue: bool


class CopyOut(Schema):
    to: str
    kind: str
    at: datetime


class AssistTaskOut(Schema):
    id: int
    department: str
    task: str
    due_at: datetime | None
    result: str
    done_at: datetime | None
    is_overdue: bool


class LinkedCase(Schema):
    id: int
    number: str


class CaseDetail(CaseOut):
    address: str
    reporter: str | None
    caller: str | None
    caller_phone: str | None
    result: str
    rating: str
    rating_comment: str
    owner_grid: Brief | None
    handle_deadline: datetime | None
    extension_requested_until: datetime | None
    counts: dict
    merged_into: dict | None
    log: list[LogOut]
    actions: list[dict]
    proposed_department: dict | None
    component_id: str
    instructions: list[InstructionOut]
    copies: list[CopyOut]
    assist_tasks: list[AssistTaskOut]
    recurrence_of: LinkedCase | None
    recurrences: list[LinkedCase]
    callback_result: str
    callback_at: datetime | None


def _attachment(a) -> dict:
    return {"id": a.pk, "stage": a.stage, "kind": a.kind, "status": a.status,
            "url": a.file.url if a.file else None,
            "thumbnail": a.thumbnail.url if a.thumbnail else None}


def visible_case(user, case_id: int) -> Case:
    case = (Case.objects.visible_to(user).select_related("category", "grid", "department",
                                                          "owner_grid", "reporter", "merged_into")
            .filter(pk=case_id).first())
    if case is None:
        raise Http404(_("No such case in your area."))
    return case


@router.get("/cases/{case_id}", response=CaseDetail, summary="A case with its timeline")
def case_detail(request, case_id: int):
    case = visible_case(request.user, case_id)
    entries = case.log.select_related("actor").prefetch_related("attachments")
    master = case.merged_into
    proposed = routing.propose_department(case) if case.state in (
        Case.State.REGISTERED, Case.State.RETURNED, Case.State.REPORTED) else None
    return {
        **case_out(case), "address": case.address,
        "reporter": (case.reporter.name or case.reporter.username) if case.reporter_id else None,
        "caller": case.caller_name_masked or None, "caller_phone": case.caller_phone_masked or None,
        "result": case.result, "rating": case.rating, "rating_comment": case.rating_comment,
        "owner_grid": {"code": case.owner_grid.code, "name": case.owner_grid.name}
        if case.owner_grid_id else None,
        "handle_deadline": case.handle_deadline,
        "extension_requested_until": case.extension_requested_until,
        "counts": {"returns": case.return_count, "reworks": case.rework_count,
                   "extensions": case.extension_count, "escalations": case.escalation_count},
        # A merged case's reporter follows the master case's progress and result.
        "merged_into": {"id": master.pk, "number": master.number, "state": master.state,
                        "state_label": master.get_state_display(), "result": master.result}
        if master else None,
        "log": [{"at": e.at, "actor": (e.actor.name or e.actor.username) if e.actor_id else None,
                 "action": e.action, "from_state": e.from_state, "to_state": e.to_state,
                 "note": e.note, "data": e.data,
                 "attachments": [_attachment(a) for a in e.attachments.all()]} for e in entries],
        "actions": [{"name": a.name, "label": str(a.label), "needs_note": a.needs_note}
                    for a in workflow.available_actions(request.user, case)],
        "proposed_department": {"id": proposed.pk, "name": proposed.name} if proposed else None,
        **loop_parts(request.user, case),
    }


def _name(user) -> str | None:
    return (user.name or user.username) if user else None


def loop_parts(user, case: Case) -> dict:
    """Instructions, copies, assisting parts and recurrences: the case page's and the API's."""
    visible = Case.objects.visible_to(user)
    earlier = visible.filter(pk=case.recurrence_of_id).first() if case.recurrence_of_id else None
    return {
        "component_id": case.component_id,
        "instructions": [{
            "id": i.pk, "author": _name(i.author), "text": i.text, "due_at": i.due_at,
            "created_at": i.created_at, "response": i.response, "responded_by": _name(i.responded_by),
            "responded_at": i.responded_at, "is_overdue": i.is_overdue}
            for i in case.instructions.select_related("author", "responded_by")],
        "copies": [{"to": str(c.department or c.user), "kind": "department" if c.department_id else "person",
                    "at": c.at} for c in case.copies.select_related("department", "user")],
        "assist_tasks": [{"id": t.pk, "department": t.department.name, "task": t.task, "due_at": t.due_at,
                          "result": t.result, "done_at": t.done_at, "is_overdue": t.is_overdue}
                         for t in case.assist_tasks.select_related("department")],
        "recurrence_of": {"id": earlier.pk, "number": earlier.number} if earlier else None,
        "recurrences": [{"id": c.pk, "number": c.number} for c in visible.filter(recurrence_of=case)],
        "callback_result": case.callback_result, "callback_at": case.callback_at,
    }


@router.get("/cases/{case_id}/duplicates", response=list[dict], summary="Possible duplicates")
def case_duplicates(request, case_id: int):
    return _duplicates(visible_case(request.user, case_id))


class ActionIn(Schema):
    note: str = Field("", max_length=2000)
    department_id: int | None = None
    master_id: int | None = None
    until: datetime | None = None
    rating: str = ""
    callback: str = Field("", description="call_back: satisfied, basically, unsatisfied or unreachable")
    instruction_id: int | None = Field(None, description="answer_instruction: which one (default the oldest)")
    department_ids: list[int] = Field([], description="copy: departments (repeat the field)")
    user_ids: list[int] = Field([], description="copy: people (repeat the field)")


@router.post("/cases/{case_id}/actions/{action}", response=CaseOut, summary="Act on a case",
             openapi_extra=CONFLICT)
def case_action(request, case_id: int, action: str, payload: Form[ActionIn],
                photos: list[UploadedFile] = File(None)):
    """register, reject, merge, dispatch, accept, return, report_result, request_extension,
    approve_extension, deny_extension, verify, rework, close, suspend, resume, escalate,
    urge, supervise, rate; beside the states: instruct (a leader's 批示, `note` and optional
    `until`), answer_instruction, copy (抄送: `department_ids`, `user_ids`), comment,
    assign_assist (协办: `department_id`, the task in `note`, optional `until`), report_part,
    call_back (回访: `callback`), reopen (重办 after an unsatisfied rating or call-back).
    409 when the case's state does not allow it."""
    params = workflow.Params(**payload.dict(), files=list(photos or []))
    case = workflow.act(case_id, request.user, action, params)
    return case_out(Case.objects.select_related("category", "grid", "department").get(pk=case.pk))


# --- notifications ------------------------------------------------------------------------

class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    case_id: int | None
    created_at: datetime
    read: bool


@router.get("/notifications", response=list[NotificationOut], summary="My notifications")
@paginate(Pagination)
def notifications(request, unread: bool = False):
    rows = Notification.objects.filter(user=request.user)
    if unread:
        rows = rows.filter(read_at=None)
    return LazyPage(rows.order_by("-created_at", "-id"), lambda n: {
        "id": n.pk, "kind": n.kind, "text": n.text, "case_id": n.case_id,
        "created_at": n.created_at, "read": n.read_at is not None})


@router.post("/notifications/{notification_id}/read", response=NotificationOut,
             summary="Mark a notification read")
def read_notification(request, notification_id: int):
    n = get_object_or_404(Notification, pk=notification_id, user=request.user)
    if n.read_at is None:
        n.read_at = timezone.now()
        n.save(update_fields=["read_at"])
    return {"id": n.pk, "kind": n.kind, "text": n.text, "case_id": n.case_id,
            "created_at": n.created_at, "read": True}


# --- the hotline desk -----------------------------------------------------------------------

class CallerCase(Schema):
    id: int
    number: str
    state_label: str
    category: str
    grid: str
    address: str
    reported_at: datetime


@router.get("/hotline/caller", response=list[CallerCase], summary="A caller's earlier cases")
def hotline_caller(request, phone: str = Query(..., max_length=20)):
    """Found by the keyed hash of the phone number (never stored or searched in plaintext)."""
    hotline.check_operator(request.user)
    return [{"id": c.pk, "number": c.number, "state_label": c.get_state_display(),
             "category": c.category.name, "grid": c.grid.name, "address": c.address,
             "reported_at": c.reported_at}
            for c in hotline.caller_cases(request.user, phone)]


class PlaceOut(Schema):
    kind: str = Field(description="building, compound or grid (a street or community: flagged)")
    name: str
    grid: Brief
    lat: float | None
    lon: float | None


class AddressOut(Schema):
    province: str
    city: str
    county: str
    county_code: str
    rest: str
    outside: bool
    message: str
    places: list[PlaceOut]


@router.get("/hotline/address", response=AddressOut, summary="Locate an address said on the phone")
def hotline_address(request, text: str = Query(..., max_length=200)):
    hotline.check_operator(request.user)
    found = hotline.locate_address(request.user, text)
    if found.outside:
        message = _("%s is outside this district: pass the call on.") % found.county
    elif not found.places:
        message = _("No building, compound or community recognised: pick the point on the map or "
                    "the community.")
    elif found.is_rough:
        message = _("Only the area is known: the case will be flagged for a worker to find the place.")
    else:
        message = ""
    return {"province": found.province, "city": found.city, "county": found.county,
            "county_code": found.county_code, "rest": found.rest, "outside": found.outside,
            "message": message,
            "places": [{"kind": p.kind, "name": p.name, "grid": {"code": p.grid.code, "name": p.grid.name},
                        "lat": p.lat, "lon": p.lon} for p in found.places[:10]]}


class NearbyIn(Schema):
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    crs: str = Field(CRS.WGS84, pattern="^(wgs84|cgcs2000|gcj02|bd09)$")
    grid_code: str = Field("", max_length=30)
    category_id: int
    description: str = Field("", max_length=2000)


class NearbyOut(Schema):
    grid: Brief | None
    proposed_department: dict | None
    duplicates: list[dict]


@router.get("/hotline/nearby", response=NearbyOut,
            summary="Before registering: the grid, the proposed department and possible duplicates")
def hotline_nearby(request, query: Query[NearbyIn]):
    hotline.check_operator(request.user)
    grid, found = hotline.check_place(request.user, query.lat, query.lon, query.crs, query.grid_code,
                                      query.category_id, query.description)
    department = hotline.proposed_department(query.category_id, grid)
    return {"grid": {"code": grid.code, "name": grid.name},
            "proposed_department": {"id": department.pk, "name": department.name} if department else None,
            "duplicates": [candidate_out(c) for c in found]}


class CallIn(Schema):
    caller_phone: str = Field(max_length=20)
    caller_name: str = Field("", max_length=50)
    category_id: int
    description: str = Field(max_length=2000)
    address: str = Field("", max_length=200)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    crs: str = Field(CRS.WGS84, pattern="^(wgs84|cgcs2000|gcj02|bd09)$")
    grid_code: str = Field("", max_length=30, description="when no point is known: the community")
    department_id: int | None = Field(None, description="dispatch at once to this department")
    client_key: str = Field("", max_length=64)


class CallOut(CaseOut):
    created: bool
    roughly_located: bool


@router.post("/hotline/calls", response={200: CallOut, 201: CallOut},
             summary="Register a call as a case in one step", openapi_extra=CONFLICT)
def hotline_call(request, payload: CallIn):
    """Reported, registered and, with `department_id`, dispatched in one transaction: a refusal
    at any step leaves nothing behind. 200 with the same case when the client key was seen."""
    values = payload.dict()
    department_id = values.pop("department_id")
    case, created = hotline.register_call(request.user, intake.Report(channel=Case.Channel.HOTLINE, **values),
                                          department_id)
    case = Case.objects.select_related("category", "grid", "department").get(pk=case.pk)
    return Status(201 if created else 200, {**case_out(case), "created": created,
                                            "roughly_located": case.location_source == "grid"})
