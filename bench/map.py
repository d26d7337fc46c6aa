"""The maps at a city's size in Chromium: the grid map and the command centre's case map (issue 22).

    .venv/bin/python bench/map.py              # jinhua: 7,349 micro-grids, 10,000 open cases
    .venv/bin/python bench/map.py --no-write   # print only

A scratch SQLite site gets `gridgov demo --profile jinhua --no-history --no-registry` (8 streets,
168 communities, 300 grids, 7,349 micro-grids) and 10,000 open cases at points inside the micro-grids
(located, registered or dispatched, lights of every colour). gunicorn serves it (2 workers, static
files through WhiteNoise) on a free loopback port; Playwright drives Debian's Chromium
(`/usr/bin/chromium`, headless, 1280×800) logged in as the demo's administrator, who sees the
whole city. Per page:

- first render: from navigation to the map's `data-loaded` attribute (the first grids or dots drawn);
- idle: until the network has been quiet for 500 ms (Playwright's `networkidle`);
- bytes: what the page's requests to our API transferred until idle;
- panning: the map dragged 20 times by 150 px, frames timed with requestAnimationFrame during the
  drags and the refetches after them: median and 95th percentile frame time, frames over 50 ms;
- zoom: two steps in by the zoom button, time until the deeper level is drawn (grid map).

Targets (issue 22): interactive in < 2 s; smooth panning and zooming (frames ≈ 16 ms, few over 50).
For comparison the old way — every polygon down to the micro-grids in one GeoJSON — is timed as one
request with Django's test client: its size and server time.
"""

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from scratch import ROOT, manage, scratch_site, write_section

DOC = ROOT / "docs" / "performance.md"
SECTION = "map"
HEADING = "## Maps at a city's size in Chromium (`bench/map.py`)"
CHROMIUM = "/usr/bin/chromium"
OPEN_CASES = 10_000
TARGET_MS = 2000
PANS = 20


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the scratch site")
    parser.add_argument("--step", choices=("cases", "old"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.step:
        return in_django(args)
    with scratch_site(None, "", "gridgov-bench-map-", keep=args.keep, log=log) as env:
        started = time.perf_counter()
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "demo", "--profile", "jinhua", "--no-history", "--no-registry", "-v", "0")
        log(f"jinhua built in {time.perf_counter() - started:.0f} s")
        made = child(env, "cases")
        old = child(env, "old")
        pages = measure(env, made["password"])
    text = report(pages, old)
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, HEADING, text)
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0 if all(p["first_ms"] < TARGET_MS for p in pages) else 1


def child(env: dict, step: str) -> dict:
    out = Path(env["GRIDGOV_VAR_DIR"]) / f"{step}.json"
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--step", step],
        cwd=ROOT,
        env={**env, "GRIDGOV_BENCH_RESULT": str(out)},
        check=True,
        timeout=1800,
    )
    return json.loads(out.read_text())


# --- children: Django on the scratch site -----------------------------------------------------------


def in_django(args) -> int:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    outcome = {"cases": open_cases, "old": old_way}[args.step]()
    Path(os.environ["GRIDGOV_BENCH_RESULT"]).write_text(json.dumps(outcome))
    return 0


def open_cases() -> dict:
    """OPEN_CASES cases at random points inside random micro-grids, open at every step."""
    import shapely
    from django.utils import timezone

    from gridgov.cases.models import Case, Category
    from gridgov.demo.builder import DEMO_PASSWORD
    from gridgov.grids.locator import get_index

    rng = random.Random(22)
    index = get_index()
    micro = [i for i, r in enumerate(index.refs) if r.level == 4]
    leaves = list(Category.objects.filter(children__isnull=True, kind="matter").values_list("pk", flat=True))
    now = timezone.now()
    rows = []
    for n in range(OPEN_CASES):
        position = rng.choice(micro)
        west, south, east, north = index.geoms[position].bounds
        while True:
            lon, lat = rng.uniform(west, east), rng.uniform(south, north)
            if index.geoms[position].contains(shapely.Point(lon, lat)):
                break
        rows.append(
            Case(
                channel=Case.Channel.WORKER,
                state=rng.choice((Case.State.REGISTERED, Case.State.DISPATCHED)),
                category_id=rng.choice(leaves),
                description=f"基准案件 {n}：道路破损需要维修",
                grid_id=index.refs[position].id,
                lat=lat,
                lon=lon,
                reported_at=now,
                light=rng.choice((Case.Light.GREEN, Case.Light.GREEN, Case.Light.YELLOW, Case.Light.RED)),
            )
        )
    Case.objects.bulk_create(rows, batch_size=2000)
    log(f"{len(rows):,} open cases")
    return {"cases": len(rows), "password": DEMO_PASSWORD}


def old_way() -> dict:
    """Every polygon of the city down to the micro-grids in one GeoJSON, as the map loaded it before."""
    from django.test import Client

    from gridgov.accounts.models import User
    from gridgov.grids.models import Grid

    client = Client()
    client.force_login(User.objects.get(username="admin"))
    sizes, times = [], []
    for street in Grid.objects.filter(level=1).order_by("code"):
        started = time.perf_counter()
        response = client.get(f"/api/v1/grids/{street.code}/geojson?depth=3")
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(response.content))
    return {"bytes": sum(sizes), "ms": sum(times), "features": Grid.objects.filter(level__lte=4).count()}


# --- the browser ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FRAMES = """() => { window.__frames = []; let last = performance.now();
  const tick = (t) => {
    window.__frames.push(t - last); last = t; window.__raf = requestAnimationFrame(tick);
  };
  window.__raf = requestAnimationFrame(tick); }"""


def measure(env: dict, password: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "gridgov.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, "GRIDGOV_ALLOWED_HOSTS": "127.0.0.1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(port)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            results = [
                visit(page, base, "grid map", "/grids/map/", "#grid-map", zoom=True),
                visit(page, base, "case map (command centre)", "/console/dispatch/", "#case-map", zoom=False),
            ]
            browser.close()
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(port: int) -> None:
    for _n in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def visit(page, base: str, name: str, path: str, selector: str, zoom: bool) -> dict:
    transferred = []
    page.on("response", lambda r: transferred.append(r) if "/api/" in r.url else None)
    started = time.perf_counter()
    page.goto(f"{base}{path}")
    page.wait_for_selector(f"{selector}[data-loaded]", timeout=60_000)
    first = (time.perf_counter() - started) * 1000
    page.wait_for_load_state("networkidle")
    idle = (time.perf_counter() - started) * 1000
    sizes = [len(r.body()) for r in transferred if r.ok]
    drawn = page.locator(selector).get_attribute("data-loaded")
    box = page.locator(selector).bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(FRAMES)
    rng = random.Random(7)
    for _n in range(PANS):
        dx, dy = rng.choice((-150, 150)), rng.choice((-150, 0, 150))
        page.mouse.move(cx, cy)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(cx + dx * step / 10, cy + dy * step / 10)
        page.mouse.up()
        page.wait_for_timeout(120)
    page.wait_for_load_state("networkidle")
    frames = page.evaluate("() => { cancelAnimationFrame(window.__raf); return window.__frames.slice(1); }")
    zoom_ms = None
    if zoom:
        before = page.locator(selector).get_attribute("data-level")
        started = time.perf_counter()
        page.get_by_role("button", name="Zoom in").click()
        page.get_by_role("button", name="Zoom in").click()
        page.wait_for_function(
            f"document.querySelector('{selector}').dataset.level > '{before}'", timeout=30_000
        )
        zoom_ms = (time.perf_counter() - started) * 1000
    frames.sort()
    row = {
        "name": name,
        "path": path,
        "first_ms": first,
        "idle_ms": idle,
        "bytes": sum(sizes),
        "requests": len(sizes),
        "drawn": drawn,
        "frames": len(frames),
        "frame_p50": statistics.median(frames) if frames else 0.0,
        "frame_p95": frames[max(0, round(0.95 * len(frames)) - 1)] if frames else 0.0,
        "slow_frames": sum(1 for f in frames if f > 50),
        "zoom_ms": zoom_ms,
    }
    log(
        f"{name}: first {first:.0f} ms, idle {idle:.0f} ms, {row['bytes'] / 1024:.0f} KB in {len(sizes)} "
        f"requests, drawn {drawn}; frames p50 {row['frame_p50']:.1f} p95 {row['frame_p95']:.1f} ms, "
        f"{row['slow_frames']} over 50 ms of {len(frames)}" + (f"; zoom {zoom_ms:.0f} ms" if zoom_ms else "")
    )
    return row


def report(pages: list[dict], old: dict) -> str:
    from importlib.metadata import version

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPUs "
        f"(browser, server and database on the same machine), Python {platform.python_version()}, "
        f"{chromium}, Playwright {version('playwright')}, SQLite, gunicorn 2 workers; "
        f"load average at the end "
        f"{os.getloadavg()[0]:.1f}. `gridgov demo --profile jinhua --no-history --no-registry` (8 / 168 / "
        f"300 / 7,349 grids) and {OPEN_CASES:,} open cases inside the micro-grids; the administrator, who "
        "sees the whole city; a 1280×800 window; no base tiles.",
        "",
        "Targets (issue 22): interactive in < 2 s; smooth panning and zooming.",
        "",
        "| page | first drawn | network idle | API bytes (requests) | drawn | pan frames p50 / p95 "
        "| frames > 50 ms | two zoom steps | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in pages:
        verdict = "met" if p["first_ms"] < TARGET_MS else "**missed**"
        zoom = f"{p['zoom_ms']:.0f} ms" if p["zoom_ms"] else "—"
        lines.append(
            f"| {p['name']} (`{p['path']}`) | {p['first_ms']:.0f} ms | {p['idle_ms']:.0f} ms | "
            f"{p['bytes'] / 1024:,.0f} KB ({p['requests']}) | {p['drawn']} | {p['frame_p50']:.1f} / "
            f"{p['frame_p95']:.1f} ms | {p['slow_frames']} of {p['frames']} | {zoom} | {verdict} |"
        )
    lines += [
        "",
        f"The old way, for comparison: every polygon of the city down to the micro-grids "
        f"({old['features']:,} grids) as GeoJSON, one request per street, "
        f"{old['bytes'] / 1024 / 1024:.1f} MB "
        f"and {old['ms']:.0f} ms of server time before the browser parsed or drew any of it. The grid map "
        "now asks `GET /api/v1/grids/shapes` for the grids in view, as deep as the zoom shows, outlines "
        "simplified to half a pixel (`grids/shapes.py`), again after every move.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
