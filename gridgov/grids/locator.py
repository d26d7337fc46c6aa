"""Point → grid: which grid (and which of its ancestors) contains a point.

An in-process shapely STRtree over every grid polygon answers one point in
microseconds and a batch in one vectorised call. Each process keeps its own index and
rebuilds it when `LocatorState.version` changes (checked at most every
GRIDGOV_LOCATOR_CHECK_SECONDS), so a grid imported in one process is seen by all.
"""

import struct
import threading
import time
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import prcoords
import shapely
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from gridgov.grids.models import Grid, LocatorState

_wkb_point = struct.Struct("<BIdd").pack  # little-endian WKB Point: order, type 1, x, y
_by_level = attrgetter("level")


class CRS:
    WGS84 = "wgs84"
    CGCS2000 = "cgcs2000"
    GCJ02 = "gcj02"
    BD09 = "bd09"
    ALL = (WGS84, CGCS2000, GCJ02, BD09)


# GCJ-02 and BD-09 shift points inside China only; prcoords' reverse iteration fails with a
# math domain error near the poles, and outside this box the datums coincide anyway.
CHINA_BOX = (0.8, 55.9, 72.0, 137.9)  # min lat, max lat, min lon, max lon


def to_wgs84(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """Convert a point to WGS-84 (CGCS2000 is treated as the same datum, standards §10)."""
    min_lat, max_lat, min_lon, max_lon = CHINA_BOX
    if crs in (CRS.WGS84, CRS.CGCS2000) or not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
        return lat, lon
    if crs == CRS.GCJ02:
        point = prcoords.gcj_wgs_bored((lat, lon))
    elif crs == CRS.BD09:
        point = prcoords.bd_wgs_bored((lat, lon))
    else:
        raise ValueError(crs)
    return point.lat, point.lon


@dataclass(frozen=True)
class GridRef:
    id: int
    code: str
    name: str
    level: int
    kind: str


class GridIndex:
    """An immutable snapshot of all grid polygons, queryable by point."""

    def __init__(self, refs: list[GridRef], geoms: list, version: int):
        self.version = version
        self.refs = refs
        self.by_code = {ref.code: ref for ref in refs}
        self.position = {ref.code: i for i, ref in enumerate(refs)}
        basic = [i for i, r in enumerate(refs) if r.kind == Grid.Kind.BASIC]
        special = [i for i, r in enumerate(refs) if r.kind != Grid.Kind.BASIC]
        geoms = np.array(geoms, dtype=object)
        self.geoms = geoms
        self._all_tree = shapely.STRtree(geoms) if len(refs) else None  # the map by viewport
        self._outlines: dict[tuple[int, int], str] = {}
        self._basic = np.array(basic, dtype=np.int64)
        self._basic_refs = [refs[i] for i in basic]
        self._special = np.array(special, dtype=np.int64)
        self._basic_tree = shapely.STRtree(geoms[self._basic]) if basic else None
        self._special_tree = shapely.STRtree(geoms[self._special]) if special else None
        self._level = np.array([r.level for r in refs], dtype=np.int16)
        for tree in (self._basic_tree, self._special_tree):
            if tree is not None:
                shapely.prepare(tree.geometries)

    @classmethod
    def load(cls, version: int) -> "GridIndex":
        refs, geoms = [], []
        rows = Grid.objects.values_list("id", "code", "name", "level", "kind", "boundary")
        for pk, code, name, level, kind, boundary in rows.iterator(chunk_size=2000):
            refs.append(GridRef(pk, code, name, level, kind))
            geoms.append(shapely.geometry.shape(boundary))
        return cls(refs, geoms, version)

    def __len__(self) -> int:
        return len(self.refs)

    def locate(self, lon: float, lat: float) -> GridRef | None:
        """The deepest basic grid containing the point, or None outside every grid."""
        if self._basic_tree is None:
            return None
        # A WKB-built point costs a third less than shapely.Point(); on the single-point
        # path that and plain-Python post-processing are most of the time (bench/locator.py).
        point = shapely.from_wkb(_wkb_point(1, 1, lon, lat))
        hits = self._basic_tree.query(point, predicate="intersects").tolist()
        if not hits:
            return None
        if len(hits) == 1:
            return self._basic_refs[hits[0]]
        return max((self._basic_refs[i] for i in hits), key=_by_level)

    def locate_many(self, lons, lats) -> list[GridRef | None]:
        """The deepest basic grid for each point, in one vectorised query."""
        lons, lats = np.asarray(lons, float), np.asarray(lats, float)
        result: list[GridRef | None] = [None] * len(lons)
        if self._basic_tree is None or not len(lons):
            return result
        points = shapely.points(lons, lats)
        inputs, hits = self._basic_tree.query(points, predicate="intersects")
        if not len(inputs):
            return result
        candidates = self._basic[hits]
        # Deepest first within each input point, then keep the first row per point.
        order = np.lexsort((-self._level[candidates], inputs))
        inputs, candidates = inputs[order], candidates[order]
        first = np.unique(inputs, return_index=True)[1]
        for point_index, grid_index in zip(inputs[first], candidates[first], strict=True):
            result[point_index] = self.refs[grid_index]
        return result

    def in_box(self, west: float, south: float, east: float, north: float) -> list[int]:
        """The positions (in `refs`) of every grid whose polygon meets the box."""
        if self._all_tree is None:
            return []
        return self._all_tree.query(shapely.box(west, south, east, north), predicate="intersects").tolist()

    def outline(self, position: int, tolerance_key: int) -> str:
        """A grid's polygon as GeoJSON text, simplified to `tolerance_key` (see grids.shapes),
        kept for this index's life: a map pans over the same grids again and again."""
        key = (position, tolerance_key)
        text = self._outlines.get(key)
        if text is None:
            from gridgov.grids.shapes import simplified

            text = shapely.to_geojson(simplified(self.geoms[position], tolerance_key))
            self._outlines[key] = text
        return text

    def special_at(self, lon: float, lat: float) -> list[GridRef]:
        if self._special_tree is None:
            return []
        hits = self._special_tree.query(shapely.Point(lon, lat), predicate="intersects")
        return sorted((self.refs[i] for i in self._special[hits]), key=lambda r: r.code)

    def ancestors(self, ref: GridRef) -> list[GridRef]:
        from gridgov.grids.codes import code_length

        found = (self.by_code.get(ref.code[: code_length(n)]) for n in range(1, ref.level))
        return [a for a in found if a is not None]


_lock = threading.Lock()
_index: GridIndex | None = None
_checked_at = 0.0


def current_version() -> int:
    return LocatorState.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def get_index() -> GridIndex:
    """This process's index, rebuilt if another process changed the grids."""
    global _index, _checked_at
    now = time.monotonic()
    if _index is not None and now - _checked_at < settings.GRIDGOV_LOCATOR_CHECK_SECONDS:
        return _index
    with _lock:
        version = current_version()
        if _index is None or _index.version != version:
            _index = GridIndex.load(version)
        _checked_at = time.monotonic()
        return _index


def invalidate() -> None:
    """Force the next get_index() to check the version (used after local writes)."""
    global _checked_at
    _checked_at = 0.0


OUTSIDE_MESSAGE = _("The point is outside the district: no grid contains it.")
