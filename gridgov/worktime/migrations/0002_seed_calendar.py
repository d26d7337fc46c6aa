"""Fill the calendar with every year the installed chinesecalendar library covers, and
create the office-hours and version rows."""

import secrets

from django.db import migrations

from gridgov.worktime.library import library_days, library_years
from gridgov.worktime.models import default_office_periods


def seed(apps, schema_editor):
    CalendarDay = apps.get_model("worktime", "CalendarDay")
    CalendarYear = apps.get_model("worktime", "CalendarYear")
    years = library_years()
    days = [CalendarDay(date=day, is_workday=working, name=name, source="library")
            for year in years for day, working, name in library_days(year)]
    CalendarDay.objects.bulk_create(days, batch_size=2000)
    CalendarYear.objects.bulk_create([CalendarYear(year=year, source="library") for year in years])
    apps.get_model("worktime", "OfficeHours").objects.get_or_create(
        pk=1, defaults={"periods": default_office_periods()})
    apps.get_model("worktime", "CalendarState").objects.update_or_create(
        pk=1, defaults={"version": secrets.randbits(62)})


def unseed(apps, schema_editor):
    for model in ("CalendarDay", "CalendarYear", "OfficeHours", "CalendarState"):
        apps.get_model("worktime", model).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("worktime", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
