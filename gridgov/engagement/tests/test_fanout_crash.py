"""A notice's fan-out killed in the middle: nothing half-sent, and the lost job is made up once.

huey takes a task off its queue before running it, so a consumer killed (SIGKILL, OOM, a
deploy) during `notify_recipients` loses the task; `bench/faults.py huey` showed the notice
then stayed unnotified for good. The crash is simulated here without processes: the insert of
the second batch of notifications fails, as if the process had died there.
"""

from unittest import mock

import pytest
from django.db import DatabaseError

from gridgov.cases.models import Notification
from gridgov.engagement import services, tasks
from gridgov.engagement.tests.conftest import publish

pytestmark = pytest.mark.django_db


def crash_on_second_batch():
    real = Notification.objects.bulk_create
    calls = []

    def bulk_create(objs, *args, **kwargs):
        calls.append(len(objs))
        if len(calls) == 2:
            raise DatabaseError("server closed the connection unexpectedly")  # the process died here
        return real(objs, *args, **kwargs)

    return mock.patch.object(Notification.objects, "bulk_create", side_effect=bulk_create)


def test_a_fanout_killed_half_way_is_finished_once_by_the_sweep(world, django_capture_on_commit_callbacks,
                                                                  monkeypatch):
    monkeypatch.setattr(services, "NOTIFY_BATCH", 2)  # several batches for the few recipients here
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = publish(world.leader, world.street)  # everyone below the street
    targets = set(services.target_assignments(notice).values_list("user_id", flat=True))
    assert len(targets) > 4

    with crash_on_second_batch() as bulk_create:
        callbacks[0]()  # the queued job, dying after its first batch (huey logs the error)
    assert bulk_create.call_count == 2
    notice.refresh_from_db()
    assert notice.notified_at is None
    assert not Notification.objects.filter(kind="notice").exists()  # the first batch went with it
    assert list(services.pending_notices()) == [notice]

    # The restarted consumer: the periodic sweep (it runs at once, then every minute) sends it whole.
    assert tasks.notify_pending_notices.call_local() == len(targets)
    sent = list(Notification.objects.filter(kind="notice").values_list("user_id", flat=True))
    assert sorted(sent) == sorted(targets)  # everyone once
    notice.refresh_from_db()
    assert notice.notified_at is not None

    # Again, and the original job retried after all: nothing more.
    assert tasks.notify_pending_notices.call_local() == 0
    assert services.notify_recipients(notice.pk) == 0
    assert Notification.objects.filter(kind="notice").count() == len(targets)


def test_the_sweep_runs_every_minute_and_skips_drafts_and_expired_notices(world):
    from datetime import timedelta

    from django.utils import timezone
    from huey.contrib.djhuey import HUEY

    from gridgov.engagement.models import Notice

    now = timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)
    for minutes in range(7):  # huey reads the periodic tasks every minute, and at the consumer's start
        due = {task.name for task in HUEY.read_periodic(now + timedelta(minutes=minutes))}
        assert "notify_pending_notices" in {name.rsplit(".", 1)[-1] for name in due}
    Notice.objects.create(title="草稿", body="…", grid=world.street, author=world.leader)
    aware = timezone.now()
    Notice.objects.create(title="过期", body="…", grid=world.street, author=world.leader,
                          published_at=aware - timedelta(days=2), expires_at=aware - timedelta(days=1))
    assert not services.pending_notices().exists()
    assert tasks.notify_pending_notices.call_local() == 0
