"""The migrants pages through the test client: the dormitory manager's page (occupancy, beds, check-in
and out, free beds for all waiting, rooms, access cards), the employer's page (its own workers only,
one registered, many from Excel checked first and saved all or none, leaving), the grid worker's
residence permits and rental houses; refusals shown as error messages with nothing saved, and
other areas' rows unseen."""

import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.migrants import dormitories, permits, rentals
from gridgov.migrants.employers import WORKERS
from gridgov.migrants.models import (
    AccessCard,
    Bed,
    Employment,
    Finding,
    Inspection,
    Permit,
    Rental,
    Room,
    Stay,
)
from gridgov.migrants.tests.conftest import worker
from gridgov.population import testing as registry
from gridgov.population.models import House, Person

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def _follow(client, url, data=None):
    response = client.post(url, data or {}, follow=True)
    assert response.status_code == 200
    return _text(response)


def _error(page: str) -> str:
    assert 'class="error"' in page, page[:3000]
    return page


def _ok(page: str) -> str:
    assert 'class="ok"' in page and 'class="error"' not in page, page[:3000]
    return page


# --- dormitories ----------------------------------------------------------------------------------


def test_a_manager_with_one_dormitory_goes_straight_to_it_and_a_leader_sees_them_all(
    site_a, site_b, district, client_for
):
    response = client_for(site_a.manager).get("/migrants/dormitories/")
    assert response.status_code == 302 and response.url == f"/migrants/dormitories/{site_a.dormitory.pk}/"
    page = _text(client_for(staff(Role.LEADER, district.street)).get("/migrants/dormitories/"))
    assert (
        f'data-dormitory="{site_a.dormitory.pk}"' in page
        and f'data-dormitory="{site_b.dormitory.pk}"' in page
    )


def test_only_the_dormitory_s_managers_open_its_page(site_a, site_b, district, client_for):
    url = f"/migrants/dormitories/{site_a.dormitory.pk}/"
    assert client_for(site_a.manager).get(url).status_code == 200
    assert client_for(site_b.manager).get(url).status_code == 404  # another dormitory's manager
    assert client_for(staff(Role.GRID_WORKER, district.grids[0])).get(url).status_code == 404  # another grid
    # A dispatcher of the community sees the dormitory but does not run it.
    assert client_for(staff(Role.DISPATCHER, district.communities[0])).get(url).status_code == 403
    assert client_for(site_a.employer_user).get(url).status_code == 404


def test_the_page_shows_occupancy_beds_with_masked_occupants_and_waiting_workers(site_a, client_for):
    first, second = worker(site_a, "张伟"), worker(site_a, "李娜")
    bed = Bed.objects.filter(room__dormitory=site_a.dormitory).order_by("pk").first()
    dormitories.check_in(site_a.manager, first, bed)
    page = _text(client_for(site_a.manager).get(f"/migrants/dormitories/{site_a.dormitory.pk}/"))
    assert (
        '<strong data-figure="beds">8</strong>' in page
        and '<strong data-figure="occupied">1</strong>' in page
    )
    assert '<strong data-figure="waiting">1</strong>' in page
    assert "张伟" in page and first.id_number_masked in page and first.id_number not in page
    waiting = page[page.index('id="waiting-rows"') : page.index('id="rooms"')]
    assert f'data-person="{second.pk}"' in waiting and f'data-person="{first.pk}"' not in waiting
    assert second.id_number not in page


def test_check_in_by_the_bed_offered_and_a_taken_bed_is_refused(site_a, client_for):
    client = client_for(site_a.manager)
    first, second = worker(site_a, "张伟"), worker(site_a, "李娜")
    url = f"/migrants/dormitories/{site_a.dormitory.pk}/check-in/"
    _ok(_follow(client, url, {"person_id": first.pk, "bed": "1幢101-1"}))
    stay = Stay.objects.get(person=first, checked_out_on=None)
    assert stay.bed.label() == "1幢101-1"
    page = _error(_follow(client, url, {"person_id": second.pk, "bed": "1幢101-1"}))
    assert "张伟" in page  # who holds the bed
    assert not Stay.objects.filter(person=second).exists()
    _error(_follow(client, url, {"person_id": second.pk, "bed": "9幢999-9"}))
    # Check-out frees the bed.
    _ok(_follow(client, f"/migrants/stays/{stay.pk}/check-out/", {"reason": "回老家"}))
    stay.refresh_from_db()
    assert stay.checked_out_on == timezone.localdate() and stay.out_reason == "回老家"


def test_one_button_gives_every_waiting_worker_a_bed_and_the_filter_finds_rooms_over_capacity(
    site_a, client_for
):
    client = client_for(site_a.manager)
    people = [worker(site_a, f"工人{n}") for n in range(5)]
    page = _ok(_follow(client, f"/migrants/dormitories/{site_a.dormitory.pk}/assign/"))
    assert (
        '<strong data-figure="occupied">5</strong>' in page
        and '<strong data-figure="waiting">0</strong>' in page
    )
    assert Person.objects.filter(pk__in=[p.pk for p in people], dormitory_bed="").count() == 0
    room = Room.objects.filter(dormitory=site_a.dormitory).order_by("number").first()
    dormitories.set_capacity(site_a.manager, room, 2)  # four sleep there now
    over = _text(client.get(f"/migrants/dormitories/{site_a.dormitory.pk}/", {"show": "over"}))
    rooms = over[over.index('id="room-rows"') :]
    assert f'data-room="{room.pk}" data-over="1"' in rooms and rooms.count("data-room=") == 1
    free = _text(client.get(f"/migrants/dormitories/{site_a.dormitory.pk}/", {"show": "free"}))
    assert free[free.index('id="room-rows"') :].count("data-room=") == 1  # the second room has three free


def test_rooms_are_added_and_a_bad_plan_adds_nothing(site_a, client_for):
    client = client_for(site_a.manager)
    url = f"/migrants/dormitories/{site_a.dormitory.pk}/rooms/"
    _error(
        _follow(
            client,
            url,
            {"building": "2幢", "first_floor": 3, "last_floor": 2, "rooms_per_floor": 2, "capacity": 40},
        )
    )
    assert not Room.objects.filter(building__name="2幢").exists()
    _ok(
        _follow(
            client,
            url,
            {
                "building": "2幢",
                "first_floor": 2,
                "last_floor": 3,
                "rooms_per_floor": 2,
                "capacity": 6,
                "beds": "",
            },
        )
    )
    assert Room.objects.filter(building__name="2幢").count() == 4
    assert Bed.objects.filter(room__building__name="2幢").count() == 24


def test_access_cards_issued_lost_and_never_given_to_two_people(site_a, client_for):
    client = client_for(site_a.manager)
    first, second = worker(site_a, "张伟"), worker(site_a, "李娜")
    url = f"/migrants/dormitories/{site_a.dormitory.pk}/cards/"
    _ok(_follow(client, url, {"person_id": first.pk, "number": "mq-0001"}))
    card = AccessCard.objects.get(number="MQ-0001")
    assert card.holder == first
    _error(_follow(client, url, {"who": second.id_number, "number": "MQ-0001"}))
    assert AccessCard.objects.get(number="MQ-0001").holder == first
    _ok(_follow(client, url, {"who": second.id_number, "number": "MQ-0002"}))
    assert AccessCard.objects.get(number="MQ-0002").holder == second
    page = _ok(_follow(client, f"/migrants/cards/{card.pk}/lose/"))
    card.refresh_from_db()
    assert card.state == "lost" and f'data-card="{card.pk}" data-state="lost"' in page
    _error(_follow(client, f"/migrants/cards/{card.pk}/unblock/"))  # a lost card cannot be unblocked
    card.refresh_from_db()
    assert card.state == "lost"
    _error(_follow(client, f"/migrants/cards/{card.pk}/nonsense/"))


# --- the employer's page ------------------------------------------------------------------------------


def test_an_employer_sees_only_its_own_workers_masked(site_a, site_b, client_for):
    mine, theirs = worker(site_a, "张伟", phone="13912345678"), worker(site_b, "赵六")
    page = _text(client_for(site_a.employer_user).get("/migrants/employer/"))
    assert f'data-org="{site_a.employer.pk}"' in page
    assert "张伟" in page and "赵六" not in page
    assert mine.id_number_masked in page and mine.id_number not in page and "13912345678" not in page
    assert (
        client_for(site_a.employer_user).get("/migrants/employer/", {"org": site_b.employer.pk}).status_code
        == 404
    )
    assert theirs.name in _text(client_for(site_b.employer_user).get("/migrants/employer/"))
    found = _text(client_for(site_a.employer_user).get("/migrants/employer/", {"q": "李"}))
    assert "张伟" not in found[found.index('id="worker-rows"') :]


def test_staff_acting_for_several_employers_pick_one(site_a, district, client_for):
    from gridgov.migrants import dormitories as dorms

    other = registry.organization(district.grids[0], "服装厂")
    dorms.save_dormitory(site_a.manager, grid=site_a.grid, name=site_a.dormitory.name, employers=[other])
    page = _text(client_for(site_a.manager).get("/migrants/employer/"))
    assert 'id="employer-choices"' in page and "服装厂" in page and "电子厂1" in page
    assert "服装厂" in _text(client_for(site_a.manager).get("/migrants/employer/", {"org": other.pk}))


def test_one_worker_registered_and_a_bad_id_number_saves_nothing(site_a, client_for):
    client = client_for(site_a.employer_user)
    url = f"/migrants/employer/{site_a.employer.pk}/workers/"
    form = {"name": "王五", "id_number": "123", "started_on": "2026-03-01", "is_migrant": "1"}
    _error(_follow(client, url, form))
    assert not Person.objects.filter(name="王五").exists()
    _ok(_follow(client, url, form | {"id_number": registry.id_number("19990101")}))
    employment = Employment.objects.get(person__name="王五")
    assert employment.organization == site_a.employer and employment.person.is_migrant


def _workbook(rows) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in WORKERS])
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return SimpleUploadedFile(
        "workers.xlsx",
        data.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _row(name, id_number, started="2026-03-01"):
    return [name, id_number, "13900002222", started, "2026-02-20", "安徽省阜阳市", "是"]


def test_a_bad_upload_shows_each_row_error_and_saves_nothing(site_a, client_for):
    client = client_for(site_a.employer_user)
    url = f"/migrants/employer/{site_a.employer.pk}/import/"
    good = registry.id_number("19970101")
    bad = _workbook(
        [_row("甲", good), _row("乙", "12345"), _row("丙", good), _row("丁", registry.id_number(), "")]
    )
    page = _text(client.post(url, {"file": bad, "dry_run": "0"}))
    table = page[page.index('id="row-errors"') :]
    assert "12345" in table and "身份证号" in table and "入职日期" in table
    assert table.count("<tr>") == 1 + 3  # the header and three rows in error
    assert (
        not Employment.objects.exists()
        and not Person.objects.filter(name__in=["甲", "乙", "丙", "丁"]).exists()
    )


def test_an_upload_is_checked_first_then_saved_and_htmx_gets_the_report_alone(site_a, client_for):
    client = client_for(site_a.employer_user)
    url = f"/migrants/employer/{site_a.employer.pk}/import/"
    rows = [_row(f"工人{n}", registry.id_number(f"1998010{n}")) for n in range(1, 4)]
    checked = client.post(url, {"file": _workbook(rows), "dry_run": "1"}, HTTP_HX_REQUEST="true")
    assert 'id="import-checked"' in _text(checked) and "<html" not in _text(checked)
    assert not Employment.objects.exists()
    saved = client.post(url, {"file": _workbook(rows), "dry_run": "0"}, HTTP_HX_REQUEST="true")
    assert (
        saved.status_code == 204 and saved["HX-Redirect"] == f"/migrants/employer/?org={site_a.employer.pk}"
    )
    assert Employment.objects.filter(organization=site_a.employer, ended_on=None).count() == 3
    page = _ok(_text(client.get(saved["HX-Redirect"])))
    assert all(f"工人{n}" in page for n in range(1, 4))
    missing = client.post(url, {"dry_run": "1"})
    assert 'class="error"' in _text(missing)


def test_a_worker_who_left_loses_bed_and_card(site_a, client_for):
    person = worker(site_a, "张伟")
    stays = dormitories.assign_waiting(site_a.manager, site_a.dormitory)
    dormitories.issue_card(site_a.manager, site_a.dormitory, person, "MQ-1")
    employment = Employment.objects.get(person=person)
    _ok(
        _follow(
            client_for(site_a.employer_user),
            f"/migrants/employments/{employment.pk}/end/",
            {"on": str(timezone.localdate()), "reason": "辞职"},
        )
    )
    employment.refresh_from_db()
    assert employment.ended_on == timezone.localdate() and employment.ended_reason == "辞职"
    assert Stay.objects.get(pk=stays[0].pk).checked_out_on is not None
    assert AccessCard.objects.get(number="MQ-1").state == "blocked"
    # Another employer cannot end it.
    other = worker(site_a, "李娜")
    assert client_for(site_a.employer_user).get("/migrants/employer/").status_code == 200
    from gridgov.migrants.tests.conftest import employer_account

    outsider = employer_account(registry.organization(site_a.employer.grid, "别家厂"))
    _error(
        _follow(client_for(outsider), f"/migrants/employments/{Employment.objects.get(person=other).pk}/end/")
    )
    assert Employment.objects.get(person=other).ended_on is None


# --- residence permits --------------------------------------------------------------------------------


def _migrant(grid, name, arrived_on):
    return registry.person(registry.household(grid), name, is_migrant=True, arrived_on=arrived_on)


def test_the_grid_worker_sees_permits_due_overdue_first_and_records_an_application(district, client_for):
    grid = district.grids[0]
    keeper = staff(Role.GRID_WORKER, grid)
    today = timezone.localdate()
    soon = _migrant(grid, "快到期", permits.add_months(today, -6) + timedelta(days=10))
    late = _migrant(grid, "已逾期", permits.add_months(today, -8))
    _migrant(district.grids[3], "别处人", permits.add_months(today, -8))
    _migrant(grid, "刚来的", today - timedelta(days=30))
    permits.send_reminders()
    client = client_for(keeper)
    page = _text(client.get("/migrants/permits/"))
    rows = page[page.index('id="due-rows"') : page.index('id="applied"')]
    assert rows.index("已逾期") < rows.index("快到期")
    assert f'data-person="{late.pk}" data-kind="apply" data-overdue="1"' in rows
    assert "别处人" not in page and "刚来的" not in page
    assert 'id="permit-reminders"' in page and "已逾期" in page[page.index('id="permit-reminders"') :]
    _ok(
        _follow(
            client,
            "/migrants/permits/apply/",
            {"person_id": late.pk, "on_behalf": "1", "applied_on": str(today)},
        )
    )
    permit = Permit.objects.get(person=late)
    assert permit.state == "applied" and permit.on_behalf and permit.recorded_by == keeper
    late.refresh_from_db()
    assert late.permit_state == "applied"
    _error(_follow(client, "/migrants/permits/apply/", {"person_id": late.pk}))  # applied already
    assert Permit.objects.filter(person=late).count() == 1
    other = client_for(staff(Role.GRID_WORKER, district.grids[3]))
    assert other.post("/migrants/permits/apply/", {"person_id": soon.pk}, follow=True).status_code == 200
    assert not Permit.objects.filter(person=soon).exists()  # not in their area


def test_applied_permits_are_recorded_issued_or_refused_and_renewed(district, client_for):
    grid = district.grids[0]
    keeper = staff(Role.GRID_WORKER, grid)
    today = timezone.localdate()
    one, two = _migrant(grid, "甲", date(2024, 1, 1)), _migrant(grid, "乙", date(2024, 1, 1))
    first, second = permits.apply(keeper, one), permits.apply(keeper, two)
    client = client_for(keeper)
    page = _text(client.get("/migrants/permits/"))
    assert f'data-permit="{first.pk}"' in page and f'data-permit="{second.pk}"' in page
    _error(_follow(client, f"/migrants/permits/{first.pk}/issue/", {"number": ""}))
    _ok(
        _follow(
            client,
            f"/migrants/permits/{first.pk}/issue/",
            {"number": "JZZ-1", "issued_on": str(today), "expires_on": str(today + timedelta(days=20))},
        )
    )
    first.refresh_from_db()
    assert first.state == "issued" and first.number == "JZZ-1"
    _error(_follow(client, f"/migrants/permits/{second.pk}/refuse/", {"reason": " "}))
    _ok(_follow(client, f"/migrants/permits/{second.pk}/refuse/", {"reason": "材料不全"}))
    second.refresh_from_db()
    assert second.state == "refused" and second.note == "材料不全"
    # Running out within the reminder window: the renewal form is on its row.
    page = _text(client.get("/migrants/permits/"))
    assert f'data-person="{one.pk}" data-kind="renew"' in page
    _error(_follow(client, f"/migrants/permits/{first.pk}/renew/", {"expires_on": ""}))
    _ok(
        _follow(
            client, f"/migrants/permits/{first.pk}/renew/", {"expires_on": str(today + timedelta(days=400))}
        )
    )
    first.refresh_from_db()
    assert first.expires_on == today + timedelta(days=400)
    _error(_follow(client, f"/migrants/permits/{first.pk}/nonsense/"))


# --- rental houses --------------------------------------------------------------------------------------


def _rental(grid, keeper, number="201", due=None):
    home = registry.household(grid, house_number=number)
    return rentals.register(keeper, home.house, first_due_on=due or timezone.localdate())


def test_rentals_overdue_first_and_another_grid_s_unseen(district, client_for):
    grid = district.grids[0]
    keeper = staff(Role.GRID_WORKER, grid)
    today = timezone.localdate()
    late = _rental(grid, keeper, "301", today - timedelta(days=12))
    later = _rental(grid, keeper, "302", today + timedelta(days=30))
    elsewhere = _rental(district.grids[3], staff(Role.GRID_WORKER, district.grids[3]), "303")
    client = client_for(keeper)
    page = _text(client.get("/migrants/rentals/"))
    overdue = page[page.index('id="overdue-rows"') : page.index('id="rental-rows"')]
    assert f'data-rental="{late.pk}"' in overdue and "12" in overdue
    assert f'data-rental="{later.pk}"' in page[page.index('id="rental-rows"') :]
    assert f'data-rental="{elsewhere.pk}"' not in page
    assert client.get(f"/migrants/rentals/{elsewhere.pk}/").status_code == 404


def test_a_let_house_is_put_on_the_schedule_from_the_rentals_page(district, client_for):
    keeper = staff(Role.GRID_WORKER, district.grids[0])
    home = registry.household(district.micro_grids[0], house_number="505").house
    House.objects.filter(pk=home.pk).update(use=House.Use.RENTED)
    elsewhere = registry.household(district.micro_grids[6], house_number="506").house
    House.objects.filter(pk=elsewhere.pk).update(use=House.Use.RENTED)
    client = client_for(keeper)
    page = _text(client.get("/migrants/rentals/"))
    assert f'data-house="{home.pk}"' in page and f'data-house="{elsewhere.pk}"' not in page
    _error(_follow(client, "/migrants/rentals/new/", {"house_id": home.pk, "interval_days": "3"}))
    assert not Rental.objects.exists()
    _ok(
        _follow(
            client, "/migrants/rentals/new/", {"house_id": home.pk, "interval_days": "60", "scheme": "market"}
        )
    )
    assert Rental.objects.get().interval_days == 60
    assert f'data-house="{home.pk}"' not in _text(client.get("/migrants/rentals/"))
    _error(_follow(client, "/migrants/rentals/new/", {"house_id": elsewhere.pk, "interval_days": "60"}))


def test_an_inspection_recorded_and_a_failed_item_reported_as_a_case_once(district, client_for):
    grid = district.grids[0]
    keeper = staff(Role.GRID_WORKER, grid)
    rental = _rental(grid, keeper)
    client = client_for(keeper)
    url = f"/migrants/rentals/{rental.pk}/"
    _error(_follow(client, f"{url}inspect/", {"result_fire_safety": "pass", "tenants_found": "2"}))
    assert not Inspection.objects.exists()
    _ok(
        _follow(
            client,
            f"{url}inspect/",
            {
                "result_fire_safety": "fail",
                "result_overcrowding": "pass",
                "result_tenants_registered": "pass",
                "tenants_found": "0",
                "notes": "楼道堆放电动车",
            },
        )
    )
    inspection = Inspection.objects.get()
    assert not inspection.passed and inspection.results["fire_safety"] == "fail"
    page = _text(client.get(url))
    assert f'data-inspection="{inspection.pk}" data-passed="0"' in page
    page = _ok(_follow(client, f"/migrants/inspections/{inspection.pk}/case/", {"item": "fire_safety"}))
    finding = Finding.objects.get()
    assert finding.case.number in page and f'data-case="{finding.case.number}"' in page
    _error(_follow(client, f"/migrants/inspections/{inspection.pk}/case/", {"item": "fire_safety"}))
    _error(_follow(client, f"/migrants/inspections/{inspection.pk}/case/", {"item": "overcrowding"}))
    assert Finding.objects.count() == 1


# --- links and the home page --------------------------------------------------------------------------


def test_employers_and_dormitory_managers_land_on_their_page_with_a_link_in_the_top_bar(
    site_a, district, client_for
):
    employer = client_for(site_a.employer_user)
    assert employer.get("/").url == "/migrants/employer/"
    own_page = _text(employer.get("/migrants/employer/"))
    assert 'id="nav-employer"' in own_page
    # None of the office's pages in an employer's top bar: it reaches its own workers only.
    assert 'href="/registry/' not in own_page and 'href="/cases/' not in own_page
    manager = client_for(site_a.manager)
    assert manager.get("/").url == "/migrants/dormitories/"
    page = _text(manager.get(f"/migrants/dormitories/{site_a.dormitory.pk}/"))
    assert 'id="nav-dormitories"' in page and 'id="nav-employer"' not in page
    assert 'href="/registry/"' in page  # the manager keeps the dormitory's registry
    keeper = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    assert keeper.get("/").status_code == 200
    console = _text(keeper.get("/console/worker/"))
    assert 'id="permits-link"' in console and 'id="rentals-link"' in console
    assert 'id="nav-dormitories"' not in console
