"""The workflow service: every change of a case's state goes through `act()`.

For each action it checks, in this order and inside one transaction with the case row
locked: that the actor may see the case (404), that the action is legal from the case's
current state (409), and that the actor's role allows it on this case (403); then it
applies the change, computes the new stage deadline, writes the case log with any
attachments, and notifies the people now responsible.

Two dispatchers acting on one case at once: the second waits for the row lock, then
finds the state already changed and gets a 409 — never a lost update.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.models import Assignment, Department, Role
from gridgov.accounts.roles import active_assignments, roles_of
from gridgov.cases import notify
from gridgov.cases.models import AssistTask, Attachment, Case, CaseCopy, CaseLog, Instruction
from gridgov.worktime.services import add_time

S = Case.State


class IllegalTransition(Exception):
    """The action is not possible from the case's current state (HTTP 409)."""


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple[str, ...]
    actor: str  # who may do it: dispatcher, handler, verifier, leader, reporter, responsible,
    #             assistant (an assisting department's handler), reader (staff who see the case)
    needs_note: bool = False


# Every state a case can be in except those it ended in without being handled.
LIVE = tuple(s for s in S.values if s not in (S.REJECTED, S.MERGED))

ACTIONS = {a.name: a for a in [
    Action("register", gettext_lazy("Register"), (S.REPORTED,), "dispatcher"),
    Action("reject", gettext_lazy("Reject"), (S.REPORTED,), "dispatcher", needs_note=True),
    Action("merge", gettext_lazy("Merge into another case"), (S.REPORTED, S.REGISTERED), "dispatcher"),
    Action("dispatch", gettext_lazy("Dispatch"), (S.REGISTERED, S.RETURNED), "dispatcher"),
    Action("accept", gettext_lazy("Accept"), (S.DISPATCHED,), "handler"),
    Action("return", gettext_lazy("Return to dispatcher"), (S.DISPATCHED,), "handler", needs_note=True),
    Action("report_result", gettext_lazy("Report the result"), (S.ACCEPTED,), "handler",
           needs_note=True),
    Action("request_extension", gettext_lazy("Ask for more time"), (S.ACCEPTED,), "handler",
           needs_note=True),
    Action("approve_extension", gettext_lazy("Grant more time"), (S.ACCEPTED,), "dispatcher"),
    Action("deny_extension", gettext_lazy("Refuse more time"), (S.ACCEPTED,), "dispatcher",
           needs_note=True),
    Action("verify", gettext_lazy("Confirm the result on site"), (S.HANDLED,), "verifier"),
    Action("rework", gettext_lazy("Send back for rework"), (S.HANDLED, S.VERIFIED), "verifier",
           needs_note=True),
    Action("close", gettext_lazy("Close"), (S.VERIFIED,), "dispatcher"),
    Action("suspend", gettext_lazy("Suspend"), (S.REGISTERED, S.RETURNED, S.DISPATCHED, S.ACCEPTED),
           "dispatcher", needs_note=True),
    Action("resume", gettext_lazy("Resume"), (S.SUSPENDED,), "dispatcher"),
    Action("escalate", gettext_lazy("Escalate to the next level"), (S.REPORTED, S.REGISTERED, S.RETURNED),
           "dispatcher", needs_note=True),
    Action("urge", gettext_lazy("Urge"), (S.REGISTERED, S.RETURNED, S.DISPATCHED, S.ACCEPTED,
                                          S.HANDLED, S.VERIFIED), "leader", needs_note=True),
    Action("supervise", gettext_lazy("Put under supervision"), (S.REGISTERED, S.RETURNED, S.DISPATCHED,
                                                               S.ACCEPTED, S.SUSPENDED), "leader",
           needs_note=True),
    Action("rate", gettext_lazy("Rate"), (S.CLOSED,), "reporter"),
    # Steps beside the state machine: they change no state but are checked, logged and
    # notified exactly like the others.
    Action("instruct", gettext_lazy("Give an instruction"), LIVE, "leader", needs_note=True),
    Action("answer_instruction", gettext_lazy("Answer the instruction"), LIVE, "responsible",
           needs_note=True),
    Action("copy", gettext_lazy("Copy to"), LIVE, "dispatcher"),
    Action("comment", gettext_lazy("Comment"), LIVE, "reader", needs_note=True),
    Action("assign_assist", gettext_lazy("Ask a department to assist"), (S.DISPATCHED, S.ACCEPTED),
           "dispatcher", needs_note=True),
    Action("report_part", gettext_lazy("Report our part"), (S.DISPATCHED, S.ACCEPTED), "assistant",
           needs_note=True),
    Action("call_back", gettext_lazy("Record the call-back"), (S.CLOSED,), "dispatcher"),
    Action("reopen", gettext_lazy("Reopen for rework"), (S.CLOSED,), "dispatcher", needs_note=True),
]}

# The stage whose time limit runs in each state, and the moment it started.
STAGE_OF_STATE = {
    S.REPORTED: "register", S.REGISTERED: "dispatch", S.RETURNED: "dispatch",
    S.DISPATCHED: "handle", S.ACCEPTED: "handle", S.HANDLED: "verify", S.VERIFIED: "verify",
}


@dataclass
class Params:
    """What an action may carry besides the actor."""

    note: str = ""
    department_id: int | None = None
    master_id: int | None = None
    until: datetime | None = None
    rating: str = ""
    callback: str = ""
    instruction_id: int | None = None
    department_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    files: list = field(default_factory=list)


# --- who may act ------------------------------------------------------------------------

def _covers(assignment, grid) -> bool:
    return grid is not None and assignment.grid_id and grid.code.startswith(assignment.grid.code)


def is_dispatcher_for(user, case: Case) -> bool:
    """A dispatcher of the command centre holding the case, or of a centre above it."""
    if user.is_superuser:
        return True
    for a in active_assignments(user):
        if a.role != Role.DISPATCHER:
            continue
        if not a.grid_id or _covers(a, case.owner_grid):
            return True
    return False


def is_handler_for(user, case: Case) -> bool:
    return case.department_id is not None and any(
        a.role == Role.HANDLER and a.department_id == case.department_id
        for a in active_assignments(user))


def is_verifier_for(user, case: Case) -> bool:
    """The reporting worker, or a grid worker or grid leader of the case's grid."""
    if case.reporter_id == user.pk and case.channel in (Case.Channel.WORKER, Case.Channel.SELF_RESOLVED):
        return True
    return any(a.role in (Role.GRID_WORKER, Role.GRID_LEADER) and _covers(a, case.grid)
               for a in active_assignments(user)) or is_dispatcher_for(user, case)


def is_leader_for(user, case: Case) -> bool:
    return user.is_superuser or any(a.role == Role.LEADER and _covers(a, case.grid)
                                    for a in active_assignments(user))


def is_assistant_for(user, case: Case) -> bool:
    """A handler of a department with an unfinished part (协办) in this case."""
    departments = {a.department_id for a in active_assignments(user) if a.role == Role.HANDLER}
    return bool(departments) and case.assist_tasks.filter(department_id__in=departments,
                                                          done_at=None).exists()


def is_staff_reader(user) -> bool:
    """Anyone who sees the case in a working role (copies included): residents only rate."""
    return user.is_superuser or bool(roles_of(user) - {Role.RESIDENT})


def _allowed(user, action: Action, case: Case) -> bool:
    if action.actor == "dispatcher":
        return is_dispatcher_for(user, case)
    if action.actor == "handler":
        return is_handler_for(user, case)
    if action.actor == "verifier":
        return is_verifier_for(user, case)
    if action.actor == "leader":
        return is_leader_for(user, case)
    if action.actor == "reporter":
        return case.reporter_id == user.pk
    if action.actor == "responsible":
        return is_handler_for(user, case) or is_dispatcher_for(user, case)
    if action.actor == "assistant":
        return is_assistant_for(user, case)
    if action.actor == "reader":
        return is_staff_reader(user)
    return False


def available_actions(user, case: Case) -> list[Action]:
    """The actions this user may take on the case now (for pages and the API)."""
    return [a for a in ACTIONS.values()
            if case.state in a.sources and _allowed(user, a, case) and _extra_allows(a, case)]


def _extra_allows(action: Action, case: Case) -> bool:
    pending = case.extension_requested_until is not None
    if action.name in ("approve_extension", "deny_extension"):
        return pending
    if action.name == "request_extension":
        return not pending
    if action.name == "rate":
        return not case.rating
    if action.name == "escalate":
        return case.owner_grid_id is not None
    if action.name == "answer_instruction":
        return case.instructions.filter(responded_at=None).exists()
    if action.name == "call_back":
        return case.callback_result in ("", Case.CallBack.UNREACHABLE)
    if action.name == "reopen":
        return may_reopen(case, timezone.now())
    return True


def may_reopen(case: Case, now: datetime) -> bool:
    """重办: within the window after closing, when the reporter or the call-back was unsatisfied."""
    window = timedelta(days=settings.GRIDGOV_REOPEN_WINDOW_DAYS)
    unsatisfied = Case.Rating.UNSATISFIED in (case.rating, case.callback_result)
    return (unsatisfied and case.department_id is not None and case.closed_at is not None
            and now <= case.closed_at + window)


# --- deadlines ----------------------------------------------------------------------------

def start_stage(case: Case, now: datetime) -> None:
    """Set the deadline of the stage that the case's new state starts."""
    stage = STAGE_OF_STATE.get(case.state)
    case.light = Case.Light.GREEN
    case.is_escalated_overdue = False
    case.overdue_escalations = 0
    if stage is None:
        case.stage_started_at = case.deadline = None
        case.deadline_unit = ""
        case.deadline_provisional = False
        return
    amount, unit = case.category.limit(stage)
    deadline = add_time(now, amount, unit)
    case.stage_started_at = now
    case.deadline, case.deadline_unit = deadline.at, unit
    case.deadline_provisional = deadline.provisional


# --- owner (command centre) -------------------------------------------------------------

def command_grid_for(grid, above=None):
    """The nearest grid, at or above `grid`, whose command centre has a dispatcher.

    With `above`, start strictly above that grid. None means the district centre.
    """
    codes = [*grid.ancestor_codes(), grid.code]
    if above is not None:
        codes = [c for c in codes if len(c) < len(above.code)]
    staffed = (Assignment.objects.filter(role=Role.DISPATCHER, is_active=True, grid__code__in=codes)
               .select_related("grid"))
    return max((a.grid for a in staffed), key=lambda g: len(g.code), default=None)


# --- the actions --------------------------------------------------------------------------

def _require_note(action: Action, params: Params) -> None:
    if action.needs_note and len(params.note.strip()) < 2:
        raise ValidationError({"note": _("Say why (at least a few words).")})


def _do_register(case, actor, params, now):
    case.state, case.registered_at = S.REGISTERED, now


def _do_reject(case, actor, params, now):
    case.state = S.REJECTED


def _do_merge(case, actor, params, now):
    if not params.master_id or params.master_id == case.pk:
        raise ValidationError({"master_id": _("Choose the case to merge into.")})
    master = Case.objects.visible_to(actor).filter(pk=params.master_id).first()
    if master is None or master.state in Case.FINAL_STATES:
        raise ValidationError({"master_id": _("The case to merge into must be open and in your area.")})
    case.state, case.merged_into = S.MERGED, master
    return {"master_id": master.pk, "master_number": master.number}


def _do_dispatch(case, actor, params, now):
    department = Department.objects.filter(pk=params.department_id, is_active=True).first()
    if department is None:
        raise ValidationError({"department_id": _("Choose the department to handle the case.")})
    case.state, case.department, case.dispatched_at = S.DISPATCHED, department, now
    return {"department_id": department.pk, "department": department.name}


def _do_accept(case, actor, params, now):
    case.state = S.ACCEPTED


def _do_return(case, actor, params, now):
    case.state = S.RETURNED
    case.return_count += 1
    # The department's id: analytics counts returns per department (the case may move on).
    return {"department": case.department.name, "department_id": case.department_id}


def _do_report_result(case, actor, params, now):
    # (The demo's history replays these steps on cases not yet saved: they have no parts.)
    waiting = list(case.assist_tasks.filter(done_at=None).select_related("department")) if case.pk else []
    if waiting:
        raise ValidationError({"note": _("Assisting departments have not reported their part yet: "
                                         "%s.") % "、".join(t.department.name for t in waiting)})
    case.state, case.handled_at, case.result = S.HANDLED, now, params.note.strip()
    case.handled_on_time = case.handle_deadline is None or now <= case.handle_deadline
    case.extension_requested_until, case.extension_reason = None, ""


def _do_request_extension(case, actor, params, now):
    if params.until is None or (case.handle_deadline and params.until <= case.handle_deadline):
        raise ValidationError({"until": _("Ask for a time after the current deadline.")})
    if case.handle_deadline and now > case.handle_deadline:
        raise ValidationError({"until": _("An extension must be asked for before the deadline.")})
    case.extension_requested_until, case.extension_reason = params.until, params.note.strip()[:200]
    return {"until": params.until.isoformat()}


def _do_approve_extension(case, actor, params, now):
    until = case.extension_requested_until
    case.handle_deadline = case.deadline = until
    case.extension_count += 1
    case.extension_requested_until, case.extension_reason = None, ""
    case.light, case.is_escalated_overdue, case.overdue_escalations = Case.Light.GREEN, False, 0
    return {"until": until.isoformat()}


def _do_deny_extension(case, actor, params, now):
    case.extension_requested_until, case.extension_reason = None, ""


def _do_verify(case, actor, params, now):
    case.state = S.VERIFIED


def _do_rework(case, actor, params, now):
    case.state = S.ACCEPTED
    case.rework_count += 1


def _do_close(case, actor, params, now):
    case.state, case.closed_at = S.CLOSED, now


def _do_suspend(case, actor, params, now):
    case.suspended_from, case.state = case.state, S.SUSPENDED


def _do_resume(case, actor, params, now):
    # The stage starts again with its full limit: a suspended (挂账) case was parked
    # because it could not be solved then, so the old clock no longer means anything.
    case.state, case.suspended_from = case.suspended_from or S.REGISTERED, ""


def _do_escalate(case, actor, params, now):
    upper = command_grid_for(case.owner_grid, above=case.owner_grid)
    case.owner_grid = upper
    case.escalation_count += 1
    return {"to": upper.code if upper else None, "to_name": upper.name if upper else _("district")}


def _do_urge(case, actor, params, now):
    return None


def _do_supervise(case, actor, params, now):
    case.is_supervised = True


def _do_rate(case, actor, params, now):
    if params.rating not in Case.Rating.values:
        raise ValidationError({"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
    case.rating, case.rating_comment, case.rated_at = params.rating, params.note.strip()[:500], now
    return {"rating": params.rating}


def _do_instruct(case, actor, params, now):
    if params.until is not None and params.until <= now:
        raise ValidationError({"until": _("The time to respond by must be in the future.")})
    entry = Instruction.objects.create(case=case, author=actor, text=params.note.strip(),
                                       due_at=params.until, created_at=now)
    return {"instruction_id": entry.pk, "until": params.until.isoformat() if params.until else None}


def _do_answer_instruction(case, actor, params, now):
    pending = case.instructions.filter(responded_at=None)
    instruction = (pending.filter(pk=params.instruction_id) if params.instruction_id else pending).first()
    if instruction is None:
        raise ValidationError({"instruction_id": _("Choose an instruction still waiting for an answer.")})
    instruction.response, instruction.responded_by, instruction.responded_at = (
        params.note.strip(), actor, now)
    instruction.save(update_fields=["response", "responded_by", "responded_at"])
    return {"instruction_id": instruction.pk, "author_id": instruction.author_id}


def _copy_recipients(params):
    errors = {}
    departments = list(Department.objects.filter(pk__in=params.department_ids, is_active=True))
    if len(departments) != len(set(params.department_ids)):
        errors["department_ids"] = _("Choose active departments.")
    # Copies go to people who work on cases, never to residents.
    staff = (Assignment.objects.filter(user_id__in=params.user_ids, is_active=True,
                                       user__is_active=True).exclude(role=Role.RESIDENT)
             .values_list("user_id", flat=True))
    users = list(get_user_model().objects.filter(pk__in=staff))
    if len(users) != len(set(params.user_ids)):
        errors["user_ids"] = _("Choose members of staff.")
    if not departments and not users and not errors:
        errors["department_ids"] = _("Choose the departments or people to copy the case to.")
    if errors:
        raise ValidationError(errors)
    return departments, users


def _do_copy(case, actor, params, now):
    departments, users = _copy_recipients(params)
    for department in departments:
        CaseCopy.objects.get_or_create(case=case, department=department,
                                       defaults={"copied_by": actor, "at": now})
    for user in users:
        CaseCopy.objects.get_or_create(case=case, user=user, defaults={"copied_by": actor, "at": now})
    return {"department_ids": [d.pk for d in departments], "departments": [d.name for d in departments],
            "user_ids": [u.pk for u in users], "users": [str(u) for u in users]}


def _do_comment(case, actor, params, now):
    return None


def _do_assign_assist(case, actor, params, now):
    department = Department.objects.filter(pk=params.department_id, is_active=True).first()
    if department is None or department.pk == case.department_id:
        raise ValidationError({"department_id": _("Choose an assisting department other than the "
                                                  "lead department.")})
    if params.until is not None and params.until <= now:
        raise ValidationError({"until": _("The deadline must be in the future.")})
    if case.assist_tasks.filter(department=department).exists():
        raise ValidationError({"department_id": _("%s already has a part in this case.") % department.name})
    task = AssistTask.objects.create(case=case, department=department, task=params.note.strip(),
                                     due_at=params.until or case.handle_deadline, created_by=actor,
                                     created_at=now)
    return {"task_id": task.pk, "department_id": department.pk, "department": department.name}


def _do_report_part(case, actor, params, now):
    departments = {a.department_id for a in active_assignments(actor) if a.role == Role.HANDLER}
    task = case.assist_tasks.filter(department_id__in=departments, done_at=None).first()
    task.result, task.done_by, task.done_at = params.note.strip(), actor, now
    task.save(update_fields=["result", "done_by", "done_at"])
    return {"task_id": task.pk, "department": task.department.name,
            "on_time": task.due_at is None or now <= task.due_at}


def _do_call_back(case, actor, params, now):
    if params.callback not in Case.CallBack.values:
        raise ValidationError({"callback": _("Choose satisfied, basically satisfied, unsatisfied or "
                                             "unreachable.")})
    case.callback_result, case.callback_at = params.callback, now
    return {"callback": params.callback}


def _do_reopen(case, actor, params, now):
    # The same department handles it again with a fresh clock; the rating and call-back stay
    # as evidence, and the rework counts against the department (analytics: reworked).
    case.state, case.closed_at = S.DISPATCHED, None
    case.rework_count += 1
    case.reopen_count += 1
    return {"department_id": case.department_id, "department": case.department.name}


HANDLERS = {name: globals()[f"_do_{name}"] for name in ACTIONS}
# These start a fresh handling clock although the stage stays "handle".
RESTARTS_HANDLING = {"dispatch", "rework", "reopen"}


def _advance_clock(case: Case, action: str, from_state: str, now: datetime) -> None:
    """A new stage gets a new deadline; moving within a stage keeps the running clock."""
    if action in RESTARTS_HANDLING or STAGE_OF_STATE.get(case.state) != STAGE_OF_STATE.get(from_state):
        start_stage(case, now)
    if action in RESTARTS_HANDLING:
        case.handle_deadline = case.deadline


def log(case: Case, actor, action: str, from_state: str, note: str = "", data=None,
        at: datetime | None = None) -> CaseLog:
    return CaseLog.objects.create(case=case, actor=actor, action=action, from_state=from_state,
                                  to_state=case.state, note=note, data=data or {},
                                  at=at or timezone.now())


def attach(case: Case, entry: CaseLog, files, stage: str, actor) -> list[Attachment]:
    from gridgov.cases.media import store_attachments

    return store_attachments(case, files, stage=stage, actor=actor, log=entry)


ATTACHMENT_STAGE = {"report_result": Attachment.Stage.RESULT, "verify": Attachment.Stage.VERIFY,
                    "rework": Attachment.Stage.VERIFY}


@transaction.atomic
def act(case_id: int, actor, action_name: str, params: Params | None = None) -> Case:
    """Perform one action on a case as `actor`; see the module docstring."""
    params = params or Params()
    action = ACTIONS.get(action_name)
    if action is None:
        raise ValidationError({"action": _("Unknown action %s.") % action_name})
    if not Case.objects.visible_to(actor).filter(pk=case_id).exists():
        from django.http import Http404

        raise Http404(_("No such case in your area."))
    case = (Case.objects.select_for_update(of=("self",)).select_related("category", "grid", "owner_grid")
            .get(pk=case_id))
    if case.state not in action.sources:
        raise IllegalTransition(_("A case that is “%(state)s” cannot be “%(action)s”.")
                                % {"state": case.get_state_display(), "action": action.label})
    if not _extra_allows(action, case):
        raise IllegalTransition(_("“%(action)s” is not possible for this case now.")
                                % {"action": action.label})
    if not _allowed(actor, action, case):
        raise PermissionDenied(_("Your role may not “%(action)s” this case.") % {"action": action.label})
    _require_note(action, params)
    now = timezone.now()
    from_state = case.state
    data = HANDLERS[action.name](case, actor, params, now) or {}
    _advance_clock(case, action.name, from_state, now)
    case.save()
    entry = log(case, actor, action.name, from_state, params.note.strip(), data, at=now)
    if params.files:
        attach(case, entry, params.files, ATTACHMENT_STAGE.get(action.name, Attachment.Stage.REPORT),
               actor)
    # In-app notifications are rows in the same transaction: they exist iff the step does.
    notify.after_action(case, action.name, actor.pk, data)
    return case
