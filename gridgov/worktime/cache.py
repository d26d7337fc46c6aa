"""This process's copy of the working calendar and office hours.

Deadline arithmetic asks about one day at a time, often thousands of times per request,
so each process keeps the calendar in memory, loaded a year at a time on first use. It
compares `CalendarState.version` with the database at most every
GRIDGOV_CALENDAR_CHECK_SECONDS (default 2) and starts afresh when it changed, so an
import in one process reaches all the others; writes in this process call invalidate().
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from datetime import time as clock

from django.conf import settings

from gridgov.worktime.library import days_of
from gridgov.worktime.models import (
    CalendarDay,
    CalendarState,
    CalendarYear,
    OfficeHours,
    default_office_periods,
)

DEFAULT_CHECK_SECONDS = 2.0


@dataclass
class Snapshot:
    version: int
    periods: tuple[tuple[clock, clock], ...]
    # year → the is_workday flag of each day of the year (None: the year is not covered)
    years: dict[int, tuple[bool | None, ...] | None] = field(default_factory=dict)

    def year(self, year: int) -> tuple[bool | None, ...] | None:
        if year not in self.years:
            # Two threads may both load a missing year; they load the same rows and the
            # dict assignment is atomic, so no lock is needed here.
            self.years[year] = _load_year(year)
        return self.years[year]

    def day_flag(self, day: date) -> bool | None:
        """The stored is_workday of a day, or None when its year is not covered."""
        flags = self.year(day.year)
        return None if flags is None else flags[day.timetuple().tm_yday - 1]


def _load_year(year: int) -> tuple[bool | None, ...] | None:
    if not CalendarYear.objects.filter(year=year).exists():
        return None
    flags = dict(CalendarDay.objects.filter(date__year=year).values_list("date", "is_workday"))
    # A day missing from a covered year should not happen; None lets the caller fall back
    # to the weekday rule and say the answer is provisional.
    return tuple(flags.get(day) for day in days_of(year))


def _load_periods() -> tuple[tuple[clock, clock], ...]:
    periods = OfficeHours.objects.filter(pk=1).values_list("periods", flat=True).first()
    return tuple((clock.fromisoformat(start), clock.fromisoformat(end))
                 for start, end in periods or default_office_periods())


def current_version() -> int:
    return CalendarState.objects.filter(pk=1).values_list("version", flat=True).first() or 0


_lock = threading.Lock()
_snapshot: Snapshot | None = None
_checked_at = 0.0


def _check_seconds() -> float:
    return float(getattr(settings, "GRIDGOV_CALENDAR_CHECK_SECONDS", DEFAULT_CHECK_SECONDS))


def snapshot() -> Snapshot:
    """This process's calendar, started afresh if another process changed it."""
    global _snapshot, _checked_at
    current = _snapshot
    if current is not None and time.monotonic() - _checked_at < _check_seconds():
        return current
    with _lock:
        version = current_version()
        if _snapshot is None or _snapshot.version != version:
            _snapshot = Snapshot(version, _load_periods())
        _checked_at = time.monotonic()
        return _snapshot


def invalidate() -> None:
    """Drop this process's calendar (after a local write, and again when it commits)."""
    global _snapshot, _checked_at
    with _lock:
        _snapshot = None
        _checked_at = 0.0

