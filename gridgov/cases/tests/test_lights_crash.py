"""The lights job killed between a case's light change and its notifications.

`bench/faults.py huey` kills the huey consumer during `watch_time_limits`. The light's
conditional UPDATE used to commit on its own, before the notifications were written: a
process dying in between left the light changed and nobody told, and every later run saw
nothing left to do for that case. The crash is simulated without processes: sending the
notifications fails once, as if the process had died there.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import DatabaseError

from gridgov.cases import lights, notify
from gridgov.cases.lights import refresh_lights
from gridgov.cases.models import Case, CaseLog, Notification

pytestmark = pytest.mark.django_db


def overdue(case: Case, limit_hours: float, elapsed_hours: float) -> Case:
    started = case.stage_started_at - timedelta(hours=elapsed_hours)
    Case.objects.filter(pk=case.pk).update(stage_started_at=started, reported_at=started,
                                           deadline=started + timedelta(hours=limit_hours),
                                           deadline_unit="natural_hours")
    return Case.objects.get(pk=case.pk)


def dies_on_call(n: int):
    """notify.send, dying on its n-th call (the process killed after the light's UPDATE)."""
    real, calls = notify.send, []

    def send(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise DatabaseError("terminating connection")
        return real(*args, **kwargs)

    return mock.patch.object(notify, "send", side_effect=send)


def test_a_run_killed_after_a_light_change_leaves_the_case_to_the_next_run(world, report, settings):
    settings.GRIDGOV_ESCALATE_OVERDUE_SHARE = 0.5
    yellow = overdue(report(description="垃圾桶满溢一"), 10, 9)
    red = overdue(report(description="垃圾桶满溢二"), 10, 12)
    escalated = overdue(report(description="垃圾桶满溢三"), 10, 17)  # one level: overdue by 70 %
    cases = [yellow, red, escalated]

    for n in (1, 2, 3):  # a crash at each case's light change in turn, then a run to the end
        with dies_on_call(n), pytest.raises(DatabaseError):
            refresh_lights()
    refresh_lights()
    refresh_lights()  # and once more: nothing left to do

    got = {c.pk: Case.objects.get(pk=c.pk) for c in cases}
    assert [got[c.pk].light for c in cases] == ["yellow", "red", "red"]
    assert [got[c.pk].is_escalated_overdue for c in cases] == [False, False, True]
    for case, kind in [(yellow, "yellow"), (red, "red"), (escalated, "red"), (escalated, "escalate")]:
        sent = list(Notification.objects.filter(case=case, kind=kind).values_list("user_id", flat=True))
        assert sent and len(sent) == len(set(sent)), (case.description, kind, sent)  # told, once each
    assert set(Notification.objects.filter(case=yellow, kind="yellow").values_list("user_id", flat=True)) == {
        world.community_dispatcher.pk}
    assert CaseLog.objects.filter(case=escalated, action="escalate").count() == 1
    assert CaseLog.objects.filter(action="escalate").count() == 1


def test_the_light_change_and_its_notifications_are_one_transaction(world, report):
    case = overdue(report(), 10, 9)
    with dies_on_call(1), pytest.raises(DatabaseError):
        lights._change_light(case, Case.Light.YELLOW)
    assert Case.objects.get(pk=case.pk).light == Case.Light.GREEN  # rolled back with the notifications
