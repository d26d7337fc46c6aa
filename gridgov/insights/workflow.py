"""Every step taken on a warning: checked against its state and the actor's permission on the
warning's grid, written with one `WarningLog` row, under the warning's row lock.

new → acknowledged → assigned → resolved, or dismissed with a reason from any open state; resolved or
dismissed → reopened (new). `supervise` puts the open cases behind a warning under supervision
(督办) through `cases.workflow.act`, the one service that changes cases. `candidates` names who a
warning may be assigned to: the page's list, the API's and the check of `assign` are that one rule.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases import workflow as case_workflow
from gridgov.cases.models import Case
from gridgov.cases.workflow import IllegalTransition
from gridgov.core.scope import scope_of
from gridgov.insights.models import EarlyWarning, WarningLog

S = EarlyWarning.State
OPEN = (S.NEW, S.ACKNOWLEDGED, S.ASSIGNED)
# The staff roles a warning may be given to (residents, building heads, handlers never).
ASSIGNEE_ROLES = (Role.LEADER, Role.DISPATCHER, Role.GRID_LEADER, Role.GRID_WORKER)


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    sources: tuple
    target: str | None  # None: the state stays
    needs_note: bool = False


STEPS = {
    s.name: s
    for s in (
        Step("acknowledge", gettext_lazy("Acknowledge"), (S.NEW,), S.ACKNOWLEDGED),
        Step("assign", gettext_lazy("Assign"), OPEN, S.ASSIGNED),
        Step("resolve", gettext_lazy("Resolve"), OPEN, S.RESOLVED, needs_note=True),
        Step("dismiss", gettext_lazy("Dismiss"), OPEN, S.DISMISSED, needs_note=True),
        Step("reopen", gettext_lazy("Reopen"), (S.RESOLVED, S.DISMISSED), S.NEW, needs_note=True),
        Step("supervise", gettext_lazy("Put its open cases under supervision"), OPEN, None, needs_note=True),
    )
}


def may_read(user) -> bool:
    return has_perm(user, Perm.HANDLE_WARNINGS)


def warning_of(user, pk: int) -> EarlyWarning:
    if not may_read(user):
        raise PermissionDenied(_("Early warnings are for leaders and command centres."))
    found = (
        EarlyWarning.objects.visible_to(user)
        .select_related("grid", "category", "assignee")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404(_("No such warning in your area."))
    return found


def available(user, warning: EarlyWarning) -> list[Step]:
    if not has_perm(user, Perm.HANDLE_WARNINGS, warning.grid):
        return []
    return [
        s
        for s in STEPS.values()
        if warning.state in s.sources
        and (s.name != "supervise" or warning.source == EarlyWarning.Source.CASES)
    ]


def act(actor, warning_id: int, name: str, *, note: str = "", assignee_id: int | None = None) -> EarlyWarning:
    step = STEPS.get(name)
    if step is None:
        raise ValidationError({"action": _("Choose one of: %s.") % ", ".join(STEPS)})
    with transaction.atomic():
        warning_of(actor, warning_id)  # 404 outside the actor's area
        warning = EarlyWarning.objects.select_for_update().select_related("grid").get(pk=warning_id)
        if not has_perm(actor, Perm.HANDLE_WARNINGS, warning.grid):
            raise PermissionDenied(_("You may not act on the warnings of grid %s.") % warning.grid.code)
        if warning.state not in step.sources:
            raise IllegalTransition(
                _("The warning is %(state)s: it cannot be %(step)s now.")
                % {"state": warning.get_state_display(), "step": step.label}
            )
        note = note.strip()
        if step.needs_note and not note:
            raise ValidationError({"note": _("Say why.")})
        detail = _do(actor, warning, step, note, assignee_id)
        if step.target is not None:
            warning.state = step.target
        if step.name in ("resolve", "dismiss", "reopen"):
            warning.note = note[:500]
        warning.save()
        WarningLog.objects.create(warning=warning, action=step.name, actor=actor, note=(detail or note)[:500])
    return warning


def _do(actor, warning: EarlyWarning, step: Step, note: str, assignee_id) -> str:
    if step.name == "assign":
        warning.assignee = _assignee(warning, assignee_id)
        return _("Assigned to %s.") % (warning.assignee.name or warning.assignee.username)
    if step.name == "supervise":
        return _supervise(actor, warning, note)
    return ""


def _assignee(warning: EarlyWarning, assignee_id):
    found = _candidates(warning.grid.code, only=assignee_id or 0)
    if not found:
        raise ValidationError(
            {"assignee_id": _("Choose someone whose area includes %s.") % warning.grid.name}
        )
    return found[0]


def candidates(warning: EarlyWarning) -> list:
    """Who a warning may be assigned to: the active users holding a staff role (`ASSIGNEE_ROLES`) on
    its grid's line of the tree — a grid above it, the grid itself or one inside it — whose area
    (`scope_of`) includes its grid. Each carries `line_roles`, those assignments on the line, and
    they come in the order of the highest of them (the line from the top down)."""
    return _candidates(warning.grid.code)


def candidates_for(actor, warning_id: int) -> tuple[EarlyWarning, list]:
    """The warning (404 outside the actor's area) and its candidates, for those who may assign it
    (403 without `Perm.HANDLE_WARNINGS` on its grid)."""
    warning = warning_of(actor, warning_id)
    if not has_perm(actor, Perm.HANDLE_WARNINGS, warning.grid):
        raise PermissionDenied(_("You may not act on the warnings of grid %s.") % warning.grid.code)
    return warning, candidates(warning)


def _candidates(code: str, only: int | None = None) -> list:
    # One query: every active assignment of each user holding a staff role on the line. Those
    # assignments are all `scope_of` reads, so they are handed to it instead of it asking per user.
    line = Q(grid__code__in=[code[:n] for n in range(1, len(code))]) | Q(grid__code__startswith=code)
    on_line = Assignment.objects.filter(line, is_active=True, role__in=ASSIGNEE_ROLES, user__is_active=True)
    if only is not None:
        on_line = on_line.filter(user_id=only)
    held: dict[int, list] = {}
    for a in (
        Assignment.objects.filter(is_active=True, user__in=on_line.values("user_id"))
        .select_related("user", "grid", "department__area")
        .order_by("user_id", "grid__code", "role", "pk")
    ):
        held.setdefault(a.user_id, []).append(a)
    found = []
    for assignments in held.values():
        user = assignments[0].user
        user._gridgov_assignments = assignments  # what `roles.active_assignments` would read
        if not scope_of(user).covers(code):
            continue
        user.line_roles = [
            a for a in assignments if a.role in ASSIGNEE_ROLES and a.grid_id and _on_line(a.grid.code, code)
        ]
        found.append(user)
    found.sort(key=lambda u: (u.line_roles[0].grid.code, u.line_roles[0].role, u.name or u.username, u.pk))
    return found


def _on_line(grid_code: str, code: str) -> bool:
    return code.startswith(grid_code) or grid_code.startswith(code)


def _supervise(actor, warning: EarlyWarning, note: str) -> str:
    if warning.source != EarlyWarning.Source.CASES:
        raise ValidationError({"action": _("Only a warning drawn from cases has cases to supervise.")})
    cases = Case.objects.visible_to(actor).filter(
        pk__in=warning.evidence.get("cases", []), is_supervised=False
    )
    done = []
    for case in cases.exclude(state__in=(Case.State.CLOSED, Case.State.REJECTED, Case.State.MERGED)):
        try:
            with transaction.atomic():  # a refused case leaves nothing half-done behind
                case_workflow.act(case.pk, actor, "supervise", case_workflow.Params(note=note))
        except (IllegalTransition, PermissionDenied):
            continue  # a case at a step where supervision does not apply
        done.append(case.number)
    if not done:
        raise ValidationError({"action": _("None of the cases behind this warning is open to supervision.")})
    return _("Put under supervision: %s.") % "、".join(done)
