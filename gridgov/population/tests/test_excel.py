"""Excel in and out: templates, all-or-nothing imports with row errors, scoped masked audited exports."""

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from openpyxl import Workbook, load_workbook

from gridgov.population import excel
from gridgov.population import testing as registry
from gridgov.population.models import Building, Compound, House, Household, Organization, Person, Unit
from gridgov.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db

HEAD_ID = "11010519491231002X"  # town.head, in grid A


def workbook(kind: str, rows: list[dict], *, numeric: dict | None = None) -> bytes:
    """An .xlsx with the kind's Chinese headers and these rows (dicts by column key)."""
    columns = excel.SPECS[kind][2]
    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in columns])
    for row in rows:
        sheet.append([row.get(c.key, "") for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def estate(town):
    """A compound in grid A with 3幢 (unit 1: rooms 101, 102), and 5幢 in grid B."""
    micro_a, micro_b = town.district.micro_grids[0], town.district.micro_grids[6]
    compound = Compound.objects.create(name="枫桥花园", grid=micro_a)
    building = registry.building(micro_a, "3幢", compound=compound)
    unit = Unit.objects.create(building=building, number="1", grid=micro_a)
    for room in ("101", "102"):
        House.objects.create(building=building, unit=unit, grid=micro_a, number=room)
    far = registry.building(micro_b, "5幢")
    House.objects.create(building=far, grid=micro_b, number="201")
    town.building, town.far = building, far
    return town


def person_row(**fields) -> dict:
    return {"compound": "枫桥花园", "building": "3幢", "unit": "1", "room": "101", "name": "张三",
            "id_number": registry.id_number("19900315"), **fields}


def test_template_has_chinese_headers_an_example_and_drop_down_lists(estate):
    for kind in excel.KINDS:
        book = load_workbook(io.BytesIO(excel.template(kind)))
        sheet = book.worksheets[0]
        headers = [c.value for c in sheet[1]]
        assert headers == [c.header for c in excel.SPECS[kind][2]]
        assert any(c.value for c in sheet[2])  # the example row
    people = load_workbook(io.BytesIO(excel.template("people"))).worksheets[0]
    assert "身份证号" in [c.value for c in people[1]]
    formulas = [dv.formula1 for dv in people.data_validations.dataValidation]
    assert any("代码表" in f for f in formulas) and len(formulas) >= 5
    # The untouched template imports nothing and complains about nothing.
    report = excel.import_rows(estate.grid_leader, "people", excel.template("people"), dry_run=True)
    assert report.ok and report.total == 0


def test_good_import_creates_people_and_their_household(estate):
    rows = [
        person_row(name="张三", id_number="110105199003150017", phone="+86 138-0000-1111", relation="户主",
                   ethnicity="汉族", political_status="13", education="大学本科毕业", marital_status="已婚"),
        person_row(name="李四", id_number=registry.id_number("19920101", male=False), relation="妻",
                   is_migrant="是", arrived_on="2024/03/01", registered_address="安徽省合肥市",
                   permit_state="有效"),
        person_row(room="102", name="王五", id_number=""),
    ]
    report = excel.import_rows(estate.grid_leader, "people", workbook("people", rows), dry_run=False)
    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated, report.skipped, report.saved) == (3, 0, 0, True)
    zhang = Person.objects.get(name="张三")
    assert (zhang.birth_date, zhang.sex, zhang.phone) == (date(1990, 3, 15), "1", "13800001111")
    assert (zhang.relation, zhang.ethnicity, zhang.political_status, zhang.education,
            zhang.marital_status) == ("02", "01", "13", "21", "20")
    li = Person.objects.get(name="李四")
    assert li.household_id == zhang.household_id and li.sex == "2"
    assert (li.is_migrant, li.arrived_on, li.permit_state) == (True, date(2024, 3, 1), "valid")
    home = zhang.household
    assert home.head_name == "张三" and home.house.number == "101" and home.grid == estate.building.grid
    assert zhang.grid == estate.building.grid
    assert Person.objects.get(name="王五").household.house.number == "102"


def test_a_dry_run_reports_the_counts_and_saves_nothing(estate):
    before = (Person.objects.count(), Household.objects.count())
    report = excel.import_rows(estate.grid_leader, "people", workbook("people", [person_row()]), dry_run=True)
    assert report.ok and report.created == 1 and not report.saved
    assert (Person.objects.count(), Household.objects.count()) == before


def test_broken_rows_are_reported_by_row_column_value_and_reason_in_chinese(estate):
    rows = [
        person_row(name="好人"),
        person_row(name="错号", id_number="110105199003150015"),
        person_row(name="错电话", phone="12345"),
        person_row(name="错民族", ethnicity="火星族"),
        person_row(name="", room="999"),
        person_row(name="错日期", is_migrant="是", arrived_on="去年"),
    ]
    data = workbook("people", rows)
    report = excel.import_rows(estate.grid_leader, "people", data, dry_run=False)
    assert not report.saved and report.created == 1
    found = {(e.row, e.column): e for e in report.errors}
    assert found[(3, "身份证号")].value == "110105199003150015" and "校验" in found[(3, "身份证号")].message
    assert found[(4, "手机号")].value == "12345" and "手机" in found[(4, "手机号")].message
    assert "代码" in found[(5, "民族")].message
    assert found[(6, "姓名")].message == "此列必须填写。"
    assert found[(6, "房号")].value == "999" and "999" in found[(6, "房号")].message
    assert "2024-03-01" in found[(7, "来本地日期")].message
    assert "第 3 行" in str(found[(3, "身份证号")])
    assert not Person.objects.filter(name="好人").exists()


def test_an_id_number_typed_as_a_number_is_caught(estate):
    report = excel.import_rows(estate.grid_leader, "people",
                               workbook("people", [person_row(id_number=110105199003150017)]), dry_run=True)
    assert [(e.row, e.column) for e in report.errors] == [(2, "身份证号")]
    assert "文本" in report.errors[0].message


def test_the_same_id_number_twice_in_a_file_is_a_row_error(estate):
    number = registry.id_number("19851010")
    rows = [person_row(name="甲", id_number=number), person_row(name="乙", id_number=number.lower())]
    report = excel.import_rows(estate.grid_leader, "people", workbook("people", rows), dry_run=False)
    assert [(e.row, e.column) for e in report.errors] == [(3, "身份证号")]
    assert "第 2 行" in report.errors[0].message
    assert not report.saved and not Person.objects.filter(name__in=["甲", "乙"]).exists()


def test_an_existing_person_is_updated_by_id_number_not_duplicated(estate):
    count = Person.objects.count()
    row = person_row(name="王建国", id_number=HEAD_ID.lower(), phone="13999998888", education="初中毕业")
    report = excel.import_rows(estate.grid_leader, "people", workbook("people", [row]), dry_run=False)
    assert report.ok and (report.created, report.updated) == (0, 1)
    assert Person.objects.count() == count
    head = Person.objects.get(pk=estate.head.pk)
    assert (head.phone, head.education) == ("13999998888", "71")
    assert head.household.house.building == estate.building
    # bulk_update does not run pre_save: the lookup hash must follow the new phone.
    assert list(Person.objects.filter(phone_hash=excel._hash_field(Person, "phone").digest("13999998888"))) \
        == [head]
    again = excel.import_rows(estate.grid_leader, "people", workbook("people", [row]), dry_run=False)
    assert (again.created, again.updated, again.skipped) == (0, 0, 1)


def test_import_outside_the_actors_registry_scope_is_refused_row_by_row(estate):
    rows = [person_row(name="甲"), person_row(name="乙", compound="", building="5幢", unit="", room="201"),
            person_row(name="赵六", id_number=estate.stranger.id_number)]
    report = excel.import_rows(estate.grid_leader, "people", workbook("people", rows), dry_run=False)
    found = {e.row: e for e in report.errors}
    assert set(found) == {3, 4} and not report.saved, [str(e) for e in report.errors]
    assert found[3].column == "楼栋" and estate.far.grid.code in found[3].message
    assert "无权" in found[3].message
    assert found[4].column == "身份证号" and "已登记" in found[4].message
    # A grid worker keeps the registry but may not import it.
    worker = excel.import_rows(estate.worker, "people", workbook("people", rows[:1]), dry_run=False)
    assert [e.row for e in worker.errors] == [2] and "无权" in worker.errors[0].message
    chosen = excel.import_rows(estate.leader, "people", workbook("people", rows[:1]), dry_run=True,
                               grid=estate.far.grid.code)
    assert "之外" in chosen.errors[0].message or estate.far.grid.code in chosen.errors[0].message


def test_export_is_scoped_masked_audited_and_watermarked(estate):
    data = excel.export(estate.grid_leader, "people", reason="季度走访")
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet["A1"].value.startswith("导出人：") and "仅限工作使用" in sheet["A1"].value
    assert estate.grid_leader.name in sheet["A1"].value
    assert "导出人" in sheet.oddHeader.center.text and "导出人" in sheet.oddFooter.center.text
    headers = [c.value for c in sheet[2]]
    rows = [dict(zip(headers, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=3)]
    assert {r["姓名"] for r in rows} == {"王建国", "李秀英"}  # not 赵六 of grid B
    head = next(r for r in rows if r["姓名"] == "王建国")
    assert head["身份证号"] == "110105********002X" and head["手机号"] == "138****5678"
    entry = AuditEntry.objects.get(actor=estate.grid_leader)
    assert (entry.action, entry.object_type, entry.object_id, entry.field, entry.reason) == (
        "export", "population.person", "", "people", "季度走访")
    full = load_workbook(io.BytesIO(excel.export(estate.leader, "people"))).worksheets[0]
    values = {c.value for row in full.iter_rows(min_row=3) for c in row}
    assert HEAD_ID in values and "赵六" in values
    scoped = excel.export(estate.leader, "people", grid=estate.grid_a.code)
    assert AuditEntry.objects.filter(actor=estate.leader, object_id=estate.grid_a.code).count() == 1
    assert "赵六" not in {c.value for row in load_workbook(io.BytesIO(scoped)).worksheets[0].iter_rows()
                         for c in row}


def test_an_export_imports_again_unchanged(estate):
    data = excel.export(estate.leader, "people")
    report = excel.import_rows(estate.leader, "people", data, dry_run=False)
    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated, report.skipped) == (0, 0, 3)


def test_the_database_holds_no_plaintext_id_number_after_an_import(estate):
    number = registry.id_number("19770707")
    excel.import_rows(estate.grid_leader, "people",
                      workbook("people", [person_row(id_number=number, phone="13700001234")]), dry_run=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, id_number_hash, phone FROM population_person")
        stored = cursor.fetchall()
    assert stored and all(number not in " ".join(filter(None, row)) for row in stored)
    assert all("13700001234" not in (row[2] or "") for row in stored)
    mine = Person.objects.get(name="张三")
    assert mine.id_number == number and mine.id_number_hash == excel._hash_field(Person, "id_number").digest(
        number)


def test_houses_households_and_organizations_import(estate):
    houses = excel.import_rows(estate.grid_leader, "houses", workbook("houses", [
        {"compound": "枫桥花园", "building": "3幢", "unit": "2单元", "room": "201", "floor": 2, "use": "出租",
         "landlord_name": "李秀英", "landlord_phone": "13900001111", "lease_start": "2025-03-01",
         "lease_end": "2026-02-28", "area_m2": "89.5"},
        {"compound": "枫桥花园", "building": "3幢", "unit": "1", "room": "101", "use": "空置"},
    ]), dry_run=False)
    assert houses.ok, [str(e) for e in houses.errors]
    assert (houses.created, houses.updated) == (1, 1)
    rented = House.objects.get(number="201", building=estate.building)
    assert rented.unit.number == "2" and rented.is_rental and rented.landlord_phone == "13900001111"
    households = excel.import_rows(estate.grid_leader, "households", workbook("households", [
        {"compound": "枫桥花园", "building": "3幢", "unit": "2", "room": "201", "household": "H9",
         "kind": "租户", "head_name": "陈租"}]), dry_run=False)
    assert households.ok and Household.objects.get(number="H9").house == rented
    orgs = excel.import_rows(estate.grid_leader, "organizations", workbook("organizations", [
        {"name": "枫桥便利店", "kind": "个体工商户", "credit_code": "91110000600037341L",
         "compound": "枫桥花园", "building": "3幢", "contact_phone": "13900002222", "employee_count": 3},
        {"name": "无处可去", "credit_code": "91110000600037341X"},
    ]), dry_run=False)
    assert {(e.row, e.column) for e in orgs.errors} == {(3, "统一社会信用代码"), (3, "楼栋")}
    assert not Organization.objects.filter(name="枫桥便利店").exists()


def test_the_commands_import_and_export(estate, tmp_path):
    source = tmp_path / "people.xlsx"
    source.write_bytes(workbook("people", [person_row(name="命令行")]))
    call_command("import_registry", "people", str(source), "--dry-run", "--user", estate.grid_leader.username,
                 verbosity=0)
    assert not Person.objects.filter(name="命令行").exists()
    call_command("import_registry", "people", str(source), "--user", estate.grid_leader.username, verbosity=0)
    assert Person.objects.filter(name="命令行").exists()
    out = tmp_path / "out.xlsx"
    call_command("export_registry", "people", str(out), "--user", estate.grid_leader.username,
                 "--grid", estate.grid_a.code, verbosity=0)
    assert "命令行" in {c.value for row in load_workbook(out).worksheets[0].iter_rows() for c in row}
    assert Building.objects.filter(name="3幢").exists()


def test_the_benchmark_workbook_imports(district, tmp_path):
    """bench/registry.py in small: its Excel-like file (shared strings, used range) imports whole."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    import registry as bench

    from gridgov.accounts.models import Role
    from gridgov.core.testing import staff

    places = bench.build_places(bench.house_count(60))
    path = tmp_path / "people.xlsx"
    bench.write_workbook(path, 60, places)
    report = excel.import_rows(staff(Role.LEADER, district.street), "people", path, dry_run=False)
    assert report.ok, [str(e) for e in report.errors[:3]]
    assert report.created == Person.objects.count() == 60
    assert Person.objects.filter(is_migrant=True, arrived_on__isnull=False).exists()
