"""The mediation centre's pages: the front desk (/mediation/desk/: visitors and their queue
numbers, today's visitors masked with the audited reveal, disputes registered and cases
transferred in), the mediators' workbench (/mediation/: the disputes of my area, red first, 100 a
page) and a dispute's page (/mediation/disputes/<id>/: its parties masked, its log, and a form for
every step `workflow.act` offers now).

Thin: every form calls `intake` or `workflow`, a refusal comes back as an error message with
nothing saved; a full name, phone or ID number is shown only through the audited reveal.
"""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.accounts.models import Department
from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases.lights import red_first
from gridgov.core.actions import form_action, local_datetime, refusal
from gridgov.core.text import to_int
from gridgov.grids.models import Grid
from gridgov.mediation import agreement, intake, workflow
from gridgov.mediation.api import dispute_detail, disputes_out
from gridgov.mediation.models import Dispute, Party, Referral, Visit, Window

LIST_LIMIT = 100  # disputes a page of the workbench
MAX_PAGE = 100_000
steps = form_action("mediation")


def _optional_int(value) -> int | None:
    return to_int(value) if (value or "").strip() else None


# --- the front desk ---------------------------------------------------------------------------------


def _desk_context(user, centre_id, visit_id) -> dict:
    centres = intake.desk_centres(user)
    centre = next((c for c in centres if c.pk == centre_id), None)
    centre = centre or (centres[0] if centres else None)
    context = {"centres": centres, "centre": centre, "revealed": {}}
    if centre is not None:
        today = timezone.localdate()
        visits = (
            Visit.objects.visible_to(user)
            .filter(centre=centre, day=today)
            .select_related("visitor", "window__department")
            .order_by("queue_number")
        )
        context |= {
            "today": today,
            "windows": Window.objects.filter(centre=centre, is_active=True)
            .select_related("department")
            .annotate(today=Count("visits", filter=Q(visits__day=today)))
            .order_by("number"),
            "visits": list(visits),
            "shown": visits.filter(pk=visit_id).first(),
            "may_reveal": has_perm(user, Perm.REVEAL_PERSONAL, centre.grid),
            "grids": Grid.objects.visible_to(user)
            .filter(code__startswith=centre.grid.code, level__lte=3)
            .order_by("code"),
            "kinds": Dispute.Kind.choices,
            "risks": Dispute.Risk.choices,
            "party_kinds": Party.Kind.choices,
            "cases": intake.transferable_cases(user),
        }
    return context


@login_required
def desk_page(request):
    context = _desk_context(request.user, to_int(request.GET.get("centre")), to_int(request.GET.get("visit")))
    return render(request, "mediation/desk.html", context)


@login_required
@require_POST
def reveal_visitor(request, visitor_id: int):
    """One full value of a visitor on the desk's list, audited like a party's (`intake.reveal`) and
    shown on this answer only."""
    user = request.user
    try:
        visitor = intake.readable_visitor(user, visitor_id)
        field, value = _reveal_posted(request, visitor, visitor.centre.grid)
    except (ValidationError, PermissionDenied, Http404) as exc:
        messages.error(request, refusal(exc))
        return redirect(_desk(to_int(request.POST.get("centre_id")) or ""))
    context = _desk_context(user, visitor.centre_id, None)
    context["revealed"] = {"visitor": visitor.pk, "field": field, "value": value}
    return _shown_once(request, "mediation/desk.html", context)


def _reveal_posted(request, obj, grid) -> tuple[str, str]:
    """The posted field of a visitor or party in full, through the audited `intake.reveal`."""
    field = request.POST.get("field", "")
    reason = request.POST.get("reason", "")
    return field, intake.reveal(request.user, obj, field, reason, grid, request.META.get("REMOTE_ADDR"))


def _shown_once(request, template: str, context: dict):
    """A page with a revealed value: never kept by a browser's or a proxy's cache."""
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def _desk(centre_id, visit_id=None) -> str:
    url = f"{reverse('mediation-desk')}?centre={centre_id}"
    return f"{url}&visit={visit_id}#queue-number" if visit_id else url


@steps
def register_visit(request):
    data = request.POST
    centre_id = to_int(data.get("centre_id"))
    visit = intake.register_visit(
        request.user,
        centre_id,
        name=data.get("name", ""),
        phone=data.get("phone", ""),
        id_number=data.get("id_number", ""),
        grid_code=data.get("grid_code", ""),
        window_id=_optional_int(data.get("window_id")),
        purpose=data.get("purpose", ""),
    )
    done = _("Queue number %(number)d, window %(window)s.") % {
        "number": visit.queue_number,
        "window": visit.window.number if visit.window else "—",
    }
    return done, _desk(centre_id, visit.pk)


def _party(data, prefix: str) -> intake.PartyIn | None:
    name = data.get(f"{prefix}_name", "")
    if not name.strip() and prefix != "applicant":
        return None
    return intake.PartyIn(
        role=prefix,
        kind=data.get(f"{prefix}_kind", Party.Kind.PERSON),
        name=name,
        phone=data.get(f"{prefix}_phone", ""),
        id_number=data.get(f"{prefix}_id_number", ""),
    )


@steps
def register_dispute(request):
    data = request.POST
    parties = [p for p in (_party(data, "applicant"), _party(data, "respondent")) if p is not None]
    found = intake.register_dispute(
        request.user,
        to_int(data.get("centre_id")),
        intake.DisputeIn(
            title=data.get("title", ""),
            description=data.get("description", ""),
            kind=data.get("kind", ""),
            grid_code=data.get("grid_code", ""),
            amount=data.get("amount", ""),
            people_involved=to_int(data.get("people_involved")) or 0,
            threat_of_violence=data.get("threat_of_violence") == "on",
            repeated_petitions=data.get("repeated_petitions") == "on",
            risk=data.get("risk", Dispute.Risk.LOW),
            visit_id=_optional_int(data.get("visit_id")),
            parties=parties,
        ),
    )
    return _("Dispute registered."), reverse("mediation-dispute", args=[found.pk])


@steps
def transfer_case(request):
    data = request.POST
    found = intake.from_case(
        request.user,
        to_int(data.get("case_id")),
        to_int(data.get("centre_id")),
        intake.DisputeIn(title="", description="", kind=""),
    )
    return _("The case is in mediation (suspended meanwhile)."), reverse("mediation-dispute", args=[found.pk])


# --- the workbench ----------------------------------------------------------------------------------

FILTERS = ("open", "all", *Dispute.State.values)
# Until the last step: being mediated, an agreement waiting for its return visit, a referral followed.
UNFINISHED = (*Dispute.OPEN_STATES, Dispute.State.AGREED, Dispute.State.REFERRED)


@login_required
def workbench(request):
    user = request.user
    state = request.GET.get("state", "open")
    state = state if state in FILTERS else "open"
    rows = Dispute.objects.visible_to(user)
    counts = dict(rows.values_list("state").annotate(n=Count("pk")).order_by())
    if state == "open":
        rows = rows.filter(state__in=UNFINISHED)
    elif state != "all":
        rows = rows.filter(state=state)
    rows = rows.select_related("grid", "centre", "mediator", "window__department", "department", "case")
    # A page far past the end is only empty (and keeps the offset inside the database's integers).
    page = min(max(1, to_int(request.GET.get("page")) or 1), MAX_PAGE)
    start = (page - 1) * LIST_LIMIT
    # One row past the page tells whether another page follows, without counting them all.
    found = list(
        rows.order_by(red_first(), F("deadline").asc(), "-created_at", "-id")[start : start + LIST_LIMIT + 1]
    )
    context = {
        "disputes": disputes_out(found[:LIST_LIMIT]),
        "page": page,
        "has_next": len(found) > LIST_LIMIT,
        "state": state,
        "states": [("open", _("Not finished")), ("all", _("All")), *Dispute.State.choices],
        "counts": [(value, label, counts.get(value, 0)) for value, label in Dispute.State.choices],
        "desk": bool(intake.desk_centres(user)),
    }
    return render(request, "mediation/workbench.html", context)


# --- a dispute --------------------------------------------------------------------------------------


LOG_LABELS = {
    "register": gettext_lazy("Registered at the desk"),
    "transfer_in": gettext_lazy("Transferred from a case"),
    "escalate": gettext_lazy("High risk: told to the leaders"),
    "add_party": gettext_lazy("Party added"),
    "attach": gettext_lazy("Files attached"),
    "overdue": gettext_lazy("Past the time limit"),
} | {name: action.label for name, action in workflow.ACTIONS.items()}


def _dispute_context(user, dispute_id: int) -> dict:
    d = dispute_detail(user, dispute_id)
    found = workflow.readable(user).select_related("grid").get(pk=dispute_id)
    actions = set(d["actions"])
    states = dict(Dispute.State.choices)
    for entry in d["log"]:
        entry["action_label"] = LOG_LABELS.get(entry["action"], entry["action"])
        entry["to_state_label"] = states.get(entry["to_state"], entry["to_state"])
    context = {
        "d": d,
        "actions": actions,
        "may_print": has_perm(user, Perm.MEDIATE, found.grid),
        "may_reveal": has_perm(user, Perm.REVEAL_PERSONAL, found.grid),
        "may_add_party": found.state in Dispute.OPEN_STATES and has_perm(user, Perm.MEDIATE, found.grid),
        "party_roles": Party.Role.choices,
        "party_kinds": Party.Kind.choices,
        "revealed": {},
    }
    if "assign" in actions:
        context["mediators"] = workflow.mediators_for(found.grid)
        context["windows"] = Window.objects.filter(centre_id=found.centre_id, is_active=True).select_related(
            "department"
        )
    if {"assign", "refer"} & actions:
        context["departments"] = Department.objects.filter(is_active=True).order_by("name")
    if "refer" in actions:
        context["referral_kinds"] = Referral.Kind.choices
    if "agree" in actions:
        context["today"] = timezone.localdate()
    if "set_risk" in actions:
        context["risks"] = [(value, label) for value, label in Dispute.Risk.choices if value != found.risk]
    return context


@login_required
def dispute_page(request, dispute_id: int):
    return render(request, "mediation/dispute.html", _dispute_context(request.user, dispute_id))


def _params(data) -> workflow.Params:
    return workflow.Params(
        note=data.get("note", ""),
        mediator_id=_optional_int(data.get("mediator_id")),
        window_id=_optional_int(data.get("window_id")),
        department_id=_optional_int(data.get("department_id")),
        held_at=local_datetime(data.get("held_at")),
        place=data.get("place", ""),
        participants=data.get("participants", ""),
        terms=data.get("terms", ""),
        signed_on=parse_date(data.get("signed_on") or "") if data.get("signed_on") else None,
        referral_kind=data.get("referral_kind", ""),
        to_name=data.get("to_name", ""),
        referral_id=_optional_int(data.get("referral_id")),
        held={"yes": True, "no": False}.get(data.get("held", "")),
        risk=data.get("risk", ""),
    )


DONE = {
    "assign": gettext_lazy("Mediator assigned: mediation has started."),
    "set_risk": gettext_lazy("Risk level changed."),
    "session": gettext_lazy("Session recorded."),
    "agree": gettext_lazy("Agreement recorded; the return visit is due later."),
    "refer": gettext_lazy("Referred on."),
    "withdraw": gettext_lazy("Withdrawn."),
    "receive_referral": gettext_lazy("Referral marked received."),
    "conclude_referral": gettext_lazy("Referral concluded."),
    "return_visit": gettext_lazy("Return visit recorded."),
    "return_to_case": gettext_lazy("Returned to the case; the case resumes."),
}


@steps
def dispute_action(request, dispute_id: int, what: str):
    back, user = reverse("mediation-dispute", args=[dispute_id]), request.user
    if what == "party":
        data = request.POST
        intake.add_party(
            user,
            dispute_id,
            intake.PartyIn(
                role=data.get("role", ""),
                kind=data.get("kind", Party.Kind.PERSON),
                name=data.get("name", ""),
                phone=data.get("phone", ""),
                id_number=data.get("id_number", ""),
            ),
        )
        return _("Party added."), back
    if what not in DONE:
        raise Http404
    params = _params(request.POST)
    if what == "session":
        intake.record_session(user, dispute_id, params, request.FILES.getlist("files"))
    else:
        workflow.act(dispute_id, user, what, params)
    return str(DONE[what]), back


@login_required
@require_POST
def reveal(request, dispute_id: int, party_id: int):
    """One full value of a party, written to the audit log and shown on this answer only (never
    kept in a message or a cache)."""
    user = request.user
    try:
        party = intake.readable_party(user, party_id)
        if party.dispute_id != dispute_id:
            raise Http404(_("No such party in your area."))
        field, value = _reveal_posted(request, party, party.dispute.grid)
    except (ValidationError, PermissionDenied, Http404) as exc:
        messages.error(request, refusal(exc))
        return redirect("mediation-dispute", dispute_id=dispute_id)
    context = _dispute_context(user, dispute_id)
    context["revealed"] = {"party": party_id, "field": field, "value": value}
    return _shown_once(request, "mediation/dispute.html", context)


@login_required
def agreement_pdf(request, agreement_id: int):
    return agreement.pdf_response(request, request.user, agreement_id)
