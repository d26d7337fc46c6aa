import pytest
from django.test import Client
from django.urls import reverse

from gridgov.accounts.models import Role
from gridgov.core.testing import admin_user, staff
from gridgov.worktime.models import CalendarDay, CalendarState, CalendarYear, OfficeHours, Source
from gridgov.worktime.tests.helpers import NOTICE_2027, d

pytestmark = pytest.mark.django_db

IMPORT_URL = "admin:worktime_calendaryear_import"


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(admin_user())
    return client


def version() -> int:
    return CalendarState.objects.get(pk=1).version


def test_the_year_list_links_to_the_import_page(admin_client):
    response = admin_client.get(reverse("admin:worktime_calendaryear_changelist"))
    assert response.status_code == 200
    assert reverse(IMPORT_URL) in response.content.decode()
    assert [(row.year, row.working_days) for row in response.context["cl"].result_list
            if row.year == 2026] == [(2026, 248)]


def test_the_import_page_is_prefilled_with_a_stored_year(admin_client):
    response = admin_client.get(reverse(IMPORT_URL) + "?year=2026")
    assert response.status_code == 200
    text = response.context["form"].initial["text"]
    assert "2026-10-01..2026-10-07 国庆节" in text and "2026-10-10 调休上班 国庆节" in text


def test_check_writes_nothing_then_import_writes_the_year(admin_client):
    form = {"year": 2027, "source": Source.NOTICE, "text": NOTICE_2027}
    before = version()
    response = admin_client.post(reverse(IMPORT_URL), {**form, "_check": "1"})
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.year == 2027 and len(plan.notice.makeup_workdays) == 2
    assert "2027-02-14" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists() and version() == before

    response = admin_client.post(reverse(IMPORT_URL), {**form, "_import": "1"})
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).source == Source.NOTICE
    assert CalendarDay.objects.get(date=d("2027-01-01")).is_workday is False
    assert version() != before


def test_import_shows_the_problems_and_writes_nothing(admin_client):
    text = NOTICE_2027 + "2027-03-01 调休上班 春节\n2027-02-30 春节\n"  # a Monday; no such date
    response = admin_client.post(reverse(IMPORT_URL), {"year": 2027, "source": Source.NOTICE,
                                                       "text": text, "_import": "1"})
    assert response.status_code == 200
    assert len(response.context["form"].errors["text"]) == 1  # the unreadable line comes first
    assert "2027-02-30" in response.context["form"].errors["text"][0]
    text = NOTICE_2027 + "2027-03-01 调休上班 春节\n"
    response = admin_client.post(reverse(IMPORT_URL), {"year": 2027, "source": Source.NOTICE,
                                                       "text": text, "_import": "1"})
    assert response.status_code == 200 and "2027-03-01" in response.context["form"].errors["text"][0]
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_only_administrators_import(district):
    worker = staff(Role.GRID_WORKER, district.grids[0], is_staff=True)
    client = Client()
    client.force_login(worker)
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    response = client.post(reverse(IMPORT_URL), {"year": 2027, "source": Source.NOTICE,
                                                 "text": NOTICE_2027, "_import": "1"})
    assert response.status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()
    # Reading the calendar is fine.
    assert client.get(reverse("admin:worktime_calendarday_changelist")).status_code == 200


def test_editing_days_in_the_list_marks_them_as_the_admins(admin_client):
    url = reverse("admin:worktime_calendarday_changelist") + "?date__year=2026&date__month=11"
    response = admin_client.get(url)
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert len(rows) == 30 and rows[0].date == d("2026-11-01")
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)), "_save": "1"}
    for n, row in enumerate(rows):
        data[f"form-{n}-date"] = row.date.isoformat()
        data[f"form-{n}-name"] = row.name
        if row.is_workday:
            data[f"form-{n}-is_workday"] = "on"
    monday = next(n for n, row in enumerate(rows) if row.date == d("2026-11-23"))
    del data[f"form-{monday}-is_workday"]
    data[f"form-{monday}-name"] = "停电"
    before = version()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["cl"].formset.errors
    day = CalendarDay.objects.get(date=d("2026-11-23"))
    assert (day.is_workday, day.name, day.source) == (False, "停电", Source.ADMIN)
    assert CalendarDay.objects.get(date=d("2026-11-24")).source == Source.LIBRARY  # untouched
    assert version() != before


def test_deleting_a_year_removes_its_days(admin_client):
    response = admin_client.post(reverse("admin:worktime_calendaryear_delete", args=[2004]), {"post": "yes"})
    assert response.status_code == 302
    assert not CalendarYear.objects.filter(year=2004).exists()
    assert not CalendarDay.objects.filter(date__year=2004).exists()


def test_office_hours_are_edited_and_checked(admin_client):
    assert admin_client.get(reverse("admin:worktime_officehours_changelist")).status_code == 302
    url = reverse("admin:worktime_officehours_change", args=[1])
    response = admin_client.post(url, {"periods": '[["13:30", "17:30"], ["08:30", "12:00"]]'})
    assert response.status_code == 200 and response.context["adminform"].form.errors["periods"]
    assert OfficeHours.objects.get(pk=1).periods == [["08:30", "12:00"], ["13:30", "17:30"]]
    before = version()
    response = admin_client.post(url, {"periods": '[["09:00", "17:00"]]'})
    assert response.status_code == 302
    assert OfficeHours.objects.get(pk=1).periods == [["09:00", "17:00"]]
    assert version() != before
