"""研判 pages, included under /insights/ by gridgov/urls.py, for leaders and command centres
(`workflow.may_read`; everyone else is refused with a 403).

- /insights/: the early warnings of my area with filters (kind, state — open ones by default —,
  severity, grid, found by the latest run), 100 a page; the map of those with a place
  (/insights/map.json, one layer per kind); open warnings by kind as a chart; "run the analysis now".
- /insights/<id>/: one warning with what stands behind it — its cases (those I may read), its people
  (ID numbers and phones masked), the weeks of a trend as a chart — its log, and a form for every
  step `workflow.available` offers.

Thin: the steps go through `workflow.act`, the run through `analysis.run_unless_recent`; a refusal
comes back as an error message with nothing saved.
"""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from gridgov.cases.models import Case
from gridgov.core.actions import form_action
from gridgov.core.scope import scope_of
from gridgov.core.text import to_int
from gridgov.grids.models import Grid
from gridgov.insights import analysis, workflow
from gridgov.insights.models import AnalysisRun, EarlyWarning
from gridgov.population.models import Person

PAGE_SIZE = 100
MAP_LIMIT = 2000
PICKABLE_LEVEL = 3
Kind, State = EarlyWarning.Kind, EarlyWarning.State
steps = form_action("insights")

STEP_DONE = {
    "acknowledge": gettext_lazy("Acknowledged."),
    "assign": gettext_lazy("Assigned."),
    "resolve": gettext_lazy("Resolved."),
    "dismiss": gettext_lazy("Dismissed."),
    "reopen": gettext_lazy("Reopened."),
    "supervise": gettext_lazy("Its open cases are under supervision."),
}
LOG_LABELS = {
    **{name: step.label for name, step in workflow.STEPS.items()},
    "found_again": gettext_lazy("Found again"),
}
# What a warning's evidence holds, shown on its page (the ids behind it are listed apart).
EVIDENCE_LABELS = {
    "count": pgettext_lazy("insights", "cases"),
    "radius_m": gettext_lazy("within (m)"),
    "rank": gettext_lazy("rank"),
    "recurred": gettext_lazy("times it came back"),
    "categories": gettext_lazy("categories"),
    "week": gettext_lazy("week of"),
    "baseline": gettext_lazy("usual cases a week"),
    "seasonal": gettext_lazy("seasonal factor (a year earlier)"),
    "expected": gettext_lazy("expected cases that week"),
    "z": gettext_lazy("standard deviations above"),
    "recent": gettext_lazy("cases in the last four weeks"),
    "before": gettext_lazy("cases in the four weeks before"),
    "last_visited": gettext_lazy("last visited"),
    "interval": gettext_lazy("visit due every (days)"),
    "due": gettext_lazy("inspection due"),
    "days": gettext_lazy("days overdue"),
    "disputes": gettext_lazy("disputes"),
}
SEVERITY_CHIP = {1: "", 2: "tag-medium", 3: "tag-high"}


def _readable(user) -> None:
    if not workflow.may_read(user):
        raise PermissionDenied(_("Early warnings are for leaders and command centres."))


def _filters(request) -> dict:
    """The list's filters as asked, each checked (an unknown value is the same as none)."""
    params = request.GET
    kind = params.get("kind", "")
    state = params.get("state", "")
    severity = to_int(params.get("severity")) if params.get("severity") else None
    return {
        "kind": kind if kind in Kind.values else "",
        "state": state if state in State.values or state == "all" else "",
        "severity": severity if severity in (1, 2, 3) else None,
        "grid": params.get("grid", "").strip(),
        "current": params.get("current") == "1",
    }


def _filtered(user, chosen: dict):
    rows = EarlyWarning.objects.visible_to(user)
    if chosen["state"] not in ("all", ""):
        rows = rows.filter(state=chosen["state"])
    elif not chosen["state"]:
        rows = rows.filter(state__in=workflow.OPEN)
    if chosen["kind"]:
        rows = rows.filter(kind=chosen["kind"])
    if chosen["severity"]:
        rows = rows.filter(severity__gte=chosen["severity"])
    if chosen["grid"]:
        rows = rows.filter(grid__code__startswith=chosen["grid"])
    if chosen["current"]:
        rows = rows.filter(is_current=True)
    return rows


def _query(chosen: dict, **changes) -> str:
    from urllib.parse import urlencode

    values = {**chosen, **changes}
    return urlencode({k: ("1" if v is True else v) for k, v in values.items() if v not in ("", None, False)})


def _by_kind(user) -> list[dict]:
    """Open warnings per kind, for the chart (each bar opens the list of its kind)."""
    counts = dict(
        EarlyWarning.objects.visible_to(user)
        .filter(state__in=workflow.OPEN)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [
        {
            "kind": kind,
            "name": str(label),
            "value": counts.get(kind, 0),
            "href": f"{reverse('insights')}?kind={kind}",
        }
        for kind, label in Kind.choices
        if counts.get(kind)
    ]


@login_required
def warnings_page(request):
    user = request.user
    _readable(user)
    chosen = _filters(request)
    rows = _filtered(user, chosen).select_related("grid", "category", "assignee")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for w in page.object_list:
        w.chip = SEVERITY_CHIP.get(w.severity, "")
    scope = scope_of(user)
    roots = (
        list(Grid.objects.filter(level=1).values_list("code", flat=True))
        if scope.everything
        else list(scope.roots)
    )
    return render(
        request,
        "insights/warnings.html",
        {
            "page": page,
            "chosen": chosen,
            "query": _query(chosen),
            "kinds": Kind.choices,
            "states": [("", _("open")), *State.choices, ("all", _("all"))],
            "severities": EarlyWarning.Severity.choices,
            "grids": Grid.objects.visible_to(user).filter(level__lte=PICKABLE_LEVEL).order_by("code")[:500],
            "by_kind": _by_kind(user),
            "last_run": AnalysisRun.objects.first(),
            "roots": roots,
            "tile_url": settings.GRIDGOV_TILE_URL,
            "tile_attribution": settings.GRIDGOV_TILE_ATTRIBUTION,
        },
    )


@login_required
def map_points(request):
    """The listed warnings that have a place, as JSON for the map (the list's filters apply)."""
    user = request.user
    _readable(user)
    rows = (
        _filtered(user, _filters(request))
        .filter(lat__isnull=False, lon__isnull=False)
        .select_related("grid")[:MAP_LIMIT]
    )
    kinds, severities, states = dict(Kind.choices), dict(EarlyWarning.Severity.choices), dict(State.choices)
    return JsonResponse(
        {
            "warnings": [
                {
                    "id": w.pk,
                    "kind": w.kind,
                    "kind_label": str(kinds.get(w.kind, w.kind)),
                    "title": w.title,
                    "grid": w.grid.name,
                    "lat": w.lat,
                    "lon": w.lon,
                    "radius_m": w.evidence.get("radius_m"),
                    "count": w.evidence.get("count"),
                    "severity": w.severity,
                    "severity_label": str(severities.get(w.severity, "")),
                    "state_label": str(states.get(w.state, w.state)),
                    "is_current": w.is_current,
                    "url": reverse("insights-warning", args=[w.pk]),
                }
                for w in rows
            ]
        }
    )


def _assignees(warning: EarlyWarning) -> list[dict]:
    """The assign form's choices: `workflow.candidates`, the rule `workflow.act` checks."""
    return [
        {
            "id": u.pk,
            "name": u.name or u.username,
            "role": u.line_roles[0].get_role_display(),
            "grid": u.line_roles[0].grid.name,
        }
        for u in workflow.candidates(warning)
    ]


def _weeks(warning: EarlyWarning) -> dict | None:
    """A trend's weeks as a bar chart's data (the last full week last)."""
    counts = warning.evidence.get("weeks")
    if warning.kind not in (Kind.TREND, Kind.RISING) or not counts:
        return None
    last = None
    for text in (warning.evidence.get("week"), warning.key.rsplit(":", 1)[-1]):
        try:
            last = date.fromisoformat(text or "")
            break
        except ValueError:
            continue
    if last is None:
        last = analysis.week_start(timezone.localtime(warning.last_seen_at).date()) - timedelta(weeks=1)
    first = last - timedelta(weeks=len(counts) - 1)
    return {
        "labels": [f"{first + timedelta(weeks=i):%m-%d}" for i in range(len(counts))],
        "values": counts,
        "name": _("cases a week"),
    }


@login_required
def warning_page(request, warning_id: int):
    user = request.user
    warning = workflow.warning_of(user, warning_id)
    warning.chip = SEVERITY_CHIP.get(warning.severity, "")
    cases = (
        Case.objects.visible_to(user)
        .filter(pk__in=warning.evidence.get("cases", []))
        .select_related("category", "grid")
        .order_by("-reported_at")
    )
    people = (
        Person.objects.visible_to(user).filter(pk__in=warning.evidence.get("people", [])).order_by("name")
        if warning.source == EarlyWarning.Source.REGISTRY
        else Person.objects.none()
    )
    logs = list(warning.logs.select_related("actor"))
    for entry in logs:
        entry.label = LOG_LABELS.get(entry.action, entry.action)
    available = workflow.available(user, warning)
    return render(
        request,
        "insights/warning.html",
        {
            "w": warning,
            "cases": cases,
            "hidden_cases": max(0, len(warning.evidence.get("cases", [])) - len(cases)),
            "people": [
                {"id": p.pk, "name": p.name, "id_number": p.id_number_masked, "phone": p.phone_masked}
                for p in people
            ],
            "facts": [
                (EVIDENCE_LABELS[k], warning.evidence[k])
                for k in EVIDENCE_LABELS
                if warning.evidence.get(k) not in (None, "")
            ],
            "logs": logs,
            "steps": available,
            "assignees": _assignees(warning) if any(s.name == "assign" for s in available) else [],
            "weeks": _weeks(warning),
            "care_link": warning.kind in (Kind.CARE_UNVISITED, Kind.CARE_HAZARD),
            "rental": warning.evidence.get("rental") if warning.kind == Kind.RENTAL_UNINSPECTED else None,
        },
    )


@steps
def warning_step(request, warning_id: int, name: str):
    if name not in workflow.STEPS:
        raise PermissionDenied(_("No such step."))
    assignee = request.POST.get("assignee_id")
    workflow.act(
        request.user,
        warning_id,
        name,
        note=request.POST.get("note", ""),
        assignee_id=to_int(assignee) if assignee else None,
    )
    return str(STEP_DONE[name]), reverse("insights-warning", args=[warning_id])


@steps
def run_now(request):
    _readable(request.user)
    record, ran = analysis.run_unless_recent(request.user)
    found = sum(record.counts.values())
    if ran:
        return _("The analysis ran: %(n)d warnings found.") % {"n": found}, reverse("insights")
    return _("The analysis ran less than five minutes ago (%(at)s): its findings are shown.") % {
        "at": f"{timezone.localtime(record.finished_at):%H:%M}"
    }, reverse("insights")
