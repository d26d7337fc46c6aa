"""Case pages: a scoped list and the case page with its timeline and the actions the user may take.

Views stay thin: they read through the scoped queryset and change state only through
`workflow.act`, exactly as the API does.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from gridgov.accounts.models import Assignment, Department, Role
from gridgov.cases import duplicates, routing, workflow
from gridgov.cases.api import loop_parts, visible_case
from gridgov.cases.filters import CaseFilter, filtered
from gridgov.cases.models import Case
from gridgov.core.pagination import CappedPaginator
from gridgov.core.text import to_int


@login_required
def case_list(request):
    fields = {k: v for k, v in request.GET.items() if k in CaseFilter.model_fields and v}
    filters = CaseFilter(**fields)
    page = CappedPaginator(filtered(request.user, filters).order_by("-reported_at"), 50).get_page(
        request.GET.get("page"))
    return render(request, "cases/list.html", {
        "page": page, "filters": filters, "states": Case.State.choices, "lights": Case.Light.choices,
        "channels": Case.Channel.choices, "query": request.GET.urlencode()})


@login_required
def case_page(request, case_id: int):
    case = visible_case(request.user, case_id)
    log = case.log.select_related("actor").prefetch_related("attachments")
    actions = workflow.available_actions(request.user, case)
    return render(request, "cases/detail.html", {
        "case": case, "log": log, "actions": actions,
        "can_merge": any(a.name == "merge" for a in actions),
        "departments": Department.objects.filter(is_active=True).order_by("name"),
        "proposed": routing.propose_department(case),
        "candidates": duplicates.find_candidates(case) if case.state in (
            Case.State.REPORTED, Case.State.REGISTERED) else [],
        "ratings": Case.Rating.choices,
        "callbacks": Case.CallBack.choices,
        "copy_people": copy_people(case) if any(a.name == "copy" for a in actions) else [],
        "parts": loop_parts(request.user, case),
    })


def copy_people(case: Case):
    """Whom a dispatcher may copy a case to by name: the leaders over its grid."""
    codes = [*case.grid.ancestor_codes(), case.grid.code]
    leaders = Assignment.objects.filter(role=Role.LEADER, is_active=True, user__is_active=True).filter(
        Q(grid__code__in=codes) | Q(grid__isnull=True)).values("user_id")
    return get_user_model().objects.filter(pk__in=leaders).order_by("name", "username")


@login_required
@require_POST
def case_action(request, case_id: int, action: str):
    post = request.POST
    params = workflow.Params(
        note=post.get("note", ""), department_id=to_int(post.get("department_id")),
        master_id=to_int(post.get("master_id")), until=parse_datetime(post.get("until") or "") or None,
        rating=post.get("rating", ""), callback=post.get("callback", ""),
        instruction_id=to_int(post.get("instruction_id")),
        department_ids=_ids(post.getlist("department_ids")), user_ids=_ids(post.getlist("user_ids")),
        files=request.FILES.getlist("photos"))
    try:
        workflow.act(case_id, request.user, action, params)
    except (ValidationError, PermissionDenied, workflow.IllegalTransition) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    return redirect("case-page", case_id=case_id)




def _ids(values) -> list[int]:
    return [n for n in (to_int(v) for v in values) if n is not None]
