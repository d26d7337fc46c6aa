"""GeoJSON geometry checks for grid polygons (WGS-84 / CGCS2000 longitude-latitude).

Areas are computed in a local equirectangular projection around the geometry's own
latitude: at grid scale (< 50 km) its error is far below the tolerances we apply.
"""

import math

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0


def parse_polygon(geojson: dict) -> shapely.Geometry:
    """A valid Polygon or MultiPolygon from a GeoJSON geometry, or a ValidationError."""
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationError(_("The boundary must be a GeoJSON Polygon or MultiPolygon."))
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValidationError(_("The boundary is not readable GeoJSON: %s") % exc) from exc
    if geom.is_empty:
        raise ValidationError(_("The boundary is empty."))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError(_("Coordinates must be longitude, latitude in degrees (WGS-84)."))
    if not geom.is_valid:
        raise ValidationError(
            _("The boundary is not a valid polygon: %s") % explain_validity(geom)
        )
    return geom


def to_geojson(geom: shapely.Geometry, precision: int = 7) -> dict:
    return mapping(shapely.set_precision(geom, 10**-precision) if precision else geom)


def _project(geom: shapely.Geometry, lat0: float) -> shapely.Geometry:
    kx = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    return shapely.transform(geom, lambda xy: xy * np.array([kx, M_PER_DEG_LAT]))


def area_m2(geom: shapely.Geometry, lat0: float | None = None) -> float:
    if geom.is_empty:
        return 0.0
    if lat0 is None:
        lat0 = (geom.bounds[1] + geom.bounds[3]) / 2
    return _project(geom, lat0).area


def outside_area_m2(child: shapely.Geometry, parent: shapely.Geometry) -> float:
    """Area of the child that lies outside its parent."""
    lat0 = (child.bounds[1] + child.bounds[3]) / 2
    return area_m2(shapely.difference(child, parent), lat0)


def overlap_area_m2(a: shapely.Geometry, b: shapely.Geometry) -> float:
    lat0 = (a.bounds[1] + a.bounds[3]) / 2
    return area_m2(shapely.intersection(a, b), lat0)


def areas_m2(geoms: np.ndarray, lat0: float) -> np.ndarray:
    """Areas of many geometries at once, projected around one latitude."""
    kx = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    projected = shapely.transform(geoms, lambda xy: xy * np.array([kx, M_PER_DEG_LAT]))
    return shapely.area(projected)
