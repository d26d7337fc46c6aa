"""Scale-out: two app servers behind a balancer, each in its own network namespace; one killed.

    .venv/bin/python bench/scaleout.py                # 8 clients, kill after 3 s, 10 s more
    .venv/bin/python bench/scaleout.py --quick --no-write

Self-contained (run as root, Linux, iproute2): a scratch PostgreSQL database (dropped at the
end) and Redis database 9 (flushed before and after), the fengqiao demo built into them, and
a shared GRIDGOV_VAR_DIR (uploads) with GRIDGOV_SECRET_KEY / GRIDGOV_DATA_KEY set explicitly
and equal for every process. Then:

- network namespaces gg-app1 and gg-app2, each joined to the bridge gg-br0 (10.123.0.1/24 in
  the root namespace) by a veth pair, at 10.123.0.2 and 10.123.0.3; nothing is routed
  anywhere else;
- one helper process in the root namespace with TCP forwarders 10.123.0.1:5432 → 127.0.0.1:5432
  (PostgreSQL) and 10.123.0.1:6379 → 127.0.0.1:6379 (Redis), and a round-robin balancer on
  127.0.0.1:<free port> → 10.123.0.2:8000, 10.123.0.3:8000 that tries the next backend when a
  connect fails (and leaves a failed backend alone for a second);
- gunicorn (2 gthread workers × 4 threads) in each namespace, reaching the database and Redis
  only through the forwarders; one huey consumer (`gridgov run_huey --workers 1`) with the
  same environment.

Checks:

1. Locator consistency: the demo administrator imports, through server 1, a new micro-grid
   around a point that so far located to its parent, and a special-purpose grid (a school)
   around another point; server 2 is asked `GET /api/v1/locate` for both points until and
   after it answers with the new grids: every answer later than GRIDGOV_LOCATOR_CHECK_SECONDS
   (+ a margin) after the import must be the new one.
2. One server killed mid-load: N grid workers report cases (multipart, every other with a
   photo) through the balancer, one new connection per request, a unique client key per
   case, retrying an unacknowledged report with the same key; after a few seconds server
   1's whole process group gets SIGKILL and the clients go on through the balancer. Then, in
   the database: every acknowledged case exists with its reporter and key, no (reporter,
   client key) twice, no case the clients do not know of, every photo's file on the shared
   volume.
3. A notice published through server 2 reaches every recipient through the huey consumer
   on Redis (its notifications, and one recipient's GET /api/v1/notifications).

Everything started is stopped (process groups) and the namespaces, bridge, database and Redis
keys are removed, also on failure. Exit status 1 when any check fails.
"""

import argparse
import asyncio
import datetime
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import (  # noqa: E402
    DEFAULT_PG,
    DESCRIPTIONS,
    ROOT,
    _die_with_parent,
    bench_data,
    children,
    free_port,
    http_request,
    log,
    make_photo,
    run_manage,
)
from intake import HOST as LOOPBACK  # noqa: E402
from scratch import database_url, loopback_only, recreate_database, write_section  # noqa: E402

DOC = ROOT / "docs" / "reliability.md"
SECTION = "scaleout"
HEADING = "## Scale-out: two app servers, one killed"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
PASSWORD = "gridgov-demo-2026"

# The namespaces' network: the project's own test hosts only.
BRIDGE, BRIDGE_ADDR = "gg-br0", "10.123.0.1"
APPS = [("gg-app1", "gg-h1", "gg-n1", "10.123.0.2"), ("gg-app2", "gg-h2", "gg-n2", "10.123.0.3")]
APP_PORT = 8000
PG_PORT, REDIS_PORT = 5432, 6379
MARGIN_S = 1.0  # allowed beyond GRIDGOV_LOCATOR_CHECK_SECONDS (request time, scheduling)
REQUEST_TIMEOUT_S = 20.0
POINTS_PER_WORKER = 64
PHOTO_BYTES = 16 * 1024  # a small photo (stored on the shared volume)

# Run by bench_data after its SETUP_CODE (which chose the workers and their points with `rng`):
# the grid changes to make, and what the checks need to know.
MORE_SETUP_CODE = r"""
from django.conf import settings
from shapely.geometry import box
from gridgov.grids import codes
from gridgov.grids.models import Grid

deepest = codes.max_level()


def free_code(parent_code, level):
    digits = codes.segment_digits(level)
    used = set(Grid.objects.filter(code__startswith=parent_code, level=level).values_list("code", flat=True))
    for n in range(10 ** digits - 1, 0, -1):
        code = parent_code + str(n).zfill(digits)
        if code not in used:
            return code
    raise SystemExit(f"no free code under {parent_code}")


def square_at(grid, lon, lat, siblings):
    polygon = shape(grid.boundary)
    for half in (0.0002, 0.0001, 0.00005, 0.00002):
        sq = box(lon - half, lat - half, lon + half, lat + half)
        if polygon.buffer(-1e-6).contains(sq) and not any(sq.intersects(s) for s in siblings):
            return sq
    return None


def change_at(grid, kind, lon, lat):
    level = grid.level + 1
    siblings = [shape(g.boundary) for g in grid.children.filter(kind=kind)]
    sq = square_at(grid, lon, lat, siblings)
    if sq is None:
        return None
    code = free_code(grid.code, level)
    props = {"code": code, "kind": kind, "households_estimate": 0}
    if kind == "special":
        props.update(name="扩容测试学校", special_type="school")
    else:
        props.update(name="扩容测试微网格")
    feature = {"type": "Feature", "geometry": shapely.geometry.mapping(sq), "properties": props}
    return {"features": [feature], "code": code, "parent": grid.code, "lon": lon, "lat": lat}


# Split a micro-grid that no chosen worker's area touches: the micro-grid gives up a small
# square around a point (its boundary moves), which becomes a new micro-grid of the same parent.
# (A point of a deepest grid that the locator puts in or below it is one located to it.)
micro = None
mine = [a.grid.code for a in chosen]
for grid in Grid.objects.filter(kind="basic", level=deepest).order_by("code"):
    if any(grid.code.startswith(c) or c.startswith(grid.code) for c in mine):
        continue
    for lat, lon in points_in(grid, 3, 200):
        polygon = shape(grid.boundary)
        sq = square_at(grid, lon, lat, [])
        if sq is None:
            continue
        rest = polygon.difference(sq)
        if not rest.is_valid or rest.geom_type != "Polygon":
            continue
        parent = grid.parent
        code = free_code(parent.code, grid.level)
        old = {"type": "Feature", "geometry": shapely.geometry.mapping(rest),
               "properties": {"code": grid.code, "name": grid.name, "kind": grid.kind,
                              "households_estimate": grid.households_estimate,
                              "management_grade": grid.management_grade, **grid.metadata}}
        new = {"type": "Feature", "geometry": shapely.geometry.mapping(sq),
               "properties": {"code": code, "name": "扩容测试微网格", "kind": "basic",
                              "households_estimate": 0}}
        micro = {"features": [old, new], "code": code, "was": grid.code, "parent": parent.code,
                 "lon": lon, "lat": lat}
        break
    if micro:
        break

# A special-purpose grid (a school) in the deepest grid at a worker's point.
special = None
for a in chosen:
    for lat, lon in points_in(a.grid, 5, 200):
        leaf = Grid.objects.get(code=index.locate(lon, lat).code)
        if leaf.level > deepest:
            continue
        special = change_at(leaf, "special", lon, lat)
        if special:
            break
    if special:
        break

community = codes.parent_code(chosen[0].grid.code) or chosen[0].grid.code
out.update(micro=micro, special=special, notice_grid=community,
           check_seconds=settings.GRIDGOV_LOCATOR_CHECK_SECONDS, grids=Grid.objects.count())
"""

# Run with the bench environment after the load: the database's side of the story.
VERIFY_CODE = r"""
import json, sys
from collections import Counter
import django
django.setup()
from django.db.models import Count
from gridgov.cases.models import Attachment, Case, Notification
from gridgov.engagement import services
from gridgov.engagement.models import Notice

data = json.load(sys.stdin)
prefix = data["prefix"]
cases = {(c["reporter__username"], c["client_key"]): c for c in
         Case.objects.filter(client_key__startswith=prefix).values("id", "reporter__username", "client_key")}
dupes = list(Case.objects.filter(client_key__startswith=prefix).values("reporter_id", "client_key")
             .annotate(n=Count("id")).filter(n__gt=1).values_list("client_key", "n"))
acked = {(u, k): (cid, photo) for u, k, cid, photo in data["acked"]}
missing = [f"{u}/{k}" for (u, k) in acked if (u, k) not in cases]
wrong_id = [f"{u}/{k}" for (u, k), (cid, _p) in acked.items()
            if (u, k) in cases and cases[(u, k)]["id"] != cid]
attempted = {tuple(x) for x in data["attempted"]}
unknown = [f"{u}/{k}" for (u, k) in cases if (u, k) not in attempted]
unacked_stored = [f"{u}/{k}" for (u, k) in cases if (u, k) in attempted and (u, k) not in acked]
with_photo = [cid for (cid, photo) in acked.values() if photo]
photos = Counter(Attachment.objects.filter(case_id__in=with_photo).values_list("case_id", flat=True))
no_photo = [cid for cid in with_photo if photos[cid] != 1]
files_missing = [a.file.name for a in Attachment.objects.filter(case_id__in=with_photo)
                 if not a.file.storage.exists(a.file.name)]
out = {"stored": len(cases), "duplicates": dupes, "missing": missing[:20], "missing_n": len(missing),
       "wrong_id": wrong_id[:20], "unknown": unknown[:20], "unknown_n": len(unknown),
       "unacked_stored": len(unacked_stored), "photos_checked": len(with_photo),
       "no_photo": no_photo[:20], "files_missing": files_missing[:20]}
if data.get("notice_id"):
    notice = Notice.objects.select_related("grid").get(pk=data["notice_id"])
    targets = set(services.target_assignments(notice).values_list("user_id", flat=True))
    text = services.notification_text(notice)
    sent = Counter(Notification.objects.filter(kind="notice", text=text).values_list("user_id", flat=True))
    out["notice"] = {"notified": notice.notified_at is not None, "targets": len(targets),
                     "notified_users": len(sent), "missing": len(targets - set(sent)),
                     "extra": len(set(sent) - targets), "twice": sum(1 for n in sent.values() if n > 1)}
print(json.dumps(out))
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result


def ip_command() -> str:
    for path in ("/usr/sbin/ip", "/sbin/ip", shutil.which("ip") or ""):
        if path and os.access(path, os.X_OK):
            return path
    raise SystemExit("iproute2 is missing: apt-get install -y iproute2")


# --- the proxies (a child process in the root namespace) ----------------------------------------

async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.transport.abort()


async def _join(a: tuple, b: tuple) -> None:
    (ar, aw), (br, bw) = a, b
    try:
        await asyncio.gather(_pipe(ar, bw), _pipe(br, aw))
    finally:
        for w in (aw, bw):
            w.close()


class Proxies:
    def __init__(self, spec: dict):
        self.spec = spec
        self.events = open(spec["events"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        self.backends = [tuple(b) for b in spec["balance"]["backends"]]
        self.next = 0
        self.down_until = [0.0] * len(self.backends)

    def event(self, kind: str, backend: int, detail: str = "", at: float | None = None) -> None:
        self.events.write(json.dumps({"t": at or time.time(), "event": kind, "backend": backend,
                                      "detail": detail}) + "\n")

    async def forward(self, target: tuple, reader, writer) -> None:
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(*target), 5)
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        await _join((reader, writer), upstream)

    async def balance(self, reader, writer) -> None:
        n = len(self.backends)
        start = self.next
        self.next = (self.next + 1) % n
        order = [(start + i) % n for i in range(n)]
        now = time.monotonic()
        # Backends that failed a moment ago go last (but are still tried when nothing else is).
        order.sort(key=lambda i: self.down_until[i] > now)
        for i in order:
            # The time the connect began: a handshake the kernel finished for a server killed a
            # moment later returns after the kill, but it reached the server while it was alive.
            tried_at = time.time()
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(*self.backends[i]), 1.0)
            except (OSError, TimeoutError) as exc:
                self.down_until[i] = time.monotonic() + 1.0
                self.event("fail", i, type(exc).__name__)
                continue
            self.event("conn", i, at=tried_at)
            await _join((reader, writer), upstream)
            return
        self.event("none", -1)
        writer.transport.abort()

    async def serve(self) -> None:
        servers = []
        for host, port, target_host, target_port in self.spec["forward"]:
            target = (target_host, target_port)

            async def handler(r, w, target=target):
                await self.forward(target, r, w)

            servers.append(await asyncio.start_server(handler, host, port, reuse_address=True, backlog=512))
        host, port = self.spec["balance"]["listen"]
        servers.append(await asyncio.start_server(self.balance, host, port, reuse_address=True, backlog=512))
        print("ready", flush=True)
        await asyncio.gather(*(s.serve_forever() for s in servers))


def run_proxies(spec_json: str) -> int:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # connections just drop, as in a crash
    try:
        asyncio.run(Proxies(json.loads(spec_json)).serve())
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


# --- processes ---------------------------------------------------------------------------------

class Group:
    """A child in its own process group (session); stop() ends the whole group."""

    def __init__(self, name: str, args: list[str], env: dict, logfile: Path, stdout=None):
        self.name, self.logfile = name, logfile
        self._log = logfile.open("ab")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=stdout or self._log,
                                        stderr=self._log, start_new_session=True,
                                        preexec_fn=_die_with_parent)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group at once: a crash, not a shutdown."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)

    def wait_gone(self, timeout: float = 15) -> float:
        """Wait until no process of the group is left; the time then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not children(self.process.pid, group=True):
                return time.time()
            time.sleep(0.005)
        raise RuntimeError(f"{self.name}: processes left in group {self.process.pid}")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:  # the group's last members (workers of a master that already left)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"{self.name} (pid {self.pid}) did not stop")
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        return self.logfile.read_text(errors="replace")[-chars:]


class Network:
    """The bridge, two namespaces and their veth pairs; remove() deletes exactly these."""

    def __init__(self):
        self.ip = ip_command()

    def remove(self) -> None:
        for ns, host_end, _ns_end, _addr in APPS:
            if ns in sh(self.ip, "netns", "list", check=False).stdout.split():
                sh(self.ip, "netns", "del", ns, check=False)
            if sh(self.ip, "link", "show", host_end, check=False).returncode == 0:
                sh(self.ip, "link", "del", host_end, check=False)
        if sh(self.ip, "link", "show", BRIDGE, check=False).returncode == 0:
            sh(self.ip, "link", "del", BRIDGE, check=False)

    def create(self) -> None:
        self.remove()  # what a killed earlier run may have left
        ip = self.ip
        sh(ip, "link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0")
        sh(ip, "addr", "add", f"{BRIDGE_ADDR}/24", "dev", BRIDGE)
        sh(ip, "link", "set", BRIDGE, "up")
        for ns, host_end, ns_end, addr in APPS:
            sh(ip, "netns", "add", ns)
            sh(ip, "link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            sh(ip, "link", "set", ns_end, "netns", ns)
            sh(ip, "link", "set", host_end, "master", BRIDGE)
            sh(ip, "link", "set", host_end, "up")
            sh(ip, "-n", ns, "addr", "add", f"{addr}/24", "dev", ns_end)
            sh(ip, "-n", ns, "link", "set", ns_end, "up")
            sh(ip, "-n", ns, "link", "set", "lo", "up")
            routes = sh(ip, "-n", ns, "route", "show").stdout.strip()
            if "default" in routes:
                raise RuntimeError(f"{ns} has a default route: {routes}")


# --- HTTP ---------------------------------------------------------------------------------------

def request(host: str, port: int, method: str, path: str, body: bytes = b"", headers=None,
            timeout: float = REQUEST_TIMEOUT_S) -> tuple[int, bytes]:
    """One request on a new connection (so the balancer chooses a backend for every request)."""
    return http_request(port, method, path, body,
                        {"Accept": "application/json", "Connection": "close", **(headers or {})},
                        timeout, host=host)


def get_json(host: str, port: int, path: str, token: str) -> tuple[int, object]:
    status, body = request(host, port, "GET", path, headers={"Authorization": f"Bearer {token}"})
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body[:300]


def post_json(host: str, port: int, path: str, data: dict, token: str = "") -> tuple[int, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, body = request(host, port, "POST", path, json.dumps(data).encode(), headers, timeout=60)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body[:300]


def get_token(host: str, port: int, username: str) -> str:
    status, answer = post_json(host, port, "/api/v1/auth/token",
                               {"username": username, "password": PASSWORD, "name": "bench/scaleout"})
    if status != 200:
        raise RuntimeError(f"token for {username}: {status} {answer!r:.300}")
    return answer["token"]


def wait_http(host: str, port: int, what: Group | None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what is not None and not what.alive():
            raise RuntimeError(f"{what.name} exited with {what.process.returncode}:\n{what.tail()}")
        try:
            if request(host, port, "GET", "/api/v1/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered /api/v1/health on {host}:{port} within {timeout:.0f} s")


def multipart(fields: list[tuple[str, str]], photo: bytes | None) -> tuple[bytes, str]:
    boundary = "----gridgovscaleout" + uuid.uuid4().hex
    b = boundary.encode()
    parts = [b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
             % (b, k.encode(), v.encode()) for k, v in fields]
    if photo is not None:
        parts += [b"--%s\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"IMG_0001.jpg\"\r\n"
                  b"Content-Type: image/jpeg\r\n\r\n" % b, photo, b"\r\n"]
    parts.append(b"--%s--\r\n" % b)
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- 1. locator consistency -------------------------------------------------------------------

def locate(host: str, token: str, lon: float, lat: float) -> dict:
    status, body = get_json(host, APP_PORT, f"/api/v1/locate?lat={lat}&lon={lon}", token)
    if status != 200:
        raise RuntimeError(f"locate on {host}: {status} {body!r:.300}")
    return body


def locator_check(data: dict, admin: str, check_s: float) -> dict:
    server1, server2 = APPS[0][3], APPS[1][3]
    micro, special = data["micro"], data["special"]
    changes = [c for c in (micro, special) if c]
    if not changes:
        raise RuntimeError("the demo district offers no place for a new grid")

    def state(answer: dict) -> list[bool]:
        """For each change made: does the answer show it (micro-grid located, school listed)?"""
        seen = []
        if micro:
            seen.append((answer["micro"].get("grid") or {}).get("code") == micro["code"])
        if special:
            seen.append(special["code"] in [g["code"] for g in answer["special"].get("special_grids", [])])
        return seen

    def ask(host: str) -> dict:
        return {"micro": locate(host, admin, micro["lon"], micro["lat"]) if micro else {},
                "special": locate(host, admin, special["lon"], special["lat"]) if special else {}}

    # Warm both servers' workers (each builds its index on first use) with the old grids.
    for _ in range(12):
        for host in (server1, server2):
            before = ask(host)
            if any(state(before)):
                raise RuntimeError(f"{host} locates the new grids before the import: {before}")
        time.sleep(check_s / 10)
    if micro:
        log(f"  point {micro['lat']},{micro['lon']} is in {before['micro']['grid']['code']}; micro-grid "
            f"{micro['was']} gives up a square around it to a new micro-grid {micro['code']}")
    if special:
        log(f"  point {special['lat']},{special['lon']}: new school {special['code']} "
            f"in {special['parent']}")
    collection = {"type": "FeatureCollection", "features": [f for c in changes for f in c["features"]]}
    started = time.monotonic()
    status, answer = post_json(server1, APP_PORT, "/api/v1/grids/import", collection, admin)
    imported = time.monotonic()
    if status != 200 or answer.get("total") != len(collection["features"]):
        raise RuntimeError(f"import through server 1: {status} {answer!r:.600}")
    log(f"  imported {answer['total']} grids ({answer['created']} new) through server 1 in "
        f"{imported - started:.2f} s")
    limit = check_s + MARGIN_S
    seen = {host: {"answers": 0, "stale": 0, "late_stale": 0, "last_stale": None, "first_new": None}
            for host in (server2, server1)}
    while time.monotonic() - imported < 2 * check_s + 2 * MARGIN_S:
        for host, stats in seen.items():
            asked = time.monotonic()
            result = ask(host)
            answered = time.monotonic()
            stats["answers"] += 1
            if all(state(result)):
                if stats["first_new"] is None:
                    stats["first_new"] = answered - imported
            else:
                stats["stale"] += 1
                stats["last_stale"] = answered - imported
                if asked - imported > limit:
                    stats["late_stale"] += 1
        time.sleep(0.03)
    for host, stats in seen.items():
        stats["final"] = all(state(ask(host)))
        stats["ok"] = stats["late_stale"] == 0 and stats["final"] and stats["first_new"] is not None
        # Consistent from the first new answer after the last stale one on.
        stats["consistent_after"] = max(stats["last_stale"] or 0.0, stats["first_new"] or 0.0)
        name = "server 2" if host == server2 else "server 1 (where the import ran)"
        last = f"{stats['last_stale']:.2f} s" if stats["last_stale"] is not None else "none"
        log(f"  {name}: {stats['answers']} answers, {stats['stale']} stale (the last {last} after the "
            f"import); consistent after {stats['consistent_after']:.2f} s; limit {limit:.1f} s: "
            f"{'ok' if stats['ok'] else 'FAILED'}")
    return {"ok": all(st["ok"] for st in seen.values()), "server2": seen[server2], "server1": seen[server1],
            "late_stale": sum(st["late_stale"] for st in seen.values()), "limit": limit,
            "check_s": check_s, "import_s": imported - started,
            "micro": micro and micro["code"], "micro_was": micro and micro["was"],
            "special": special and special["code"]}


# --- 2. one server killed mid-load ------------------------------------------------------------

@dataclass
class Attempt:
    client: int
    key: str
    started: float
    ended: float
    outcome: str  # "created", "replayed", or the failure (exception name or status)


@dataclass
class LoadRecord:
    attempts: list[Attempt] = field(default_factory=list)
    acked: list[tuple] = field(default_factory=list)  # (username, key, case id, with photo)
    attempted: set = field(default_factory=set)  # (username, key)
    gave_up: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # a few answers other than 200/201
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_thread(index: int, port: int, worker: dict, token: str, category_id: int, photo: bytes,
                  prefix: str, stop_new: threading.Event, record: LoadRecord) -> None:
    rng = random.Random(index)
    seq = 0
    while not stop_new.is_set():
        seq += 1
        key = f"{prefix}-{index}-{seq}"
        lat, lon = rng.choice(worker["points"])
        with_photo = seq % 2 == 0
        body, content_type = multipart([
            ("channel", "worker"), ("category_id", str(category_id)),
            ("description", rng.choice(DESCRIPTIONS)), ("lat", f"{lat:.7f}"), ("lon", f"{lon:.7f}"),
            ("client_key", key)], photo if with_photo else None)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type,
                   "Accept-Language": "zh-hans"}
        with record.lock:
            record.attempted.add((worker["username"], key))
        give_up_at = time.monotonic() + 60
        while True:  # the same key until the server acknowledges it
            started = time.time()
            try:
                status, answer = request(LOOPBACK, port, "POST", "/api/v1/cases", body, headers)
                outcome = str(status)
            except (OSError, http.client.HTTPException) as exc:
                status, answer, outcome = 0, b"", type(exc).__name__
            ended = time.time()
            if status in (200, 201):
                case = json.loads(answer)
                outcome = "created" if status == 201 else "replayed"
                with record.lock:
                    record.attempts.append(Attempt(index, key, started, ended, outcome))
                    record.acked.append((worker["username"], key, case["id"], with_photo))
                break
            with record.lock:
                record.attempts.append(Attempt(index, key, started, ended, outcome))
                if status and len(record.refused) < 5:
                    record.refused.append(f"{key}: {status} {answer[:200]!r}")
            if time.monotonic() > give_up_at:
                with record.lock:
                    record.gave_up.append(f"{key}: no acknowledgement in 60 s")
                return
            time.sleep(0.1)


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kill_under_load(args, data: dict, tokens: dict, balancer_port: int, server1: Group,
                    events_path: Path, photo: bytes) -> dict:
    prefix = f"so-{uuid.uuid4().hex[:8]}"
    record = LoadRecord()
    stop_new = threading.Event()
    workers = data["workers"][: args.clients]
    threads = [threading.Thread(target=client_thread, daemon=True,
                                args=(i, balancer_port, w, tokens[w["username"]], data["category_id"],
                                      photo, prefix, stop_new, record))
               for i, w in enumerate(workers)]
    events_before = len(read_events(events_path))
    load_started = time.time()
    for t in threads:
        t.start()
    time.sleep(args.kill_after)
    killed_at = time.time()
    server1.kill()
    gone_at = server1.wait_gone()
    log(f"  SIGKILL to server 1's process group (pid {server1.pid}) after {killed_at - load_started:.1f} s; "
        f"all its processes gone {(gone_at - killed_at) * 1000:.0f} ms later")
    time.sleep(args.after_kill)
    stop_new.set()
    for t in threads:
        t.join(timeout=90)
    load_ended = time.time()
    if any(t.is_alive() for t in threads):
        record.gave_up.append("a client thread did not finish")

    attempts = sorted(record.attempts, key=lambda a: a.started)
    ok = [a for a in attempts if a.outcome in ("created", "replayed")]
    failed = [a for a in attempts if a.outcome not in ("created", "replayed")]
    before = [a for a in ok if a.ended < killed_at]
    after = [a for a in ok if a.started > killed_at]
    # The first report acknowledged that was sent after the kill: the balancer serving again.
    recovery = min((a.ended for a in after), default=None)
    # A client's outage: from its first failed try of a key to that key's acknowledgement.
    acked_at = {a.key: a.ended for a in ok}
    outages = []
    for key in {a.key for a in failed}:
        first_fail = min(a.started for a in failed if a.key == key)
        if key in acked_at:
            outages.append(acked_at[key] - first_fail)
    events = read_events(events_path)[events_before:]
    conns = {0: [0, 0], 1: [0, 0]}
    fails_after = 0
    for e in events:
        if e["event"] == "conn":
            conns[e["backend"]][0 if e["t"] < gone_at else 1] += 1
        elif e["event"] == "fail" and e["t"] >= killed_at:
            fails_after += 1
    statuses: dict[str, int] = {}
    for a in failed:
        statuses[a.outcome] = statuses.get(a.outcome, 0) + 1
    span_before = killed_at - load_started
    span_after = max(0.001, load_ended - killed_at)
    result = {
        "clients": len(workers), "prefix": prefix, "acked": record.acked,
        "attempted": sorted(record.attempted), "gave_up": record.gave_up, "refused": record.refused,
        "attempts": len(attempts), "ok": len(ok), "created": sum(a.outcome == "created" for a in ok),
        "replayed": sum(a.outcome == "replayed" for a in ok), "failed": len(failed),
        "failed_keys": len({a.key for a in failed}), "statuses": statuses,
        "failed_before_kill": sum(a.ended < killed_at for a in failed),
        "recovery_s": (recovery - killed_at) if recovery else None,
        "max_outage_s": max(outages, default=0.0),
        "rps_before": len(before) / span_before, "rps_after": len(after) / span_after,
        "kill_after": span_before, "after_kill": load_ended - killed_at,
        "conns": conns, "connect_fails_after": fails_after,
    }
    log(f"  {len(ok)} reports acknowledged ({result['created']} created, {result['replayed']} replayed "
        f"after a lost answer), {len(failed)} tries failed {statuses or ''}; "
        f"{result['rps_before']:.1f}/s before the kill, {result['rps_after']:.1f}/s after")
    log(f"  balancer: server 1 {conns[0][0]} connections before, {conns[0][1]} after; server 2 "
        f"{conns[1][0]} before, {conns[1][1]} after; {fails_after} failed connects to server 1 after")
    if recovery:
        log(f"  first acknowledgement of a report sent after the kill: {result['recovery_s'] * 1000:.0f} ms; "
            f"longest from sending a try that failed to its key's acknowledgement: "
            f"{result['max_outage_s']:.2f} s")
    return result


def verify(env: dict, load: dict, notice_id: int | None) -> dict:
    payload = json.dumps({"prefix": load["prefix"], "acked": load["acked"], "attempted": load["attempted"],
                          "notice_id": notice_id})
    result = subprocess.run([sys.executable, "-c", VERIFY_CODE], cwd=ROOT, env=env, input=payload,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"checking the database failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- 3. a notice through server 2 and the consumer -------------------------------------------

def notice_check(data: dict, admin: str, tokens: dict, balancer_port: int) -> dict:
    server2 = APPS[1][3]
    title = f"扩容演练通知 {uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    status, answer = post_json(server2, APP_PORT, "/api/v1/notices",
                               {"title": title, "body": "两台应用服务器之一停机后的通知送达检查。",
                                "grid_code": data["notice_grid"], "audience": "staff"}, admin)
    if status != 201:
        raise RuntimeError(f"publishing through server 2: {status} {answer!r:.300}")
    notice_id = answer["id"]
    recipient = data["workers"][0]["username"]
    seen = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, page = get_json(LOOPBACK, balancer_port, "/api/v1/notifications?limit=20", tokens[recipient])
        items = page.get("items", []) if isinstance(page, dict) else page if isinstance(page, list) else []
        if status == 200 and any(title in n.get("text", "") for n in items):
            seen = time.monotonic() - started
            break
        time.sleep(0.2)
    outcome = f"in {recipient}'s notifications after {seen:.2f} s" if seen is not None else "NOT delivered"
    log(f"  notice {notice_id} to {data['notice_grid']} (staff) through server 2: {outcome}")
    return {"notice_id": notice_id, "seen_s": seen, "recipient": recipient, "grid": data["notice_grid"]}


# --- main --------------------------------------------------------------------------------------

def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5).flushdb()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=None, help="grid workers reporting (8; quick 4)")
    parser.add_argument("--kill-after", type=float, default=None, help="seconds of load before the kill (3)")
    parser.add_argument("--after-kill", type=float, default=None, help="load after it (10 s; quick 4)")
    parser.add_argument("--pg", default=os.environ.get("GRIDGOV_BENCH_PG", DEFAULT_PG),
                        help="PostgreSQL maintenance database URL (loopback only)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="Redis URL with its own database number "
                        "(loopback only; flushed before and after)")
    parser.add_argument("--database", default="gridgov_scaleout", help="the scratch database (dropped)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 clients, shorter")
    parser.add_argument("--no-write", action="store_true", help="print the results, leave docs alone")
    parser.add_argument("--proxies", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.clients = args.clients or (4 if args.quick else 8)
    args.kill_after = args.kill_after if args.kill_after is not None else (2.0 if args.quick else 3.0)
    args.after_kill = args.after_kill if args.after_kill is not None else (4.0 if args.quick else 10.0)
    if args.proxies is None:
        loopback_only(args.pg)
        loopback_only(args.redis)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.proxies is not None:
        return run_proxies(args.proxies)
    if os.geteuid() != 0:
        raise SystemExit("network namespaces need root")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = time.perf_counter()
    var_dir = Path(tempfile.mkdtemp(prefix="gridgov-scaleout-"))
    redis_db = args.redis.rsplit("/", 1)[-1]
    shared = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GRIDGOV_DEBUG", "DATABASE_URL")}
    shared.update(GRIDGOV_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="gridgov.settings",
                  GRIDGOV_SECRET_KEY=secrets.token_urlsafe(48), GRIDGOV_DATA_KEY=secrets.token_urlsafe(48),
                  GRIDGOV_ALLOWED_HOSTS=",".join([LOOPBACK, "localhost", *(a[3] for a in APPS)]),
                  GRIDGOV_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    # Set-up and checks from the root namespace; the servers and the consumer through the forwarders.
    local = {**shared, "DATABASE_URL": database_url(args.pg, args.database), "REDIS_URL": args.redis}
    forwarded_pg = database_url(args.pg, args.database)
    for name in ("127.0.0.1", "localhost"):
        forwarded_pg = forwarded_pg.replace(f"@{name}:5432/", f"@{BRIDGE_ADDR}:{PG_PORT}/")
    if BRIDGE_ADDR not in forwarded_pg:
        raise SystemExit(f"--pg must name 127.0.0.1:5432 or localhost:5432, not {args.pg}")
    remote = {**shared, "DATABASE_URL": forwarded_pg, "REDIS_URL": f"redis://{BRIDGE_ADDR}:{REDIS_PORT}/{redis_db}"}
    network = Network()
    groups: list[Group] = []
    failures: list[str] = []
    results: dict = {}
    try:
        log(f"database {args.database}, Redis {args.redis}, shared var {var_dir}")
        recreate_database(args.pg, args.database)
        flush_redis(args.redis)
        t0 = time.perf_counter()
        run_manage(local, "migrate", "--noinput", "-v", "0", timeout=900)
        run_manage(local, "demo", "--profile", "fengqiao", "--no-history", "--no-registry", "-v", "0",
                   timeout=900)
        log(f"migrated and built the fengqiao demo in {time.perf_counter() - t0:.0f} s")
        data = bench_data(local, args.clients, POINTS_PER_WORKER, MORE_SETUP_CODE)
        if len(data["workers"]) < args.clients:
            raise RuntimeError(f"only {len(data['workers'])} grid workers of different grids")
        log(f"{data['grids']} grids; {len(data['workers'])} grid workers; category {data['category']}; "
            f"locator check every {data['check_seconds']} s")

        network.create()
        log(f"namespaces {', '.join(f'{a[0]} {a[3]}' for a in APPS)} on bridge {BRIDGE} {BRIDGE_ADDR}/24")
        balancer_port = free_port()
        events_path = var_dir / "balancer-events.jsonl"
        spec = {"forward": [[BRIDGE_ADDR, PG_PORT, LOOPBACK, 5432],
                            [BRIDGE_ADDR, REDIS_PORT, LOOPBACK, 6379]],
                "balance": {"listen": [LOOPBACK, balancer_port],
                            "backends": [[a[3], APP_PORT] for a in APPS]},
                "events": str(events_path)}
        me = [sys.executable, str(Path(__file__).resolve())]
        proxies = Group("proxies", [*me, "--proxies", json.dumps(spec)], shared, var_dir / "proxies.log",
                        stdout=subprocess.PIPE)
        groups.append(proxies)
        if proxies.process.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"the proxies did not start:\n{proxies.tail()}")
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        servers = []
        for ns, _h, _n, addr in APPS:
            server = Group(f"gunicorn in {ns}", [
                network.ip, "netns", "exec", ns, gunicorn, "gridgov.wsgi", "--bind", f"{addr}:{APP_PORT}",
                "--workers", "2", "--threads", "4", "--worker-class", "gthread", "--keep-alive", "5",
                "--timeout", "60", "--log-level", "warning"], remote, var_dir / f"gunicorn-{ns}.log")
            groups.append(server)
            servers.append(server)
        huey = Group("huey", [sys.executable, "-m", "gridgov", "run_huey", "--workers", "1"], remote,
                     var_dir / "huey.log")
        groups.append(huey)
        for server, app in zip(servers, APPS, strict=True):
            wait_http(app[3], APP_PORT, server)
        wait_http(LOOPBACK, balancer_port, None)
        log(f"gunicorn (2×4 gthread) on {APPS[0][3]}:{APP_PORT} and {APPS[1][3]}:{APP_PORT}; "
            f"balancer on {LOOPBACK}:{balancer_port}; huey consumer pid {huey.pid}")

        admin = get_token(APPS[0][3], APP_PORT, "admin")
        tokens = {w["username"]: get_token(LOOPBACK, balancer_port, w["username"]) for w in data["workers"]}

        log("1. grids changed on server 1, located on server 2")
        results["locator"] = loc = locator_check(data, admin, data["check_seconds"])
        if not loc["ok"]:
            failures.append(f"the servers answered stale grids {loc['late_stale']} times later than "
                            f"{loc['limit']:.1f} s after the import")

        log(f"2. {args.clients} grid workers through the balancer; server 1 killed after "
            f"{args.kill_after:.0f} s")
        results["load"] = load = kill_under_load(args, data, tokens, balancer_port, servers[0], events_path,
                                                 make_photo(PHOTO_BYTES))
        if load["gave_up"]:
            failures.append(f"reports never acknowledged or refused: {load['gave_up'][:3]}")
        if load["recovery_s"] is None:
            failures.append("nothing was acknowledged after the kill")
        if load["conns"][0][0] == 0 or load["conns"][1][0] == 0:
            failures.append(f"the balancer did not use both servers before the kill: {load['conns']}")
        if load["conns"][0][1]:
            failures.append(f"the balancer reached server 1 after it was killed: {load['conns']}")
        if load["failed_before_kill"]:
            failures.append(f"{load['failed_before_kill']} tries failed before the kill: {load['statuses']}")
        answered = {k: v for k, v in load["statuses"].items() if k.isdigit()}
        if answered:  # the balancer never answers itself: any status came from gridgov
            failures.append(f"reports answered with an error: {answered} {load['refused'][:3]}")
        if not huey.alive() or not servers[1].alive():
            failures.append("server 2 or the consumer died")

        log("3. a notice published through server 2, delivered by the consumer")
        results["notice"] = notice = notice_check(data, admin, tokens, balancer_port)
        if notice["seen_s"] is None:
            failures.append("the notice published through server 2 did not reach its recipient")

        log("checking the database")
        results["db"] = db = verify(local, load, notice["notice_id"])
        log(f"  {db['stored']} cases stored for {len(load['attempted'])} keys tried, {len(load['acked'])} "
            f"acknowledged; missing {db['missing_n']}, wrong case {len(db['wrong_id'])}, duplicates "
            f"{len(db['duplicates'])}, unknown {db['unknown_n']}, stored but unacknowledged "
            f"{db['unacked_stored']}; photos {db['photos_checked']} checked, {len(db['files_missing'])} "
            f"files missing")
        n = db["notice"]
        log(f"  notice: {n['notified_users']} of {n['targets']} recipients notified "
            f"(missing {n['missing']}, extra {n['extra']}, twice {n['twice']})")
        if db["missing_n"] or db["wrong_id"]:
            failures.append(f"acknowledged reports lost: {db['missing'][:5]} {db['wrong_id'][:5]}")
        if db["duplicates"]:
            failures.append(f"duplicate (reporter, client key): {db['duplicates'][:5]}")
        if db["unknown_n"] or db["unacked_stored"]:
            failures.append(f"cases no client acknowledged: {db['unknown'][:5]} ({db['unacked_stored']})")
        if db["no_photo"] or db["files_missing"]:
            failures.append(f"photos lost: {db['no_photo'][:5]} {db['files_missing'][:5]}")
        if not n["notified"] or n["missing"] or n["extra"] or n["twice"]:
            failures.append(f"notice fan-out wrong: {n}")
    except BaseException as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        for group in reversed(groups):
            group.stop()
        network.remove()
        left = [ns for ns, *_r in APPS if ns in sh(network.ip, "netns", "list", check=False).stdout.split()]
        if left:
            log(f"namespaces left behind: {left}")
        try:
            recreate_database(args.pg, args.database, drop_only=True)
        finally:
            flush_redis(args.redis)
            if failures:
                for name in ("huey.log", "proxies.log", *(f"gunicorn-{a[0]}.log" for a in APPS)):
                    path = var_dir / name
                    if path.exists() and path.stat().st_size:
                        log(f"--- {name} (end) ---\n{path.read_text(errors='replace')[-1500:]}")
            shutil.rmtree(var_dir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    body = report(args, results, failures, elapsed)
    print()
    print(body)
    if not args.no_write:
        write_section(DOC, SECTION, HEADING, body)
        log(f"wrote {DOC.relative_to(ROOT)}")
    for failure in failures:
        log(f"FAILED: {failure}")
    log(f"done in {elapsed:.0f} s: {'FAILED' if failures else 'all checks passed'}")
    return 1 if failures else 0


def report(args, results: dict, failures: list[str], elapsed: float) -> str:
    loc, load, db, notice = results["locator"], results["load"], results["db"], results["notice"]
    s1, s2 = loc["server1"], loc["server2"]
    n = db["notice"]
    changed = []
    if loc["micro"]:
        changed.append(f"micro-grid {loc['micro_was']} split: a square of it became micro-grid "
                       f"{loc['micro']}")
    if loc["special"]:
        changed.append(f"a special-purpose grid (school) {loc['special']}")
    failed_how = ", ".join(f"{k} × {v}" for k, v in sorted(load["statuses"].items()))
    verdict = "**All checks passed.**" if not failures else "**Failed:** " + "; ".join(failures)
    return "\n".join([
        f"Measured {datetime.date.today().isoformat()} by `bench/scaleout.py`"
        f"{' --quick' if args.quick else ''} on {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}: PostgreSQL (scratch database) and Redis (database "
        f"{args.redis.rsplit('/', 1)[-1]}) on the host; two gunicorn servers (2 gthread workers × 4 "
        f"threads each) in network namespaces `gg-app1` ({APPS[0][3]}) and `gg-app2` ({APPS[1][3]}), "
        "reaching PostgreSQL and Redis through TCP forwarders on the host side of a bridge; one huey "
        "consumer; a round-robin TCP balancer that skips a backend whose connect fails; one shared "
        "`GRIDGOV_VAR_DIR` and the same `GRIDGOV_SECRET_KEY` / `GRIDGOV_DATA_KEY` everywhere; fengqiao "
        f"demo. {elapsed:.0f} s in all.",
        "",
        "| check | result |",
        "|---|---|",
        f"| grids imported through server 1 ({'; '.join(changed)}) | every answer of server 2 new "
        f"from {s2['consistent_after']:.2f} s after the import on ({s2['stale']} stale of {s2['answers']}); "
        f"of server 1's other processes from {s1['consistent_after']:.2f} s ({s1['stale']} stale of "
        f"{s1['answers']}); bound GRIDGOV_LOCATOR_CHECK_SECONDS = {loc['check_s']:g} s + {MARGIN_S:g} s, "
        f"{loc['late_stale']} stale answers beyond it |",
        f"| load | {load['clients']} grid workers, one new connection per report, every other with a "
        f"photo; server 1's process group SIGKILLed after {load['kill_after']:.1f} s, "
        f"{load['after_kill']:.1f} s more |",
        f"| reports acknowledged | {load['ok']:,} ({load['created']:,} created, {load['replayed']} "
        f"answered 200 to a retry whose first answer was lost); {load['rps_before']:.1f}/s with two "
        f"servers, {load['rps_after']:.1f}/s with one |",
        f"| tries that failed at the kill | {load['failed']} ({failed_how or 'none'}) "
        f"on {load['failed_keys']} keys, retried with the same key: "
        f"{'all acknowledged' if not load['gave_up'] else 'NOT all acknowledged'} |",
        f"| balancer serving again from server 2 alone | first report sent after the kill acknowledged "
        f"{(load['recovery_s'] or float('nan')) * 1000:.0f} ms after it; longest from sending a try "
        f"that failed to its key's acknowledgement: {load['max_outage_s']:.2f} s; "
        f"{load['connect_fails_after']} refused connects to server 1 skipped |",
        f"| balancer connections (server 1 / server 2) | before the kill {load['conns'][0][0]} / "
        f"{load['conns'][1][0]}; after {load['conns'][0][1]} / {load['conns'][1][1]} |",
        f"| in the database | {db['stored']:,} cases for {len(load['attempted']):,} keys: every acknowledged "
        f"case present ({db['missing_n']} missing), {len(db['duplicates'])} duplicate (reporter, client "
        f"key), {db['unknown_n'] + db['unacked_stored']} unacknowledged; {db['photos_checked']} photos "
        f"on the shared volume ({len(db['files_missing'])} missing) |",
        f"| notice published through server 2 after the kill | fanned out by the consumer to "
        f"{n['notified_users']} of {n['targets']} staff of {notice['grid']} ({n['twice']} twice); in a "
        f"recipient's `GET /api/v1/notifications` after "
        f"{notice['seen_s'] if notice['seen_s'] is not None else float('nan'):.2f} s |",
        "",
        verdict,
    ])


if __name__ == "__main__":
    sys.exit(main())
