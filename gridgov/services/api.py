"""Services near people over HTTP: points and "near me", orders, errands, job wishes. Thin
handlers over `points`, `orders`, `errands` and `jobs`; callers' phones masked in every answer.

Walking time in every answer = straight-line distance × GRIDGOV_SERVICES_DETOUR (1.3) ÷
GRIDGOV_SERVICES_WALK_KMH (4.5 km/h); the answers say which factor and speed were used."""

from datetime import datetime

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from gridgov.core.openapi import CONFLICT, ERROR_TEXTS
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.grids.models import Grid
from gridgov.privacy.masking import mask_name, mask_phone
from gridgov.services import conf, errands, jobs, orders, points
from gridgov.services.models import Errand, ErrandItem, JobOpening, Order, ProxyPoint, ServicePoint

router = Router(tags=["services"])
NOT_FOUND = {"responses": {"404": {"description": ERROR_TEXTS["404"]}}}
NOT_FOUND_OR_CONFLICT = {"responses": {**NOT_FOUND["responses"], **CONFLICT["responses"]}}


def _grid(g) -> dict:
    return {"code": g.code, "name": g.name}


def _area(request, code: str):
    """The `grid` filter of a figures route: a grid the user sees, or a 404."""
    if not code:
        return None
    grid = Grid.objects.visible_to(request.auth).filter(code=code).first()
    if grid is None:
        raise Http404(_("No such grid in your area."))
    return grid


# --- points ------------------------------------------------------------------------------------


class ServicePointIn(Schema):
    name: str
    kind: str
    lat: float
    lon: float
    crs: str = Field("wgs84", description="wgs84, cgcs2000, gcj02 (AMap, Tencent) or bd09 (Baidu)")
    address: str = ""
    phone: str = ""
    hours: list[str] = Field([], description='seven days, Monday first: "06:30-09:00,11:00-13:30", "" closed')
    capacity_per_hour: int | None = Field(None, description="meals per hour, places…; empty: not limited")
    is_active: bool = True


class ServicePointOut(Schema):
    id: int
    name: str
    kind: str
    grid: GridRef
    lat: float = Field(description="WGS-84")
    lon: float = Field(description="WGS-84")
    address: str
    phone: str
    hours: list[str]
    capacity_per_hour: int | None
    is_active: bool
    rating: float | None = Field(description="average of residents' ratings, 1–5")
    ratings: int


def _point_out(p: ServicePoint, rating=None) -> dict:
    average, count = rating if rating is not None else points.rating_of(p.pk)
    return {
        "id": p.pk,
        "name": p.name,
        "kind": p.kind,
        "grid": _grid(p.grid),
        "lat": p.lat,
        "lon": p.lon,
        "address": p.address,
        "phone": p.phone,
        "hours": p.hours,
        "capacity_per_hour": p.capacity_per_hour,
        "is_active": p.is_active,
        "rating": average,
        "ratings": count,
    }


def _points_out(rows) -> list[dict]:
    """A page of points with their ratings read in one query."""
    ratings = points.ratings_of([p.pk for p in rows])
    return [_point_out(p, ratings.get(p.pk, (None, 0))) for p in rows]


def _point_in(payload: ServicePointIn) -> points.PointIn:
    return points.PointIn(**payload.dict())


@router.get("/services/points", response=list[ServicePointOut], summary="Service points of my area")
@paginate(Pagination)
def list_points(request, kind: str = ""):
    rows = ServicePoint.objects.visible_to(request.auth).select_related("grid")
    if kind:
        rows = rows.filter(kind=kind)
    return LazyPage(rows, out_page=_points_out)


@router.post("/services/points", response={201: ServicePointOut}, summary="Add a service point")
def create_point(request, payload: ServicePointIn):
    return Status(201, _point_out(points.save(request.auth, _point_in(payload)), (None, 0)))


class ServiceNearIn(Schema):
    kind: str
    lat: float
    lon: float
    crs: str = "wgs84"
    at: datetime | None = Field(None, description="open at this time (default: now)")
    limit: int = Field(10, ge=1, le=50)


class ServiceNearOut(Schema):
    point: ServicePointOut
    metres: float = Field(description="straight-line distance")
    walking_minutes: float
    open_now: bool
    capacity_left: int | None


class ServiceNearPage(Schema):
    detour_factor: float
    walking_kmh: float
    results: list[ServiceNearOut]


def _near_out(found) -> dict:
    shown = _points_out([n.point for n in found])
    return {
        "detour_factor": conf.detour_factor(),
        "walking_kmh": conf.walking_kmh(),
        "results": [
            {
                "point": point,
                "metres": round(n.metres, 1),
                "walking_minutes": round(n.minutes, 1),
                "open_now": n.open_now,
                "capacity_left": n.capacity_left,
            }
            for n, point in zip(found, shown, strict=True)
        ],
    }


def _at(value: datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@router.get(
    "/services/points/near",
    response=ServiceNearPage,
    summary="Points of a kind by walking time (distance × detour factor ÷ walking speed)",
)
def near_me(request, filters: Query[ServiceNearIn]):
    lat, lon = points.to_point(filters.lat, filters.lon, filters.crs)
    return _near_out(points.near(filters.kind, lat, lon, at=_at(filters.at), limit=filters.limit))


class ServiceRowError(Schema):
    row: int
    column: str
    value: str
    message: str


class ServiceImportOut(Schema):
    total: int
    saved: bool
    errors: list[ServiceRowError]


def _import_out(result) -> dict:
    return {
        "total": result.total,
        "saved": result.saved,
        "errors": [
            {"row": e.row, "column": e.column, "value": e.value, "message": e.message} for e in result.errors
        ],
    }


@router.get(
    "/services/points/template",
    summary="The Excel import template (.xlsx): Chinese headers, required ones red, an example row",
    response={200: None},
)
def import_template(request):
    from gridgov.population.api import xlsx_response

    return xlsx_response(points.template(), "gridgov-service-points-template")


@router.post(
    "/services/points/import",
    response=ServiceImportOut,
    summary="Import points from Excel (.xlsx): all rows or none, with each bad row's errors",
)
def import_points(request, file: UploadedFile = File(...)):
    return _import_out(points.import_excel(request.auth, file.read()))


class ServiceGeoJsonIn(Schema):
    type: str
    features: list[dict]


@router.post(
    "/services/points/import-geojson",
    response=ServiceImportOut,
    summary="Import points from a GeoJSON FeatureCollection of Points: all or none",
)
def import_points_geojson(request, payload: ServiceGeoJsonIn):
    return _import_out(points.import_geojson(request.auth, payload.dict()))


def _visible_point(request, point_id: int) -> ServicePoint:
    point = ServicePoint.objects.visible_to(request.auth).select_related("grid").filter(pk=point_id).first()
    if point is None:
        raise Http404(_("No such service point in your area."))
    return point


@router.get("/services/points/{point_id}", response=ServicePointOut, summary="One service point")
def get_point(request, point_id: int):
    return _point_out(_visible_point(request, point_id))


@router.put("/services/points/{point_id}", response=ServicePointOut, summary="Change a service point")
def update_point(request, point_id: int, payload: ServicePointIn):
    return _point_out(points.save(request.auth, _point_in(payload), point_id))


class ServiceRatingIn(Schema):
    score: int
    comment: str = ""


class ServiceRatingOut(Schema):
    score: int
    rating: float | None
    ratings: int


@router.post(
    "/services/points/{point_id}/ratings",
    response=ServiceRatingOut,
    summary="Rate a point, 1–5 (residents; one rating each, rating again changes it)",
)
def rate_point(request, point_id: int, payload: ServiceRatingIn):
    rating = points.rate(request.auth, point_id, payload.score, payload.comment)
    average, count = points.rating_of(point_id)
    return {"score": rating.score, "rating": average, "ratings": count}


# --- orders ------------------------------------------------------------------------------------


class ServiceOfferIn(Schema):
    kind: str
    person_id: int | None = Field(
        None, description="a registry person: their home's point when no point is given"
    )
    lat: float | None = None
    lon: float | None = None
    crs: str = "wgs84"
    limit: int = Field(5, ge=1, le=20)


@router.get(
    "/services/orders/offer",
    response=ServiceNearPage,
    openapi_extra=NOT_FOUND,
    summary="For a call: the nearest points open now with capacity left, with walking time",
)
def offer(request, filters: Query[ServiceOfferIn]):
    caller = orders.Caller(person_id=filters.person_id, lat=filters.lat, lon=filters.lon, crs=filters.crs)
    return _near_out(orders.offer(request.auth, filters.kind, caller, limit=filters.limit))


class ServiceOrderIn(Schema):
    point_id: int
    person_id: int | None = None
    name: str = ""
    phone: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    crs: str = "wgs84"
    note: str = ""
    called_at: datetime | None = Field(None, description="when the call came (default: now)")


class ServiceOrderOut(Schema):
    id: int
    kind: str
    state: str
    point_id: int
    point: str
    grid: GridRef
    name: str = Field(description="masked")
    phone: str = Field(description="masked")
    address: str
    estimated_minutes: float
    called_at: datetime
    accepted_at: datetime | None
    delivered_at: datetime | None
    minutes_to_delivery: float | None
    target_minutes: int
    within_target: bool | None


def _order_out(o: Order) -> dict:
    minutes = orders.minutes_to_delivery(o)
    target = conf.target_minutes(o.kind)
    return {
        "id": o.pk,
        "kind": o.kind,
        "state": o.state,
        "point_id": o.point_id,
        "point": o.point.name,
        "grid": _grid(o.grid),
        "name": mask_name(o.caller_name),
        "phone": mask_phone(o.caller_phone),
        "address": o.address,
        "estimated_minutes": o.estimated_minutes,
        "called_at": o.called_at,
        "accepted_at": o.accepted_at,
        "delivered_at": o.delivered_at,
        "minutes_to_delivery": minutes,
        "target_minutes": target,
        "within_target": None if minutes is None else minutes <= target,
    }


@router.post(
    "/services/orders",
    response={201: ServiceOrderOut},
    openapi_extra=CONFLICT,
    summary="Place an order with a point (checked again: open now, capacity left)",
)
def place_order(request, payload: ServiceOrderIn):
    caller = orders.Caller(
        person_id=payload.person_id,
        name=payload.name,
        phone=payload.phone,
        address=payload.address,
        lat=payload.lat,
        lon=payload.lon,
        crs=payload.crs,
    )
    order = orders.place(request.auth, payload.point_id, caller, payload.note, payload.called_at)
    return Status(201, _order_out(order))


@router.get("/services/orders", response=list[ServiceOrderOut], summary="Service orders of my area")
@paginate(Pagination)
def list_orders(request, kind: str = ""):
    rows = Order.objects.visible_to(request.auth).select_related("point", "grid")
    if kind:
        rows = rows.filter(kind=kind)
    return LazyPage(rows, _order_out)


class ServiceFiguresIn(Schema):
    grid: str = Field("", description="a grid code of my area (default: all of it)")
    since: datetime | None = None
    until: datetime | None = None


class ServiceKindFigures(Schema):
    kind: str
    orders: int
    delivered: int
    within_target: int
    target_minutes: int
    within_target_share: float | None


@router.get(
    "/services/orders/figures",
    response=list[ServiceKindFigures],
    openapi_extra=NOT_FOUND,
    summary="Orders per kind and the share delivered within the kind's target",
)
def order_figures(request, filters: Query[ServiceFiguresIn]):
    rows = Order.objects.visible_to(request.auth)
    grid = _area(request, filters.grid)
    if grid is not None:
        rows = rows.filter(grid__code__startswith=grid.code)
    return orders.figures(rows, filters.since, filters.until)


def _order_step(name: str, summary: str):
    @router.post(
        f"/services/orders/{{order_id}}/{name}",
        response=ServiceOrderOut,
        openapi_extra=CONFLICT,
        summary=summary,
        operation_id=f"services_order_{name}",
    )
    def handler(request, order_id: int):
        return _order_out(orders.step(request.auth, order_id, name))

    return handler


accept_order = _order_step("accept", "The partner accepted the order")
deliver_order = _order_step("deliver", "The service was delivered (the time from the call is measured)")
cancel_order = _order_step("cancel", "Cancel the order")


# --- errands -----------------------------------------------------------------------------------


class ErrandItemOut(Schema):
    id: int
    name: str
    level: str
    materials: list[str]
    time_limit_days: int
    department: str


@router.get("/services/errand-items", response=list[ErrandItemOut], summary="The errand catalogue")
@paginate(Pagination)
def list_items(request, level: str = ""):
    rows = ErrandItem.objects.filter(is_active=True)
    if level:
        rows = rows.filter(level=level)
    return LazyPage(
        rows,
        lambda i: {
            "id": i.pk,
            "name": i.name,
            "level": i.level,
            "materials": i.materials,
            "time_limit_days": i.time_limit_days,
            "department": i.department,
        },
    )


@router.get(
    "/services/errand-items/template",
    summary="The errand catalogue's Excel template (.xlsx)",
    response={200: None},
)
def errand_items_template(request):
    from gridgov.population.api import xlsx_response

    return xlsx_response(errands.catalogue_template(), "gridgov-errand-items-template")


@router.post(
    "/services/errand-items/import",
    response=ServiceImportOut,
    summary="Import the errand catalogue from Excel (matched by name): all rows or none (administrators)",
)
def import_errand_items(request, file: UploadedFile = File(...)):
    return _import_out(errands.import_items(request.auth, file))


class ErrandProxyPointOut(Schema):
    id: int
    name: str
    grid: GridRef
    address: str
    unifications: list[str] = Field(description="of sign, rules, process, scope, agent: those in place")


UNIFIED = ("sign", "rules", "process", "scope", "agent")


@router.get("/services/proxy-points", response=list[ErrandProxyPointOut], summary="Proxy points (代办点)")
@paginate(Pagination)
def list_proxy_points(request):
    rows = ProxyPoint.objects.filter(is_active=True).select_related("grid")
    return LazyPage(
        rows,
        lambda p: {
            "id": p.pk,
            "name": p.name,
            "grid": _grid(p.grid),
            "address": p.address,
            "unifications": [u for u in UNIFIED if getattr(p, f"unified_{u}")],
        },
    )


class ErrandIn(Schema):
    proxy_point_id: int
    item_id: int
    kind: str = Field(description="proxy (代办), accompany (陪办) or assist (协办)")
    note: str = ""
    person_id: int | None = Field(None, description="an agent asking for a registry person")


class ErrandOut(Schema):
    id: int
    proxy_point_id: int
    grid: GridRef
    item: str
    level: str
    department: str
    kind: str
    state: str
    materials: list[str]
    materials_ticked: list[str]
    answer: str
    result: str
    requested_at: datetime
    deadline: datetime | None
    light: str
    rating: int | None
    actions: list[str]


def _errand_out(request, e: Errand) -> dict:
    return {
        "id": e.pk,
        "proxy_point_id": e.proxy_point_id,
        "grid": _grid(e.grid),
        "item": e.item.name,
        "level": e.item.level,
        "department": e.item.department,
        "kind": e.kind,
        "state": e.state,
        "materials": e.item.materials,
        "materials_ticked": e.materials_ticked,
        "answer": e.answer,
        "result": e.result,
        "requested_at": e.requested_at,
        "deadline": e.deadline,
        "light": e.light,
        "rating": e.rating,
        "actions": errands.available_actions(request.auth, e),
    }


@router.post("/services/errands", response={201: ErrandOut}, summary="Ask for an errand")
def request_errand(request, payload: ErrandIn):
    errand = errands.request(
        request.auth, payload.proxy_point_id, payload.item_id, payload.kind, payload.note, payload.person_id
    )
    return Status(201, _errand_out(request, errand))


@router.get("/services/errands", response=list[ErrandOut], summary="Errands of my area, and my own")
@paginate(Pagination)
def list_errands(request, state: str = ""):
    rows = errands.readable(request.auth).select_related("grid", "item", "proxy_point__grid")
    if state:
        rows = rows.filter(state=state)
    return LazyPage(rows, lambda e: _errand_out(request, e))


class ErrandCompletionOut(Schema):
    proxy_point_id: int
    name: str
    errands: int
    completed: int
    rate: float


@router.get(
    "/services/errands/figures",
    response=list[ErrandCompletionOut],
    openapi_extra=NOT_FOUND,
    summary="Completion rate per proxy point and period",
)
def errand_figures(request, filters: Query[ServiceFiguresIn]):
    rows = Errand.objects.visible_to(request.auth)
    grid = _area(request, filters.grid)
    if grid is not None:
        rows = rows.filter(grid__code__startswith=grid.code)
    return errands.completion(rows, filters.since, filters.until)


@router.get("/services/errands/{errand_id}", response=ErrandOut, summary="One errand")
def get_errand(request, errand_id: int):
    errand = (
        errands.readable(request.auth)
        .select_related("grid", "item", "proxy_point__grid")
        .filter(pk=errand_id)
        .first()
    )
    if errand is None:
        raise Http404(_("No such errand in your area."))
    return _errand_out(request, errand)


class ErrandActionIn(Schema):
    note: str = ""
    materials: list[str] = []
    answer: str = ""
    result: str = ""
    rating: int | None = None


@router.post(
    "/services/errands/{errand_id}/actions/{action}",
    response=ErrandOut,
    openapi_extra=CONFLICT,
    summary="A step: accept, submit (materials), answer, close (result), confirm (rating), cancel",
)
def errand_action(request, errand_id: int, action: str, payload: ErrandActionIn):
    errand = errands.act(errand_id, request.auth, action, errands.Params(**payload.dict()))
    return _errand_out(request, errand)


# --- jobs --------------------------------------------------------------------------------------


class JobWishIn(Schema):
    work: str
    hours: str = ""
    place: str = ""
    person_id: int | None = Field(None, description="staff filing for a registry person")


class JobWishOut(Schema):
    id: int
    grid: GridRef
    work: str
    hours: str
    place: str
    state: str
    created_at: datetime


def _wish_out(w) -> dict:
    return {
        "id": w.pk,
        "grid": _grid(w.grid),
        "work": w.work,
        "hours": w.hours,
        "place": w.place,
        "state": w.state,
        "created_at": w.created_at,
    }


@router.post("/services/job-wishes", response={201: JobWishOut}, summary="File a job wish")
def file_wish(request, payload: JobWishIn):
    wish = jobs.file_wish(request.auth, payload.work, payload.hours, payload.place, payload.person_id)
    return Status(201, _wish_out(wish))


@router.get("/services/job-wishes", response=list[JobWishOut], summary="Job wishes of my area, and my own")
@paginate(Pagination)
def list_wishes(request):
    return LazyPage(jobs.readable_wishes(request.auth).select_related("grid"), _wish_out)


class JobOpeningIn(Schema):
    employer_id: int
    work: str
    hours: str = ""
    place: str = ""
    positions: int = 1


class JobOpeningOut(Schema):
    id: int
    grid: GridRef
    employer: str
    work: str
    hours: str
    place: str
    positions: int
    is_open: bool


def _opening_out(o: JobOpening) -> dict:
    return {
        "id": o.pk,
        "grid": _grid(o.grid),
        "employer": o.employer.name,
        "work": o.work,
        "hours": o.hours,
        "place": o.place,
        "positions": o.positions,
        "is_open": o.is_open,
    }


@router.get(
    "/services/job-wishes/{wish_id}/suggestions",
    response=list[JobOpeningOut],
    summary="Open openings of the same kind of work",
)
def suggest(request, wish_id: int):
    return [_opening_out(o) for o in jobs.suggestions(request.auth, wish_id)]


@router.post("/services/job-openings", response={201: JobOpeningOut}, summary="Record an opening")
def record_opening(request, payload: JobOpeningIn):
    opening = jobs.record_opening(
        request.auth, payload.employer_id, payload.work, payload.hours, payload.place, payload.positions
    )
    return Status(201, _opening_out(opening))


@router.get("/services/job-openings", response=list[JobOpeningOut], summary="Openings of my area")
@paginate(Pagination)
def list_openings(request):
    return LazyPage(
        JobOpening.objects.visible_to(request.auth).select_related("grid", "employer"), _opening_out
    )


class JobMatchIn(Schema):
    wish_id: int
    opening_id: int


class JobMatchOut(Schema):
    id: int
    wish_id: int
    opening_id: int
    outcome: str


def _match_out(m) -> dict:
    return {"id": m.pk, "wish_id": m.wish_id, "opening_id": m.opening_id, "outcome": m.outcome}


@router.post(
    "/services/job-matches",
    response={201: JobMatchOut},
    openapi_extra=CONFLICT,
    summary="Match a wish to an opening",
)
def match(request, payload: JobMatchIn):
    return Status(201, _match_out(jobs.match(request.auth, payload.wish_id, payload.opening_id)))


class JobOutcomeIn(Schema):
    hired: bool


@router.post(
    "/services/job-matches/{match_id}/outcome",
    response=JobMatchOut,
    openapi_extra=CONFLICT,
    summary="Record whether the match led to a hire",
)
def outcome(request, match_id: int, payload: JobOutcomeIn):
    return _match_out(jobs.decide(request.auth, match_id, payload.hired))


class JobFiguresOut(Schema):
    wishes: int
    openings: int
    matches: int
    hired: int
    declined: int


@router.get(
    "/services/jobs/figures", response=JobFiguresOut, summary="Wishes, openings, matches and outcomes"
)
def job_figures(request):
    return jobs.figures(request.auth)
