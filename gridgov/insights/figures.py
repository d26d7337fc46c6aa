"""研判's figures of a period, for the leaders' dashboard and the period report: read through
`EarlyWarning.objects.visible_to`, inside the chosen grid.

Definitions (P = the period):
- open: warnings new, acknowledged or assigned now, by kind and severity;
- new: warnings first found in P; resolved, dismissed: warnings resolved or dismissed in P (a step
  in their log);
- the warnings of P: found by a run in P (first found before its end, last found after its start),
  counted by kind and state; its hotspots, largest first, with their case counts, and its
  recurring places, most recurrences first.

`screen` is the big screen's panel, as things stand now rather than over a period: open warnings by
kind and severity, the newest open ones of high severity with their age, the largest open hotspots.
Each figure is one query, however many warnings there are.
"""

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from gridgov.analytics import kpis
from gridgov.analytics.periods import Period
from gridgov.insights import workflow
from gridgov.insights.models import EarlyWarning

Kind, State, Severity = EarlyWarning.Kind, EarlyWarning.State, EarlyWarning.Severity
TOP = 10
SCREEN_NEWEST = 5
SCREEN_HOTSPOTS = 5


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


def _open_counts(rows) -> dict[tuple[str, int], int]:
    """(kind, severity) → open warnings among `rows`."""
    open_rows = rows.filter(state__in=workflow.OPEN).values("kind", "severity")
    return {(r["kind"], r["severity"]): r["n"] for r in open_rows.annotate(n=Count("pk")).order_by()}


def _readable_rows(user, grid_code: str):
    """The warnings the user reads (in the chosen grid, 404 outside their area) and that grid; None for
    those who do not read warnings (`workflow.may_read`)."""
    if not user.is_authenticated or not workflow.may_read(user):
        return None, None
    grid = kpis.chosen_grid(user, grid_code)
    rows = EarlyWarning.objects.visible_to(user)
    if grid is not None:
        rows = rows.filter(grid__code__startswith=grid.code)
    return rows, grid


def build(user, period: Period, grid_code: str = "") -> dict | None:
    """The period's warnings in the user's area (or the chosen grid); None for those who do not read
    warnings (`workflow.may_read`)."""
    rows, grid = _readable_rows(user, grid_code)
    if rows is None:
        return None
    start, end = period.bounds()

    open_counts = _open_counts(rows)
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


def screen(user, grid_code: str = "") -> dict | None:
    """The big screen's 研判 panel for the user's area (or the chosen grid), now; None for those who
    do not read warnings. Sensitive warnings only as `visible_to` lets the user see them."""
    rows, grid = _readable_rows(user, grid_code)
    if rows is None:
        return None
    open_counts = _open_counts(rows)
    kinds = []
    for kind, label in Kind.choices:
        by_severity = [open_counts.get((kind, s), 0) for s in Severity.values]
        if any(by_severity):
            kinds.append(
                {"kind": kind, "label": str(label), "open": sum(by_severity), "severity": by_severity}
            )
    now = timezone.now()
    newest = (
        rows.filter(state__in=workflow.OPEN, severity=Severity.HIGH)
        .select_related("grid")
        .order_by("-first_seen_at", "-pk")[:SCREEN_NEWEST]
    )
    hotspots = _places(rows.filter(state__in=workflow.OPEN), Kind.HOTSPOT, "count")[:SCREEN_HOTSPOTS]
    for spot in hotspots:
        spot["url"] = reverse("insights-warning", args=[spot["id"]])
    return {
        "totals": {
            "open": sum(open_counts.values()),
            "high": sum(n for (_kind, severity), n in open_counts.items() if severity == Severity.HIGH),
        },
        "kinds": kinds,
        "severities": [str(label) for _value, label in Severity.choices],
        "newest": [
            {
                "id": w.pk,
                "title": w.title,
                "grid": w.grid.name,
                "kind": w.kind,
                "kind_label": str(w.get_kind_display()),
                "first_seen_at": w.first_seen_at,
                "age": timesince(w.first_seen_at, now, depth=1),
                "url": reverse("insights-warning", args=[w.pk]),
            }
            for w in newest
        ],
        "hotspots": hotspots,
        "grid": grid.code if grid is not None else "",
    }
