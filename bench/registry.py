"""Registry benchmark: Excel import of 100,000 people, and lookup by ID number among 1,000,000.

    .venv/bin/python bench/registry.py            # full run: SQLite and PostgreSQL
    .venv/bin/python bench/registry.py --quick    # 5,000 people, 50,000 for lookups
    .venv/bin/python bench/registry.py --skip-sqlite --no-write

(1) Import: a generated .xlsx of N people (Chinese headers, labels for the code tables,
    valid GB 11643 numbers, phones, a quarter migrants with arrival dates) goes through
    `excel.import_rows` as a street leader into existing houses (compounds, buildings of
    2 units × 6 floors × 4 rooms); households are created by the import. The rate is
    rows / wall time of the whole call (read, validate, encrypt, write in one transaction).
    Measured on SQLite and on PostgreSQL, each in a fresh scratch database.
(2) Lookup (PostgreSQL): the scratch database is filled up to M people with COPY
    (ciphertext and keyed hashes computed in Python, as the application would store
    them), analysed, then `services.search_people(leader, id_number)` is timed for random
    numbers (the hash is computed per call, the query goes through `visible_to`).

Each database part runs in a child process with its own DATABASE_URL and a temporary
GRIDGOV_VAR_DIR; the PostgreSQL database is created and dropped like bench/intake.py.
Targets: ≥ 3,000 validated rows/s importing 100,000 people; lookup p99 < 5 ms at 1,000,000.
"""

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scratch import database_url, loopback_only, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "performance.md"
MARKER_START = "<!-- registry:start -->"
MARKER_END = "<!-- registry:end -->"
HEADING = "## Registry (`bench/registry.py`)"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_ROWS_PER_S = 3_000
TARGET_P99_MS = 5.0
PEOPLE_PER_HOUSE = 3
UNITS, FLOORS, ROOMS = 2, 6, 4
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
RELATIONS = ["户主", "配偶", "子", "女", "父亲", "母亲"]
EDUCATION = ["大学本科毕业", "大学专科毕业", "普通高中毕业", "初中毕业", "小学毕业"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------


def id_number(i: int) -> str:
    """The i-th of a run of distinct valid GB 11643 numbers (birth 1940–2008, then sequence)."""
    from gridgov.population.codes import id_check_char

    days = 25_000
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=i % days)
    body = f"320505{birth:%Y%m%d}{(i // days) % 1000:03d}"
    return body + id_check_char(body)


def house_count(people: int) -> int:
    return -(-people // PEOPLE_PER_HOUSE)


def build_places(houses: int) -> list[tuple[str, str, str, str]]:
    """Compounds, buildings, units and houses spread over the micro-grids, bulk-created.

    Returns (compound, building, unit, room) of every house in creation order.
    """
    from gridgov.grids.models import Grid
    from gridgov.population.models import Building, Compound, House, Unit

    micro = list(Grid.objects.filter(level=4).order_by("code"))
    per_building = UNITS * FLOORS * ROOMS
    buildings_needed = -(-houses // per_building)
    compounds = Compound.objects.bulk_create(
        [Compound(name=f"枫桥{i + 1}区", grid=g) for i, g in enumerate(micro)])
    buildings = Building.objects.bulk_create([
        Building(compound=compounds[b % len(micro)], grid=micro[b % len(micro)],
                 name=f"{b // len(micro) + 1}幢", floors=FLOORS) for b in range(buildings_needed)],
        batch_size=1000)
    units = Unit.objects.bulk_create([Unit(building=b, grid_id=b.grid_id, number=str(u + 1))
                                      for b in buildings for u in range(UNITS)], batch_size=1000)
    places, rows = [], []
    for unit in units:
        for floor in range(1, FLOORS + 1):
            for room in range(1, ROOMS + 1):
                if len(rows) == houses:
                    break
                number = f"{floor}{room:02d}"
                rows.append(House(building=unit.building, unit=unit, grid_id=unit.grid_id, floor=floor,
                                  number=number))
                places.append((unit.building.compound.name, unit.building.name, unit.number, number))
    House.objects.bulk_create(rows, batch_size=1000)
    return places


def write_workbook(path: Path, people: int, places, seed: int = 2026) -> None:
    from openpyxl import Workbook

    from gridgov.population.excel import PEOPLE

    rng = random.Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("实有人口")
    sheet.append([c.header for c in PEOPLE])
    for i in range(people):
        compound, building, unit, room = places[i // PEOPLE_PER_HOUSE]
        migrant = rng.random() < 0.25
        values = {
            "compound": compound, "building": building, "unit": unit, "room": room,
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "id_number": id_number(i), "phone": f"13{rng.randrange(10**9):09d}",
            "ethnicity": "汉族" if rng.random() < 0.95 else "回族",
            "relation": RELATIONS[i % PEOPLE_PER_HOUSE] if i % PEOPLE_PER_HOUSE else "户主",
            "political_status": "群众", "education": rng.choice(EDUCATION), "marital_status": "已婚",
            "is_migrant": "是" if migrant else "否",
            "arrived_on": "2025-03-01" if migrant else "",
            "registered_address": "安徽省合肥市蜀山区" if migrant else "",
            "employer": "枫桥便利店" if rng.random() < 0.1 else "",
        }
        sheet.append([values.get(c.key) or None for c in PEOPLE])
    book.save(path)
    shared_strings(path, len(PEOPLE))


def shared_strings(path: Path, width: int) -> None:
    """Rewrite openpyxl's inline strings as a shared-string table and state the used range,
    as Excel and WPS save a workbook.

    openpyxl writes every text cell inline (<is><t>…</t></is>), which its own reader parses
    several times slower than the shared strings of a file a person saved from Excel.
    """
    import re
    import zipfile

    from openpyxl.utils import get_column_letter

    cell = re.compile(r'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr">'
                      r'<is><t(?: xml:space="preserve")?>(.*?)</t></is></c>', re.S)
    table: dict[str, int] = {}

    def shared(match) -> str:
        index = table.setdefault(match[3], len(table))
        return f'<c r="{match[1]}"{match[2] or ""} t="s"><v>{index}</v></c>'

    source = path.with_suffix(".inline.xlsx")
    path.rename(source)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename).decode("utf-8")
            if item.filename.startswith("xl/worksheets/sheet"):
                data = cell.sub(shared, data)
                # Excel states the used range first; without it openpyxl reads the sheet twice.
                rows = re.findall(r'<row r="(\d+)"', data[-5000:])[-1]
                used = f"A1:{get_column_letter(width)}{rows}"
                data = data.replace("<sheetViews>", f'<dimension ref="{used}"/><sheetViews>', 1)
            elif item.filename == "[Content_Types].xml":
                data = data.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" '
                                    'ContentType="application/vnd.openxmlformats-officedocument.'
                                    'spreadsheetml.sharedStrings+xml"/></Types>')
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace("</Relationships>",
                                    '<Relationship Id="rIdSST" Target="sharedStrings.xml" '
                                    'Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                                    'relationships/sharedStrings"/></Relationships>')
            new.writestr(item.filename, data)
        strings = "".join(f'<si><t xml:space="preserve">{text}</t></si>' for text in table)
        new.writestr("xl/sharedStrings.xml",
                     '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                     f'spreadsheetml/2006/main" count="{len(table)}" uniqueCount="{len(table)}">'
                     f'{strings}</sst>')


def leader():
    from gridgov.accounts.models import Role
    from gridgov.core.testing import make_district, staff

    district = make_district()
    return staff(Role.LEADER, district.street, username="bench-leader")


# --- child process: one database -----------------------------------------------------------


def child_import(people: int, workdir: Path) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from gridgov.population import excel
    from gridgov.population.models import Person

    started = time.perf_counter()
    call_command("migrate", "--noinput", verbosity=0)
    actor = leader()
    places = build_places(house_count(people))
    log(f"{connection.vendor}: migrated and built {len(places):,} houses "
        f"in {time.perf_counter() - started:.1f} s")
    path = workdir / "people.xlsx"
    started = time.perf_counter()
    write_workbook(path, people, places)
    log(f"{connection.vendor}: wrote {path.stat().st_size / 1e6:.1f} MB xlsx "
        f"in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    dry = excel.import_rows(actor, "people", path, dry_run=True)
    dry_s = time.perf_counter() - started
    assert dry.ok, [str(e) for e in dry.errors[:5]]
    started, cpu, busy = time.perf_counter(), time.process_time(), machine_busy()
    report = excel.import_rows(actor, "people", path, dry_run=False)
    import_s, cpu = time.perf_counter() - started, time.process_time() - cpu
    others = max(0.0, (machine_busy() - busy - cpu) / import_s)
    assert report.ok and report.created == people, ([str(e) for e in report.errors[:5]], report.created)
    assert Person.objects.count() == people
    log(f"{connection.vendor}: imported {people:,} in {import_s:.1f} s (dry run {dry_s:.1f} s)")
    return {"vendor": connection.vendor, "version": _db_version(), "people": people,
            "xlsx_mb": path.stat().st_size / 1e6, "dry_run_s": dry_s, "import_s": import_s,
            "rows_per_s": people / import_s, "dry_rows_per_s": people / dry_s,
            "rows_per_cpu_s": people / cpu, "others_cpus": others}


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy: others share this 2-core machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _db_version() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        version = connection.pg_version
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def copy_people(start: int, stop: int) -> None:
    """People start..stop-1 straight into the table with COPY, stored exactly as the ORM stores them."""
    from django.db import connection
    from django.utils import timezone

    from gridgov.grids.models import Grid
    from gridgov.privacy import crypto

    micro = list(Grid.objects.filter(level=4).values_list("pk", flat=True))
    now = timezone.now()
    columns = ("grid_id", "name", "id_number", "id_number_hash", "birth_date", "sex", "phone", "phone_hash",
               "ethnicity", "relation", "political_status", "education", "marital_status",
               "registered_address", "is_migrant", "permit_state", "employer_name", "dormitory_bed",
               "is_active", "updated_at")
    sql = f"COPY population_person ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for i in range(start, stop):
            number, phone = id_number(i), f"139{i:08d}"
            copy.write_row((
                micro[i % len(micro)], SURNAMES[i % 20] + GIVEN[i % 19] + GIVEN[i % 17],
                crypto.seal(number), crypto.lookup_hash(number),
                datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                "1" if int(number[16]) % 2 else "2", crypto.seal(phone), crypto.lookup_hash(phone),
                "01", "02", "13", "21", "20", "", False, "none", "", "", True, now))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE population_person")


def child_lookup(total: int, lookups: int, already: int) -> dict:
    from gridgov.accounts.models import User
    from gridgov.population import services
    from gridgov.population.models import Person

    started = time.perf_counter()
    copy_people(already, total)
    load_s = time.perf_counter() - started
    assert Person.objects.count() == total
    log(f"postgresql: loaded {total - already:,} more people by COPY in {load_s:.1f} s")
    actor = User.objects.get(username="bench-leader")
    rng = random.Random(7)
    picks = [id_number(rng.randrange(total)) for _ in range(lookups)]
    for number in picks[:50]:  # warm the connection and the caches
        list(services.search_people(actor, number))
    times = []
    for number in picks:
        began = time.perf_counter()
        found = list(services.search_people(actor, number))
        times.append((time.perf_counter() - began) * 1000)
        assert len(found) == 1, number
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p / 100 * len(times)))]

    return {"people": total, "lookups": lookups, "load_s": load_s,
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99), "max_ms": times[-1]}


def child(args) -> None:
    import django

    django.setup()
    from django.utils import translation

    translation.activate("zh-hans")
    workdir = Path(os.environ["GRIDGOV_VAR_DIR"])
    result = {"import": child_import(args.people, workdir)}
    if args.lookup_people:
        result["lookup"] = child_lookup(args.lookup_people, args.lookups, args.people)
    print(json.dumps(result), flush=True)


# --- parent: scratch databases and the report ----------------------------------------------


def run_child(database: str, args, *, lookup_people: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="gridgov-bench-registry-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gridgov.settings", "GRIDGOV_VAR_DIR": str(workdir),
           "DATABASE_URL": database or f"sqlite:///{workdir / 'bench.sqlite3'}"}
    command = [sys.executable, __file__, "--child", "--people", str(args.people),
               "--lookup-people", str(lookup_people), "--lookups", str(args.lookups)]
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=7200)
        if result.returncode != 0:
            raise SystemExit(f"benchmark child failed ({result.returncode})")
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def section(results: list[dict], quick: bool) -> str:
    import openpyxl

    lines = [MARKER_START,
             f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} CPUs, "
             f"Python {platform.python_version()}, openpyxl {openpyxl.__version__}"
             f"{' (quick run)' if quick else ''}. Targets: ≥ {TARGET_ROWS_PER_S:,} validated rows/s "
             f"importing 100,000 people; lookup by ID number p99 < {TARGET_P99_MS:g} ms "
             "among 1,000,000 people.",
             "",
             "| database | people | xlsx | dry run (read + validate) | import (all or nothing) | rows/s "
             "| rows per CPU-second of the importer | other processes' CPUs | target |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in (x["import"] for x in results):
        lines.append(f"| {r['version']} | {r['people']:,} | {r['xlsx_mb']:.1f} MB | {r['dry_run_s']:.1f} s "
                     f"({r['dry_rows_per_s']:,.0f}/s) | {r['import_s']:.1f} s | {r['rows_per_s']:,.0f} | "
                     f"{r['rows_per_cpu_s']:,.0f} | {r['others_cpus']:.2f} | "
                     f"{verdict(r['rows_per_s'] >= TARGET_ROWS_PER_S)} |")
    for lookup in (x["lookup"] for x in results if "lookup" in x):
        lines += ["",
                  "| lookup by ID number (`services.search_people`) | people | lookups | p50 | p95 | p99 "
                  "| max | target |",
                  "|---|---:|---:|---:|---:|---:|---:|---|",
                  f"| PostgreSQL, keyed hash + scope | {lookup['people']:,} | {lookup['lookups']:,} | "
                  f"{lookup['p50_ms']:.2f} ms | {lookup['p95_ms']:.2f} ms | {lookup['p99_ms']:.2f} ms | "
                  f"{lookup['max_ms']:.2f} ms | {verdict(lookup['p99_ms'] < TARGET_P99_MS)} |",
                  "",
                  f"The {lookup['people'] - results[-1]['import']['people']:,} extra people were loaded with "
                  f"COPY in {lookup['load_s']:.0f} s (AES-GCM and HMAC computed in Python)."]
    lines.append(MARKER_END)
    return "\n".join(lines)


def write(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if MARKER_START in doc:
        head, rest = doc.split(MARKER_START, 1)
        doc = head + text + rest.split(MARKER_END, 1)[1]
    else:
        doc = doc.rstrip("\n") + f"\n\n{HEADING}\n\n{text}\n"
    DOC.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 people; 50,000 for lookups")
    parser.add_argument("--people", type=int, help="people to import (default 100,000)")
    parser.add_argument("--lookup-people", type=int, help="people for the lookup test (default 1,000,000)")
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
                        help="an administrative URL of a loopback PostgreSQL server")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/performance.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.people = args.people or (5_000 if args.quick else 100_000)
    if args.lookup_people is None:
        args.lookup_people = 50_000 if args.quick else 1_000_000
    if args.child:
        child(args)
        return
    results = []
    if not args.skip_sqlite:
        results.append(run_child("", args, lookup_people=0))
    loopback_only(args.pg)
    name = f"gridgov_bench_registry_{os.getpid()}"
    recreate_database(args.pg, name)
    try:
        results.append(run_child(database_url(args.pg, name), args,
                                 lookup_people=max(args.lookup_people, args.people)))
    finally:
        recreate_database(args.pg, name, drop_only=True)
    text = section(results, args.quick)
    print(text)
    if not args.no_write:
        write(text)


if __name__ == "__main__":
    main()
