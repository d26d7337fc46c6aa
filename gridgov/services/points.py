"""Service points: checks and saves (one by one, or all-or-nothing from Excel and GeoJSON),
ratings, and "near me" over an in-process index.

The index is a shapely STRtree per kind over every active point, like `grids/locator.py`: a
nearest search asks the tree for the points in a box around the caller, growing the box until
enough are found, and sorts those by great-circle distance. Each process keeps its own index and
rebuilds it when `IndexState.version` changes (bumped in the transaction of every change, from
the API, an import or the admin: the model's signals), checked at most every
GRIDGOV_LOCATOR_CHECK_SECONDS.

Walking time = straight-line distance × GRIDGOV_SERVICES_DETOUR ÷ GRIDGOV_SERVICES_WALK_KMH.
"""

import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Avg, Count
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.grids.locator import CRS, OUTSIDE_MESSAGE, get_index, to_wgs84
from gridgov.grids.models import Grid
from gridgov.services import conf
from gridgov.services.models import IndexState, Kind, Order, Rating, ServicePoint

EARTH_M = 6_371_008.8
M_PER_DEG_LAT = 111_320.0
_PERIOD = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


# --- opening hours ------------------------------------------------------------------------------


def parse_hours(value) -> list[str]:
    """Seven strings, Monday first, each "HH:MM-HH:MM[,HH:MM-HH:MM…]" or "" (closed); raises
    ValueError with a message for the user otherwise. "24:00" closes at midnight."""
    if not isinstance(value, list) or len(value) != 7:
        raise ValueError(_("Give seven days of opening hours, Monday first (empty: closed)."))
    days = []
    for text in value:
        text = ("" if text is None else str(text)).replace(" ", "").replace("，", ",")
        for period in filter(None, text.split(",")):
            found = _PERIOD.match(period)
            if not found:
                raise ValueError(_("Write opening hours like 06:30-09:00,11:00-13:30."))
            start = int(found[1]) * 60 + int(found[2])
            end = int(found[3]) * 60 + int(found[4])
            if int(found[2]) > 59 or int(found[4]) > 59 or not 0 <= start < end <= 24 * 60:
                raise ValueError(_("Write opening hours like 06:30-09:00,11:00-13:30."))
        days.append(text)
    return days


def _minutes(hours: list[str], weekday: int) -> list[tuple[int, int]]:
    periods = []
    for period in filter(None, (hours[weekday] if len(hours) == 7 else "").split(",")):
        found = _PERIOD.match(period)
        if found:
            periods.append((int(found[1]) * 60 + int(found[2]), int(found[3]) * 60 + int(found[4])))
    return periods


def is_open(hours: list[str], at: datetime) -> bool:
    """Whether a point with these hours is open at `at` (local time). No hours given: always."""
    if not hours:
        return True
    local = timezone.localtime(at)
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in _minutes(hours, local.weekday()))


# --- the index ----------------------------------------------------------------------------------


@dataclass
class _KindIndex:
    ids: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    tree: shapely.STRtree
    # Each point's opening periods per weekday as minutes of the day, (points, 7, slots) arrays; an
    # unused slot is (0, 0), a point without hours open all day: "open at" is one array test over
    # every candidate instead of parsing hours point by point (bench/services.py).
    starts: np.ndarray
    ends: np.ndarray

    def open_at(self, rows: np.ndarray, weekday: int, minute: int) -> np.ndarray:
        return ((self.starts[rows, weekday] <= minute) & (minute < self.ends[rows, weekday])).any(axis=1)


def _periods(hours: list[str]) -> list[list[tuple[int, int]]]:
    """`is_open`'s reading of the hours, per weekday: no hours at all is open all day."""
    if not hours:
        return [[(0, 24 * 60)]] * 7
    return [_minutes(hours, day) for day in range(7)]


def _period_arrays(rows: list) -> tuple[np.ndarray, np.ndarray]:
    parsed: dict[tuple, list] = {}  # most points share a few shapes of hours: each parsed once
    weeks = []
    for _pk, _lat, _lon, hours in rows:
        key = tuple(hours or ())
        if key not in parsed:
            parsed[key] = _periods(hours)
        weeks.append(parsed[key])
    slots = max((len(day) for week in parsed.values() for day in week), default=0) or 1
    starts = np.zeros((len(rows), 7, slots), dtype=np.int16)
    ends = np.zeros((len(rows), 7, slots), dtype=np.int16)
    for row, week in enumerate(weeks):
        for day, periods in enumerate(week):
            for slot, (start, end) in enumerate(periods):
                starts[row, day, slot], ends[row, day, slot] = start, end
    return starts, ends


@dataclass
class PointIndex:
    """An immutable snapshot of the active points, per kind; hours kept for the open-now test."""

    version: str
    kinds: dict[str, _KindIndex] = field(default_factory=dict)
    hours: dict[int, list[str]] = field(default_factory=dict)
    capacity: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls, version: str) -> "PointIndex":
        index = cls(version)
        rows: dict[str, list] = {}
        fields = ("id", "kind", "lat", "lon", "hours", "capacity_per_hour")
        for pk, kind, lat, lon, hours, capacity in (
            ServicePoint.objects.filter(is_active=True).values_list(*fields).iterator(chunk_size=5000)
        ):
            rows.setdefault(kind, []).append((pk, lat, lon, hours))
            if hours:
                index.hours[pk] = hours
            index.capacity[pk] = capacity
        for kind, found in rows.items():
            ids, lats, lons = (np.array(column) for column in list(zip(*found, strict=True))[:3])
            tree = shapely.STRtree(shapely.points(lons, lats))
            index.kinds[kind] = _KindIndex(ids, lats, lons, tree, *_period_arrays(found))
        return index

    def nearest(self, kind: str, lat: float, lon: float, want: int, max_m: float, open_at=None):
        """(point id, metres) of up to `want` points of `kind` nearest (lat, lon), within max_m;
        `want` None: every one within max_m. `open_at` (weekday, minute of the day, local): only
        the points open then."""
        found = self.kinds.get(kind)
        if found is None:
            return []
        radius = min(500.0, max_m)
        while True:
            dlat = radius / M_PER_DEG_LAT
            dlon = radius / (M_PER_DEG_LAT * max(math.cos(math.radians(lat)), 0.01))
            hits = found.tree.query(shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat))
            metres = _haversine(lat, lon, found.lats[hits], found.lons[hits])
            inside = metres <= radius  # the box's corners reach farther than its radius
            if open_at is not None and len(hits):
                inside &= found.open_at(hits, *open_at)
            # Enough inside the circle, or the whole search area covered: the order is final.
            if (want is not None and inside.sum() >= want) or radius >= max_m:
                order = np.argsort(metres[inside], kind="stable")
                picked = hits[inside][order][: want if want is not None else None]
                return list(
                    zip(
                        found.ids[picked].tolist(), metres[inside][order][: len(picked)].tolist(), strict=True
                    )
                )
            radius = min(radius * 2, max_m)


def _haversine(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


_lock = threading.Lock()
_index: PointIndex | None = None
_checked_at = 0.0


def current_version() -> str:
    return IndexState.objects.filter(pk=1).values_list("version", flat=True).first() or ""


def get_point_index() -> PointIndex:
    """This process's index, rebuilt if any process changed the points."""
    global _index, _checked_at
    if _index is not None and time.monotonic() - _checked_at < settings.GRIDGOV_LOCATOR_CHECK_SECONDS:
        return _index
    with _lock:
        version = current_version()
        if _index is None or _index.version != version:
            _index = PointIndex.load(version)
        _checked_at = time.monotonic()
        return _index


def bump_version() -> None:
    token = uuid.uuid4().hex
    if not IndexState.objects.filter(pk=1).update(version=token):
        IndexState.objects.update_or_create(pk=1, defaults={"version": token})


@receiver(post_save, sender=ServicePoint)
@receiver(post_delete, sender=ServicePoint)
def _point_changed(sender, **kwargs):
    bump_version()


def walking_minutes(metres: float) -> float:
    return metres / 1000 * conf.detour_factor() / conf.walking_kmh() * 60


# --- near me -----------------------------------------------------------------------------------


@dataclass
class Nearby:
    point: ServicePoint
    metres: float
    minutes: float
    open_now: bool
    capacity_left: int | None


def to_point(lat, lon, crs: str) -> tuple[float, float]:
    """A point given in any accepted datum, as WGS-84; a 400 naming the field otherwise."""
    errors = {}
    if crs not in CRS.ALL:
        errors["crs"] = _("Choose one of: %s.") % ", ".join(CRS.ALL)
    if lat is None or not -90 <= lat <= 90:
        errors["lat"] = _("Give a latitude between -90 and 90.")
    if lon is None or not -180 <= lon <= 180:
        errors["lon"] = _("Give a longitude between -180 and 180.")
    if errors:
        raise ValidationError(errors)
    return to_wgs84(lat, lon, crs)


def used_in_hour(point_ids, at: datetime) -> dict[int, int]:
    """Orders placed with each point in the hour before `at` (cancelled ones free their place)."""
    rows = (
        Order.objects.filter(
            point_id__in=list(point_ids), called_at__gt=at - timedelta(hours=1), called_at__lte=at
        )
        .exclude(state=Order.State.CANCELLED)
        .values("point_id")
        .annotate(n=Count("id"))
    )
    return {row["point_id"]: row["n"] for row in rows}


def _usable(index: PointIndex, hits, at: datetime, limit: int, available: bool) -> list[tuple]:
    """(id, metres, open, capacity left) of the first `limit` hits; with `available` (the hits are
    those open at `at`), only those with capacity left in the hour before it."""
    capped = [pk for pk, _m in hits if index.capacity.get(pk) is not None]
    used = used_in_hour(capped, at) if capped else {}
    chosen = []
    for pk, metres in hits:
        opened = available or is_open(index.hours.get(pk, []), at)
        capacity = index.capacity.get(pk)
        left = None if capacity is None else max(capacity - used.get(pk, 0), 0)
        if available and (not opened or left == 0):
            continue
        chosen.append((pk, metres, opened, left))
        if len(chosen) == limit:
            break
    return chosen


def near(
    kind: str, lat: float, lon: float, *, at: datetime, limit: int = 10, available: bool = False
) -> list[Nearby]:
    """The points of `kind` by walking time from (lat, lon) (WGS-84). With `available`, only
    those open at `at` with capacity left in the hour before it (the operator's offer)."""
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Choose one of: %s.") % ", ".join(Kind.values)})
    index = get_point_index()
    max_m = conf.search_km() * 1000
    # Filtering drops points after the search: ask for a few times the limit, and more only
    # while too few pass and more are in range (the capacity query stays a page's worth).
    want = limit * 4 if available else limit
    local = timezone.localtime(at)
    when = (local.weekday(), local.hour * 60 + local.minute) if available else None
    while True:
        hits = index.nearest(kind, lat, lon, want, max_m, open_at=when)
        chosen = _usable(index, hits, at, limit, available)
        if len(chosen) == limit or len(hits) < want:
            break
        want *= 4
    # The grid's outline is not shown with a point: not read (a JSON polygon per row).
    found = ServicePoint.objects.select_related("grid").defer("grid__boundary")
    points = found.in_bulk([c[0] for c in chosen])
    return [
        Nearby(points[pk], metres, walking_minutes(metres), opened, left)
        for pk, metres, opened, left in chosen
        if pk in points
    ]


# --- writes -------------------------------------------------------------------------------------


@dataclass
class PointIn:
    name: str = ""
    kind: str = ""
    lat: float | None = None
    lon: float | None = None
    crs: str = CRS.WGS84
    address: str = ""
    phone: str = ""
    hours: list | None = None
    capacity_per_hour: int | None = None
    is_active: bool = True


def check(data: PointIn) -> tuple[dict, dict]:
    """The point's field values, and per-field errors (both dicts)."""
    errors: dict[str, str] = {}
    values: dict = {}
    name = (data.name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = _("Give a name of at most 100 characters.")
    if data.kind not in Kind.values:
        errors["kind"] = _("Choose one of: %s.") % ", ".join(Kind.values)
    try:
        lat, lon = to_point(data.lat, data.lon, data.crs)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    else:
        ref = get_index().locate(lon, lat)
        if ref is None:
            errors["lat"] = str(OUTSIDE_MESSAGE)
        else:
            values.update(lat=lat, lon=lon, grid_id=ref.id)
    try:
        hours = parse_hours(data.hours) if data.hours else []
    except ValueError as exc:
        errors["hours"] = str(exc)
        hours = []
    if data.capacity_per_hour is not None and not 1 <= data.capacity_per_hour <= 100_000:
        errors["capacity_per_hour"] = _("Give a number from 1 to 100000, or leave it empty (not limited).")
    for key, limit in (("address", 200), ("phone", 30)):
        if len(getattr(data, key) or "") > limit:
            errors[key] = _("At most %d characters.") % limit
    values.update(
        name=name,
        kind=data.kind,
        source_crs=data.crs,
        address=(data.address or "").strip(),
        phone=(data.phone or "").strip(),
        hours=hours,
        capacity_per_hour=data.capacity_per_hour,
        is_active=data.is_active,
    )
    return values, errors


def _may_keep(actor, grid) -> None:
    if not has_perm(actor, Perm.MANAGE_SERVICE_POINTS, grid):
        raise PermissionDenied(_("Only those who keep the service points of this grid may do this."))


@transaction.atomic
def save(actor, data: PointIn, point_id: int | None = None) -> ServicePoint:
    """Create a point, or change one the actor sees; its grid comes from where it is."""
    point = None
    if point_id is not None:
        point = ServicePoint.objects.visible_to(actor).select_for_update().filter(pk=point_id).first()
        if point is None:
            from django.http import Http404

            raise Http404(_("No such service point in your area."))
        _may_keep(actor, point.grid)
    values, errors = check(data)
    if errors:
        raise ValidationError(errors)
    grid = Grid.objects.get(pk=values["grid_id"])
    _may_keep(actor, grid)
    point = point or ServicePoint()
    for key, value in values.items():
        setattr(point, key, value)
    point.full_clean(exclude=["grid"])
    point.save()
    return point


@dataclass
class ImportResult:
    total: int
    errors: list  # population.excel.RowError
    saved: bool


@transaction.atomic
def save_rows(actor, rows: list[tuple[int, PointIn]], found=None, reported=None) -> ImportResult:
    """All rows or none: each row checked (its grid must be one the actor keeps points in);
    written only when no row has an error. `found`: errors the file's reading found already,
    `reported`: row number → the keys those were for (not reported twice)."""
    from gridgov.population.excel import RowError

    errors, good = list(found or []), []
    reported = reported or {}
    grids = {g.pk: g for g in Grid.objects.all().only("id", "code", "name")}
    for number, data in rows:
        values, problems = check(data)
        if not problems and not has_perm(actor, Perm.MANAGE_SERVICE_POINTS, grids[values["grid_id"]]):
            problems["lat"] = _("This point is in a grid where you do not keep service points.")
        for key, message in problems.items():
            if key in reported.get(number, ()):
                continue
            errors.append(RowError(number, key, str(getattr(data, key, "") or ""), message))
        good.append(ServicePoint(**values))
    if errors or not rows:
        if not rows:
            errors.append(RowError(0, "", "", _("The file has no points.")))
        return ImportResult(len(rows), errors, False)
    ServicePoint.objects.bulk_create(good, batch_size=1000)
    bump_version()  # bulk_create sends no post_save
    return ImportResult(len(rows), [], True)


# The Excel file's columns (fixed Chinese headers: the file format), read by population/excel.py.
def _columns():
    from gridgov.population.excel import Column

    return [
        Column("name", "名称", required=True, max_length=100, width=18, example="幸福食堂"),
        Column("kind", "类型", required=True, example="助餐点/长者食堂"),
        Column("lon", "经度", required=True, example="120.5123"),
        Column("lat", "纬度", required=True, example="31.3012"),
        Column("crs", "坐标系", example="wgs84"),
        Column("address", "地址", max_length=200, width=24, example="枫桥街道枫桥路8号"),
        Column("phone", "电话", max_length=30, as_text=True, example="0512-66881234"),
        Column("hours", "营业时间", width=16, example="10:30-13:00,16:30-18:30"),
        Column("capacity_per_hour", "每小时接待量", example="30"),
    ]


def template() -> bytes:
    """The empty import workbook: the columns above, an example row (ignored if left as is)."""
    from gridgov.population.excel import template_of

    return template_of("服务点", _columns())


def _number(cells, key: str):
    text = cells.texts.get(key, "")
    try:
        return float(text) if text else None
    except ValueError:
        cells.error(key, _("Enter a number."))
        return None


def _kind_of(text: str) -> str:
    """A kind typed in a sheet: its code, its label in the reader's language, or in English."""
    from django.utils.translation import override

    labels = {str(label).casefold(): value for value, label in Kind.choices}
    with override("en"):
        labels.update({str(label).casefold(): value for value, label in Kind.choices})
    return text if text in Kind.values else labels.get(text.casefold(), text)


def import_excel(actor, file) -> ImportResult:
    """Points from the first sheet of an .xlsx file; all or nothing, with each bad row's errors.
    营业时间 is one text for every day ("07:00-19:00"), or seven separated by ";"."""
    from gridgov.population.excel import ImportReport, _open_rows

    report = ImportReport(kind="service_points", dry_run=False)
    cells_rows = _open_rows(file, _columns(), report)
    rows, reported = [], {}
    for cells in cells_rows:
        hours_text = cells.texts.get("hours", "")
        days = hours_text.split(";") if ";" in hours_text else [hours_text] * 7
        capacity = cells.integer("capacity_per_hour")
        data = PointIn(
            name=cells.text("name"),
            kind=_kind_of(cells.text("kind")),
            lat=_number(cells, "lat"),
            lon=_number(cells, "lon"),
            crs=(cells.texts.get("crs") or CRS.WGS84).lower(),
            address=cells.text("address"),
            phone=cells.text("phone"),
            hours=days if hours_text else None,
            capacity_per_hour=capacity,
        )
        rows.append((cells.row, data))
        reported[cells.row] = set(cells.failed_keys)
    if not cells_rows and report.errors:
        return ImportResult(0, report.errors, False)
    result = save_rows(actor, rows, report.errors, reported)
    headers = {c.key: c.header for c in _columns()}
    for error in result.errors:
        error.column = headers.get(error.column, error.column)
    return result


def import_geojson(actor, collection) -> ImportResult:
    """Points from a GeoJSON FeatureCollection of Point features (WGS-84 unless a `crs`
    property says otherwise); rows are numbered from 1 by feature."""
    from gridgov.population.excel import RowError

    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        return ImportResult(
            0, [RowError(0, "", "", _("The file is not a GeoJSON FeatureCollection."))], False
        )
    rows, errors = [], []
    for number, feature in enumerate(collection.get("features") or [], 1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not (
            isinstance(geometry, dict)
            and geometry.get("type") == "Point"
            and isinstance(coords, list)
            and len(coords) >= 2
            and all(isinstance(c, int | float) for c in coords[:2])
        ):
            errors.append(RowError(number, "geometry", "", _("Not a GeoJSON Point feature.")))
            continue
        props = feature.get("properties") or {}
        capacity = props.get("capacity_per_hour")
        rows.append(
            (
                number,
                PointIn(
                    name=str(props.get("name") or ""),
                    kind=_kind_of(str(props.get("kind") or "")),
                    lon=float(coords[0]),
                    lat=float(coords[1]),
                    crs=str(props.get("crs") or CRS.WGS84).lower(),
                    address=str(props.get("address") or ""),
                    phone=str(props.get("phone") or ""),
                    hours=props.get("hours") or None,
                    capacity_per_hour=capacity
                    if isinstance(capacity, int) and not isinstance(capacity, bool)
                    else None,
                ),
            )
        )
    if errors:
        return ImportResult(len(rows) + len(errors), errors, False)
    return save_rows(actor, rows)


# --- ratings ----------------------------------------------------------------------------------


def rate(actor, point_id: int, score: int, comment: str = "") -> Rating:
    """A resident's one rating of an active point (rating again changes it)."""
    from gridgov.accounts.models import Role
    from gridgov.accounts.roles import roles_of

    point = ServicePoint.objects.filter(pk=point_id, is_active=True).first()
    if point is None:
        from django.http import Http404

        raise Http404(_("No such service point."))
    if Role.RESIDENT not in roles_of(actor):
        raise PermissionDenied(_("Only residents rate service points."))
    errors = {}
    if not 1 <= score <= 5:
        errors["score"] = _("Give a score from 1 to 5.")
    if len(comment) > 300:
        errors["comment"] = _("At most %d characters.") % 300
    if errors:
        raise ValidationError(errors)
    rating, _created = Rating.objects.update_or_create(
        point=point, user=actor, defaults={"score": score, "comment": comment.strip()}
    )
    return rating


def rating_of(point_id: int) -> tuple[float | None, int]:
    return ratings_of([point_id]).get(point_id, (None, 0))


def ratings_of(point_ids) -> dict[int, tuple[float | None, int]]:
    """Each point's average score and number of ratings, in one query (a page of points)."""
    rows = (
        Rating.objects.filter(point_id__in=list(point_ids))
        .values("point_id")
        .annotate(avg=Avg("score"), n=Count("id"))
    )
    return {row["point_id"]: (round(row["avg"], 2), row["n"]) for row in rows}
