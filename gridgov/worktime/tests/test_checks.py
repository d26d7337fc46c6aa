import pytest
from django.core import checks

from gridgov.worktime import services
from gridgov.worktime.tests.helpers import NOTICE_2027, d

pytestmark = pytest.mark.django_db


def w001():
    found = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    return [message for message in found if message.id == "worktime.W001"]


def test_missing_years():
    assert services.missing_years([2027, 2026, 2003, 2026]) == [2003, 2027]
    assert services.missing_years([]) == []


def test_the_check_warns_until_next_year_is_imported(monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: d("2026-11-23"))
    found = w001()
    assert len(found) == 1 and found[0].level == checks.WARNING
    assert "2027" in found[0].msg
    assert len(services.calendar_warnings()) == 1 and "2027" in services.calendar_warnings()[0]
    assert services.default_import_year() == 2027

    services.import_notice_text(2027, NOTICE_2027)
    assert w001() == []
    assert services.calendar_warnings() == []
    assert services.default_import_year() == 2027  # next year, to correct it


def test_the_check_names_both_years_when_both_are_missing(monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: d("2027-03-01"))
    assert [str(y) in message.msg for message in w001() for y in (2027, 2028)].count(True) == 2
    assert len(services.calendar_warnings()) == 2


def test_the_check_is_quiet_for_covered_years(monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: d("2025-06-01"))
    assert w001() == []


def test_the_check_queries_only_when_asked_to_check_databases(monkeypatch):
    # Like Django's own database checks, so plain commands never wait for the database.
    monkeypatch.setattr(services, "_today", lambda: d("2026-11-23"))
    assert [m for m in checks.run_checks() if m.id == "worktime.W001"] == []
