"""Patrol rules: who may patrol, one running patrol per worker, track points and their figures.

Phones send points in batches and send them again when they are not sure a batch
arrived, so every command here is safe to repeat: `start` with the same client key
returns the same patrol, points already stored (same timestamp) are skipped, and
stopping a stopped patrol changes nothing.
"""

import math
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Role
from gridgov.accounts.roles import active_assignments
from gridgov.grids.locator import CRS, to_wgs84
from gridgov.patrols.models import Patrol, TrackPoint

PATROL_ROLES = (Role.GRID_WORKER, Role.GRID_LEADER, Role.BUILDING_HEAD)
FUTURE_TOLERANCE = timedelta(minutes=5)  # phone clocks drift a little
MAX_SPEED_M_S = 50.0  # faster than any car in a town: a GPS glitch, not a walk
MAX_HOURS = 12  # a patrol still running after this was forgotten
MAX_POINTS_PER_BATCH = 1000
EARTH_RADIUS_M = 6371008.8


class PatrolNotRunning(Exception):
    """The patrol has ended: points can no longer be added (HTTP 409)."""


# --- start -------------------------------------------------------------------------------


def patrol_grids(user) -> list:
    """The grids the user may patrol: those of their grid worker, grid leader and building head roles."""
    grids = {}
    for assignment in active_assignments(user):
        if assignment.role in PATROL_ROLES and assignment.grid_id:
            grids.setdefault(assignment.grid.code, assignment.grid)
    return [grids[code] for code in sorted(grids)]


def running_patrol(user) -> Patrol | None:
    return Patrol.objects.running().filter(worker=user).select_related("grid").first()


def todays_patrols(user, today):
    """Patrols in the user's scope started today, or still running from before, newest first."""
    rows = Patrol.objects.visible_to(user).filter(Q(started_at__date=today) | Q(ended_at__isnull=True))
    return rows.select_related("worker", "grid").order_by("-started_at", "-id")


def _choose_grid(grids: list, grid_code: str):
    if grid_code:
        for grid in grids:
            if grid.code == grid_code:
                return grid
        raise ValidationError({"grid_code": _("You do not work in grid %s.") % grid_code})
    if len(grids) > 1:
        raise ValidationError({"grid_code": _("You work in several grids: choose the grid of this patrol.")})
    return grids[0]


def start(worker, *, grid_code: str = "", client_key: str = "") -> tuple[Patrol, bool]:
    """Start a patrol, or return the one already running / started with this key: (patrol, created)."""
    grids = patrol_grids(worker)
    if not grids:
        raise PermissionDenied(_("Only grid workers, grid leaders and building heads go on patrol."))
    if len(client_key) > 64:
        raise ValidationError({"client_key": _("The client key is at most 64 characters.")})
    # A retry or a second tap gets the patrol already under way, whatever grid it names.
    found = _existing(worker, client_key)
    if found:
        return found, False
    grid = _choose_grid(grids, grid_code.strip())
    try:
        with transaction.atomic():
            patrol = Patrol.objects.create(
                worker=worker, grid=grid, started_at=timezone.now(), client_key=client_key
            )
    except IntegrityError:
        # Two starts at once (a double tap, a retry racing the first request): the other won.
        found = _existing(worker, client_key)
        if found is None:
            raise
        return found, False
    return patrol, True


def _existing(worker, client_key: str) -> Patrol | None:
    if client_key:
        found = Patrol.objects.filter(worker=worker, client_key=client_key).select_related("grid").first()
        if found:
            return found
    return running_patrol(worker)


# --- the worker's own patrol -------------------------------------------------------------


def _own(worker, patrol_id: int, *, lock: bool = False) -> Patrol:
    """The worker's own patrol; someone else's is 403 when in scope, 404 when not."""
    rows = Patrol.objects.select_related("grid")
    if lock:
        rows = rows.select_for_update(of=("self",))  # not the grid row joined in
    patrol = rows.filter(pk=patrol_id, worker=worker).first()
    if patrol is not None:
        return patrol
    if Patrol.objects.visible_to(worker).filter(pk=patrol_id).exists():
        raise PermissionDenied(_("Only the worker on patrol may change it."))
    raise Http404(_("No such patrol."))


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _clean_points(patrol: Patrol, points, now: datetime) -> list[TrackPoint]:
    """Points as rows in WGS-84, or ValidationError naming each bad point's field."""
    if len(points) > MAX_POINTS_PER_BATCH:
        raise ValidationError({"points": _("Send at most %d points at a time.") % MAX_POINTS_PER_BATCH})
    errors, rows = {}, []
    for i, point in enumerate(points):
        at, lat, lon = point.get("at"), point.get("lat"), point.get("lon")
        crs = point.get("crs") or CRS.WGS84
        if not isinstance(at, datetime):
            errors[f"points.{i}.at"] = _("Give the time the point was taken.")
        elif _aware(at) < patrol.started_at:
            errors[f"points.{i}.at"] = _("This point was taken before the patrol started.")
        elif _aware(at) > now + FUTURE_TOLERANCE:
            errors[f"points.{i}.at"] = _("This point's time is in the future: check the phone's clock.")
        if not _number(lat) or not -90 <= lat <= 90:
            errors[f"points.{i}.lat"] = _("The latitude must lie between -90 and 90.")
        if not _number(lon) or not -180 <= lon <= 180:
            errors[f"points.{i}.lon"] = _("The longitude must lie between -180 and 180.")
        if crs not in CRS.ALL:
            errors[f"points.{i}.crs"] = _("Unknown coordinate system: use wgs84, cgcs2000, gcj02 or bd09.")
        accuracy = point.get("accuracy")
        if accuracy is not None and (not _number(accuracy) or accuracy < 0):
            errors[f"points.{i}.accuracy"] = _("The accuracy cannot be negative.")
        if any(key.startswith(f"points.{i}.") for key in errors):
            continue
        lat, lon = to_wgs84(lat, lon, crs)
        rows.append(TrackPoint(patrol=patrol, at=_aware(at), lat=lat, lon=lon, accuracy_m=accuracy))
    if errors:
        raise ValidationError(errors)
    return rows


def add_points(worker, patrol_id: int, points) -> int:
    """Add a batch of the worker's GPS points to their running patrol; returns how many were new.

    Each point is a mapping with at (datetime), lat, lon, crs (default wgs84) and accuracy
    (metres, optional). The whole batch is refused if one point is wrong, with the point's
    index and field in the error, so the phone can drop it and send the rest.
    """
    with transaction.atomic():
        patrol = _own(worker, patrol_id, lock=True)  # batches of one patrol are added one at a time
        if not patrol.is_running:
            raise PatrolNotRunning(_("This patrol has ended: its track can no longer change."))
        rows = _clean_points(patrol, list(points), timezone.now())
        by_time = {}
        for row in rows:
            by_time.setdefault(row.at, row)  # the same time twice in one batch: keep the first
        stored = set(
            TrackPoint.objects.filter(patrol=patrol, at__in=list(by_time)).values_list("at", flat=True)
        )
        new = [row for at, row in by_time.items() if at not in stored]
        TrackPoint.objects.bulk_create(new)
        if new:
            _refresh_figures(patrol)
    return len(new)


def _refresh_figures(patrol: Patrol) -> None:
    track = list(TrackPoint.objects.filter(patrol=patrol).order_by("at").values_list("at", "lat", "lon"))
    patrol.distance_m = track_distance(track)
    patrol.point_count = len(track)
    patrol.save(update_fields=["distance_m", "point_count"])


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def track_distance(track) -> float:
    """Length of a time-ordered track of (at, lat, lon), leaving out impossibly fast steps.

    A glitch is a step out to a wrong fix and a step back; both are faster than anyone on
    patrol moves, so both are left out, and the track goes on from the next good fix.
    """
    total = 0.0
    for (t1, lat1, lon1), (t2, lat2, lon2) in zip(track, track[1:], strict=False):
        metres = haversine_m(lat1, lon1, lat2, lon2)
        seconds = (t2 - t1).total_seconds()
        if seconds > 0 and metres / seconds <= MAX_SPEED_M_S:
            total += metres
    return total


# --- stop --------------------------------------------------------------------------------


def stop(worker, patrol_id: int) -> Patrol:
    """End the worker's patrol now; a patrol already ended is returned as it is."""
    with transaction.atomic():
        patrol = _own(worker, patrol_id, lock=True)
        if patrol.is_running:
            patrol.ended_at = timezone.now()
            patrol.save(update_fields=["ended_at"])
    return patrol


def close_forgotten(now: datetime | None = None) -> int:
    """End patrols running for more than 12 hours, at their last point (or 12 hours after the start)."""
    now = now or timezone.now()
    stale = Patrol.objects.running().filter(started_at__lt=now - timedelta(hours=MAX_HOURS))
    closed = 0
    for patrol_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            # Locked and read again: the worker may have stopped it, or be sending a batch.
            patrol = Patrol.objects.select_for_update().running().filter(pk=patrol_id).first()
            if patrol is None:
                continue
            last = patrol.points.order_by("-at").values_list("at", flat=True).first()
            patrol.ended_at = last or patrol.started_at + timedelta(hours=MAX_HOURS)
            patrol.closed_automatically = True
            patrol.save(update_fields=["ended_at", "closed_automatically"])
            closed += 1
    return closed


# --- the track ---------------------------------------------------------------------------


def track_geojson(patrol: Patrol) -> dict:
    """The patrol as a GeoJSON Feature: a LineString in (lon, lat) order, figures as properties.

    A track of one point is a Point and a track of none has no geometry (a LineString
    needs two positions, RFC 7946 §3.1.4).
    """
    coords = [[lon, lat] for lon, lat in patrol.points.order_by("at").values_list("lon", "lat")]
    if len(coords) >= 2:
        geometry = {"type": "LineString", "coordinates": coords}
    elif coords:
        geometry = {"type": "Point", "coordinates": coords[0]}
    else:
        geometry = None
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "id": patrol.pk,
            "worker": str(patrol.worker),
            "grid_code": patrol.grid.code,
            "grid_name": patrol.grid.name,
            "started_at": patrol.started_at.isoformat(),
            "ended_at": patrol.ended_at.isoformat() if patrol.ended_at else None,
            "running": patrol.is_running,
            "distance_m": round(patrol.distance_m, 1),
            "point_count": patrol.point_count,
            "closed_automatically": patrol.closed_automatically,
        },
    }
