"""Smoke test of the intake benchmark (bench/intake.py --quick): it sets up, serves, loads and cleans up.

Runs only when PostgreSQL answers on 127.0.0.1:5432 (the benchmark makes its own scratch
database there); skipped otherwise. About a minute (the quick run builds the demo without its
registry).
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gridgov.core.testing import BENCH_PG_ADMIN_URL, postgres_reachable

ROOT = Path(__file__).resolve().parents[3]
# One scratch database per run: two suites at once (SQLite and PostgreSQL) must not drop each other's.
DATABASE = f"gridgov_bench_smoke_{os.getpid()}"


@pytest.mark.skipif(not postgres_reachable(), reason=f"PostgreSQL is not reachable ({BENCH_PG_ADMIN_URL})")
def test_quick_benchmark_runs_and_cleans_up():
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "intake.py"), "--quick", "--no-write", "--database", DATABASE],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the benchmark stops its server and drops its database
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"bench/intake.py --quick took over 150 s:\n{output[-3000:]}")
    assert process.returncode == 0, output[-5000:]
    rows = re.findall(r"^\| \S+ \S+ \| 2 \| (health|intake \+ photo|intake, no photo) \| ([\d,]+) \| 0 \|",
                      output, re.MULTILINE)
    assert [name for name, _count in rows] == ["health", "intake + photo", "intake, no photo"], output[-3000:]
    assert all(int(count.replace(",", "")) > 0 for _name, count in rows)

    import psycopg

    with psycopg.connect(BENCH_PG_ADMIN_URL) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
    assert left is None, "the benchmark left its database behind"
    # The photos the reports held are then stored by their job, which the benchmark times.
    job = re.search(r"the (\d[\d,]*) photos the reports held \((\d[\d,]*) stored\)", output)
    assert job and job[1] == job[2] and int(job[1].replace(",", "")) > 0, output[-3000:]
