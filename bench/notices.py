"""A notice to every building head of a Xicheng-sized district: sent, and its receipts followed.

    .venv/bin/python bench/notices.py                     # 34,210 building heads (issue 22)
    .venv/bin/python bench/notices.py --quick --no-write  # smoke test: 2,000 heads, few rounds

A scratch PostgreSQL database (dropped at the end) and a temporary GRIDGOV_VAR_DIR; the fengqiao
demo district without its registry and case history; then, in one Django process:

1. N building heads (accounts with one building-head assignment each, spread over the buildings
   (micro-grids) of the demo leader's area as the registry's heads would be), bulk-created.
2. The demo's leader publishes a notice to the building heads of their whole area, with a
   receipt asked for (`engagement.services.publish`), and the fan-out runs as the huey job does
   (`services.fan_out`: one in-app notification and one delivery row per head). "Sent" is the
   time from publishing to the fan-out's commit. Target (issue 22): < 10 s.
3. 60 % of the heads open it, half of those confirm (receipts bulk-created, as days of use
   would leave them), then VACUUM ANALYZE. The receipt progress page (`/notices/<id>/receipts/`,
   the publisher's view: counts and the first page of people still to act) and the API
   (`/api/v1/notices/<id>/receipts`, all and each status) are requested through Django's test
   client in the same process (server time, no network), after a warm-up. Target: < 200 ms.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from scratch import ROOT, loopback_only, manage, scratch_site, write_section

DOC = ROOT / "docs" / "performance.md"
SECTION = "notices"
HEADING = "## A notice to every building head (`bench/notices.py`)"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_SENT_S = 10.0
TARGET_PAGE_MS = 200.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heads", type=int, default=34_210)
    parser.add_argument("--rounds", type=int, default=30, help="requests per page and status")
    parser.add_argument("--quick", action="store_true", help="2,000 heads, 5 rounds")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--pg", default=os.environ.get("GRIDGOV_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--database", default="gridgov_bench_notices")
    parser.add_argument("--keep", action="store_true", help="keep the database and var dir")
    parser.add_argument("--in-django", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.heads, args.rounds = min(args.heads, 2_000), min(args.rounds, 5)
    loopback_only(args.pg)
    return args


# --- the parent: a scratch database, the demo, then the measuring child -----------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.in_django:
        return measure(args)
    started = time.perf_counter()
    with scratch_site(args.pg, args.database, "gridgov-bench-notices-", keep=args.keep, log=log) as env:
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "demo", "--profile", "fengqiao", "--no-history", "--no-registry", "-v", "0")
        log(f"district ready in {time.perf_counter() - started:.0f} s")
        child = [sys.executable, str(Path(__file__).resolve()), "--in-django", "--heads", str(args.heads),
                 "--rounds", str(args.rounds)] + (["--no-write"] if args.no_write else [])
        return subprocess.run(child, cwd=ROOT, env=env, timeout=3600).returncode


# --- the child: Django set up on the scratch database ------------------------------------------


def measure(args) -> int:
    import django

    django.setup()
    from django.db import connection

    area = publishing_area()
    heads = make_heads(args.heads, area)
    notice, sent_s, fanned = send_notice(area)
    read, confirmed = answer(notice, heads)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    pages = time_pages(notice, args.rounds)
    checks = {"deliveries": fanned == heads_in(area), "read": read, "confirmed": confirmed}
    text = report(args, len(heads), sent_s, fanned, pages, checks)
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, HEADING, text)
        log(f"wrote {DOC.relative_to(ROOT)}")
    ok = checks["deliveries"] and sent_s < TARGET_SENT_S and all(p["p95"] < TARGET_PAGE_MS for p in pages)
    return 0 if ok else 1


def publishing_area():
    """The widest grid the demo's leader publishes to (their street or community)."""
    from gridgov.engagement import services

    return services.publish_grids(publisher()).order_by("level", "code").first()


def make_heads(count: int, area) -> list[int]:
    """`count` building heads over the area's buildings, round-robin, bulk-created."""
    from gridgov.accounts.models import Assignment, Role, User
    from gridgov.grids.models import Grid

    started = time.perf_counter()
    inside = Grid.objects.filter(code__startswith=area.code)
    deepest = inside.order_by("-level").values_list("level", flat=True).first()
    buildings = list(inside.filter(level=deepest).order_by("code").values_list("pk", flat=True))
    users = User.objects.bulk_create(
        [User(username=f"bh{i:06d}", name=f"楼栋长{i}", password="!") for i in range(count)], batch_size=2000
    )
    Assignment.objects.bulk_create(
        [Assignment(user=u, role=Role.BUILDING_HEAD, grid_id=buildings[i % len(buildings)])
         for i, u in enumerate(users)],
        batch_size=2000,
    )
    log(f"{count} building heads over {len(buildings)} buildings of {area.name} "
        f"in {time.perf_counter() - started:.1f} s")
    return [u.pk for u in users]


def heads_in(area) -> int:
    """Every building head of the area: ours and the demo's own."""
    from gridgov.accounts.models import Assignment, Role

    heads = Assignment.objects.filter(role=Role.BUILDING_HEAD, is_active=True)
    rows = heads.filter(grid__code__startswith=area.code)
    return rows.values("user_id").distinct().count()


def publisher():
    from gridgov.accounts.models import User

    return User.objects.get(username="leader")


def send_notice(area):
    """Publish to the area's building heads and fan out as the job does; (notice, seconds, rows)."""
    from django.db import transaction

    from gridgov.engagement import services
    from gridgov.engagement.models import Notice, NoticeDelivery

    leader = publisher()
    data = services.NoticeData(
        title="关于开展楼道堆物清理的通知", body="请各楼栋长于本周五前组织清理楼道堆物。",
        grid_code=area.code, audience=Notice.Audience.BUILDING_HEADS, requires_receipt=True)
    started = time.perf_counter()
    with transaction.atomic():
        notice = services.publish(leader, data)  # queues the huey job on commit
    services.fan_out(notice.pk)  # what that job does, run here in line and timed
    seconds = time.perf_counter() - started
    rows = NoticeDelivery.objects.filter(notice=notice, channel=NoticeDelivery.Channel.APP).count()
    log(f"sent to {rows} building heads in {seconds:.2f} s")
    return notice, seconds, rows


def answer(notice, heads: list[int]) -> tuple[bool, bool]:
    """60 % read, half of those confirmed; whether the progress counts say so exactly."""
    from datetime import timedelta

    from django.utils import timezone

    from gridgov.engagement import services
    from gridgov.engagement.models import NoticeReceipt

    now = timezone.now()
    read = heads[: len(heads) * 6 // 10]
    confirmed = set(read[: len(read) // 2])
    NoticeReceipt.objects.bulk_create(
        [NoticeReceipt(notice=notice, user_id=u, read_at=now - timedelta(hours=2),
                       confirmed_at=now - timedelta(hours=1) if u in confirmed else None) for u in read],
        batch_size=2000,
    )
    progress = services.receipt_progress(notice, viewer=publisher())
    return progress.read == len(read), progress.confirmed == len(confirmed)


def time_pages(notice, rounds: int) -> list[dict]:
    from django.test import Client

    client = Client()
    client.force_login(publisher())
    urls = [("progress page", f"/notices/{notice.pk}/receipts/")]
    urls += [(f"progress page, {s}", f"/notices/{notice.pk}/receipts/?status={s}")
             for s in ("unread", "read")]
    urls += [("API, all", f"/api/v1/notices/{notice.pk}/receipts")]
    urls += [(f"API, {s}", f"/api/v1/notices/{notice.pk}/receipts?status={s}")
             for s in ("unread", "read", "confirmed")]
    rows = []
    for name, url in urls:
        assert client.get(url).status_code == 200, url  # warm-up, and the answer is a page
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        times.sort()
        rows.append({"name": name, "p50": statistics.median(times),
                     "p95": times[max(0, round(0.95 * len(times)) - 1)], "max": times[-1]})
        log(f"{name}: p50 {rows[-1]['p50']:.0f} ms, p95 {rows[-1]['p95']:.0f} ms")
    return rows


def report(args, heads: int, sent_s: float, fanned: int, pages: list[dict], checks: dict) -> str:
    import platform

    from django.db import connection

    verdict = "met" if sent_s < TARGET_SENT_S else "**missed**"
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on PostgreSQL {connection.pg_version // 10000}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; the fengqiao district without "
        f"its registry, {heads:,} building heads over the buildings of the demo leader's area; "
        f"{args.rounds} requests per row through Django's test client in one process "
        "(server time, no network).",
        "",
        f"- **Sent**: publishing to the area's building heads and the fan-out (one in-app "
        f"notification and one delivery row each, in batches of 1,000) took **{sent_s:.2f} s** for "
        f"{fanned:,} heads — target < {TARGET_SENT_S:.0f} s: {verdict}. Every head got exactly one "
        f"delivery: {'yes' if checks['deliveries'] else '**no**'}.",
        f"- **Receipts**: 60 % read, half of them confirmed; the progress counts agree exactly: "
        f"{'yes' if checks['read'] and checks['confirmed'] else '**no**'}.",
        "",
        "| request | p50 ms | p95 ms | max ms | target < 200 ms (p95) |",
        "|---|---:|---:|---:|---|",
    ]
    for row in pages:
        ok = "met" if row["p95"] < TARGET_PAGE_MS else "**missed**"
        lines.append(f"| {row['name']} | {row['p50']:.0f} | {row['p95']:.0f} | {row['max']:.0f} | {ok} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
