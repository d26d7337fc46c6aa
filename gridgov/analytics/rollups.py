"""Building the daily rollups: whole days at a time, from the raw cases.

Each counter of a case is counted on the local day of one timestamp (kpis.counter_rules):
reported_at, registered_at, dispatched_at, handled_at or rated_at; returns on the day of the
return entry. The people's counters (`actor_counts`) follow the same days, and a dispatcher's
steps the day of the step's entry. Every value those timestamps ever had is the time of a
CaseLog entry, so the days whose rows a changed case may sit in are its report day and the
days of its log entries.
`refresh()` (a huey periodic task) rebuilds just those days for the cases changed since the
last run (looking back OVERLAP for late commits, without counting again what the last run
counted); `rebuild()` (`gridgov rollup --rebuild [--since DATE]`) rebuilds every day.

The database counts (one GROUP BY per timestamp, with the conditions of counter_rules), the
same queries on SQLite and PostgreSQL. The slices (`RollupSlice`) then sum the daily rows per
area of every level: each grid's sums are added to its ancestors' in Python.
"""

from collections import defaultdict
from contextlib import nullcontext
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from gridgov.analytics.kpis import (
    PUBLIC_CHANNELS,
    SATISFIED,
    TIME_FIELDS,
    WORKER_CHANNELS,
    counter_rules,
    empty_counts,
    on_time_checks,
    return_department,
    worker_report_rules,
)
from gridgov.analytics.models import (
    ACTOR_COUNTERS,
    COUNTERS,
    ActorRollup,
    DailyRollup,
    GridTagRollup,
    GridVisitRollup,
    RollupSlice,
    RollupState,
)
from gridgov.analytics.periods import _add_months
from gridgov.cases.models import Case, CaseLog
from gridgov.core import bulk
from gridgov.grids.codes import code_lengths, lineage
from gridgov.grids.models import Grid
from gridgov.population.models import Visit

S = Case.State
# A transaction may commit a little after its `now`: look back this far past the last run.
OVERLAP = timedelta(minutes=10)
FIELDS = (
    "grid_id",
    "category_id",
    "channel",
    "department_id",
    "state",
    "handled_on_time",
    "rating",
    "rework_count",
    "extension_count",
    *TIME_FIELDS,
)


def local_day(moment: datetime | None) -> date | None:
    return timezone.localtime(moment, timezone.get_default_timezone()).date() if moment else None


def case_counts(case: dict) -> list[tuple[date, str]]:
    """(day, counter) for every counter this case adds to: the Python twin of counter_rules."""
    found = []
    reported, registered = local_day(case["reported_at"]), local_day(case["registered_at"])
    dispatched, rated = local_day(case["dispatched_at"]), local_day(case["rated_at"])
    found.append((reported, "reported"))
    if case["channel"] == Case.Channel.SELF_RESOLVED:
        found.append((reported, "self_resolved"))
    if registered:
        found.append((registered, "registered"))
        if case["channel"] in PUBLIC_CHANNELS:
            found.append((registered, "public_registered"))
        if case["state"] not in (S.REJECTED, S.MERGED):
            found.append((registered, "due"))
            if case["state"] == S.CLOSED:
                found.append((registered, "closed"))
                if case["handled_on_time"] is True:
                    found.append((registered, "closed_on_time"))
    if rated and case["rating"]:
        found.append((rated, "rated"))
        if case["rating"] in SATISFIED:
            found.append((rated, "satisfied"))
    if case["handled_at"] and case["channel"] != Case.Channel.SELF_RESOLVED:
        found.append((local_day(case["handled_at"]), "verifications_due"))
    if dispatched and case["department_id"] is not None:
        found.append((dispatched, "to_handle"))
        if case["handled_at"] is not None:
            found.append((dispatched, "handled"))
        if case["handled_on_time"] is True:
            found.append((dispatched, "handled_on_time"))
        if case["state"] == S.CLOSED:
            found.append((dispatched, "dept_closed"))
        if case["rework_count"] > 0:
            found.append((dispatched, "reworked"))
        if case["extension_count"] > 0:
            found.append((dispatched, "extended"))
    return found


def _ranges(days: list[date]) -> list[tuple[datetime, datetime]]:
    """Sorted days as few [start, end) datetime ranges as possible."""
    tz = timezone.get_default_timezone()
    ranges: list[list[date]] = []
    for day in sorted(days):
        if ranges and ranges[-1][1] == day:
            ranges[-1][1] = day + timedelta(days=1)
        else:
            ranges.append([day, day + timedelta(days=1)])
    return [(datetime.combine(a, time.min, tz), datetime.combine(b, time.min, tz)) for a, b in ranges]


def _within(name: str, ranges) -> Q:
    query = Q(pk__in=[])
    for start, end in ranges:
        query |= Q(**{f"{name}__gte": start, f"{name}__lt": end})
    return query


# The case timestamp each counter is counted on (kpis.counter_rules).
COUNTED_ON = {
    "reported_at": ("reported", "self_resolved"),
    "registered_at": ("registered", "public_registered", "due", "closed", "closed_on_time"),
    "dispatched_at": ("to_handle", "handled", "handled_on_time", "dept_closed", "reworked", "extended"),
    "handled_at": ("verifications_due",),
    "rated_at": ("rated", "satisfied"),
}
DIMS = ("grid_id", "category_id", "channel", "department_id")


def _by_day(rows, field: str):
    """The rows grouped by the local day of `field` (GROUP BY in the database)."""
    day = TruncDate(field, tzinfo=timezone.get_default_timezone())
    return rows.filter(**{f"{field}__isnull": False}).annotate(day=day).order_by()


def aggregate_days(days) -> dict[tuple, dict[str, int]]:
    """{(day, grid, category, channel, department): counters} for exactly these days: each
    group of counters counted by the database on the day of its timestamp, with the very
    conditions of kpis.counter_rules."""
    days = set(days)
    ranges = _ranges(list(days))
    rules = counter_rules(ranges[0][0], ranges[-1][1])
    rows: dict[tuple, dict[str, int]] = defaultdict(empty_counts)
    for field, names in COUNTED_ON.items():
        grouped = (
            _by_day(Case.objects.filter(_within(field, ranges)), field)
            .values("day", *DIMS)
            .annotate(**{n: Count("pk", filter=rules[n]) for n in names})
        )
        for row in grouped.iterator(chunk_size=5000):
            counts = rows[(row["day"], *(row[d] for d in DIMS))]
            for name in names:
                counts[name] += row[name]
    returns = CaseLog.objects.filter(_within("at", ranges), action="return").values_list(
        "at", "case__grid_id", "case__category_id", "case__channel", "data"
    )
    for at, grid_id, category_id, channel, data in returns.iterator(chunk_size=5000):
        rows[(local_day(at), grid_id, category_id, channel, return_department(data))]["returns"] += 1
    return rows


def actor_counts(days) -> dict[tuple, dict[str, int]]:
    """{(day, person, grid): counters} for exactly these days, with the rules of the raw
    figures in kpis (worker_report_rules, on_time_checks, _dispatcher_figures_from_cases):
    reports on the report day, verified_on_time on the day of the handling checked, visits
    on their date, a dispatcher's register and dispatch steps on their own day, a case once a
    day per step."""
    days = set(days)
    ranges = _ranges(list(days))
    rows: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ACTOR_COUNTERS, 0))
    report_rules = worker_report_rules(ranges[0][0], ranges[-1][1])
    reported = Case.objects.filter(_within("reported_at", ranges), channel__in=WORKER_CHANNELS)
    reports = (
        _by_day(reported.exclude(reporter=None), "reported_at")
        .values("day", "reporter_id", "grid_id")
        .annotate(**{n: Count("pk", filter=q) for n, q in report_rules.items()})
    )
    for row in reports.iterator(chunk_size=5000):
        if row["reports"]:
            counts = rows[(row["day"], row["reporter_id"], row["grid_id"])]
            counts["reports"], counts["valid_reports"] = row["reports"], row["valid_reports"]
    due = Case.objects.filter(_within("handled_at", ranges)).exclude(channel=Case.Channel.SELF_RESOLVED)
    for (_case_id, actor_id), (handled_at, grid_id, _code) in on_time_checks(due).items():
        rows[(local_day(handled_at), actor_id, grid_id)]["verified_on_time"] += 1
    visits = (
        Visit.objects.filter(visited_on__in=days)
        .values("visited_on", "worker_id", "grid_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in visits.iterator(chunk_size=5000):
        rows[(row["visited_on"], row["worker_id"], row["grid_id"])]["visits"] += row["n"]
    steps = (
        _by_day(
            CaseLog.objects.filter(_within("at", ranges), action__in=("register", "dispatch")).exclude(
                actor=None
            ),
            "at",
        )
        .values("day", "action", "actor_id", "case__grid_id")
        .annotate(
            cases=Count("case_id", distinct=True),
            accurate=Count("case_id", distinct=True, filter=Q(case__return_count=0)),
        )
    )
    for row in steps.iterator(chunk_size=5000):
        counts = rows[(row["day"], row["actor_id"], row["case__grid_id"])]
        if row["action"] == "register":
            counts["registered"] += row["cases"]
        else:
            counts["dispatched"] += row["cases"]
            counts["accurate"] += row["accurate"]
    return rows


@transaction.atomic
def rebuild_days(days) -> int:
    """Replace the rows of these days with fresh counts; returns the number of rows written."""
    days = sorted(set(days))
    if not days:
        return 0
    for chunk in range(0, len(days), 500):
        DailyRollup.objects.filter(day__in=days[chunk : chunk + 500]).delete()
        ActorRollup.objects.filter(span="day", day__in=days[chunk : chunk + 500]).delete()
    day = connection.ops.adapt_datefield_value
    codes = grid_codes()
    rows = [
        (day(key[0]), key[1], codes[key[1]], *key[2:], *(counts[n] for n in COUNTERS))
        for key, counts in aggregate_days(days).items()
        if any(counts.values())
    ]
    _insert(DailyRollup, ("day", "grid", "code", "category", "channel", "department", *COUNTERS), rows)
    people = [
        ("day", day(key[0]), key[1], key[2], codes[key[2]], *(counts[n] for n in ACTOR_COUNTERS))
        for key, counts in actor_counts(days).items()
        if any(counts.values())
    ]
    _insert(ActorRollup, ACTOR_COLUMNS, people)
    return len(rows) + len(people)


ACTOR_COLUMNS = ("span", "day", "actor", "grid", "code", *ACTOR_COUNTERS)


def grid_codes() -> dict[int, str]:
    """{grid id: code} of every grid (a city has some tens of thousands)."""
    return dict(Grid.objects.values_list("pk", "code"))


def _insert(model, fields, rows: list[tuple]) -> None:
    """INSERT plain tuples: a month of a city is some 400,000 daily rows, and model instances
    (bulk_create) or psycopg's client-side parameter splitting cost more than counting them.
    PostgreSQL takes them by COPY, SQLite by executemany, both in the caller's transaction."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", rows
            )


# RollupSlice key → the DailyRollup field it sums by, beside the area
SLICE_FIELDS = {"grid": None, "category": "category_id", "channel": "channel", "department": "department_id"}
SLICE_COLUMNS = ("span", "start", "key", "grid", "code", "category", "channel", "department", *COUNTERS)


def _slices(span: str, start: date, end: date, keys, grid_ids: dict[str, int]) -> list[tuple]:
    """Rows of RollupSlice (as SLICE_COLUMNS) summing the daily rows of [start, end) for
    every area that has any: the database sums per grid, Python adds each grid's sums to
    its ancestors' (a few times fewer rows than the daily ones)."""
    daily = DailyRollup.objects.filter(day__gte=start, day__lt=end)
    sums = {n: Sum(n) for n in COUNTERS}
    first = connection.ops.adapt_datefield_value(start)
    lengths = code_lengths()
    found = []
    for key in keys:
        dim = SLICE_FIELDS[key]
        areas: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(COUNTERS))
        for row in daily.values("code", *filter(None, [dim])).annotate(**sums).order_by():
            for code in lineage(row["code"], lengths):
                total = areas[(code, row.get(dim))]
                for i, name in enumerate(COUNTERS):
                    total[i] += row[name] or 0
        for (code, value), counts in areas.items():
            if code in grid_ids:  # a code with no grid (never, but for a half-imported tree)
                found.append(
                    (
                        span,
                        first,
                        key,
                        grid_ids[code],
                        code,
                        value if key == "category" else None,
                        value if key == "channel" else "",
                        value if key == "department" else None,
                        *counts,
                    )
                )
    return found


def _day_slices(start: date, end: date, grid_ids: dict[str, int]) -> list[tuple]:
    """The "grid" slices of every day of [start, end) from one GROUP BY (day, code): the very
    rows `_slices("day", day, day + 1 day, ["grid"], …)` gives day by day, for a full rebuild
    (a year is 365 queries less)."""
    daily = DailyRollup.objects.filter(day__gte=start, day__lt=end)
    lengths = code_lengths()
    areas: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(COUNTERS))
    for row in daily.values("day", "code").annotate(**{n: Sum(n) for n in COUNTERS}).order_by():
        for code in lineage(row["code"], lengths):
            total = areas[(row["day"], code)]
            for i, name in enumerate(COUNTERS):
                total[i] += row[name] or 0
    adapt = connection.ops.adapt_datefield_value
    return [
        ("day", adapt(day), "grid", grid_ids[code], code, None, "", None, *counts)
        for (day, code), counts in areas.items()
        if code in grid_ids
    ]


@transaction.atomic
def rebuild_slices(days, *, whole_span: bool = False) -> int:
    """Sum the daily rows again for these days (key "grid") and their months (every key, and
    the people's rows). `whole_span` (the full rebuild, a month of consecutive days at a time)
    sums all the days' grid slices in one query when the days are one unbroken run."""
    days = sorted(set(days))
    months = sorted({d.replace(day=1) for d in days})
    for chunk in range(0, len(days), 500):
        RollupSlice.objects.filter(span="day", start__in=days[chunk : chunk + 500]).delete()
    RollupSlice.objects.filter(span="month", start__in=months).delete()
    ActorRollup.objects.filter(span="month", day__in=months).delete()
    grid_ids = {code: pk for pk, code in grid_codes().items()}
    rows, people = [], []
    if whole_span and days and (days[-1] - days[0]).days == len(days) - 1:
        rows += _day_slices(days[0], days[-1] + timedelta(days=1), grid_ids)
    else:
        for day in days:
            rows += _slices("day", day, day + timedelta(days=1), ["grid"], grid_ids)
    for month in months:
        rows += _slices("month", month, _add_months(month, 1), SLICE_FIELDS, grid_ids)
        daily = ActorRollup.objects.filter(span="day", day__gte=month, day__lt=_add_months(month, 1))
        first = connection.ops.adapt_datefield_value(month)
        sums = {n: Sum(n) for n in ACTOR_COUNTERS}
        for row in daily.values("actor_id", "grid_id", "code").annotate(**sums):
            people.append(
                (
                    "month",
                    first,
                    row["actor_id"],
                    row["grid_id"],
                    row["code"],
                    *(row[n] for n in ACTOR_COUNTERS),
                )
            )
    _insert(RollupSlice, SLICE_COLUMNS, rows)
    _insert(ActorRollup, ACTOR_COLUMNS, people)
    return len(rows) + len(people)


@transaction.atomic
def rebuild_registry_figures() -> int:
    """Replace every grid's figures from the registry with those of now (visits and tagged
    people: a day's visits and the date itself change who is covered, so at every refresh);
    returns the rows written."""
    from gridgov.population.models import Household, PersonTag
    from gridgov.population.visits import grid_figures

    today = timezone.localdate()
    figures = grid_figures(Household.objects.all(), today)
    grid_ids = dict(Grid.objects.filter(code__in=figures).values_list("code", "pk"))
    visits = [GridVisitRollup(grid_id=grid_ids[code], as_of=today, **row) for code, row in figures.items()]
    tagged = (
        PersonTag.objects.filter(person__is_active=True)
        .values("grid_id", "grid__code", "tag_type_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    tags = [
        GridTagRollup(
            grid_id=row["grid_id"],
            code=row["grid__code"],
            tag_type_id=row["tag_type_id"],
            people=row["n"],
            as_of=today,
        )
        for row in tagged
    ]
    for model, rows in ((GridVisitRollup, visits), (GridTagRollup, tags)):
        model.objects.all().delete()
        model.objects.bulk_create(rows, batch_size=1000)
    return len(visits) + len(tags)


def analyze() -> None:
    """Give the planner the rollup tables' new statistics after a rebuild replaced them: with
    the old ones (an empty table, say) PostgreSQL chose index scans that filter 100,000 rows
    instead of seeking 2,000 (a district's month of categories: 481 ms, then 1.8 ms)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in (DailyRollup, RollupSlice, ActorRollup, GridVisitRollup, GridTagRollup):
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")


def _state() -> RollupState:
    state, _created = RollupState.objects.get_or_create(pk=1)
    return state


def first_day() -> date | None:
    """The first day anything was counted on: the first report or the first visit."""
    firsts = [
        local_day(Case.objects.aggregate(m=Min("reported_at"))["m"]),
        Visit.objects.aggregate(m=Min("visited_on"))["m"],
    ]
    return min((d for d in firsts if d), default=None)


def rebuild(since: date | None = None, until: date | None = None) -> int:
    """Rebuild every day from `since` (default: the first report) to `until` (default: today),
    a calendar month at a time so that memory stays flat at city scale."""
    started = timezone.now()
    since = since or first_day()
    until = until or timezone.localdate()
    # In a transaction on SQLite (the demo's build), the tables' foreign-key indexes, which no
    # query of a rebuild reads, are built once after the rows are in: the demo district's
    # 475,000 rows went in in 2.8 s instead of 6.5 s. Without a transaction nothing would bring
    # them back after a failure, so they stay.
    deferred = (bulk.indexes_deferred(DailyRollup, RollupSlice, ActorRollup, foreign_keys_only=True)
                if connection.in_atomic_block else nullcontext())
    with deferred:
        written = _rebuild_months(since, until)
    rebuild_registry_figures()
    analyze()
    state = _state()
    state.refreshed_at = state.rebuilt_at = started
    state.days_refreshed = (until - since).days + 1 if since else 0
    state.seen = []
    state.save()
    return written


def _rebuild_months(since: date | None, until: date) -> int:
    written = 0
    if since is not None:
        DailyRollup.objects.filter(day__gte=since).delete()
        ActorRollup.objects.filter(day__gte=since).delete()
        RollupSlice.objects.filter(start__gte=since.replace(day=1)).delete()
        day = since
        while day <= until:
            last = min(_add_months(day.replace(day=1), 1) - timedelta(days=1), until)
            chunk = [day + timedelta(days=n) for n in range((last - day).days + 1)]
            written += rebuild_days(chunk) + rebuild_slices(chunk, whole_span=True)
            day = last + timedelta(days=1)
    return written


class Change(NamedTuple):
    """A change a refresh reads: `mark` recognises it in a later run (a case by id and
    updated_at, so a case changed again is a new change; a log entry or a visit by id)."""

    mark: str
    at: datetime
    case_id: int | None = None
    visit_day: date | None = None


def changes_since(since: datetime) -> list[Change]:
    """Every case changed, log entry written and visit entered since `since`."""
    cases = Case.objects.filter(updated_at__gte=since).values_list("pk", "updated_at")
    logs = CaseLog.objects.filter(at__gte=since).values_list("pk", "at", "case_id")
    visits = Visit.objects.filter(created_at__gte=since).values_list("pk", "created_at", "visited_on")
    return (
        [Change(f"case {pk} {at.isoformat()}", at, case_id=pk) for pk, at in cases]
        + [Change(f"log {pk}", at, case_id=case_id) for pk, at, case_id in logs]
        + [Change(f"visit {pk}", at, visit_day=day) for pk, at, day in visits]
    )


def touched_days(changes: list[Change]) -> set[date]:
    """The days whose rows these changes may have changed (see the module docstring)."""
    days = days_of_cases({c.case_id for c in changes if c.case_id is not None})
    # A visit is recorded for its own date, which may be days before it is entered.
    return days | {c.visit_day for c in changes if c.visit_day is not None}


def days_of_cases(case_ids) -> set[date]:
    """The days whose rows these cases may sit in: their timestamps' and log entries' days."""
    days: set[date] = set()
    ids = sorted(case_ids)
    for chunk in range(0, len(ids), 1000):
        part = ids[chunk : chunk + 1000]
        for values in Case.objects.filter(pk__in=part).values_list(*TIME_FIELDS):
            days |= {local_day(v) for v in values if v}
        log_times = CaseLog.objects.filter(case_id__in=part).values_list("at", flat=True)
        days |= {local_day(at) for at in log_times}
    return days


def refresh() -> int:
    """Bring the rollups up to date: rebuild only the days touched since the last run."""
    state = _state()
    if state.refreshed_at is None:
        return rebuild()
    started = timezone.now()
    changes = changes_since(state.refreshed_at - OVERLAP)
    # The look-back reads again what the previous run read near its start: what that run
    # counted (state.seen) is not counted twice.
    counted = set(state.seen)
    days = touched_days([change for change in changes if change.mark not in counted])
    written = rebuild_days(days) + rebuild_slices(days)
    rebuild_registry_figures()
    state.seen = [change.mark for change in changes if change.at >= started - OVERLAP]
    state.refreshed_at, state.days_refreshed = started, len(days)
    state.save()
    return written
