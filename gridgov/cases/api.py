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

from gridgov.cases import duplicates, intake, routing, workflow
from gridgov.cases.filters import CaseFilter, filtered
from gridgov.cases.models import Case, Category, Notification
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


@router.get("/categories", response=list[CategoryOut], summary="Case categories (matters and requests)")
def categories(request, q: str = "", kind: str = ""):
    """Active categories; `q` matches code or name, ranked for "category search with suggestions"."""
    rows = Category.objects.filter(is_active=True).exclude(kind=Category.Kind.COMPONENT)
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


def _duplicates(case: Case) -> list[dict]:
    return [{"id": c.case.pk, "number": c.case.number, "state": c.case.state,
             "category": c.case.category.name, "distance_m": round(c.distance_m, 1),
             "similarity": round(c.similarity, 2), "description": c.case.description[:100]}
            for c in duplicates.find_candidates(case)]


# --- lists and detail --------------------------------------------------------------------

@router.get("/cases", response=list[CaseOut], summary="Cases in my area, filtered")
@paginate(Pagination)
def list_cases(request, filters: Query[CaseFilter]):
    return LazyPage(filtered(request.user, filters).order_by("-reported_at", "-id"), case_out)


MAP_LIMIT = 5000


@router.get("/cases/map", response=dict, summary="Cases with a point, as GeoJSON, for the map")
def case_map(request, filters: Query[CaseFilter]):
    """Open cases by default (`open=false` for finished ones), newest first, at most 5,000.

    `truncated` says when more matched: the map then asks the user to narrow the filters.
    """
    if filters.open is None:
        filters = filters.model_copy(update={"open": True})
    rows = filtered(request.user, filters).filter(lat__isnull=False).order_by("-reported_at")
    cases = list(rows[: MAP_LIMIT + 1])
    features = [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
        "properties": {"id": c.pk, "number": c.number, "state": c.state, "state_label": c.get_state_display(),
                       "light": c.light, "category": c.category.name, "grid": c.grid.name},
    } for c in cases[:MAP_LIMIT]]
    return {"type": "FeatureCollection", "features": features, "truncated": len(cases) > MAP_LIMIT}


class LogOut(Schema):
    at: datetime
    actor: str | None
    action: str
    from_state: str
    to_state: str
    note: str
    data: dict
    attachments: list[dict]


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


def _attachment(a) -> dict:
    return {"id": a.pk, "stage": a.stage, "kind": a.kind, "url": a.file.url,
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


@router.post("/cases/{case_id}/actions/{action}", response=CaseOut, summary="Act on a case",
             openapi_extra=CONFLICT)
def case_action(request, case_id: int, action: str, payload: Form[ActionIn],
                photos: list[UploadedFile] = File(None)):
    """register, reject, merge, dispatch, accept, return, report_result, request_extension,
    approve_extension, deny_extension, verify, rework, close, suspend, resume, escalate,
    urge, supervise, rate. 409 when the case's state does not allow it."""
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
