"""Fast form of bench/scaleout.py: two app servers in network namespaces behind a balancer on
PostgreSQL and Redis; grids changed through one are located by the other, one is SIGKILLed
under load and no acknowledged report is lost or doubled. Needs root and `ip` (network
namespaces), so it runs in the PostgreSQL suite of `./dev.sh test` and is skipped elsewhere.
About 45-90 s."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gridgov.core.testing import BENCH_PG_ADMIN_URL, postgres_reachable

ROOT = Path(__file__).resolve().parents[3]
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2).ping())
    except Exception:
        return False


@pytest.mark.skipif(not ON_POSTGRES, reason="the scale-out runs on PostgreSQL (the SQLite suite skips it)")
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="network namespaces need root and ip")
@pytest.mark.skipif(not postgres_reachable() or not _redis_reachable(), reason="PostgreSQL and Redis needed")
def test_two_servers_one_killed_lose_nothing():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scaleout.py"), "--quick", "--no-write",
         "--pg", BENCH_PG_ADMIN_URL, "--database", f"gridgov_scaleout_smoke_{os.getpid()}"],
        cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "all checks passed" in result.stdout
