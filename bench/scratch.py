"""Scratch PostgreSQL databases for the benchmarks: made fresh, dropped after, loopback only."""

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def loopback_only(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing {host!r}: the benchmark only talks to loopback addresses")


def recreate_database(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def write_section(doc, name: str, heading: str, body: str) -> None:
    """Put `body` between <!-- name:start --> and <!-- name:end --> in `doc` (a Path), replacing
    what a previous run wrote there, or append it under `heading`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    section = f"{start}\n{body.strip()}\n{end}"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{section}\n"
    doc.write_text(text, encoding="utf-8")


def child_env(url: str, var_dir: Path) -> dict:
    """The environment a `gridgov` command or a measuring child runs in on the scratch site."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GRIDGOV_DEBUG")}
    env.update(DATABASE_URL=url, GRIDGOV_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="gridgov.settings",
               GRIDGOV_LOG_LEVEL="WARNING", GRIDGOV_ALLOWED_HOSTS="testserver", PYTHONPATH=str(ROOT))
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "gridgov", *args], cwd=ROOT, env=env, check=True, timeout=1200)


@contextmanager
def scratch_site(admin_url: str | None, name: str, prefix: str, *, keep: bool = False, log=print):
    """A fresh database and var folder, yielding the environment to run in; both removed
    afterwards unless `keep`. Without `admin_url` (a PostgreSQL server), the database is SQLite in
    the var folder."""
    var_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if admin_url:
            recreate_database(admin_url, name)
        url = database_url(admin_url, name) if admin_url else f"sqlite:///{var_dir / 'gridgov.sqlite3'}"
        yield child_env(url, var_dir)
    finally:
        if keep:
            log(f"kept database {name} and {var_dir}")
        else:
            if admin_url:
                recreate_database(admin_url, name, drop_only=True)
            shutil.rmtree(var_dir, ignore_errors=True)
