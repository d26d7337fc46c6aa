import subprocess
import sys

import pytest
from django.db import connection


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    # The test database may be in memory, where WAL does not apply.
    assert mode in ("wal", "memory")


def test_the_gridgov_command_wraps_django(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gridgov", "check"], capture_output=True,
                            text=True, env={"GRIDGOV_VAR_DIR": str(tmp_path), "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_redis_url_switches_huey_and_cache_to_redis(tmp_path):
    code = ("from django.conf import settings; print(settings.HUEY['huey_class'], "
            "settings.CACHES['default']['BACKEND'])")
    result = subprocess.run(
        [sys.executable, "-c", f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
                               f"'gridgov.settings'; django.setup(); {code}"],
        capture_output=True, text=True,
        env={"GRIDGOV_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert result.stdout.split() == ["huey.RedisHuey", "django.core.cache.backends.redis.RedisCache"]
