"""Employers register their workers through the API: one by one or from Excel (every row checked, all
saved or none), see only their own, and a worker who leaves loses bed and card with the job."""

import io
from datetime import date, timedelta

import pytest
from django.utils import timezone
from openpyxl import Workbook

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.migrants import employers
from gridgov.migrants.models import AccessCard, Employment, Lessee, Stay
from gridgov.migrants.tests.conftest import worker
from gridgov.population import testing as registry
from gridgov.population.models import Person

pytestmark = pytest.mark.django_db
API = "/api/v1/migrants"


def workbook(rows) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in employers.WORKERS])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "workers.xlsx"
    return buffer


def upload(client, organization, rows, **form):
    return client.post(
        f"{API}/employers/{organization.pk}/workers/import",
        {"file": workbook(rows), **{k: str(v).lower() for k, v in form.items()}},
    )


def test_an_employer_registers_a_worker_who_waits_for_a_bed_in_the_dormitory(site_a, client_for):
    client = client_for(site_a.employer_user)
    number = registry.id_number("19990101")
    response = client.post(
        f"{API}/employers/{site_a.employer.pk}/workers",
        {
            "name": "王芳",
            "id_number": number,
            "started_on": "2026-06-01",
            "phone": "13912340000",
            "registered_address": "河南省周口市",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["person"]["id_number"] != number and body["person"]["phone"].startswith("139")
    assert "*" in body["person"]["phone"]
    person = Person.objects.get(pk=body["person"]["id"])
    assert person.id_number == number and person.is_migrant and person.arrived_on == date(2026, 6, 1)
    assert person.grid == site_a.grid and person.employer == site_a.employer
    twice = client.post(
        f"{API}/employers/{site_a.employer.pk}/workers",
        {"name": "王芳", "id_number": number, "started_on": "2026-06-01"},
        content_type="application/json",
    )
    assert twice.status_code == 400 and "id_number" in twice.json()["errors"]
    waiting = client_for(site_a.manager).get(f"{API}/dormitories/{site_a.dormitory.pk}/waiting").json()
    assert [w["name"] for w in waiting["items"]] == ["王芳"]


def test_a_bad_id_number_is_refused_in_the_user_s_language(site_a, client_for):
    response = client_for(site_a.employer_user).post(
        f"{API}/employers/{site_a.employer.pk}/workers",
        {"name": "王芳", "id_number": "110105194912310021", "started_on": "2099-01-01"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"id_number", "started_on"}
    assert not Employment.objects.exists()


def test_an_excel_of_workers_is_saved_whole_and_beds_given_by_the_manager(site_a, client_for):
    rows = [
        (
            f"工人{n}",
            registry.id_number("19970303"),
            f"1391234{n:04d}",
            "2026-05-01",
            "2026-04-20",
            "四川省南充市",
            "是",
        )
        for n in range(6)
    ]
    employer = client_for(site_a.employer_user)
    checked = upload(employer, site_a.employer, rows, dry_run=True)
    assert checked.json() == {
        "total": 6,
        "created": 6,
        "updated": 0,
        "saved": False,
        "assigned": 0,
        "errors": [],
    }
    assert not Person.objects.filter(name__startswith="工人").exists()
    # Beds are the manager's to give: an employer asking for them is refused before anything is read.
    assert upload(employer, site_a.employer, rows, assign_beds=True).status_code == 403
    saved = upload(client_for(site_a.manager), site_a.employer, rows, assign_beds=True)
    assert saved.json()["saved"] is True and saved.json()["assigned"] == 6
    assert Stay.objects.filter(checked_out_on=None).count() == 6
    listed = employer.get(f"{API}/employers/{site_a.employer.pk}/workers").json()
    assert listed["count"] == 6 and all(w["bed"] for w in listed["items"])


def test_one_bad_row_saves_nothing_and_every_error_is_named(site_a, client_for):
    good = registry.id_number("19970303")
    rows = [
        ("工人甲", good, "", "2026-05-01", "", "", ""),
        ("工人乙", "12345", "", "2026-05-01", "", "", ""),
        ("工人丙", good, "", "", "", "", ""),
        ("", registry.id_number("19970304"), "", "2026-05-01", "", "", ""),
    ]
    response = upload(client_for(site_a.employer_user), site_a.employer, rows)
    body = response.json()
    assert body["saved"] is False and not Person.objects.filter(name__startswith="工人").exists()
    where = {(e["row"], e["column"]) for e in body["errors"]}
    assert (3, "身份证号") in where  # not an ID number
    assert (4, "身份证号") in where  # the same person as row 2
    assert (5, "姓名") in where


def test_a_person_the_registry_knows_is_linked_not_duplicated(site_a, district, client_for):
    known = registry.person(
        registry.household(district.micro_grids[0]), "赵敏", id_number=registry.id_number()
    )
    response = upload(
        client_for(site_a.employer_user),
        site_a.employer,
        [("赵敏", known.id_number, "", "2026-05-01", "", "", "否")],
    )
    assert response.json()["created"] == 0 and response.json()["updated"] == 1
    assert Person.objects.filter(id_number_hash=known.id_number_hash).count() == 1
    assert Employment.objects.get().person == known


def test_leaving_ends_the_bed_and_blocks_the_card(site_a, client_for):
    person = worker(site_a)
    manager = client_for(site_a.manager)
    manager.post(f"{API}/dormitories/{site_a.dormitory.pk}/assign", {}, content_type="application/json")
    manager.post(
        f"{API}/dormitories/{site_a.dormitory.pk}/cards",
        {"person_id": person.pk, "number": "C1"},
        content_type="application/json",
    )
    employment = Employment.objects.get(person=person)
    left = client_for(site_a.employer_user).post(
        f"{API}/employments/{employment.pk}/end", {"reason": "合同到期"}, content_type="application/json"
    )
    assert left.status_code == 200 and left.json()["ended_on"] == str(timezone.localdate())
    assert Stay.objects.get(person=person).checked_out_on == timezone.localdate()
    assert AccessCard.objects.get(number="C1").state == "blocked"
    person.refresh_from_db()
    assert person.dormitory_bed == "" and person.employer is None
    again = client_for(site_a.employer_user).post(
        f"{API}/employments/{employment.pk}/end", {}, content_type="application/json"
    )
    assert again.status_code == 409


def test_an_employer_sees_only_its_own_workers(site_a, site_b, district, client_for):
    mine, theirs = worker(site_a, "甲厂工人"), worker(site_b, "乙厂工人")
    client = client_for(site_a.employer_user)
    assert [e["name"] for e in client.get(f"{API}/employers").json()] == ["电子厂1"]
    assert client.get(f"{API}/employers/{site_b.employer.pk}/workers").status_code == 404
    assert (
        client.post(
            f"{API}/employers/{site_b.employer.pk}/workers",
            {"name": "冒名", "id_number": registry.id_number(), "started_on": "2026-05-01"},
            content_type="application/json",
        ).status_code
        == 404
    )
    other = Employment.objects.get(person=theirs)
    assert (
        client.post(f"{API}/employments/{other.pk}/end", {}, content_type="application/json").status_code
        == 404
    )
    # The registry stays closed to an employer's account.
    assert client.get(f"/api/v1/registry/people/{mine.pk}").status_code in (403, 404)
    assert client.get("/api/v1/registry/people").json()["count"] == 0
    assert client.get(f"{API}/dormitories/{site_a.dormitory.pk}").status_code == 404


def test_the_workers_template_has_the_columns(client_for, site_a):
    response = client_for(site_a.employer_user).get(f"{API}/workers/template")
    assert response.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]][:4] == ["姓名", "身份证号", "手机号", "入职日期"]


def test_staff_of_the_grid_register_for_an_employer_with_no_account(district, client_for):
    shop = registry.organization(district.micro_grids[0], "枫桥饭店")
    keeper = staff(Role.GRID_WORKER, district.grids[0])
    response = client_for(keeper).post(
        f"{API}/employers/{shop.pk}/workers",
        {
            "name": "钱多",
            "id_number": registry.id_number(),
            "started_on": str(timezone.localdate() - timedelta(days=3)),
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Person.objects.get(name="钱多").grid == shop.grid  # no dormitory houses the shop


def test_the_employers_list_reads_their_dormitories_in_one_query(site_a, district, client_for):
    """However many employers a manager sees, their dormitories are read at once (it was a query
    per employer)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(site_a.manager)

    def listed():
        with CaptureQueriesContext(connection) as queries:
            rows = client.get(f"{API}/employers").json()
        return rows, len(queries)

    one, queries_for_one = listed()
    for n in range(3):
        company = registry.organization(district.grids[0], f"五金厂{n}")
        Lessee.objects.create(dormitory=site_a.dormitory, organization=company)
    many, queries_for_many = listed()
    assert [e["dormitory"] for e in one] == ["木桥公寓1"]
    assert len(many) == 4 and {e["dormitory"] for e in many} == {"木桥公寓1"}
    assert queries_for_many == queries_for_one
