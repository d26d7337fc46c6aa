#!/usr/bin/env python
"""The long API fuzz: schemathesis over the whole OpenAPI against a served demo district.

The suite runs a few examples per operation (gridgov/core/tests/test_api_fuzz.py); this runs
many, over HTTP to gunicorn, as an administrator and as a grid worker, on SQLite or PostgreSQL,
and writes what it found into docs/reliability.md. Loopback only; it stops by itself.

    .venv/bin/python bench/fuzz.py                       # SQLite, 50 examples per operation
    .venv/bin/python bench/fuzz.py --postgres --examples 100
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import ROOT, Server, ServerConfig, get_tokens, log, run_manage  # noqa: E402
from scratch import database_url, loopback_only, recreate_database, write_section  # noqa: E402

DOC = ROOT / "docs" / "reliability.md"
PASSWORD = "gridgov-demo-2026"
ROLES = {"admin": "administrator (everything)", "worker": "grid worker (one grid)"}
# The same checks as the suite's run; see its docstring for why positive_data_acceptance is out.
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,negative_data_rejection,ignored_auth")


# gunicorn answers 414 to a request line over 4,094 bytes before the application sees it: that
# refuses invalid input too (and the OpenAPI document declares it).
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429]
"""


def fuzz(port: int, token: str, examples: int, seed: int, report: Path, max_time: int) -> dict:
    config = report.with_name("schemathesis.toml")
    config.write_text(CONFIG, encoding="utf-8")
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(config), "run",
               f"http://127.0.0.1:{port}/api/openapi.json",
               "-H", f"Authorization: Bearer {token}", "--checks", CHECKS, "-n", str(examples),
               "--seed", str(seed), "--workers", "2", "--phases", "examples,coverage,fuzzing",
               "--no-shrink", "--max-time", str(max_time)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=max_time + 300)
    report.write_text(result.stdout + result.stderr, encoding="utf-8")
    tail = result.stdout[-4000:]
    generated = re.search(r"(\d+) generated", tail)
    failures = re.findall(r"❌ (ST\d+ [^:]+): (\d+)", tail)
    return {"seconds": time.perf_counter() - started, "exit": result.returncode,
            "generated": int(generated[1]) if generated else 0,
            "failures": {name: int(count) for name, count in failures}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", nargs="?", const="postgres://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of a loopback PostgreSQL (default: SQLite)")
    parser.add_argument("--examples", type=int, default=50, help="examples per operation and role")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--max-time", type=int, default=900, help="seconds per role at most")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/reliability.md")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="gridgov-fuzz-"))
    env = {**os.environ, "GRIDGOV_VAR_DIR": str(scratch)}
    name = f"gridgov_fuzz_{os.getpid()}"
    if args.postgres:
        loopback_only(args.postgres)
        recreate_database(args.postgres, name)
        env["DATABASE_URL"] = database_url(args.postgres, name)
    else:
        env["DATABASE_URL"] = f"sqlite:///{scratch}/db.sqlite3"
    try:
        run_manage(env, "migrate", "--noinput", "-v", "0")
        started = time.perf_counter()
        run_manage(env, "demo", "--profile", "fengqiao", "--registry-communities", "1", "-v", "0",
                   timeout=900)
        log(f"demo district built in {time.perf_counter() - started:.0f} s")
        with Server(ServerConfig(2, 2), env, scratch / "gunicorn.log") as server:
            tokens = get_tokens(server.port, list(ROLES), PASSWORD)
            results = {}
            for role in ROLES:
                log(f"fuzzing as {role} ({args.examples} examples per operation)")
                results[role] = fuzz(server.port, tokens[role], args.examples, args.seed,
                                     scratch / f"schemathesis-{role}.txt", args.max_time)
                log(f"{role}: {results[role]}")
        errors = (scratch / "gunicorn.log").read_text(errors="replace").count("Internal Server Error")
    finally:
        if args.postgres:
            recreate_database(args.postgres, name, drop_only=True)
    database = "PostgreSQL" if args.postgres else "SQLite"
    rows = [f"| {ROLES[role]} | {r['generated']:,} | "
            f"{', '.join(f'{k}: {v}' for k, v in r['failures'].items()) or 'none'} | {r['seconds']:.0f} s |"
            for role, r in results.items()]
    body = "\n".join([
        f"`bench/fuzz.py --examples {args.examples} --seed {args.seed}` on {database}, "
        f"{time.strftime('%Y-%m-%d')}: the fengqiao demo district served by gunicorn (2×2), "
        "schemathesis phases examples, coverage and fuzzing, checks "
        f"{CHECKS.replace(',', ', ')}. Server errors logged by gunicorn: {errors}.", "",
        "| role | requests generated | failures | time |", "|---|---|---|---|", *rows])
    if not args.no_write:
        write_section(DOC, f"fuzz-{database.lower()}", f"## API fuzz ({database})", body)
        log(f"wrote {DOC.relative_to(ROOT)}")
    print(body)
    log(f"reports in {scratch}")
    failed = any(r["failures"] for r in results.values()) or errors
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
