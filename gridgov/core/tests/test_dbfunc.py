"""Epoch: a datetime read as seconds since 1970 by the database, the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest

from gridgov.cases.models import Case, Category
from gridgov.core.dbfunc import Epoch

pytestmark = pytest.mark.django_db


def test_epoch_is_the_moment_in_seconds_to_the_microsecond_and_null_stays_null(district):
    reported = datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=UTC)
    made = Case.objects.create(
        channel=Case.Channel.WORKER,
        category=Category.objects.filter(children__isnull=True).first(),
        description="路灯不亮需要维修",
        grid=district.micro_grids[0],
        reported_at=reported,
    )
    read = Case.objects.filter(pk=made.pk).values_list(Epoch("reported_at"), Epoch("closed_at"))
    seconds, closed = read.get()
    assert seconds == pytest.approx(reported.timestamp(), abs=1e-3) and closed is None
