import pytest

from gridgov.worktime import cache


@pytest.fixture(autouse=True)
def _fresh_calendar_cache(settings):
    """Each test reads the calendar its own transaction holds.

    Tests roll back instead of committing, so the commit-time invalidation never runs: check
    the version on every read, and leave no cache behind for the next test.
    """
    settings.GRIDGOV_CALENDAR_CHECK_SECONDS = 0
    cache.invalidate()
    yield
    cache.invalidate()
