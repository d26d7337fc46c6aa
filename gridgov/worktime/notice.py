"""The text format in which an administrator types a year's State Council notice.

One entry a line; `#` starts a comment:

    2027-01-01..2027-01-03 元旦
    2027-02-06..2027-02-13 春节
    2027-02-14 调休上班 春节

A date or a range `start..end` (both ends included), then the holiday's name. A line
holding the word 调休上班 (or 补班, or "workday") is a make-up working day instead; the
rest of the line names the holiday it makes up for.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from gridgov.worktime.library import MAKEUP_SUFFIX

MAKEUP_WORDS = {"调休上班", "补班", "workday"}
_RANGE_SPACES = re.compile(r"\s*\.\.\s*")


@dataclass
class Notice:
    holidays: list[tuple[date, date, str]] = field(default_factory=list)
    makeup_workdays: list[tuple[date, str]] = field(default_factory=list)


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(_("“%(text)s” is not a date; write YYYY-MM-DD.") % {"text": text}) from None


def _parse_line(line: str, notice: Notice) -> None:
    first, *rest = _RANGE_SPACES.sub("..", line).split()
    start_text, _dots, end_text = first.partition("..")
    start = _parse_date(start_text)
    end = _parse_date(end_text) if _dots else start
    if end < start:
        raise ValueError(_("the range ends before it starts."))
    makeup = any(word.lower() in MAKEUP_WORDS for word in rest)
    name = " ".join(word for word in rest if word.lower() not in MAKEUP_WORDS)
    if not makeup:
        notice.holidays.append((start, end, name))
        return
    day = start
    while day <= end:  # a range of make-up days is rare, but means each of its days
        notice.makeup_workdays.append((day, name))
        day += timedelta(days=1)


def parse_notice(text: str) -> Notice:
    """The entries of the text; a ValidationError lists every bad line with its number."""
    notice, problems = Notice(), []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            _parse_line(line, notice)
        except ValueError as exc:
            problems.append(_("Line %(n)d “%(text)s”: %(problem)s")
                            % {"n": number, "text": raw.strip(), "problem": exc})
    if problems:
        raise ValidationError(problems)
    return notice


def format_notice(notice: Notice) -> str:
    """The text that parse_notice reads back into the same entries."""
    lines = []
    for start, end, name in notice.holidays:
        dates = start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
        lines.append(f"{dates} {name}".rstrip())
    for day, name in notice.makeup_workdays:
        holiday = name.removesuffix(MAKEUP_SUFFIX)
        lines.append(f"{day.isoformat()} 调休上班 {holiday}".rstrip())
    return "\n".join(lines) + "\n" if lines else ""


def notice_from_days(days: Iterable[tuple[date, bool, str]]) -> Notice:
    """The entries that describe a year's days, given in date order as (date, working, name):
    named days off (and weekdays off) grouped into ranges, and weekend working days."""
    notice = Notice()
    for day, working, name in days:
        weekend = day.weekday() >= 5
        if working and weekend:
            notice.makeup_workdays.append((day, name))
        elif not working and (name or not weekend):
            last = notice.holidays[-1] if notice.holidays else None
            if last and last[2] == name and last[1] + timedelta(days=1) == day:
                notice.holidays[-1] = (last[0], day, name)
            else:
                notice.holidays.append((day, day, name))
    return notice
