"""Analytics endpoints: ranking tables of areas, grid workers, departments and dispatchers.

Thin handlers: the period comes from the query string (`periods.parse`, 400 per field), the
figures from `kpis.ranking`, which reads only through `visible_to` (a grid outside the user's
scope is 404). The cases behind a figure are listed by GET /api/v1/cases?kpi=...
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema

from gridgov.analytics import kpis, periods

router = Router(tags=["analytics"])


class PeriodOut(Schema):
    kind: str
    start: date
    end: date
    label: str


class RowOut(Schema):
    kind: str
    key: str
    name: str
    figures: dict
    rates: dict
    components: dict
    score: float | None
    grade: str
    rank: int | None
    movement: int | None


class RankingOut(Schema):
    period: PeriodOut
    previous: PeriodOut
    grid: str
    source: str
    caveat: str
    rows: list[RowOut]


def level_param(request) -> int | None:
    raw = (request.GET.get("level") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError({"level": _("Enter a number.")})
    return int(raw)


def ranking_answer(request, what: str) -> dict:
    period = periods.parse(request.GET)
    grid = (request.GET.get("grid") or "").strip()
    rows, source = kpis.ranking(request.auth, what, period, grid, level_param(request))
    return {"period": period.as_dict(), "previous": period.previous().as_dict(), "grid": grid,
            "source": source, "caveat": str(kpis.CAVEAT), "rows": [r.as_dict() for r in rows]}


@router.get("/analytics/areas", response=RankingOut, summary="Areas ranked by the CJ/T 292 composite")
def areas(request):
    """Each child grid of `grid` (or each grid of `level` below it), ranked, with movement.

    Query: period=day|week|month|quarter|year (with date=YYYY-MM-DD, default today) or
    period=custom with start and end ([start, end)); grid=a grid code in your area.
    """
    return ranking_answer(request, "areas")


@router.get("/analytics/workers", response=RankingOut, summary="Grid workers ranked (CJ/T 292 §5.1)")
def workers(request):
    return ranking_answer(request, "workers")


@router.get("/analytics/departments", response=RankingOut, summary="Departments ranked (CJ/T 292 §5.5)")
def departments(request):
    return ranking_answer(request, "departments")


@router.get("/analytics/dispatchers", response=RankingOut, summary="Dispatchers' figures (CJ/T 292 §5.4)")
def dispatchers(request):
    return ranking_answer(request, "dispatchers")
