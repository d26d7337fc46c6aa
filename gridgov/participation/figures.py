"""Message-board figures of a period, per area (the areas the case figures compare,
`kpis.areas_of`): posts, reply rate, on-time reply rate and satisfaction with the replies. A post
belongs to the period it was posted in; hidden posts are left out."""

from django.db.models import Count, Q
from django.db.models.functions import Substr

from gridgov.accounts.roles import compute_scope
from gridgov.analytics import kpis
from gridgov.analytics.periods import Period
from gridgov.participation.models import Post

FIGURES = ("posts", "replied", "on_time", "rated", "satisfied")


def _counts():
    return {
        "posts": Count("pk"),
        "replied": Count("pk", filter=Q(replied_at__isnull=False)),
        "on_time": Count("pk", filter=Q(replied_on_time=True)),
        "rated": Count("pk", filter=~Q(rating="")),
        "satisfied": Count("pk", filter=Q(rating__in=(Post.Rating.SATISFIED, Post.Rating.BASICALLY))),
    }


def _rates(figures: dict) -> dict:
    return {
        **figures,
        "reply_rate": kpis.rate(figures["replied"], figures["posts"]),
        "on_time_rate": kpis.rate(figures["on_time"], figures["posts"]),
        "satisfaction": kpis.rate(figures["satisfied"], figures["rated"]),
    }


def build(user, period: Period, grid_code: str = "", level: int | None = None) -> dict | None:
    """Totals and per-area figures; None for users who see no posts (residents, departments)."""
    grid = kpis.chosen_grid(user, grid_code)
    scope = compute_scope(user)
    if not scope.everything and not scope.roots:
        return None
    rows = Post.objects.visible_to(user)
    areas, subtree = kpis.areas_of(user, grid, level)
    if grid is not None:
        subtree = grid.code
    start, end = period.bounds()
    rows = rows.exclude(state=Post.State.HIDDEN).filter(created_at__gte=start, created_at__lt=end)
    if subtree:
        rows = rows.filter(grid__code__startswith=subtree)
    by_area: dict[str, dict] = {}
    for length in {len(a.code) for a in areas}:
        keyed = rows.annotate(area=Substr("grid__code", 1, length)).values("area").annotate(**_counts())
        by_area.update({row.pop("area"): row for row in keyed.order_by()})
    empty = dict.fromkeys(FIGURES, 0)
    return {
        "totals": _rates(rows.aggregate(**_counts())),
        "areas": [{"code": a.code, "name": a.name, **_rates(by_area.get(a.code, empty))} for a in areas],
    }


def area_rows(user, period: Period, grid_code: str = "", level: int | None = None) -> list[kpis.Row]:
    """The areas as rows of the rankings: reply, on-time reply and satisfaction rates weighed
    into a score (`kpis.DEFAULT_WEIGHTS["board"]`); an area without posts has no score."""
    built = build(user, period, grid_code, level)
    rows = []
    for area in built["areas"] if built else []:
        figures = {name: area[name] for name in FIGURES}
        rates = {
            "reply": area["reply_rate"],
            "on_time": area["on_time_rate"],
            "satisfaction": area["satisfaction"],
        }
        components = {name: kpis.pct(value) for name, value in rates.items()}
        score = kpis.composite(components, "board")
        rows.append(
            kpis.Row(
                "board", area["code"], area["name"], figures, rates, components, score, kpis.grade(score)
            )
        )
    return rows
