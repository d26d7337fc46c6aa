"""The analytics pages: rankings (areas, grid workers, departments, dispatchers), the leader's
dashboard and the full-screen big screen, for a period and a grid.

Thin: the period comes from `periods.parse`, the rows from `kpis.ranking` and the charts from
`dashboard.build` (both read only through `visible_to`); every count and chart links to the
case list of the cases behind it.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.analytics import dashboard, kpis, periods, report
from gridgov.grids.models import Grid
from gridgov.insights import figures as insight_figures
from gridgov.mediation import figures as mediation_figures
from gridgov.migrants import figures as migrant_figures
from gridgov.participation import figures as board_figures
from gridgov.volunteers import figures as volunteer_figures

# Counts take the "count" context: "reported" is a number of cases here, not a time.
# (header, kind of cell, figure or rate name): "count" links to its cases, "rate" is a share.
COLUMNS = {
    "areas": [(pgettext_lazy("count", "reported"), "count", "reported"),
              (pgettext_lazy("count", "registered"), "count", "registered"),
              (_("due to close"), "count", "due"),
              (pgettext_lazy("count", "closed"), "count", "closed"),
              (_("closure rate"), "rate", "closure"),
              (pgettext_lazy("count", "closed on time"), "count", "closed_on_time"),
              (_("on-time closure rate"), "rate", "on_time"),
              (_("solved on the spot"), "rate", "self_resolved"),
              (_("satisfaction"), "rate", "satisfaction"),
              (_("cases per 1,000 households"), "number", "per_1000_households")],
    "workers": [(_("reports"), "count", "reports"), (_("valid reports"), "count", "valid_reports"),
                (_("valid-report rate"), "rate", "valid"),
                (_("results to verify"), "count", "verifications_due"),
                (_("verified on time"), "count", "verified_on_time"),
                (_("on-time verification rate"), "rate", "verified_on_time"),
                (_("missed (reported by the public)"), "count", "missed"),
                (_("visits done"), "plain", "visits_done"), (_("visits due"), "plain", "visits_due"),
                (_("patrol hours"), "plain", "patrol_hours"), (_("patrol km"), "plain", "patrol_km")],
    "departments": [(_("to handle"), "count", "to_handle"),
                    (pgettext_lazy("count", "handled on time"), "count", "handled_on_time"),
                    (_("on-time rate"), "rate", "on_time"),
                    (pgettext_lazy("count", "closed"), "count", "dept_closed"),
                    (_("closure rate"), "rate", "closure"), (_("reworked"), "count", "reworked"),
                    (_("rework rate"), "rate", "rework"), (_("returned"), "count", "returns"),
                    (_("extended"), "count", "extended"), (_("satisfaction"), "rate", "satisfaction")],
    "dispatchers": [(pgettext_lazy("count", "registered"), "count", "registered"),
                    (pgettext_lazy("count", "dispatched"), "count", "dispatched"),
                    (_("dispatched right"), "count", "accurate"),
                    (_("dispatch accuracy"), "rate", "accuracy")],
    "board": [(_("messages"), "plain", "posts"), (_("replied"), "plain", "replied"),
              (_("reply rate"), "rate", "reply"), (_("replied on time"), "plain", "on_time"),
              (_("on-time reply rate"), "rate", "on_time"),
              (_("satisfaction with replies"), "rate", "satisfaction")],
    "mediation": [(_("visitors received"), "plain", "visits"), (_("disputes accepted"), "plain", "accepted"),
                  (_("resolved"), "plain", "resolved"),
                  (_("resolution rate"), "rate", "resolved"), (_("resolved in time"), "rate", "on_time"),
                  (_("referred on"), "plain", "referred"), (_("repeat disputes"), "plain", "repeat")],
}
TABS = [("areas", _("Areas")), ("workers", _("Grid workers")), ("departments", _("Departments")),
        ("dispatchers", _("Dispatchers")), ("board", _("Message board")),
        ("mediation", _("Dispute mediation"))]
KIND = {"areas": "area", "workers": "worker", "departments": "department", "dispatchers": "dispatcher"}
PERIOD_KINDS = [("day", _("Day")), ("week", _("Week")), ("month", _("Month")), ("quarter", _("Quarter")),
                ("year", _("Year")), ("custom", _("Custom"))]


def show_rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _cell(row: kpis.Row, kind: str, name: str, link: dict) -> dict:
    if kind == "rate":  # "…_rate": a count and its rate may share a name (verified_on_time)
        return {"text": show_rate(row.rates.get(name)), "name": f"{name}_rate"}
    if kind == "number":
        value = row.rates.get(name)
        return {"text": "—" if value is None else f"{value:.1f}", "name": name}
    value = row.figures.get(name)
    if kind == "plain" or value is None:
        return {"text": "—" if value is None else value, "name": name}
    href = reverse("case-list") + "?" + urlencode({"kpi": f"{KIND[link['what']]}.{name}", "subject": row.key,
                                                   **link["query"]})
    return {"text": value, "name": name, "href": href}


def _movement(value) -> str:
    if value is None:
        return "—"
    return f"↑{value}" if value > 0 else (f"↓{-value}" if value < 0 else "→")


@login_required
def rankings(request):
    what = request.GET.get("what", "areas")
    what = what if what in kpis.RANKINGS else "areas"
    grid_code = request.GET.get("grid", "").strip()
    errors, rows, source = {}, [], ""
    try:
        period = periods.parse(request.GET)
        rows, source = kpis.ranking(request.user, what, period, grid_code)
    except ValidationError as exc:
        errors = {field: " ".join(messages) for field, messages in exc.message_dict.items()}
        period = periods.period_of("month", timezone.localdate())
    link = {"what": what, "query": {**period.query(), **({"grid": grid_code} if grid_code else {})}}
    table = [{"row": r, "movement": _movement(r.movement),
              "cells": [_cell(r, kind, name, link) for _header, kind, name in COLUMNS[what]]} for r in rows]
    return render(request, "analytics/rankings.html", {
        "what": what, "tabs": TABS, "headers": [h for h, _kind, _name in COLUMNS[what]], "table": table,
        "period": period, "previous": period.previous(), "kinds": PERIOD_KINDS,
        "grids": _pickable(request.user),
        "grid_code": grid_code, "errors": errors, "source": source, "caveat": kpis.CAVEAT,
        "scored": what != "dispatchers", "params": request.GET, "period_qs": urlencode(link["query"])})


def _pickable(user):
    return Grid.objects.visible_to(user).filter(level__lte=3).order_by("code")[:500]


def check_dashboard_access(user) -> None:
    from gridgov.consoles.queues import consoles_of

    # The same rule as the top bar's link (consoles.context_processors).
    if not {"leader", "dispatch"} & set(consoles_of(user)):
        raise PermissionDenied(_("The dashboards are for leaders and command centres."))


def _dashboard_context(request) -> dict:
    grid_code = request.GET.get("grid", "").strip()
    errors, board = {}, None
    try:
        period = periods.parse(request.GET)
    except ValidationError as exc:
        errors = {field: " ".join(messages) for field, messages in exc.message_dict.items()}
        period = periods.period_of("month", timezone.localdate())
    board = dashboard.build(request.user, period, grid_code)
    board["period"] = period.as_dict()
    return {"board": board,
            "volunteer_figures": volunteer_figures.build(request.user, period, grid_code),
            "board_figures": board_figures.build(request.user, period, grid_code),
            "mediation_figures": mediation_figures.build(request.user, period, grid_code),
            "migrant_figures": migrant_figures.build(request.user, period, grid_code),
            "insight_figures": insight_figures.build(request.user, period, grid_code),
            "period": period, "kinds": PERIOD_KINDS, "grids": _pickable(request.user),
            "grid_code": grid_code, "errors": errors, "params": request.GET,
            "rates": {name: show_rate(value) for name, value in board["rates"].items()},
            "api_query": urlencode({**period.query(), **({"grid": grid_code} if grid_code else {})})}


@login_required
def dashboard_page(request):
    check_dashboard_access(request.user)
    return render(request, "analytics/dashboard.html", _dashboard_context(request))


@login_required
def big_screen(request):
    """The same figures full screen, dark, refreshed every minute (a command-centre wall)."""
    check_dashboard_access(request.user)
    context = _dashboard_context(request)
    # 研判's panel, now rather than over the period; None (no panel) for those who do not read warnings.
    context["insight_screen"] = insight_figures.screen(request.user, context["grid_code"])
    return render(request, "analytics/bigscreen.html", context)


REPORT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "pdf": "application/pdf"}


def report_response(user, params, fmt: str) -> HttpResponse:
    """The report file for the API and the page alike (scope and period checks included)."""
    if fmt not in REPORT_TYPES:
        raise Http404(_("Reports come as xlsx or pdf."))
    check_dashboard_access(user)
    period = periods.parse(params)
    made = report.gather(user, period, (params.get("grid") or "").strip())
    try:
        content = report.workbook(made) if fmt == "xlsx" else report.pdf(made)
    except report.ReportUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type=REPORT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{report.filename(made, fmt)}"'
    return response


@login_required
def report_download(request, fmt: str):
    try:
        return report_response(request.user, request.GET, fmt)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
