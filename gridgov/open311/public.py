"""The public map's feeds (no login): recent reports in public categories as GeoJSON points, and
the grids' outlines with their codes and names. The same privacy as Open311: a point only where
the category shows one (rounded unless exact), no personal data, texts left out."""

from datetime import datetime, time, timedelta

import shapely
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from gridgov.cases.models import Case
from gridgov.grids.models import Grid
from gridgov.open311 import services
from gridgov.open311.services import Refused

MAX_FEATURES = 2000
MAX_GRID_LEVEL = 3  # below are micro-grids, single buildings: not for the public map


def bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """minlon,minlat,maxlon,maxlat (WGS-84)."""
    if not raw:
        return None
    try:
        west, south, east, north = (float(part) for part in raw.split(","))
    except ValueError:
        raise Refused(400, [_("bbox: four numbers, west,south,east,north.")]) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise Refused(400, [_("bbox: west,south,east,north within the world, west before east.")])
    return west, south, east, north


def _day(params, name: str, errors: list):
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    value = parse_date(raw)
    if value is None:
        errors.append(_("%s: a date, YYYY-MM-DD.") % name)
    return value


def _midnight(day) -> datetime:
    return datetime.combine(day, time.min, timezone.get_default_timezone())


def reports(params) -> dict:
    """GeoJSON points of public reports: by bbox, start/end dates (default: the last 90 days) and
    status, newest first, at most MAX_FEATURES (`truncated` says when more matched)."""
    errors: list[str] = []
    start, end = _day(params, "start", errors), _day(params, "end", errors)
    status = (params.get("status") or "").strip()
    if status not in ("", "open", "closed"):
        errors.append(_("status: open or closed."))
    if errors:
        raise Refused(400, errors)
    box = bbox(params.get("bbox"))
    rows = services.public_cases().exclude(lat=None).exclude(category__public_location="hidden")
    since = _midnight(start) if start else timezone.now() - timedelta(days=services.DEFAULT_DAYS)
    rows = rows.filter(reported_at__gte=since)
    if end:
        rows = rows.filter(reported_at__lt=_midnight(end + timedelta(days=1)))
    if box:
        rows = rows.filter(lon__gte=box[0], lat__gte=box[1], lon__lte=box[2], lat__lte=box[3])
    if status:
        final = rows.filter(state__in=Case.FINAL_STATES)
        rows = final if status == "closed" else rows.exclude(state__in=Case.FINAL_STATES)
    found = list(rows.order_by("-reported_at", "-id")[: MAX_FEATURES + 1])
    shown = services.requests_out(found[:MAX_FEATURES])
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["long"], r["lat"]]},
            "properties": {
                key: r[key]
                for key in (
                    "service_request_id",
                    "service_code",
                    "service_name",
                    "status",
                    "requested_datetime",
                    "updated_datetime",
                    "address",
                )
            },
        }
        for r in shown
    ]
    return {"type": "FeatureCollection", "features": features, "truncated": len(found) > MAX_FEATURES}


def grids(params) -> dict:
    """The outlines of the grids down to level 3, with code, name and level only."""
    box = bbox(params.get("bbox"))
    rows = (
        Grid.objects.filter(level__lte=MAX_GRID_LEVEL)
        .only("code", "name", "level", "boundary")
        .order_by("code")
    )
    features = []
    window = shapely.geometry.box(*box) if box else None
    for grid in rows:
        if window is not None and not window.intersects(shapely.geometry.shape(grid.boundary)):
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": grid.boundary,
                "properties": {"code": grid.code, "name": grid.name, "level": grid.level},
            }
        )
    return {"type": "FeatureCollection", "features": features}
