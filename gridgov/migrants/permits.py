"""Residence permits (居住证): who must apply and by when, applications recorded (often made by staff
on the person's behalf), permits issued, renewed, refused and expired, and the reminders that reach
the grid workers before the deadlines.

A migrant may apply once they have lived here `conf.stay_months()` (six months by the State
Council's interim regulations); the day they reach it is their due date. A permit runs out on
`expires_on` and is renewed (签注) before it does. The registry's `Person.permit_state` follows.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases.models import Notification
from gridgov.cases.workflow import IllegalTransition
from gridgov.migrants import conf
from gridgov.migrants.models import Permit, PermitReminder
from gridgov.population.models import Person

LIVE = (Permit.State.APPLIED, Permit.State.ISSUED)
# The roles reminded of the people in their grid (a dormitory's manager keeps its registry).
REMINDED_ROLES = (Role.GRID_WORKER, Role.DORM_MANAGER)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_on(arrived_on: date) -> date:
    return add_months(arrived_on, conf.stay_months())


def _check_keeper(actor, person: Person) -> None:
    if not has_perm(actor, Perm.EDIT_REGISTRY, person.grid):
        raise PermissionDenied(_("You may not record permits in grid %s.") % person.grid.code)


def permit_of(user, pk: int) -> Permit:
    found = Permit.objects.visible_to(user).select_related("person__grid").filter(pk=pk).first()
    if found is None:
        raise Http404(_("No such permit in your area."))
    return found


def _follow(person: Person, state: str) -> None:
    Person.objects.filter(pk=person.pk).update(permit_state=state, updated_at=timezone.now())


# --- the steps ------------------------------------------------------------------------------------


@transaction.atomic
def apply(
    actor, person: Person, *, applied_on: date | None = None, on_behalf: bool = False, note: str = ""
) -> Permit:
    """An application made (by the person, or by staff for them: 代办)."""
    person = Person.objects.select_for_update().select_related("grid").get(pk=person.pk)
    _check_keeper(actor, person)
    applied_on = applied_on or timezone.localdate()
    if applied_on > timezone.localdate():
        raise ValidationError({"applied_on": _("The application date is in the future.")})
    if Permit.objects.filter(person=person, state__in=LIVE).exists():
        raise ValidationError({"person": _("%s has a permit applied for or in force already.") % person.name})
    permit = Permit.objects.create(
        person=person,
        grid=person.grid,
        applied_on=applied_on,
        on_behalf=on_behalf,
        recorded_by=actor,
        note=note.strip()[:200],
    )
    _follow(person, Person.PermitState.APPLIED)
    return permit


def _locked(permit: Permit, actor) -> Permit:
    permit = Permit.objects.select_for_update().select_related("person__grid").get(pk=permit.pk)
    _check_keeper(actor, permit.person)
    return permit


@transaction.atomic
def issue(
    actor, permit: Permit, *, number: str, issued_on: date | None = None, expires_on: date | None = None
) -> Permit:
    permit = _locked(permit, actor)
    if permit.state != Permit.State.APPLIED:
        raise IllegalTransition(_("Only a permit applied for can be issued."))
    issued_on = issued_on or timezone.localdate()
    expires_on = expires_on or add_months(issued_on, conf.valid_months())
    errors = {}
    if not number.strip():
        errors["number"] = _("Enter the permit's number.")
    if issued_on < permit.applied_on:
        errors["issued_on"] = _("It cannot be issued before it was applied for (%s).") % permit.applied_on
    if expires_on <= issued_on:
        errors["expires_on"] = _("The end of validity must come after the issue date.")
    if errors:
        raise ValidationError(errors)
    permit.state, permit.number = Permit.State.ISSUED, number.strip()[:40]
    permit.issued_on, permit.expires_on = issued_on, expires_on
    permit.save()
    _follow(permit.person, Person.PermitState.VALID)
    return permit


@transaction.atomic
def renew(actor, permit: Permit, *, expires_on: date) -> Permit:
    """The yearly endorsement (签注): the same permit valid longer."""
    permit = _locked(permit, actor)
    if permit.state != Permit.State.ISSUED:
        raise IllegalTransition(_("Only a permit in force can be renewed."))
    if expires_on <= permit.expires_on:
        raise ValidationError(
            {"expires_on": _("Give a date after the present end (%s).") % permit.expires_on}
        )
    permit.expires_on = expires_on
    permit.save(update_fields=["expires_on", "updated_at"])
    return permit


@transaction.atomic
def refuse(actor, permit: Permit, *, reason: str) -> Permit:
    permit = _locked(permit, actor)
    if permit.state != Permit.State.APPLIED:
        raise IllegalTransition(_("Only a permit applied for can be refused."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the application was refused.")})
    permit.state, permit.note = Permit.State.REFUSED, reason.strip()[:200]
    permit.save(update_fields=["state", "note", "updated_at"])
    _follow(permit.person, Person.PermitState.NONE)
    return permit


def expire_due(today: date | None = None) -> int:
    """The daily job: permits past their end expire, and their holders' registry state with them."""
    today = today or timezone.localdate()
    with transaction.atomic():
        ended = list(
            Permit.objects.select_for_update()
            .filter(state=Permit.State.ISSUED, expires_on__lt=today)
            .values_list("pk", "person_id")
        )
        Permit.objects.filter(pk__in=[pk for pk, _person in ended]).update(
            state=Permit.State.EXPIRED, updated_at=timezone.now()
        )
        Person.objects.filter(pk__in=[person for _pk, person in ended]).update(
            permit_state=Person.PermitState.EXPIRED, updated_at=timezone.now()
        )
    return len(ended)


# --- who is due -----------------------------------------------------------------------------------


@dataclass
class Due:
    person: Person
    kind: str  # PermitReminder.Kind
    due_on: date
    overdue: bool
    permit: Permit | None = None


def must_apply(user, today: date, within: int | None = None):
    """Migrants living here without a permit applied for or in force, due within `within` days
    (reminder window) or overdue: their arrival is on or before the cutoff."""
    within = conf.remind_days() if within is None else within
    cutoff = add_months(today + timedelta(days=within), -conf.stay_months())
    live = Permit.objects.filter(person=OuterRef("pk"), state__in=LIVE)
    return (
        Person.objects.visible_to(user)
        .filter(is_migrant=True, is_active=True, arrived_on__lte=cutoff)
        .exclude(Exists(live))
        .select_related("grid")
        .order_by("arrived_on", "pk")
    )


def must_renew(user, today: date, within: int | None = None):
    within = conf.remind_days() if within is None else within
    return (
        Permit.objects.visible_to(user)
        .filter(state=Permit.State.ISSUED, expires_on__lte=today + timedelta(days=within))
        .filter(person__is_active=True)
        .select_related("person__grid")
        .order_by("expires_on", "pk")
    )


def due_list(user, today: date | None = None, *, limit: int = 200) -> list[Due]:
    """What the user's grids must do about permits, the earliest deadline first."""
    today = today or timezone.localdate()
    rows = [
        Due(p, PermitReminder.Kind.APPLY, due_on(p.arrived_on), due_on(p.arrived_on) < today)
        for p in must_apply(user, today)[:limit]
    ]
    rows += [
        Due(p.person, PermitReminder.Kind.RENEW, p.expires_on, p.expires_on < today, p)
        for p in must_renew(user, today)[:limit]
    ]
    rows.sort(key=lambda d: (d.due_on, d.person.pk))
    return rows[:limit]


def counts(user, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    apply_due = must_apply(user, today)
    renew_due = must_renew(user, today)
    overdue_cutoff = add_months(today - timedelta(days=1), -conf.stay_months())
    return {
        "apply_due": apply_due.count(),
        "apply_overdue": apply_due.filter(arrived_on__lte=overdue_cutoff).count(),
        "renew_due": renew_due.count(),
        "renew_overdue": renew_due.filter(expires_on__lt=today).count(),
    }


# --- reminders ------------------------------------------------------------------------------------


def _digest(new: list[Due]) -> str:
    overdue = sum(1 for d in new if d.overdue)
    names = "、".join(d.person.name for d in new[:5]) + ("等" if len(new) > 5 else "")
    text = _(
        "Residence permits: %(count)d people to see to (%(overdue)d overdue): %(names)s. "
        "See the permits list."
    ) % {"count": len(new), "overdue": overdue, "names": names}
    return text[:300]


def remind_user(user, today: date) -> int:
    """Tell one user, in one notification, of the deadlines not told before (one reminder row per person,
    kind and due date, written with the notification)."""
    items = due_list(user, today, limit=5000)
    if not items:
        return 0
    told = set(
        PermitReminder.objects.filter(user=user, person__in=[d.person.pk for d in items]).values_list(
            "person_id", "kind", "due_on"
        )
    )
    new = [d for d in items if (d.person.pk, d.kind, d.due_on) not in told]
    if not new:
        return 0
    with transaction.atomic():
        PermitReminder.objects.bulk_create(
            [
                PermitReminder(
                    user=user, person=d.person, grid_id=d.person.grid_id, kind=d.kind, due_on=d.due_on
                )
                for d in new
            ],
            ignore_conflicts=True,
        )
        Notification.objects.create(user=user, kind="permit_due", text=_digest(new))
    return len(new)


def send_reminders(today: date | None = None) -> int:
    """The daily job: every grid worker and dormitory manager, one at a time."""
    today = today or timezone.localdate()
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(pk__in=Assignment.objects.filter(role__in=REMINDED_ROLES, is_active=True).values("user_id"))
        )
        .order_by("pk")
    )
    return sum(remind_user(user, today) for user in users)
