import time

import pytest
from django.core.management import call_command

from gridgov.worktime import services
from gridgov.worktime.library import chinese_name, library_days, library_years, makeup_name
from gridgov.worktime.models import CalendarDay, CalendarYear, Source
from gridgov.worktime.notice import format_notice, parse_notice
from gridgov.worktime.tests.helpers import d

pytestmark = pytest.mark.django_db


def days_of(year: int) -> list[tuple]:
    rows = CalendarDay.objects.filter(date__year=year).order_by("date")
    return list(rows.values_list("date", "is_workday", "name", "source"))


def snapshot_rows():
    return list(CalendarDay.objects.order_by("date").values_list("date", "is_workday", "name", "source"))


def test_the_migration_seeded_every_library_year():
    years = library_years()
    assert years[0] == 2004 and 2026 in years and 2027 not in years  # chinesecalendar 1.11.0
    assert sorted(CalendarYear.objects.values_list("year", flat=True)) == years
    assert CalendarDay.objects.count() == sum(len(library_days(year)) for year in years)
    assert CalendarDay.objects.filter(date__year=2026, is_workday=True).count() == 248
    assert CalendarDay.objects.get(date=d("2026-10-01")).name == "国庆节"
    assert CalendarDay.objects.get(date=d("2026-10-10")).name == "国庆节调休"
    assert CalendarDay.objects.get(date=d("2026-04-05")).name == "清明节"
    assert CalendarDay.objects.get(date=d("2026-10-12")).name == ""


def test_chinese_names():
    assert chinese_name("Mid-autumn Festival") == "中秋节"
    assert chinese_name("Dragon Boat Festival") == "端午节"
    assert chinese_name("Unknown Day") == "Unknown Day"
    assert makeup_name("春节") == makeup_name("春节调休") == "春节调休"
    assert makeup_name("") == "调休"


@pytest.mark.parametrize("year", library_years())
def test_every_library_year_survives_the_text_format(year):
    """What an administrator would re-import for a year gives the library's days back."""
    notice = parse_notice(format_notice(services.year_as_notice(year)))
    plan = services.plan_year(year, notice.holidays, notice.makeup_workdays)
    assert [(day.date, day.is_workday, day.name) for day in plan.days] == library_days(year)


def test_seed_command_is_idempotent(capsys):
    before = snapshot_rows()
    call_command("seed_calendar")
    assert "Loaded: none." in capsys.readouterr().out
    assert snapshot_rows() == before
    report = services.seed_from_library()
    assert report.loaded == [] and report.unchanged == library_years()


def test_seed_repairs_a_library_year_and_keeps_imported_years_and_edited_days():
    services.import_year(2025, [], [])  # a (wrong) notice: no holidays at all
    services.set_day(d("2026-11-23"), False, "停电")  # an administrator's correction
    CalendarDay.objects.filter(date=d("2024-10-01")).update(is_workday=True)  # damage
    CalendarDay.objects.filter(date=d("2024-10-02")).delete()
    imported_2025 = days_of(2025)

    report = services.seed_from_library()

    assert report.skipped == [2025] and report.loaded == [2024]
    assert 2026 in report.unchanged  # the library's days, plus the kept edit
    assert days_of(2025) == imported_2025
    assert CalendarYear.objects.get(year=2025).source == Source.NOTICE
    assert CalendarDay.objects.get(date=d("2026-11-23")).source == Source.ADMIN
    assert CalendarDay.objects.get(date=d("2026-11-23")).is_workday is False
    assert CalendarDay.objects.get(date=d("2024-10-01")).is_workday is False
    assert CalendarDay.objects.get(date=d("2024-10-02")).name == "国庆节"
    assert services.is_workday(d("2024-10-01")) == (False, False)


def test_seeding_an_empty_calendar_is_quick():
    CalendarDay.objects.all().delete()
    CalendarYear.objects.all().delete()
    started = time.perf_counter()
    report = services.seed_from_library()
    elapsed = time.perf_counter() - started
    assert report.loaded == library_years()
    assert CalendarDay.objects.filter(date__year=2026, is_workday=True).count() == 248
    assert elapsed < 3, f"seeding took {elapsed:.1f} s"
