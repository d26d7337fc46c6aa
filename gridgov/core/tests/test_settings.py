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


@pytest.mark.django_db
def test_admins_are_warned_on_every_page_when_a_year_has_no_calendar(client_for):
    from django.utils import timezone

    from gridgov.core.testing import admin_user, staff
    from gridgov.worktime.services import calendar_warnings, missing_years

    year = timezone.localdate().year
    missing = missing_years([year, year + 1])  # the library covers up to 2026 only
    assert missing and str(missing[0]) in calendar_warnings()[0]
    page = client_for(admin_user()).get("/").content.decode()
    assert str(missing[0]) in page and 'class="warning"' in page
    from gridgov.accounts.models import Role

    worker_page = client_for(staff(Role.GRID_WORKER)).get("/login/").content.decode()
    assert 'class="warning"' not in worker_page
