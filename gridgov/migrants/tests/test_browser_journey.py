"""Migrant workers in a real browser (issue 19): an employer uploads an Excel of three workers, checks
it, saves it and sees them listed; the dormitory manager gives the waiting workers beds with one
button and sees the occupancy change; a worker's stay reaches six months, the daily job reminds the
grid worker of the dormitory's grid, who sees the reminder and the person on the permits page and
records an application made on the person's behalf. Screenshots land in test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import Workbook

from gridgov.accounts.models import Role
from gridgov.consoles.tests.test_browser_journeys import shot
from gridgov.core.testing import staff
from gridgov.migrants import permits
from gridgov.migrants.employers import WORKERS
from gridgov.migrants.models import Employment, Permit, Stay
from gridgov.population import testing as registry
from gridgov.population.models import Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _workbook(path, today):
    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in WORKERS])
    for n, name in enumerate(["陈一", "陈二", "陈三"], start=1):
        sheet.append(
            [
                name,
                registry.id_number(f"1999010{n}"),
                f"1390000000{n}",
                str(today - timedelta(days=30)),
                str(today - timedelta(days=40)),
                "安徽省阜阳市颍州区",
                "是",
            ]
        )
    book.save(path)
    return path


def test_workers_registered_housed_and_reminded_of_their_residence_permit(
    site_a, live_server, browser_for, tmp_path
):
    today = timezone.localdate()
    # The employer checks the file, then saves it, and sees the three workers.
    employer = browser_for(site_a.employer_user, phone=True, lands_on="/migrants/employer/")
    employer.locator("#i-file").set_input_files(str(_workbook(tmp_path / "workers.xlsx", today)))
    employer.locator("#import-check").click()
    employer.wait_for_selector("#import-checked")
    assert not Employment.objects.exists()
    shot(employer, "migrants-import-checked")
    employer.locator("#import-save").click()
    employer.wait_for_url(f"**/migrants/employer/?org={site_a.employer.pk}")
    employer.wait_for_selector("#worker-rows li[data-employment]")
    assert employer.locator("#worker-rows li[data-employment]").count() == 3
    listed = employer.locator("#worker-rows").inner_text()
    assert "陈一" in listed and "陈三" in listed and "13900000001" not in listed  # phones masked
    shot(employer, "migrants-employer")

    # The dormitory manager gives them beds with one button.
    own_page = f"/migrants/dormitories/{site_a.dormitory.pk}/"
    manager = browser_for(site_a.manager, phone=True, lands_on=own_page)
    assert manager.locator('[data-figure="occupied"]').inner_text() == "0"
    assert manager.locator('[data-figure="waiting"]').inner_text() == "3"
    assert manager.locator("#waiting-rows li[data-person]").count() == 3
    manager.locator("#assign-form button").click()
    manager.wait_for_selector("p.ok")
    assert manager.locator('[data-figure="occupied"]').inner_text() == "3"
    assert manager.locator('[data-figure="waiting"]').inner_text() == "0"
    assert Stay.objects.filter(checked_out_on=None, bed__room__dormitory=site_a.dormitory).count() == 3
    shot(manager, "migrants-dormitory")

    # Seven months on for one of them: the daily job tells the dormitory grid's worker.
    person = Person.objects.get(name="陈二")
    Person.objects.filter(pk=person.pk).update(arrived_on=permits.add_months(today, -7))
    keeper = staff(Role.GRID_WORKER, site_a.grid)
    assert permits.send_reminders() >= 1
    worker = browser_for(keeper, phone=True)
    worker.goto(f"{live_server.url}/console/worker/")
    worker.locator("#permits-link").click()
    worker.wait_for_selector("#permit-reminders")
    assert "陈二" in worker.locator("#permit-reminders").inner_text()
    row = worker.locator(f'#due-rows li[data-person="{person.pk}"]')
    assert row.get_attribute("data-overdue") == "1"
    shot(worker, "migrants-permits")
    row.locator('input[name="on_behalf"]').check()
    row.locator("button").click()
    worker.wait_for_selector("p.ok")
    assert worker.locator('#applied-rows li:has-text("陈二")').count() == 1
    permit = Permit.objects.get(person=person)
    assert permit.state == "applied" and permit.on_behalf and permit.recorded_by == keeper
