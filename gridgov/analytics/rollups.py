"""Building the daily rollups: whole days at a time, from the raw cases.

Each counter of a case is counted on the local day of one timestamp (kpis.counter_rules):
reported_at, registered_at, dispatched_at or rated_at; returns on the day of the return
entry. Every value those timestamps ever had is the time of a CaseLog entry, so the days
whose rows a changed case may sit in are its report day and the days of its log entries.
`refresh()` (a huey periodic task) rebuilds just those days for the cases changed since the
last run; `rebuild()` (`gridgov rollup --rebuild [--since DATE]`) rebuilds every day.

The counting is plain Python over `values_list` rows, the same on SQLite and PostgreSQL.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from gridgov.analytics.kpis import PUBLIC_CHANNELS, SATISFIED, TIME_FIELDS, empty_counts, return_department
from gridgov.analytics.models import DailyRollup, RollupState
from gridgov.cases.models import Case, CaseLog

S = Case.State
# A transaction may commit a little after its `now`: look back this far past the last run.
OVERLAP = timedelta(minutes=10)
CHUNK_DAYS = 31
FIELDS = ("grid_id", "category_id", "channel", "department_id", "state", "handled_on_time", "rating",
          "rework_count", "extension_count", "handled_at", *TIME_FIELDS)


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


def aggregate_days(days) -> dict[tuple, dict[str, int]]:
    """{(day, grid, category, channel, department): counters} for exactly these days."""
    days = set(days)
    ranges = _ranges(list(days))
    touched = Q(pk__in=[])
    for name in TIME_FIELDS:
        touched |= _within(name, ranges)
    rows: dict[tuple, dict[str, int]] = defaultdict(empty_counts)
    for case in Case.objects.filter(touched).values(*FIELDS).iterator(chunk_size=5000):
        dims = (case["grid_id"], case["category_id"], case["channel"], case["department_id"])
        for day, counter in case_counts(case):
            if day in days:
                rows[(day, *dims)][counter] += 1
    returns = (CaseLog.objects.filter(_within("at", ranges), action="return")
               .values_list("at", "case__grid_id", "case__category_id", "case__channel", "data"))
    for at, grid_id, category_id, channel, data in returns.iterator(chunk_size=5000):
        rows[(local_day(at), grid_id, category_id, channel, return_department(data))]["returns"] += 1
    return rows


@transaction.atomic
def rebuild_days(days) -> int:
    """Replace the rows of these days with fresh counts; returns the number of rows written."""
    days = sorted(set(days))
    if not days:
        return 0
    for chunk in range(0, len(days), 500):
        DailyRollup.objects.filter(day__in=days[chunk:chunk + 500]).delete()
    rows = [DailyRollup(day=key[0], grid_id=key[1], category_id=key[2], channel=key[3], department_id=key[4],
                        **counts)
            for key, counts in aggregate_days(days).items() if any(counts.values())]
    DailyRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _state() -> RollupState:
    state, _created = RollupState.objects.get_or_create(pk=1)
    return state


def first_day() -> date | None:
    first = Case.objects.aggregate(m=Min("reported_at"))["m"]
    return local_day(first)


def rebuild(since: date | None = None, until: date | None = None) -> int:
    """Rebuild every day from `since` (default: the first report) to `until` (default: today),
    a month at a time so that memory stays flat at city scale."""
    started = timezone.now()
    since = since or first_day()
    until = until or timezone.localdate()
    written = 0
    if since is not None:
        DailyRollup.objects.filter(day__gte=since).delete()
        day = since
        while day <= until:
            chunk = [day + timedelta(days=n) for n in range(CHUNK_DAYS) if day + timedelta(days=n) <= until]
            written += rebuild_days(chunk)
            day = chunk[-1] + timedelta(days=1)
    state = _state()
    state.refreshed_at = state.rebuilt_at = started
    state.days_refreshed = (until - since).days + 1 if since else 0
    state.save()
    return written


def touched_days(since: datetime) -> set[date]:
    """The days whose rows may have changed since `since` (see the module docstring)."""
    changed = set(Case.objects.filter(updated_at__gte=since).values_list("pk", flat=True))
    changed |= set(CaseLog.objects.filter(at__gte=since).values_list("case_id", flat=True))
    days: set[date] = set()
    ids = sorted(changed)
    for chunk in range(0, len(ids), 1000):
        part = ids[chunk:chunk + 1000]
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
    days = touched_days(state.refreshed_at - OVERLAP)
    written = rebuild_days(days)
    state.refreshed_at, state.days_refreshed = started, len(days)
    state.save()
    return written
