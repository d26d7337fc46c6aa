"""Who is told what after a case changes: in-app notifications (SMS can plug in later)."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.cases.models import Case, Notification


def dispatchers_of(case: Case) -> list[int]:
    """Dispatchers of the command centre holding the case (district centre when none)."""
    query = Assignment.objects.filter(role=Role.DISPATCHER, is_active=True)
    if case.owner_grid_id:
        query = query.filter(grid_id=case.owner_grid_id)
    else:
        query = query.filter(grid__isnull=True)
    return list(query.values_list("user_id", flat=True))


def handlers_of(case: Case) -> list[int]:
    return department_handlers([case.department_id]) if case.department_id else []


def department_handlers(department_ids) -> list[int]:
    return list(Assignment.objects.filter(role=Role.HANDLER, is_active=True,
                                          department_id__in=department_ids)
                .values_list("user_id", flat=True))


def verifiers_of(case: Case) -> list[int]:
    """The reporting worker, else the grid workers whose grid contains the case."""
    if case.reporter_id and case.channel == Case.Channel.WORKER:
        return [case.reporter_id]
    codes = [*case.grid.ancestor_codes(), case.grid.code]
    return list(Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True, grid__code__in=codes)
                .values_list("user_id", flat=True))


def leaders_of(case: Case) -> list[int]:
    codes = [*case.grid.ancestor_codes(), case.grid.code]
    return list(Assignment.objects.filter(role=Role.LEADER, is_active=True, grid__code__in=codes)
                .values_list("user_id", flat=True))


def responsible_for(case: Case) -> list[int]:
    """Whoever must act next, by state."""
    if case.state in (Case.State.REPORTED, Case.State.REGISTERED, Case.State.RETURNED,
                      Case.State.VERIFIED):
        return dispatchers_of(case)
    if case.state in (Case.State.DISPATCHED, Case.State.ACCEPTED):
        return handlers_of(case)
    if case.state == Case.State.HANDLED:
        return verifiers_of(case)
    return []


MESSAGES = {
    "report": lambda c: _("New case %(number)s: %(category)s in %(grid)s."),
    "dispatch": lambda c: _("Case %(number)s (%(category)s) was dispatched to your department."),
    "return": lambda c: _("Case %(number)s was returned by the department."),
    "report_result": lambda c: _("Case %(number)s has a result to verify on site."),
    "verify": lambda c: _("Case %(number)s was verified and can be closed."),
    "rework": lambda c: _("Case %(number)s failed verification and needs rework."),
    "close": lambda c: _("Your case %(number)s is closed; please rate the result."),
    "urge": lambda c: _("Case %(number)s is being urged by a leader."),
    "supervise": lambda c: _("Case %(number)s is now under supervision."),
    "request_extension": lambda c: _("Case %(number)s: the department asks for more time."),
    "approve_extension": lambda c: _("Case %(number)s: more time was granted."),
    "deny_extension": lambda c: _("Case %(number)s: more time was refused."),
    "escalate": lambda c: _("Case %(number)s was escalated to your command centre."),
    "yellow": lambda c: _("Case %(number)s is due soon."),
    "red": lambda c: _("Case %(number)s is overdue."),
    "instruct": lambda c: _("A leader gave an instruction on case %(number)s."),
    "answer_instruction": lambda c: _("Your instruction on case %(number)s was answered."),
    "copy": lambda c: _("Case %(number)s (%(category)s) was copied to you."),
    "comment": lambda c: _("A comment was added to case %(number)s."),
    "assign_assist": lambda c: _("Your department is asked to assist with case %(number)s."),
    "report_part": lambda c: _("An assisting department reported its part of case %(number)s."),
    "reopen": lambda c: _("Case %(number)s was reopened for rework after an unsatisfied rating."),
}


def recipients(case: Case, action: str, data: dict | None = None) -> list[int]:
    data = data or {}
    if action == "close":
        return [case.reporter_id] if case.reporter_id else []
    if action == "instruct":
        return handlers_of(case) + dispatchers_of(case)
    if action == "answer_instruction":
        return [data["author_id"]]
    if action == "copy":
        return data.get("user_ids", []) + department_handlers(data.get("department_ids", []))
    if action == "assign_assist":
        return department_handlers([data["department_id"]])
    if action in ("report_part", "reopen"):
        return handlers_of(case)
    return responsible_for(case)


def send(case: Case, kind: str, user_ids, exclude: int | None = None) -> int:
    text = MESSAGES[kind](case) % {"number": case.number, "category": case.category.name,
                                   "grid": case.grid.name}
    users = set(user_ids) - {exclude}
    active = get_user_model().objects.filter(pk__in=users, is_active=True).values_list("pk", flat=True)
    Notification.objects.bulk_create([Notification(user_id=u, case=case, kind=kind, text=text)
                                      for u in active])
    return len(active)


def after_action(case: Case, action: str, actor_id: int | None, data: dict | None = None) -> None:
    if action in MESSAGES:
        send(case, action, recipients(case, action, data), exclude=actor_id)
