"""Backups as one tar archive: the database, the uploaded files and the keys, with a manifest.

The registry's ID numbers and phones are sealed under settings.DATA_KEY (privacy/crypto.py):
a dump without that key restores rows nobody can read, so the key travels in the archive,
and the archive must be kept as carefully as the key itself (written 0600).

Layout of the archive:
  database.dump | database.sqlite3   pg_dump --format=custom, or an SQLite file
  media/<path>                        every file under MEDIA_ROOT
  held/<name>                         photos as received, waiting for their job (GRIDGOV_HELD_DIR)
  keys/data_key, keys/secret_key      settings.DATA_KEY and settings.SECRET_KEY
  manifest.json                       versions, migration state, row counts, a sha256 per member

The manifest is written last, once every member's hash is known; readers find it by name.
"""

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import dj_database_url
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader

import gridgov
from gridgov.core.uploads import held_dir

FORMAT = "gridgov-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA_PREFIX = "media/"
HELD_PREFIX = "held/"
KEY_MEMBERS = {"keys/data_key": "DATA_KEY", "keys/secret_key": "SECRET_KEY"}
# Where settings._persistent_secret reads each key: (environment variable, file in VAR_DIR).
KEY_SOURCES = {"DATA_KEY": ("GRIDGOV_DATA_KEY", "data_key"),
               "SECRET_KEY": ("GRIDGOV_SECRET_KEY", "secret_key")}
DUMP_MEMBERS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
VENDORS = {"django.db.backends.postgresql": "postgresql", "django.db.backends.sqlite3": "sqlite"}
# Tables a fresh `gridgov migrate` fills by itself (bookkeeping and shipped seeds): rows there
# do not make a database "in use"; rows anywhere else do. A table missing here errs on the safe
# side (restore asks for --force); test_backup.py names any seeded table not listed.
MIGRATE_FILLS = {"django_migrations", "django_content_type", "auth_permission", "cases_category",
                 "population_tagtype", "population_visitrule", "privacy_auditchainhead",
                 "services_erranditem", "worktime_calendarday", "worktime_calendaryear",
                 "worktime_officehours", "worktime_calendarstate"}
CHUNK = 1024 * 1024
LIBPQ_OPTIONS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                 "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is safe to show (no keys, no data)."""


@dataclass
class BackupResult:
    path: Path
    size: int
    tables: int
    rows: int
    files: int
    seconds: float


@dataclass
class RestoreResult:
    vendor: str
    database: str
    tables: int
    rows: int
    files: int
    media_root: Path
    keys_written: list[str]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- databases ----------------------------------------------------------------------------

def database_settings(url: str | None = None) -> dict:
    """The connection settings of the database to back up or restore into.

    The live connection's settings, not settings.DATABASES as written: under tests the
    connection points at the test database.
    """
    if url:
        return dj_database_url.parse(url)
    return dict(connections["default"].settings_dict)


def vendor_of(db: dict) -> str:
    vendor = VENDORS.get(db.get("ENGINE", ""))
    if vendor is None:
        raise BackupError(f"unsupported database engine {db.get('ENGINE')!r} (PostgreSQL or SQLite only)")
    return vendor


def _pg_env(db: dict) -> dict:
    """libpq's environment for pg_dump/pg_restore: the password never appears in a process list."""
    env = {**os.environ}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    for option, var in LIBPQ_OPTIONS.items():
        if (db.get("OPTIONS") or {}).get(option):
            env[var] = str(db["OPTIONS"][option])
    return env


def _pg_connect(db: dict, **kwargs):
    import psycopg

    params = {"dbname": db["NAME"], "host": db.get("HOST") or None, "port": db.get("PORT") or None,
              "user": db.get("USER") or None, "password": db.get("PASSWORD") or None}
    params.update({k: v for k, v in (db.get("OPTIONS") or {}).items() if k in LIBPQ_OPTIONS})
    try:
        return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, **kwargs)
    except psycopg.Error as exc:
        raise BackupError(f"cannot connect to PostgreSQL database {db['NAME']!r}: {exc}") from exc


def _pg_counts(cursor) -> dict[str, int]:
    from psycopg import sql

    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
    tables = [row[0] for row in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        counts[table] = cursor.fetchone()[0]
    return counts


def _sqlite_connect(name: str) -> sqlite3.Connection:
    # Django's test databases are shared in-memory URIs ("file:memorydb_default?mode=memory…").
    return sqlite3.connect(name, uri=str(name).startswith("file:"), timeout=20)


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
    return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def _run(command: list[str], env: dict) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (the PostgreSQL client tools)") from exc
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def dump_postgresql(db: dict, out: Path) -> tuple[dict[str, int], str]:
    """pg_dump the database; the row counts come from the very snapshot pg_dump reads.

    A repeatable-read transaction exports its snapshot and pg_dump joins it (--snapshot), so
    the manifest's counts describe the dump exactly even while the server keeps writing.
    """
    import psycopg

    with _pg_connect(db) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, version = cursor.fetchone()
            counts = _pg_counts(cursor)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", f"--file={out}", db["NAME"]], _pg_env(db))
        conn.rollback()
    return counts, version


def dump_sqlite(db: dict, out: Path) -> tuple[dict[str, int], str]:
    """Copy the database with SQLite's online backup API.

    It reads under one read transaction, so the copy is consistent while the server writes
    (WAL), unlike copying the file, which may catch a half-checkpointed database.
    """
    source = _sqlite_connect(db["NAME"])
    target = sqlite3.connect(out)
    try:
        source.backup(target)
        counts = _sqlite_counts(target)
    finally:
        target.close()
        source.close()
    return counts, sqlite3.sqlite_version


def migration_state(alias: str = "default") -> dict[str, list[str]]:
    """Per app, the applied migrations no other applied migration of that app builds on."""
    loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
    applied = set(loader.applied_migrations)
    state: dict[str, list[str]] = {}
    for app, name in sorted(applied):
        node = loader.graph.node_map.get((app, name))
        children = node.children if node else set()
        if not any(child in applied and child[0] == app for child in children):
            state.setdefault(app, []).append(name)
    return state


def database_in_use(db: dict) -> bool:
    """Whether the database holds rows a restore would lose (beyond what `migrate` writes)."""
    counts = table_counts(db)
    return any(rows for table, rows in counts.items() if table not in MIGRATE_FILLS)


def table_counts(db: dict) -> dict[str, int]:
    if vendor_of(db) == "postgresql":
        with _pg_connect(db) as conn, conn.cursor() as cursor:
            return _pg_counts(cursor)
    if not str(db["NAME"]).startswith("file:") and not Path(db["NAME"]).exists():
        return {}  # a new SQLite file: nothing there yet (and do not create it by asking)
    conn = _sqlite_connect(db["NAME"])
    try:
        return _sqlite_counts(conn)
    finally:
        conn.close()


# --- writing the archive ------------------------------------------------------------------

class _HashingReader(io.RawIOBase):
    """Hashes what tarfile reads, so each member is read once, not once to hash and once to add."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def readable(self):
        return True

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add_file(tar: tarfile.TarFile, name: str, path: Path, members: dict) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with open(path, "rb") as handle:
        reader = _HashingReader(handle)
        tar.addfile(info, reader)
    members[name] = {"sha256": reader.digest.hexdigest(), "size": info.size}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, members: dict | None) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))
    if members is not None:
        members[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def media_files(root: Path, prefix: str = MEDIA_PREFIX) -> list[tuple[str, Path]]:
    """(archive name, path) of every regular file under `root` (MEDIA_ROOT, or the held
    photos' folder with HELD_PREFIX); links are not followed."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for directory, _dirs, files in os.walk(root):
        for filename in files:
            path = Path(directory) / filename
            if path.is_file() and not path.is_symlink():
                found.append((prefix + path.relative_to(root).as_posix(), path))
    return sorted(found)


def default_archive_name(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"gridgov-backup-{now:%Y%m%dT%H%M%SZ}.tar"


def resolve_output(path: str | Path) -> Path:
    """A directory gets a timestamped file in it; an existing file is never overwritten."""
    path = Path(path)
    if path.is_dir():
        path = path / default_archive_name()
    if path.exists():
        raise BackupError(f"{path} already exists; choose another name or a directory")
    if not path.parent.is_dir():
        raise BackupError(f"directory {path.parent} does not exist")
    return path


@contextlib.contextmanager
def _private_file(path: Path):
    """A 0600 file written beside `path` and renamed onto it only once complete.

    A half-written archive never carries the final name, and the keys inside are never
    readable by others, not even while the file is being written.
    """
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may only remove bits; make the mode exact anyway
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def create_backup(out: str | Path) -> BackupResult:
    started = time.perf_counter()
    path = resolve_output(out)
    db = database_settings()
    vendor = vendor_of(db)
    dump_name = DUMP_MEMBERS[vendor]
    members: dict[str, dict] = {}
    # The dump is staged beside the archive (the same disk the archive needs anyway), in a
    # directory only we can read (mkdtemp makes it 0700).
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".gridgov-backup-") as staging:
        dump_path = Path(staging) / dump_name
        dump = dump_postgresql if vendor == "postgresql" else dump_sqlite
        counts, server_version = dump(db, dump_path)
        # A held photo has a row waiting for it: without the file it could never be finished.
        files = media_files(settings.MEDIA_ROOT) + media_files(held_dir(), HELD_PREFIX)
        with _private_file(path) as handle, tarfile.open(fileobj=handle, mode="w",
                                                         format=tarfile.PAX_FORMAT) as tar:
            _add_file(tar, dump_name, dump_path, members)
            for name, media_path in files:
                _add_file(tar, name, media_path, members)
            for name, setting in KEY_MEMBERS.items():
                _add_bytes(tar, name, getattr(settings, setting).encode(), members)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "gridgov_version": gridgov.__version__,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": {"vendor": vendor, "server_version": server_version, "member": dump_name},
                "migrations": migration_state(),
                "tables": counts,
                "members": members,
            }
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode(), None)
    return BackupResult(path=path, size=path.stat().st_size, tables=len(counts),
                        rows=sum(counts.values()), files=len(files),
                        seconds=time.perf_counter() - started)


# --- reading and checking the archive -----------------------------------------------------

def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return bool(name) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in name


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(member).read())
    except KeyError as exc:
        raise BackupError("not a gridgov backup: the archive has no manifest.json") from exc
    except ValueError as exc:
        raise BackupError("the archive's manifest.json is damaged (not JSON)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("not a gridgov backup: unknown manifest format")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"backup format version {manifest.get('format_version')} is not supported "
                          f"by this gridgov (reads version {FORMAT_VERSION})")
    database, members = manifest.get("database"), manifest.get("members")
    if (not isinstance(database, dict) or not isinstance(members, dict)
            or not isinstance(manifest.get("tables"), dict)
            or DUMP_MEMBERS.get(database.get("vendor")) != database.get("member")
            or not {database.get("member"), *KEY_MEMBERS} <= set(members)):
        raise BackupError("the archive's manifest.json is damaged (database, keys or members missing)")
    return manifest


def verify_and_extract(tar: tarfile.TarFile, manifest: dict, staging: Path) -> None:
    """Copy every member out into `staging`, refusing the archive unless each matches its hash.

    Nothing is restored until the whole archive has passed: a damaged archive changes nothing.
    Only names the manifest lists are taken, and only as plain files inside `staging`.
    """
    expected = manifest.get("members") or {}
    seen = set()
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        if member.name not in expected:
            raise BackupError(f"the archive holds {member.name!r}, which its manifest does not list")
        if not member.isfile() or not _safe_name(member.name):
            raise BackupError(f"the archive member {member.name!r} is not a plain file with a safe name")
        target = staging / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with tar.extractfile(member) as source, open(target, "wb") as sink:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
        if digest.hexdigest() != expected[member.name].get("sha256"):
            raise BackupError(f"the archive is damaged: {member.name!r} does not match its sha256 "
                              "in the manifest; nothing was restored")
        seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"the archive is incomplete: {len(missing)} members are missing "
                          f"(first: {missing[0]!r}); nothing was restored")


def open_archive(path: str | Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:")
    except FileNotFoundError as exc:
        raise BackupError(f"{path} does not exist") from exc
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{path} is not a readable tar archive: {exc}") from exc


# --- restoring ----------------------------------------------------------------------------

def check_keys(keys: dict[str, str]) -> list[str]:
    """Refuse a data key set in the environment that differs from the archive's.

    settings reads GRIDGOV_DATA_KEY before var/data_key: with another key there, the restored
    ID numbers and phones could not be decrypted. A different secret key only ends sessions
    and signed links, so it is a warning.
    """
    env_data_key = os.environ.get(KEY_SOURCES["DATA_KEY"][0])
    if env_data_key and env_data_key != keys["DATA_KEY"]:
        raise BackupError("GRIDGOV_DATA_KEY is set in the environment and differs from the archive's "
                          "data key: the restored personal data could not be read. Unset it, or set "
                          "it to the archive's key (keys/data_key in the archive), then restore again.")
    warnings = []
    env_secret = os.environ.get(KEY_SOURCES["SECRET_KEY"][0])
    if env_secret and env_secret != keys["SECRET_KEY"]:
        warnings.append("GRIDGOV_SECRET_KEY is set and differs from the archive's secret key: "
                        "sessions and signed links made before the backup will not be valid.")
    return warnings


def write_keys(keys: dict[str, str], var_dir: Path) -> list[str]:
    """Write each key where settings reads it, unless the environment already provides it."""
    written = []
    var_dir.mkdir(parents=True, exist_ok=True)
    for setting, (env_name, filename) in KEY_SOURCES.items():
        if os.environ.get(env_name):
            continue  # the environment wins over the file (settings._persistent_secret)
        target = var_dir / filename
        partial = target.with_name(f".{filename}.partial-{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(keys[setting])
        os.replace(partial, target)
        written.append(str(target))
    return written


def restore_postgresql(db: dict, dump: Path) -> None:
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "-d", db["NAME"], str(dump)], _pg_env(db))


def restore_sqlite(db: dict, dump: Path) -> None:
    """Copy the staged file into the target through the backup API (the target's WAL stays sane)."""
    name = str(db["NAME"])
    if not name.startswith("file:"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    target = _sqlite_connect(name)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore_media(staging: Path, media_root: Path, prefix: str = MEDIA_PREFIX) -> int:
    """Copy the archive's files under `prefix` into `media_root` (MEDIA_ROOT, or the held
    photos' folder); files not in the archive are left alone."""
    source_root = staging / prefix.rstrip("/")
    if not source_root.is_dir():
        return 0
    count = 0
    for path in sorted(source_root.rglob("*")):
        if path.is_file():
            target = media_root / path.relative_to(source_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            if prefix == HELD_PREFIX:
                os.chmod(target, 0o600)  # as `hold` wrote it: the photo still has its GPS data
            count += 1
    return count


def restore_backup(archive: str | Path, *, force: bool = False, database_url: str | None = None,
                   media_root: Path | None = None, var_dir: Path | None = None,
                   held_root: Path | None = None) -> RestoreResult:
    started = time.perf_counter()
    db = database_settings(database_url)
    vendor = vendor_of(db)
    media_root = Path(media_root or settings.MEDIA_ROOT)
    var_dir = Path(var_dir or settings.VAR_DIR)
    with open_archive(archive) as tar, tempfile.TemporaryDirectory(prefix="gridgov-restore-") as tmp:
        manifest = read_manifest(tar)
        # The cheap refusals first, then the full read of the archive, then the keys' check;
        # nothing is written before all of them have passed.
        archived_vendor = manifest["database"]["vendor"]
        if archived_vendor != vendor:
            raise BackupError(f"the backup is of a {archived_vendor} database and the target is "
                              f"{vendor}; restore into a {archived_vendor} database")
        if not force and database_in_use(db):
            raise BackupError(f"the {vendor} database {db['NAME']!r} already holds data; restoring "
                              "would replace it. Use --force to replace it anyway.")
        staging = Path(tmp)
        verify_and_extract(tar, manifest, staging)
        keys = {setting: (staging / name).read_text() for name, setting in KEY_MEMBERS.items()}
        warnings = check_keys(keys)
        connections.close_all()  # no Django connection may hold the database while it is replaced
        dump = staging / manifest["database"]["member"]
        (restore_postgresql if vendor == "postgresql" else restore_sqlite)(db, dump)
        files = restore_media(staging, media_root)
        files += restore_media(staging, held_root or held_dir(), HELD_PREFIX)
        written = write_keys(keys, var_dir)
    counts = table_counts(db)
    differ = sorted(t for t, rows in manifest["tables"].items() if counts.get(t) != rows)
    if differ:
        raise BackupError(f"the restored database differs from the manifest in {len(differ)} tables "
                          f"(first: {differ[0]}); check the target database")
    warnings += _migration_warnings(manifest)
    return RestoreResult(vendor=vendor, database=str(db["NAME"]), tables=len(manifest["tables"]),
                         rows=sum(manifest["tables"].values()), files=files, media_root=media_root,
                         keys_written=written, warnings=warnings, seconds=time.perf_counter() - started)


def _migration_warnings(manifest: dict) -> list[str]:
    """Say when the archive's schema is older or newer than this code's migrations."""
    leaves = {}
    for app, name in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes():
        leaves.setdefault(app, []).append(name)
    archived = manifest.get("migrations") or {}
    behind = sorted(app for app, names in leaves.items() if sorted(archived.get(app, [])) != sorted(names))
    if behind:
        return [f"the backup's migration state differs from this code's in {', '.join(behind)}: "
                "run `gridgov migrate` (a backup from newer code needs that code)."]
    return []
