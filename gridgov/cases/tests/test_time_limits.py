"""Deadlines in working time, the lights job, and overdue escalation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridgov.cases.lights import refresh_lights
from gridgov.cases.models import Case, CaseLog, Notification
from gridgov.cases.workflow import Params, act, start_stage

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_handling_deadline_skips_national_day_and_counts_the_make_up_day(world, report):
    case = report()
    case.state = Case.State.DISPATCHED  # 暴露垃圾 in class 06: 2 working days to handle
    case.category.handle_limit, case.category.handle_unit = 3, "working_days"
    start_stage(case, datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    # 09-30 is day 0; 10-01..07 are holidays; 10-08 (Thu), 10-09 (Fri), 10-10 (Sat, make-up day)
    assert case.deadline == datetime(2026, 10, 10, 17, 30, tzinfo=SHANGHAI)
    assert case.deadline_provisional is False


def test_a_deadline_in_a_year_without_calendar_is_provisional(world, report):
    case = report()
    case.state = Case.State.DISPATCHED
    case.category.handle_limit, case.category.handle_unit = 3, "working_days"
    start_stage(case, datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI))
    assert case.deadline_provisional is True
    assert case.deadline.date().isoformat() == "2027-01-04"  # weekends only: Thu, Fri, Mon


def test_urgent_categories_use_natural_hours(world, report):
    from gridgov.cases.models import Category

    gas = Category.objects.get(code="13003")
    case = report(category_id=gas.pk, description="楼道里有煤气味，怀疑燃气泄漏")
    case = act(case.pk, world.community_dispatcher, "register")
    case = act(case.pk, world.community_dispatcher, "dispatch", Params(department_id=world.police.pk))
    assert case.handle_deadline - case.dispatched_at == timedelta(hours=2)


def age(case: Case, hours: float) -> None:
    """Move a case's stage clock into the past, as if time had passed."""
    shift = timedelta(hours=hours)
    Case.objects.filter(pk=case.pk).update(stage_started_at=case.stage_started_at - shift,
                                           deadline=case.deadline - shift,
                                           reported_at=case.reported_at - shift)


def natural(case: Case, hours: float) -> Case:
    """Give the case's current stage a natural-hour limit, for clock arithmetic in tests."""
    Case.objects.filter(pk=case.pk).update(deadline=case.stage_started_at + timedelta(hours=hours),
                                           deadline_unit="natural_hours")
    return Case.objects.get(pk=case.pk)


def test_lights_turn_yellow_then_red_and_notify_once(world, report):
    case = natural(report(), 10)
    age(case, 8.5)
    assert refresh_lights()["yellow"] == 1
    assert Case.objects.get(pk=case.pk).light == Case.Light.YELLOW
    assert refresh_lights() == {"yellow": 0, "red": 0, "escalated": 0}  # idempotent
    age(Case.objects.get(pk=case.pk), 2)
    assert refresh_lights()["red"] == 1
    refresh_lights()
    kinds = list(Notification.objects.filter(case=case, user=world.community_dispatcher)
                 .values_list("kind", flat=True).order_by("id"))
    assert kinds == ["report", "yellow", "red"]


def test_overdue_beyond_the_margin_escalates_once_to_the_next_centre(world, report, settings):
    settings.GRIDGOV_ESCALATE_OVERDUE_SHARE = 0.5
    case = natural(report(), 10)
    assert case.owner_grid == world.district.communities[0]
    age(case, 16)
    counts = refresh_lights()
    assert counts["escalated"] == 1
    case.refresh_from_db()
    assert case.owner_grid == world.district.street and case.is_escalated_overdue
    assert refresh_lights()["escalated"] == 0
    entry = CaseLog.objects.filter(case=case, action="escalate").get()
    assert entry.actor is None and entry.data["reason"] == "overdue"
    assert world.dispatcher.notifications.filter(case=case, kind="escalate").exists()


def test_a_new_stage_turns_the_light_green_again(world, report):
    case = natural(report(), 10)
    age(case, 11)
    refresh_lights()
    case = act(case.pk, world.community_dispatcher, "register")
    assert case.light == Case.Light.GREEN and case.deadline > case.stage_started_at


def test_the_periodic_job_is_registered_with_huey():
    from huey.contrib.djhuey import HUEY

    from gridgov.cases import tasks

    assert tasks.watch_time_limits.task_class in HUEY._registry._periodic_tasks
    task = tasks.watch_time_limits.task_class()
    assert task.validate_datetime(datetime(2026, 11, 23, 9, 5)) is True  # every five minutes
    assert task.validate_datetime(datetime(2026, 11, 23, 9, 7)) is False
