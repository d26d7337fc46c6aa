from datetime import UTC, datetime, timedelta

import pytest

from gridgov.worktime import services
from gridgov.worktime.models import CalendarDay, CalendarState
from gridgov.worktime.services import Deadline, add_time, elapsed_share, is_workday, working_seconds_between
from gridgov.worktime.tests.helpers import NOTICE_2027, SHANGHAI, at, d

pytestmark = pytest.mark.django_db

HOUR = 3600


# --- working days and the National Day 2026 holiday -----------------------------------

def test_is_workday_follows_the_2026_calendar():
    assert is_workday(d("2026-10-01")) == (False, False)  # 国庆节, a Thursday
    assert is_workday(d("2026-10-10")) == (True, False)  # Saturday, make-up working day
    assert is_workday(d("2026-09-20")) == (True, False)  # Sunday, make-up working day
    assert is_workday(d("2026-10-11")) == (False, False)  # an ordinary Sunday
    assert is_workday(d("2026-10-08")) == (True, False)
    assert is_workday(at(2026, 10, 10, 9)) == (True, False)  # an aware datetime: its local date


def test_working_days_skip_national_day_and_count_its_makeup_saturday():
    start = at(2026, 9, 29, 10)  # Tuesday, in office hours: day 0 is the 29th
    assert add_time(start, 1, "working_days") == Deadline(at(2026, 9, 30, 17, 30), False)
    # 30 Sep is day 1; 1–7 Oct are off; 8 and 9 Oct are days 2 and 3; Saturday 10 Oct works.
    assert add_time(start, 2, "working_days").at == at(2026, 10, 8, 17, 30)
    assert add_time(start, 3, "working_days").at == at(2026, 10, 9, 17, 30)
    assert add_time(start, 4, "working_days").at == at(2026, 10, 10, 17, 30)
    assert add_time(start, 5, "working_days").at == at(2026, 10, 12, 17, 30)


def test_a_start_out_of_hours_counts_from_the_next_office_period():
    # Friday evening: the next office period is Sunday 20 Sep (make-up day), so that is day 0.
    assert add_time(at(2026, 9, 18, 18), 1, "working_days").at == at(2026, 9, 21, 17, 30)
    # The same Friday in office hours: Friday is day 0 and the Sunday make-up day is day 1.
    assert add_time(at(2026, 9, 18, 10), 1, "working_days").at == at(2026, 9, 20, 17, 30)
    # A start on the first day of the holiday counts from the office reopening on 8 Oct.
    assert add_time(at(2026, 10, 1, 10), 1, "working_days").at == at(2026, 10, 9, 17, 30)
    # The office closes at 17:30: a minute before is still Friday, at 17:30 it is Monday.
    assert add_time(at(2026, 11, 20, 17, 29), 1, "working_days").at == at(2026, 11, 23, 17, 30)
    assert add_time(at(2026, 11, 20, 17, 30), 1, "working_days").at == at(2026, 11, 24, 17, 30)
    # Before the office opens on a working day, that day is still day 0.
    assert add_time(at(2026, 10, 8, 7), 0, "working_days").at == at(2026, 10, 8, 17, 30)


def test_248_working_days_take_a_working_day_to_the_end_of_2026():
    assert CalendarDay.objects.filter(date__year=2026, is_workday=True).count() == 248
    deadline = add_time(at(2025, 12, 31, 10), 248, "working_days")
    assert deadline == Deadline(at(2026, 12, 31, 17, 30), False)


# --- working hours ----------------------------------------------------------------------

@pytest.mark.parametrize(("start", "hours", "expected"), [
    (at(2026, 11, 20, 17), 2, at(2026, 11, 23, 10)),  # Friday 17:00: half an hour, then Monday
    (at(2026, 11, 23, 11), 2, at(2026, 11, 23, 14, 30)),  # across lunch
    (at(2026, 11, 23, 10), 2, at(2026, 11, 23, 12)),  # ends exactly when the morning closes
    (at(2026, 11, 23, 12, 15), 1, at(2026, 11, 23, 14, 30)),  # starts at lunch
    (at(2026, 11, 24, 16, 30), 3, at(2026, 11, 25, 10, 30)),  # across an evening
    (at(2026, 11, 23, 7), 0.5, at(2026, 11, 23, 9)),  # before the office opens
    (at(2026, 11, 21, 10), 1.25, at(2026, 11, 23, 9, 45)),  # Saturday start, fractional hours
    (at(2026, 11, 23, 8, 30), 7.5, at(2026, 11, 23, 17, 30)),  # one full office day
    (at(2026, 11, 23, 8, 30), 8, at(2026, 11, 24, 9)),
    (at(2026, 9, 30, 16, 30), 2, at(2026, 10, 8, 9, 30)),  # across the National Day week
    (at(2026, 10, 9, 17), 1, at(2026, 10, 10, 9)),  # into the Saturday make-up day
])
def test_working_hours(start, hours, expected):
    assert add_time(start, hours, "working_hours") == Deadline(expected, False)


def test_deadlines_are_local_times_whatever_zone_the_start_is_in():
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    deadline = add_time(start, 2, "working_hours")
    assert deadline.at == at(2026, 11, 23, 10)
    assert deadline.at.utcoffset() == timedelta(hours=8)


# --- natural time -------------------------------------------------------------------------

def test_natural_units_ignore_the_calendar():
    friday = at(2026, 9, 30, 17)  # the eve of National Day
    assert add_time(friday, 90, "minutes") == Deadline(at(2026, 9, 30, 18, 30), False)
    assert add_time(friday, 2, "natural_hours") == Deadline(at(2026, 9, 30, 19), False)
    assert add_time(friday, 24, "natural_hours").at == at(2026, 10, 1, 17)
    assert add_time(friday, 3, "natural_days").at == at(2026, 10, 3, 17)
    assert add_time(at(2027, 3, 1, 9), 2, "natural_days") == Deadline(at(2027, 3, 3, 9), False)


@pytest.mark.parametrize(("amount", "unit"), [
    (1, "fortnights"), (-1, "working_hours"), (1.5, "working_days"), (float("nan"), "minutes"),
    ("3", "natural_days"), (True, "working_days"),
])
def test_bad_amounts_and_units_are_refused(amount, unit):
    with pytest.raises(ValueError):
        add_time(at(2026, 11, 23, 9), amount, unit)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_time(datetime(2026, 11, 23, 9), 1, "working_hours")


# --- elapsed office time and shares ---------------------------------------------------

def test_working_seconds_between():
    assert working_seconds_between(at(2026, 11, 23, 8), at(2026, 11, 23, 18)) == 7.5 * HOUR
    assert working_seconds_between(at(2026, 11, 20, 17), at(2026, 11, 23, 9, 30)) == 1.5 * HOUR
    assert working_seconds_between(at(2026, 11, 23, 12), at(2026, 11, 23, 13, 30)) == 0
    assert working_seconds_between(at(2026, 9, 30, 17), at(2026, 10, 8, 9)) == 1 * HOUR
    assert working_seconds_between(at(2026, 11, 23, 12), at(2026, 11, 23, 10)) == 0
    # Agrees with add_time over a long stretch.
    start = at(2026, 9, 29, 10)
    deadline = add_time(start, 40, "working_hours").at
    assert working_seconds_between(start, deadline) == 40 * HOUR


def test_elapsed_share_counts_office_time_for_working_units():
    start = at(2026, 11, 20, 17)
    deadline = add_time(start, 2, "working_hours").at  # Monday 10:00
    assert elapsed_share(start, deadline, at(2026, 11, 21, 12), "working_hours") == 0.25
    assert elapsed_share(start, deadline, at(2026, 11, 23, 9, 15), "working_hours") == 0.625
    assert elapsed_share(start, deadline, at(2026, 11, 23, 12), "working_hours") == 2.0  # overdue
    assert elapsed_share(start, deadline, at(2026, 11, 20, 16), "working_hours") == 0


def test_elapsed_share_counts_plain_time_for_natural_units():
    start = at(2026, 11, 20, 17)
    deadline = add_time(start, 4, "natural_hours").at
    assert elapsed_share(start, deadline, at(2026, 11, 20, 18), "natural_hours") == 0.25
    assert elapsed_share(start, deadline, at(2026, 11, 20, 23), "natural_hours") == 1.5
    assert elapsed_share(start, deadline, at(2026, 11, 20, 12), "natural_hours") == 0
    assert elapsed_share(start, start, start, "minutes") == 1.0
    with pytest.raises(ValueError):
        elapsed_share(start, deadline, start, "weeks")


# --- years without a calendar -------------------------------------------------------------

def test_2027_is_provisional_until_its_notice_is_imported():
    start = at(2026, 12, 31, 10)  # Thursday
    assert is_workday(d("2027-01-01")) == (True, True)  # a Friday, by the weekday rule
    assert is_workday(d("2027-01-02")) == (False, True)
    # 1 Jan (Fri) is day 1 by the weekday rule, then Mon 4 and Tue 5 Jan.
    assert add_time(start, 3, "working_days") == Deadline(at(2027, 1, 5, 17, 30), True)
    assert add_time(start, 10, "working_hours") == Deadline(at(2027, 1, 1, 14), True)
    assert add_time(at(2026, 12, 30, 10), 1, "working_days").provisional is False

    services.import_notice_text(2027, NOTICE_2027)

    assert is_workday(d("2027-01-01")) == (False, False)  # 元旦
    assert add_time(start, 3, "working_days") == Deadline(at(2027, 1, 6, 17, 30), False)
    assert add_time(start, 10, "working_hours") == Deadline(at(2027, 1, 4, 14), False)
    assert is_workday(d("2027-02-14")) == (True, False)  # Sunday, make-up day for 春节

    services.delete_year(2027)
    assert add_time(start, 3, "working_days") == Deadline(at(2027, 1, 5, 17, 30), True)


def test_reaching_into_an_uncovered_year_is_provisional():
    # Half an hour on 31 Dec 2026, the other half on 1 Jan 2027 by the weekday rule.
    assert add_time(at(2026, 12, 31, 17), 1, "working_hours") == Deadline(at(2027, 1, 1, 9), True)


# --- office hours and the per-process cache ---------------------------------------------

def test_office_hours_change_the_arithmetic():
    services.save_office_hours([["09:00", "12:00"], ["14:00", "18:00"]])
    assert add_time(at(2026, 11, 20, 17), 2, "working_hours").at == at(2026, 11, 23, 10)
    assert add_time(at(2026, 11, 23, 10), 1, "working_days").at == at(2026, 11, 24, 18)
    assert working_seconds_between(at(2026, 11, 23, 0), at(2026, 11, 24, 0)) == 7 * HOUR


def test_a_change_by_another_process_is_seen_once_the_version_changes(settings):
    settings.GRIDGOV_CALENDAR_CHECK_SECONDS = 3600
    assert is_workday(d("2026-11-23")) == (True, False)
    # Another process writes a day and the version, without this process's invalidate().
    CalendarDay.objects.filter(date=d("2026-11-23")).update(is_workday=False)
    CalendarState.objects.filter(pk=1).update(version=12345)
    assert is_workday(d("2026-11-23")) == (True, False)  # not checked again yet
    settings.GRIDGOV_CALENDAR_CHECK_SECONDS = 0
    assert is_workday(d("2026-11-23")) == (False, False)


def test_a_local_write_is_seen_at_once_even_between_version_checks(settings):
    settings.GRIDGOV_CALENDAR_CHECK_SECONDS = 3600
    assert is_workday(d("2026-11-23")) == (True, False)
    services.set_day(d("2026-11-23"), False, "停电")
    assert is_workday(d("2026-11-23")) == (False, False)


def test_local_times_stay_in_shanghai():
    assert add_time(at(2026, 11, 23, 9), 1, "minutes").at.tzinfo.key == SHANGHAI.key
