"""Excel in and out for the registry: templates, all-or-nothing imports, scoped and audited exports.

One column list per kind serves the template, the importer and the export, so an
exported file (read with the same headers) imports again. Headers are fixed Chinese
(the file format does not change with the UI language); error messages follow the
user's language.

Imports read every row first, validate each with the registry's own rules
(`services.clean_person`, `codes`), then write everything in one transaction with
bulk inserts (new people through `gridgov.core.bulk`: executemany, COPY on PostgreSQL) and
bulk updates, or nothing at all (a dry run, or any row error). Lookups are
loaded once into dicts and keyed hashes computed once per row, so 100,000 people import
in well under a minute (bench/registry.py).

Exports list `visible_to(actor)` rows only, mask ID numbers and phones unless the actor
holds `Perm.EXPORT_PERSONAL` for the row's grid, watermark the workbook with the
exporter's name and time, and write one `AuditEntry(action=EXPORT)` each.
"""

import gc
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.core import bulk
from gridgov.core.scope import registry_scope_of
from gridgov.grids.models import Grid
from gridgov.population import codes, services
from gridgov.population.models import Building, House, Household, Organization, Person, Unit
from gridgov.privacy import audit
from gridgov.privacy.masking import mask_id_number, mask_phone, normalize_phone, validate_phone
from gridgov.privacy.models import AuditEntry

KINDS = ("people", "households", "houses", "organizations")
HEADER_SCAN_ROWS = 5  # an export starts with its watermark line; the header follows
IN_CHUNK = 900  # below SQLite's 999 parameters per query
WRITE_BATCH = 1000
HEAD_RELATIONS = {"01", "02", "03"}
TEMPLATE_ROWS = 5000  # rows the template's drop-down lists cover


# --- columns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # fixed Chinese: the file format
    value_type: str = "text"  # text, code, choice, date, bool, int, decimal
    required: bool = False
    table: str = ""  # a codes.TABLES name, for type "code"
    choices: type[TextChoices] | None = None  # for type "choice"
    max_length: int = 0
    width: int = 12
    example: object = ""
    as_text: bool = False  # Excel must keep it as text (ID numbers, phones, room numbers)


def _place(room: bool = True) -> list[Column]:
    columns = [
        Column("grid_code", "网格编码", max_length=30, width=18, example="320505003001001001", as_text=True),
        Column("compound", "小区", max_length=100, width=14, example="枫桥花园"),
        Column("building", "楼栋", required=True, max_length=100, example="3幢"),
        Column("unit", "单元", max_length=20, width=8, example="1", as_text=True),
    ]
    if room:
        columns.append(Column("room", "房号", required=True, max_length=20, width=8, example="301",
                              as_text=True))
    return columns


PEOPLE = [
    *_place(),
    Column("household", "户编号", max_length=30, example="H0001", as_text=True),
    Column("name", "姓名", required=True, max_length=50, width=10, example="王建国"),
    Column("id_number", "身份证号", max_length=18, width=21, example="11010519491231002X", as_text=True),
    Column("phone", "手机号", max_length=20, width=14, example="13812345678", as_text=True),
    Column("ethnicity", "民族", "code", table="ethnicity", width=10, example="汉族"),
    Column("relation", "与户主关系", "code", table="relation", example="户主"),
    Column("political_status", "政治面貌", "code", table="political_status", example="群众"),
    Column("education", "文化程度", "code", table="education", width=14, example="大学本科毕业"),
    Column("marital_status", "婚姻状况", "code", table="marital_status", example="已婚"),
    Column("is_migrant", "流动人口", "bool", width=9, example="否"),
    Column("arrived_on", "来本地日期", "date", example=""),
    Column("registered_address", "户籍地址", max_length=200, width=24, example="北京市西城区某街道"),
    Column("employer", "工作单位", max_length=100, width=18, example="枫桥便利店"),
    Column("permit_state", "居住证", "choice", choices=Person.PermitState, width=9, example=""),
]

HOUSEHOLDS = [
    *_place(),
    Column("household", "户编号", max_length=30, example="H0001", as_text=True),
    Column("kind", "户类型", "choice", choices=Household.Kind, example="家庭户"),
    Column("head_name", "户主姓名", max_length=50, width=10, example="王建国"),
    Column("is_active", "在住", "bool", width=8, example="是"),
]

HOUSES = [
    *_place(),
    Column("floor", "楼层", "int", width=6, example=3),
    Column("area_m2", "建筑面积(㎡)", "decimal", example="89.5"),
    Column("use", "房屋用途", "choice", choices=House.Use, example="出租"),
    Column("landlord_name", "房东姓名", max_length=50, width=10, example="李秀英"),
    Column("landlord_phone", "房东电话", max_length=20, width=14, example="13900001111", as_text=True),
    Column("lease_start", "租期开始", "date", example="2025-03-01"),
    Column("lease_end", "租期结束", "date", example="2026-02-28"),
]

ORGANIZATIONS = [
    Column("grid_code", "网格编码", max_length=30, width=18, example="320505003001001001", as_text=True),
    Column("name", "单位名称", required=True, max_length=150, width=20, example="枫桥便利店"),
    Column("kind", "单位类型", "choice", choices=Organization.Kind, example="个体工商户"),
    Column("credit_code", "统一社会信用代码", max_length=18, width=21, example="91110000600037341L",
           as_text=True),
    Column("compound", "小区", max_length=100, width=14, example="枫桥花园"),
    Column("building", "楼栋", max_length=100, example="3幢"),
    Column("address", "地址", max_length=200, width=24, example="枫桥路12号"),
    Column("contact_name", "联系人", max_length=50, width=10, example="张伟"),
    Column("contact_phone", "联系电话", max_length=20, width=14, example="13900002222", as_text=True),
    Column("employee_count", "从业人数", "int", width=8, example=5),
]

SPECS = {
    "people": (Person, "实有人口", PEOPLE),
    "households": (Household, "户", HOUSEHOLDS),
    "houses": (House, "房屋", HOUSES),
    "organizations": (Organization, "单位组织", ORGANIZATIONS),
}


def _spec(kind: str):
    if kind not in SPECS:
        raise ValidationError({"kind": _("Unknown kind %(kind)s; choose one of: %(kinds)s.")
                               % {"kind": kind, "kinds": ", ".join(KINDS)}})
    return SPECS[kind]


@translation.override("zh-hans")
def _choice_labels(choices) -> list[str]:
    """Choice labels in Chinese: the file format does not follow the UI language."""
    return [str(label) for label in choices.labels]


def _example_row(columns: list[Column]) -> tuple[str, ...]:
    return tuple(str(c.example) for c in columns)


# --- reports -------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int  # the row number Excel shows; 0 for the file as a whole
    column: str  # the header as in the file
    value: str
    message: str

    def __str__(self) -> str:
        where = _("row %d") % self.row if self.row else _("file")
        what = f"{self.column} “{self.value}”" if self.value else self.column
        return f"{where} {what}: {self.message}" if what else f"{where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did (or, for a dry run or a failed import, would do: `saved` tells)."""

    kind: str
    dry_run: bool
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0  # rows equal to what is stored already
    errors: list[RowError] = field(default_factory=list)
    saved: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# --- reading cells -------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_TRUE = {"是", "y", "yes", "true", "1", "√", "流动人口"}
_FALSE = {"否", "n", "no", "false", "0", "户籍人口"}
_UNIT_SUFFIX = re.compile(r"\s*单元$")


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _unit_key(value: str) -> str:
    return _UNIT_SUFFIX.sub("", value or "").strip()


class _CodeLookup:
    """Code or label → code for every national code table and choice set, built once."""

    def __init__(self):
        self.tables = {name: {**{label: code for code, label in rows}, **{code: code for code, _l in rows}}
                       for name, rows in codes.TABLES.items()}
        self.choices: dict[type, dict[str, str]] = {}

    def code(self, table: str, value: str) -> str:
        return self.tables[table].get(value) or codes.code_for(table, value)

    def choice(self, choices, value: str) -> str:
        if choices not in self.choices:
            known = {str(v): v for v in choices.values}
            with translation.override("zh-hans"):
                known |= {str(label): v for v, label in choices.choices}
            with translation.override("en"):
                known |= {str(label).lower(): v for v, label in choices.choices}
            self.choices[choices] = known
        known = self.choices[choices]
        return known.get(value) or known.get(value.lower(), "")


class Cells:
    """One data row: typed access to its cells; every problem becomes a RowError."""

    def __init__(self, row: int, values: dict[str, object], texts: dict[str, str],
                 columns: dict[str, Column], report: ImportReport, lookup: _CodeLookup):
        self.row, self.values, self.texts, self.columns = row, values, texts, columns
        self._report, self._lookup = report, lookup
        self.failed_keys: set[str] = set()

    @property
    def failed(self) -> bool:
        return bool(self.failed_keys)

    def raw(self, key: str):
        return self.values.get(key)

    def given(self, key: str) -> bool:
        return self.texts.get(key, "") != ""

    def error(self, key: str, message: str, value=None) -> None:
        column = self.columns.get(key)
        header = column.header if column else key
        shown = _as_text(self.values.get(key) if value is None else value)
        self._report.errors.append(RowError(self.row, header, shown, str(message)))
        self.failed_keys.add(key)

    def text(self, key: str) -> str:
        value = self.texts.get(key, "")
        column = self.columns.get(key)
        if column is not None and column.required and not value:
            self.error(key, _("This column must be filled in."))
        elif column is not None and column.max_length and len(value) > column.max_length:
            self.error(key, _("At most %d characters.") % column.max_length)
            return value[: column.max_length]
        return value

    def code(self, key: str) -> str:
        value = self.text(key)
        if not value:
            return ""
        found = self._lookup.code(self.columns[key].table, value)
        if not found:
            self.error(key, _("Not in the code table: use a code or a name from the list."))
        return found

    def choice(self, key: str) -> str:
        value = self.text(key)
        if not value:
            return ""
        column = self.columns[key]
        found = self._lookup.choice(column.choices, value)
        if not found:
            self.error(key, _("Choose one of: %s.") % "、".join(_choice_labels(column.choices)))
        return found

    def date(self, key: str) -> date | None:
        value = self.values.get(key)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = self.texts.get(key, "")
        if not text:
            return None
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.error(key, _("Enter a date like 2024-03-01."))
        return None

    def flag(self, key: str) -> bool | None:
        text = self.texts.get(key, "").lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.error(key, _("Enter 是 or 否."))
        return None

    def integer(self, key: str) -> int | None:
        text = self.texts.get(key, "")
        if not text:
            return None
        try:
            number = int(text)
        except ValueError:
            self.error(key, _("Enter a whole number."))
            return None
        if number < 0:
            self.error(key, _("Enter a whole number."))
            return None
        return number

    def decimal(self, key: str) -> Decimal | None:
        text = self.texts.get(key, "")
        if not text:
            return None
        try:
            number = Decimal(text).quantize(Decimal("0.1"))
        except InvalidOperation:
            self.error(key, _("Enter a number, e.g. 89.5."))
            return None
        if number < 0 or number >= 1_000_000:
            self.error(key, _("Enter a number, e.g. 89.5."))
            return None
        return number

    def id_number(self, key: str = "id_number") -> str:
        value = self.values.get(key)
        if isinstance(value, int | float) and abs(value) >= 1e15:
            # Excel keeps 15 significant digits: the last ones of an 18-digit number are gone.
            self.error(key, _("Excel stored this ID number as a number and lost its last digits: "
                              "format the column as text and type it again."))
            return ""
        return self.text(key)

    def phone(self, key: str) -> str:
        value = self.text(key)
        if not value:
            return ""
        try:
            validate_phone(value)
        except ValidationError as exc:
            self.error(key, exc.messages[0])
            return ""
        return normalize_phone(value)


def _open_rows(file, columns: list[Column], report: ImportReport) -> list[Cells]:
    """The data rows of the first sheet, after the header row (found among the first few)."""
    from openpyxl import load_workbook

    if isinstance(file, bytes | bytearray):
        file = io.BytesIO(file)
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) for a bad file
        report.errors.append(RowError(0, "", "", _("The file is not an Excel workbook (.xlsx).")))
        return []
    try:
        return _rows_of(workbook.worksheets[0], columns, report)
    finally:
        workbook.close()


def _header_index(row, columns: list[Column]) -> dict[str, int]:
    names = {}
    for column in columns:
        names[column.header] = column.key
        names[column.key] = column.key
    index = {}
    for position, cell in enumerate(row):
        key = names.get(_as_text(cell).lstrip("*").rstrip("*").strip())
        if key and key not in index:
            index[key] = position
    return index


def _rows_of(sheet, columns: list[Column], report: ImportReport) -> list[Cells]:
    by_key = {c.key: c for c in columns}
    required = {c.key for c in columns if c.required}
    lookup = _CodeLookup()
    example = _example_row(columns)
    keys = [c.key for c in columns]
    rows = sheet.iter_rows(values_only=True)
    index: dict[str, int] = {}
    header_row = 0
    for header_row, row in enumerate(rows, 1):
        index = _header_index(row, columns)
        if required <= index.keys() or header_row >= HEADER_SCAN_ROWS:
            break
    missing = [by_key[k].header for k in sorted(required - index.keys())]
    if missing:
        report.errors.append(RowError(0, "、".join(missing), "", _("The header row lacks these columns.")))
        return []
    found = []
    for number, row in enumerate(rows, header_row + 1):
        values = {key: row[pos] if pos < len(row) else None for key, pos in index.items()}
        texts = {key: _as_text(value) for key, value in values.items()}  # once per cell
        if not any(texts.values()):
            continue
        if tuple(texts.get(key, "") for key in keys) == example:
            continue  # the template's example row, left in by the user
        found.append(Cells(number, values, texts, by_key, report, lookup))
    return found


# --- where rows go: places and permission --------------------------------------------------


def _chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Gate:
    """Whether the actor may import into a grid: the permission and the registry scope, cached."""

    def __init__(self, actor, chosen: Grid | None):
        self.actor, self.chosen = actor, chosen
        self.scope = registry_scope_of(actor)
        self._cache: dict[int, bool] = {}

    def allows(self, grid: Grid) -> bool:
        allowed = self._cache.get(grid.pk)
        if allowed is None:
            allowed = self.scope.covers(grid.code) and has_perm(self.actor, Perm.IMPORT_REGISTRY, grid)
            self._cache[grid.pk] = allowed
        return allowed

    def check(self, cells: Cells, grid: Grid, key: str) -> bool:
        if self.chosen is not None and not grid.code.startswith(self.chosen.code):
            cells.error(key, _("This is in grid %(grid)s, outside grid %(chosen)s chosen for this import.")
                        % {"grid": grid.code, "chosen": self.chosen.code})
            return False
        if not self.allows(grid):
            cells.error(key, _("You may not import into grid %s.") % grid.code)
            return False
        return True


class _Places:
    """The buildings, units, houses and households a file names, loaded in a few queries."""

    def __init__(self, rows: list[Cells], *, houses: bool = True, households: bool = True):
        names = sorted({_as_text(c.raw("building")) for c in rows} - {""})
        self.buildings: dict[str, list[Building]] = defaultdict(list)
        for chunk in _chunks(names):
            for building in Building.objects.filter(name__in=chunk).select_related("compound", "grid"):
                self.buildings[building.name].append(building)
        ids = [b.pk for found in self.buildings.values() for b in found]
        self.units = {(u.building_id, _unit_key(u.number)): u
                      for chunk in _chunks(ids) for u in Unit.objects.filter(building_id__in=chunk)}
        self.houses: dict[tuple, House] = {}
        self.households: dict[int, list[Household]] = defaultdict(list)
        self._matches: dict[tuple, list[Building]] = {}
        if houses:
            self._load_houses(ids, households)

    def _load_houses(self, building_ids: list[int], households: bool) -> None:
        units = {u.pk: u for u in self.units.values()}
        grids = {b.pk: b.grid for found in self.buildings.values() for b in found}
        for chunk in _chunks(building_ids):
            for house in House.objects.filter(building_id__in=chunk):
                unit = units.get(house.unit_id)
                house.grid = grids[house.building_id]  # cached: no query per row later
                self.houses[(house.building_id, _unit_key(unit.number) if unit else "", house.number)] = house
        if households:
            house_ids = [h.pk for h in self.houses.values()]
            by_id = {h.pk: h for h in self.houses.values()}
            for chunk in _chunks(house_ids):
                for household in Household.objects.filter(house_id__in=chunk).order_by("pk"):
                    household.house = by_id[household.house_id]
                    self.households[household.house_id].append(household)

    def building(self, cells: Cells, *, required: bool = True) -> Building | None:
        name, compound = cells.text("building"), cells.text("compound")
        if not name:
            return None
        grid_code = cells.text("grid_code")
        key = (name, compound, grid_code)
        found = self._matches.get(key)
        if found is None:  # rows of one building follow each other: match once
            found = self._matches[key] = [
                b for b in self.buildings.get(name, ())
                if (not compound or (b.compound_id and b.compound.name == compound))
                and b.grid.code.startswith(grid_code)]
        if len(found) == 1:
            return found[0]
        where = f"{compound}{name}"
        if not found:
            cells.error("building", _("No building %s in the registry: add it first.") % where, value=name)
        else:
            cells.error("building", _("Several buildings are called %s: give the compound or the grid code.")
                        % where, value=name)
        return None

    def house(self, cells: Cells, building: Building) -> House | None:
        unit, room = _unit_key(cells.text("unit")), cells.text("room")
        house = self.houses.get((building.pk, unit, room))
        if house is None and room:
            cells.error("room", _("No room %(room)s (unit %(unit)s) in %(building)s: add the house first.")
                        % {"room": room, "unit": unit or "—", "building": building}, value=room)
        return house


# --- importers -----------------------------------------------------------------------------


class _Import:
    """One kind's import: `prepare` loads lookups, `row` validates and stages, `commit` writes."""

    columns: list[Column] = []

    def __init__(self, actor, report: ImportReport, chosen: Grid | None):
        self.actor, self.report = actor, report
        self.gate = _Gate(actor, chosen)
        self.today = date.today()

    def prepare(self, rows: list[Cells]) -> None:
        raise NotImplementedError

    def row(self, cells: Cells) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def stage(self, obj, fields: list[str], *, is_new: bool, before: tuple | None, pending: dict) -> None:
        """Count the row and keep the object for the write, unless nothing changed."""
        if is_new:
            self.report.created += 1
            pending["new"].append(obj)
        elif before == tuple(getattr(obj, f) for f in fields):
            self.report.skipped += 1
        else:
            self.report.updated += 1
            pending["changed"].append(obj)


def _snapshot(obj, fields: list[str]) -> tuple:
    return tuple(getattr(obj, f) for f in fields)


def _hash_field(model, source: str):
    from gridgov.privacy.fields import LookupHashField

    return next(f for f in model._meta.fields if isinstance(f, LookupHashField) and f.source == source)


def _refresh_hashes(objs: list, model) -> None:
    """`bulk_update` does not run `pre_save`: set each lookup hash from its source first."""
    from gridgov.privacy.fields import LookupHashField

    hash_fields = [f for f in model._meta.fields if isinstance(f, LookupHashField)]
    for obj in objs:
        for hash_field in hash_fields:
            setattr(obj, hash_field.attname, hash_field.digest(getattr(obj, hash_field.source)))


def people_by_id_number(rows: list[Cells]) -> tuple[dict[int, str], dict[str, Person]]:
    """Each row's ID-number hash (by row number; "" for none) and the registry's people with those
    numbers (by hash), read once for the whole file."""
    hash_field = _hash_field(Person, "id_number")
    hashes = {}
    for cells in rows:
        # Only text cells: a numeric one has lost digits and is reported by the row's check.
        raw = cells.raw("id_number")
        number = codes.normalize_id_number(raw) if isinstance(raw, str) else ""
        hashes[cells.row] = hash_field.digest(number) if number else ""
    wanted = sorted(set(hashes.values()) - {""})
    existing = {p.id_number_hash: p for chunk in _chunks(wanted)
                for p in Person.objects.filter(id_number_hash__in=chunk).select_related("grid")}
    return hashes, existing


class _PeopleImport(_Import):
    columns = PEOPLE
    FIELDS = ["household_id", "grid_id", "name", "id_number", "birth_date", "sex", "phone", "ethnicity",
              "relation", "political_status", "education", "marital_status", "registered_address",
              "is_migrant", "arrived_on", "permit_state", "employer_id", "employer_name"]
    WRITE = ["household", "grid", "name", "id_number", "id_number_hash", "birth_date", "sex", "phone",
             "phone_hash", "ethnicity", "relation", "political_status", "education", "marital_status",
             "registered_address", "is_migrant", "arrived_on", "permit_state", "employer", "employer_name",
             "updated_at"]
    OPTIONAL = {"ethnicity": "code", "relation": "code", "political_status": "code", "education": "code",
                "marital_status": "code", "registered_address": "text", "permit_state": "choice"}

    def prepare(self, rows: list[Cells]) -> None:
        self.places = _Places(rows)
        self.hashes, self.existing = people_by_id_number(rows)
        self.employers = self._employers(rows)
        self.seen: dict[str, int] = {}
        self.new_households: dict[tuple[int, str], Household] = {}
        self.pending = {"new": [], "changed": []}

    def _employers(self, rows: list[Cells]) -> dict[str, int]:
        """Employer names that match exactly one visible organization: linked, not just text."""
        names = sorted({_as_text(c.raw("employer")) for c in rows} - {""})
        found: dict[str, list[int]] = defaultdict(list)
        for chunk in _chunks(names):
            for name, pk in Organization.objects.visible_to(self.actor).filter(name__in=chunk).values_list(
                    "name", "pk"):
                found[name].append(pk)
        return {name: pks[0] for name, pks in found.items() if len(pks) == 1}

    def row(self, cells: Cells) -> None:
        household = self._household(cells)
        person, is_new = self._person(cells)
        if person is None:
            return
        before = None if is_new else _snapshot(person, self.FIELDS)
        self._fill(cells, person, is_new)
        if household is not None:
            person.household = household
            person.grid_id = household.grid_id
        for field_name, message in services.clean_person(person, today=self.today).items():
            if field_name == "household":
                continue  # no household: `_household` has said why (building, room, scope)
            if field_name not in cells.failed_keys:  # one message per cell
                cells.error(field_name, message)
        if cells.failed or household is None:
            return
        self._name_new_head(household, person)
        person.id_number_hash = self.hashes.get(cells.row, "")  # computed once, in `prepare`
        self.stage(person, self.FIELDS, is_new=is_new, before=before, pending=self.pending)

    def _person(self, cells: Cells) -> tuple[Person | None, bool]:
        digest = self.hashes.get(cells.row, "")
        if not digest:
            return Person(), True
        if digest in self.seen:
            cells.error("id_number", _("The same ID number is on row %d.") % self.seen[digest])
            return None, False
        self.seen[digest] = cells.row
        existing = self.existing.get(digest)
        if existing is None:
            return Person(), True
        if not self.gate.allows(existing.grid):
            # Someone outside the actor's grids: not theirs to change (nor to duplicate).
            message = _("This ID number is already registered (grid %s).") % existing.grid.code
            cells.error("id_number", message)
            return None, False
        return existing, False

    def _fill(self, cells: Cells, person: Person, is_new: bool) -> None:
        """Copy the row onto the person; on an update, empty cells keep the stored values."""
        person.name = cells.text("name") or person.name
        number = cells.id_number()
        if number or is_new:
            person.id_number = number
        if cells.given("phone") or is_new:
            person.phone = cells.text("phone")
        for key, kind in self.OPTIONAL.items():
            if cells.given(key) or is_new:
                value = getattr(cells, kind)(key)
                setattr(person, key, value or ("none" if key == "permit_state" else ""))
        migrant = cells.flag("is_migrant")
        if migrant is not None or is_new:
            person.is_migrant = bool(migrant)
        if cells.given("arrived_on") or is_new:
            person.arrived_on = cells.date("arrived_on")
        if cells.given("employer") or is_new:
            person.employer_name = cells.text("employer")
            person.employer_id = self.employers.get(person.employer_name)

    def _household(self, cells: Cells) -> Household | None:
        building = self.places.building(cells)
        house = self.places.house(cells, building) if building else None
        if house is None or not self.gate.check(cells, house.grid, "building"):
            return None
        number = cells.text("household")
        homes = self.places.households.get(house.pk, [])
        if number:
            match = [h for h in homes if h.number == number]
        else:
            match = [h for h in homes if h.is_active]
            if len(match) > 1:
                cells.error("household",
                            _("Several households live in this house: give the household number."))
                return None
        if match:
            return match[0]
        return self._new_household(house, number)

    def _new_household(self, house: House, number: str) -> Household:
        """A house without that household gets one, written with the people."""
        key = (house.pk, number)
        if key not in self.new_households:
            self.new_households[key] = Household(house=house, grid_id=house.grid_id, number=number)
        return self.new_households[key]

    @staticmethod
    def _name_new_head(household: Household, person: Person) -> None:
        if household.pk is None and not household.head_name and person.relation in HEAD_RELATIONS:
            household.head_name = person.name

    def commit(self) -> None:
        Household.objects.bulk_create(list(self.new_households.values()), batch_size=WRITE_BATCH)
        # The ID number hashes are set already (`prepare`); the writer adds the phones'.
        bulk.insert_rows(Person, self.pending["new"])
        changed = self.pending["changed"]
        if changed:
            _refresh_hashes(changed, Person)
            now = timezone.now()
            for person in changed:
                person.updated_at = now
            Person.objects.bulk_update(changed, self.WRITE, batch_size=WRITE_BATCH // 2)
            # People who moved take their tags and care-file rows along to their new grid.
            for chunk in _chunks([p.pk for p in changed]):
                services.follow_person_grid(Person.objects.filter(pk__in=chunk))


class _HouseholdImport(_Import):
    columns = HOUSEHOLDS
    FIELDS = ["kind", "head_name", "is_active"]

    def prepare(self, rows: list[Cells]) -> None:
        self.places = _Places(rows)
        self.seen: dict[tuple, int] = {}
        self.pending = {"new": [], "changed": []}

    def row(self, cells: Cells) -> None:
        building = self.places.building(cells)
        house = self.places.house(cells, building) if building else None
        number = cells.text("household")
        kind, head, active = cells.choice("kind"), cells.text("head_name"), cells.flag("is_active")
        if house is None or not self.gate.check(cells, house.grid, "building"):
            return
        if (house.pk, number) in self.seen:
            cells.error("household", _("The same household is on row %d.") % self.seen[(house.pk, number)])
            return
        self.seen[(house.pk, number)] = cells.row
        found = [h for h in self.places.households.get(house.pk, []) if h.number == number]
        household = found[0] if found else Household(house=house, grid_id=house.grid_id, number=number)
        before = None if not found else _snapshot(household, self.FIELDS)
        household.kind = kind or household.kind
        household.head_name = head or household.head_name
        household.is_active = household.is_active if active is None else active
        if not cells.failed:
            self.stage(household, self.FIELDS, is_new=not found, before=before, pending=self.pending)

    def commit(self) -> None:
        Household.objects.bulk_create(self.pending["new"], batch_size=WRITE_BATCH)
        Household.objects.bulk_update(self.pending["changed"], self.FIELDS, batch_size=WRITE_BATCH // 2)


class _HouseImport(_Import):
    columns = HOUSES
    FIELDS = ["unit_id", "floor", "area_m2", "use", "landlord_name", "landlord_phone", "lease_start",
              "lease_end"]
    WRITE = ["unit", "floor", "area_m2", "use", "landlord_name", "landlord_phone", "landlord_phone_hash",
             "lease_start", "lease_end"]

    def prepare(self, rows: list[Cells]) -> None:
        self.places = _Places(rows, households=False)
        self.new_units: dict[tuple[int, str], Unit] = {}
        self.seen: dict[tuple, int] = {}
        self.pending = {"new": [], "changed": []}

    def row(self, cells: Cells) -> None:
        building = self.places.building(cells)
        if building is None or not self.gate.check(cells, building.grid, "building"):
            return
        unit_number, room = _unit_key(cells.text("unit")), cells.text("room")
        key = (building.pk, unit_number, room)
        if key in self.seen:
            cells.error("room", _("The same house is on row %d.") % self.seen[key])
            return
        self.seen[key] = cells.row
        house = self.places.houses.get(key)
        before = None if house is None else _snapshot(house, self.FIELDS)
        if house is None:
            house = House(building=building, grid=building.grid, number=room)
        house.unit = self._unit(building, unit_number)
        self._fill(cells, house)
        if not cells.failed:
            self.stage(house, self.FIELDS, is_new=house.pk is None, before=before, pending=self.pending)

    def _unit(self, building: Building, number: str) -> Unit | None:
        """A unit named for the first time is created with its houses."""
        if not number:
            return None
        unit = self.places.units.get((building.pk, number))
        if unit is None:
            unit = self.new_units.setdefault((building.pk, number),
                                             Unit(building=building, grid_id=building.grid_id, number=number))
        return unit

    def _fill(self, cells: Cells, house: House) -> None:
        for key, kind in (("floor", "integer"), ("area_m2", "decimal"), ("use", "choice"),
                          ("landlord_name", "text"), ("landlord_phone", "phone"),
                          ("lease_start", "date"), ("lease_end", "date")):
            if cells.given(key):
                setattr(house, key, getattr(cells, kind)(key))
        if not house.is_rental:
            house.landlord_name, house.landlord_phone, house.lease_start, house.lease_end = "", "", None, None
        if house.lease_start and house.lease_end and house.lease_end < house.lease_start:
            cells.error("lease_end", _("The lease ends before it starts."))

    def commit(self) -> None:
        Unit.objects.bulk_create(list(self.new_units.values()), batch_size=WRITE_BATCH)
        House.objects.bulk_create(self.pending["new"], batch_size=WRITE_BATCH)
        changed = self.pending["changed"]
        _refresh_hashes(changed, House)
        House.objects.bulk_update(changed, self.WRITE, batch_size=WRITE_BATCH // 2)


class _OrganizationImport(_Import):
    columns = ORGANIZATIONS
    FIELDS = ["name", "kind", "credit_code", "grid_id", "building_id", "address", "contact_name",
              "contact_phone", "employee_count", "lat", "lon"]
    WRITE = ["name", "kind", "credit_code", "grid", "building", "address", "contact_name", "contact_phone",
             "contact_phone_hash", "employee_count", "lat", "lon"]

    def prepare(self, rows: list[Cells]) -> None:
        self.places = _Places(rows, houses=False)
        wanted = sorted({codes.normalize_credit_code(_as_text(c.raw("credit_code"))) for c in rows} - {""})
        self.existing = {o.credit_code: o for chunk in _chunks(wanted)
                         for o in Organization.objects.filter(credit_code__in=chunk).select_related("grid")}
        codes_wanted = sorted({_as_text(c.raw("grid_code")) for c in rows} - {""})
        self.grids = {g.code: g for chunk in _chunks(codes_wanted)
                      for g in Grid.objects.filter(code__in=chunk)}
        self.seen: dict[str, int] = {}
        self.pending = {"new": [], "changed": []}

    def row(self, cells: Cells) -> None:
        credit = self._credit_code(cells)
        existing = self.existing.get(credit) if credit else None
        if existing is not None and not self.gate.check(cells, existing.grid, "credit_code"):
            return
        org = existing or Organization()
        before = None if existing is None else _snapshot(org, self.FIELDS)
        grid = self._locate(cells, org)
        if grid is None or not self.gate.check(cells, grid, "building" if org.building_id else "grid_code"):
            return
        org.grid, org.credit_code = grid, credit or org.credit_code
        self._fill(cells, org)
        if not cells.failed:
            self.stage(org, self.FIELDS, is_new=existing is None, before=before, pending=self.pending)

    def _credit_code(self, cells: Cells) -> str:
        credit = codes.normalize_credit_code(cells.text("credit_code"))
        if not credit:
            return ""
        try:
            codes.validate_credit_code(credit)
        except ValidationError as exc:
            cells.error("credit_code", exc.messages[0])
            return ""
        if credit in self.seen:
            cells.error("credit_code", _("The same credit code is on row %d.") % self.seen[credit])
            return ""
        self.seen[credit] = cells.row
        return credit

    def _locate(self, cells: Cells, org: Organization) -> Grid | None:
        """In a building (its grid and point), else in the grid named by its code."""
        if cells.given("building"):
            building = self.places.building(cells)
            if building is not None:
                org.building, org.lat, org.lon = building, building.lat, building.lon
                return building.grid
            return None
        code = cells.text("grid_code")
        if code and code in self.grids:
            org.building = None
            return self.grids[code]
        if code:
            cells.error("grid_code", _("No grid %s.") % code)
        elif org.pk:
            return org.grid
        else:
            cells.error("building", _("Give the building or the grid code."))
        return None

    def _fill(self, cells: Cells, org: Organization) -> None:
        org.name = cells.text("name") or org.name
        for key, kind in (("kind", "choice"), ("address", "text"), ("contact_name", "text"),
                          ("contact_phone", "phone"), ("employee_count", "integer")):
            if cells.given(key):
                setattr(org, key, getattr(cells, kind)(key))

    def commit(self) -> None:
        Organization.objects.bulk_create(self.pending["new"], batch_size=WRITE_BATCH)
        changed = self.pending["changed"]
        _refresh_hashes(changed, Organization)
        Organization.objects.bulk_update(changed, self.WRITE, batch_size=WRITE_BATCH // 2)


IMPORTERS = {"people": _PeopleImport, "households": _HouseholdImport, "houses": _HouseImport,
             "organizations": _OrganizationImport}


def _grid(grid) -> Grid | None:
    if grid is None or isinstance(grid, Grid):
        return grid
    found = Grid.objects.filter(code=str(grid).strip()).first()
    if found is None:
        raise ValidationError({"grid": _("No grid %s.") % grid})
    return found


def import_rows(actor, kind: str, file, *, dry_run: bool, progress: Callable[[int, int], None] | None = None,
                grid=None) -> ImportReport:
    """Validate every row of an .xlsx file (path, file object or bytes), then save all or nothing.

    Nothing is written for a dry run or when any row has an error; the counts then say
    what the import would do. `grid` (a Grid or its code) confines the import to a subtree.
    """
    _spec(kind)
    chosen = _grid(grid)
    if not actor or not actor.is_authenticated:
        raise PermissionDenied
    # Hundreds of thousands of live objects and no reference cycles among them: the cyclic
    # collector would rescan them all, again and again, for nothing (a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import(actor, kind, file, dry_run=dry_run, progress=progress, chosen=chosen)
    finally:
        if collecting:
            gc.enable()


def _import(actor, kind: str, file, *, dry_run: bool, progress, chosen: Grid | None) -> ImportReport:
    report = ImportReport(kind=kind, dry_run=dry_run)
    importer = IMPORTERS[kind](actor, report, chosen)
    rows = _open_rows(file, importer.columns, report)
    report.total = len(rows)
    if report.errors:
        return report
    importer.prepare(rows)
    for done, cells in enumerate(rows, 1):
        importer.row(cells)
        if progress is not None and (done % 1000 == 0 or done == len(rows)):
            progress(done, len(rows))
    report.errors.sort(key=lambda e: e.row)
    if report.errors or dry_run:
        return report
    with transaction.atomic():
        importer.commit()
    report.saved = True
    return report


# --- template ------------------------------------------------------------------------------


def _code_lists(columns: list[Column]) -> dict[str, list[str]]:
    """The drop-down list of each code-table or choice column (labels, in Chinese)."""
    lists = {}
    for column in columns:
        if column.value_type == "code":
            lists[column.key] = [label for _code, label in codes.TABLES[column.table]]
        elif column.value_type == "choice":
            lists[column.key] = _choice_labels(column.choices)
        elif column.value_type == "bool":
            lists[column.key] = ["是", "否"]
    return lists


def _style_header(sheet, columns: list[Column], row: int) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    red = Font(bold=True, color="C00000")
    for position, column in enumerate(columns, 1):
        cell = sheet.cell(row=row, column=position)
        cell.font, cell.fill = (red if column.required else bold), fill
        sheet.column_dimensions[get_column_letter(position)].width = column.width


def _add_lists(workbook, sheet, columns: list[Column]) -> None:
    """Drop-down lists from a hidden sheet (inline lists stop at 255 characters)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    lists = _code_lists(columns)
    if not lists:
        return
    table = workbook.create_sheet("代码表")
    table.sheet_state = "hidden"
    for offset, (key, labels) in enumerate(lists.items(), 1):
        letter = get_column_letter(offset)
        table.cell(row=1, column=offset, value=key)
        for row, label in enumerate(labels, 2):
            table.cell(row=row, column=offset, value=label)
        # A warning, not a stop: typing the code (01) instead of the name is accepted too.
        validation = DataValidation(type="list", formula1=f"'代码表'!${letter}$2:${letter}${len(labels) + 1}",
                                    allow_blank=True, errorStyle="warning", showErrorMessage=True)
        position = next(i for i, c in enumerate(columns, 1) if c.key == key)
        target = get_column_letter(position)
        validation.add(f"{target}2:{target}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(validation)


def template(kind: str) -> bytes:
    """An empty workbook for one kind: Chinese headers (required ones red), an example, drop-downs."""
    _model, title, columns = _spec(kind)
    return template_of(title, columns)


def template_of(title: str, columns: list[Column]) -> bytes:
    """The template workbook of any importer's columns (the registry's kinds, service points...)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append([c.header for c in columns])
    sheet.append([c.example for c in columns])
    _style_header(sheet, columns, 1)
    grey = Font(italic=True, color="808080")
    for position, column in enumerate(columns, 1):
        sheet.cell(row=2, column=position).font = grey
        if column.as_text:
            sheet.column_dimensions[get_column_letter(position)].number_format = "@"
            sheet.cell(row=2, column=position).number_format = "@"
    sheet.cell(row=2, column=1).comment = Comment(
        "示例行：导入时如未修改将被忽略。红色列必填；代码列可填代码或名称。", "gridgov")
    sheet.freeze_panes = "A2"
    _add_lists(workbook, sheet, columns)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- export --------------------------------------------------------------------------------


class _Masker:
    """Full values for grids where the actor holds Perm.EXPORT_PERSONAL, masked elsewhere."""

    def __init__(self, actor):
        self.actor = actor
        self._cache: dict[int, bool] = {}

    def full(self, grid: Grid) -> bool:
        if grid.pk not in self._cache:
            self._cache[grid.pk] = has_perm(self.actor, Perm.EXPORT_PERSONAL, grid)
        return self._cache[grid.pk]

    def id_number(self, grid: Grid, value: str) -> str:
        return value if self.full(grid) else mask_id_number(value)

    def phone(self, grid: Grid, value: str) -> str:
        return value if self.full(grid) else mask_phone(value)


def _labels(pairs) -> dict[str, str]:
    return {code: label for code, label in pairs}


def _place_cells(house: House | None, building: Building | None, grid: Grid, room: bool = True) -> list:
    building = building or (house.building if house else None)
    cells = [grid.code, building.compound.name if building and building.compound_id else "",
             building.name if building else "", house.unit.number if house and house.unit_id else ""]
    return cells + [house.number if house else ""] if room else cells


def _people_rows(queryset, masker: _Masker) -> Iterable[list]:
    tables = {name: _labels(rows) for name, rows in codes.TABLES.items()}
    permits = dict(zip(Person.PermitState.values, _choice_labels(Person.PermitState), strict=True))
    people = queryset.select_related(
        "grid", "household__house__building__compound", "household__house__unit").order_by(
        "grid__code", "household__house__building__name", "household__house__number", "pk")
    for p in people.iterator(chunk_size=2000):
        house = p.household.house if p.household_id else None
        yield [*_place_cells(house, None, p.grid), p.household.number if p.household_id else "", p.name,
               masker.id_number(p.grid, p.id_number), masker.phone(p.grid, p.phone),
               *(tables[t].get(getattr(p, t), "") for t in
                 ("ethnicity", "relation", "political_status", "education", "marital_status")),
               "是" if p.is_migrant else "否", p.arrived_on, p.registered_address, p.employer_name,
               permits.get(p.permit_state, "") if p.permit_state != Person.PermitState.NONE else ""]


def _household_rows(queryset, masker: _Masker) -> Iterable[list]:
    kinds = dict(zip(Household.Kind.values, _choice_labels(Household.Kind), strict=True))
    households = queryset.select_related("grid", "house__building__compound", "house__unit").order_by(
        "grid__code", "house__building__name", "house__number", "pk")
    for h in households.iterator(chunk_size=2000):
        yield [*_place_cells(h.house, None, h.grid), h.number, kinds.get(h.kind, ""), h.head_name,
               "是" if h.is_active else "否"]


def _house_rows(queryset, masker: _Masker) -> Iterable[list]:
    uses = dict(zip(House.Use.values, _choice_labels(House.Use), strict=True))
    houses = queryset.select_related("grid", "building__compound", "unit").order_by(
        "grid__code", "building__name", "number", "pk")
    for h in houses.iterator(chunk_size=2000):
        yield [*_place_cells(h, None, h.grid), h.floor, h.area_m2, uses.get(h.use, ""), h.landlord_name,
               masker.phone(h.grid, h.landlord_phone), h.lease_start, h.lease_end]


def _organization_rows(queryset, masker: _Masker) -> Iterable[list]:
    kinds = dict(zip(Organization.Kind.values, _choice_labels(Organization.Kind), strict=True))
    orgs = queryset.select_related("grid", "building__compound").order_by("grid__code", "name", "pk")
    for o in orgs.iterator(chunk_size=2000):
        building = o.building
        yield [o.grid.code, o.name, kinds.get(o.kind, ""), o.credit_code,
               building.compound.name if building and building.compound_id else "",
               building.name if building else "", o.address, o.contact_name,
               masker.phone(o.grid, o.contact_phone), o.employee_count]


ROWS = {"people": _people_rows, "households": _household_rows, "houses": _house_rows,
        "organizations": _organization_rows}


def watermark(actor, when: datetime | None = None) -> str:
    when = timezone.localtime(when or timezone.now())
    name = getattr(actor, "name", "") or actor.get_username()
    return _("Exported by %(name)s at %(time)s; for official use only.") % {
        "name": name, "time": when.strftime("%Y-%m-%d %H:%M")}


def export(actor, kind: str, *, grid=None, reason: str = "") -> bytes:
    """The actor's visible rows of one kind as .xlsx: masked unless permitted, audited, watermarked."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    model, title, columns = _spec(kind)
    if not actor or not actor.is_authenticated:
        raise PermissionDenied
    chosen = _grid(grid)
    queryset = model.objects.visible_to(actor)
    if chosen is not None:
        queryset = queryset.filter(grid__code__startswith=chosen.code)
    mark = watermark(actor)
    workbook = Workbook(write_only=True)
    workbook.properties.creator = mark
    sheet = workbook.create_sheet(title)
    for position, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(position)].width = column.width
    sheet.HeaderFooter.oddHeader.center.text = mark
    sheet.HeaderFooter.oddFooter.center.text = mark
    sheet.freeze_panes = "A3"
    note = WriteOnlyCell(sheet, value=mark)
    note.font = Font(bold=True, color="C00000")
    sheet.append([note])
    sheet.append([c.header for c in columns])
    for row in ROWS[kind](queryset, _Masker(actor)):
        sheet.append([None if value == "" else value for value in row])  # no empty text cells
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.append(
        actor=actor, action=AuditEntry.Action.EXPORT, object_type=model._meta.label_lower,
        object_id=chosen.code if chosen else "", field=kind, reason=(reason or "").strip())
    return buffer.getvalue()
