"""The working calendar: which days are working days, and the office hours of each.

A year is "covered" when it has a `CalendarYear` row; then every one of its days has a
`CalendarDay` row. Years without one are answered by the weekday rule and marked
provisional (see services.is_workday). `CalendarState.version` changes on every write so
each process's cache of the calendar (worktime/calendar.py) knows when to reload.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_OFFICE_PERIODS = [["08:30", "12:00"], ["13:30", "17:30"]]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def default_office_periods() -> list[list[str]]:
    return [list(period) for period in DEFAULT_OFFICE_PERIODS]


def validate_periods(value) -> None:
    """Office periods: at least one ["HH:MM", "HH:MM"] pair, each ending after it starts,
    in order of the day and not overlapping."""
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Give at least one office period, e.g. [[\"08:30\", \"12:00\"]]."))
    problems = []
    previous_end = None
    for number, period in enumerate(value, start=1):
        if (not isinstance(period, list | tuple) or len(period) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in period)):
            problems.append(_("Period %(n)d must be two times written HH:MM, e.g. [\"08:30\", \"12:00\"].")
                            % {"n": number})
            previous_end = None
            continue
        start, end = period  # HH:MM strings compare in time order
        if start >= end:
            problems.append(_("Period %(n)d ends before it starts.") % {"n": number})
        elif previous_end is not None and start < previous_end:
            problems.append(_("Period %(n)d overlaps or precedes the one before it.") % {"n": number})
        previous_end = end
    if problems:
        raise ValidationError(problems)


class Source(models.TextChoices):
    """Where calendar data came from."""

    LIBRARY = "library", _("chinesecalendar library")
    NOTICE = "notice", _("State Council notice")
    ADMIN = "admin", _("Entered by an administrator")


class TimeUnit(models.TextChoices):
    """The units a time limit can be given in (services.add_time)."""

    MINUTES = "minutes", _("minutes")
    NATURAL_HOURS = "natural_hours", _("hours")
    NATURAL_DAYS = "natural_days", _("calendar days")
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")


class CalendarDay(models.Model):
    """One day of a covered year: working or not, and the holiday it belongs to."""

    # A day of an imported notice is marked "notice" like its year; "admin" marks a day
    # edited by hand, which re-seeding from the library keeps.
    date = models.DateField(_("date"), primary_key=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=64, blank=True,
                            help_text=_("The holiday, or \"<holiday>调休\" for a make-up working day."))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.LIBRARY)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}".strip()


class CalendarYear(models.Model):
    """A year whose every day is in CalendarDay."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    loaded_at = models.DateTimeField(_("loaded"), auto_now=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class OfficeHours(models.Model):
    """The single row (pk=1) of office periods, local times of settings.TIME_ZONE."""

    periods = models.JSONField(
        _("office periods"), default=default_office_periods, validators=[validate_periods],
        help_text=_("A list of [start, end] pairs, HH:MM, in order, e.g. "
                    "[[\"08:30\", \"12:00\"], [\"13:30\", \"17:30\"]]."))

    class Meta:
        verbose_name = _("office hours")
        verbose_name_plural = _("office hours")

    def __str__(self) -> str:
        return ", ".join(f"{start}–{end}" for start, end in self.periods)


class CalendarState(models.Model):
    """A single row whose version token changes whenever the calendar or office hours change."""

    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("calendar state")

    def __str__(self) -> str:
        return f"calendar version {self.version}"
