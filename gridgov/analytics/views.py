"""The rankings page: areas, grid workers, departments and dispatchers for a period, in a grid.

Thin: the period comes from `periods.parse`, the rows from `kpis.ranking` (which reads only
through `visible_to`); each count links to the case list of the cases behind it.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.analytics import kpis, periods
from gridgov.grids.models import Grid

# (header, kind of cell, figure or rate name): "count" links to its cases, "rate" is a share.
COLUMNS = {
    "areas": [(_("reported"), "count", "reported"), (_("registered"), "count", "registered"),
              (_("due to close"), "count", "due"), (_("closed"), "count", "closed"),
              (_("closure rate"), "rate", "closure"), (_("closed on time"), "count", "closed_on_time"),
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
                (_("visits done"), "plain", "visits_done"), (_("visits due"), "plain", "visits_due")],
    "departments": [(_("to handle"), "count", "to_handle"),
                    (_("handled on time"), "count", "handled_on_time"),
                    (_("on-time rate"), "rate", "on_time"), (_("closed"), "count", "dept_closed"),
                    (_("closure rate"), "rate", "closure"), (_("reworked"), "count", "reworked"),
                    (_("rework rate"), "rate", "rework"), (_("returned"), "count", "returns"),
                    (_("extended"), "count", "extended"), (_("satisfaction"), "rate", "satisfaction")],
    "dispatchers": [(_("registered"), "count", "registered"), (_("dispatched"), "count", "dispatched"),
                    (_("dispatched right"), "count", "accurate"),
                    (_("dispatch accuracy"), "rate", "accuracy")],
}
TABS = [("areas", _("Areas")), ("workers", _("Grid workers")), ("departments", _("Departments")),
        ("dispatchers", _("Dispatchers"))]
KIND = {"areas": "area", "workers": "worker", "departments": "department", "dispatchers": "dispatcher"}
PERIOD_KINDS = [("day", _("Day")), ("week", _("Week")), ("month", _("Month")), ("quarter", _("Quarter")),
                ("year", _("Year")), ("custom", _("Custom"))]


def show_rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _cell(row: kpis.Row, kind: str, name: str, link: dict) -> dict:
    if kind == "rate":
        return {"text": show_rate(row.rates.get(name)), "name": name}
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
    pickable = Grid.objects.visible_to(request.user).filter(level__lte=3).order_by("code")[:500]
    return render(request, "analytics/rankings.html", {
        "what": what, "tabs": TABS, "headers": [h for h, _kind, _name in COLUMNS[what]], "table": table,
        "period": period, "previous": period.previous(), "kinds": PERIOD_KINDS, "grids": pickable,
        "grid_code": grid_code, "errors": errors, "source": source, "caveat": kpis.CAVEAT,
        "scored": what != "dispatchers", "params": request.GET, "period_qs": urlencode(link["query"])})
