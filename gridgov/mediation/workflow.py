"""Every change of a dispute goes through `act()`, shaped like `cases/workflow.py`.

Inside one transaction with the dispute's row locked it checks that the actor may see the
dispute (404), that the step is legal from its state (409, `IllegalTransition`), that the actor
may mediate in the dispute's grid (403), and the step's own input (400); then it applies the
step, starts a new clock when mediation starts again, writes one `DisputeLog` row and the in-app
notices of whoever acts next.

States: registered → mediating → agreed → closed (the return visit found the agreement held) or
back to mediating (broken: reopened); mediating → referred (the referral followed from sent to
received to concluded); registered/mediating → withdrawn; a dispute that came from a case goes
back to it with `return_to_case` (the case resumes through `cases.workflow.act`). While open, a
mediator may change the risk level (`set_risk`, with a reason); raised to high, it is escalated to
the leaders at once, as at registration.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.models import Assignment, Department, Role
from gridgov.accounts.roles import ROLE_PERMISSIONS, Perm, has_perm
from gridgov.cases import workflow as case_workflow
from gridgov.cases.lights import light_for
from gridgov.cases.models import Notification
from gridgov.cases.workflow import IllegalTransition
from gridgov.grids.codes import lineage
from gridgov.mediation import conf
from gridgov.mediation.models import (
    Agreement,
    Dispute,
    DisputeLog,
    Referral,
    ReturnVisit,
    Session,
    Window,
)
from gridgov.worktime.models import TimeUnit
from gridgov.worktime.services import add_time, elapsed_share

S = Dispute.State
NOTE_MAX, TEXT_MAX = 500, 5000


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple[str, ...]
    needs_note: bool = False


ACTIONS = {
    a.name: a
    for a in [
        Action("assign", gettext_lazy("Assign a mediator"), (S.REGISTERED, S.MEDIATING)),
        Action(
            "set_risk", gettext_lazy("Change the risk level"), (S.REGISTERED, S.MEDIATING), needs_note=True
        ),
        Action("session", gettext_lazy("Record a session"), (S.MEDIATING,)),
        Action("agree", gettext_lazy("Record the agreement"), (S.MEDIATING,)),
        Action("refer", gettext_lazy("Refer on"), (S.MEDIATING,), needs_note=True),
        Action("withdraw", gettext_lazy("Withdraw"), (S.REGISTERED, S.MEDIATING), needs_note=True),
        Action("receive_referral", gettext_lazy("Referral received"), (S.REFERRED,)),
        Action("conclude_referral", gettext_lazy("Referral concluded"), (S.REFERRED,), needs_note=True),
        Action("return_visit", gettext_lazy("Record the return visit"), (S.AGREED,), needs_note=True),
        Action(
            "return_to_case",
            gettext_lazy("Return to the case"),
            tuple(s for s in S.values if s != S.RETURNED),
            needs_note=True,
        ),
    ]
}


@dataclass
class Params:
    """What a step may carry besides the actor."""

    note: str = ""
    mediator_id: int | None = None
    window_id: int | None = None
    department_id: int | None = None
    held_at: datetime | None = None
    place: str = ""
    participants: str = ""
    terms: str = ""
    signed_on: date | None = None
    referral_kind: str = ""
    to_name: str = ""
    referral_id: int | None = None
    held: bool | None = None
    risk: str = ""


# --- the clock and the notices ---------------------------------------------------------------


def start_clock(dispute: Dispute, now: datetime) -> None:
    """Mediation gets its limit in working days from now (registration, or reopening)."""
    deadline = add_time(now, conf.mediation_days(), TimeUnit.WORKING_DAYS)
    dispute.started_at, dispute.deadline, dispute.deadline_unit = now, deadline.at, TimeUnit.WORKING_DAYS
    dispute.light = Dispute.Light.GREEN
    dispute.overdue_told_at = None


def leaders_of_line(grid) -> list[int]:
    """The leaders of the grid's line of the tree (the grid and every grid above it)."""
    return list(
        Assignment.objects.filter(is_active=True, role=Role.LEADER, grid__code__in=lineage(grid.code))
        .values_list("user_id", flat=True)
        .distinct()
    )


def tell(user_ids, text: str, exclude: int | None = None) -> None:
    """In-app notices, in the step's transaction: they exist iff the step does."""
    users = {u for u in user_ids if u} - {exclude}
    active = get_user_model().objects.filter(pk__in=users, is_active=True).values_list("pk", flat=True)
    Notification.objects.bulk_create(
        [Notification(user_id=u, kind="mediation", text=text[:300]) for u in sorted(active)]
    )


def log(
    dispute: Dispute, actor, action: str, from_state: str, note: str = "", data=None, at=None
) -> DisputeLog:
    return DisputeLog.objects.create(
        dispute=dispute,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=dispute.state,
        note=note,
        data=data or {},
        at=at or timezone.now(),
    )


def assess_risk(people: int, threat: bool, repeated: bool, stated: str) -> str:
    """High when many are involved, violence is threatened or the matter keeps being petitioned;
    otherwise what the desk said."""
    if people >= conf.high_risk_people() or threat or repeated:
        return Dispute.Risk.HIGH
    return stated


def escalate_if_high(dispute: Dispute, actor, now: datetime) -> bool:
    """A high-risk dispute goes to the leaders of its grid's line at once (once)."""
    if dispute.risk != Dispute.Risk.HIGH or dispute.escalated_at is not None:
        return False
    dispute.escalated_at = now
    Dispute.objects.filter(pk=dispute.pk).update(escalated_at=now)
    leaders = leaders_of_line(dispute.grid)
    log(dispute, actor, "escalate", dispute.state, data={"leader_ids": sorted(set(leaders))}, at=now)
    tell(
        leaders,
        _("High-risk dispute in %(grid)s: %(title)s") % {"grid": dispute.grid.name, "title": dispute.title},
    )
    return True


# --- the steps ------------------------------------------------------------------------------------


def _text(value: str, field: str, limit: int, errors: dict) -> str:
    text = (value or "").strip()
    if not text:
        errors[field] = _("This field is required.")
    elif len(text) > limit:
        errors[field] = _("At most %d characters.") % limit
    return text


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _do_assign(dispute, actor, params, now):
    errors = {}
    mediator = get_user_model().objects.filter(pk=params.mediator_id, is_active=True).first()
    if mediator is None or not has_perm(mediator, Perm.MEDIATE, dispute.grid):
        errors["mediator_id"] = _("Choose a mediator who mediates in this dispute's grid.")
    window = None
    if params.window_id is not None:
        window = Window.objects.filter(pk=params.window_id, centre=dispute.centre_id, is_active=True).first()
        if window is None:
            errors["window_id"] = _("Choose an open window of this centre.")
    department = None
    if params.department_id is not None:
        department = Department.objects.filter(pk=params.department_id, is_active=True).first()
        if department is None:
            errors["department_id"] = _("Choose an active department.")
    _raise(errors)
    dispute.state, dispute.mediator = S.MEDIATING, mediator
    dispute.window = window or dispute.window
    dispute.department = department or (window.department if window else None) or dispute.department
    return {
        "mediator_id": mediator.pk,
        "mediator": str(mediator),
        "window_id": dispute.window_id,
        "department_id": dispute.department_id,
    }


def _do_session(dispute, actor, params, now):
    errors = {}
    participants = _text(params.participants, "participants", 300, errors)
    notes = _text(params.note, "note", TEXT_MAX, errors)
    if params.held_at is not None and timezone.is_naive(params.held_at):
        # A time without its offset is read as local (Asia/Shanghai), as people type it.
        params.held_at = timezone.make_aware(params.held_at)
    if params.held_at is None or params.held_at > now + timedelta(minutes=5):
        errors["held_at"] = _("Give the time the session was held (not in the future).")
    _raise(errors)
    session = Session.objects.create(
        dispute=dispute,
        held_at=params.held_at,
        place=params.place.strip()[:100],
        participants=participants,
        notes=notes,
        mediator=actor,
    )
    return {"session_id": session.pk}


def _do_agree(dispute, actor, params, now):
    errors = {}
    terms = _text(params.terms, "terms", TEXT_MAX, errors)
    roles = set(dispute.parties.values_list("role", flat=True))
    if not {"applicant", "respondent"} <= roles:
        errors["parties"] = _("An agreement needs an applicant and a respondent among the parties.")
    signed_on = params.signed_on or timezone.localdate(now)
    if signed_on > timezone.localdate(now):
        errors["signed_on"] = _("The agreement cannot be signed in the future.")
    _raise(errors)
    agreement = Agreement.objects.create(dispute=dispute, terms=terms, signed_on=signed_on, made_by=actor)
    due = signed_on + timedelta(days=conf.return_visit_days())
    ReturnVisit.objects.create(dispute=dispute, agreement=agreement, due_on=due)
    dispute.state, dispute.resolved_at = S.AGREED, now
    return {"agreement_id": agreement.pk, "return_visit_due": due.isoformat()}


def _do_refer(dispute, actor, params, now):
    errors = {}
    if params.referral_kind not in Referral.Kind.values:
        errors["referral_kind"] = _("Choose one of: %s.") % ", ".join(Referral.Kind.values)
    department = None
    if params.department_id is not None:
        department = Department.objects.filter(pk=params.department_id, is_active=True).first()
        if department is None:
            errors["department_id"] = _("Choose an active department.")
    to_name = (params.to_name or "").strip() or (department.name if department else "")
    if not to_name or len(to_name) > 100:
        errors["to_name"] = _("Name the body the dispute is referred to (at most 100 characters).")
    _raise(errors)
    referral = Referral.objects.create(
        dispute=dispute, kind=params.referral_kind, to_name=to_name, department=department, sent_at=now
    )
    dispute.state = S.REFERRED
    return {"referral_id": referral.pk, "kind": referral.kind, "to": to_name}


def _do_set_risk(dispute, actor, params, now):
    if params.risk not in Dispute.Risk.values:
        raise ValidationError({"risk": _("Choose one of: %s.") % ", ".join(Dispute.Risk.values)})
    if params.risk == dispute.risk:
        raise ValidationError({"risk": _("The dispute already has this risk level.")})
    # The facts that make a dispute high risk at the desk keep it high afterwards.
    facts = (dispute.people_involved, dispute.threat_of_violence, dispute.repeated_petitions)
    if assess_risk(*facts, params.risk) != params.risk:
        why = _("Many people, a threat of violence or repeated petitions keep this dispute high risk.")
        raise ValidationError({"risk": why})
    before = dispute.risk
    dispute.risk = params.risk
    if before == Dispute.Risk.HIGH:
        # The leaders' alert is over: raising it again later tells them again (`escalate_if_high`).
        dispute.escalated_at = None
    return {"from": before, "to": params.risk}


def _do_withdraw(dispute, actor, params, now):
    dispute.state = S.WITHDRAWN


def _referral(dispute, params, state: str) -> Referral:
    referral = dispute.referrals.select_for_update().filter(pk=params.referral_id).first()
    if referral is None:
        raise ValidationError({"referral_id": _("Choose a referral of this dispute.")})
    if referral.state != state:
        raise IllegalTransition(
            _("The referral is “%s”: that step is not possible now.") % referral.get_state_display()
        )
    return referral


def _do_receive_referral(dispute, actor, params, now):
    referral = _referral(dispute, params, Referral.State.SENT)
    referral.state, referral.received_at = Referral.State.RECEIVED, now
    referral.save(update_fields=["state", "received_at"])
    return {"referral_id": referral.pk}


def _do_conclude_referral(dispute, actor, params, now):
    referral = _referral(dispute, params, Referral.State.RECEIVED)
    referral.state, referral.concluded_at, referral.result = (
        Referral.State.CONCLUDED,
        now,
        params.note.strip(),
    )
    referral.save(update_fields=["state", "concluded_at", "result"])
    return {"referral_id": referral.pk}


def _do_return_visit(dispute, actor, params, now):
    if params.held is None:
        raise ValidationError({"held": _("Say whether the agreement held.")})
    visit = dispute.return_visits.select_for_update().filter(done_at=None).order_by("due_on", "id").first()
    if visit is None:  # an agreement always leaves one; guard against a hand-edited database
        visit = ReturnVisit.objects.create(
            dispute=dispute, agreement=dispute.agreements.first(), due_on=timezone.localdate(now)
        )
    visit.done_at, visit.held, visit.notes, visit.visited_by = now, params.held, params.note.strip(), actor
    visit.save(update_fields=["done_at", "held", "notes", "visited_by"])
    if params.held:
        dispute.state = S.CLOSED
    else:
        # A broken agreement reopens the dispute with a fresh clock; it no longer counts as resolved.
        dispute.state, dispute.resolved_at = S.MEDIATING, None
        dispute.reopen_count += 1
        start_clock(dispute, now)
    return {"return_visit_id": visit.pk, "held": params.held}


def _do_return_to_case(dispute, actor, params, now):
    if dispute.case_id is None:
        raise IllegalTransition(_("This dispute did not come from a case."))
    if dispute.returned_to_case_at is not None:
        raise IllegalTransition(_("This dispute was already returned to its case."))
    outcome = dispute.get_state_display()
    note = _("Back from mediation (%(outcome)s): %(note)s") % {
        "outcome": outcome,
        "note": params.note.strip(),
    }
    # The case resumes through its own workflow (checks, log, notices); a refusal there refuses this step.
    case_workflow.act(dispute.case_id, actor, "resume", case_workflow.Params(note=note))
    dispute.returned_to_case_at = now
    if dispute.state in Dispute.OPEN_STATES:
        dispute.state = S.RETURNED  # mediation stops; a concluded outcome is kept as it is
    return {"case_id": dispute.case_id, "outcome": outcome}


HANDLERS = {name: globals()[f"_do_{name}"] for name in ACTIONS}

NEXT = {
    "assign": lambda d: ([d.mediator_id], _("You mediate the dispute “%s”.")),
    "agree": lambda d: ([d.mediator_id], _("Agreement reached in “%s”; a return visit is due.")),
    "return_visit": lambda d: (
        [d.mediator_id] + leaders_of_line(d.grid) if d.state == S.MEDIATING else [],
        _("The agreement in “%s” did not hold: the dispute is reopened."),
    ),
    "refer": lambda d: (leaders_of_line(d.grid), _("The dispute “%s” was referred on.")),
}


def readable(user):
    return Dispute.objects.visible_to(user)


MEDIATING_ROLES = tuple(role for role, perms in ROLE_PERMISSIONS.items() if Perm.MEDIATE in perms)


def mediators_for(grid, limit: int = 200) -> list:
    """Active users who may mediate in `grid` (a mediating role on it or on a grid above it, or on
    no grid: the district's command centre, administrators), by name: the assign form's choices."""
    holders = Assignment.objects.filter(is_active=True, role__in=MEDIATING_ROLES).filter(
        Q(grid__code__in=lineage(grid.code)) | Q(grid__isnull=True)
    )
    users = get_user_model().objects.filter(pk__in=holders.values("user_id"), is_active=True)
    return [u for u in users.order_by("name", "username")[:limit] if has_perm(u, Perm.MEDIATE, grid)]


@transaction.atomic
def act(dispute_id: int, actor, action_name: str, params: Params | None = None) -> Dispute:
    """Perform one step on a dispute as `actor`; see the module docstring."""
    params = params or Params()
    action = ACTIONS.get(action_name)
    if action is None:
        raise ValidationError({"action": _("Unknown action %s.") % action_name})
    if not readable(actor).filter(pk=dispute_id).exists():
        raise Http404(_("No such dispute in your area."))
    dispute = (
        Dispute.objects.select_for_update(of=("self",)).select_related("grid", "centre").get(pk=dispute_id)
    )
    if dispute.state not in action.sources:
        raise IllegalTransition(
            _("A dispute that is “%(state)s” cannot be “%(action)s”.")
            % {"state": dispute.get_state_display(), "action": action.label}
        )
    if not has_perm(actor, Perm.MEDIATE, dispute.grid):
        raise PermissionDenied(_("Only mediators of the dispute's grid take this step."))
    if action.needs_note and len(params.note.strip()) < 2:
        raise ValidationError({"note": _("Say why (at least a few words).")})
    if len(params.note) > TEXT_MAX:
        raise ValidationError({"note": _("At most %d characters.") % TEXT_MAX})
    now = timezone.now()
    from_state = dispute.state
    data = HANDLERS[action.name](dispute, actor, params, now) or {}
    dispute.save()
    log(dispute, actor, action.name, from_state, params.note.strip(), data, at=now)
    if action.name == "set_risk":
        escalate_if_high(dispute, actor, now)  # raised to high: the leaders hear at once, as at the desk
    if action.name in NEXT:
        users, text = NEXT[action.name](dispute)
        tell(users, text % dispute.title, exclude=actor.pk)
    return dispute


def available_actions(user, dispute: Dispute) -> list[str]:
    if not has_perm(user, Perm.MEDIATE, dispute.grid):
        return []
    names = [a.name for a in ACTIONS.values() if dispute.state in a.sources]
    if dispute.case_id is None or dispute.returned_to_case_at is not None:
        names = [n for n in names if n != "return_to_case"]
    return names


# --- lights and return visits (huey) -----------------------------------------------------------------

SEVERITY = {Dispute.Light.GREEN: 0, Dispute.Light.YELLOW: 1, Dispute.Light.RED: 2}


def refresh_lights(now=None) -> dict[str, int]:
    """Lights of the open disputes; a red one is told to its mediator and the line's leaders once.
    Conditional updates: running it twice, or at once, changes nothing more."""
    now = now or timezone.now()
    counts = {"yellow": 0, "red": 0}
    open_ = Dispute.objects.filter(state__in=Dispute.OPEN_STATES).select_related("grid")
    for dispute in open_.iterator(chunk_size=500):
        light = light_for(elapsed_share(dispute.started_at, dispute.deadline, now, dispute.deadline_unit))
        if SEVERITY[light] <= SEVERITY[dispute.light]:
            continue
        with transaction.atomic():
            changed = Dispute.objects.filter(pk=dispute.pk, light=dispute.light, deadline=dispute.deadline)
            if not changed.update(light=light):
                continue
            counts[light] += 1
            if light == Dispute.Light.RED and Dispute.objects.filter(
                pk=dispute.pk, overdue_told_at=None
            ).update(overdue_told_at=now):
                dispute.light = light
                log(dispute, None, "overdue", dispute.state, at=now)
                tell(
                    [dispute.mediator_id] + leaders_of_line(dispute.grid),
                    _("The dispute “%s” is past its mediation time limit.") % dispute.title,
                )
    return counts


def remind_return_visits(today: date | None = None) -> int:
    """Tell the mediator (or the line's leaders) of each return visit now due, once."""
    today = today or timezone.localdate()
    due = ReturnVisit.objects.filter(
        done_at=None, reminded_at=None, due_on__lte=today, dispute__state=S.AGREED
    ).select_related("dispute__grid")
    told = 0
    for visit in due.iterator(chunk_size=500):
        with transaction.atomic():
            if not ReturnVisit.objects.filter(pk=visit.pk, reminded_at=None).update(
                reminded_at=timezone.now()
            ):
                continue
            dispute = visit.dispute
            users = [dispute.mediator_id] if dispute.mediator_id else leaders_of_line(dispute.grid)
            tell(users, _("Return visit due: did the agreement in “%s” hold?") % dispute.title)
            told += 1
    return told
