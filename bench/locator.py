"""Locator benchmark: point → grid at 7,349 and 100,000 micro-grids.

Compares the STRtree index (batched and one point at a time) with a plain loop over
prepared polygons, and writes the table into docs/performance.md.

    .venv/bin/python bench/locator.py            # full run
    .venv/bin/python bench/locator.py --quick    # smaller, for a smoke test

It builds grids in memory (a square lattice of micro-grids under streets, communities
and grids, like the demo's hierarchy) so that it measures the index, not the database.
"""

import argparse
import datetime
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARKER_START = "<!-- locator:start -->"
MARKER_END = "<!-- locator:end -->"


def lattice(micro_count: int, rng):
    """Refs and geometries of a 4-level tree whose micro-grids tile a square."""
    from gridgov.grids.locator import GridRef

    side = math.ceil(math.sqrt(micro_count))
    cell = 0.001  # about 100 m
    x0, y0 = 120.3, 31.2
    refs, geoms = [], []

    def add(code, level, x, y, w, h):
        refs.append(GridRef(len(refs), code, code, level, "basic"))
        geoms.append(shapely.box(x, y, x + w, y + h))

    block = 4  # micro-grids per grid side
    for gx in range(0, side, block):
        for gy in range(0, side, block):
            grid_code = f"320505003{(gx // 40) % 1000:03d}{(gy // block) % 1000:03d}"
            add(grid_code, 3, x0 + gx * cell, y0 + gy * cell, block * cell, block * cell)
            for mx in range(gx, min(gx + block, side)):
                for my in range(gy, min(gy + block, side)):
                    add(f"{grid_code}{(mx - gx) * block + (my - gy) + 1:03d}", 4,
                        x0 + mx * cell, y0 + my * cell, cell, cell)
    extent = (x0, y0, x0 + side * cell, y0 + side * cell)
    return refs, geoms, extent


def timed(fn, repeat=3):
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(micro_count: int, points: int, naive_points: int, rng) -> dict:
    from gridgov.grids.locator import GridIndex

    refs, geoms, (minx, miny, maxx, maxy) = lattice(micro_count, rng)
    started = time.perf_counter()
    index = GridIndex(refs, geoms, version=1)
    build = time.perf_counter() - started
    lons, lats = rng.uniform(minx, maxx, points), rng.uniform(miny, maxy, points)

    batched = timed(lambda: index.locate_many(lons, lats))
    single_n = min(points, 50_000)
    single = timed(lambda: [index.locate(x, y) for x, y in zip(lons[:single_n], lats[:single_n],
                                                                 strict=True)])
    prepared = geoms  # already prepared in place by GridIndex (shapely.prepare)
    levels = [r.level for r in refs]

    def naive():
        for x, y in zip(lons[:naive_points], lats[:naive_points], strict=True):
            point, best = shapely.Point(x, y), None
            for i, polygon in enumerate(prepared):
                if polygon.intersects(point) and (best is None or levels[i] > levels[best]):
                    best = i

    naive_time = timed(naive, repeat=1)
    check = index.locate_many(lons[:1000], lats[:1000])
    assert all(r is not None and r.level == 4 for r in check)
    return {
        "micro_grids": micro_count, "polygons": len(refs), "build_s": build,
        "batched_per_s": points / batched, "single_per_s": single_n / single,
        "naive_per_s": naive_points / naive_time,
    }


def table(rows) -> str:
    lines = [
        "| micro-grids | polygons indexed | index build | batched lookups/s | single lookups/s "
        "| plain loop lookups/s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['micro_grids']:,} | {r['polygons']:,} | {r['build_s']:.2f} s | "
                     f"{r['batched_per_s']:,.0f} | {r['single_per_s']:,.0f} | {r['naive_per_s']:,.0f} |")
    return "\n".join(lines)


def write(rows, quick: bool) -> None:
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    section = "\n".join([
        MARKER_START,
        f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, "
        f"Python {platform.python_version()}, shapely {shapely.__version__}"
        f"{' (quick run)' if quick else ''}. Targets at 100,000 micro-grids: "
        "≥ 200,000 lookups/s batched, ≥ 50,000/s single.",
        "",
        table(rows),
        MARKER_END,
    ])
    if MARKER_START in text:
        head, rest = text.split(MARKER_START, 1)
        text = head + section + rest.split(MARKER_END, 1)[1]
    else:
        text += "\n## Point → grid locator (`bench/locator.py`)\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    import django

    django.setup()
    rng = np.random.default_rng(2026)
    sizes = [(500, 20_000, 200)] if args.quick else [(7_349, 200_000, 1_000), (100_000, 500_000, 200)]
    rows = [run(n, points, naive, rng) for n, points, naive in sizes]
    print(table(rows))
    if not args.no_write:
        write(rows, args.quick)


if __name__ == "__main__":
    main()
