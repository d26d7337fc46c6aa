"""Volunteers over HTTP: 1,000 check-ins to one activity within a minute; the balance at 10,000 entries.

    .venv/bin/python bench/volunteers.py                    # 1,000 volunteers, 60 s and a 10 s rush
    .venv/bin/python bench/volunteers.py --quick --no-write # smoke test: 100 volunteers, 10 s

Self-contained like bench/intake.py (whose helpers it imports): a scratch PostgreSQL database
(dropped at the end), a temporary GRIDGOV_VAR_DIR, the fengqiao demo district without its
registry, gunicorn (2 gthread workers × 4 threads) on a free loopback port.

1. Check-in burst. N approved volunteers of the demo grid leader's grid, each with a bearer
   token of their own, are signed up to two identical activities (started, quota N), one per
   scenario: (a) the N check-ins spread evenly over 60 s, (b) a rush, all N in the first 10 s.
   Open loop: every check-in starts at its scheduled time on a connection of its own, whatever
   the others do; its latency runs from that time to the last byte of the answer. Every other
   check-in carries the organizer's QR code, which the organizer fetches as the screen does
   (GET …/qr, again after `refresh_in`, 30 s), the rest a position within the activity's
   radius. Then, in the database: exactly N attendances, none twice, none for anybody else;
   100 of the check-ins are sent again and must answer 200 with the same record, adding none.
   Target (issue 15): (a) without errors, p99 < 500 ms; (b) as measured.
2. Balance at 10,000 entries. One volunteer with 10,000 ledger entries and N others with
   15–25 each (earned at closed activities they attended, awarded, redeemed in the shop, some
   redemptions refunded), bulk-created in shuffled order so that a volunteer's rows are spread
   over the table as years of use would leave them, then VACUUM ANALYZE (what autovacuum does
   after such a load). `balance_of` is timed in one process (after a warm-up), GET
   /api/v1/volunteers/me over HTTP on one keep-alive connection; on PostgreSQL, and
   `balance_of` on SQLite too. Target: p99 < 20 ms for the API call.
"""

import argparse
import asyncio
import datetime
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from intake import (
    DEFAULT_PG,
    HOST,
    QUIET_CPUS,
    ROOT,
    Outcome,
    Server,
    ServerConfig,
    build_district,
    cpu_delta,
    cpu_seconds,
    get_tokens,
    gunicorn_version,
    load,
    log,
    machine_busy,
    percentile,
    postgres_pids,
    postgres_version,
    read_response,
    wait_for_quiet,
)
from scratch import database_url, loopback_only, recreate_database, write_section

DOC = ROOT / "docs" / "performance.md"
SECTION = "volunteers"
HEADING = "## Volunteers (`bench/volunteers.py`)"
PASSWORD = "gridgov-demo-2026"  # the demo accounts'
ORGANIZER = "gridleader"  # the demo grid leader: publishes the activities, shows the QR code
TARGET_P99_CHECKIN_MS = 500.0
TARGET_P99_ME_MS = 20.0
PHONE_TIMEOUT_S = 10.0  # a check-in the app gives up on counts as an error
RESENT = 100

# Every Django-side step runs in a process of its own with the bench environment; this comes
# first. `params` is the step's JSON argument, `out` what it prints back.
PRELUDE = r"""
import json, random, sys, time
from datetime import timedelta

import django

django.setup()
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from gridgov.accounts.auth import issue_token
from gridgov.accounts.models import Assignment, Role, User
from gridgov.volunteers import services
from gridgov.volunteers.models import (
    Activity, Attendance, Order, PointEntry, ShopItem, Signup, Volunteer, balance_of,
)

params = json.loads(sys.argv[1])
rng = random.Random(params.get("seed", 2026))
now = timezone.now()
organizer = User.objects.get(username=params["organizer"])
grid = Assignment.objects.get(user=organizer, role=Role.GRID_LEADER, is_active=True).grid


def make_volunteers(prefix, count):
    # Residents of the organizer's grid, approved volunteers there: one bulk insert per table.
    password = make_password(None)
    users = User.objects.bulk_create(
        [User(username=f"{prefix}{i:05d}", name=f"志愿者{i + 1}", password=password) for i in range(count)])
    Assignment.objects.bulk_create([Assignment(user=u, role=Role.RESIDENT, grid=grid) for u in users])
    return Volunteer.objects.bulk_create([
        Volunteer(user=u, grid=grid, state=Volunteer.State.APPROVED, applied_at=now - timedelta(days=30),
                  decided_at=now - timedelta(days=29), decided_by=organizer) for u in users])
"""

# Two activities under way at the grid's centre, and the volunteers signed up to both.
CHECKIN_SETUP = r"""
count = params["volunteers"]
volunteers = make_volunteers("vcheck", count)
activities = [services.publish(organizer, {
    "grid_code": grid.code, "title": title, "kind": "environment", "address": "社区服务中心广场",
    "lat": grid.centroid_lat, "lon": grid.centroid_lon, "starts_at": now - timedelta(minutes=10),
    "ends_at": now + timedelta(hours=3), "signup_deadline": now + timedelta(hours=3),
    "quota": count, "points_rule": "fixed", "points": 20, "radius_m": 200,
}) for title in params["titles"]]
for activity in activities:
    Signup.objects.bulk_create([
        Signup(activity=activity, volunteer=v, state="signed_up", queued_at=now - timedelta(days=1))
        for v in volunteers])
with transaction.atomic():
    tokens = [issue_token(v.user, "bench/volunteers") for v in volunteers]
out = {"grid": f"{grid.code} {grid.name}", "activities": [a.pk for a in activities],
       "lat": activities[0].lat, "lon": activities[0].lon, "radius_m": activities[0].radius_m,
       "volunteers": [[v.pk, t] for v, t in zip(volunteers, tokens)]}
"""

VERIFY = r"""
rows = Attendance.objects.filter(activity_id=params["activity"])
per = rows.order_by().values("volunteer_id").annotate(n=Count("id"))
out = {"rows": rows.count(), "volunteers": per.count(), "twice": per.filter(n__gt=1).count(),
       "strangers": rows.exclude(volunteer_id__in=params["expected"]).count(),
       "methods": {r["check_in_method"]: r["n"]
                   for r in rows.order_by().values("check_in_method").annotate(n=Count("id"))}}
"""

# The ledger: shares of a volunteer's entries by kind; a refund gives back one redemption.
LEDGER_SETUP = r"""
MIX = {"earn": 0.58, "award": 0.14, "redeem": 0.20, "refund": 0.08}
ITEMS = [("环保购物袋", 30), ("毛巾", 50), ("大米 5 kg", 120), ("食用油", 150), ("理发券", 80)]


def mix(n):
    counts = {kind: round(n * share) for kind, share in MIX.items()}
    counts["earn"] += n - sum(counts.values())
    return counts


def past_activities(count):
    # Closed activities over the last years, each two hours long, at fixed points.
    rows = []
    for i in range(count):
        start = now - timedelta(days=1100) + timedelta(hours=4 * i)
        rows.append(Activity(
            grid=grid, title=f"社区服务第{i + 1}期", kind="environment", lat=grid.centroid_lat,
            lon=grid.centroid_lon, starts_at=start, ends_at=start + timedelta(hours=2),
            signup_deadline=start, quota=50, points_rule="fixed", points=rng.randint(10, 40),
            state="closed", organizer=organizer, closed_at=start + timedelta(hours=2)))
    return Activity.objects.bulk_create(rows, batch_size=2000)


def earned(volunteer, activities, entries, attendance):
    for a in activities:
        attendance.append(Attendance(
            activity=a, volunteer=volunteer, checked_in_at=a.starts_at, checked_out_at=a.ends_at,
            check_in_method="qr", check_out_method="closing"))
        entries.append(PointEntry(volunteer=volunteer, amount=a.points, kind="earn", reason=a.title,
                                  approver=organizer, activity=a))


def spent(volunteer, counts, items, orders):
    # (order, refunded) pairs: the first `refund` redemptions were cancelled and refunded.
    for i, item in enumerate(rng.choices(items, k=counts["redeem"])):
        refunded = i < counts["refund"]
        orders.append((Order(volunteer=volunteer, item=item, points=item.price,
                             state="cancelled" if refunded else "fulfilled", closed_by=organizer,
                             closed_at=now), refunded))


others = make_volunteers(params["prefix"] + "o", params["others"])
heavy = make_volunteers(params["prefix"] + "h", 1)[0]
sizes = {heavy: params["entries"], **{v: rng.randint(15, 25) for v in others}}
plans = {v: mix(n) for v, n in sizes.items()}
pool = past_activities(max(p["earn"] for p in plans.values()))
items = ShopItem.objects.bulk_create([ShopItem(name=n, price=p, stock=100000, pickup_point="社区服务中心",
                                               grid=grid) for n, p in ITEMS])
entries, attendance, orders = [], [], []
for v, counts in plans.items():
    earned(v, rng.sample(pool, counts["earn"]), entries, attendance)
    entries += [PointEntry(volunteer=v, amount=rng.randint(5, 50), kind="award", reason="表现突出",
                           approver=organizer) for _ in range(counts["award"])]
    spent(v, counts, items, orders)
Order.objects.bulk_create([o for o, _refunded in orders], batch_size=5000)
for order, refunded in orders:
    entries.append(PointEntry(volunteer=order.volunteer, amount=-order.points, kind="redeem",
                              reason=order.item.name, order=order))
    if refunded:
        entries.append(PointEntry(volunteer=order.volunteer, amount=order.points, kind="refund",
                                  reason=order.item.name, order=order, approver=organizer))
rng.shuffle(entries)
rng.shuffle(attendance)
with transaction.atomic():
    Attendance.objects.bulk_create(attendance, batch_size=5000)
    PointEntry.objects.bulk_create(entries, batch_size=5000)
analyze = "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE"
with connection.cursor() as cursor:
    for model in (PointEntry, Attendance, Activity, Order, Volunteer):
        cursor.execute(f"{analyze} {model._meta.db_table}")
expected = {}
for e in entries:
    expected[e.volunteer_id] = expected.get(e.volunteer_id, 0) + e.amount
typical = others[0]
out = {"heavy": heavy.pk, "typical": typical.pk, "typical_entries": sizes[typical],
       "expected": {"heavy": expected[heavy.pk], "typical": expected[typical.pk]},
       "heavy_mix": plans[heavy], "heavy_attendance": plans[heavy]["earn"],
       "entries": len(entries), "orders": len(orders), "attendance": len(attendance), "activities": len(pool),
       "tokens": {"heavy": issue_token(heavy.user, "bench/volunteers"),
                  "typical": issue_token(typical.user, "bench/volunteers")}}
"""

# balance_of (and hours_of, the other half of /me) timed in-process after a warm-up; the plan.
TIMING = r"""
from gridgov.volunteers.services import hours_of


def timed(fn, calls):
    for _ in range(5):
        fn()
    spent = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


table = PointEntry._meta.db_table
sql = f"SELECT SUM(amount) FROM {table} WHERE volunteer_id = %s"
explain = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
out = {"balance": {}, "ms": {}, "plan": {}}
for key, pk in params["volunteers"].items():
    out["balance"][key] = balance_of(pk)
    out["ms"][f"balance_of {key}"] = timed(lambda pk=pk: balance_of(pk), params["calls"])
    volunteer = Volunteer.objects.get(pk=pk)
    out["ms"][f"hours_of {key}"] = timed(lambda v=volunteer: hours_of(v), params["hours_calls"])
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, [pk])
        out["plan"][key] = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
"""


def django_json(env: dict, code: str, **params) -> dict:
    """Run PRELUDE + `code` in a Django process of the bench environment: the `out` it sets."""
    script = PRELUDE + code + "\nprint(json.dumps(out))\n"
    params.setdefault("organizer", ORGANIZER)
    result = subprocess.run([sys.executable, "-c", script, json.dumps(params)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"a Django step failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_env(database_url_: str, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GRIDGOV_DEBUG")}
    env.update(DATABASE_URL=database_url_, GRIDGOV_VAR_DIR=str(var_dir), GRIDGOV_ALLOWED_HOSTS=HOST,
               DJANGO_SETTINGS_MODULE="gridgov.settings", GRIDGOV_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    return env


# --- measuring ---------------------------------------------------------------------------

class CpuMeter:
    """CPU seconds between enter and exit: gunicorn's processes, the bench database's
    PostgreSQL backends, this process (the load generator), and the rest of the machine."""

    def __init__(self, server: Server, database: str):
        self.server, self.database = server, database

    def __enter__(self) -> "CpuMeter":
        self._pids, self._pg_pids = self.server.pids(), postgres_pids(self.database)
        self._gunicorn, self._pg = cpu_seconds(self._pids), cpu_seconds(self._pg_pids)
        self._busy, self._me, self._wall = machine_busy(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.client = time.process_time() - self._me
        self.gunicorn = cpu_delta(self._gunicorn, cpu_seconds(set(self._pids) | set(self.server.pids())))
        pg_now = set(self._pg_pids) | set(postgres_pids(self.database))
        self.pg = cpu_delta(self._pg, cpu_seconds(pg_now))
        busy = machine_busy() - self._busy
        self.others = max(0.0, busy - self.gunicorn - self.pg - self.client)


def spread(latencies_s: list[float]) -> dict:
    lat = sorted(latencies_s)
    return {"p50": percentile(lat, 0.50) * 1000, "p95": percentile(lat, 0.95) * 1000,
            "p99": percentile(lat, 0.99) * 1000, "max": (lat[-1] if lat else float("nan")) * 1000}


# --- the check-in burst ------------------------------------------------------------------

@dataclass
class Screen:
    """The organizer's screen: the QR code it shows now, and how fetching it went."""

    token: str = ""
    fetches: list[float] = field(default_factory=list)
    failures: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


def raw_request(port: int, method: str, path: str, token: str, body: dict | None = None) -> bytes:
    """One request on a connection of its own (a phone's, the screen's): Connection: close."""
    data = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Accept: application/json\r\nConnection: close\r\n")
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode() + data


async def exchange(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        status, _keep, body = await read_response(reader)
        return status, body
    finally:
        writer.close()


async def organizer_screen(port: int, activity_id: int, token: str, screen: Screen, stop: asyncio.Event):
    """Fetch the code, show it, fetch the next one after `refresh_in` seconds, until stopped."""
    request = raw_request(port, "GET", f"/api/v1/volunteers/activities/{activity_id}/qr", token)
    while True:
        started = time.perf_counter()
        refresh = 1.0
        try:
            status, body = await asyncio.wait_for(exchange(port, request), PHONE_TIMEOUT_S)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            status, body = 0, b""
        if status == 200:
            answer = json.loads(body)
            screen.token, refresh = answer["token"], answer["refresh_in"]
            screen.fetches.append(time.perf_counter() - started)
        else:
            screen.failures += 1
        screen.ready.set()
        try:
            await asyncio.wait_for(stop.wait(), refresh)
            return
        except TimeoutError:
            pass


def near(lat: float, lon: float, metres: float, rng: random.Random) -> tuple[float, float]:
    """A random point within `metres` of (lat, lon): a phone's fix at the gathering place."""
    distance, angle = metres * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(angle) / 111_320
    dlon = distance * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return round(lat + dlat, 7), round(lon + dlon, 7)


@dataclass
class CheckIn:
    volunteer_id: int
    token: str
    by_qr: bool
    position: tuple[float, float]
    sent: bytes = b""  # the request as first sent: a retry sends it again
    status: int = 0
    record: int | None = None  # the attendance id answered


async def send_at(port: int, at: float, check_in: CheckIn, make, outcome: Outcome, lags: list) -> None:
    """Open loop: start at `at` whatever the others do; the latency counts from `at`."""
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    lags.append(time.perf_counter() - at)
    request = make(check_in)
    try:
        status, body = await asyncio.wait_for(exchange(port, request), PHONE_TIMEOUT_S)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
        outcome.fail("timeout" if isinstance(exc, TimeoutError) else type(exc).__name__, str(exc))
        return
    check_in.status = status
    if 200 <= status < 300:
        outcome.latencies.append(time.perf_counter() - at)
        check_in.record = json.loads(body)["id"]
    else:
        outcome.fail(status, body.decode("utf-8", "replace"))


async def _burst(port: int, activity_id: int, organizer_token: str, plan: list[CheckIn],
                 seconds: float) -> tuple[Outcome, Screen, list, float]:
    screen, stop, outcome, lags = Screen(), asyncio.Event(), Outcome(), []
    shown = asyncio.create_task(organizer_screen(port, activity_id, organizer_token, screen, stop))
    await screen.ready.wait()
    path = f"/api/v1/volunteers/activities/{activity_id}/check-in"

    def make(c: CheckIn) -> bytes:
        proof = {"token": screen.token} if c.by_qr else {"lat": c.position[0], "lon": c.position[1]}
        c.sent = raw_request(port, "POST", path, c.token, proof)
        return c.sent

    start = time.perf_counter() + 0.2
    step = seconds / len(plan)
    await asyncio.gather(*(send_at(port, start + i * step, c, make, outcome, lags)
                           for i, c in enumerate(plan)))
    elapsed = time.perf_counter() - start
    stop.set()
    await shown
    return outcome, screen, lags, elapsed


def burst(server: Server, database: str, name: str, activity_id: int, organizer_token: str,
          plan: list[CheckIn], seconds: float) -> dict:
    with CpuMeter(server, database) as cpu:
        outcome, screen, lags, elapsed = asyncio.run(
            _burst(server.port, activity_id, organizer_token, plan, seconds))
    ok = len(outcome.latencies)
    row = {"scenario": name, "requests": len(plan), "ok": ok, "errors": sum(outcome.statuses.values()),
           "statuses": outcome.statuses, "samples": outcome.samples, "window": seconds,
           "offered": len(plan) / seconds, "achieved": ok / elapsed, "elapsed": elapsed,
           **spread(outcome.latencies), "lag_max": max(lags) * 1000,
           "gunicorn_s": cpu.gunicorn, "pg_s": cpu.pg, "gunicorn_cpus": cpu.gunicorn / cpu.wall,
           "pg_cpus": cpu.pg / cpu.wall, "gunicorn_ms": cpu.gunicorn / max(ok, 1) * 1000,
           "pg_ms": cpu.pg / max(ok, 1) * 1000, "client_cpus": cpu.client / cpu.wall,
           "others": cpu.others / cpu.wall, "qr_fetches": len(screen.fetches),
           "qr_failures": screen.failures, "qr_ms": spread(screen.fetches)["max"]}
    errors = f"; errors {outcome.statuses}" if outcome.statuses else ""
    log(f"  {name}: {ok}/{len(plan)} in {elapsed:.1f} s ({row['achieved']:.1f}/s), p50 {row['p50']:.0f} "
        f"p95 {row['p95']:.0f} p99 {row['p99']:.0f} max {row['max']:.0f} ms; gunicorn "
        f"{row['gunicorn_cpus']:.2f} CPUs ({row['gunicorn_ms']:.1f} ms/check-in), PostgreSQL "
        f"{row['pg_cpus']:.2f} CPUs; client lag ≤ {row['lag_max']:.0f} ms; {len(screen.fetches)} QR "
        f"fetches{errors}")
    for sample in outcome.samples:
        log(f"    {sample}")
    return row


async def _resend(port: int, retries: list[CheckIn], seconds: float) -> list[tuple[int, int | None]]:
    """Send the stored requests again (open loop over `seconds`): (status, record) of each."""
    async def again(at: float, c: CheckIn) -> tuple[int, int | None]:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        try:
            status, body = await asyncio.wait_for(exchange(port, c.sent), PHONE_TIMEOUT_S)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            return 0, None
        return status, json.loads(body).get("id") if status == 200 else None

    start, step = time.perf_counter(), seconds / len(retries)
    return await asyncio.gather(*(again(start + i * step, c) for i, c in enumerate(retries)))


def verify(env: dict, server: Server, activity_id: int, plan: list[CheckIn], rng: random.Random) -> dict:
    """Exactly one attendance per volunteer; RESENT check-ins again: 200, the same record, no row."""
    expected = [c.volunteer_id for c in plan]
    before = django_json(env, VERIFY, activity=activity_id, expected=expected)
    answered = [c for c in plan if c.record is not None]
    retries = rng.sample(answered, min(RESENT, len(answered)))
    answers = asyncio.run(_resend(server.port, retries, 1.0))
    after = django_json(env, VERIFY, activity=activity_id, expected=expected)
    same = sum(1 for c, (status, record) in zip(retries, answers, strict=True)
               if status == 200 and record == c.record)
    n = len(plan)
    result = {"rows": before["rows"], "volunteers": before["volunteers"], "twice": before["twice"],
              "strangers": before["strangers"], "methods": before["methods"], "resent": len(retries),
              "resent_same": same, "rows_after": after["rows"],
              "resent_statuses": sorted({status for status, _record in answers})}
    result["exact"] = (before["rows"] == n and before["volunteers"] == n and before["twice"] == 0
                       and before["strangers"] == 0)
    result["idempotent"] = same == len(retries) == RESENT and after["rows"] == before["rows"]
    log(f"  database: {before['rows']} attendances of {before['volunteers']} volunteers, {before['twice']} "
        f"twice, {before['strangers']} of others, by {before['methods']}; {same}/{len(retries)} resent "
        f"answered 200 with the same record; {after['rows']} attendances after")
    return result


def check_in_plan(volunteers: list, centre: tuple[float, float], radius_m: int, rng: random.Random):
    """The volunteers in a random order; every other one by the QR code, the rest by position."""
    order = list(volunteers)
    rng.shuffle(order)
    return [CheckIn(vid, token, i % 2 == 0, near(*centre, radius_m * 0.7, rng))
            for i, (vid, token) in enumerate(order)]


def warm_up(server: Server, activity_id: int, token: str, seconds: float = 3.0) -> None:
    """Every server thread has its database connection and code loaded, as on a running server."""
    request = (f"GET /api/v1/volunteers/activities/{activity_id} HTTP/1.1\r\nHost: {HOST}:{server.port}"
               f"\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n").encode()
    clients = server.config.workers * server.config.threads
    outcome, _elapsed = load(server.port, clients, lambda _i: request, seconds)
    if outcome.statuses:
        raise RuntimeError(f"warm-up failed: {outcome.statuses} {outcome.samples}")


# --- the balance -------------------------------------------------------------------------

def me_over_http(server: Server, database: str, token: str, calls: int) -> tuple[dict, dict]:
    """GET /api/v1/volunteers/me `calls` times on one keep-alive connection after 10 unmeasured."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=PHONE_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    spent, answer = [], {}
    try:
        for _warm in range(10):
            conn.request("GET", "/api/v1/volunteers/me", headers=headers)
            conn.getresponse().read()
        with CpuMeter(server, database) as cpu:
            for i in range(calls):
                started = time.perf_counter()
                conn.request("GET", "/api/v1/volunteers/me", headers=headers)
                response = conn.getresponse()
                body = response.read()
                spent.append(time.perf_counter() - started)
                if response.status != 200:
                    raise RuntimeError(f"GET /me #{i}: {response.status} {body[:300]!r}")
        answer = json.loads(body)
    finally:
        conn.close()
    return {**spread(spent), "calls": calls, "gunicorn_ms": cpu.gunicorn / calls * 1000,
            "pg_ms": cpu.pg / calls * 1000, "others": cpu.others / cpu.wall}, answer


def ledger(env: dict, args, prefix: str) -> dict:
    started = time.perf_counter()
    made = django_json(env, LEDGER_SETUP, others=args.volunteers, entries=args.entries, prefix=prefix)
    log(f"  ledger: {made['entries']:,} entries ({made['heavy_mix']} for the heavy volunteer), "
        f"{made['orders']:,} orders, {made['attendance']:,} attendances at {made['activities']:,} past "
        f"activities, in {time.perf_counter() - started:.1f} s")
    return made


def time_balance(env: dict, args, made: dict, database: str) -> list[dict]:
    """balance_of (and hours_of) in-process; the balances must be the ledger's sums."""
    timed = django_json(env, TIMING, calls=args.calls, hours_calls=max(5, args.calls // 10),
                        volunteers={"heavy": made["heavy"], "typical": made["typical"]})
    if timed["balance"] != made["expected"]:
        raise RuntimeError(f"{database}: balance_of {timed['balance']}, the ledger: {made['expected']}")
    for key, plan in timed["plan"].items():
        log(f"  {database} plan ({key}): " + " | ".join(line.strip() for line in plan[:4]))
    rows = []
    for name, values in timed["ms"].items():
        what, key = name.split(" ")
        entries = args.entries if key == "heavy" else made["typical_entries"]
        row = {"database": database, "what": f"`{what}`", "entries": entries, "calls": len(values),
               **spread([v / 1000 for v in values])}
        log(f"  {database} {what} ({entries:,} entries): p50 {row['p50']:.2f} p99 {row['p99']:.2f} ms")
        rows.append(row)
    rows.append({"plan": timed["plan"]["heavy"], "database": database})
    return rows


# --- report ------------------------------------------------------------------------------

def burst_table(rows: list[dict]) -> str:
    lines = ["| scenario | check-ins | ok | errors | offered /s | achieved /s | p50 ms | p95 ms | p99 ms "
             "| max ms | gunicorn CPUs (ms/check-in) | PostgreSQL CPUs (ms/check-in) | load generator CPUs "
             "| other processes' CPUs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['requests']:,} | {r['ok']:,} | {r['errors']:,} | {r['offered']:.1f} "
            f"| {r['achieved']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {r['max']:.0f} "
            f"| {r['gunicorn_cpus']:.2f} ({r['gunicorn_ms']:.1f}) | {r['pg_cpus']:.2f} ({r['pg_ms']:.1f}) "
            f"| {r['client_cpus']:.2f} | {r['others']:.2f} |")
    return "\n".join(lines)


def balance_table(rows: list[dict]) -> str:
    lines = ["| database | measured | ledger entries | calls | p50 ms | p99 ms | max ms "
             "| gunicorn CPU ms/call | PostgreSQL CPU ms/call |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "plan" in r:
            continue
        cpu = (f"{r['gunicorn_ms']:.1f} | {r['pg_ms']:.1f}" if "gunicorn_ms" in r else "— | —")
        lines.append(f"| {r['database']} | {r['what']} | {r['entries']:,} | {r['calls']} | {r['p50']:.2f} "
                     f"| {r['p99']:.2f} | {r['max']:.2f} | {cpu} |")
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def checks_text(bursts: list[dict], checks: list[dict]) -> list[str]:
    lines = []
    for r, c in zip(bursts, checks, strict=True):
        methods = ", ".join(f"{n:,} by {m}" for m, n in sorted(c["methods"].items()))
        errors = f" Errors: {r['statuses']}." if r["statuses"] else ""
        if r["others"] >= QUIET_CPUS:
            errors += (f" Other processes kept {r['others']:.2f} CPUs busy meanwhile: the server shared "
                       "the machine with them.")
        lines.append(
            f"- {r['scenario']}: {c['rows']:,} attendances of {c['volunteers']:,} volunteers ({methods}), "
            f"{c['twice']} twice, {c['strangers']} of anybody else: {'right' if c['exact'] else '**wrong**'}"
            "; "
            f"{c['resent_same']}/{c['resent']} sent again answered 200 with the same record and "
            f"{c['rows_after'] - c['rows']} rows were added: {'right' if c['idempotent'] else '**wrong**'}. "
            f"{r['qr_fetches']} QR code fetches by the screen (slowest {r['qr_ms']:.0f} ms, "
            f"{r['qr_failures']} failed); the load generator started each check-in at most "
            f"{r['lag_max']:.0f} ms late.{errors}")
    return lines


def me_row(rows: list[dict], key_entries: int) -> dict | None:
    return next((r for r in rows if r["what"].startswith("GET") and r["entries"] == key_entries), None)


def balance_text(rows: list[dict], args, made: dict) -> list[str]:
    me, typical = me_row(rows, args.entries), me_row(rows, made["typical_entries"])
    parts = {r["what"]: r for r in rows
             if r.get("database") == "PostgreSQL" and r.get("entries") == args.entries and "what" in r}
    balance, hours = parts["`balance_of`"], parts["`hours_of`"]
    text = [f"- GET /api/v1/volunteers/me at {args.entries:,} entries: p99 {me['p99']:.1f} ms, target "
            f"< {TARGET_P99_ME_MS:.0f} ms: {verdict(me['p99'] < TARGET_P99_ME_MS)} (at "
            f"{made['typical_entries']} entries: p99 {typical['p99']:.1f} ms). The server spends "
            f"{me['gunicorn_ms']:.0f} ms of CPU per call in Python and {me['pg_ms']:.0f} ms in PostgreSQL. "
            f"In one process on PostgreSQL, `balance_of` takes p50 {balance['p50']:.2f} ms "
            f"(p99 {balance['p99']:.2f}) and `services.hours_of`, /me's other figure, p50 "
            f"{hours['p50']:.1f} ms (p99 {hours['p99']:.1f})."]
    if hours["p50"] > me["p50"] / 2 > balance["p50"]:
        # Say why only when the measurement shows it: the hours, not the balance, make /me slow.
        text.append(f"- Why: not the ledger's sum but the hours: `hours_of` loads each of the volunteer's "
                    f"{made['heavy_attendance']:,} attendances with its activity and adds them up in Python.")
    else:
        small = {r["what"]: r for r in rows if r.get("database") == "PostgreSQL"
                 and r.get("entries") == made["typical_entries"] and "what" in r}
        text.append(
            f"- Why: /me costs p50 {typical['p50']:.1f} ms (p99 {typical['p99']:.1f}) with "
            f"{made['typical_entries']} entries already; {args.entries:,} entries and "
            f"{made['heavy_attendance']:,} attendances add {me['p50'] - typical['p50']:.1f} ms at p50, of "
            f"which the ledger's sum is {balance['p50'] - small['`balance_of`']['p50']:.1f} ms and the hours "
            f"{hours['p50'] - small['`hours_of`']['p50']:.1f} ms.")
    for r in rows:
        if "plan" in r:
            text.append(f"- {r['database']} plan of the sum at {args.entries:,} entries: "
                        + "; ".join(f"`{line.strip()}`" for line in r["plan"][:3]))
    return text


def write(meta: str, bursts: list[dict], checks: list[dict], balance_rows: list[dict], args, made) -> None:
    first = bursts[0]
    burst_met = first["errors"] == 0 and first["p99"] < TARGET_P99_CHECKIN_MS and all(
        c["exact"] and c["idempotent"] for c in checks)
    body = "\n".join([
        meta, "",
        f"Targets: (a) the check-ins spread over {args.seconds:.0f} s without errors, p99 < "
        f"{TARGET_P99_CHECKIN_MS:.0f} ms: {verdict(burst_met)} (p99 {first['p99']:.0f} ms, "
        f"{first['errors']} errors); (b) the rush as measured. GET /api/v1/volunteers/me for a volunteer "
        f"with {args.entries:,} ledger entries p99 < {TARGET_P99_ME_MS:.0f} ms: "
        f"{verdict(me_row(balance_rows, args.entries)['p99'] < TARGET_P99_ME_MS)}.", "",
        "### Check-in burst", "",
        burst_table(bursts), "", *checks_text(bursts, checks), "",
        f"### Balance at {args.entries:,} entries", "",
        balance_table(balance_rows), "", *balance_text(balance_rows, args, made),
    ])
    write_section(DOC, SECTION, HEADING, body)


# --- main --------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volunteers", type=int, default=None, help="check-ins per scenario (default 1000)")
    parser.add_argument("--seconds", type=float, default=None, help="scenario (a)'s window (default 60)")
    parser.add_argument("--rush-seconds", type=float, default=None,
                        help="scenario (b)'s window (default 10; --quick: a sixth of --seconds)")
    parser.add_argument("--entries", type=int, default=10000, help="the heavy volunteer's ledger entries")
    parser.add_argument("--calls", type=int, default=None, help="timed calls per measurement (default 200)")
    parser.add_argument("--server", type=ServerConfig.parse, default=ServerConfig(2, 4),
                        help="gunicorn WORKERSxTHREADS (default 2x4)")
    parser.add_argument("--pg", default=os.environ.get("GRIDGOV_BENCH_PG", DEFAULT_PG),
                        help="PostgreSQL maintenance database URL (loopback only)")
    parser.add_argument("--database", default="gridgov_bench_volunteers",
                        help="the scratch database (dropped at the end)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before each scenario, wait up to this long for other processes to leave "
                             "the CPUs idle (default: do not wait)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip balance_of on SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the database and var directory")
    parser.add_argument("--quick", action="store_true", help="100 volunteers, 10 s: a smoke test")
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave docs alone")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database):
        parser.error("--database: lower-case letters, digits and underscores")
    args.volunteers = args.volunteers or (100 if args.quick else 1000)
    args.seconds = args.seconds or (10.0 if args.quick else 60.0)
    args.rush_seconds = args.rush_seconds or (args.seconds / 6 if args.quick else 10.0)
    args.calls = args.calls or (50 if args.quick else 200)
    if args.volunteers < 2 * RESENT and not args.quick:
        parser.error(f"--volunteers: at least {2 * RESENT}")
    loopback_only(args.pg)
    return args


def one_scenario(env: dict, server: Server, args, data: dict, organizer_token: str, name: str,
                 seconds: float, activity_id: int, rng: random.Random) -> tuple[dict, dict]:
    plan = check_in_plan(data["volunteers"], (data["lat"], data["lon"]), data["radius_m"], rng)
    busy = wait_for_quiet(args.wait_quiet)
    log(f" {name}: {len(plan)} check-ins to activity {activity_id}; other processes keep {busy:.2f} "
        "CPUs busy")
    row = burst(server, args.database, name, activity_id, organizer_token, plan, seconds)
    return row, verify(env, server, activity_id, plan, rng)


def keep(kept: tuple | None, measured: tuple) -> tuple:
    """Of two runs of a scenario: a wrong one (that must show), else the quieter one."""
    def right(run):
        return run[1]["exact"] and run[1]["idempotent"]

    if kept is None or not right(measured) or (right(kept) and measured[0]["others"] < kept[0]["others"]):
        return measured
    return kept


def run_bursts(env: dict, server: Server, args, data: dict, organizer_token: str) -> tuple[list, list]:
    """Each scenario on an activity of its own; with --wait-quiet, once more on a spare activity
    when other processes took CPU meanwhile (every run is verified)."""
    rng = random.Random(2026)
    scenarios = [(f"(a) spread over {args.seconds:.0f} s", args.seconds),
                 (f"(b) rush: all in {args.rush_seconds:.0f} s", args.rush_seconds)]
    kept_runs = []
    for i, (name, seconds) in enumerate(scenarios):
        kept = None
        for activity_id in data["activities"][i::len(scenarios)]:  # its own activity, then its spare
            if kept is not None and kept[0]["others"] < QUIET_CPUS:
                break
            measured = one_scenario(env, server, args, data, organizer_token, name, seconds, activity_id, rng)
            kept = keep(kept, measured)
        kept_runs.append(kept)
    return [r for r, _c in kept_runs], [c for _r, c in kept_runs]


def run_me(server: Server, args, made: dict) -> list[dict]:
    """GET /me for the heavy and a typical volunteer; with --wait-quiet up to three times, the
    quietest kept."""
    rows = []
    for key, entries in (("heavy", args.entries), ("typical", made["typical_entries"])):
        kept = None
        for _attempt in range(3 if args.wait_quiet else 1):
            if kept is not None and kept["others"] < QUIET_CPUS:
                break
            wait_for_quiet(args.wait_quiet)
            stats, answer = me_over_http(server, args.database, made["tokens"][key], args.calls)
            if answer.get("balance") != made["expected"][key]:
                raise RuntimeError(f"/me: balance {answer['balance']}, the ledger: {made['expected'][key]}")
            log(f"  GET /me ({entries:,} entries): p50 {stats['p50']:.2f} p99 {stats['p99']:.2f} ms, "
                f"gunicorn {stats['gunicorn_ms']:.1f} ms/call, PostgreSQL {stats['pg_ms']:.1f} ms/call, "
                f"other processes {stats['others']:.2f} CPUs")
            if kept is None or stats["others"] < kept["others"]:
                kept = stats
        rows.append({"database": "PostgreSQL", "what": "GET /api/v1/volunteers/me (HTTP)",
                     "entries": entries, **kept})
    return rows


def sqlite_balance(var_dir: Path, args) -> list[dict]:
    env = bench_env(f"sqlite:///{var_dir / 'balance.sqlite3'}", var_dir)
    log("SQLite: migrating, building the district, the ledger")
    build_district(env, "--no-registry")
    made = ledger(env, args, "sqledger")
    return time_balance(env, args, made, "SQLite")


def describe(args, demo: list[str], data: dict, made: dict) -> str:
    """The doc's first paragraph: when, where, with what, and how the load was made."""
    mix = ", ".join(f"{n:,} {kind}" for kind, n in made["heavy_mix"].items())
    return " ".join([
        f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} CPUs",
        f"(load generator on the same machine), Python {platform.python_version()},",
        f"{postgres_version(args.pg)}, gunicorn {gunicorn_version()} {args.server.label}"
        f"{' (quick run)' if args.quick else ''}. `gridgov {' '.join(demo)}`;",
        f"{args.volunteers:,} approved volunteers of {data['grid']}, each with a bearer token of their",
        f"own, signed up to two identical activities under way (quota {args.volunteers:,}), one per",
        "scenario; every other check-in by the organizer's QR code (fetched by the organizer's screen,",
        "renewed after `refresh_in`), the rest by a position within 140 m of the activity (radius",
        "200 m). Open loop, one connection per check-in; latency from the scheduled start to the",
        f"answer; timeout {PHONE_TIMEOUT_S:.0f} s. Ledger: one volunteer with {args.entries:,} entries",
        f"({mix}; {made['heavy_attendance']:,} attendances behind the earned ones), {args.volunteers:,}",
        f"others with 15–25, {made['entries']:,} entries in all, inserted shuffled, then VACUUM ANALYZE.",
    ])


def code_fingerprint() -> dict[str, tuple[int, int]]:
    """Size and modification time of the app's sources (but the demo builder's, done before any
    measurement): a run that straddles an edit (a work tree shared with others) measured two
    versions of the code, and says so."""
    return {str(f.relative_to(ROOT)): (f.stat().st_size, f.stat().st_mtime_ns)
            for f in sorted((ROOT / "gridgov").rglob("*.py")) if not {"tests", "demo"} & set(f.parts)}


def changed_files(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def main(argv=None) -> int:
    args = parse_args(argv)
    # A polite kill (SIGTERM) runs the clean-up below: the server stops, the database goes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started, code = time.perf_counter(), code_fingerprint()
    var_dir = Path(tempfile.mkdtemp(prefix="gridgov-bench-volunteers-"))
    env = bench_env(database_url(args.pg, args.database), var_dir)
    try:
        log(f"database {args.database} on {urlsplit(args.pg).hostname}; var {var_dir}")
        recreate_database(args.pg, args.database)
        demo = build_district(env, "--no-registry")
        data = django_json(env, CHECKIN_SETUP, volunteers=args.volunteers,
                           titles=[f"垃圾分类宣传 {c}" for c in ("ABCD" if args.wait_quiet else "AB")])
        log(f"{len(data['volunteers'])} volunteers of {data['grid']} signed up to {data['activities']}")
        made = ledger(env, args, "vledger")
        with Server(args.server, env, var_dir / "gunicorn.log") as server:
            log(f"gunicorn {args.server.label} on {HOST}:{server.port}")
            organizer_token = get_tokens(server.port, [ORGANIZER], PASSWORD)[ORGANIZER]
            warm_up(server, data["activities"][0], organizer_token)
            bursts, checks = run_bursts(env, server, args, data, organizer_token)
            balance_rows = run_me(server, args, made)
        balance_rows += time_balance(env, args, made, "PostgreSQL")
        if not args.no_sqlite:
            balance_rows += sqlite_balance(var_dir, args)
    finally:
        if args.keep:
            log(f"kept database {args.database} and {var_dir}")
        else:
            try:
                recreate_database(args.pg, args.database, drop_only=True)
            finally:
                shutil.rmtree(var_dir, ignore_errors=True)
    print()
    print(burst_table(bursts))
    print("\n".join(checks_text(bursts, checks)))
    print()
    print(balance_table(balance_rows))
    print("\n".join(balance_text(balance_rows, args, made)))
    meta = describe(args, demo, data, made)
    changed = changed_files(code, code_fingerprint())
    if changed:
        log(f"WARNING: the code changed during the run: {', '.join(changed)}")
        meta += f" **The code changed during this run** ({', '.join(changed)}): measure again."
    if not args.no_write:
        write(meta, bursts, checks, balance_rows, args, made)
        log(f"wrote {DOC.relative_to(ROOT)}")
    log(f"done in {time.perf_counter() - started:.0f} s")
    failed = not all(c["exact"] and c["idempotent"] for c in checks) or bursts[0]["errors"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
