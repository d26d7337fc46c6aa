"""Faults: SIGKILL the server and the huey consumer mid-work; nothing lost, nothing done twice.

    .venv/bin/python bench/faults.py intake                 # SQLite file in a temporary var dir
    .venv/bin/python bench/faults.py intake --postgres      # scratch PostgreSQL database
    .venv/bin/python bench/faults.py huey [--postgres] [--redis]
    .venv/bin/python bench/faults.py all [--postgres]       # intake, then huey (SQLite queue, then Redis)
    .venv/bin/python bench/faults.py intake --quick         # a few seconds, one kill (CI; implies --no-write)

`intake`: a scratch database (an SQLite file in a temporary GRIDGOV_VAR_DIR, or a scratch
PostgreSQL database with --postgres), migrated, with the fengqiao demo district; gunicorn
(2 workers) in its own process group; N client threads, each a grid worker with a bearer
token, post reports (multipart POST /api/v1/cases, channel=worker, a fresh client key per
report) in a loop. A report counts as acknowledged only on 200/201 with the case id; on a
connection error, a timeout or a 5xx the client keeps the key and sends the same report
again later. Every few seconds the whole gunicorn process group (master and workers) is
SIGKILLed and a new server started on the same port. At the end the clients stop making new
reports, every unacknowledged one is retried to acknowledgement, and the database is read:
every acknowledged case exists with its key and reporter, no (reporter, key) has two cases,
and the cases equal the distinct keys sent.

`huey`: the same kind of scratch database with many open cases past their time limits (yellow,
red, and red beyond the escalation margin) and thousands of residents. The consumer
(`gridgov run_huey --workers 1`, queue in SQLite under GRIDGOV_VAR_DIR, or Redis with --redis on a
dedicated database number that must be empty and is flushed after) is SIGKILLed while
`watch_time_limits` is half-way through the cases, restarted, the job enqueued again (and once
more after it finished); then a notice to the whole street is published and the consumer is
SIGKILLed during the fan-out of its notifications, restarted, and left alone: the pending
notice must be picked up without help. Checked: each case's light, its notifications (case,
user, kind) exactly as computed before the job (none missing, none twice), one escalation log
per escalated case; each recipient of the notice exactly one notification, nobody else.

Figures go into docs/reliability.md (sections faults-sqlite / faults-postgresql) unless
--no-write; --quick implies --no-write. Exit status 0 only when nothing was lost or doubled.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from intake import (
    DESCRIPTIONS,
    HOST,
    Server,
    ServerConfig,
    _die_with_parent,
    bench_data,
    build_district,
    free_port,
    get_tokens,
    http_request,
    log,
)
from scratch import database_url, loopback_only, recreate_database, write_section

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
PASSWORD = "gridgov-demo-2026"
REQUEST_TIMEOUT_S = 10.0
FANOUT_STARTED = "Executing gridgov.engagement.tasks.notify_recipients"
RETRY_PAUSE_S = 0.2


# --- the environment ---------------------------------------------------------------------------

@dataclass
class Store:
    """The scratch database (and queue) of one run."""

    kind: str  # "sqlite" | "postgresql"
    var_dir: Path
    admin_url: str = ""
    database: str = ""
    redis_url: str = ""

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.var_dir / 'gridgov.sqlite3'}"
        return database_url(self.admin_url, self.database)

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "GRIDGOV_DEBUG", "DATABASE_URL")}
        env.update(DATABASE_URL=self.url, GRIDGOV_VAR_DIR=str(self.var_dir),
                   DJANGO_SETTINGS_MODULE="gridgov.settings", GRIDGOV_ALLOWED_HOSTS=HOST,
                   GRIDGOV_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def query(self, sql: str, params=()) -> list[tuple]:
        """Read the database directly (no Django start-up: fast enough to poll)."""
        if self.kind == "sqlite":
            path = self.var_dir / "gridgov.sqlite3"
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def create(self) -> None:
        if self.kind == "postgresql":
            recreate_database(self.admin_url, self.database)

    def drop(self) -> None:
        if self.kind == "postgresql":
            recreate_database(self.admin_url, self.database, drop_only=True)

    @property
    def label(self) -> str:
        if self.kind == "sqlite":
            return "SQLite (WAL file)"
        return postgres_version(self.admin_url)


def postgres_version(admin_url: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, connect_timeout=5) as conn:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]


def run_django(env: dict, code: str, *args: str, timeout: float = 600) -> dict:
    """Run `code` (which prints one JSON line last) in a subprocess with the bench environment."""
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"Django subprocess failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group (master and workers, or consumer and its threads): no clean-up at all."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=15)


# --- intake under kill -9 -----------------------------------------------------------------------

@dataclass
class Pending:
    key: str
    body: bytes
    attempts: int = 0
    first_sent: float = 0.0


@dataclass
class ClientStats:
    sent_keys: list[str] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # client key -> case id
    created: int = 0  # 201
    replayed: int = 0  # 200: the server already had the key
    failures: Counter = field(default_factory=Counter)  # kind -> count
    rejected: list[str] = field(default_factory=list)  # 4xx: never expected
    retried_acks: int = 0  # acknowledged after at least one failed attempt
    ack_times: list[float] = field(default_factory=list)  # monotonic time of each acknowledgement


class Client(threading.Thread):
    """One grid worker: reports in a closed loop; unacknowledged reports are resent with their key."""

    def __init__(self, index: int, port: int, run: str, worker: dict, token: str, category_id: int,
                 stop_new: threading.Event, give_up: threading.Event):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index, self.port, self.run_id = index, port, run
        self.username, self.points = worker["username"], worker["points"]
        self.token, self.category_id = token, category_id
        self.stop_new, self.give_up = stop_new, give_up
        self.rng = random.Random(index)
        self.seq = 0
        self.boundary = "----gridgovfaults" + uuid.uuid4().hex
        self.pending: list[Pending] = []
        self.stats = ClientStats()

    def new_report(self) -> Pending:
        self.seq += 1
        key = f"faults-{self.run_id}-{self.index}-{self.seq}"
        lat, lon = self.rng.choice(self.points)
        fields = {"channel": "worker", "category_id": str(self.category_id),
                  "description": self.rng.choice(DESCRIPTIONS), "lat": f"{lat:.7f}", "lon": f"{lon:.7f}",
                  "client_key": key}
        parts = [f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                 for name, value in fields.items()]
        body = ("".join(parts) + f"--{self.boundary}--\r\n").encode()
        self.stats.sent_keys.append(key)
        return Pending(key, body)

    def send(self, report: Pending) -> bool:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                   "Content-Type": f"multipart/form-data; boundary={self.boundary}"}
        report.attempts += 1
        report.first_sent = report.first_sent or time.monotonic()
        try:
            status, body = http_request(self.port, "POST", "/api/v1/cases", report.body, headers,
                                        timeout=REQUEST_TIMEOUT_S)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, reset, timeout, cut
            self.stats.failures[type(exc).__name__] += 1
            return False
        if status >= 500:
            self.stats.failures[f"HTTP {status}"] += 1
            return False
        if status not in (200, 201):
            self.stats.rejected.append(f"{report.key}: {status} {body[:200]!r}")
            return True  # not retried: a 4xx is a defect the verdict reports
        try:
            case_id = int(json.loads(body)["id"])
        except (ValueError, KeyError, TypeError):
            self.stats.failures["bad body"] += 1
            return False
        self.stats.acked[report.key] = case_id
        self.stats.ack_times.append(time.monotonic())
        if status == 201:
            self.stats.created += 1
        else:
            self.stats.replayed += 1
        if report.attempts > 1:
            self.stats.retried_acks += 1
        return True

    def run(self) -> None:
        while not self.give_up.is_set():
            if self.pending:
                report = self.pending.pop(0)
            elif self.stop_new.is_set():
                return  # everything sent was acknowledged
            else:
                report = self.new_report()
            if not self.send(report):
                self.pending.append(report)  # same key, later
                time.sleep(RETRY_PAUSE_S)


VERIFY_INTAKE_CODE = r"""
import json, sys
from collections import Counter
import django
django.setup()
from gridgov.cases.models import Case

sent = json.load(open(sys.argv[1]))
rows = list(Case.objects.filter(client_key__startswith=sys.argv[2])
            .values_list("pk", "client_key", "reporter__username"))
by_pk = {pk: (key, user) for pk, key, user in rows}
per_key = Counter((user, key) for _pk, key, user in rows)
missing = [k for k, (user, pk) in sent["acked"].items() if by_pk.get(pk) != (k, user)]
duplicates = {f"{u} {k}": n for (u, k), n in per_key.items() if n > 1}
keys_sent = {(user, key) for user, key in sent["sent"]}
never_stored = [f"{u} {k}" for u, k in keys_sent if (u, k) not in per_key]
print(json.dumps({"cases": len(rows), "distinct_keys_sent": len(keys_sent), "missing": len(missing),
                  "missing_sample": missing[:5], "duplicates": len(duplicates),
                  "duplicate_sample": list(duplicates.items())[:5], "never_stored": len(never_stored),
                  "never_stored_sample": never_stored[:5]}))
"""


def intake_scenario(args, store: Store) -> dict:
    env = store.env()
    demo = build_district(env, "--no-registry")
    data = bench_data(env, args.clients, 64)
    log(f"category {data['category']}; {len(data['workers'])} grid workers")
    port = free_port()
    config = ServerConfig(2, 1)
    logfile = store.var_dir / "gunicorn.log"
    server = Server(config, env, logfile, port=port).__enter__()
    kills: list[dict] = []
    run = uuid.uuid4().hex[:8]
    stop_new, give_up = threading.Event(), threading.Event()
    try:
        tokens = get_tokens(port, [w["username"] for w in data["workers"]], PASSWORD)
        clients = [Client(i, port, run, w, tokens[w["username"]], data["category_id"], stop_new, give_up)
                   for i, w in enumerate(data["workers"])]
        started = time.monotonic()
        for c in clients:
            c.start()
        kill_at = [args.first_kill + i * args.kill_every for i in range(args.kills)]
        for at in kill_at:
            time.sleep(max(0.0, started + at - time.monotonic()))
            acked_before = sum(len(c.stats.acked) for c in clients)
            killed_pids = server.pids()
            t_kill = time.monotonic()
            kill_group(server.process)
            server.stop()  # already dead: closes the log only
            time.sleep(args.down)
            t_start = time.monotonic()
            server = Server(config, env, logfile, port=port).__enter__()
            t_ready = time.monotonic()
            kills.append({"at": t_kill - started, "pids": len(killed_pids), "acked_before": acked_before,
                          "t_kill": t_kill, "start_s": t_ready - t_start, "ready_s": t_ready - t_kill})
            log(f"  SIGKILL at {t_kill - started:.1f} s ({len(killed_pids)} processes, {acked_before} "
                "acknowledged "
                f"so far); new server answering {t_ready - t_kill:.2f} s after the kill")
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
        stop_new.set()
        t_stop = time.monotonic()
        for c in clients:
            c.join(timeout=args.drain_timeout)
        drain_s = time.monotonic() - t_stop
        give_up.set()
        undrained = sum(len(c.pending) for c in clients) + sum(c.is_alive() for c in clients)
        elapsed = time.monotonic() - started
    finally:
        give_up.set()
        server.stop()
    all_ack_times = sorted(t for c in clients for t in c.stats.ack_times)
    for k in kills:  # recovery: from the kill to the first acknowledgement after it
        after = [t for t in all_ack_times if t > k["t_kill"] + args.down]
        k["recovered_s"] = (after[0] - k["t_kill"]) if after else float("nan")
    sent = {"acked": {}, "sent": []}
    for c in clients:
        sent["sent"].extend([c.username, k] for k in c.stats.sent_keys)
        sent["acked"].update({k: [c.username, pk] for k, pk in c.stats.acked.items()})
    path = store.var_dir / "intake-sent.json"
    path.write_text(json.dumps(sent))
    check = run_django(env, VERIFY_INTAKE_CODE, str(path), f"faults-{run}-")
    failures = Counter()
    for c in clients:
        failures.update(c.stats.failures)
    result = {
        "demo": " ".join(demo), "clients": len(clients), "seconds": elapsed, "kills": kills,
        "sent": len(sent["sent"]), "acked": len(sent["acked"]),
        "created": sum(c.stats.created for c in clients), "replayed": sum(c.stats.replayed for c in clients),
        "retried_acks": sum(c.stats.retried_acks for c in clients), "failures": dict(failures),
        "failed_requests": sum(failures.values()), "rejected": [r for c in clients for r in c.stats.rejected],
        "undrained": undrained, "drain_s": drain_s, "check": check,
    }
    result["ok"] = (check["missing"] == 0 and check["duplicates"] == 0 and check["never_stored"] == 0
                    and check["cases"] == check["distinct_keys_sent"] == result["sent"] == result["acked"]
                    and not result["rejected"] and undrained == 0 and len(kills) == args.kills)
    log(f"intake: {result['sent']} reports sent, {result['acked']} acknowledged ({result['created']} "
        "created, "
        f"{result['replayed']} answered from an earlier attempt), {result['failed_requests']} requests "
        "failed "
        f"{dict(failures)}; drained in {drain_s:.1f} s")
    log(f"intake: {check['cases']} cases for {check['distinct_keys_sent']} distinct keys: "
        f"{check['missing'] + check['never_stored']} missing, {check['duplicates']} duplicates")
    if result["rejected"]:
        log(f"intake: rejected {result['rejected'][:3]}")
    return result


def intake_section(result: dict) -> str:
    check = result["check"]
    rows = ["| kill | at s | processes killed | acknowledged before | new server answering after s "
            "| first acknowledgement after s |", "|---:|---:|---:|---:|---:|---:|"]
    for i, k in enumerate(result["kills"], 1):
        rows.append(f"| {i} | {k['at']:.1f} | {k['pids']} | {k['acked_before']:,} | {k['ready_s']:.2f} "
                    f"| {k['recovered_s']:.2f} |")
    failures = ", ".join(f"{n} {kind}" for kind, n in sorted(result["failures"].items())) or "none"
    verdict = "**passed**" if result["ok"] else "**FAILED**"
    return "\n".join([
        f"Intake ({result['clients']} grid workers, {result['seconds']:.0f} s, gunicorn 2 sync workers, "
        f"`gridgov {result['demo']}`): {result['sent']:,} reports sent, {result['acked']:,} acknowledged "
        f"({result['created']:,} created, {result['replayed']:,} answered 200 with the case an earlier, "
        f"unacknowledged attempt had made); {result['failed_requests']:,} requests failed during the kills "
        f"({failures}); {result['retried_acks']:,} reports acknowledged only after a retry with the "
        "same key; "
        f"the last unacknowledged reports were acknowledged {result['drain_s']:.1f} s after the clients "
        "stopped.",
        "",
        f"In the database: {check['cases']:,} cases for {check['distinct_keys_sent']:,} distinct client "
        "keys; "
        f"{check['missing'] + check['never_stored']} missing, {check['duplicates']} duplicates: {verdict}.",
        "", *rows,
    ])


# --- huey under kill -9 -------------------------------------------------------------------------

HUEY_SETUP_CODE = r"""
import json, sys
from datetime import timedelta
import django
django.setup()
from django.contrib.auth import get_user_model
from django.utils import timezone
from gridgov.accounts.models import Assignment, Role
from gridgov.cases import notify, workflow
from gridgov.cases.models import Case, Category
from gridgov.grids.models import Grid

n_cases, n_residents, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
now = timezone.now()
leaves = Category.objects.filter(is_active=True, kind="matter", children__isnull=True)
category = leaves.filter(code="06010").order_by("pk").first() or leaves.order_by("code").first()
grids = list(Grid.objects.filter(children__isnull=True).order_by("code"))
owners = {g.pk: workflow.command_grid_for(g) for g in grids}
grids = [g for g in grids if owners[g.pk] is not None]
# Share of the stage's limit elapsed: yellow (0.9), red (1.2), red and escalated (2.0).
groups = [("yellow", 9), ("red", 12), ("escalated", 20)]
cases = []
for i in range(n_cases):
    group, hours = groups[i % 3]
    grid = grids[i % len(grids)]
    started = now - timedelta(hours=hours)
    cases.append(Case(channel="hotline", state="reported", category=category,
                      description=f"faults {group} {i}",
                      grid=grid, owner_grid=owners[grid.pk], client_key=f"faults-{group}-{i}",
                      reported_at=started, stage_started_at=started, deadline=started + timedelta(hours=10),
                      deadline_unit="natural_hours"))
Case.objects.bulk_create(cases, batch_size=500)
expected = {}
mine = Case.objects.filter(client_key__startswith="faults-")
for case in mine.select_related("grid", "owner_grid", "category"):
    group = case.client_key.split("-")[1]
    kinds = {}
    if group == "yellow":
        kinds["yellow"] = notify.responsible_for(case)
    else:
        kinds["red"] = notify.responsible_for(case) + notify.leaders_of(case)
    if group == "escalated":
        case.owner_grid = workflow.command_grid_for(case.owner_grid, above=case.owner_grid)
        kinds["escalate"] = notify.dispatchers_of(case)
    active = set(get_user_model().objects.filter(is_active=True).values_list("pk", flat=True))
    expected[case.pk] = {"group": group, "light": "yellow" if group == "yellow" else "red",
                         "notify": {k: sorted(set(v) & active) for k, v in kinds.items()}}
User = get_user_model()
users = User.objects.bulk_create([User(username=f"faults-resident-{i}", name=f"居民{i}", password="!")
                                  for i in range(n_residents)], batch_size=1000)
if not users or users[0].pk is None:
    users = list(User.objects.filter(username__startswith="faults-resident-").order_by("pk"))
# Residents live under the street the notice goes to (the first leader's grid, as PUBLISH_CODE picks it).
street = (Assignment.objects.filter(role=Role.LEADER, is_active=True, grid__isnull=False)
          .order_by("grid__code").first().grid)
homes = [g for g in grids if g.code.startswith(street.code)] or grids
Assignment.objects.bulk_create([Assignment(user=u, role=Role.RESIDENT, grid=homes[i % len(homes)])
                                for i, u in enumerate(users)], batch_size=1000)
json.dump(expected, open(out, "w"))
print(json.dumps({"cases": len(expected), "residents": len(users), "grids": len(grids),
                  "notifications_expected": sum(len(u) for e in expected.values()
                                                for u in e["notify"].values())}))
"""

VERIFY_LIGHTS_CODE = r"""
import json, sys
from collections import Counter
import django
django.setup()
from gridgov.cases.models import Case, CaseLog, Notification

expected = {int(k): v for k, v in json.load(open(sys.argv[1])).items()}
lights = dict(Case.objects.filter(pk__in=expected).values_list("pk", "light"))
escalated = dict(Case.objects.filter(pk__in=expected).values_list("pk", "is_escalated_overdue"))
logs = Counter(CaseLog.objects.filter(case_id__in=expected, action="escalate")
               .values_list("case_id", flat=True))
got = Counter(Notification.objects.filter(case_id__in=expected, kind__in=("yellow", "red", "escalate"))
              .values_list("case_id", "kind", "user_id"))
want = Counter((pk, kind, user) for pk, e in expected.items()
               for kind, users in e["notify"].items() for user in users)
missing = want - got
doubled = {k: n for k, n in got.items() if n > 1}
extra = {k: n for k, n in (got - want).items() if want[k] == 0}
wrong_light = [pk for pk, e in expected.items() if lights.get(pk) != e["light"]]
want_esc = {pk for pk, e in expected.items() if e["group"] == "escalated"}
wrong_escalation = [pk for pk in expected
                    if escalated.get(pk) != (pk in want_esc) or logs[pk] != (pk in want_esc)]
# Torn cases: the light changed (or the case escalated) and its notifications or log not written.
told = {(pk, kind) for pk, kind, _user in got}
torn = [pk for pk, e in expected.items()
        if (lights.get(pk) not in (None, "green") and e["notify"].get(lights[pk])
            and (pk, lights[pk]) not in told)
        or (escalated.get(pk) and not logs[pk])]
print(json.dumps({"cases": len(expected), "notifications": sum(got.values()),
                  "notifications_expected": sum(want.values()),
                  "missing": sum(missing.values()), "torn": len(torn),
                  "doubled": sum(n - 1 for n in doubled.values()), "extra": sum(extra.values()),
                  "wrong_light": len(wrong_light), "wrong_escalation": len(wrong_escalation),
                  "escalation_logs": sum(logs.values()),
                  "sample_missing": [list(k) for k in list(missing)[:5]],
                  "sample_doubled": [list(k) for k in list(doubled)[:5]]}))
"""

ENQUEUE_LIGHTS_CODE = r"""
import json
import django
django.setup()
from gridgov.cases.tasks import watch_time_limits
result = watch_time_limits()
print(json.dumps({"task": getattr(result, "id", None)}))
"""

PUBLISH_CODE = r"""
import json, sys
import django
django.setup()
from gridgov.accounts.models import Assignment, Role
from gridgov.engagement import services
from gridgov.engagement.models import Notice

top = (Assignment.objects.filter(role=Role.LEADER, is_active=True, grid__isnull=False)
       .select_related("grid", "user").order_by("grid__code").first())
data = services.NoticeData(title="停水通知（故障测试）", body="明日 8:00-18:00 全街道停水，请提前储水。",
                           grid_code=top.grid.code, audience=Notice.Audience.EVERYONE, requires_receipt=True)
notice = services.publish(top.user, data)  # enqueues the fan-out after commit
targets = sorted(services.target_assignments(notice).values_list("user_id", flat=True).distinct())
json.dump({"notice": notice.pk, "targets": targets, "text": services.notification_text(notice)},
          open(sys.argv[1], "w"))
print(json.dumps({"notice": notice.pk, "grid": top.grid.code, "targets": len(targets)}))
"""

VERIFY_NOTICE_CODE = r"""
import json, sys
from collections import Counter
import django
django.setup()
from gridgov.cases.models import Notification
from gridgov.engagement.models import Notice

want = json.load(open(sys.argv[1]))
notice = Notice.objects.get(pk=want["notice"])
got = Counter(Notification.objects.filter(kind="notice", text=want["text"]).values_list("user_id", flat=True))
targets = set(want["targets"])
print(json.dumps({"targets": len(targets), "notifications": sum(got.values()),
                  "notified": notice.notified_at is not None,
                  "missing": len(targets - set(got)), "doubled": sum(n - 1 for n in got.values() if n > 1),
                  "extra": len(set(got) - targets)}))
"""


class Consumer:
    """`gridgov run_huey --workers 1` in its own process group, its log appended to one file."""

    def __init__(self, env: dict, logfile: Path):
        self.env, self.logfile = env, logfile
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "Consumer":
        self._log = self.logfile.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gridgov", "run_huey", "--workers", "1", "--flush-locks"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent)
        return self

    def kill(self) -> None:
        kill_group(self.process)
        self._close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(self.process)
            except ProcessLookupError:
                pass
        self._close()

    def _close(self) -> None:
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def huey_scenario(args, store: Store) -> dict:
    env = store.env()
    queue = "Redis" if store.redis_url else "SQLite"
    if store.redis_url:
        redis_check_empty(store.redis_url)
    demo = build_district(env, "--no-registry")
    expected_path = store.var_dir / "lights-expected.json"
    t0 = time.monotonic()
    setup = run_django(env, HUEY_SETUP_CODE, str(args.cases), str(args.residents), str(expected_path))
    log(f"huey ({queue} queue): {setup['cases']} overdue cases, {setup['residents']} residents added in "
        f"{time.monotonic() - t0:.1f} s; {setup['notifications_expected']} light/escalation "
        "notifications expected")
    changed_sql = ("SELECT count(*) FROM cases_case WHERE client_key LIKE 'faults-%%' "
                   "AND (light <> 'green' OR is_escalated_overdue)")
    logfile = store.var_dir / "huey.log"
    consumer = Consumer(env, logfile)
    result = {"queue": queue, "demo": " ".join(demo), "fanout_kill_delay": args.fanout_kill_delay, **setup}
    try:
        # 1. watch_time_limits, killed half-way.
        consumer.start()
        t_enqueue = time.monotonic()
        run_django(env, ENQUEUE_LIGHTS_CODE)
        total = setup["cases"]
        low = max(1, total // 10)
        try:
            wait_for(lambda: (n := store.query(changed_sql)[0][0]) >= low and n, 120,
                               what="lights job started")
        except TimeoutError:
            raise RuntimeError("the lights job never started:\n" + consumer.log_text()[-3000:]) from None
        consumer.kill()
        t_kill = time.monotonic()
        at_kill = store.query(changed_sql)[0][0]
        result["lights_at_kill"] = at_kill
        result["lights_kill_after_s"] = t_kill - t_enqueue
        log(f"  SIGKILL of the consumer {t_kill - t_enqueue:.1f} s after enqueueing: {at_kill} of {total} "
            f"cases changed so far")
        mid = check_lights(env, expected_path)
        result["lights_mid"] = mid
        log(f"  at the kill: {mid['notifications']} of {mid['notifications_expected']} notifications, "
            f"{mid['doubled']} doubled, {mid['torn']} cases changed without their notifications or log")
        consumer.start()
        t_restart = time.monotonic()
        run_django(env, ENQUEUE_LIGHTS_CODE)
        done_marker = "watch_time_limits"
        runs_before = consumer.log_text().count("executed in")
        wait_for(lambda: store.query(changed_sql)[0][0] >= total, 300, 0.2, "every case changed")
        result["lights_recovered_s"] = time.monotonic() - t_restart
        wait_for(lambda: consumer.log_text().count("executed in") > runs_before, 120, 0.2, "the rerun "
                                                                                           "finished")
        # Once more on finished work: nothing may change.
        runs_before = consumer.log_text().count("executed in")
        run_django(env, ENQUEUE_LIGHTS_CODE)
        wait_for(lambda: consumer.log_text().count("executed in") > runs_before, 120, 0.2, "the third "
                                                                                           "run finished")
        lights = check_lights(env, expected_path)
        result["lights"] = lights
        log(f"  after restart ({done_marker} rerun in {result['lights_recovered_s']:.1f} s, and run "
            "once more): "
            f"{lights['notifications']} notifications for {lights['notifications_expected']} expected: "
            f"{lights['missing']} missing, {lights['doubled']} doubled, {lights['extra']} extra; "
            f"{lights['wrong_light']} wrong lights, {lights['wrong_escalation']} wrong escalations "
            f"({lights['escalation_logs']} escalation logs)")

        # 2. A notice's fan-out, killed in the middle; the restarted consumer must pick it up alone.
        notice_path = store.var_dir / "notice-expected.json"
        mark = len(consumer.log_text())
        t_publish = time.monotonic()
        published = run_django(env, PUBLISH_CODE, str(notice_path))
        log(f"  notice {published['notice']} to grid {published['grid']}: {published['targets']} recipients")
        try:
            wait_for(lambda: FANOUT_STARTED in consumer.log_text()[mark:], 120, 0.005, "fan-out started")
        except TimeoutError:
            raise RuntimeError("the fan-out never started:\n" + consumer.log_text()[-3000:]) from None
        time.sleep(args.fanout_kill_delay)
        consumer.kill()
        t_kill = time.monotonic()
        mid = run_django(env, VERIFY_NOTICE_CODE, str(notice_path))
        result["notice_mid"] = mid
        result["notice_kill_after_s"] = t_kill - t_publish
        result["notice_killed_mid"] = not mid["notified"]
        log(f"  SIGKILL {t_kill - t_publish:.1f} s after publishing: {mid['notifications']} notifications "
            f"visible, notice {'already' if mid['notified'] else 'not yet'} marked notified")
        consumer.start()
        t_restart = time.monotonic()
        notified_sql = "SELECT notified_at IS NOT NULL FROM engagement_notice WHERE id = %s"
        try:
            wait_for(lambda: store.query(notified_sql, (published["notice"],))[0][0], args.sweep_timeout, 0.2,
                     "the pending notice notified after the restart")
            result["notice_recovered_s"] = time.monotonic() - t_restart
        except TimeoutError:
            result["notice_recovered_s"] = float("nan")
        notice = run_django(env, VERIFY_NOTICE_CODE, str(notice_path))
        result["notice"] = notice
        took = re.findall(r"notify_(?:recipients|pending_notices): \S+ executed in ([\d.]+)s",
                          consumer.log_text()[mark:])
        result["fanout_s"] = max(map(float, took), default=float("nan"))
        log(f"  after restart (no help: {result['notice_recovered_s']:.1f} s): {notice['notifications']} "
            f"notifications for {notice['targets']} recipients: {notice['missing']} missing, "
            f"{notice['doubled']} doubled, {notice['extra']} extra")
    finally:
        consumer.stop()
        if store.redis_url:
            redis_flush(store.redis_url)
    counted = ("missing", "doubled", "extra", "wrong_light", "wrong_escalation")
    result["ok"] = (all(lights[k] == 0 for k in counted)
                    and 0 < result["lights_at_kill"] < total
                    and all(notice[k] == 0 for k in ("missing", "doubled", "extra")) and notice["notified"]
                    and notice["targets"] > 0)
    return result


def check_lights(env: dict, expected_path: Path) -> dict:
    return run_django(env, VERIFY_LIGHTS_CODE, str(expected_path))


def redis_check_empty(url: str) -> None:
    import redis

    size = redis.Redis.from_url(url).dbsize()
    if size:
        raise SystemExit(f"Redis {url} holds {size} keys: choose an unused --redis-db (it is flushed after)")


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def huey_section(result: dict) -> str:
    lights, notice, mid = result["lights"], result["notice"], result["lights_mid"]
    verdict = "**passed**" if result["ok"] else "**FAILED**"
    killed_mid = ("killed mid-way: the fan-out's transaction was rolled back, nothing visible"
                  if result["notice_killed_mid"] and result["notice_mid"]["notifications"] == 0
                  else f"the fan-out had already committed ({result['notice_mid']['notifications']} "
                       "notifications) "
                       "when the kill came: this run did not test the mid-fan-out kill")
    return "\n".join([
        f"huey consumer, {result['queue']} queue (`gridgov run_huey --workers 1`; {result['cases']:,} "
        "open cases past "
        f"their limits, a third each yellow, red, red and escalated; {result['residents']:,} residents "
        "added to the "
        f"demo): {verdict}.",
        "",
        f"- `watch_time_limits` SIGKILLed {result['lights_kill_after_s']:.1f} s after it was enqueued, with "
        f"{result['lights_at_kill']:,} of {result['cases']:,} cases changed ({mid['notifications']:,} of "
        f"{mid['notifications_expected']:,} notifications written, {mid['torn']} cases changed without their "
        f"notifications or escalation log at that moment); restarted and enqueued again: every case done "
        f"{result['lights_recovered_s']:.1f} s later, then run once more on the finished work. "
        f"Result: {lights['notifications']:,} notifications for {lights['notifications_expected']:,} "
        "expected "
        f"(per case, user and kind): {lights['missing']} missing, {lights['doubled']} twice, "
        f"{lights['extra']} "
        f"unexpected; {lights['wrong_light']} wrong lights; {lights['escalation_logs']:,} escalation logs, "
        f"{lights['wrong_escalation']} cases escalated wrongly or twice.",
        f"- A notice to the street for everyone ({notice['targets']:,} recipients), the consumer SIGKILLed "
        f"{result['notice_kill_after_s']:.1f} s after publishing, {result['fanout_kill_delay']:.1f} s "
        "into the "
        f"fan-out (which takes {result['fanout_s']:.1f} s whole), {killed_mid}. The restarted consumer, left "
        f"alone, notified it {result['notice_recovered_s']:.1f} s after its start (the sweep "
        f"`notify_pending_notices`): {notice['notifications']:,} "
        f"notifications, {notice['missing']} missing, {notice['doubled']} twice, {notice['extra']} to "
        "someone "
        f"else.",
    ])


# --- main ---------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=("intake", "huey", "all"))
    parser.add_argument("--postgres", nargs="?", const=os.environ.get("GRIDGOV_BENCH_PG", DEFAULT_PG),
                        default=None, metavar="ADMIN_URL",
                        help=f"a scratch PostgreSQL database on this server (default {DEFAULT_PG}); "
                             "without it an SQLite file")
    parser.add_argument("--database", default="gridgov_faults", help="the scratch PostgreSQL database "
                                                                     "(dropped after)")
    parser.add_argument("--redis", action="store_true", help="huey: the queue in Redis (only that; with "
                                                             "`all`, "
                                                              "both the SQLite and the Redis queue are run)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="Redis server (loopback only)")
    parser.add_argument("--redis-db", type=int, default=13, help="a Redis database number nobody uses "
                                                                 "(flushed)")
    parser.add_argument("--clients", type=int, default=None, help="intake: concurrent grid workers "
                                                                  "(default 8)")
    parser.add_argument("--seconds", type=float, default=None, help="intake: seconds of load (default 20)")
    parser.add_argument("--kills", type=int, default=None, help="intake: server kills (default 3)")
    parser.add_argument("--cases", type=int, default=None, help="huey: overdue cases (default 3000)")
    parser.add_argument("--residents", type=int, default=None, help="huey: residents added (default 30000)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the var directory")
    parser.add_argument("--quick", action="store_true", help="small and short, one kill (implies --no-write)")
    parser.add_argument("--no-write", action="store_true", help="leave docs/reliability.md alone")
    args = parser.parse_args(argv)
    q = args.quick
    args.clients = args.clients or (3 if q else 8)
    args.seconds = args.seconds or (5.0 if q else 20.0)
    args.kills = args.kills if args.kills is not None else (1 if q else 3)
    args.first_kill = 2.0 if q else 3.0
    args.kill_every = (args.seconds - args.first_kill - 1.0) / max(1, args.kills)
    args.down = 0.5
    args.drain_timeout = 120.0
    args.cases = args.cases or (300 if q else 3000)
    args.residents = args.residents or (8000 if q else 30000)
    args.fanout_kill_delay = 0.05
    args.sweep_timeout = 150.0
    args.no_write = args.no_write or q
    if args.postgres:
        loopback_only(args.postgres)
    loopback_only(args.redis_url)
    return args


def machine() -> str:
    return (f"{datetime.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} CPUs shared "
            "with other "
            f"work, Python {platform.python_version()}")


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = time.monotonic()
    kind = "postgresql" if args.postgres else "sqlite"
    runs = []
    if args.scenario in ("intake", "all"):
        runs.append(("intake", ""))
    if args.scenario in ("huey", "all"):
        if args.scenario == "all" or not args.redis:
            runs.append(("huey", ""))
        if args.redis:
            runs.append(("huey", f"{args.redis_url.rstrip('/')}/{args.redis_db}"))
    results, sections, ok = [], [], True
    label = ""
    for scenario, redis_url in runs:
        var_dir = Path(tempfile.mkdtemp(prefix="gridgov-faults-"))
        store = Store(kind, var_dir, args.postgres or "", f"{args.database}_{os.getpid()}" if args.quick
                      else args.database, redis_url)
        label = store.label
        log(f"{scenario}{' (Redis queue)' if redis_url else ''} on {label}; var {var_dir}")
        try:
            store.create()
            if scenario == "intake":
                result = intake_scenario(args, store)
                sections.append(intake_section(result))
            else:
                result = huey_scenario(args, store)
                sections.append(huey_section(result))
        finally:
            if args.keep:
                log(f"kept {store.database or ''} {var_dir}")
            else:
                try:
                    store.drop()
                finally:
                    shutil.rmtree(var_dir, ignore_errors=True)
        results.append(result)
        ok = ok and result["ok"]
        if scenario == "intake":
            check = result["check"]
            print(f"intake: {check['missing'] + check['never_stored']} missing, {check['duplicates']} "
                  "duplicates")
        else:
            lights, notice = result["lights"], result["notice"]
            print(f"huey ({result['queue']}) lights: {lights['missing']} missing, {lights['doubled']} "
                  "duplicates; "
                  f"notice: {notice['missing']} missing, {notice['doubled']} duplicates")
    print("\n\n".join(sections))
    if not args.no_write:
        name = "faults-postgresql" if kind == "postgresql" else "faults-sqlite"
        title = "PostgreSQL" if kind == "postgresql" else "SQLite"
        body = "\n\n".join([
            f"Measured {machine()}, {label}, `bench/faults.py "
            f"{' '.join(sys.argv[1:] if argv is None else argv)}`. "
            "SIGKILL of the whole process group, no clean-up; the figures below are one run's.",
            *sections])
        write_section(DOC, name, f"## Faults: kill -9 on {title} (`bench/faults.py`)", body)
        log(f"wrote {DOC.relative_to(ROOT)} ({name})")
    log(f"{'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
