"""Traffic lights on time limits, and escalation of cases left overdue.

`refresh_lights()` is idempotent and keeps no state outside the database: each change is
a conditional UPDATE (only the process that actually changes a light or escalates a case
sends the notification and writes the log), so running it twice, concurrently, or again
after a restart changes nothing more. Each case's change commits in one transaction with
its notifications and log, so a process killed half-way leaves every case either done
whole or untouched, and the next run finishes the rest (`bench/faults.py huey`).
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Case as Conditional
from django.db.models import F, IntegerField, Q, Value, When
from django.utils import timezone

from gridgov.cases import notify, workflow
from gridgov.cases.models import Case, CaseLog
from gridgov.worktime.services import elapsed_share

SEVERITY = {Case.Light.GREEN: 0, Case.Light.YELLOW: 1, Case.Light.RED: 2}


def red_first():
    """An ordering expression on a `light` field: red, then yellow, then green. Every model with
    lights (cases, posts, disputes, errands) uses these three values."""
    return Conditional(
        When(light=Case.Light.RED, then=Value(0)),
        When(light=Case.Light.YELLOW, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def light_for(share: float) -> str:
    if share >= 1:
        return Case.Light.RED
    if share >= settings.GRIDGOV_YELLOW_SHARE:
        return Case.Light.YELLOW
    return Case.Light.GREEN


def _watched():
    return (Case.objects.open().exclude(state=Case.State.SUSPENDED)
            .filter(deadline__isnull=False, stage_started_at__isnull=False)
            # Red cases stay watched while there is a command centre above to climb to.
            .filter(~Q(light=Case.Light.RED) | Q(owner_grid__isnull=False))
            .select_related("category", "grid", "owner_grid"))


def refresh_lights(now=None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"yellow": 0, "red": 0, "escalated": 0}
    for case in _watched().iterator(chunk_size=500):
        share = elapsed_share(case.stage_started_at, case.deadline, now, case.deadline_unit)
        light = light_for(share)
        if SEVERITY[light] > SEVERITY[case.light] and _change_light(case, light):
            counts[light] += 1
        if share >= escalation_threshold(case) and _escalate_overdue(case, now):
            counts["escalated"] += 1
    return counts


@transaction.atomic
def _change_light(case: Case, light: str) -> bool:
    # One transaction with its notifications: a process killed between the two must not leave
    # the light changed and nobody told (the next run would see nothing left to do).
    changed = Case.objects.filter(pk=case.pk, light=case.light, deadline=case.deadline).update(light=light)
    if changed:
        case.light = light
        notify.send(case, light, notify.responsible_for(case) + notify.leaders_of(case)
                    if light == Case.Light.RED else notify.responsible_for(case))
    return bool(changed)


def escalation_threshold(case: Case) -> float:
    """The share of the limit past which the case climbs once more.

    The first climb comes when overdue by GRIDGOV_ESCALATE_OVERDUE_SHARE of the limit, and each
    further one after that much again, so a case left overdue at every level reaches the
    district centre.
    """
    return 1 + settings.GRIDGOV_ESCALATE_OVERDUE_SHARE * (case.overdue_escalations + 1)


@transaction.atomic
def _escalate_overdue(case: Case, now) -> bool:
    if case.owner_grid_id is None or case.state not in (Case.State.REPORTED, Case.State.REGISTERED,
                                                        Case.State.RETURNED, Case.State.DISPATCHED,
                                                        Case.State.ACCEPTED):
        return False
    upper = workflow.command_grid_for(case.owner_grid, above=case.owner_grid)
    changed = (Case.objects.filter(pk=case.pk, overdue_escalations=case.overdue_escalations,
                                   owner_grid=case.owner_grid)
               .update(is_escalated_overdue=True, owner_grid=upper,
                       overdue_escalations=F("overdue_escalations") + 1,
                       escalation_count=F("escalation_count") + 1))
    if not changed:
        return False
    case.owner_grid, case.is_escalated_overdue = upper, True
    case.overdue_escalations += 1
    case.escalation_count += 1
    CaseLog.objects.create(case=case, actor=None, action="escalate", from_state=case.state,
                           to_state=case.state, at=now, note="overdue",
                           data={"to": upper.code if upper else None, "reason": "overdue",
                                 "level": case.overdue_escalations})
    notify.send(case, "escalate", notify.dispatchers_of(case))
    return True
