from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from gridgov.worktime import services
from gridgov.worktime.models import CalendarDay, CalendarYear, OfficeHours, Source, validate_periods
from gridgov.worktime.notice import Notice, format_notice, parse_notice
from gridgov.worktime.tests.helpers import NOTICE_2027, d

pytestmark = pytest.mark.django_db

HOLIDAYS_2026 = [
    (d("2026-01-01"), d("2026-01-03"), "元旦"),
    (d("2026-02-15"), d("2026-02-23"), "春节"),
    (d("2026-04-04"), d("2026-04-06"), "清明节"),
    (d("2026-05-01"), d("2026-05-05"), "劳动节"),
    (d("2026-06-19"), d("2026-06-21"), "端午节"),
    (d("2026-09-25"), d("2026-09-27"), "中秋节"),
    (d("2026-10-01"), d("2026-10-07"), "国庆节"),
]
MAKEUP_2026 = [
    (d("2026-01-04"), "元旦调休"), (d("2026-02-14"), "春节调休"), (d("2026-02-28"), "春节调休"),
    (d("2026-05-09"), "劳动节调休"), (d("2026-09-20"), "国庆节调休"), (d("2026-10-10"), "国庆节调休"),
]


def days_of(year: int) -> list[tuple]:
    return list(CalendarDay.objects.filter(date__year=year).order_by("date")
                .values_list("date", "is_workday", "name", "source"))


# --- the text format ----------------------------------------------------------------

def test_parse_notice_reads_ranges_single_days_makeup_days_and_comments():
    extra = "\n  2027-04-05 清明节  # a comment\n\n2027-05-01 .. 2027-05-05 劳动节\n"
    notice = parse_notice(NOTICE_2027 + extra)
    assert notice.holidays == [
        (d("2027-01-01"), d("2027-01-03"), "元旦"), (d("2027-02-06"), d("2027-02-13"), "春节"),
        (d("2027-10-01"), d("2027-10-07"), "国庆节"), (d("2027-04-05"), d("2027-04-05"), "清明节"),
        (d("2027-05-01"), d("2027-05-05"), "劳动节")]
    assert notice.makeup_workdays == [(d("2027-02-14"), "春节"), (d("2027-10-09"), "国庆节")]


def test_parse_errors_name_every_bad_line():
    text = "2027-01-01..2027-01-03 元旦\n\n2027-02-30 春节\n2027-03-09..2027-03-01 x\nhello\n"
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        parse_notice(text)
    messages = caught.value.messages
    assert len(messages) == 3
    assert "Line 3" in messages[0] and "2027-02-30 春节" in messages[0]
    assert "Line 4" in messages[1] and "2027-03-09..2027-03-01 x" in messages[1]
    assert "Line 5" in messages[2] and "hello" in messages[2]


def test_the_text_format_reads_back_what_it_writes():
    notice = Notice(HOLIDAYS_2026, [(day, name) for day, name in MAKEUP_2026])
    again = parse_notice(format_notice(notice))
    assert again.holidays == HOLIDAYS_2026
    assert [(day, services.library.makeup_name(name)) for day, name in again.makeup_workdays] == MAKEUP_2026


def test_the_seeded_2026_reads_as_the_state_council_notice():
    notice = services.year_as_notice(2026)
    assert notice.holidays == HOLIDAYS_2026
    assert notice.makeup_workdays == MAKEUP_2026


# --- importing a year -----------------------------------------------------------------------

def test_import_year_writes_every_day_of_the_year():
    plan = services.import_notice_text(2027, NOTICE_2027)
    assert CalendarYear.objects.get(year=2027).source == Source.NOTICE
    days = {day: (working, name, source) for day, working, name, source in days_of(2027)}
    assert len(days) == 365 and plan.replaces is None
    assert days[d("2027-01-01")] == (False, "元旦", "notice")
    assert days[d("2027-02-08")] == (False, "春节", "notice")  # a Monday in the holiday
    assert days[d("2027-02-14")] == (True, "春节调休", "notice")  # a Sunday, make-up day
    assert days[d("2027-10-09")] == (True, "国庆节调休", "notice")
    assert days[d("2027-03-01")] == (True, "", "notice")  # an ordinary Monday
    assert days[d("2027-03-06")] == (False, "", "notice")  # an ordinary Saturday
    weekdays = sum(date.fromordinal(n).weekday() < 5 for n in range(d("2027-01-01").toordinal(),
                                                                       d("2028-01-01").toordinal()))
    # Off: Friday 1 Jan, 5 weekdays of 春节, 5 of 国庆节; working: two weekend make-up days.
    assert plan.working_days == weekdays - 11 + 2 == sum(v[0] for v in days.values())


def test_import_year_replaces_a_stored_year():
    services.import_year(2026, HOLIDAYS_2026[:1], [], source=Source.ADMIN)
    assert CalendarYear.objects.get(year=2026).source == Source.ADMIN
    assert CalendarDay.objects.get(date=d("2026-10-01")).is_workday is True
    assert CalendarDay.objects.filter(date__year=2026).count() == 365
    plan = services.import_year(2026, HOLIDAYS_2026, MAKEUP_2026)
    assert plan.replaces == Source.ADMIN
    assert CalendarDay.objects.filter(date__year=2026, is_workday=True).count() == 248


@pytest.mark.parametrize(("holidays", "makeup", "field"), [
    ([(d("2026-12-31"), d("2027-01-02"), "元旦")], [], "holidays"),  # not within the year
    ([(d("2027-01-03"), d("2027-01-01"), "元旦")], [], "holidays"),  # reversed range
    ([(d("2027-01-01"), d("2027-01-03"), "元旦"), (d("2027-01-03"), d("2027-01-04"), "x")], [], "holidays"),
    ([(d("2027-01-01"), d("2027-01-03"), "元旦" * 40)], [], "holidays"),  # name too long
    ([], [(d("2027-02-15"), "春节")], "makeup_workdays"),  # a Monday
    ([], [(d("2028-02-13"), "春节")], "makeup_workdays"),  # another year
    ([], [(d("2027-02-14"), "春节"), (d("2027-02-14"), "春节")], "makeup_workdays"),
    ([(d("2027-02-06"), d("2027-02-14"), "春节")], [(d("2027-02-14"), "春节")], "makeup_workdays"),
    ([("2027-01-01", "2027-01-03", "元旦")], [], "holidays"),  # strings, not dates
])
def test_bad_notices_are_refused_with_nothing_written(holidays, makeup, field):
    with pytest.raises(ValidationError) as caught:
        services.import_year(2027, holidays, makeup)
    assert list(caught.value.message_dict) == [field]
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_a_bad_notice_leaves_the_stored_year_as_it_was():
    before = days_of(2026)
    with pytest.raises(ValidationError) as caught:
        services.import_notice_text(2026, "2026-10-01..2026-10-07 国庆节\n2026-10-12 调休上班 国庆节\n")
    assert list(caught.value.message_dict) == ["makeup_workdays"]
    with pytest.raises(ValidationError) as caught:
        services.import_notice_text(2026, "2026-10-01..2026-10-07 国庆节\nnot a line\n")
    assert list(caught.value.message_dict) == ["text"]
    with pytest.raises(ValidationError) as caught:
        services.import_year(1850, [], [])
    assert list(caught.value.message_dict) == ["year"]
    assert days_of(2026) == before
    assert CalendarYear.objects.get(year=2026).source == Source.LIBRARY


def test_a_dry_run_writes_nothing():
    plan = services.import_notice_text(2027, NOTICE_2027, dry_run=True)
    assert plan.working_days > 240 and len(plan.days) == 365
    assert [name for _day, name in plan.notice.makeup_workdays] == ["春节调休", "国庆节调休"]
    assert not CalendarDay.objects.filter(date__year=2027).exists()


# --- the import command -------------------------------------------------------------------

def test_import_command_dry_run_then_real(tmp_path, capsys):
    path = tmp_path / "notice.txt"
    path.write_bytes(b"\xef\xbb\xbf" + NOTICE_2027.encode())  # as Windows Notepad saves it
    call_command("import_calendar", "2027", str(path), "--dry-run")
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert "nothing written" in capsys.readouterr().out
    call_command("import_calendar", "2027", str(path))
    assert CalendarYear.objects.get(year=2027).source == Source.NOTICE
    assert CalendarDay.objects.get(date=d("2027-02-14")).is_workday is True


def test_import_command_names_the_bad_line(tmp_path, capsys):
    path = tmp_path / "notice.txt"
    path.write_text(NOTICE_2027 + "2027-13-01 元旦\n", encoding="utf-8")
    with translation.override("en"), pytest.raises(CommandError):
        call_command("import_calendar", "2027", str(path))
    assert "Line 7" in capsys.readouterr().err
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_import_command_reports_an_unreadable_file(tmp_path):
    with pytest.raises(CommandError):
        call_command("import_calendar", "2027", str(tmp_path / "missing.txt"))


# --- editing days and office hours ------------------------------------------------------

def test_set_day_marks_the_day_as_the_admins():
    services.set_day(d("2026-11-23"), False, " 停电 ")
    day = CalendarDay.objects.get(date=d("2026-11-23"))
    assert (day.is_workday, day.name, day.source) == (False, "停电", Source.ADMIN)
    with pytest.raises(ValidationError):
        services.set_day(d("2027-01-04"), False, "")  # 2027 has no calendar to edit
    assert not CalendarDay.objects.filter(date__year=2027).exists()


@pytest.mark.parametrize("periods", [
    [], "08:30-12:00", [["08:30"]], [["8:30", "12:00"]], [["08:30", "24:00"]], [["12:00", "08:30"]],
    [["13:30", "17:30"], ["08:30", "12:00"]], [["08:30", "12:00"], ["11:00", "17:30"]],
])
def test_bad_office_hours_are_refused(periods):
    with pytest.raises(ValidationError):
        validate_periods(periods)
    with pytest.raises(ValidationError):
        services.save_office_hours(periods)
    assert OfficeHours.objects.get(pk=1).periods == [["08:30", "12:00"], ["13:30", "17:30"]]


def test_good_office_hours_pass():
    validate_periods([["08:00", "12:00"], ["12:00", "16:00"], ["19:00", "21:30"]])
    validate_periods([["09:00", "17:00"]])
