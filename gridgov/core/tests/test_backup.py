"""`gridgov backup` and `gridgov restore`: a round trip into a fresh database, and the refusals.

Runs on the suite's database, SQLite or PostgreSQL; the fresh database is a new SQLite file or
a scratch PostgreSQL database, reached from Django through an extra connection alias.
"""

import json
import os
import tarfile
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.exceptions import InvalidTag
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connections
from django.db.utils import load_backend

from gridgov.cases.tests.conftest import jpeg
from gridgov.core import backup
from gridgov.population.models import Person
from gridgov.population.testing import household, id_number, person

# Committed rows: pg_dump and SQLite's backup API read through connections of their own. The
# seeds `migrate` writes (categories, the calendar) are put back after each flush, as every
# transactional test here does: a flush without them would re-create content types that the
# next test's restored snapshot then collides with.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ALIAS = "restored"


def _default():
    return connections["default"].settings_dict


def _pg_admin():
    import psycopg

    db = _default()
    return psycopg.connect(dbname="postgres", host=db["HOST"] or None, port=db["PORT"] or None,
                           user=db["USER"] or None, password=db["PASSWORD"] or None, autocommit=True)


@pytest.fixture
def fresh_database(tmp_path):
    """A database URL with nothing in it, of the suite's vendor; dropped afterwards."""
    db = _default()
    if connections["default"].vendor == "sqlite":
        path = tmp_path / "fresh" / "db.sqlite3"
        yield f"sqlite:///{path}", str(path)
    else:
        name = f"gridgov_restore_{os.getpid()}"
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        yield f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{name}", name
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    restored = getattr(connections._connections, ALIAS, None)
    if restored is not None:
        restored.close()
        del connections[ALIAS]


def connect(name: str) -> str:
    """Django's connection to the restored database, under its own alias.

    Made directly rather than added to settings.DATABASES: the test case allows such a
    dynamically created connection, and has no flush or rollback to do on it.
    """
    db = {**_default(), "NAME": name}
    connections[ALIAS] = load_backend(db["ENGINE"]).DatabaseWrapper(db, ALIAS)
    return ALIAS


def every_row(alias: str) -> dict:
    """Every table of every model, ordered by primary key, all concrete fields."""
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f.attname for f in model._meta.concrete_fields]
        tables[model._meta.db_table] = list(
            model._base_manager.using(alias).order_by("pk").values_list(*fields))
    with connections[alias].cursor() as cursor:  # the one table without a model
        cursor.execute("SELECT app, name, applied FROM django_migrations ORDER BY id")
        tables["django_migrations"] = cursor.fetchall()
    return tables


def files_under(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(command: str, *args) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_what_migrate_writes_is_not_data():
    """Restoring onto a freshly migrated database needs no --force."""
    counts = backup.table_counts(backup.database_settings())
    assert counts["cases_category"] and counts["worktime_calendarday"]
    seeded = {table for table, rows in counts.items() if rows} - backup.MIGRATE_FILLS
    assert not seeded, f"a migration seeds {seeded}: add them to backup.MIGRATE_FILLS"
    assert not backup.database_in_use(backup.database_settings())


def test_round_trip_into_a_fresh_database(world, report, settings, tmp_path, fresh_database,
                                          monkeypatch):
    case = report(files=[jpeg()])
    # A photo whose job has not run yet: held as received, outside MEDIA_ROOT.
    monkeypatch.setattr("gridgov.cases.tasks.finish_photo", lambda attachment_id: None)
    waiting = report(files=[jpeg("waiting.jpg", colour=(10, 200, 10))],
                     description="楼道里堆满杂物，堵住了消防通道").attachments.get()
    held = files_under(settings.GRIDGOV_HELD_DIR)
    assert waiting.status == "processing" and list(held) == [waiting.held]
    home = household(world.district.micro_grids[2], house_number="302")
    number = id_number("19800101", male=False)
    resident = person(home, "李秀英", id_number=number, phone="13612345678")
    media = Path(settings.MEDIA_ROOT)
    (media / "notes").mkdir(parents=True)
    (media / "notes" / "交接.txt").write_bytes("手写的交接单\n".encode() + bytes(range(256)))
    original_rows, original_files = every_row("default"), files_under(media)
    assert case.attachments.count() == 1 and len(original_files) == 3  # photo, thumbnail, note
    assert len(original_rows["cases_case"]) == 2 and len(original_rows["population_person"]) == 1
    data_key, secret_key = settings.DATA_KEY, settings.SECRET_KEY

    archive = tmp_path / "out" / "backup.tar"
    archive.parent.mkdir()
    said = run("backup", str(archive))
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = set(tar.getnames())
    assert {"keys/data_key", "keys/secret_key", manifest["database"]["member"]} <= names
    assert names - {"manifest.json"} == set(manifest["members"])
    assert manifest["tables"] == backup.table_counts(backup.database_settings())
    assert manifest["tables"]["population_person"] == 1 and "cases" in manifest["migrations"]

    # The restoring machine: empty media and var directories, and another key in its settings
    # until it reads the restored key file.
    settings.MEDIA_ROOT = tmp_path / "restored-media"
    settings.GRIDGOV_HELD_DIR = tmp_path / "restored-held"
    settings.VAR_DIR = tmp_path / "restored-var"
    settings.DATA_KEY = "the key of a machine that never saw this data"
    url, name = fresh_database
    said += run("restore", str(archive), "--database-url", url)
    for secret in (data_key, secret_key, resident.id_number, resident.phone, "李秀英"):
        assert secret not in said
    assert f"{len(manifest['tables'])} tables" in said

    alias = connect(name)
    with pytest.raises(InvalidTag):  # the point of carrying the key: without it, nothing reads
        Person.objects.using(alias).get(pk=resident.pk)
    assert (settings.VAR_DIR / "data_key").read_text() == data_key
    assert (settings.VAR_DIR / "secret_key").read_text() == secret_key
    assert (settings.VAR_DIR / "data_key").stat().st_mode & 0o777 == 0o600
    settings.DATA_KEY = (settings.VAR_DIR / "data_key").read_text()
    assert Person.objects.using(alias).get(pk=resident.pk).id_number == number
    restored_rows = every_row(alias)
    assert restored_rows.keys() == original_rows.keys()
    for table, rows in original_rows.items():
        assert restored_rows[table] == rows, table
    assert files_under(settings.MEDIA_ROOT) == original_files
    assert files_under(settings.GRIDGOV_HELD_DIR) == held
    assert (settings.GRIDGOV_HELD_DIR / waiting.held).stat().st_mode & 0o777 == 0o600


def _flip_a_byte(archive: Path, member: str) -> None:
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    with open(archive, "r+b") as handle:
        handle.seek(info.offset_data + info.size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x01]))


def _nothing_written(fresh_database, tmp_path) -> None:
    assert not (tmp_path / "restored-media").exists() and not (tmp_path / "restored-var").exists()
    url, _name = fresh_database
    assert backup.table_counts(backup.database_settings(url)) == {}


def test_a_damaged_archive_is_refused_and_nothing_is_written(district, tmp_path, fresh_database):
    archive = tmp_path / "backup.tar"
    call_command("backup", str(archive), verbosity=0)
    with tarfile.open(archive) as tar:
        dump = json.loads(tar.extractfile("manifest.json").read())["database"]["member"]
    _flip_a_byte(archive, dump)
    url, _name = fresh_database
    with pytest.raises(CommandError, match=f"damaged: '{dump}' does not match its sha256"):
        call_command("restore", str(archive), "--database-url", url, "--media-root",
                     str(tmp_path / "restored-media"), "--var-dir", str(tmp_path / "restored-var"))
    _nothing_written(fresh_database, tmp_path)


def test_a_database_in_use_is_kept_unless_forced(district, tmp_path):
    archive = tmp_path / "backup.tar"
    call_command("backup", str(archive), verbosity=0)
    grids = backup.table_counts(backup.database_settings())["grids_grid"]
    with pytest.raises(CommandError, match="already holds data.*--force"):
        call_command("restore", str(archive), "--media-root", str(tmp_path / "restored-media"),
                     "--var-dir", str(tmp_path / "restored-var"))
    assert backup.table_counts(backup.database_settings())["grids_grid"] == grids
    assert not (tmp_path / "restored-media").exists() and not (tmp_path / "restored-var").exists()


def test_another_data_key_in_the_environment_is_refused(district, tmp_path, fresh_database, monkeypatch):
    archive = tmp_path / "backup.tar"
    call_command("backup", str(archive), verbosity=0)
    monkeypatch.setenv("GRIDGOV_DATA_KEY", "a different key")
    url, _name = fresh_database
    with pytest.raises(CommandError, match="GRIDGOV_DATA_KEY .* differs"):
        call_command("restore", str(archive), "--database-url", url, "--media-root",
                     str(tmp_path / "restored-media"), "--var-dir", str(tmp_path / "restored-var"))
    _nothing_written(fresh_database, tmp_path)


def test_another_vendor_is_refused(tmp_path):
    archive = tmp_path / "backup.tar"
    call_command("backup", str(archive), verbosity=0)
    other = ("postgres://nobody@127.0.0.1:1/none" if connections["default"].vendor == "sqlite"
             else f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with pytest.raises(CommandError, match="restore into a (sqlite|postgresql) database"):
        call_command("restore", str(archive), "--database-url", other)
    assert not (tmp_path / "other.sqlite3").exists()
