"""Cut a polygon into n cells that tile it without gaps or overlaps.

A Voronoi partition of well-spread seed points (a few Lloyd iterations), clipped to
the parent, looks like real grids drawn along streets and tiles the parent exactly.
"""

import numpy as np
import shapely


def _random_points_inside(polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    found = []
    while len(found) < n:
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(polygon, xs, ys)
        found.extend(zip(xs[inside], ys[inside], strict=True))
    return np.array(found[:n])


def _cells(polygon, seeds: np.ndarray) -> list:
    if len(seeds) == 1:
        return [polygon]
    diagram = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=polygon.envelope.buffer(0.01)
    )
    regions = list(diagram.geoms)
    # voronoi_polygons does not keep the seeds' order: match each region to its seed.
    ordered = [None] * len(seeds)
    tree = shapely.STRtree(regions)
    for index, (x, y) in enumerate(seeds):
        for hit in tree.query(shapely.Point(x, y), predicate="intersects"):
            if ordered[index] is None:
                ordered[index] = regions[hit]
    return [shapely.intersection(region, polygon) for region in ordered]


def partition(polygon, n: int, rng: np.random.Generator, relax: int = 3) -> list:
    """n non-empty (Multi)Polygons whose union is the polygon, ordered north→south, west→east."""
    seeds = _random_points_inside(polygon, n, rng)
    for _ in range(relax):
        cells = _cells(polygon, seeds)
        moved = []
        for cell, seed in zip(cells, seeds, strict=True):
            point = cell.point_on_surface() if cell.centroid.within(polygon) is False else cell.centroid
            moved.append((point.x, point.y) if not cell.is_empty else tuple(seed))
        seeds = np.array(moved)
    cells = [_polygonal(c) for c in _cells(polygon, seeds)]
    cells = [c for c in cells if not c.is_empty]
    height = polygon.bounds[3] - polygon.bounds[1]
    band = height / max(1, round(np.sqrt(len(cells))))
    # Grid numbering runs west→east within bands, bands north→south (DB11, standards §2.1).
    return sorted(cells, key=lambda c: (-int(c.centroid.y // band), c.centroid.x))


def _polygonal(geom):
    """Drop points and lines that clipping may leave at the edges."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts) if parts else shapely.Polygon()
