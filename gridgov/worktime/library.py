"""The years the installed `chinesecalendar` package knows, as rows for CalendarDay.

Pure functions (no models), so the seeding migration and the seed_calendar command read
the library the same way.
"""

from datetime import date, timedelta

import chinese_calendar

# The library names holidays in English; the State Council notices, and our users, use
# these names.
CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
MAKEUP_SUFFIX = "调休"
# Far enough either side of any year the library could ship.
_PROBE_YEARS = range(1990, 2100)


def chinese_name(english: str) -> str:
    if english in CHINESE_NAMES:
        return CHINESE_NAMES[english]
    try:  # a holiday added by a newer library release carries its own Chinese name
        return chinese_calendar.Holiday(english).chinese
    except (ValueError, AttributeError):
        return english


def makeup_name(holiday: str) -> str:
    """The name of a make-up working day for `holiday`: "春节" → "春节调休"."""
    holiday = holiday.strip()
    return holiday if holiday.endswith(MAKEUP_SUFFIX) else f"{holiday}{MAKEUP_SUFFIX}"


def covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True


def library_years() -> list[int]:
    """Every year the library has data for (it raises NotImplementedError for the rest)."""
    return [year for year in _PROBE_YEARS if covers(year)]


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def library_days(year: int) -> list[tuple[date, bool, str]]:
    """(date, is_workday, Chinese name) for every day of a year the library covers."""
    rows = []
    for day in days_of(year):
        working = chinese_calendar.is_workday(day)
        # The name says which holiday a day belongs to; only is_workday says whether
        # people work (a make-up day is (False, "National Day") and working).
        _, english = chinese_calendar.get_holiday_detail(day)
        if not english:
            name = ""
        elif working:
            name = makeup_name(chinese_name(english))
        else:
            name = chinese_name(english)
        rows.append((day, working, name))
    return rows
