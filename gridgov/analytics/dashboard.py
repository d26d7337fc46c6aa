"""The leader's dashboard and the big screen: every chart's numbers for a period and a grid subtree.

One function, `build`, answers the page, the big screen and the API alike. Its counts are the
KPI counters of `kpis` (the same definitions, so a chart and a ranking never disagree), from
the daily rollups when they are fresh and cover the user's scope, else from the raw cases:

- totals and rates of the period (reported, registered, closed, on time, satisfaction...);
- trend: reported, registered and closed per day (periods up to 62 days) or per month;
- categories: reported per top-level category, and the ten most reported problems;
- channels: reported per channel;
- areas: the child areas with their figures and their boundary, for the choropleth;
- lights: open cases now by traffic light (live, never from rollups);
- visit coverage and special-population counts from the registry, for roles that see it.

Each chart entry carries `drill`: the case-list query that lists the cases behind it.
"""

from collections import defaultdict
from datetime import date, timedelta
from functools import cache, reduce
from operator import or_
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from gridgov.analytics import kpis
from gridgov.analytics.models import COUNTERS, GridTagRollup, RollupSlice
from gridgov.analytics.periods import Period
from gridgov.analytics.rollups import FIELDS, case_counts, local_day
from gridgov.cases.models import Case, CaseLog, Category
from gridgov.grids.models import Grid

TOP_PROBLEMS = 10
DAILY_UP_TO = 62  # days; a longer period is drawn per month
TREND_COUNTERS = ("reported", "registered", "closed", "closed_on_time")


def _case_list(**params) -> str:
    return _case_list_url() + "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


@cache
def _case_list_url() -> str:
    """Resolved once: a dashboard draws some 600 drill-down links (reverse() is most of their cost)."""
    return reverse("case-list")


def _reported_drill(period: Period, subtree: str, **extra) -> str:
    """The cases reported in the period (the `reported` counter) with extra filters."""
    last = period.end - timedelta(days=1)
    return _case_list(grid=subtree, date_from=period.start.isoformat(), date_to=last.isoformat(), **extra)


# --- counts by day ---------------------------------------------------------------------------


def _rollup_by_day(user, period: Period, codes: list[str]) -> dict[date, dict[str, int]]:
    """Counters by day from the day slices of the areas `codes`; a period drawn per month
    takes its whole months from the month slices (keyed by their first day, which falls in
    the month's bucket)."""
    spans = kpis.spans_q(period, "start", whole_months=period.days > DAILY_UP_TO)
    rows = RollupSlice.objects.visible_to(user).filter(spans, key="grid", code__in=codes)
    return {r["start"]: {n: r[n] or 0 for n in COUNTERS}
            for r in rows.values("start", "span").annotate(**{n: Sum(n) for n in COUNTERS}).order_by()}


def _raw_by_day(user, period: Period, subtree: str) -> dict[date, dict[str, int]]:
    """The rollups' own rule (`case_counts`) over the raw cases: the two sources cannot drift."""
    start, end = period.bounds()
    touched = reduce(or_, [Q(**{f"{n}__gte": start, f"{n}__lt": end}) for n in kpis.TIME_FIELDS])
    rows = kpis.base_rows(user, subtree)
    result: dict[date, dict[str, int]] = defaultdict(kpis.empty_counts)
    for case in rows.filter(touched).values(*FIELDS).iterator(chunk_size=5000):
        for day, counter in case_counts(case):
            if period.start <= day < period.end:
                result[day][counter] += 1
    returns = CaseLog.objects.filter(action="return", at__gte=start, at__lt=end, case__in=rows)
    for at in returns.values_list("at", flat=True):
        result[local_day(at)]["returns"] += 1
    return dict(result)


def _buckets(period: Period) -> list[tuple[date, date]]:
    """[start, end) of each point of the trend: days, or months for a long period."""
    if period.days <= DAILY_UP_TO:
        return [(period.start + timedelta(days=n), period.start + timedelta(days=n + 1))
                for n in range(period.days)]
    buckets, first = [], period.start
    while first < period.end:
        following = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        buckets.append((first, min(following, period.end)))
        first = following
    return buckets


def trend(by_day: dict, period: Period, subtree: str) -> dict:
    daily = period.days <= DAILY_UP_TO
    points = []
    today = timezone.localdate()
    for first, after in _buckets(period):
        if first > today:
            break  # the rest of a current period has not happened yet
        counts = kpis.empty_counts()
        for day, row in by_day.items():
            if first <= day < after:
                for name in COUNTERS:
                    counts[name] += row[name]
        label = first.isoformat() if daily else f"{first:%Y-%m}"
        drill = _case_list(grid=subtree, date_from=first.isoformat(),
                           date_to=(after - timedelta(days=1)).isoformat())
        points.append({"label": label, "drill": drill, **{n: counts[n] for n in TREND_COUNTERS}})
    return {"unit": "day" if daily else "month", "points": points}


# --- the other breakdowns --------------------------------------------------------------------


def categories(by_category: dict, period: Period, subtree: str) -> tuple[list, list]:
    """(reported per top-level category, the most reported problems)."""
    known = {c.pk: c for c in Category.objects.filter(pk__in=[k for k in by_category if k])
             .select_related("parent")}
    top: dict[int, dict] = {}
    problems = []
    for pk, counts in by_category.items():
        category = known.get(pk)
        if category is None or not counts["reported"]:
            continue
        root = category.parent or category
        entry = top.setdefault(root.pk, {"code": root.code, "name": root.name, "reported": 0,
                                         "drill": _reported_drill(period, subtree, category=root.code)})
        entry["reported"] += counts["reported"]
        problems.append({"code": category.code, "name": category.name, "reported": counts["reported"],
                         "drill": _reported_drill(period, subtree, category=category.code)})
    by_count = lambda e: (-e["reported"], e["code"])  # noqa: E731
    return sorted(top.values(), key=by_count), sorted(problems, key=by_count)[:TOP_PROBLEMS]


def channels(by_channel: dict, period: Period, subtree: str) -> list[dict]:
    labels = dict(Case.Channel.choices)
    rows = [{"code": code, "name": str(labels.get(code, code)), "reported": counts["reported"],
             "drill": _reported_drill(period, subtree, channel=code)}
            for code, counts in by_channel.items() if counts["reported"]]
    return sorted(rows, key=lambda e: -e["reported"])


def lights(user, subtree: str) -> list[dict]:
    """Open cases now by light (suspended ones stop their clock and are left out)."""
    live = kpis.base_rows(user, subtree).exclude(state__in=(*Case.FINAL_STATES, Case.State.SUSPENDED))
    counts = dict(live.values_list("light").annotate(n=Count("*")))  # index-only, as kpis.open_now
    return [{"code": code, "name": str(label), "open": counts.get(code, 0),
             "drill": _case_list(grid=subtree, open="true", light=code)}
            for code, label in Case.Light.choices]


def areas(user, period: Period, subtree: str, source: str) -> list[dict]:
    rows, _used = kpis.area_rows(user, period, subtree, source=source)
    shapes = dict(Grid.objects.filter(code__in=[r.key for r in rows]).values_list("code", "boundary"))
    return [{"code": r.key, "name": r.name, "reported": r.figures["reported"],
             "households": r.figures["households"], "per_1000_households": r.rates["per_1000_households"],
             "closure": r.rates["closure"], "on_time": r.rates["on_time"], "score": r.score,
             "boundary": shapes.get(r.key), "drill": _reported_drill(period, r.key)} for r in rows]


# --- from the registry -----------------------------------------------------------------------


def visit_coverage(user, subtree: str, source: str) -> dict | None:
    """Households visited within their interval, for roles that see the registry."""
    figures = kpis.visit_figures(user, [subtree] if subtree else None, source)
    if figures is None:
        return None
    households = sum(r["households"] for r in figures.values())
    covered = sum(r["covered"] for r in figures.values())
    return {"households": households, "covered": covered, "share": kpis.rate(covered, households),
            "link": reverse("registry-visits")}


def special_groups(user, subtree: str, source: str) -> list[dict] | None:
    """People per special group (sensitive groups only for those allowed to see them), from
    the tag rollups when the rollups are used."""
    from gridgov.accounts.roles import compute_registry_scope
    from gridgov.population.models import PersonTag
    from gridgov.population.services import visible_tag_types

    scope = compute_registry_scope(user)
    if not scope.everything and not scope.roots:
        return None
    types = {t.pk: t for t in visible_tag_types(user)}
    if source == "rollup":
        rows = GridTagRollup.objects.visible_to(user).filter(tag_type__in=types)
        if subtree:
            rows = rows.filter(code__startswith=subtree)
        counts = dict(rows.values_list("tag_type").annotate(n=Sum("people")).order_by())
    else:
        tags = PersonTag.objects.visible_to(user).filter(tag_type__in=types, person__is_active=True)
        if subtree:
            tags = tags.filter(grid__code__startswith=subtree)
        counts = dict(tags.values_list("tag_type").annotate(n=Count("person", distinct=True)).order_by())
    return [{"code": t.code, "name": t.name, "people": counts.get(pk, 0)}
            for pk, t in types.items() if counts.get(pk)]


# --- the whole dashboard ---------------------------------------------------------------------


def build(user, period: Period, grid_code: str = "", source: str = "auto") -> dict:
    grid = kpis.chosen_grid(user, grid_code)
    subtree = grid.code if grid else ""
    source = kpis.resolve_source(user, subtree, source)
    codes = kpis.scope_codes(user, subtree) if source == "rollup" else None
    by_category, _ = kpis.counters(user, period, subtree, "category_id", source, codes)
    by_channel, _ = kpis.counters(user, period, subtree, "channel", source, codes)
    totals = kpis.empty_counts()
    for counts in by_category.values():
        for name in COUNTERS:
            totals[name] += counts[name]
    if source == "rollup":
        by_day = _rollup_by_day(user, period, codes)
    else:
        by_day = _raw_by_day(user, period, subtree)
    by_root, problems = categories(by_category, period, subtree)
    by_light = lights(user, subtree)  # the live open counts, read once for both figures
    return {
        "grid": {"code": grid.code, "name": grid.name} if grid else None,
        "source": source,
        "drill": _reported_drill(period, subtree),
        "totals": totals,
        "rates": {
            "closure": kpis.rate(totals["closed"], totals["due"]),
            "on_time": kpis.rate(totals["closed_on_time"], totals["due"]),
            "self_resolved": kpis.rate(totals["self_resolved"], totals["reported"]),
            "satisfaction": kpis.rate(totals["satisfied"], totals["rated"]),
        },
        "open_now": {"open": sum(light["open"] for light in by_light),
                     "overdue": next(light["open"] for light in by_light if light["code"] == Case.Light.RED)},
        "trend": trend(by_day, period, subtree),
        "categories": by_root,
        "top_problems": problems,
        "channels": channels(by_channel, period, subtree),
        "lights": by_light,
        "areas": areas(user, period, subtree, source),
        "visits": visit_coverage(user, subtree, source),
        "special_groups": special_groups(user, subtree, source),
    }
