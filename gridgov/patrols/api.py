"""Patrol endpoints: start, send GPS points, stop; lists and tracks for the worker and their leaders.

Writes go through `services` (only the patrol's own worker; someone else's patrol is 403 in
scope and 404 outside it); reads through `visible_to`.
"""

from datetime import date as Date
from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status
from ninja.pagination import paginate

from gridgov.core.openapi import CONFLICT
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.grids.locator import CRS
from gridgov.patrols import services
from gridgov.patrols.models import Patrol

router = Router(tags=["patrols"])


class PatrolOut(Schema):
    id: int
    worker_id: int
    worker: str
    grid: GridRef
    started_at: datetime
    ended_at: datetime | None
    running: bool
    distance_m: float
    point_count: int
    closed_automatically: bool


class PatrolStarted(PatrolOut):
    created: bool


class PatrolDetail(PatrolOut):
    track: dict = Field(description="GeoJSON Feature: a LineString in (lon, lat) order, WGS-84")


def patrol_out(patrol: Patrol) -> dict:
    return {
        "id": patrol.pk,
        "worker_id": patrol.worker_id,
        "worker": str(patrol.worker),
        "grid": {"code": patrol.grid.code, "name": patrol.grid.name},
        "started_at": patrol.started_at,
        "ended_at": patrol.ended_at,
        "running": patrol.is_running,
        "distance_m": round(patrol.distance_m, 1),
        "point_count": patrol.point_count,
        "closed_automatically": patrol.closed_automatically,
    }


def patrol_detail(patrol: Patrol) -> dict:
    return {**patrol_out(patrol), "track": services.track_geojson(patrol)}


class StartIn(Schema):
    grid_code: str = Field("", max_length=30, description="needed only by someone who works in several grids")
    client_key: str = Field(
        "", max_length=64, description="starting again with the same key returns the same patrol"
    )


@router.post("/patrols", response={200: PatrolStarted, 201: PatrolStarted}, summary="Start a patrol")
def start_patrol(request, payload: StartIn):
    """201 with the new patrol; 200 with the running one (or the one started with this key)."""
    patrol, created = services.start(request.auth, grid_code=payload.grid_code, client_key=payload.client_key)
    patrol = Patrol.objects.select_related("worker", "grid").get(pk=patrol.pk)
    return Status(201 if created else 200, {**patrol_out(patrol), "created": created})


class TrackPointIn(Schema):
    at: datetime = Field(description="when the phone took the fix, ISO 8601 (with its offset)")
    lat: float
    lon: float
    crs: str = Field(CRS.WGS84, description="wgs84, cgcs2000, gcj02 or bd09")
    accuracy: float | None = Field(None, description="metres")


class PointsIn(Schema):
    points: list[TrackPointIn] = Field(
        description="at most 1,000; points already stored (same time) are skipped")


class PointsAdded(Schema):
    added: int = Field(description="points that were new")
    patrol: PatrolOut


def _own(request, patrol_id: int) -> Patrol:
    # The service has just proven the patrol is the caller's own.
    return Patrol.objects.select_related("worker", "grid").get(pk=patrol_id, worker=request.auth)


@router.post("/patrols/{patrol_id}/points", response=PointsAdded, summary="Add GPS points to my patrol",
             openapi_extra=CONFLICT)
def add_points(request, patrol_id: int, payload: PointsIn):
    """400 names each refused point (`points.<index>.<field>`) and nothing is stored;
    409 once the patrol has ended."""
    added = services.add_points(request.auth, patrol_id, [p.dict() for p in payload.points])
    return {"added": added, "patrol": patrol_out(_own(request, patrol_id))}


@router.post("/patrols/{patrol_id}/stop", response=PatrolOut, summary="Stop my patrol")
def stop_patrol(request, patrol_id: int):
    """Stopping a patrol that has already ended returns it unchanged."""
    services.stop(request.auth, patrol_id)
    return patrol_out(_own(request, patrol_id))


class PatrolFilter(Schema):
    worker_id: int | None = None
    date: Date | None = Field(None, description="patrols started on this day (local time)")
    running: bool | None = None
    grid: str = Field("", description="a grid code: the whole subtree")


def filtered(user, f: PatrolFilter):
    rows = Patrol.objects.visible_to(user).select_related("worker", "grid")
    if f.worker_id:
        rows = rows.filter(worker_id=f.worker_id)
    if f.date:
        rows = rows.filter(started_at__date=f.date)
    if f.running is not None:
        rows = rows.filter(ended_at__isnull=f.running)
    if f.grid:
        rows = rows.filter(grid__code__startswith=f.grid)
    return rows


@router.get("/patrols", response=list[PatrolOut], summary="Patrols in my area, newest first")
@paginate(Pagination)
def list_patrols(request, filters: Query[PatrolFilter]):
    return LazyPage(filtered(request.auth, filters).order_by("-started_at", "-id"), patrol_out)


@router.get("/patrols/{patrol_id}", response=PatrolDetail, summary="A patrol with its track")
def get_patrol(request, patrol_id: int):
    rows = Patrol.objects.visible_to(request.auth).select_related("worker", "grid")
    return patrol_detail(get_object_or_404(rows, pk=patrol_id))
