"""The working calendar's rules: writing it, and counting time limits with it.

Writes (seeding from the library, importing a year's State Council notice, editing a
day, office hours) each run in one transaction and bump `CalendarState.version`, which
every process's cache (worktime/cache.py) compares before reusing what it loaded.

Deadlines are timezone-aware datetimes in settings.TIME_ZONE (Asia/Shanghai). A day of
a year without a calendar counts by the weekday rule and makes the answer provisional:
the State Council publishes each year's holidays only late in the year before.
"""

import math
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.worktime import cache, library
from gridgov.worktime.models import (
    CalendarDay,
    CalendarState,
    CalendarYear,
    OfficeHours,
    Source,
    TimeUnit,
    validate_periods,
)
from gridgov.worktime.notice import Notice, notice_from_days, parse_notice

ONE_DAY = timedelta(days=1)
WORKING_UNITS = {TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS}
# Years a notice can plausibly be for; anything else is a typing mistake.
FIRST_YEAR, LAST_YEAR = 2000, 2100
NAME_LENGTH = CalendarDay._meta.get_field("name").max_length


# --- writing the calendar ---------------------------------------------------------------

def bump_version() -> None:
    """Tell every process that caches the calendar to reload it."""
    # A random token, not a counter: a rolled-back write can never leave a process
    # holding data under a version number that comes round again. Writers call this first
    # in their transaction: the row lock it takes makes concurrent calendar writes queue.
    CalendarState.objects.update_or_create(pk=1, defaults={"version": secrets.randbits(62)})
    # Now, so this transaction reads its own writes; and at commit, because a reader in
    # between may have cached the old rows under the new version.
    cache.invalidate()
    transaction.on_commit(cache.invalidate)


@dataclass
class YearPlan:
    """A checked year, ready to write: every day, and what it replaces."""

    year: int
    source: str
    days: list[CalendarDay]
    replaces: str | None = None  # the source of the stored year it replaces

    @property
    def working_days(self) -> int:
        return sum(day.is_workday for day in self.days)

    @property
    def days_off(self) -> int:
        return len(self.days) - self.working_days

    @property
    def replaces_label(self) -> str:
        return str(Source(self.replaces).label) if self.replaces else ""

    @property
    def notice(self) -> Notice:
        """The year's holiday ranges and make-up days, to show what will be written."""
        return notice_from_days((day.date, day.is_workday, day.name) for day in self.days)


class _Problems:
    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, field_name: str, message: str) -> None:
        self.fields.setdefault(field_name, []).append(message)

    def raise_any(self) -> None:
        if self.fields:
            raise ValidationError(self.fields)


def _is_date(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _check_holidays(year: int, holidays, problems: _Problems) -> dict[date, str]:
    """The days off the ranges give, date → holiday name."""
    off: dict[date, str] = {}
    for start, end, raw_name in holidays:
        name = (raw_name or "").strip()
        if not (_is_date(start) and _is_date(end)):
            problems.add("holidays", _("%(start)s..%(end)s: give dates.") % {"start": start, "end": end})
            continue
        where = f"{start.isoformat()}..{end.isoformat()}"
        if start.year != year or end.year != year:
            problems.add("holidays", _("%(range)s is not within %(year)d.") % {"range": where, "year": year})
        elif end < start:
            problems.add("holidays", _("%(range)s ends before it starts.") % {"range": where})
        elif len(name) > NAME_LENGTH:
            problems.add("holidays", _("%(range)s: the name is too long.") % {"range": where})
        else:
            day = start
            while day <= end:
                if day in off:
                    problems.add("holidays", _("%(date)s is in two holiday ranges.") % {"date": day})
                off[day] = name
                day += ONE_DAY
    return off


def _check_makeup_days(year: int, makeup_workdays, off: dict[date, str],
                       problems: _Problems) -> dict[date, str]:
    """The make-up working days, date → stored name ("春节调休")."""
    work: dict[date, str] = {}
    for day, raw_name in makeup_workdays:
        name = library.makeup_name(raw_name or "")
        if not _is_date(day):
            problems.add("makeup_workdays", _("%(value)s: give a date.") % {"value": day})
        elif day.year != year:
            problems.add("makeup_workdays", _("%(date)s is not within %(year)d.")
                         % {"date": day, "year": year})
        elif day.weekday() < 5:
            problems.add("makeup_workdays", _("%(date)s is a weekday: only a Saturday or Sunday can be a "
                                              "make-up working day.") % {"date": day})
        elif day in work:
            problems.add("makeup_workdays", _("%(date)s is listed twice.") % {"date": day})
        elif day in off:
            problems.add("makeup_workdays", _("%(date)s is both a holiday and a make-up working day.")
                         % {"date": day})
        elif len(name) > NAME_LENGTH:
            problems.add("makeup_workdays", _("%(date)s: the name is too long.") % {"date": day})
        else:
            work[day] = name
    return work


def plan_year(year: int, holidays: Iterable[tuple[date, date, str]],
              makeup_workdays: Iterable[tuple[date, str]], source: str = Source.NOTICE) -> YearPlan:
    """Check a year's notice and work out all its days, writing nothing.

    Weekdays work and weekends rest, except the holiday ranges (off) and the make-up
    days (working). Raises ValidationError with messages by field.
    """
    problems = _Problems()
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        problems.add("year", _("Give a year between %(first)d and %(last)d.")
                     % {"first": FIRST_YEAR, "last": LAST_YEAR})
    if source not in Source.values:
        problems.add("source", _("Source must be one of: %s.") % ", ".join(Source.values))
    problems.raise_any()
    off = _check_holidays(year, list(holidays), problems)
    work = _check_makeup_days(year, list(makeup_workdays), off, problems)
    problems.raise_any()
    days = []
    for day in library.days_of(year):
        if day in work:
            days.append(CalendarDay(date=day, is_workday=True, name=work[day], source=source))
        elif day in off:
            days.append(CalendarDay(date=day, is_workday=False, name=off[day], source=source))
        else:
            days.append(CalendarDay(date=day, is_workday=day.weekday() < 5, name="", source=source))
    replaces = CalendarYear.objects.filter(year=year).values_list("source", flat=True).first()
    return YearPlan(year, source, days, replaces)


def import_year(year: int, holidays: Iterable[tuple[date, date, str]],
                makeup_workdays: Iterable[tuple[date, str]], source: str = Source.NOTICE) -> YearPlan:
    """Replace a year of the calendar with its notice, all or nothing (see plan_year)."""
    plan = plan_year(year, holidays, makeup_workdays, source)
    with transaction.atomic():
        bump_version()
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarDay.objects.bulk_create(plan.days)
        CalendarYear.objects.update_or_create(year=year, defaults={"source": source})
    return plan


def import_notice_text(year: int, text: str, source: str = Source.NOTICE, dry_run: bool = False) -> YearPlan:
    """Parse the notice text format (worktime/notice.py) and check it, or import it.

    Problems in the text are reported under "text", naming each line.
    """
    try:
        notice = parse_notice(text)
    except ValidationError as exc:
        raise ValidationError({"text": exc.messages}) from None
    write = plan_year if dry_run else import_year
    return write(year, notice.holidays, notice.makeup_workdays, source)


def year_as_notice(year: int) -> Notice:
    """A stored year as notice entries; importing them gives the same days back, so a
    prefilled form lets an administrator correct a year instead of typing it again."""
    rows = CalendarDay.objects.filter(date__year=year).order_by("date")
    return notice_from_days(rows.values_list("date", "is_workday", "name"))


def delete_year(year: int) -> None:
    """Forget a year: its deadlines go back to the provisional weekday rule."""
    with transaction.atomic():
        bump_version()
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarYear.objects.filter(year=year).delete()


def set_day(day: date, is_workday: bool, name: str) -> CalendarDay:
    """An administrator's correction of one day; re-seeding from the library keeps it."""
    if not CalendarYear.objects.filter(year=day.year).exists():
        raise ValidationError({"date": _("%(year)d has no calendar yet: import the year first.")
                               % {"year": day.year}})
    with transaction.atomic():
        bump_version()
        row, _created = CalendarDay.objects.update_or_create(
            date=day, defaults={"is_workday": is_workday, "name": name.strip(), "source": Source.ADMIN})
    return row


def save_office_hours(periods: list[list[str]]) -> OfficeHours:
    validate_periods(periods)
    with transaction.atomic():
        bump_version()
        hours, _created = OfficeHours.objects.update_or_create(pk=1, defaults={"periods": periods})
    return hours


@dataclass
class SeedReport:
    loaded: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # imported from a notice or by an admin


def _seed_year(year: int, stored_year: CalendarYear | None) -> bool:
    """Load one library year unless it is already as the library says; True if written."""
    stored = {d: (w, n, s) for d, w, n, s in CalendarDay.objects.filter(date__year=year)
              .values_list("date", "is_workday", "name", "source")}
    kept = {d for d, row in stored.items() if row[2] == Source.ADMIN}
    wanted = [CalendarDay(date=d, is_workday=w, name=n, source=Source.LIBRARY)
              for d, w, n in library.library_days(year) if d not in kept]
    if stored_year is not None and len(stored) == len(wanted) + len(kept) and all(
            stored.get(row.date) == (row.is_workday, row.name, Source.LIBRARY) for row in wanted):
        return False
    CalendarDay.objects.filter(date__year=year).exclude(source=Source.ADMIN).delete()
    CalendarDay.objects.bulk_create(wanted)
    CalendarYear.objects.update_or_create(year=year, defaults={"source": Source.LIBRARY})
    return True


def seed_from_library() -> SeedReport:
    """(Re)load every year the chinesecalendar library covers.

    Years imported from a notice or entered by an administrator are left alone, and so
    are days an administrator edited within a library year.
    """
    report = SeedReport()
    with transaction.atomic():
        # Lock the version row, as the other writers do, without changing the version
        # (an unchanged calendar should not make every process reload it).
        list(CalendarState.objects.select_for_update().filter(pk=1))
        stored_years = CalendarYear.objects.in_bulk()
        for year in library.library_years():
            stored_year = stored_years.get(year)
            if stored_year is not None and stored_year.source != Source.LIBRARY:
                report.skipped.append(year)
            elif _seed_year(year, stored_year):
                report.loaded.append(year)
            else:
                report.unchanged.append(year)
        if report.loaded:
            bump_version()
    return report


# --- asking the calendar ----------------------------------------------------------------

def is_workday(day: date) -> tuple[bool, bool]:
    """(working?, provisional?) for a date, or for an aware datetime's local date."""
    if isinstance(day, datetime):
        day = _local(day).date()
    return _workday(cache.snapshot(), day)


def _workday(snapshot: cache.Snapshot, day: date) -> tuple[bool, bool]:
    flag = snapshot.day_flag(day)
    if flag is None:
        return day.weekday() < 5, True
    return flag, False


def missing_years(years: Iterable[int]) -> list[int]:
    """The given years that have no calendar, in order."""
    wanted = sorted(set(years))
    covered = set(CalendarYear.objects.filter(year__in=wanted).values_list("year", flat=True))
    return [year for year in wanted if year not in covered]


def _today() -> date:
    return timezone.localdate()


def default_import_year() -> int:
    """The year an administrator most likely has a notice for: the first of this year and
    next that has no calendar, else next year."""
    this_year = _today().year
    missing = missing_years([this_year, this_year + 1])
    return missing[0] if missing else this_year + 1


def calendar_warnings() -> list[str]:
    """What an administrator must hear: this year or next has no calendar."""
    this_year = _today().year
    return [_("The working calendar has no holidays for %(year)d: deadlines in %(year)d count "
              "weekdays only and are marked provisional. Import the State Council's holiday "
              "notice for %(year)d (Working calendar → Calendar years → Import a year).")
            % {"year": year} for year in missing_years([this_year, this_year + 1])]


def warn_if_uncovered(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """System check worktime.W001, a database check: `gridgov check --database default` and
    `gridgov migrate` run it; like Django's own, it does nothing when no database is given."""
    if not databases or "default" not in databases:
        return []
    if app_configs is not None and not any(c.name == "gridgov.worktime" for c in app_configs):
        return []
    try:
        messages = calendar_warnings()
    except DatabaseError:
        return []  # before the first migrate there is no calendar table to look at
    hint = _("Run `gridgov import_calendar YEAR notice.txt`, or use the admin's import page.")
    return [checks.Warning(message, hint=hint, id="worktime.W001") for message in messages]


# --- deadline arithmetic ----------------------------------------------------------------

@dataclass(frozen=True)
class Deadline:
    at: datetime
    provisional: bool  # some day counted is in a year with no calendar yet


def _local(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("deadline arithmetic needs timezone-aware datetimes")
    return moment.astimezone(timezone.get_default_timezone())


# Aware datetimes sharing a tzinfo add and subtract as wall-clock times; going through
# UTC keeps elapsed time exact in any zone (Asia/Shanghai has no DST today).
def _span(earlier: datetime, later: datetime) -> timedelta:
    return later.astimezone(UTC) - earlier.astimezone(UTC)


def _plus(moment: datetime, delta: timedelta) -> datetime:
    return (moment.astimezone(UTC) + delta).astimezone(timezone.get_default_timezone())


# The functions below take one snapshot of the calendar per call, so a long walk costs
# no version checks and sees one consistent calendar.

def _office_periods(snapshot: cache.Snapshot, day: date) -> list[tuple[datetime, datetime]]:
    zone = timezone.get_default_timezone()
    return [(datetime.combine(day, start, zone), datetime.combine(day, end, zone))
            for start, end in snapshot.periods]


def _office_time_from(snapshot: cache.Snapshot, start: datetime) -> Iterator[tuple[datetime, datetime, bool]]:
    """Office intervals from `start` on, each with whether any day so far was provisional."""
    day, provisional = start.date(), False
    while True:
        working, day_provisional = _workday(snapshot, day)
        provisional = provisional or day_provisional
        if working:
            for begin, end in _office_periods(snapshot, day):
                if end > start:
                    yield max(begin, start), end, provisional
        day += ONE_DAY


def _add_office_time(snapshot: cache.Snapshot, start: datetime, amount: timedelta) -> Deadline:
    remaining = amount
    for begin, end, provisional in _office_time_from(snapshot, start):
        available = _span(begin, end)
        if remaining <= available:
            return Deadline(_plus(begin, remaining), provisional)
        remaining -= available


# TimeUnit.values builds a new list on every call; deadlines are computed in bulk (rollups).
UNITS = frozenset(TimeUnit.values)


def _add_working_days(snapshot: cache.Snapshot, start: datetime, count: int) -> Deadline:
    # A start outside office hours counts from the next office period, so the day the
    # matter reaches the office is day 0 and the limit ends with the count-th working
    # day after it, when its last office period closes.
    first_begin, _end, provisional = next(_office_time_from(snapshot, start))
    day, counted = first_begin.date(), 0
    while counted < count:
        day += ONE_DAY
        working, day_provisional = _workday(snapshot, day)
        provisional = provisional or day_provisional
        counted += working
    return Deadline(_office_periods(snapshot, day)[-1][1], provisional)


def _check_amount(amount, unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown time unit {unit!r}; use one of {', '.join(TimeUnit.values)}")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
        raise ValueError(f"the amount must be a number, not {amount!r}")
    if amount < 0:
        raise ValueError("the amount must not be negative")
    if unit == TimeUnit.WORKING_DAYS and amount != int(amount):
        raise ValueError("working days must be a whole number")


def add_time(start: datetime, amount: int | float, unit: str) -> Deadline:
    """The deadline `amount` units after `start` (an aware datetime), in local time.

    minutes, natural_hours: elapsed time. natural_days: the same clock time that many
    days later. working_hours: office time on working days, counted from `start` or, out
    of hours, from the next office period. working_days: the close of office on the
    amount-th working day after the day the matter reaches the office.
    """
    _check_amount(amount, unit)
    local = _local(start)
    if unit == TimeUnit.MINUTES:
        return Deadline(_plus(local, timedelta(minutes=amount)), False)
    if unit == TimeUnit.NATURAL_HOURS:
        return Deadline(_plus(local, timedelta(hours=amount)), False)
    if unit == TimeUnit.NATURAL_DAYS:
        return Deadline(local + timedelta(days=amount), False)  # wall-clock: same time of day
    if unit == TimeUnit.WORKING_HOURS:
        return _add_office_time(cache.snapshot(), local, timedelta(hours=amount))
    return _add_working_days(cache.snapshot(), local, int(amount))


def working_seconds_between(a: datetime, b: datetime) -> float:
    """Office time on working days between two instants (0 when b is not after a)."""
    start, end = _local(a), _local(b)
    snapshot, total, day = cache.snapshot(), timedelta(0), start.date()
    while start < end and day <= end.date():
        if _workday(snapshot, day)[0]:
            for begin, close in _office_periods(snapshot, day):
                low, high = max(begin, start), min(close, end)
                if high > low:
                    total += _span(low, high)
        day += ONE_DAY
    return total.total_seconds()


def elapsed_share(start: datetime, deadline: datetime, now: datetime, unit: str) -> float:
    """How much of a time limit has been used: 0 at the start, 1 at the deadline, more
    when overdue. Working units measure office time, natural units plain time."""
    if unit not in TimeUnit.values:
        raise ValueError(f"unknown time unit {unit!r}")
    if unit in WORKING_UNITS:
        total, used = working_seconds_between(start, deadline), working_seconds_between(start, now)
    else:
        total, used = _span(start, deadline).total_seconds(), max(0.0, _span(start, now).total_seconds())
    if total <= 0:
        return 1.0 if now >= deadline else 0.0
    return used / total
