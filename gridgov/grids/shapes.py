"""The grid map by viewport: the grids in the box the map shows, as deep as its zoom can show,
their outlines simplified to what a screen pixel can show.

A city (Jinhua: 7,349 micro-grids) is never sent whole: at a city's zoom the map gets its streets
and communities, closer in the grids, closest the micro-grids in view. Outlines come from the
locator's in-process index (its polygons and an STRtree over all of them), simplified once per grid
and zoom and kept for the index's life, so panning costs a tree query and string joins.
"""

import json
import math

import shapely

from gridgov.core.scope import scope_of
from gridgov.grids.locator import get_index

# (from this zoom, the deepest level drawn): the levels a screen can tell apart at a zoom.
LEVELS_BY_ZOOM = ((15, 5), (14, 4), (12, 3), (10, 2), (0, 1))
MAX_FEATURES = 2_500  # more than this in view: the deepest level is left out (`truncated`)
PIXEL_SHARE = 0.5  # outlines keep detail down to half a screen pixel
MAX_KEY = 17  # from here on (≈ 0.6 m) every zoom shares one outline: no more copies of a polygon


def deepest_level(zoom: float) -> int:
    return next(level for start, level in LEVELS_BY_ZOOM if zoom >= start)


def tolerance_key(zoom: float) -> int:
    """Outlines are simplified per whole zoom level (a cache key): deeper zooms keep more detail."""
    return max(0, min(MAX_KEY, math.floor(zoom)))


def simplified(geometry, key: int):
    """Degrees per screen pixel at zoom `key` (256-pixel tiles) times `PIXEL_SHARE`; coordinates
    kept to 1e-6° (about 0.1 m)."""
    tolerance = PIXEL_SHARE * 360.0 / (256 * 2**key)
    return shapely.set_precision(geometry.simplify(tolerance, preserve_topology=True), 1e-6)


def shapes(
    user, west: float, south: float, east: float, north: float, zoom: float, level: int | None = None
) -> str:
    """The visible grids meeting the box down to the zoom's level (or `level`, if shallower), as a
    GeoJSON FeatureCollection (text). `level` says how deep it went; `truncated` that the deepest
    level was left out."""
    index, scope = get_index(), scope_of(user)
    deepest = min(deepest_level(zoom), level or 5)
    hits = [
        i
        for i in index.in_box(west, south, east, north)
        if index.refs[i].level <= deepest and scope.covers(index.refs[i].code)
    ]
    truncated = False
    while len(hits) > MAX_FEATURES and deepest > 1:
        deepest, truncated = deepest - 1, True
        hits = [i for i in hits if index.refs[i].level <= deepest]
    hits.sort(key=lambda i: (index.refs[i].level, index.refs[i].code))
    key = tolerance_key(zoom)
    features = ",".join(_feature(index, i, key) for i in hits)
    return (
        f'{{"type":"FeatureCollection","level":{deepest},"truncated":{json.dumps(truncated)},'
        f'"features":[{features}]}}'
    )


def _feature(index, position: int, key: int) -> str:
    ref = index.refs[position]
    properties = json.dumps(
        {"code": ref.code, "name": ref.name, "level": ref.level, "kind": ref.kind}, ensure_ascii=False
    )
    return f'{{"type":"Feature","geometry":{index.outline(position, key)},"properties":{properties}}}'


def bounds_of(codes) -> list[list[float]] | None:
    """[[south, west], [north, east]] around the grids of `codes` (Leaflet's order), from the index."""
    index = get_index()
    found = [index.geoms[index.position[c]] for c in codes if c in index.position]
    if not found:
        return None
    west, south, east, north = shapely.total_bounds(found)
    return [[float(south), float(west)], [float(north), float(east)]]


def area_bounds(user) -> list[list[float]] | None:
    """Where the map opens: around the top grids of the user's area (the district's streets for
    those who see everything)."""
    scope = scope_of(user)
    if scope.everything:
        return bounds_of([r.code for r in get_index().refs if r.level == 1])
    return bounds_of(scope.roots)
