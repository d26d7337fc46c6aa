"""The mediation centre's figures: per area (the areas the case figures compare, `kpis.areas_of`)
for the leaders' dashboard and the rankings tab, and per window (its department), per mediator and
referrals by kind for `GET /api/v1/mediation/figures`. Everything is read through `visible_to`.

Definitions (P = the period, or the dates asked for):
- visits: visits to a centre on a day of P (人次), counted where the visitor lives (else at the
  centre's grid); visitors: the people behind them;
- accepted (受理): disputes registered in P; resolved (化解): of those, an agreement reached and not
  broken at the return visit (agreed or closed); on_time: resolved within the mediation time limit;
  referred: referred on (to a court, arbitration, …); repeat: reopened after a broken agreement;
  high_risk: high-risk ones.
- 化解率 = resolved ÷ accepted; on-time share = on_time ÷ accepted; repeat share = repeat ÷ accepted.
A rate is None (shown "—") when nothing was accepted.
"""

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, Substr

from gridgov.accounts.roles import compute_registry_scope
from gridgov.analytics import kpis
from gridgov.analytics.periods import Period
from gridgov.mediation.models import Dispute, Referral, Visit, Window

FIGURES = ("accepted", "resolved", "on_time", "referred", "repeat", "high_risk")


def dispute_counts() -> dict:
    resolved = Q(state__in=Dispute.RESOLVED_STATES)
    return {
        "accepted": Count("pk"),
        "resolved": Count("pk", filter=resolved),
        "on_time": Count("pk", filter=resolved & Q(resolved_at__lte=F("deadline"))),
        "referred": Count("pk", filter=Q(state=Dispute.State.REFERRED)),
        "repeat": Count("pk", filter=Q(reopen_count__gt=0)),
        "high_risk": Count("pk", filter=Q(risk=Dispute.Risk.HIGH)),
    }


def with_rates(figures: dict) -> dict:
    accepted = figures["accepted"]
    return {
        **figures,
        "resolved_share": kpis.rate(figures["resolved"], accepted),
        "on_time_share": kpis.rate(figures["on_time"], accepted),
        "repeat_share": kpis.rate(figures["repeat"], accepted),
    }


def _empty() -> dict:
    return dict.fromkeys(FIGURES, 0)


def _home_code():
    """Where a visit counts: the grid the visitor lives in, else the centre's."""
    return Coalesce("visitor__home_grid__code", "centre__grid__code")


# --- the breakdowns of the API ------------------------------------------------------------------


def by_window(visits, disputes) -> list[dict]:
    """Per window (and its department): visits sent there, disputes mediated there; the disputes
    not yet at a window last."""
    came = dict(visits.values_list("window_id").annotate(n=Count("pk")).order_by())
    counts = {
        row.pop("window_id"): row
        for row in disputes.values("window_id").annotate(**dispute_counts()).order_by()
    }
    keys = set(came) | set(counts)
    # The names of windows found through the scoped rows above (windows hold no personal data).
    windows = Window.objects.filter(pk__in=[k for k in keys if k]).select_related("centre", "department")
    windows = {w.pk: w for w in windows}
    out = []
    for key in sorted(
        keys, key=lambda k: (k is None, (windows[k].centre.name, windows[k].number) if k else ())
    ):
        window = windows.get(key)
        out.append(
            {
                "id": key,
                "centre": window.centre.name if window else "",
                "number": window.number if window else None,
                "name": window.name if window else "",
                "department": window.department.name if window and window.department else "",
                "visits": came.get(key, 0),
                **with_rates(counts.get(key, _empty())),
            }
        )
    return out


def by_mediator(disputes) -> list[dict]:
    """Per mediator: the disputes they mediate (or mediated), resolved, on time."""
    rows = list(disputes.exclude(mediator=None).values("mediator_id").annotate(**dispute_counts()).order_by())
    names = {u.pk: str(u) for u in get_user_model().objects.filter(pk__in=[r["mediator_id"] for r in rows])}
    out = [
        {
            "id": r["mediator_id"],
            "name": names.get(r["mediator_id"], ""),
            **with_rates({name: r[name] for name in FIGURES}),
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: (-r["accepted"], r["name"], r["id"]))


def referrals_by_kind(user, disputes) -> list[dict]:
    """The referrals of these disputes by where they went, and how many concluded."""
    rows = (
        Referral.objects.visible_to(user)
        .filter(dispute__in=disputes.values("pk"))
        .values("kind")
        .annotate(referrals=Count("pk"), concluded=Count("pk", filter=Q(state=Referral.State.CONCLUDED)))
        .order_by()
    )
    found = {r["kind"]: r for r in rows}
    return [
        {
            "kind": kind,
            "label": str(label),
            "referrals": found.get(kind, {}).get("referrals", 0),
            "concluded": found.get(kind, {}).get("concluded", 0),
        }
        for kind, label in Referral.Kind.choices
    ]


# --- per area (dashboard and rankings) ----------------------------------------------------------------


def build(user, period: Period, grid_code: str = "", level: int | None = None) -> dict | None:
    """Totals, per-area figures and the breakdowns of a period; None for users who see no
    mediation data (residents, handlers, auditors)."""
    grid = kpis.chosen_grid(user, grid_code)
    scope = compute_registry_scope(user)
    if not scope.everything and not scope.roots:
        return None
    areas, subtree = kpis.areas_of(user, grid, level)
    if grid is not None:
        subtree = grid.code
    start, end = period.bounds()
    disputes = Dispute.objects.visible_to(user).filter(created_at__gte=start, created_at__lt=end)
    visits = (
        Visit.objects.visible_to(user)
        .filter(day__gte=period.start, day__lt=period.end)
        .annotate(home_code=_home_code())
    )
    if subtree:
        disputes = disputes.filter(grid__code__startswith=subtree)
        visits = visits.filter(home_code__startswith=subtree)
    by_area: dict[str, dict] = {}
    seen: dict[str, dict] = {}
    for length in {len(a.code) for a in areas}:
        keyed = disputes.annotate(area=Substr("grid__code", 1, length)).values("area")
        by_area.update({row.pop("area"): row for row in keyed.annotate(**dispute_counts()).order_by()})
        came = visits.annotate(area=Substr("home_code", 1, length)).values("area")
        seen.update(
            {
                row.pop("area"): row
                for row in came.annotate(
                    visits=Count("pk"), visitors=Count("visitor", distinct=True)
                ).order_by()
            }
        )
    nobody = {"visits": 0, "visitors": 0}
    totals = with_rates(disputes.aggregate(**dispute_counts()))
    totals |= visits.aggregate(visits=Count("pk"), visitors=Count("visitor", distinct=True))
    return {
        "totals": totals,
        "areas": [
            {
                "code": a.code,
                "name": a.name,
                **seen.get(a.code, nobody),
                **with_rates(by_area.get(a.code, _empty())),
            }
            for a in areas
        ],
        "windows": by_window(visits, disputes),
        "mediators": by_mediator(disputes)[:20],
        "referrals": referrals_by_kind(user, disputes),
    }


def area_rows(user, period: Period, grid_code: str = "", level: int | None = None) -> list[kpis.Row]:
    """The areas as rows of the rankings ("矛盾调解"): 化解率, on-time share and no repeat weighed
    into a score (`kpis.DEFAULT_WEIGHTS["mediation"]`); an area that accepted nothing has no score."""
    built = build(user, period, grid_code, level)
    rows = []
    for area in built["areas"] if built else []:
        figures = {"visits": area["visits"], **{name: area[name] for name in FIGURES}}
        rates = {
            "resolved": area["resolved_share"],
            "on_time": area["on_time_share"],
            "repeat": area["repeat_share"],
        }
        components = {
            "resolved": kpis.pct(rates["resolved"]),
            "on_time": kpis.pct(rates["on_time"]),
            "no_repeat": kpis.pct(rates["repeat"], inverse=True),
        }
        score = kpis.composite(components, "mediation")
        rows.append(
            kpis.Row(
                "mediation", area["code"], area["name"], figures, rates, components, score, kpis.grade(score)
            )
        )
    return rows
