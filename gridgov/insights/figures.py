"""研判's figures of a period, for the leaders' dashboard and the period report: read through
`EarlyWarning.objects.visible_to`, inside the chosen grid.

Definitions (P = the period):
- open: warnings new, acknowledged or assigned now, by kind and severity;
- new: warnings first found in P; resolved, dismissed: warnings resolved or dismissed in P (a step
  in their log);
- the warnings of P: found by a run in P (first found before its end, last found after its start),
  counted by kind and state; its hotspots, largest first, with their case counts, and its
  recurring places, most recurrences first.
"""

from django.db.models import Count

from gridgov.analytics import kpis
from gridgov.analytics.periods import Period
from gridgov.insights import workflow
from gridgov.insights.models import EarlyWarning

Kind, State, Severity = EarlyWarning.Kind, EarlyWarning.State, EarlyWarning.Severity
TOP = 10


def _stepped(rows, action: str, start, end) -> int:
    return rows.filter(logs__action=action, logs__at__gte=start, logs__at__lt=end).distinct().count()


def _places(rows, kind: str, order: str) -> list[dict]:
    found = list(rows.filter(kind=kind).select_related("grid", "category")[:500])
    found.sort(key=lambda w: (-int(w.evidence.get(order) or 0), -w.severity, w.pk))
    return [
        {
            "id": w.pk,
            "title": w.title,
            "grid": w.grid.name,
            "category": w.category.name if w.category_id else "",
            "cases": int(w.evidence.get("count") or 0),
            "recurred": int(w.evidence.get("recurred") or 0),
            "severity": w.severity,
            "severity_label": str(w.get_severity_display()),
            "state": w.state,
            "state_label": str(w.get_state_display()),
        }
        for w in found[:TOP]
    ]


def build(user, period: Period, grid_code: str = "") -> dict | None:
    """The period's warnings in the user's area (or the chosen grid); None for those who do not read
    warnings (`workflow.may_read`)."""
    if not user.is_authenticated or not workflow.may_read(user):
        return None
    grid = kpis.chosen_grid(user, grid_code)
    rows = EarlyWarning.objects.visible_to(user)
    if grid is not None:
        rows = rows.filter(grid__code__startswith=grid.code)
    start, end = period.bounds()

    open_rows = rows.filter(state__in=workflow.OPEN).values("kind", "severity")
    open_counts = {(r["kind"], r["severity"]): r["n"] for r in open_rows.annotate(n=Count("pk")).order_by()}
    of_period = rows.filter(first_seen_at__lt=end, last_seen_at__gte=start)
    period_counts = {
        (r["kind"], r["state"]): r["n"]
        for r in of_period.values("kind", "state").annotate(n=Count("pk")).order_by()
    }
    kinds = []
    for kind, label in Kind.choices:
        by_severity = {s: open_counts.get((kind, s), 0) for s in Severity.values}
        by_state = {s: period_counts.get((kind, s), 0) for s in State.values}
        kinds.append(
            {
                "kind": kind,
                "label": str(label),
                "open": sum(by_severity.values()),
                "severity": [by_severity[s] for s in Severity.values],
                "states": [by_state[s] for s in State.values],
                "found": sum(by_state.values()),
            }
        )
    totals = {
        "open": sum(open_counts.values()),
        "high": sum(n for (_kind, severity), n in open_counts.items() if severity == Severity.HIGH),
        "new": rows.filter(first_seen_at__gte=start, first_seen_at__lt=end).count(),
        "resolved": _stepped(rows, "resolve", start, end),
        "dismissed": _stepped(rows, "dismiss", start, end),
        "found": sum(period_counts.values()),
    }
    return {
        "totals": totals,
        "kinds": kinds,
        "severities": [str(label) for _value, label in Severity.choices],
        "states": [str(label) for _value, label in State.choices],
        "hotspots": _places(of_period, Kind.HOTSPOT, "count"),
        "recurrences": _places(of_period, Kind.RECURRENCE, "recurred"),
        "grid": grid.code if grid is not None else "",
    }
