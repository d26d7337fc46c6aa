"""Migrants' figures per area (the areas the case figures compare, `kpis.areas_of`), for the leaders'
dashboard and `GET /api/v1/migrants/figures`. Everything is read through `visible_to`.

Definitions (P = the period):
- migrants: migrants living here in the registry; estimated: the grids' `MigrantEstimate` summed
  (None where no grid below has one); registered share = migrants ÷ estimated;
- permits due: migrants due to apply within the reminder window or overdue, plus permits running
  out within it; overdue: past the date;
- beds and beds occupied: the dormitories' beds in use, and those with someone in them today;
- rentals: houses on the inspection schedule and let now; overdue: past their inspection date today;
- inspections: done in P; on time: done by their due date; on-time share = on time ÷ inspections.
"""

from datetime import date, timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from gridgov.analytics import kpis
from gridgov.analytics.periods import Period
from gridgov.migrants import conf, permits
from gridgov.migrants.dormitories import live_stays
from gridgov.migrants.models import Bed, Inspection, MigrantEstimate, Rental
from gridgov.population.models import Person


def _measures(user, start: date, end: date, today: date) -> list:
    overdue_arrival = permits.add_months(today - timedelta(days=1), -conf.stay_months())
    must_apply = permits.must_apply(user, today)
    must_renew = permits.must_renew(user, today)
    rentals = Rental.objects.visible_to(user).filter(is_active=True)
    inspections = Inspection.objects.visible_to(user).filter(done_on__gte=start, done_on__lt=end)
    return [
        (
            "migrants",
            Person.objects.visible_to(user).filter(is_migrant=True, is_active=True),
            "grid__code",
            Count("pk"),
        ),
        ("estimated", MigrantEstimate.objects.visible_to(user), "grid__code", Sum("estimated")),
        ("estimates", MigrantEstimate.objects.visible_to(user), "grid__code", Count("pk")),
        ("apply_due", must_apply, "grid__code", Count("pk")),
        ("apply_overdue", must_apply.filter(arrived_on__lte=overdue_arrival), "grid__code", Count("pk")),
        ("renew_due", must_renew, "grid__code", Count("pk")),
        ("renew_overdue", must_renew.filter(expires_on__lt=today), "grid__code", Count("pk")),
        (
            "beds",
            Bed.objects.visible_to(user).filter(is_active=True),
            "room__dormitory__grid__code",
            Count("pk"),
        ),
        ("beds_occupied", live_stays().visible_to(user), "grid__code", Count("pk")),
        ("rentals", rentals, "grid__code", Count("pk")),
        ("rentals_overdue", rentals.filter(next_due_on__lt=today), "grid__code", Count("pk")),
        ("inspections", inspections, "grid__code", Count("pk")),
        ("inspections_on_time", inspections.filter(on_time=True), "grid__code", Count("pk")),
    ]


def _shown(raw: dict) -> dict:
    estimated = raw["estimated"] if raw["estimates"] else None
    return {
        "migrants": raw["migrants"],
        "estimated": estimated,
        "registered_share": kpis.rate(raw["migrants"], estimated),
        "permits_due": raw["apply_due"] + raw["renew_due"],
        "permits_overdue": raw["apply_overdue"] + raw["renew_overdue"],
        "beds": raw["beds"],
        "beds_occupied": raw["beds_occupied"],
        "rentals": raw["rentals"],
        "rentals_overdue": raw["rentals_overdue"],
        "inspections": raw["inspections"],
        "inspections_on_time": raw["inspections_on_time"],
        "on_time_share": kpis.rate(raw["inspections_on_time"], raw["inspections"]),
    }


def area_rows(user, grid=None, *, start: date | None = None, end: date | None = None) -> list[dict]:
    """One row per area below `grid` (or the user's top areas); the period defaults to this month."""
    today = timezone.localdate()
    start = start or today.replace(day=1)
    end = end or today + timedelta(days=1)
    areas, _subtree = kpis.areas_of(user, grid)
    grouped = kpis.per_area(areas, _measures(user, start, end, today))
    return [{"grid": {"code": a.code, "name": a.name}, **_shown(grouped[a.code])} for a in areas]


def build(user, period: Period, grid_code: str = "") -> dict | None:
    """The dashboard's section: totals and areas; None for users who do not read the registry."""
    from gridgov.accounts.roles import compute_registry_scope

    grid = kpis.chosen_grid(user, grid_code)
    scope = compute_registry_scope(user)
    if not scope.everything and not scope.roots:
        return None
    rows = area_rows(user, grid, start=period.start, end=period.end)
    totals = {
        key: sum((r[key] or 0) for r in rows)
        for key in (
            "migrants",
            "permits_due",
            "permits_overdue",
            "beds",
            "beds_occupied",
            "rentals",
            "rentals_overdue",
            "inspections",
            "inspections_on_time",
        )
    }
    estimates = [r["estimated"] for r in rows if r["estimated"] is not None]
    totals["estimated"] = sum(estimates) if estimates else None
    totals["registered_share"] = kpis.rate(totals["migrants"], totals["estimated"])
    totals["on_time_share"] = kpis.rate(totals["inspections_on_time"], totals["inspections"])
    if not any(totals[k] for k in ("migrants", "beds", "rentals")):
        return None  # nothing of the kind in the area: no empty section
    return {"totals": totals, "areas": rows}
