"""Every workbench and list page at 1,000,000 cases on PostgreSQL: server time per page and role (issue 22).

    .venv/bin/python bench/consoles.py --prepare     # make the data once (≈ 15 min), then measure
    .venv/bin/python bench/consoles.py               # measure the prepared database again
    .venv/bin/python bench/consoles.py --drop        # drop the prepared database and its var directory

The data: `bench/analytics.py --cases 1000000 --years 1 --keep --rollups-only` into the scratch
database `gridgov_bench_consoles` — the fengqiao demo district (`gridgov demo --no-history`: grids,
departments, staff, routing rules, the registry in the demo's communities), a year of 1,000,000 cases
following the demo's mix (channels, categories, grids, departments, states, the last days open), loaded
with COPY, VACUUM ANALYZE, the rollups built. `--prepare` runs it; without it the kept database is
measured again (migrated first: the code may be newer).

The measurement: Django's test client in this process (server time, no network, no gunicorn), logged
in as each demo account; per page one warm-up request, then `--rounds` requests: p50, p95, max, the
SQL statements of the last request and the answer's size. Target (issue 22): p95 < 150 ms.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scratch import ROOT, database_url, loopback_only, recreate_database, write_section

DOC = ROOT / "docs" / "performance.md"
SECTION = "consoles"
HEADING = "## Workbenches and lists at 1,000,000 cases (`bench/consoles.py`)"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_P95_MS = 150.0
CASES = 1_000_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pages(today) -> list[tuple[str, str, str]]:
    """(account, page, url): what each role opens first and the lists it filters."""
    month = (today.replace(day=1)).isoformat()
    return [
        ("dispatcher", "dispatch workbench", "/console/dispatch/"),
        ("dispatcher", "dispatch queue (htmx)", "/console/dispatch/queue/"),
        ("dispatcher", "case list", "/cases/"),
        ("dispatcher", "case list, open and red", "/cases/?open=true&light=red"),
        ("dispatcher", "case list, a class this month", f"/cases/?category=06&date_from={month}"),
        ("dispatcher", "case list, text search", "/cases/?q=%E5%9E%83%E5%9C%BE"),  # 垃圾: one case in nine
        ("dispatcher", "case list, a rarer word", "/cases/?q=%E4%BA%95%E7%9B%96"),  # 井盖: one in forty
        ("dispatcher", "cases API, open", "/api/v1/cases?open=true"),
        ("handler", "handler workbench", "/console/handler/"),
        ("handler", "case list, open", "/cases/?open=true"),
        ("worker", "worker workbench (tasks)", "/console/worker/"),
        ("worker", "registry search", "/api/v1/registry/people?q=%E7%8E%8B"),
        ("worker", "visits due", "/api/v1/registry/visits/due"),
        ("gridleader", "case list, open", "/cases/?open=true"),
        ("community", "leader workbench", "/console/leader/"),
        ("leader", "leader workbench", "/console/leader/"),
        ("leader", "case list, open and red", "/cases/?open=true&light=red"),
    ]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prepare", action="store_true", help="make the data first (bench/analytics.py)")
    parser.add_argument("--drop", action="store_true", help="drop the prepared database and stop")
    parser.add_argument("--rounds", type=int, default=30, help="requests per page (default 30)")
    parser.add_argument("--pg", default=os.environ.get("GRIDGOV_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--database", default="gridgov_bench_consoles")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--measure-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    loopback_only(args.pg)
    return args


def var_dir(args) -> Path:
    return Path(tempfile.gettempdir()) / f"gridgov-bench-{args.database}"  # as bench/analytics.py keeps it


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.measure_child:
        return measure(args)
    if args.drop:
        recreate_database(args.pg, args.database, drop_only=True)
        shutil.rmtree(var_dir(args), ignore_errors=True)
        return 0
    if args.prepare:
        prepare = [
            sys.executable,
            str(ROOT / "bench" / "analytics.py"),
            "--cases",
            str(CASES),
            "--years",
            "1",
            "--database",
            args.database,
            "--pg",
            args.pg,
            "--keep",
            "--rollups-only",
            "--no-write",
        ]
        subprocess.run(prepare, cwd=ROOT, check=True)
    if not (var_dir(args) / "bench-meta.json").exists():
        raise SystemExit("nothing prepared: run with --prepare first")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GRIDGOV_DEBUG")}
    env.update(
        DATABASE_URL=database_url(args.pg, args.database),
        GRIDGOV_VAR_DIR=str(var_dir(args)),
        DJANGO_SETTINGS_MODULE="gridgov.settings",
        GRIDGOV_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    subprocess.run(
        [sys.executable, "-m", "gridgov", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=1800,
    )
    out = var_dir(args) / "consoles.json"
    child = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--measure-child",
        "--rounds",
        str(args.rounds),
        "--database",
        args.database,
        "--pg",
        args.pg,
    ]
    subprocess.run(child, cwd=ROOT, env={**env, "GRIDGOV_BENCH_RESULT": str(out)}, check=True, timeout=3600)
    results = json.loads(out.read_text())
    text = report(args, results)
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, HEADING, text)
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0 if all(r["p95"] < TARGET_P95_MS and r["status"] == 200 for r in results["rows"]) else 1


def measure(args) -> int:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client
    from django.utils import timezone

    from gridgov.accounts.models import User
    from gridgov.cases.models import Case

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    meta = json.loads((var_dir(args) / "bench-meta.json").read_text())
    summary = {
        "cases": Case.objects.count(),
        "open": Case.objects.exclude(state__in=("closed", "rejected", "merged")).count(),
        "generated": meta["generation"].get("generated_at", ""),
    }
    log(f"{summary['cases']:,} cases, {summary['open']:,} open")
    # As the huey job keeps them in production (every few minutes): rollups older than
    # GRIDGOV_ROLLUP_MAX_AGE_SECONDS are not used, and the figures would be counted live.
    from gridgov.analytics import rollups

    started = time.perf_counter()
    rollups.refresh()
    log(f"rollups refreshed in {time.perf_counter() - started:.1f} s")
    rows, clients = [], {}
    for username, page, url in pages(timezone.localdate()):
        if username not in clients:
            clients[username] = Client()
            clients[username].force_login(User.objects.get(username=username))
        client = clients[username]
        response = client.get(url)  # warm-up
        times = []
        for _n in range(args.rounds):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        connection.force_debug_cursor = True
        reset_queries()
        client.get(url)
        queries = len(connection.queries)
        connection.force_debug_cursor = False
        times.sort()
        row = {
            "user": username,
            "page": page,
            "url": url,
            "status": response.status_code,
            "p50": statistics.median(times),
            "p95": times[max(0, round(0.95 * len(times)) - 1)],
            "max": times[-1],
            "sql": queries,
            "kb": len(response.content) / 1024,
        }
        rows.append(row)
        log(
            f"{username:<11} {page:<32} {row['status']} p50 {row['p50']:6.1f} p95 {row['p95']:6.1f} "
            f"max {row['max']:6.1f} ms, {queries} SQL, {row['kb']:.0f} KB"
        )
    Path(os.environ["GRIDGOV_BENCH_RESULT"]).write_text(
        json.dumps({"summary": summary, "rows": rows, "database": database_label()})
    )
    return 0


def database_label() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"


def report(args, results: dict) -> str:
    s = results["summary"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {results['database']}; load average at the start "
        f"{os.getloadavg()[0]:.1f}. The fengqiao demo district with **{s['cases']:,} cases over a year** "
        f"({s['open']:,} open), made by `bench/analytics.py --cases 1000000 --years 1` (the demo's mix, "
        "COPY, VACUUM ANALYZE, rollups built). Django's test client in one process (server time, no "
        f"network), each demo account logged in; one warm-up request, then {args.rounds} per page.",
        "",
        "Target (issue 22): every workbench and list page p95 < 150 ms.",
        "",
        "| account | page | URL | status | p50 ms | p95 ms | max ms | SQL | answer | target |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results["rows"]:
        verdict = "met" if r["p95"] < TARGET_P95_MS and r["status"] == 200 else "**missed**"
        lines.append(
            f"| {r['user']} | {r['page']} | `{r['url']}` | {r['status']} | {r['p50']:.0f} | {r['p95']:.0f} | "
            f"{r['max']:.0f} | {r['sql']} | {r['kb']:.0f} KB | {verdict} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
