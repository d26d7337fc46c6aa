"""Fast form of the kill -9 benchmark (bench/faults.py --quick) on the database the suite uses.

`intake`: gunicorn SIGKILLed once under 3 reporting grid workers, restarted, every report
retried with its client key to acknowledgement: no acknowledged report missing, no client key
twice. `huey`: the consumer SIGKILLed during the lights job and during a notice's fan-out,
restarted: every light, escalation and notification exactly once. Each builds its own scratch
database (an SQLite file, or a PostgreSQL database named per process when the suite runs on
PostgreSQL) and takes 40-60 s; the huey one also needs nothing but the SQLite queue.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gridgov.core.testing import BENCH_PG_ADMIN_URL, postgres_reachable

ROOT = Path(__file__).resolve().parents[3]
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
# One scratch database per run: two suites at once (SQLite and PostgreSQL) must not drop each other's.
DATABASE = f"gridgov_faults_smoke_{os.getpid()}"
TIMEOUT_S = 150


def run_quick(scenario: str) -> str:
    command = [sys.executable, str(ROOT / "bench" / "faults.py"), scenario, "--quick", "--database", DATABASE]
    if ON_POSTGRES:
        command += ["--postgres", BENCH_PG_ADMIN_URL]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "GRIDGOV_VAR_DIR")}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the script stops its processes and drops its database
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"bench/faults.py {scenario} --quick took over {TIMEOUT_S} s:\n{output[-3000:]}")
    assert process.returncode == 0, output[-5000:]
    if ON_POSTGRES:
        import psycopg

        with psycopg.connect(BENCH_PG_ADMIN_URL) as conn:
            left = conn.execute("SELECT 1 FROM pg_database WHERE datname LIKE %s",
                                [f"{DATABASE}%"]).fetchone()
        assert left is None, "the script left its database behind"
    return output


pytestmark = pytest.mark.skipif(ON_POSTGRES and not postgres_reachable(),
                                reason=f"PostgreSQL is not reachable ({BENCH_PG_ADMIN_URL})")


def test_intake_loses_nothing_and_doubles_nothing_when_the_server_is_killed():
    output = run_quick("intake")
    assert "intake: 0 missing, 0 duplicates" in output, output[-3000:]
    assert "SIGKILL at" in output


def test_huey_jobs_run_exactly_once_across_a_killed_consumer():
    output = run_quick("huey")
    assert "lights: 0 missing, 0 duplicates; notice: 0 missing, 0 duplicates" in output, output[-3000:]
    assert "SIGKILL of the consumer" in output
