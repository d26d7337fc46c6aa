"""Volunteer figures for a period: the leader's dashboard section and GET /volunteers/figures.

The areas are those the case figures compare (`kpis.areas_of`: the children of the chosen grid,
or the user's top grids), so the volunteer table lines up with the case table above it. A
volunteer counts in the area of their service grid; an activity in the area of its grid (one
published to a street counts in the totals, not in any one community). Activities belong to the
period they start in; points to the period they were entered in the ledger. Hours are summed in
the database with the rule of `services.hours` (inside the activity's own time, nothing without
a check-out), so the totals may differ from the sum of per-attendance roundings by a few
hundredths.
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import Substr

from gridgov.analytics import kpis
from gridgov.analytics.periods import Period
from gridgov.volunteers.models import (
    Activity,
    Attendance,
    PointEntry,
    Signup,
    Volunteer,
    reading_scope,
)
from gridgov.volunteers.services import as_hours, credited_time

TOP = 10
GAINS = (PointEntry.Kind.EARN, PointEntry.Kind.AWARD, PointEntry.Kind.DEDUCT)  # not spending or expiry
FIGURES = ("volunteers", "active", "hours", "points", "activities", "attended", "no_shows")


def may_read(user) -> bool:
    scope = reading_scope(user)
    return scope.everything or bool(scope.roots)


def _hours(value: timedelta | None) -> Decimal:
    return as_hours(value, "0.1")


class _Rows:
    """The period's rows within the user's volunteer scope and the chosen subtree."""

    def __init__(self, user, period: Period, subtree: str):
        start, end = period.bounds()
        self.user, self.subtree = user, subtree
        self.attendance = (
            self._in(
                Attendance.objects.visible_to(user).filter(
                    activity__starts_at__gte=start, activity__starts_at__lt=end, checked_out_at__isnull=False
                ),
                "volunteer__grid__code",
            )
            .annotate(credited=credited_time())
            .filter(credited__gt=timedelta(0))
        )
        self.came = self._in(
            Attendance.objects.visible_to(user).filter(
                activity__starts_at__gte=start, activity__starts_at__lt=end
            ),
            "volunteer__grid__code",
        )
        self.no_shows = self._in(
            Signup.objects.visible_to(user).filter(
                state=Signup.State.NO_SHOW, activity__starts_at__gte=start, activity__starts_at__lt=end
            ),
            "volunteer__grid__code",
        )
        self.points = self._in(
            PointEntry.objects.visible_to(user).filter(
                kind__in=GAINS, created_at__gte=start, created_at__lt=end
            ),
            "volunteer__grid__code",
        )
        self.activities = self._in(
            Activity.objects.visible_to(user)
            .exclude(state=Activity.State.CANCELLED)
            .filter(starts_at__gte=start, starts_at__lt=end),
            "grid__code",
        )
        self.volunteers = self._in(
            Volunteer.objects.visible_to(user).filter(state=Volunteer.State.APPROVED), "grid__code"
        )

    def _in(self, rows, field: str):
        return rows.filter(**{f"{field}__startswith": self.subtree}) if self.subtree else rows

    def grouped(self, length: int) -> dict[str, dict]:
        """The figures per code prefix of `length` characters."""
        found: dict[str, dict] = {}

        def put(rows, field: str, name: str, value) -> None:
            keyed = rows.annotate(area=Substr(field, 1, length)).values("area").annotate(v=value).order_by()
            for row in keyed:
                found.setdefault(row["area"], dict.fromkeys(FIGURES, 0))[name] = row["v"] or 0

        put(self.volunteers, "grid__code", "volunteers", Count("pk"))
        put(self.came, "volunteer__grid__code", "active", Count("volunteer", distinct=True))
        put(self.came, "volunteer__grid__code", "attended", Count("pk"))
        put(self.attendance, "volunteer__grid__code", "hours", Sum("credited"))
        put(self.points, "volunteer__grid__code", "points", Sum("amount"))
        put(self.activities, "grid__code", "activities", Count("pk"))
        put(self.no_shows, "volunteer__grid__code", "no_shows", Count("pk"))
        return found

    def totals(self) -> dict:
        return {
            "volunteers": self.volunteers.count(),
            "active": self.came.values("volunteer").distinct().count(),
            "attended": self.came.count(),
            "hours": self.attendance.aggregate(v=Sum("credited"))["v"],
            "points": self.points.aggregate(v=Sum("amount"))["v"] or 0,
            "activities": self.activities.count(),
            "no_shows": self.no_shows.count(),
        }

    def top(self, by: str) -> list[dict]:
        if by == "hours":
            rows = self.attendance.values("volunteer").annotate(v=Sum("credited"))
        else:
            rows = self.points.values("volunteer").annotate(v=Sum("amount")).filter(v__gt=0)
        rows = list(rows.order_by("-v", "volunteer")[:TOP])
        people = Volunteer.objects.select_related("user", "grid").in_bulk([r["volunteer"] for r in rows])
        return [
            {
                "rank": index,
                "volunteer_id": r["volunteer"],
                "name": str(people[r["volunteer"]].user),
                "grid": people[r["volunteer"]].grid.name,
                by: float(_hours(r["v"])) if by == "hours" else r["v"],
            }
            for index, r in enumerate(rows, 1)
        ]


def _shown(figures: dict) -> dict:
    """Rates from the counts: participation = volunteers who took part ÷ approved volunteers;
    turnout = attendances ÷ (attendances + no-shows)."""
    came, missed = figures["attended"], figures["no_shows"]
    return {
        **figures,
        "hours": float(_hours(figures["hours"])),
        "participation": kpis.rate(figures["active"], figures["volunteers"]),
        "turnout": kpis.rate(came, came + missed),
    }


def build(user, period: Period, grid_code: str = "") -> dict | None:
    """The volunteer figures of the period: totals, per area, and the top volunteers by hours and
    by points. None for users who do not read volunteer data."""
    grid = kpis.chosen_grid(user, grid_code)  # a grid outside the user's area is 404 for anyone
    if not may_read(user):
        return None
    areas, subtree = kpis.areas_of(user, grid)
    if grid is not None:
        subtree = grid.code
    rows = _Rows(user, period, subtree)
    by_length: dict[int, dict] = {}
    for length in {len(a.code) for a in areas}:
        by_length[length] = rows.grouped(length)
    empty = dict.fromkeys(FIGURES, 0)
    return {
        "totals": _shown(rows.totals()),
        "areas": [
            {"code": a.code, "name": a.name, **_shown(by_length[len(a.code)].get(a.code, empty))}
            for a in areas
        ],
        "top_hours": rows.top("hours"),
        "top_points": rows.top("points"),
    }
