"""研判 over HTTP: the early warnings of my area with filters, one warning with the cases or people
behind it, every step on it, and a run of the analysis on demand. Thin over `analysis` and
`workflow`; people behind a registry warning are named with their ID numbers and phones masked."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Status
from ninja.pagination import paginate

from gridgov.cases.models import Case
from gridgov.core.openapi import CONFLICT, ERROR_TEXTS
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.insights import analysis, figures, workflow
from gridgov.insights.models import AnalysisRun, EarlyWarning
from gridgov.population.api import MaskedPersonRef, masked_person_ref
from gridgov.population.models import Person

router = Router(tags=["insights"])
NOT_FOUND = {"responses": {"404": {"description": ERROR_TEXTS["404"]}}}
NOT_FOUND_OR_CONFLICT = {"responses": {**NOT_FOUND["responses"], **CONFLICT["responses"]}}


class WarningFilters(Schema):
    kind: str = Field(
        "",
        description="hotspot, recurrence, repeat_caller, trend, rising, care_unvisited, rental_uninspected",
    )
    state: str = Field(
        "", description="new, acknowledged, assigned, resolved, dismissed; open ones when empty"
    )
    grid: str = Field("", description="only this grid's subtree")
    severity: int | None = Field(None, ge=1, le=3, description="at least this severity")
    current: bool = Field(False, description="only those the latest run found")


class WarningOut(Schema):
    id: int
    kind: str
    title: str
    grid: GridRef
    category: str
    severity: int
    state: str
    is_current: bool
    lat: float | None
    lon: float | None
    evidence: dict
    assignee: str
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int


def _warning_out(w: EarlyWarning) -> dict:
    return {
        "id": w.pk,
        "kind": w.kind,
        "title": w.title,
        "grid": {"code": w.grid.code, "name": w.grid.name},
        "category": w.category.name if w.category_id else "",
        "severity": w.severity,
        "state": w.state,
        "is_current": w.is_current,
        "lat": w.lat,
        "lon": w.lon,
        "evidence": w.evidence,
        "assignee": (w.assignee.name or w.assignee.username) if w.assignee_id else "",
        "first_seen_at": w.first_seen_at,
        "last_seen_at": w.last_seen_at,
        "times_seen": w.times_seen,
    }


def _readable(request):
    if not workflow.may_read(request.auth):
        raise PermissionDenied(_("Early warnings are for leaders and command centres."))


@router.get(
    "/insights/warnings", response=list[WarningOut], summary="The early warnings of my area, worst first"
)
@paginate(Pagination)
def list_warnings(request, filters: Query[WarningFilters]):
    _readable(request)
    rows = EarlyWarning.objects.visible_to(request.auth).select_related("grid", "category", "assignee")
    rows = rows.filter(state=filters.state) if filters.state else rows.filter(state__in=workflow.OPEN)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.grid:
        rows = rows.filter(grid__code__startswith=filters.grid)
    if filters.severity:
        rows = rows.filter(severity__gte=filters.severity)
    if filters.current:
        rows = rows.filter(is_current=True)
    return LazyPage(rows, _warning_out)


class WarningCaseOut(Schema):
    id: int
    number: str
    category: str
    state: str
    reported_at: datetime
    address: str


class WarningLogOut(Schema):
    action: str
    actor: str
    note: str
    at: datetime


class WarningStepOut(Schema):
    name: str
    label: str
    needs_note: bool


class WarningDetail(WarningOut):
    note: str
    cases: list[WarningCaseOut]
    people: list[MaskedPersonRef]
    log: list[WarningLogOut]
    steps: list[WarningStepOut]


@router.get(
    "/insights/warnings/{warning_id}",
    response=WarningDetail,
    summary="A warning and what stands behind it",
    openapi_extra=NOT_FOUND,
)
def get_warning(request, warning_id: int):
    warning = workflow.warning_of(request.auth, warning_id)
    return _detail(request.auth, warning)


def _detail(user, warning: EarlyWarning) -> dict:
    cases = (
        Case.objects.visible_to(user)
        .filter(pk__in=warning.evidence.get("cases", []))
        .select_related("category")
        .order_by("-reported_at")
    )
    people = Person.objects.visible_to(user).filter(pk__in=warning.evidence.get("people", []))
    return {
        **_warning_out(warning),
        "note": warning.note,
        "cases": [
            {
                "id": c.pk,
                "number": c.number,
                "category": c.category.name,
                "state": c.state,
                "reported_at": c.reported_at,
                "address": c.address,
            }
            for c in cases
        ],
        "people": [masked_person_ref(p) for p in people],
        "log": [
            {
                "action": g.action,
                "actor": (g.actor.name or g.actor.username) if g.actor_id else _("analysis"),
                "note": g.note,
                "at": g.at,
            }
            for g in warning.logs.select_related("actor")
        ],
        "steps": [
            {"name": s.name, "label": str(s.label), "needs_note": s.needs_note}
            for s in workflow.available(user, warning)
        ],
    }


class WarningCandidateRoleOut(Schema):
    role: str = Field(description="leader, dispatcher, grid_leader or grid_worker")
    label: str
    grid: GridRef


class WarningCandidateOut(Schema):
    id: int
    name: str
    roles: list[WarningCandidateRoleOut] = Field(
        description="their staff roles on the grid's line of the tree"
    )


@router.get(
    "/insights/warnings/{warning_id}/candidates",
    response=list[WarningCandidateOut],
    summary="Who the warning may be assigned to: the staff on its grid's line whose area includes it",
    openapi_extra=NOT_FOUND,
)
def list_candidates(request, warning_id: int):
    _warning, users = workflow.candidates_for(request.auth, warning_id)
    return [
        {
            "id": u.pk,
            "name": u.name or u.username,
            "roles": [
                {
                    "role": a.role,
                    "label": str(a.get_role_display()),
                    "grid": {"code": a.grid.code, "name": a.grid.name},
                }
                for a in u.line_roles
            ],
        }
        for u in users
    ]


class WarningStepIn(Schema):
    note: str = ""
    assignee_id: int | None = Field(
        None, description="for assign: a user whose area includes the warning's grid"
    )


@router.post(
    "/insights/warnings/{warning_id}/steps/{name}",
    response=WarningDetail,
    summary="Acknowledge, assign, resolve, dismiss, reopen, or put its cases under supervision",
    openapi_extra=NOT_FOUND_OR_CONFLICT,
)
def take_step(request, warning_id: int, name: str, payload: WarningStepIn):
    warning = workflow.act(request.auth, warning_id, name, note=payload.note, assignee_id=payload.assignee_id)
    return _detail(request.auth, workflow.warning_of(request.auth, warning.pk))


class WarningScreenIn(Schema):
    grid: str = Field("", description="a grid code in my area: its whole subtree")


class WarningScreenKindOut(Schema):
    kind: str
    label: str
    open: int
    severity: list[int] = Field(description="open warnings of low, medium and high severity")


class WarningScreenItemOut(Schema):
    id: int
    title: str
    grid: str
    kind: str
    kind_label: str
    first_seen_at: datetime
    age: str = Field(description="since it was first found, in words")
    url: str


class WarningScreenPlaceOut(Schema):
    id: int
    title: str
    grid: str
    category: str
    cases: int
    severity: int
    severity_label: str
    url: str


class WarningScreenOut(Schema):
    totals: dict[str, int] = Field(description="open: open warnings; high: of them, of high severity")
    kinds: list[WarningScreenKindOut]
    severities: list[str]
    newest: list[WarningScreenItemOut] = Field(description="the newest open warnings of high severity")
    hotspots: list[WarningScreenPlaceOut] = Field(description="the largest open hotspots")
    grid: str


@router.get(
    "/insights/screen",
    response=WarningScreenOut,
    summary="The big screen's 研判 panel: open warnings by kind and severity, newest severe ones, hotspots",
    # A grid code outside my area is a 404, though the path names no object.
    openapi_extra=NOT_FOUND,
)
def screen(request, filters: Query[WarningScreenIn]):
    panel = figures.screen(request.auth, filters.grid)
    if panel is None:
        raise PermissionDenied(_("Early warnings are for leaders and command centres."))
    return panel


class AnalysisRunOut(Schema):
    id: int
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    is_full: bool = Field(description="every kind and class; else only the classes in `classes`")
    classes: list[int] = Field(description="the category classes clustered again by an incremental run")


def _run_out(r: AnalysisRun) -> dict:
    return {
        "id": r.pk,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "counts": r.counts,
        "is_full": r.is_full,
        "classes": r.classes,
    }


@router.post(
    "/insights/runs",
    response={200: AnalysisRunOut, 201: AnalysisRunOut},
    summary="Run the analysis now (the last run is returned if it finished under five minutes ago)",
)
def run_now(request):
    _readable(request)
    record, ran = analysis.run_unless_recent(request.auth)
    return Status(201 if ran else 200, _run_out(record))


@router.get("/insights/runs", response=list[AnalysisRunOut], summary="The latest runs of the analysis")
def list_runs(request):
    _readable(request)
    return [_run_out(r) for r in AnalysisRun.objects.all()[:20]]
