"""Analytics at 10,000,000 cases: the KPI and dashboard endpoints on PostgreSQL (issue 6).

    .venv/bin/python bench/analytics.py                            # 10,000,000 cases, about an hour
    .venv/bin/python bench/analytics.py --cases 200000 --no-write  # a quick try
    .venv/bin/python bench/analytics.py --keep                     # keep the database for re-runs
    .venv/bin/python bench/analytics.py --reuse --keep             # measure the kept database again
    .venv/bin/python bench/analytics.py --reuse --keep --rebuild-rollups --refresh-tests --rollups-only
                                                                   # after a change to the rollups
    .venv/bin/python bench/analytics.py --keep --no-rollups        # the data alone, rollups later

(1) Data. A fresh scratch PostgreSQL database is migrated and given the demo district
    (`gridgov demo --profile fengqiao --no-history`: grids, departments, staff, routing
    rules, the population registry), then N cases over several years are generated with
    numpy and loaded with COPY (psycopg3 `cursor.copy`), indexes and foreign keys dropped
    during the load and rebuilt after it, then VACUUM ANALYZE. The mix follows
    gridgov/demo/history.py: its channel, category, grid, hour and day weights, routing
    through its `World`, its rates of rejection, merging, suspension, return, rework,
    extension, lateness and rating, and its texts. Step times are drawn in calendar time
    from each category's limits (a working day taken as 1.4 days, a working hour as 4
    hours) rather than through the office clock, and a case's life stops at the moment of
    generation, so the last days hold open cases. CaseLog rows are written only for the
    actions the KPIs read (register and dispatch: dispatchers; return: departments; verify
    and rework: grid workers), about 3 per case instead of the 7 or so of a real case's log.
(2) Rollups. `rollups.rebuild()` is timed, then `rollups.refresh()` with nothing changed,
    after 1,000 recently closed cases are rated, after 1,000 cases of any age are (with
    --refresh-any-age: it rebuilds most days; without, the days it would rebuild are counted),
    and once more with nothing changed since.
    During the measurements the rollups are refreshed every 4 minutes (huey does it every
    5), because the KPIs count raw cases when the rollups are older than 15 minutes.
(3) Endpoints. gunicorn (2 sync workers) on a free 127.0.0.1 port; one client sends
    sequential requests with a bearer token: GET /api/v1/analytics/areas, departments,
    workers, dispatchers and (when the OpenAPI schema has it) dashboard, for the whole
    district (the auditor), one street (its leader) and one grid (its grid leader) × the
    last full month and the last full year. Each cell: as many warm-up requests as server workers, then up to
    --requests requests within --cell-seconds (at least 3 unless one fails or times out);
    a request longer than --request-timeout is abandoned (gunicorn's worker is killed,
    statement_timeout stops its SQL). Beside each, a naive `SELECT grid_id, count(*) FROM
    cases_case WHERE reported_at in the period [AND grid in the scope] GROUP BY grid_id`
    timed with psycopg. Target (issue 6): p95 < 200 ms.
(4) Misses. For each missed cell the same request runs once more in a child process
    through Django's test client with every SQL statement timed (at most
    --explain-seconds), and the slowest statement gets EXPLAIN (ANALYZE, BUFFERS).

The results replace the analytics section of docs/performance.md. The scratch database
(and its var directory with the keys) is dropped at the end unless --keep.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from scratch import database_url, loopback_only, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
MARKER_START = "<!-- analytics:start -->"
MARKER_END = "<!-- analytics:end -->"
HEADING = "## Analytics at 10,000,000 cases (`bench/analytics.py`)"
HOST = "127.0.0.1"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
FULL_SIZE = 10_000_000
TARGET_P95_MS = 200.0
DEMO_PASSWORD = "gridgov-demo-2026"
ENDPOINTS = ("areas", "departments", "workers", "dispatchers", "dashboard")
# scope label → the demo account whose page it is (the auditor sees the whole district).
SCOPES = (("district", "auditor"), ("street", "leader"), ("grid", "gridleader"))
REFRESH_EVERY_S = 240
# Approximate calendar length of a limit unit (the office clock is not used here).
UNIT_SECONDS = {"minutes": 60.0, "natural_hours": 3600.0, "natural_days": 86400.0,
                "working_hours": 4 * 3600.0, "working_days": 1.4 * 86400.0}
CASE_COLUMNS = (
    "id", "channel", "state", "description", "lat", "lon", "location_source", "address", "caller_name",
    "caller_phone", "caller_phone_hash", "client_key", "urgency", "stage_started_at", "deadline",
    "deadline_unit", "deadline_provisional", "light", "is_escalated_overdue", "suspended_from",
    "handle_deadline", "handled_on_time", "extension_reason", "is_supervised", "return_count",
    "rework_count", "extension_count", "escalation_count", "result", "rating", "rating_comment",
    "reported_at", "registered_at", "dispatched_at", "handled_at", "closed_at", "rated_at", "updated_at",
    "department_id", "grid_id", "merged_into_id", "owner_grid_id", "reporter_id", "category_id",
    "callback_result", "component_id", "overdue_escalations", "reopen_count")
LOG_COLUMNS = ("at", "action", "from_state", "to_state", "note", "data", "actor_id", "case_id")
NULL = r"\N"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


def copy_text(value: str) -> str:
    """A value escaped for COPY's text format."""
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


# --- the district the cases are drawn from -----------------------------------------------


class District:
    """Grids, categories, routes, people and texts of the demo district as numpy tables."""

    def __init__(self, profile: str, first_day: datetime.date, now: datetime.datetime, seed: int):
        import numpy as np
        from django.conf import settings

        from gridgov.accounts.models import Role, User
        from gridgov.demo import builder, history
        from gridgov.privacy import crypto
        from gridgov.privacy.masking import normalize_phone

        self.history = history
        days = (now.date() - first_day).days
        gen = history.Generator(builder.PROFILES[profile], days=days, now=now, seed=seed, per_grid=1)
        gen.prepare_categories()
        world = history.World()
        if not world.leaves:
            raise RuntimeError("the district has no grids")
        if User.objects.filter(assignments__role=Role.RESIDENT).count() < history.RESIDENTS:
            history._make_residents(world, gen.fake, gen.rng, history.RESIDENTS)
        self.gen, self.world = gen, world
        self.yellow = settings.GRIDGOV_YELLOW_SHARE
        self.channels = list(history.CHANNELS)  # worker, resident, hotline, self_resolved
        leaves = world.leaves
        self.leaf_grid = np.array([world.grids[c][0] for c in leaves])
        self.leaf_cum = np.array(gen._leaf_weights(world), dtype=float)
        owners = [world.owner(c) for c in leaves]
        self.leaf_owner = np.array([world.grids[o][0] if o else -1 for o in owners])
        self.dispatchers = pad([world.dispatchers(o) for o in owners])
        workers, heads, verifiers, residents = [], [], [], []
        resident_pool: dict[str, list[int]] = {}
        for code in leaves:
            grid3 = world.cut(code, 3)
            found = world.people(Role.GRID_WORKER, grid3) + world.people(Role.GRID_LEADER, grid3)
            workers.append([u for u in found for _ in range(history._weight(world, u))])
            heads.append(world.people(Role.BUILDING_HEAD, code) or workers[-1])
            verifiers.append(world.people(Role.GRID_WORKER, code) + world.people(Role.GRID_LEADER, code)
                             or world.dispatchers(world.owner(code)))
            for prefix in (grid3, world.cut(code, 2), world.cut(code, 1), ""):
                if prefix not in resident_pool:
                    resident_pool[prefix] = [u for c, users in world.by_role[Role.RESIDENT].items()
                                             if c and c.startswith(prefix) for u in users]
                if resident_pool[prefix]:
                    residents.append(resident_pool[prefix])
                    break
            else:
                residents.append(world.dispatchers(world.owner(code)))
        self.workers, self.heads = pad(workers), pad(heads)
        self.verifiers, self.residents = pad(verifiers), pad(residents)
        # categories: the demo's leaf categories, weighted per channel, month and "Grid Wednesday"
        cats = gen.leaf_categories
        self.cat_id = np.array([c.pk for c in cats])
        self.cat_urgency = np.array([str(c.urgency) for c in cats], dtype=object)
        self.limits = {}
        for stage in ("register", "dispatch", "handle", "verify"):
            amounts_units = [c.limit(stage) for c in cats]
            self.limits[stage] = (np.array([a * UNIT_SECONDS[str(u)] for a, u in amounts_units]),
                                  np.array([str(u) for _a, u in amounts_units], dtype=object))
        self.cat_cum = {}
        for ch, channel in enumerate(self.channels):
            for month in range(1, 13):
                for wednesday in (0, 1):
                    day = datetime.date(2025, month, 1)
                    while (day.weekday() == 2) != bool(wednesday):
                        day += datetime.timedelta(days=1)
                    gen.category(channel, day)
                    key = (channel, month, day.weekday() == 2)
                    self.cat_cum[(ch, month, wednesday)] = np.array(gen._category_weights[key], dtype=float)
        # routing: the department of each (micro-grid, category), and others serving the grid
        departments = world.departments
        self.dept_ids = sorted(departments)
        dept_index = {pk: i for i, pk in enumerate(self.dept_ids)}
        self.route = np.array([[dept_index[world.department(code, c).pk] for c in cats] for code in leaves])
        self.serving = pad([[dept_index[d.pk] for d in world.serving(code)] for code in leaves])
        self.dept_pk = np.array(self.dept_ids)
        self.handlers = pad([world.handlers.get(pk, []) for pk in self.dept_ids])
        names = [departments[pk].name for pk in self.dept_ids]
        self.dispatch_data = np.array([copy_text(json.dumps({"department_id": pk, "department": name},
                                                            ensure_ascii=False))
                                       for pk, name in zip(self.dept_ids, names, strict=True)], dtype=object)
        self.return_data = np.array([copy_text(json.dumps({"department": name, "department_id": pk},
                                                          ensure_ascii=False))
                                     for pk, name in zip(self.dept_ids, names, strict=True)], dtype=object)
        self.return_note = np.array([copy_text(history.RETURN_NOTE.format(department=n)) for n in names],
                                    dtype=object)
        # texts: a few descriptions per (category, channel), results per category
        self.texts_per = 3
        descriptions, addresses = [], []
        for c in cats:
            for channel in self.channels:
                for _ in range(self.texts_per):
                    where, address = gen.place(c, "")
                    descriptions.append(copy_text(gen.describe(c, where, channel)))
                    addresses.append(copy_text(address[:200]))
        self.descriptions = np.array(descriptions, dtype=object)
        self.addresses = np.array(addresses, dtype=object)
        self.results = np.array([copy_text(gen.result(c)) for c in cats for _ in range(self.texts_per)],
                                dtype=object)
        self.ratings = [str(r) for r in history.RATINGS[0]]
        self.rating_weights = np.array(history.RATINGS[1], dtype=float) / sum(history.RATINGS[1])
        self.rating_comments = [np.array([copy_text(t) for t in history.RATING_COMMENTS[r]], dtype=object)
                                for r in history.RATINGS[0]]
        self.rework_notes = np.array([copy_text(t) for t in history.REWORK_NOTES], dtype=object)
        callers = []
        for _ in range(64):
            name, phone = gen.fake.name()[:50], normalize_phone(gen.fake.phone_number())
            callers.append((crypto.seal(name), crypto.seal(phone), crypto.lookup_hash(phone)))
        self.callers = [np.array([c[i] for c in callers], dtype=object) for i in range(3)]
        # points: a pool inside each micro-grid, jittered a little per case
        located = gen.points(world, [code for code in leaves for _ in range(16)])
        self.points = np.array([(lon, lat) for lon, lat, _code in located]).reshape(len(leaves), 16, 2)


def pad(lists: list[list[int]]):
    """Ragged lists of ids as (table, counts); empty lists get -1 (no one)."""
    import numpy as np

    width = max(1, max(len(x) for x in lists))
    table = np.full((len(lists), width), -1, dtype=np.int64)
    for i, values in enumerate(lists):
        table[i, :len(values)] = values
    return table, np.array([max(1, len(x)) for x in lists])


def pick(rng, padded, rows):
    table, counts = padded
    return table[rows, (rng.random(len(rows)) * counts[rows]).astype(int)]


def day_plan(first_day: datetime.date, last_day: datetime.date, total: int, gen, rng):
    """Cases per day (the demo's day weights, multinomial over the span), with each day's
    local midnight, kind (0 weekday, 1 Wednesday, 2 rest day) and month."""
    import numpy as np

    from gridgov.worktime.models import CalendarDay
    from gridgov.worktime.services import is_workday

    names = dict(CalendarDay.objects.filter(date__gte=first_day).values_list("date", "name"))
    days = [first_day + datetime.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    weights = np.array([gen._day_weight(d, names.get(d, "")) for d in days])
    counts = rng.multinomial(total, weights / weights.sum())
    zone = gen.zone
    midnight = np.array([datetime.datetime.combine(d, datetime.time(0), zone).timestamp() for d in days])
    kinds = np.array([2 if not is_workday(d)[0] else 1 if d.weekday() == 2 else 0 for d in days])
    months = np.array([d.month for d in days])
    return days, counts, midnight, kinds, months


def stamps(seconds):
    """Epoch seconds (NaN: null) as COPY text."""
    import numpy as np

    missing = np.isnan(seconds)
    whole = np.where(missing, 0, seconds).astype("int64").astype("datetime64[s]")
    text = np.datetime_as_string(whole, unit="s", timezone="UTC").astype(object)
    text[missing] = NULL
    return text


def ints(values, null_below: int = 0):
    text = values.astype(str).astype(object)
    text[values < null_below] = NULL
    return text


def bools(values, missing=None):
    import numpy as np

    text = np.where(values, "t", "f").astype(object)
    if missing is not None:
        text[missing] = NULL
    return text


def make_chunk(d: District, rng, first_id: int, day_index, midnight, kinds, months, now_ts: float):
    """One chunk of cases (in report order, ids from first_id) and their log rows, as COPY text."""
    import numpy as np

    h = d.history
    n = len(day_index)
    kind = kinds[day_index]
    channel = np.empty(n, dtype=np.int64)
    weights = {0: "weekday", 1: "wednesday", 2: "rest"}
    for k, name in weights.items():
        rows = np.flatnonzero(kind == k)
        cum = np.cumsum(h.CHANNEL_WEIGHTS[name])
        channel[rows] = np.searchsorted(cum, rng.random(len(rows)) * cum[-1], side="right")
    hour = np.empty(n, dtype=np.int64)
    for ch, name in enumerate(d.channels):
        rows = np.flatnonzero(channel == ch)
        cum = np.cumsum(h.HOURS[name])
        hour[rows] = np.searchsorted(cum, rng.random(len(rows)) * cum[-1], side="right")
    t_rep = midnight[day_index] + hour * 3600.0 + rng.random(n) * 3600.0
    keep = np.argsort(t_rep, kind="stable")
    keep = keep[t_rep[keep] <= now_ts]
    t_rep, channel, day_index = t_rep[keep], channel[keep], day_index[keep]
    n = len(t_rep)
    ids = np.arange(first_id, first_id + n)
    WORKER, RESIDENT, HOTLINE, SELF = range(4)  # the order of history.CHANNELS
    leaf = np.searchsorted(d.leaf_cum, rng.random(n) * d.leaf_cum[-1], side="right")
    cat = np.empty(n, dtype=np.int64)
    month, wednesday = months[day_index], (kinds[day_index] == 1).astype(int)
    for key in set(zip(channel.tolist(), month.tolist(), wednesday.tolist(), strict=True)):
        rows = np.flatnonzero((channel == key[0]) & (month == key[1]) & (wednesday == key[2]))
        cum = d.cat_cum[key]
        cat[rows] = np.searchsorted(cum, rng.random(len(rows)) * cum[-1], side="right")
    point = d.points[leaf, rng.integers(0, d.points.shape[1], n)] + rng.uniform(-2e-5, 2e-5, (n, 2))
    # duplicates: merged into an earlier case of the chunk at the same place
    master = np.arange(n) - rng.integers(1, 300, n)
    dup = (rng.random(n) < h.P_DUPLICATE) & (channel != SELF) & (master >= 0)
    master = np.where(dup, master, 0)
    dup &= channel[master] != SELF
    dup &= ~dup[master]
    leaf[dup], cat[dup], point[dup] = leaf[master[dup]], cat[master[dup]], point[master[dup]]
    selfres = channel == SELF
    reject = ~dup & ~selfres & (rng.random(n) < h.P_REJECT)
    ordinary = ~dup & ~selfres & ~reject
    reg_l, disp_l = d.limits["register"][0][cat], d.limits["dispatch"][0][cat]
    hand_l, ver_l = d.limits["handle"][0][cat], d.limits["verify"][0][cat]

    def uniform(low, high):
        return rng.uniform(low, high, n)

    def limit_share():
        return np.where(rng.random(n) > 0.07, uniform(0.05, 0.9), uniform(0.9, 1.3))

    nan = np.full(n, np.nan)

    def when(mask, values):
        return np.where(mask, values, nan)

    registered_first = dup & (rng.random(n) < 0.2)
    t_reg = when(ordinary | registered_first, t_rep + limit_share() * reg_l)
    t_rej = when(reject, t_rep + limit_share() * reg_l)
    t_merge = when(dup, np.where(registered_first, t_reg, t_rep) + limit_share() * reg_l)
    suspend = ordinary & (rng.random(n) < h.P_SUSPEND)
    parked = suspend & (rng.random(n) < 0.5)
    going = ordinary & ~parked
    t_susp = when(suspend, t_reg + uniform(0.1, 0.8) * disp_l)
    t_resume = when(suspend & ~parked, t_susp + uniform(3, 60) * 86400)
    dept1 = d.route[leaf, cat]
    alternative = pick(rng, d.serving, leaf)
    returned = going & (rng.random(n) < h.P_RETURN) & (alternative >= 0) & (alternative != dept1)
    t_d1 = when(going, np.where(suspend, t_resume, t_reg) + limit_share() * disp_l)
    t_ret = when(returned, t_d1 + uniform(0.02, 0.3) * hand_l)
    t_d2 = when(returned, t_ret + limit_share() * disp_l)
    t_d = np.where(returned, t_d2, t_d1)
    dept2 = np.where(returned, alternative, dept1)
    t_acc = when(going, t_d + uniform(0.01, 0.2) * hand_l)
    extended = going & (rng.random(n) < h.P_EXTENSION * 0.85)
    t_ext = when(extended, t_acc + uniform(0.05, 0.4) * hand_l)
    deadline1 = t_d + hand_l + np.where(extended, uniform(0.4, 1.0) * hand_l, 0)
    late = rng.random(n) < h.P_LATE
    share = np.where(late, uniform(1.02, 1.4), uniform(0.25, 0.97))
    t_h1 = when(going, np.maximum(t_d + share * (deadline1 - t_d),
                                  np.where(extended, t_ext, t_acc) + uniform(60, 600)))
    rework = going & (rng.random(n) < h.P_REWORK)
    t_rw = when(rework, t_h1 + uniform(0.05, 0.7) * ver_l)
    deadline2 = t_rw + hand_l
    late2 = rng.random(n) < h.P_LATE / 2
    t_h2 = when(rework, t_rw + np.where(late2, uniform(1.02, 1.4), uniform(0.25, 0.97)) * hand_l)
    late_check = rng.random(n) < h.P_LATE_VERIFY
    t_ver = when(going, np.where(rework, t_h2, t_h1)
                 + np.where(late_check, uniform(1.0, 2.5), uniform(0.05, 0.8)) * ver_l)
    t_close = when(going, t_ver + uniform(0.02, 0.3) * ver_l)
    rated = going & np.isin(channel, (WORKER, RESIDENT)) & (rng.random(n) < h.P_RATED)
    t_rate = when(rated, t_close + np.minimum(rng.exponential(8 * 3600, n), 72 * 3600))
    # a life stops at the first step after now
    S = h.S
    steps = [("register", t_reg, S.REGISTERED), ("reject", t_rej, S.REJECTED), ("merge", t_merge, S.MERGED),
             ("suspend", t_susp, S.SUSPENDED), ("resume", t_resume, S.REGISTERED),
             ("dispatch", t_d1, S.DISPATCHED), ("return", t_ret, S.RETURNED),
             ("dispatch", t_d2, S.DISPATCHED),
             ("accept", t_acc, S.ACCEPTED), ("extension", t_ext, None), ("result", t_h1, S.HANDLED),
             ("rework", t_rw, S.ACCEPTED), ("result", t_h2, S.HANDLED), ("verify", t_ver, S.VERIFIED),
             ("close", t_close, S.CLOSED), ("rate", t_rate, None)]
    stopped = np.zeros(n, dtype=bool)
    state = np.where(selfres, str(S.CLOSED), str(S.REPORTED)).astype(object)
    for _name, moments, new_state in steps:
        stopped |= ~np.isnan(moments) & (moments > now_ts)
        moments[stopped] = np.nan
        if new_state is not None:
            state[~np.isnan(moments)] = str(new_state)
    happened = {name: ~np.isnan(t) for name, t in (("d1", t_d1), ("d2", t_d2), ("h1", t_h1), ("h2", t_h2),
                                                   ("rw", t_rw), ("rate", t_rate))}
    department = np.where(happened["d2"], dept2, np.where(happened["d1"], dept1, -1))
    dispatched_at = np.where(happened["d2"], t_d2, t_d1)
    handled_at = np.where(happened["h2"], t_h2, t_h1)
    on_time = np.where(happened["h2"], t_h2 <= deadline2, t_h1 <= deadline1)
    handle_deadline = when(~np.isnan(dispatched_at), np.where(happened["rw"], deadline2, deadline1))
    handled_at[selfres] = t_rep[selfres]
    closed_at = t_close.copy()
    closed_at[selfres] = t_rep[selfres]
    on_time[selfres] = True
    no_result = np.isnan(handled_at)
    # the running stage's clock
    start, deadline = nan.copy(), nan.copy()
    unit = np.full(n, "", dtype=object)
    stage_of = {str(S.REPORTED): (t_rep, "register"), str(S.REGISTERED): (np.where(suspend, t_resume, t_reg),
                                                                           "dispatch"),
                str(S.RETURNED): (t_ret, "dispatch"), str(S.DISPATCHED): (t_d, "handle"),
                str(S.ACCEPTED): (np.where(happened["rw"], t_rw, t_d), "handle"),
                str(S.HANDLED): (handled_at, "verify"), str(S.VERIFIED): (t_ver, "verify")}
    for name, (began, stage) in stage_of.items():
        rows = state == name
        amount, units = d.limits[stage][0][cat], d.limits[stage][1][cat]
        start[rows] = began[rows]
        deadline[rows] = began[rows] + amount[rows]
        unit[rows] = units[rows]
        if stage == "handle":
            deadline[rows] = handle_deadline[rows]
    open_share = (now_ts - start) / np.maximum(deadline - start, 1)
    light = np.where(np.isnan(start), "green", np.where(open_share >= 1, "red",
                                                         np.where(open_share >= d.yellow, "yellow", "green")))
    every = np.vstack([t_rep, *(t for _n, t, _s in steps)])
    updated_at = np.nanmax(every, axis=0)
    rating_index = rng.choice(len(d.ratings), n, p=d.rating_weights)
    rating = np.where(happened["rate"], np.array(d.ratings, dtype=object)[rating_index], "").astype(object)
    comment = np.full(n, "", dtype=object)
    for r, comments in enumerate(d.rating_comments):
        rows = np.flatnonzero(happened["rate"] & (rating_index == r))
        comment[rows] = comments[rng.integers(0, len(comments), len(rows))]
    # who
    dispatcher = pick(rng, d.dispatchers, leaf)
    reporter = np.full(n, -1, dtype=np.int64)
    worker_made = np.isin(channel, (WORKER, SELF))
    from_workers, from_heads = pick(rng, d.workers, leaf), pick(rng, d.heads, leaf)
    reporter[worker_made] = np.where(rng.random(n) < 0.1, from_heads, from_workers)[worker_made]
    reporter[channel == RESIDENT] = pick(rng, d.residents, leaf)[channel == RESIDENT]
    reporter[channel == HOTLINE] = dispatcher[channel == HOTLINE]
    verifier = np.where(worker_made, reporter, pick(rng, d.verifiers, leaf))
    text = (cat * len(d.channels) + channel) * d.texts_per + rng.integers(0, d.texts_per, n)
    caller = rng.integers(0, len(d.callers[0]), n)
    hotline = channel == HOTLINE
    description = d.descriptions[text]
    result = np.where(no_result, "", d.results[cat * d.texts_per + rng.integers(0, d.texts_per, n)])
    result = result.astype(object)
    result[selfres] = description[selfres]
    merged_into = np.where(dup & (state == str(S.MERGED)), ids[master], -1)
    columns = [
        ids.astype(str).astype(object), np.array(d.channels, dtype=object)[channel], state, description,
        point[:, 1].astype(str).astype(object), point[:, 0].astype(str).astype(object), ["wgs84"] * n,
        d.addresses[text], np.where(hotline, d.callers[0][caller], "").astype(object),
        np.where(hotline, d.callers[1][caller], "").astype(object),
        np.where(hotline, d.callers[2][caller], "").astype(object), [""] * n, d.cat_urgency[cat],
        stamps(start), stamps(deadline), unit, ["f"] * n, light.astype(object), ["f"] * n,
        np.where(state == str(S.SUSPENDED), str(S.REGISTERED), "").astype(object),
        stamps(handle_deadline), bools(on_time, missing=no_result), [""] * n,
        bools(rng.random(n) < h.P_SUPERVISE), ints(~np.isnan(t_ret) * 1), ints(happened["rw"] * 1),
        ints(~np.isnan(t_ext) * 1), ["0"] * n, result, rating, comment,
        stamps(t_rep), stamps(t_reg), stamps(dispatched_at), stamps(handled_at), stamps(closed_at),
        stamps(t_rate), stamps(updated_at), ints(np.where(department >= 0, d.dept_pk[department], -1)),
        ints(d.leaf_grid[leaf]), ints(merged_into), ints(d.leaf_owner[leaf]), ints(reporter),
        ints(d.cat_id[cat]), [""] * n, [""] * n, ["0"] * n, ["0"] * n,
    ]
    cases_text = "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"
    # the log rows the KPIs read
    parts = []

    def entries(mask, at, action, before, after, actor, note=None, data=None):
        rows = np.flatnonzero(mask & ~np.isnan(at))
        if not len(rows):
            return
        parts.append((at[rows], [action] * len(rows), [str(before)] * len(rows), [str(after)] * len(rows),
                      note[rows] if note is not None else [""] * len(rows),
                      data[rows] if data is not None else ["{}"] * len(rows), actor[rows], ids[rows]))

    everyone = np.ones(n, dtype=bool)
    entries(everyone, t_reg, "register", S.REPORTED, S.REGISTERED, dispatcher)
    entries(everyone, t_d1, "dispatch", S.REGISTERED, S.DISPATCHED, dispatcher, data=d.dispatch_data[dept1])
    returner = pick(rng, d.handlers, dept1)
    entries(everyone, t_ret, "return", S.DISPATCHED, S.RETURNED, returner, note=d.return_note[alternative],
            data=d.return_data[dept1])
    entries(everyone, t_d2, "dispatch", S.RETURNED, S.DISPATCHED, dispatcher, data=d.dispatch_data[dept2])
    rework_note = d.rework_notes[rng.integers(0, len(d.rework_notes), n)]
    entries(everyone, t_rw, "rework", S.HANDLED, S.ACCEPTED, verifier, note=rework_note)
    entries(everyone, t_ver, "verify", S.HANDLED, S.VERIFIED, verifier)
    at = np.concatenate([p[0] for p in parts])
    order = np.argsort(at, kind="stable")
    log_columns = [stamps(at)[order]]
    for i in range(1, 6):
        log_columns.append(np.concatenate([np.asarray(p[i], dtype=object) for p in parts])[order])
    log_columns.append(ints(np.concatenate([p[6] for p in parts]))[order])
    log_columns.append(ints(np.concatenate([p[7] for p in parts]))[order])
    logs_text = "\n".join(map("\t".join, zip(*log_columns, strict=True))) + "\n"
    return cases_text, logs_text, n, len(at)


# --- loading ---------------------------------------------------------------------------------


def table_ddl(conn, table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, CREATE INDEX …) of the table's indexes but the primary key, and (name, definition)
    of its foreign keys."""
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
        "WHERE i.tablename = %s AND i.schemaname = 'public' AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.contype = 'p') ORDER BY 1",
        (table,)).fetchall()
    foreign = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f' ORDER BY 1", (table,)).fetchall()
    return indexes, foreign


def generate(args, url: str) -> dict:
    """Generate and load args.cases cases; returns timings and the mix."""
    import numpy as np
    import psycopg
    from django.db import connection
    from django.utils import timezone
    from psycopg import sql

    from gridgov.cases.models import Case

    if Case.objects.exists():
        raise RuntimeError("the scratch database already has cases")
    now = timezone.now()
    local_now = timezone.localtime(now)
    first_day = (local_now - datetime.timedelta(days=round(365.25 * args.years))).date()
    started = time.perf_counter()
    district = District(args.profile, first_day, now, args.seed)
    connection.close()
    rng = np.random.default_rng(args.seed)
    days, counts, midnight, kinds, months = day_plan(first_day, local_now.date(), args.cases, district.gen,
                                                     rng)
    prepare_s = time.perf_counter() - started
    log(f"district tables ready in {prepare_s:.1f} s: {len(district.world.leaves)} micro-grids, "
        f"{len(district.cat_id)} categories, {len(district.dept_ids)} departments; "
        f"{days[0]} … {days[-1]}")
    tables = ("cases_case", "cases_caselog")
    timings = {"prepare_s": prepare_s}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        saved = {t: table_ddl(conn, t) for t in tables}
        t0 = time.perf_counter()
        for table in tables:
            for name, _definition in saved[table][1]:
                conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table),
                                                                                sql.Identifier(name)))
            for name, _definition in saved[table][0]:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        dropped = sum(len(saved[t][0]) for t in tables), sum(len(saved[t][1]) for t in tables)
        log(f"dropped {dropped[0]} indexes and {dropped[1]} foreign keys of {', '.join(tables)}")
        try:
            timings.update(load(conn, args, district, rng, counts, midnight, kinds, months, now.timestamp()))
        finally:
            t0 = time.perf_counter()
            conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
            conn.execute("SET max_parallel_maintenance_workers = 2")
            for table in tables:
                for name, definition in saved[table][0]:
                    t1 = time.perf_counter()
                    conn.execute(definition)
                    log(f"  index {name}: {time.perf_counter() - t1:.1f} s")
            timings["index_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for table in tables:
                for name, definition in saved[table][1]:
                    conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                        sql.Identifier(table), sql.Identifier(name)) + sql.SQL(definition))
            timings["foreign_keys_s"] = time.perf_counter() - t0
            log(f"rebuilt the indexes in {timings['index_s']:.0f} s and the foreign keys in "
                f"{timings['foreign_keys_s']:.0f} s")
        conn.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
                     "(SELECT max(id) FROM cases_case))")
        t0 = time.perf_counter()
        # every table, as autovacuum would have by then: the demo's registry was bulk-loaded too
        conn.execute("VACUUM (ANALYZE)")
        timings["vacuum_s"] = time.perf_counter() - t0
        log(f"VACUUM ANALYZE in {timings['vacuum_s']:.0f} s")
    timings["total_s"] = time.perf_counter() - started
    timings["first_day"], timings["last_day"] = str(days[0]), str(days[-1])
    timings["generated_at"] = now.isoformat()
    return timings


def load(conn, args, district, rng, counts, midnight, kinds, months, now_ts: float) -> dict:
    import numpy as np

    started = time.perf_counter()
    next_id = 1
    total_logs = 0
    python_s = 0.0
    day = 0
    last_report = 0.0
    while day < len(counts):
        end = day
        size = 0
        while end < len(counts) and (size == 0 or size + counts[end] <= args.chunk):
            size += counts[end]
            end += 1
        t0 = time.perf_counter()
        day_index = np.repeat(np.arange(day, end), counts[day:end])
        cases_text, logs_text, n, n_logs = make_chunk(district, rng, next_id, day_index, midnight, kinds,
                                                      months, now_ts)
        python_s += time.perf_counter() - t0
        with conn.transaction():
            with conn.cursor().copy(f"COPY cases_case ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
                copy.write(cases_text)
            with conn.cursor().copy(f"COPY cases_caselog ({', '.join(LOG_COLUMNS)}) FROM STDIN") as copy:
                copy.write(logs_text)
        next_id += n
        total_logs += n_logs
        day = end
        elapsed = time.perf_counter() - started
        if elapsed - last_report >= 15 or day >= len(counts):
            last_report = elapsed
            done = next_id - 1
            log(f"  {done:,} cases, {total_logs:,} log rows in {elapsed:.0f} s "
                f"({done / elapsed:,.0f} cases/s; Python {python_s:.0f} s)")
    copy_s = time.perf_counter() - started
    return {"copy_s": copy_s, "python_s": python_s, "cases": next_id - 1, "logs": total_logs}


def data_summary(url: str) -> dict:
    import psycopg

    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT count(*) FROM cases_case").fetchone()[0]
        states = dict(conn.execute("SELECT state, count(*) FROM cases_case GROUP BY 1").fetchall())
        channels = dict(conn.execute("SELECT channel, count(*) FROM cases_case GROUP BY 1").fetchall())
        flags = conn.execute(
            "SELECT count(*) FILTER (WHERE return_count > 0), count(*) FILTER (WHERE rework_count > 0), "
            "count(*) FILTER (WHERE extension_count > 0), count(*) FILTER (WHERE rating <> ''), "
            "count(*) FILTER (WHERE handled_on_time), count(*) FILTER (WHERE handled_at IS NOT NULL), "
            "min(reported_at), max(reported_at) FROM cases_case").fetchone()
        actions = dict(conn.execute("SELECT action, count(*) FROM cases_caselog GROUP BY 1").fetchall())
        sizes = dict(conn.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
            "('cases_case', 'cases_caselog', 'analytics_dailyrollup', 'analytics_rollupslice', "
            "'analytics_actorrollup')").fetchall())
        grids = dict(conn.execute("SELECT level, count(*) FROM grids_grid GROUP BY 1").fetchall())
    return {"cases": total, "states": states, "channels": channels, "returned": flags[0],
            "reworked": flags[1],
            "extended": flags[2], "rated": flags[3], "on_time": flags[4], "handled": flags[5],
            "first": flags[6].isoformat(), "last": flags[7].isoformat(), "actions": actions, "sizes": sizes,
            "grids": grids}


# --- rollups ---------------------------------------------------------------------------------


def build_rollups() -> dict:
    from gridgov.analytics import rollups
    from gridgov.analytics.models import ActorRollup, DailyRollup, GridVisitRollup, RollupSlice

    original = rollups.rebuild_days
    progress = {"days": 0, "started": time.perf_counter(), "last": 0.0}

    def rebuild_days(days):
        written = original(days)
        progress["days"] += len(days)
        elapsed = time.perf_counter() - progress["started"]
        if elapsed - progress["last"] >= 30:
            progress["last"] = elapsed
            log(f"  rollups: {progress['days']:,} days in {elapsed:.0f} s")
        return written

    rollups.rebuild_days = rebuild_days
    try:
        started = time.perf_counter()
        written = rollups.rebuild()
        seconds = time.perf_counter() - started
    finally:
        rollups.rebuild_days = original
    tables = {model._meta.db_table: model.objects.count()
              for model in (DailyRollup, RollupSlice, ActorRollup, GridVisitRollup)}
    log(f"rollups.rebuild(): {written:,} rows, {progress['days']:,} days in {seconds:.1f} s: "
        + ", ".join(f"{t} {n:,}" for t, n in tables.items()))
    return {"rebuild_s": seconds, "rows": written, "days": progress["days"],
            "table_rows": tables["analytics_dailyrollup"], "tables": tables}


def cases_to_rate(conn, recent: bool, count: int = 1000) -> list[int]:
    """`count` closed, unrated worker or resident cases: closed in the last 30 days, or of any age."""
    if recent:
        return [r[0] for r in conn.execute(
            "SELECT id FROM cases_case WHERE state = 'closed' AND rating = '' AND channel IN "
            "('worker', 'resident') AND closed_at >= now() - interval '30 days' "
            "ORDER BY id DESC LIMIT %s", (count,))]
    low, high = conn.execute("SELECT min(id), max(id) FROM cases_case").fetchone()
    return [r[0] for r in conn.execute(
        "SELECT id FROM cases_case WHERE id = ANY(%s) AND state = 'closed' AND rating = '' "
        "AND channel IN ('worker', 'resident') LIMIT %s",
        ([low + (high - low) * k // (count * 8) for k in range(count * 8)], count))]


def rate_cases(url: str, recent: bool, count: int = 1000) -> int:
    """Rate such cases as `workflow` would (rating, rated_at, updated_at and a "rate" log entry)."""
    import psycopg

    with psycopg.connect(url) as conn:
        ids = cases_to_rate(conn, recent, count)
        conn.execute(
            "UPDATE cases_case SET rating = 'satisfied', rating_comment = '', rated_at = now(), "
            "updated_at = now() WHERE id = ANY(%s)", (ids,))
        conn.execute(
            "INSERT INTO cases_caselog (at, action, from_state, to_state, note, data, actor_id, case_id) "
            "SELECT now(), 'rate', 'closed', 'closed', '', '{\"rating\": \"satisfied\"}', reporter_id, id "
            "FROM cases_case WHERE id = ANY(%s)", (ids,))
    return len(ids)


def timed_refresh() -> dict:
    from gridgov.analytics import rollups
    from gridgov.analytics.models import RollupState

    started = time.perf_counter()
    written = rollups.refresh()
    seconds = time.perf_counter() - started
    days = RollupState.objects.get(pk=1).days_refreshed
    return {"seconds": seconds, "rows": written, "days": days}


def old_cases_days(url: str, count: int = 1000) -> int:
    """The days a refresh would rebuild after `count` cases of any age were rated (not rated)."""
    import psycopg
    from django.utils import timezone

    from gridgov.analytics import rollups

    with psycopg.connect(url) as conn:
        ids = cases_to_rate(conn, recent=False, count=count)
    return len(rollups.days_of_cases(ids) | {timezone.localdate()})  # today: the rating's own day


def refresh_tests(url: str, any_age: bool) -> list[dict]:
    out = []
    row = timed_refresh()
    out.append({"what": "nothing changed", **row})
    log(f"refresh, nothing changed: {row['seconds']:.2f} s, {row['days']} days")
    tests = [(True, "1,000 cases closed in the last 30 days rated")]
    if any_age:
        tests.append((False, "1,000 cases of any age rated"))
    else:
        days = old_cases_days(url)
        out.append({"what": "1,000 cases of any age rated (not run: --refresh-any-age)", "days": days,
                    "seconds": None, "rows": None})
        log(f"refresh after 1,000 cases of any age rated: {days} days to rebuild (not run)")
    for recent, what in tests:
        changed = rate_cases(url, recent)
        row = timed_refresh()
        out.append({"what": what.replace("1,000", f"{changed:,}"), **row})
        log(f"refresh, {out[-1]['what']}: {row['seconds']:.2f} s, {row['days']} days, {row['rows']:,} rows")
    # The next refresh looks back to 10 minutes (rollups.OVERLAP) before the last one began.
    row = timed_refresh()
    out.append({"what": "the next refresh, nothing changed since (its look-back of "
                        f"{rollups_overlap_minutes():g} minutes reads the previous change again and "
                        "leaves it out)", **row})
    log(f"refresh, next: {row['seconds']:.2f} s, {row['days']} days, {row['rows']:,} rows")
    return out


def rollups_overlap_minutes() -> float:
    from gridgov.analytics import rollups

    return rollups.OVERLAP.total_seconds() / 60


# --- server and requests ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def http_get(port: int, path: str, headers: dict, timeout: float, method: str = "GET",
             body: bytes | None = None) -> tuple[int | str, bytes, float]:
    """(status or the exception's name, body, seconds)."""
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        return type(exc).__name__, b"", time.perf_counter() - started
    finally:
        conn.close()


class Server:
    """gunicorn with sync workers in its own process group; a request longer than the
    timeout loses its worker, and statement_timeout stops its SQL."""

    def __init__(self, env: dict, workers: int, timeout: float, logfile: Path):
        self.env = {**env, "PGOPTIONS": f"-c statement_timeout={int(timeout * 1000)}"}
        self.workers, self.timeout, self.logfile = workers, timeout, logfile
        self.port = free_port()
        self.process = None

    def __enter__(self) -> "Server":
        gunicorn = Path(sys.executable).with_name("gunicorn")
        args = [str(gunicorn), "gridgov.wsgi", "--bind", f"{HOST}:{self.port}",
                "--workers", str(self.workers),
                "--worker-class", "sync", "--timeout", str(int(self.timeout) + 5), "--log-level", "warning"]
        self._log = self.logfile.open("ab")
        self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gunicorn exited; see {self.logfile}")
            if http_get(self.port, "/api/v1/health", {}, 2)[0] == 200:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer /api/v1/health within 60 s")

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
            except ProcessLookupError:
                pass
        self.process = None
        self._log.close()

    def pids(self) -> list[int]:
        if self.process is None:
            return []
        return [self.process.pid, *children(self.process.pid)]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


TICKS = os.sysconf("SC_CLK_TCK")


def others_cpu(ours: set[int], database: str) -> dict[int, float]:
    """CPU seconds of every process that is not this benchmark's: not this process, not the
    server's, not a PostgreSQL process (background, or serving this database or a parallel
    worker of one) unless it is a backend of another database. Sampled before and after a
    cell: other processes here are long-lived test runners, while PostgreSQL's parallel
    workers come and go within a query."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if command.startswith("postgres:"):
            words = [w for w in command.split()[1:] if not w.endswith(":")]
            client = len(words) >= 3 and ("(" in words[2] or words[2].startswith("[local]"))
            if not client or words[1] == database:
                continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings; a process that appeared in between counts whole."""
    return sum(after[p] - before.get(p, 0.0) for p in after)


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(share * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def get_token(port: int, username: str) -> str:
    body = json.dumps({"username": username, "password": DEMO_PASSWORD, "name": "bench/analytics"}).encode()
    status, answer, _s = http_get(port, "/api/v1/auth/token", {"Content-Type": "application/json"}, 60,
                                  method="POST", body=body)
    if status != 200:
        raise RuntimeError(f"token for {username}: {status} {answer[:200]!r}")
    return json.loads(answer)["token"]


def periods(today: datetime.date) -> list[tuple[str, datetime.date, str]]:
    """The last full month and the last full year: (kind, first day, label)."""
    month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    year = datetime.date(today.year - 1, 1, 1)
    return [("month", month, f"{month:%Y-%m}"), ("year", year, str(year.year))]


class Freshness:
    """Keeps the rollups fresh between cells, as huey's five-minute job does."""

    def __init__(self):
        self.last = float("-inf")  # the first cell refreshes
        self.runs: list[float] = []

    def ensure(self) -> None:
        if time.monotonic() - self.last >= REFRESH_EVERY_S:
            row = timed_refresh()
            self.runs.append(row["seconds"])
            self.last = time.monotonic()
            log(f"  (rollups refreshed: {row['seconds']:.1f} s, {row['days']} days)")


def wait_idle(url: str, limit_s: float) -> None:
    """Wait (at most limit_s) until no statement of an abandoned request still runs."""
    import psycopg

    deadline = time.monotonic() + limit_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()[0]
            if not busy:
                return
            time.sleep(1)


def measure_cell(server: Server, database: str, token: str, path: str, args) -> dict:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    row = {"path": path, "latencies": [], "errors": Counter(), "source": "", "rows": None, "bytes": 0}
    # As many warm-up requests as gunicorn workers (which worker takes one is up to them): a
    # worker's first request loads code and opens its connection, once in a server's life.
    for _worker in range(args.server_workers):
        status, body, seconds = http_get(server.port, path, headers, args.request_timeout)
        if status != 200:
            break
    row["warmup_s"] = seconds
    if status != 200:
        row["errors"][str(status)] += 1
        row["sample"] = body[:300].decode(errors="replace")
        wait_idle(args.url, args.request_timeout + 10)
        return finish(row)
    try:
        answer = json.loads(body)
        row["source"] = answer.get("source", "") if isinstance(answer, dict) else ""
        if isinstance(answer, dict) and isinstance(answer.get("rows"), list):
            row["rows"] = len(answer["rows"])
    except ValueError:
        pass
    row["bytes"] = len(body)
    ours = {os.getpid(), *server.pids()}
    before = others_cpu(ours, database)
    started = time.perf_counter()
    while len(row["latencies"]) < args.requests:
        elapsed = time.perf_counter() - started
        if elapsed >= args.cell_seconds and len(row["latencies"]) >= 3:
            break
        if elapsed >= args.cell_seconds * 3:
            break
        status, body, seconds = http_get(server.port, path, headers, args.request_timeout)
        if status != 200:
            row["errors"][str(status)] += 1
            row["sample"] = body[:300].decode(errors="replace")
            wait_idle(args.url, args.request_timeout + 10)
            break
        row["latencies"].append(seconds)
    elapsed = time.perf_counter() - started
    after = others_cpu(ours | set(server.pids()), database)
    row["others"] = cpu_delta(before, after) / elapsed if elapsed > 0 else 0.0
    return finish(row)


def finish(row: dict) -> dict:
    lat = sorted(row["latencies"])
    row["n"] = len(lat)
    for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        row[name] = percentile(lat, share) * 1000
    row["errors"] = dict(row["errors"])
    row["met"] = bool(lat) and not row["errors"] and row["p95"] < TARGET_P95_MS
    return row


def naive_group_by(url: str, scope_codes: dict, plan, runs: int, timeout_s: float) -> dict:
    """p50/p95 of the raw GROUP BY per (scope, period)."""
    import psycopg

    from gridgov.analytics.periods import period_of

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
        for kind, first, _label in plan:
            start, end = period_of(kind, first).bounds()
            for scope, code in scope_codes.items():
                query = ("SELECT grid_id, count(*) FROM cases_case "
                         "WHERE reported_at >= %s AND reported_at < %s")
                params: list = [start, end]
                if code:
                    query += " AND grid_id IN (SELECT id FROM grids_grid WHERE code LIKE %s)"
                    params.append(code + "%")
                query += " GROUP BY grid_id"
                times = []
                for attempt in range(runs + 1):
                    t0 = time.perf_counter()
                    groups = len(conn.execute(query, params).fetchall())
                    if attempt:
                        times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                out[(scope, kind)] = {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95),
                                      "groups": groups, "sql": query}
                log(f"  naive GROUP BY {scope:<8} {kind:<5}: p50 {out[(scope, kind)]['p50']:7.1f} ms  "
                    f"p95 {out[(scope, kind)]['p95']:7.1f} ms ({groups} grids)")
    return out


# --- explaining a miss -----------------------------------------------------------------------


def explain_child(path: str, username: str) -> None:
    """In a child process: GET path as username through the test client, every SQL statement
    timed and printed as a JSON line."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from gridgov.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    client.get("/api/v1/health")  # imports and URL resolving are not the request's cost

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - started
            try:
                text = connection.ops.last_executed_query(context["cursor"], sql, params)
            except Exception:  # the statement is what matters, not its parameters
                text = sql
            print(json.dumps({"ms": seconds * 1000, "sql": text}), flush=True)

    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        response = client.get(path)
    print(json.dumps({"done": True, "status": response.status_code, "wall": time.perf_counter() - started}),
          flush=True)


def shape(sql: str) -> str:
    """The statement with its literals as ?, lists as (…) and a long select list cut short."""
    text = re.sub(r"'(?:[^']|'')*'", "?", sql)
    text = re.sub(r"\b\d+(\.\d+)?\b", "?", text)
    text = re.sub(r"\((?:\?, )+\?\)", "(…)", text)
    text = re.sub(r"\s+", " ", text)
    head, found, rest = text.partition(" FROM ")
    if found and head.startswith("SELECT") and len(head) > 160:
        text = f"{head[:150]} … FROM {rest}"
    return text


def explain_cell(url: str, env: dict, path: str, username: str, args) -> dict:
    """Run the request in a child with its SQL timed (at most args.explain_seconds), then
    EXPLAIN ANALYZE the slowest statement."""
    command = [sys.executable, __file__, "--explain-child", path, "--explain-user", username]
    lines: list[str] = []
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, start_new_session=True, preexec_fn=_die_with_parent)
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    started = time.perf_counter()
    reader.start()
    try:
        process.wait(timeout=args.explain_seconds)
        finished = True
    except subprocess.TimeoutExpired:
        finished = False
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    reader.join(timeout=10)
    wall = time.perf_counter() - started
    queries, done = [], None
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if item.get("done"):
            done = item
        elif "sql" in item:
            queries.append(item)
    shapes: dict[str, list[float]] = defaultdict(list)
    for q in queries:
        shapes[shape(q["sql"])].append(q["ms"])
    sql_ms = sum(q["ms"] for q in queries)
    top = sorted(shapes.items(), key=lambda kv: -sum(kv[1]))
    top = [kv for kv in top if sum(kv[1]) >= 0.05 * sql_ms][:3] or top[:1]
    out = {"finished": finished and done is not None, "wall_s": done["wall"] if done else wall,
           "queries": len(queries), "sql_s": sum(q["ms"] for q in queries) / 1000,
           "shapes": [{"count": len(ms), "total_s": sum(ms) / 1000, "max_ms": max(ms), "sql": s[:900]}
                      for s, ms in top]}
    if queries:
        slowest = max(queries, key=lambda q: q["ms"])
        out["slowest_ms"] = slowest["ms"]
        out["plan"] = explain(url, slowest["sql"], args.explain_seconds)
    return out


def explain(url: str, query: str, timeout_s: float) -> list[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
        try:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query).fetchall()
        except psycopg.errors.QueryCanceled:
            rows = [("(EXPLAIN ANALYZE cancelled after the time limit; the plan without ANALYZE:)",)]
            rows += conn.execute("EXPLAIN " + query).fetchall()
        except psycopg.Error as exc:
            return [f"(EXPLAIN failed: {type(exc).__name__})"]
    return [r[0] for r in rows]


def plan_excerpt(plan: list[str], limit: int = 16) -> list[str]:
    """The plan's nodes with their actual times, the JIT and execution-time lines."""
    keep = []
    for line in plan:
        stripped = line.strip()
        if stripped.startswith(("Buffers:", "Output:", "Planning:", "Sort Key", "Group Key", "Hash Cond",
                                "Index Cond", "Recheck Cond", "Sort Method", "Heap Blocks", "Worker ",
                                "Options:", "Timing:", "Functions:", "I/O Timings")):
            continue
        if stripped.startswith(("Filter:", "Rows Removed")) and len(keep) > limit - 4:
            continue
        keep.append(line.rstrip()[:220])
    nodes = [line for line in keep if not line.strip().startswith(("Planning Time", "Execution Time", "JIT"))]
    tail = [line for line in keep if line.strip().startswith(("Planning Time", "Execution Time", "JIT"))]
    return nodes[:limit] + tail


# --- report ----------------------------------------------------------------------------------


def fmt_ms(value: float) -> str:
    if value != value:  # NaN
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def machine() -> str:
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} CPUs{memory}"


def server_settings(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        values = [f"{name} {conn.execute(f'SHOW {name}').fetchone()[0]}"
                  for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit",
                               "max_parallel_workers_per_gather", "autovacuum")]
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {}).get("options", "")
    own = f"; gridgov's connections: `{options}`" if options else ""
    return f"PostgreSQL {version} (server defaults: {', '.join(values)}{own})"


def others_text(results: dict) -> str:
    """What else the machine was doing, from the other processes' CPU during the cells."""
    busiest = max((c.get("others", 0.0) for c in results["cells"] if not c.get("absent")), default=0.0)
    if busiest >= 0.25:
        return (f"**Other processes used up to {busiest:.2f} CPUs of the 2 during the cells** (column "
                "\"other processes' CPUs\", 1.00 = one CPU busy).")
    return (f"Nothing else ran during the cells: other processes used at most {busiest:.2f} CPU "
            "(PostgreSQL's and gunicorn's own work not counted).")


def section(meta: dict, results: dict, args) -> str:
    gen, summary, roll = meta["generation"], meta["summary"], meta["rollups"]
    cases = summary["cases"]
    trial = ("" if meta.get("requested", round(cases, -6)) == FULL_SIZE
             else f" **A trial at {cases:,} cases, not the target size.**")
    states = summary["states"]

    def pct(part: int) -> str:
        return f"{100 * part / cases:.1f} %"

    channel_text = ", ".join(f"{k} {pct(v)}" for k, v in
                             sorted(summary["channels"].items(), key=lambda kv: -kv[1]))
    state_text = ", ".join(f"{k} {pct(v)}" for k, v in sorted(states.items(), key=lambda kv: -kv[1]))
    actions = summary["actions"]
    sizes = summary["sizes"]

    def gb(name: str) -> str:
        return f"{sizes.get(name, 0) / 1e9:.1f} GB"

    lines = [
        MARKER_START,
        f"Measured {results['date']} on {machine()}, Python {platform.python_version()}, "
        f"{results['postgres']}, gunicorn {results['gunicorn']} ({args.server_workers} sync workers), "
        f"one client on the same machine.{trial} {others_text(results)}",
        "",
        "Run it with `.venv/bin/python bench/analytics.py` (10,000,000 cases; `--cases 200000` for a "
        "quick try, `--keep` to keep the scratch database and `--reuse --keep` to measure it again "
        "without generating; `--help` for the rest).",
        "",
        f"**Data.** `{meta.get('demo_command', 'gridgov demo --no-history')}` ({meta.get('demo', '')}; "
        f"{'/'.join(str(v) for _k, v in sorted(summary['grids'].items()))} grids by level), then "
        f"{cases:,} cases ({meta.get('requested', cases):,} drawn; those falling after the moment of "
        f"generation dropped) reported {summary['first'][:10]} … {summary['last'][:10]} "
        f"({meta['years']:g} years, ≈ {cases / (meta['years'] * 365.25):,.0f} a day): {state_text}; "
        f"channels {channel_text}; returned {pct(summary['returned'])}, reworked {pct(summary['reworked'])}, "
        f"extended {pct(summary['extended'])}, rated {pct(summary['rated'])}, handled on time "
        f"{100 * summary['on_time'] / max(summary['handled'], 1):.1f} % of the handled. "
        f"{sum(actions.values()):,} CaseLog rows "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(actions.items()))}): "
        f"only the actions the KPIs read, ≈ {sum(actions.values()) / cases:.1f} per case where a real "
        f"log has about 7. Sizes with indexes: cases {gb('cases_case')}, log {gb('cases_caselog')}, "
        f"daily rollups {gb('analytics_dailyrollup')}, their sums by month {gb('analytics_rollupslice')}, "
        f"people's rollups {gb('analytics_actorrollup')}.",
        "",
        f"**Generation** of {cases:,} cases: {gen['total_s'] / 60:.1f} min in all: district tables "
        f"{gen['prepare_s']:.0f} s, numpy + COPY {gen['copy_s']:.0f} s ({cases / gen['copy_s']:,.0f} cases/s "
        f"with their log rows; Python {gen['python_s']:.0f} s of it), rebuilding "
        f"the indexes {gen['index_s']:.0f} s and the foreign keys {gen['foreign_keys_s']:.0f} s (dropped "
        f"during the load), VACUUM ANALYZE {gen['vacuum_s']:.0f} s. The demo district itself: "
        f"{meta['demo_s']:.0f} s.",
        "",
        f"**Rollups.** `rollups.rebuild()`: {roll['rebuild_s'] / 60:.1f} min for {roll['days']:,} days, "
        f"{roll['table_rows']:,} daily rows ({roll['table_rows'] / cases:.2f} per case)"
        + "".join(f", {table} {rows:,} rows" for table, rows in roll.get("tables", {}).items()
                  if table != "analytics_dailyrollup")
        + ".",
    ]
    if meta.get("refresh"):
        lines += ["", "`rollups.refresh()`:", "", "| change before the refresh | days rebuilt | rows written "
                  "| seconds |", "|---|---:|---:|---:|"]
        for r in meta["refresh"]:
            seconds = "—" if r["seconds"] is None else f"{r['seconds']:.1f}"
            lines.append(f"| {r['what']} | {r['days']:,} | {r['rows'] or 0:,} | {seconds} |")
    else:
        lines += ["", "`rollups.refresh()` after changes: not measured in this run (`--reuse --keep "
                      "--refresh-tests` measures it)."]
    runs = results.get("periodic_refreshes") or []
    if runs:
        runs = sorted(runs)
        lines += ["", "The periodic refreshes during the measurements (nothing changed): "
                      f"{len(runs)}, median {runs[len(runs) // 2]:.1f} s, longest {runs[-1]:.1f} s."]
    lines += [
        "",
        f"**Endpoints** over HTTP, sequential requests with a bearer token; each cell: {args.server_workers} "
        f"warm-up requests (as many as gunicorn workers), then up to "
        f"{args.requests} requests within {args.cell_seconds:.0f} s; a request is abandoned after "
        f"{args.request_timeout:.0f} s. District: the auditor (whole district); street: the street leader "
        f"({results['scope_names']['street']}); grid: the grid leader ({results['scope_names']['grid']}). "
        f"Periods: the month {results['periods']['month']} and the year {results['periods']['year']} "
        "(each ranking also counts the period before, for its movement). \"source\" is where the counts came "
        "from (rollup or raw). Naive GROUP BY: `SELECT grid_id, count(*) FROM cases_case WHERE reported_at "
        "in the period [AND grid_id IN (grids under the scope's code)] GROUP BY grid_id`, p50 / p95 of "
        f"{args.naive_runs} runs with psycopg. Target: p95 < {TARGET_P95_MS:.0f} ms. With 30 requests or "
        "fewer, p99 is the slowest request.",
        "",
        "| endpoint | scope | period | source | requests | p50 ms | p95 ms | p99 ms "
        "| naive GROUP BY p50 / p95 ms | other processes' CPUs | target |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for cell in results["cells"]:
        naive = results["naive"].get((cell["scope"], cell["kind"]))
        naive_text = f"{fmt_ms(naive['p50'])} / {fmt_ms(naive['p95'])}" if naive else "—"
        if cell.get("absent"):
            lines.append(f"| {cell['endpoint']} | {cell['scope']} | {cell['period']} | — | — | — | — | — "
                         f"| {naive_text} | — | not in the API yet |")
            continue
        if cell["n"] == 0:
            error = ", ".join(f"{k} ×{v}" for k, v in cell["errors"].items())
            lines.append(f"| {cell['endpoint']} | {cell['scope']} | {cell['period']} "
                         f"| {cell['source'] or '—'} | 0 | > {args.request_timeout:.0f} s ({error}) | — | — "
                         f"| {naive_text} | — "
                         "| **missed** |")
            continue
        errors = f" ({', '.join(f'{k} ×{v}' for k, v in cell['errors'].items())})" if cell["errors"] else ""
        verdict = "met" if cell["met"] else "**missed**"
        lines.append(f"| {cell['endpoint']} | {cell['scope']} | {cell['period']} | {cell['source'] or '—'} "
                     f"| {cell['n']}{errors} | {fmt_ms(cell['p50'])} | {fmt_ms(cell['p95'])} "
                     f"| {fmt_ms(cell['p99'])} | {naive_text} | {cell.get('others', 0):.2f} | {verdict} |")
    measured = [c for c in results["cells"] if not c.get("absent")]
    met = [c for c in measured if c["met"]]
    lines += ["", f"**Target p95 < {TARGET_P95_MS:.0f} ms: met in {len(met)} of {len(measured)} cells.**"]
    by_endpoint = defaultdict(list)
    for c in measured:
        by_endpoint[c["endpoint"]].append(c)
    for endpoint in ENDPOINTS:
        cells = by_endpoint.get(endpoint)
        if not cells:
            if any(c["endpoint"] == endpoint and c.get("absent") for c in results["cells"]):
                lines.append(f"- {endpoint}: not measured: GET /api/v1/analytics/{endpoint} is not in the "
                             "OpenAPI schema yet (the table keeps its rows as a slot).")
            continue
        missed = [f"{c['scope']} {c['kind']}" for c in cells if not c["met"]]
        verdict = "met everywhere." if not missed else f"missed for {', '.join(missed)}."
        lines.append(f"- {endpoint}: {verdict}")
    if results["explained"]:
        lines += ["", "**Why the misses** (for each endpoint and scope, its slower missed period once "
                      "more in a child process through Django's test client, each SQL statement timed, "
                      f"at most {args.explain_seconds:.0f} s; then EXPLAIN (ANALYZE, BUFFERS) of its "
                      "slowest statement):", ""]
        for item in results["explained"]:
            e = item["explain"]
            status = (f"{e['wall_s']:.1f} s" if e["finished"]
                      else f"stopped after {args.explain_seconds:.0f} s, unfinished")
            lines.append(f"- **{item['endpoint']}, {item['scope']}, {item['kind']}**: {status}; "
                         f"{e['queries']:,} SQL statements taking {e['sql_s']:.1f} s "
                         f"(the rest, {max(0.0, e['wall_s'] - e['sql_s']):.1f} s, is Python and "
                         "fetching rows).")
            for s in e["shapes"]:
                lines.append(f"  - {s['count']:,}× ({s['total_s']:.1f} s, longest {s['max_ms']:,.0f} ms): "
                             f"`{s['sql'][:700]}`")
            if e.get("plan"):
                lines += ["", "  <details><summary>EXPLAIN ANALYZE of the slowest statement "
                              f"({e['slowest_ms']:,.0f} ms)</summary>", "", "  ```"]
                lines += [f"  {line}" for line in plan_excerpt(e["plan"])]
                lines += ["  ```", "", "  </details>"]
    lines.append(MARKER_END)
    return "\n".join(lines)


def write(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if MARKER_START in doc:
        head, rest = doc.split(MARKER_START, 1)
        doc = head + text + rest.split(MARKER_END, 1)[1]
    else:
        doc = doc.rstrip("\n") + f"\n\n{HEADING}\n\n{text}\n"
    DOC.write_text(doc, encoding="utf-8")


# --- main ------------------------------------------------------------------------------------


def run_manage(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "gridgov", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"gridgov {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def build_demo(env: dict, args) -> tuple[str, str]:
    """`gridgov demo --no-history`; returns the command and what it said it built."""
    command = ["demo", "--profile", args.profile, "--no-history"]
    if args.registry_communities is not None:
        command += ["--registry-communities", str(args.registry_communities)]
    said = run_manage(env, *command, "-v", "0")
    built = [line.strip().rstrip(".") for line in said.splitlines()
             if re.match(r"\s*(\d+ grids in|\d+ routing rules|Registry in)", line)]
    return "gridgov " + " ".join(command), "; ".join(built)


def openapi_paths(port: int) -> set[str]:
    status, body, _s = http_get(port, "/api/openapi.json", {}, 30)
    if status != 200:
        return set()
    return set(json.loads(body).get("paths", {}))


def measure_endpoints(args, env: dict, url: str, var_dir: Path) -> dict:
    from django.utils import timezone

    from gridgov.accounts.models import Assignment

    plan = periods(timezone.localdate())
    scope_codes, scope_names = {}, {}
    for scope, username in SCOPES:
        a = Assignment.objects.filter(user__username=username, is_active=True).select_related("grid").first()
        scope_codes[scope] = a.grid.code if a and a.grid_id else ""
        scope_names[scope] = f"{a.grid.name}, {a.grid.code}" if a and a.grid_id else "whole district"
    results = {"cells": [], "explained": [], "periods": {k: label for k, _f, label in plan},
               "scope_names": scope_names, "date": datetime.date.today().isoformat()}
    log("naive GROUP BY over the raw table:")
    results["naive"] = naive_group_by(url, scope_codes, plan, args.naive_runs, args.request_timeout)
    freshness = Freshness()
    wanted = [e for e in ENDPOINTS if e in args.endpoints]
    with Server(env, args.server_workers, args.request_timeout, var_dir / "gunicorn.log") as server:
        log(f"gunicorn on {HOST}:{server.port}")
        paths = openapi_paths(server.port)
        tokens = {username: get_token(server.port, username) for _scope, username in SCOPES}
        for kind, first, label in plan:
            for endpoint in wanted:
                present = f"/api/v1/analytics/{endpoint}" in paths
                for scope, username in SCOPES:
                    cell = {"endpoint": endpoint, "scope": scope, "kind": kind, "period": label}
                    if not present:
                        results["cells"].append({**cell, "absent": True})
                        continue
                    freshness.ensure()
                    path = f"/api/v1/analytics/{endpoint}?period={kind}&date={first.isoformat()}"
                    row = measure_cell(server, args.database, tokens[username], path, args)
                    cell.update(row)
                    cell["username"] = username
                    results["cells"].append(cell)
                    errors = ""
                    if row["errors"]:
                        errors = f"  errors {row['errors']} {row.get('sample', '')[:120]}"
                    log(f"  {endpoint:<11} {scope:<8} {kind:<5} n={row['n']:<3} p50 {fmt_ms(row['p50']):>7} "
                        f"p95 {fmt_ms(row['p95']):>7} p99 {fmt_ms(row['p99']):>7} ms  "
                        f"source {row['source'] or '-'}  others {row.get('others', 0):.2f} CPU{errors}")
    results["periodic_refreshes"] = freshness.runs
    def worst_first(c):
        return -(c["p95"] if c["n"] else float("inf"))

    missed = sorted((c for c in results["cells"] if not c.get("absent") and not c["met"]), key=worst_first)
    # the worst cell of each endpoint and scope (the other period's reason is mostly the same)
    missed = sorted({(c["endpoint"], c["scope"]): c for c in reversed(missed)}.values(), key=worst_first)
    budget_end = time.monotonic() + args.explain_budget
    child_env = {**env, "PGOPTIONS": f"-c statement_timeout={int(args.explain_seconds * 1000)}"}
    for cell in missed:
        if time.monotonic() > budget_end:
            log(f"explain budget spent; {cell['endpoint']} {cell['scope']} {cell['kind']} not explained")
            continue
        log(f"explaining {cell['endpoint']} {cell['scope']} {cell['kind']}…")
        explained = explain_cell(url, child_env, cell["path"], cell["username"], args)
        results["explained"].append({"endpoint": cell["endpoint"], "scope": cell["scope"],
                                     "kind": cell["kind"], "explain": explained})
        stopped = "" if explained["finished"] else " (stopped)"
        log(f"  {explained['queries']} statements, SQL {explained['sql_s']:.1f} s of "
            f"{explained['wall_s']:.1f} s{stopped}; slowest {explained.get('slowest_ms', 0):,.0f} ms")
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=FULL_SIZE, help="cases to generate (default 10,000,000)")
    parser.add_argument("--years", type=float, default=5.0, help="years up to now the cases span (default 5)")
    parser.add_argument("--profile", default="fengqiao", choices=("fengqiao", "jinhua"), help="demo district")
    parser.add_argument("--registry-communities", type=int, default=None, metavar="N",
                        help="passed to gridgov demo: the registry in the first N communities only "
                             "(default: the profile's)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--chunk", type=int, default=100_000, help="cases per COPY transaction")
    parser.add_argument("--maintenance-work-mem", default="1GB", help="for the index rebuild")
    parser.add_argument("--requests", type=int, default=30, help="measured requests per cell (default 30)")
    parser.add_argument("--cell-seconds", type=float, default=60.0,
                        help="stop a cell after this long once it has 3 requests (default 60)")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="abandon a request after (s)")
    parser.add_argument("--naive-runs", type=int, default=30)
    parser.add_argument("--explain-seconds", type=float, default=60.0,
                        help="time limit of the traced re-run of a missed cell and of its EXPLAIN ANALYZE")
    parser.add_argument("--explain-budget", type=float, default=1800.0, help="for all the explaining (s)")
    parser.add_argument("--server-workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated subset")
    parser.add_argument("--pg", default=os.environ.get("GRIDGOV_BENCH_PG", DEFAULT_PG),
                        help="PostgreSQL maintenance database URL (loopback only)")
    parser.add_argument("--database", default="gridgov_bench_analytics", help="the scratch database")
    parser.add_argument("--keep", action="store_true", help="keep the database and its var directory")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by --keep: no generation, no rollup rebuild, and "
                             "the refresh tests' earlier results (unless --refresh-tests)")
    parser.add_argument("--refresh-tests", action="store_true", help="with --reuse: run the refresh tests")
    parser.add_argument("--refresh-any-age", action="store_true",
                        help="also rate 1,000 cases of any age and time the refresh (it rebuilds most days: "
                             "about as long as a rebuild); else only count the days it would rebuild")
    parser.add_argument("--rebuild-rollups", action="store_true",
                        help="with --reuse: rebuild the rollups (after the code changed) and time it again")
    parser.add_argument("--no-rollups", action="store_true",
                        help="generate the data only (then --reuse --rebuild-rollups builds the rollups)")
    parser.add_argument("--rollups-only", action="store_true",
                        help="stop after the data and rollups (measure later with --reuse)")
    parser.add_argument("--no-write", action="store_true", help="print, leave docs/performance.md alone")
    parser.add_argument("--explain-child", help=argparse.SUPPRESS)
    parser.add_argument("--explain-user", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database):
        parser.error("--database: lower-case letters, digits and underscores")
    args.endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if set(args.endpoints) - set(ENDPOINTS):
        parser.error(f"--endpoints: choose from {', '.join(ENDPOINTS)}")
    if args.cases < 1000:
        parser.error("--cases: at least 1,000")
    if args.rollups_only and not args.keep:
        parser.error("--rollups-only: add --keep, or nothing is left to measure")
    if args.no_rollups and (args.reuse or not args.keep):
        parser.error("--no-rollups: for a new database, with --keep")
    if args.rebuild_rollups and not args.reuse:
        parser.error("--rebuild-rollups: with --reuse (a new database builds its rollups anyway)")
    loopback_only(args.pg)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.explain_child:
        explain_child(args.explain_child, args.explain_user)
        return 0
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = time.perf_counter()
    var_dir = Path(tempfile.gettempdir()) / f"gridgov-bench-{args.database}"
    url = args.url = database_url(args.pg, args.database)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GRIDGOV_DEBUG", "PGOPTIONS")}
    env.update(DATABASE_URL=url, GRIDGOV_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="gridgov.settings",
               GRIDGOV_ALLOWED_HOSTS=f"{HOST},testserver", GRIDGOV_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    meta_file = var_dir / "bench-meta.json"
    if args.reuse and not meta_file.exists():
        raise SystemExit(f"--reuse: nothing kept ({meta_file} is missing); run once with --keep")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    try:
        if args.reuse:
            meta = json.loads(meta_file.read_text())
            log(f"reusing {args.database}: {meta['summary']['cases']:,} cases")
            t0 = time.perf_counter()
            run_manage(env, "migrate", "--noinput", "-v", "0")  # the code may be newer than the database
            log(f"migrated in {time.perf_counter() - t0:.1f} s")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
            var_dir.mkdir(parents=True)
            log(f"database {args.database} on {urlsplit(args.pg).hostname}; var {var_dir}")
            recreate_database(args.pg, args.database)
            t0 = time.perf_counter()
            run_manage(env, "migrate", "--noinput", "-v", "0")
            log(f"migrated in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            demo_command, built = build_demo(env, args)
            demo_s = time.perf_counter() - t0
            log(f"{demo_command}: {demo_s:.1f} s: {built}")
        import django

        django.setup()
        if not args.reuse:
            log(f"generating {args.cases:,} cases over {args.years:g} years…")
            generation = generate(args, url)
            log(f"generated {generation['cases']:,} cases and {generation['logs']:,} log rows in "
                f"{generation['total_s'] / 60:.1f} min")
            rollup = None
            if not args.no_rollups:
                log("building the rollups…")
                rollup = build_rollups()
            meta = {"profile": args.profile, "years": args.years, "requested": args.cases, "demo_s": demo_s,
                    "demo_command": demo_command, "demo": built, "generation": generation, "rollups": rollup}
        elif args.rebuild_rollups:
            log("rebuilding the rollups…")
            meta["rollups"] = build_rollups()
        if (not args.reuse and not args.no_rollups) or args.refresh_tests:
            log("refresh after changes:")
            meta["refresh"] = refresh_tests(url, args.refresh_any_age)
        meta["summary"] = data_summary(url)
        meta_file.write_text(json.dumps(meta, default=str))
        if args.no_rollups:
            log("--no-rollups: data only; next: --reuse --keep --rebuild-rollups")
            return 0
        if args.rollups_only:
            log("--rollups-only: no measurements")
            return 0
        results = measure_endpoints(args, env, url, var_dir)
        results["postgres"] = server_settings(url)
        import gunicorn

        results["gunicorn"] = gunicorn.__version__
    finally:
        if args.keep:
            log(f"kept database {args.database} and {var_dir}")
        else:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # Django may not be set up yet
                pass
            recreate_database(args.pg, args.database, drop_only=True)
            shutil.rmtree(var_dir, ignore_errors=True)
            log(f"dropped database {args.database}")
    text = section(meta, results, args)
    print(text)
    if not args.no_write:
        write(text)
        log(f"wrote {DOC.relative_to(ROOT)}")
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
