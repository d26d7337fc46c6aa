"""Analytics endpoints: ranking tables of areas, grid workers, departments and dispatchers.

Thin handlers: the period comes from the query string (`periods.parse`, 400 per field), the
figures from `kpis.ranking`, which reads only through `visible_to` (a grid outside the user's
scope is 404). The cases behind a figure are listed by GET /api/v1/cases?kpi=...
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router

from gridgov.analytics import dashboard, kpis, periods, views
from gridgov.core.schemas import Schema
from gridgov.core.text import to_int

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
    level = to_int(raw)
    if level is None:
        raise ValidationError({"level": _("Enter a number.")})
    return level


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


@router.get("/analytics/board", response=RankingOut, summary="Areas ranked by their message board")
def board(request):
    """Posts, reply rate, on-time reply rate and satisfaction with the replies per area, weighed
    into a score (on time 40, replied 30, satisfied 30); period and grid as for the areas."""
    return ranking_answer(request, "board")


@router.get("/analytics/mediation", response=RankingOut, summary="Areas ranked by their dispute mediation")
def mediation(request):
    """Visits, disputes accepted, resolved, 化解率 (resolved ÷ accepted), on-time share, referrals and
    repeat disputes per area, weighed into a score (resolved 50, on time 30, no repeat 20); period and
    grid as for the areas."""
    return ranking_answer(request, "mediation")


class DrillOut(Schema):
    code: str
    name: str
    drill: str


class CountOut(DrillOut):
    reported: int


class TrendPointOut(Schema):
    label: str
    drill: str
    reported: int
    registered: int
    closed: int
    closed_on_time: int


class TrendOut(Schema):
    unit: str
    points: list[TrendPointOut]


class LightOut(DrillOut):
    open: int


class AreaOut(CountOut):
    households: int
    per_1000_households: float | None
    closure: float | None
    on_time: float | None
    score: float | None
    boundary: dict | None


class VisitsOut(Schema):
    households: int
    covered: int
    share: float | None
    link: str


class GroupOut(Schema):
    code: str
    name: str
    people: int


class GridOut(Schema):
    code: str
    name: str


class DashboardOut(Schema):
    period: PeriodOut
    grid: GridOut | None
    source: str
    drill: str
    totals: dict[str, int]
    rates: dict[str, float | None]
    open_now: dict[str, int]
    trend: TrendOut
    categories: list[CountOut]
    top_problems: list[CountOut]
    channels: list[CountOut]
    lights: list[LightOut]
    areas: list[AreaOut]
    visits: VisitsOut | None
    special_groups: list[GroupOut] | None


@router.get("/analytics/dashboard", response=DashboardOut, summary="Every chart of the leader's dashboard")
def dashboard_figures(request):
    """Totals, trend, categories, channels, lights, areas (with boundaries for the choropleth),
    visit coverage and special groups for a period (as the rankings) and grid=a grid code in
    your area; each entry's `drill` is the case-list query of the cases behind it. For leaders
    and command centres (403 for other roles), as the dashboard page."""
    views.check_dashboard_access(request.auth)
    period = periods.parse(request.GET)
    grid = (request.GET.get("grid") or "").strip()
    return {"period": period.as_dict(), **dashboard.build(request.auth, period, grid)}


@router.get("/analytics/report/{fmt}", summary="The report of a period as an Excel workbook or a PDF",
            response={200: None, 503: dict})
def report_file(request, fmt: str):
    """fmt is xlsx or pdf; the period and grid as for the rankings (a month is the usual one).
    The PDF embeds a Chinese font; 503 when none is installed on the server."""
    return views.report_response(request.auth, request.GET, fmt)
