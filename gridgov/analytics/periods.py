"""Reporting periods: a day, an ISO week (Monday first), a month, a quarter, a year, or a custom
[start, end) range of dates, always in the platform's time zone (Asia/Shanghai).

A period knows the period before it of the same kind and length, which every "movement since
the last period" compares against. `parse(params)` reads the query string of a page or API
call and raises ValidationError({field: message}) for what is wrong.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

KINDS = ("day", "week", "month", "quarter", "year", "custom")
MAX_CUSTOM_YEARS = 10  # a wider range is a mistake, not a report


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _add_years(day: date, years: int) -> date:
    """The same day `years` later (a 29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day, inclusive
    end: date  # the day after the last one (exclusive)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes at local midnight."""
        tz = timezone.get_default_timezone()
        return datetime.combine(self.start, time.min, tz), datetime.combine(self.end, time.min, tz)

    def split_by_month(self) -> tuple[list[date], list[tuple[date, date]]]:
        """The whole calendar months inside the period (their first days), and the [start, end)
        ranges of days left over: at most one before the months and one after them."""
        months: list[date] = []
        days: list[tuple[date, date]] = []
        cursor = self.start
        while cursor < self.end:
            following = _add_months(cursor.replace(day=1), 1)
            if cursor.day == 1 and following <= self.end:
                months.append(cursor)
            elif days and days[-1][1] == cursor:
                days[-1] = (days[-1][0], min(following, self.end))
            else:
                days.append((cursor, min(following, self.end)))
            cursor = min(following, self.end)
        return months, days

    def previous(self) -> "Period":
        """The period just before: the previous month for a month, the same length for a custom range."""
        if self.kind in ("month", "quarter", "year"):
            months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
            return Period(self.kind, _add_months(self.start, -months), self.start)
        return Period(self.kind, self.start - timedelta(days=self.days), self.start)

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if self.kind == "day":
            return f"{self.start:%Y-%m-%d}"
        if self.kind == "week":
            year, week, _weekday = self.start.isocalendar()
            return _("%(year)s week %(week)s") % {"year": year, "week": week}
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year} Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start:%Y-%m-%d} – {last:%Y-%m-%d}"

    def query(self) -> dict[str, str]:
        """The query parameters that name this period again (for links)."""
        if self.kind == "custom":
            return {"period": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}
        return {"period": self.kind, "date": self.start.isoformat()}

    def as_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end, "label": self.label}


def period_of(kind: str, day: date) -> Period:
    """The period of this kind that contains `day`."""
    if kind == "day":
        return Period(kind, day, day + timedelta(days=1))
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=7))
    if kind == "month":
        first = day.replace(day=1)
        return Period(kind, first, _add_months(first, 1))
    if kind == "quarter":
        first = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Period(kind, first, _add_months(first, 3))
    if kind == "year":
        return Period(kind, date(day.year, 1, 1), date(day.year + 1, 1, 1))
    raise ValueError(kind)


def _date(params, field: str, errors: dict) -> date | None:
    raw = (params.get(field) or "").strip()
    if not raw:
        return None
    try:
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None:
        errors[field] = _("Enter a date as YYYY-MM-DD.")
    return value


def parse(params, default_kind: str = "month") -> Period:
    """A period from query parameters: period (day|week|month|quarter|year|custom) with date,
    or period=custom with start and end ([start, end): end is the day after the last)."""
    errors: dict[str, str] = {}
    kind = (params.get("period") or default_kind).strip()
    if kind not in KINDS:
        errors["period"] = _("Choose day, week, month, quarter, year or custom.")
    if kind == "custom":
        start, end = _date(params, "start", errors), _date(params, "end", errors)
        if start is None and "start" not in errors:
            errors["start"] = _("Enter the first day.")
        if end is None and "end" not in errors:
            errors["end"] = _("Enter the day after the last day.")
        if start and end and end <= start:
            errors["end"] = _("The end must be after the start.")
        elif start and end and end > _add_years(start, MAX_CUSTOM_YEARS):
            errors["end"] = _("Choose at most ten years.")
        if errors:
            raise ValidationError(errors)
        return Period("custom", start, end)
    day = _date(params, "date", errors)
    if errors:
        raise ValidationError(errors)
    return period_of(kind, day or timezone.localdate())
