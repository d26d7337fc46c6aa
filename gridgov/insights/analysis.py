"""研判: what the analysis finds across the whole district, and how a run keeps one warning per thing.

- Hotspots: cases of one class (the category's top level: related categories together) reported in
  the rolling window, clustered by DBSCAN on their points (ε = `hotspot_radius_m`, at least
  `hotspot_min_cases`), ranked by size.
- Recurring problems: a case of the same category within `recurrence_radius_m` of one closed at most
  `recurrence_days` before it was reported (the fix did not hold), the cases of one place together.
- Repeat callers: one phone (its keyed hash: no number is read) or one resident's account with
  `caller_min_cases` cases or more in the window.
- Trends: per grid (level 3) and class, the last full week `trend_z` standard deviations above the
  twelve weeks before it; classes whose last four weeks across the district are half again the four
  before (and 20 cases more).
- Registry: households of people in care (a tag with its own visit rule or a care level) left
  unvisited past their interval and a margin; rentals past their inspection date and a margin;
  people in care near an open hazard case and households in repeated disputes (`people.py`).

A warning is keyed by kind and `key`; a run updates the warnings it finds again (a resolved one
found again is reopened: the problem is back), creates the others, and marks those of the kinds it
analysed that it no longer finds as not current. Hotspots and recurring places drift as the window
moves, so a new cluster takes the key of the nearest earlier warning of its class within twice the
radius.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.analytics import rollups
from gridgov.analytics.models import DailyRollup
from gridgov.cases.models import Case, Category
from gridgov.core import bulk
from gridgov.core.dbfunc import Epoch
from gridgov.grids.codes import code_length
from gridgov.grids.locator import get_index
from gridgov.grids.models import Grid
from gridgov.insights import conf
from gridgov.insights.models import AnalysisRun, EarlyWarning, WarningLog

Kind, Source, Severity = EarlyWarning.Kind, EarlyWarning.Source, EarlyWarning.Severity
COUNTED = ~Q(state__in=(Case.State.REJECTED, Case.State.MERGED))
M_PER_DEG_LAT = 110_540.0
TREND_LEVEL = 3
BASELINE_WEEKS = 12
RISING_WEEKS = 4
SEASON_WEEKS = 52  # a year earlier, in whole weeks (the same weekdays)
SEASON_SPAN = 2  # the target week a year earlier and this many weeks either side
CASES_SHOWN = 200  # evidence keeps at most this many case ids (the count is kept whole)


@dataclass
class Found:
    kind: str
    key: str
    source: str
    grid_id: int
    title: str
    severity: int
    evidence: dict
    category_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    is_sensitive: bool = False


# --- shared pieces -------------------------------------------------------------------------------------


def classes() -> dict[int, Category]:
    """Each category's top-level class (related categories share it)."""
    every = {c.pk: c for c in Category.objects.only("pk", "parent_id", "code", "name")}

    def top(category: Category) -> Category:
        while category.parent_id:
            category = every[category.parent_id]
        return category

    return {pk: top(c) for pk, c in every.items()}


def project(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Metres east and north of (lat0, lon0): flat enough across a district."""
    x = (lon - lon0) * M_PER_DEG_LAT * math.cos(math.radians(lat0))
    y = (lat - lat0) * M_PER_DEG_LAT
    return np.column_stack([x, y])


def _grid_at(lat: float, lon: float, fallback: int) -> int:
    ref = get_index().locate(lon, lat)
    return ref.id if ref is not None else fallback


def _ids(ids) -> list[int]:
    """The newest `CASES_SHOWN` case ids, in order: the last is the newest case behind a warning."""
    return sorted(int(i) for i in ids)[-CASES_SHOWN:]


def members_of(top: dict[int, Category], only: set[int]) -> list[int]:
    """Every category of the classes in `only` (the classes themselves included)."""
    return [pk for pk, klass in top.items() if klass.pk in only]


def class_index(top: dict[int, Category]) -> np.ndarray:
    """category id → its class's id, as an array to index with a column of category ids."""
    class_of = np.zeros(max(top) + 1, dtype=np.int64)
    class_of[list(top)] = [klass.pk for klass in top.values()]
    return class_of


# --- hotspots -------------------------------------------------------------------------------------------


def hotspots(now: datetime, window_days: int | None = None, only: set[int] | None = None) -> list[Found]:
    """The hotspots of every class, or of the classes in `only` (an incremental run)."""
    from sklearn.cluster import DBSCAN

    since = now - timedelta(days=window_days or conf.window_days())
    top = classes()
    # The whole window is read even for a few classes: filtering by category in SQL makes SQLite
    # walk the category index over the whole year (25 s at 1,000,000 cases); the window is cheap.
    rows = list(
        Case.objects.filter(
            COUNTED, reported_at__gte=since, reported_at__lt=now, lat__isnull=False, lon__isnull=False
        ).values_list("pk", "category_id", "lat", "lon", "grid_id")
    )
    if not rows:
        return []
    radius, minimum = conf.hotspot_radius_m(), conf.hotspot_min_cases()
    table = np.array(rows, dtype=float)  # one array for the million rows, not five Python lists
    ids, category_ids, grids = (table[:, i].astype(np.int64) for i in (0, 1, 4))
    lats, lons = table[:, 2], table[:, 3]
    xy = project(lats, lons, float(lats.mean()), float(lons.mean()))
    class_ids = class_index(top)[category_ids]
    found = []
    for class_id in np.unique(class_ids):
        members = np.flatnonzero(class_ids == class_id)
        if len(members) < minimum or (only is not None and int(class_id) not in only):
            continue
        labels = DBSCAN(eps=radius, min_samples=minimum).fit(xy[members]).labels_
        for cluster in _groups(members, labels):
            found.append(
                _hotspot(
                    top[int(category_ids[cluster[0]])],
                    ids[cluster],
                    lats[cluster],
                    lons[cluster],
                    xy[cluster],
                    grids[cluster],
                    minimum,
                )
            )
    found.sort(key=lambda f: -f.evidence["count"])
    return found


def _groups(members: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """The members of each label but -1 (noise), by one sort instead of one mask per label."""
    order = np.argsort(labels, kind="stable")
    values, starts = np.unique(labels[order], return_index=True)
    return [
        members[part] for value, part in zip(values, np.split(order, starts[1:]), strict=True) if value != -1
    ]


def _hotspot(klass: Category, ids, lats, lons, xy, grids, minimum: int) -> Found:
    lat, lon = float(lats.mean()), float(lons.mean())
    centre = xy.mean(axis=0)
    spread = float(np.sqrt(((xy - centre) ** 2).sum(axis=1)).max())
    count = len(ids)
    grid_id = _grid_at(lat, lon, int(Counter(grids.tolist()).most_common(1)[0][0]))
    severity = (
        Severity.HIGH if count >= 3 * minimum else Severity.MEDIUM if count >= 2 * minimum else Severity.LOW
    )
    title = _("%(count)d cases of %(class)s within %(radius)d m") % {
        "count": count,
        "class": klass.name,
        "radius": max(round(spread), 1),
    }
    return Found(
        Kind.HOTSPOT,
        f"{klass.code}:{int(ids.min())}",
        Source.CASES,
        grid_id,
        title,
        severity,
        {"cases": _ids(ids), "count": count, "radius_m": round(spread)},
        klass.pk,
        lat,
        lon,
    )


# --- recurring problems -----------------------------------------------------------------------------


def recurrences(now: datetime, window_days: int | None = None, only: set[int] | None = None) -> list[Found]:
    """New cases of the window that recur at a place where a case of their category was closed at
    most `recurrence_days` before; one warning per place (the cases linked, transitively). Only
    the categories of the classes in `only` when given (an incremental run)."""
    from scipy.spatial import cKDTree

    window = timedelta(days=window_days or conf.window_days())
    gap = timedelta(days=conf.recurrence_days())
    start = now - window
    # One read of the located cases either side needs: reported in the window, or closed in it or
    # the gap before it.
    located = Case.objects.filter(COUNTED, lat__isnull=False, lon__isnull=False)
    class_of = class_index(classes())
    rows = list(  # the whole window even for a few classes (see hotspots)
        located.filter(
            Q(reported_at__gte=start, reported_at__lt=now)
            | Q(state=Case.State.CLOSED, closed_at__gte=start - gap, closed_at__lt=now)
        ).values_list("pk", "category_id", "lat", "lon", Epoch("reported_at"), "grid_id", Epoch("closed_at"))
    )
    if not rows:
        return []
    table = np.array(rows, dtype=float)  # one array; a NULL closing time is NaN
    pks, categories = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64)
    lats, lons, reported, closed = table[:, 2], table[:, 3], table[:, 4], table[:, 6]
    is_new = (reported >= start.timestamp()) & (reported < now.timestamp())
    was_closed = ~np.isnan(closed)
    xy = project(lats, lons, float(lats.mean()), float(lons.mean()))
    radius, gap_s = conf.recurrence_radius_m(), gap.total_seconds()
    links = _Links()
    order = np.argsort(categories, kind="stable")
    _values, starts = np.unique(categories[order], return_index=True)
    for members in np.split(order, starts[1:]):
        if only is not None and int(class_of[categories[members[0]]]) not in only:
            continue
        after, before = members[is_new[members]], members[was_closed[members]]
        if not len(after) or not len(before):
            continue
        # Every (closed, new) pair within the radius at once, then the pairs in time kept.
        pairs = cKDTree(xy[before]).sparse_distance_matrix(cKDTree(xy[after]), radius, output_type="ndarray")
        b, a = before[pairs["i"]], after[pairs["j"]]
        kept = (pks[b] != pks[a]) & (closed[b] <= reported[a]) & (reported[a] <= closed[b] + gap_s)
        for bi, ai in zip(b[kept].tolist(), a[kept].tolist(), strict=True):
            links.join(rows[bi], rows[ai])
    places = links.places()
    # Every row of a place has its category (links join cases of one category): one query for the names.
    names = dict(Category.objects.filter(pk__in={p[0][1] for p in places}).values_list("pk", "name"))
    return [_recurrence(place, links, names[place[0][1]]) for place in places]


class _Links:
    """Union-find over cases: a closed case and the case that recurred at its place."""

    def __init__(self):
        self.parent: dict[int, int] = {}
        self.rows: dict[int, tuple] = {}
        self.recurred: set[int] = set()

    def find(self, pk: int) -> int:
        while self.parent.setdefault(pk, pk) != pk:
            self.parent[pk] = self.parent[self.parent[pk]]
            pk = self.parent[pk]
        return pk

    def join(self, before: tuple, after: tuple) -> None:
        self.rows[before[0]], self.rows[after[0]] = before, after
        self.recurred.add(after[0])
        self.parent[self.find(before[0])] = self.find(after[0])

    def places(self) -> list[list[tuple]]:
        groups = defaultdict(list)
        for pk, row in self.rows.items():
            groups[self.find(pk)].append(row)
        return list(groups.values())


def _recurrence(place: list[tuple], links: _Links, category_name: str) -> Found:
    place.sort(key=lambda r: r[0])
    recurred = [r for r in place if r[0] in links.recurred]
    times = len(recurred)
    lat = float(np.mean([r[2] for r in place]))
    lon = float(np.mean([r[3] for r in place]))
    severity = Severity.HIGH if times >= 3 else Severity.MEDIUM if times == 2 else Severity.LOW
    title = _("%(category)s came back %(times)d times after being closed") % {
        "category": category_name,
        "times": times,
    }
    return Found(
        Kind.RECURRENCE,
        f"{place[0][1]}:{place[0][0]}",
        Source.CASES,
        recurred[-1][5],
        title,
        severity,
        {"cases": _ids(r[0] for r in place), "count": len(place), "recurred": times},
        place[0][1],
        lat,
        lon,
    )


# --- repeat callers ---------------------------------------------------------------------------------


def repeat_callers(now: datetime, window_days: int | None = None) -> list[Found]:
    since = now - timedelta(days=window_days or conf.window_days())
    rows = Case.objects.filter(COUNTED, reported_at__gte=since, reported_at__lt=now)
    minimum = conf.caller_min_cases()
    found = []
    by_phone = (
        rows.exclude(caller_phone_hash="")
        .values("caller_phone_hash")
        .annotate(n=Count("pk"))
        .filter(n__gte=minimum)
        .order_by()
    )
    for row in by_phone:
        cases = rows.filter(caller_phone_hash=row["caller_phone_hash"])
        found.append(_caller(f"phone:{row['caller_phone_hash'][:32]}", cases, row["n"], minimum))
    by_resident = (
        rows.filter(channel=Case.Channel.RESIDENT, reporter__isnull=False)
        .values("reporter_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=minimum)
        .order_by()
    )
    for row in by_resident:
        cases = rows.filter(channel=Case.Channel.RESIDENT, reporter_id=row["reporter_id"])
        found.append(_caller(f"resident:{row['reporter_id']}", cases, row["n"], minimum))
    return found


def _caller(key: str, cases, count: int, minimum: int) -> Found:
    listed = list(cases.values_list("pk", "grid_id", "category_id"))
    grid_id = Counter(g for _pk, g, _c in listed).most_common(1)[0][0]
    categories = Counter(c for _pk, _g, c in listed)
    top_category = categories.most_common(1)[0][0]
    severity = Severity.HIGH if count >= 2 * minimum else Severity.MEDIUM
    title = _("One caller reported %(count)d cases in %(days)d days") % {
        "count": count,
        "days": conf.window_days(),
    }
    return Found(
        Kind.REPEAT_CALLER,
        key,
        Source.CASES,
        grid_id,
        title,
        severity,
        {"cases": _ids(pk for pk, _g, _c in listed), "count": count, "categories": len(categories)},
        top_category,
    )


# --- trends -----------------------------------------------------------------------------------------


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def trends(now: datetime) -> list[Found]:
    """Weeks far above their own baseline per grid and class, and classes rising across the district,
    read from the daily rollups (the cases reported each day, by grid and category)."""
    this_week = week_start(timezone.localtime(now).date())
    first = this_week - timedelta(weeks=BASELINE_WEEKS + 1)
    top = classes()
    weeks = _weekly(first, this_week, top)
    # The same weeks a year earlier, and SEASON_SPAN after: the seasonal baseline, when the district's
    # history reaches back that far.
    year_first = first - timedelta(weeks=SEASON_WEEKS)
    known_since = rollups.first_day()
    year_before = None
    if known_since is not None and known_since < year_first + timedelta(weeks=1):  # in its first week
        year_before = _weekly(year_first, this_week - timedelta(weeks=SEASON_WEEKS - SEASON_SPAN), top)
    last_week = this_week - timedelta(weeks=1)
    return _unusual_weeks(weeks, year_before, last_week, top) + _rising(weeks, year_before, last_week, top)


def _weekly(first: date, end: date, top: dict) -> dict[tuple[str, int], np.ndarray]:
    """Cases reported per (level-3 area, class) and week from `first` (a Monday) up to `end`."""
    length = code_length(TREND_LEVEL)
    per_day = (
        DailyRollup.objects.filter(day__gte=first, day__lt=end, reported__gt=0)
        .annotate(area=Substr("code", 1, length))
        .values("day", "area", "category_id")
        .annotate(n=Sum("reported"))
        .order_by()
    )
    size = (end - first).days // 7
    weeks: dict[tuple[str, int], np.ndarray] = defaultdict(lambda: np.zeros(size))
    for row in per_day:
        weeks[(row["area"], top[row["category_id"]].pk)][(row["day"] - first).days // 7] += row["n"]
    return weeks


def seasonal_factor(year_before: np.ndarray | None) -> float | None:
    """How much busier the target week and those `SEASON_SPAN` either side were a year earlier than
    the baseline weeks before them (None: no history). Counts smoothed by one, so that a quiet year
    says "as usual", not "infinitely more"."""
    if year_before is None:
        return None
    around = year_before[BASELINE_WEEKS - SEASON_SPAN : BASELINE_WEEKS + SEASON_SPAN + 1].mean()
    return float((around + 1) / (year_before[: BASELINE_WEEKS - SEASON_SPAN].mean() + 1))


def _unusual_weeks(weeks: dict, year_before: dict | None, last_week: date, top: dict) -> list[Found]:
    areas = {g.code: g for g in Grid.objects.filter(code__in={a for a, _c in weeks}, level=TREND_LEVEL)}
    klass = {c.pk: c for c in top.values()}
    found = []
    for (area, class_id), series in weeks.items():
        baseline, last = series[:-1], series[-1]
        if area not in areas or last < conf.trend_min_cases():
            continue
        factor = seasonal_factor(_season(year_before, (area, class_id)))
        expected, spread = baseline.mean() * (factor or 1.0), baseline.std() * (factor or 1.0)
        z = (last - expected) / max(float(spread), 1.0)
        if z < conf.trend_z():
            continue
        title = _("%(class)s in %(grid)s: %(count)d cases in the week of %(week)s, %(usual).1f expected") % {
            "class": klass[class_id].name,
            "grid": areas[area].name,
            "count": last,
            "week": last_week,
            "usual": expected,
        }
        found.append(
            Found(
                Kind.TREND,
                f"{area}:{klass[class_id].code}:{last_week}",
                Source.CASES,
                areas[area].pk,
                title,
                Severity.HIGH if z >= 2 * conf.trend_z() else Severity.MEDIUM,
                {
                    "week": str(last_week),
                    "count": int(last),
                    "baseline": round(float(baseline.mean()), 2),
                    "seasonal": round(factor, 2) if factor is not None else None,
                    "expected": round(float(expected), 2),
                    "z": round(float(z), 2),
                    "weeks": [int(n) for n in series],
                },
                class_id,
            )
        )
    return found


def _season(year_before: dict | None, key) -> np.ndarray | None:
    if year_before is None:
        return None
    return year_before.get(key, np.zeros(BASELINE_WEEKS + 1 + SEASON_SPAN))


def _rising(weeks: dict, year_before: dict | None, last_week: date, top: dict) -> list[Found]:
    district = Grid.objects.filter(level=1).order_by("code").first()
    if district is None:
        return []
    totals = _by_class(weeks)
    a_year_before = _by_class(year_before) if year_before is not None else None
    klass = {c.pk: c for c in top.values()}
    found = []
    for class_id, series in totals.items():
        recent, before = _halves(series)
        seasonal = _rise_a_year_before(a_year_before, class_id)
        expected = before * seasonal
        if recent < 1.5 * expected or recent - expected < 20:
            continue
        title = _(
            "%(class)s rising across the district: %(recent)d cases in four weeks, %(before)d before"
        ) % {"class": klass[class_id].name, "recent": recent, "before": before}
        found.append(
            Found(
                Kind.RISING,
                f"{klass[class_id].code}:{last_week}",
                Source.CASES,
                district.pk,
                title,
                Severity.MEDIUM,
                {
                    "recent": int(recent),
                    "before": int(before),
                    "seasonal": round(seasonal, 2) if a_year_before is not None else None,
                    "weeks": [int(n) for n in series],
                },
                class_id,
            )
        )
    return found


def _by_class(weeks: dict) -> dict[int, np.ndarray]:
    totals: dict[int, np.ndarray] = {}
    for (_area, class_id), series in weeks.items():
        totals[class_id] = totals.get(class_id, 0) + series
    return totals


def _halves(series: np.ndarray) -> tuple[float, float]:
    """Cases in the last `RISING_WEEKS` of the baseline span and in as many weeks before them."""
    span = series[: BASELINE_WEEKS + 1]
    return float(span[-RISING_WEEKS:].sum()), float(span[-2 * RISING_WEEKS : -RISING_WEEKS].sum())


def _rise_a_year_before(a_year_before: dict | None, class_id: int) -> float:
    """How much the same weeks rose a year earlier (at least 1): a rise that came then too is the
    season, not news."""
    if a_year_before is None or class_id not in a_year_before:
        return 1.0
    recent, before = _halves(a_year_before[class_id])
    return max((recent + 1) / (before + 1), 1.0)


# --- the registry -----------------------------------------------------------------------------------


def care_unvisited(today: date) -> list[Found]:
    from gridgov.population.models import Household, PersonTag
    from gridgov.population.visits import intervals

    cared = PersonTag.objects.filter(
        person__is_active=True, tag_type__is_active=True, person__household__is_active=True
    ).filter(~Q(care_level="") | Q(tag_type__visit_rule__isnull=False))
    tags = defaultdict(list)
    for household_id, person_id, name, sensitive in cared.values_list(
        "person__household_id", "person_id", "tag_type__name", "tag_type__is_sensitive"
    ):
        tags[household_id].append((person_id, name, sensitive))
    found = []
    margin = conf.care_margin_days()
    for chunk in bulk.chunks(sorted(tags), 900):
        households = Household.objects.filter(pk__in=chunk)
        days = intervals(households)
        for household in households.only("pk", "grid_id", "head_name", "last_visited_on"):
            interval = days[household.pk]
            last = household.last_visited_on
            late = (today - (last + timedelta(days=interval))).days if last else None
            if late is not None and late <= margin:
                continue
            found.append(_care(household, tags[household.pk], interval, late))
    return found


def _care(household, tagged: list, interval: int, late: int | None) -> Found:
    names = sorted({name for _p, name, _s in tagged})
    values = {"head": household.head_name or _("household"), "tags": "、".join(names), "days": interval}
    if late is None:
        title = _("%(head)s (%(tags)s): never visited, due every %(days)d days") % values
    else:
        title = _("%(head)s (%(tags)s): %(late)d days past the visit due every %(days)d days") % {
            **values,
            "late": late,
        }
    severity = Severity.HIGH if late is None or late > interval else Severity.MEDIUM
    return Found(
        Kind.CARE_UNVISITED,
        f"household:{household.pk}",
        Source.REGISTRY,
        household.grid_id,
        title[:200],
        severity,
        {
            "household": household.pk,
            "people": sorted({p for p, _n, _s in tagged}),
            "last_visited": str(household.last_visited_on or ""),
            "interval": interval,
        },
        is_sensitive=any(s for _p, _n, s in tagged),
    )


def rentals_uninspected(today: date) -> list[Found]:
    from gridgov.migrants.models import Rental

    late = today - timedelta(days=conf.rental_margin_days())
    found = []
    for rental in Rental.objects.filter(is_active=True, next_due_on__lt=late).select_related(
        "house__building", "house__unit"
    ):
        days = (today - rental.next_due_on).days
        title = _("Rental %(house)s: inspection %(days)d days overdue") % {
            "house": rental.house,
            "days": days,
        }
        found.append(
            Found(
                Kind.RENTAL_UNINSPECTED,
                f"rental:{rental.pk}",
                Source.REGISTRY,
                rental.grid_id,
                title[:200],
                Severity.HIGH if days > rental.interval_days else Severity.MEDIUM,
                {"rental": rental.pk, "due": str(rental.next_due_on), "days": days},
            )
        )
    return found


# --- a run ------------------------------------------------------------------------------------------


def _people():
    from gridgov.insights import people  # it builds on this module's pieces

    return people


ANALYSES = {
    Kind.HOTSPOT: lambda now, only: hotspots(now, only=only),
    Kind.RECURRENCE: lambda now, only: recurrences(now, only=only),
    Kind.REPEAT_CALLER: lambda now, only: repeat_callers(now),
    Kind.TREND: lambda now, only: trends(now),  # also finds RISING
    Kind.CARE_UNVISITED: lambda now, only: care_unvisited(timezone.localtime(now).date()),
    Kind.RENTAL_UNINSPECTED: lambda now, only: rentals_uninspected(timezone.localtime(now).date()),
    Kind.CARE_HAZARD: lambda now, only: _people().care_hazards(timezone.localtime(now).date()),
    Kind.REPEATED_DISPUTES: lambda now, only: _people().repeated_disputes(timezone.localtime(now).date()),
}
ANALYSED = {**{k: (k,) for k in ANALYSES}, Kind.TREND: (Kind.TREND, Kind.RISING)}
DRIFTING = {Kind.HOTSPOT: 2.0, Kind.RECURRENCE: 2.0}  # × the radius within which a key carries over
BY_CLASS = (Kind.HOTSPOT, Kind.RECURRENCE)  # what an incremental run re-analyses class by class
DAILY = (Kind.TREND,)  # whole weeks: once a day, in the day's full run


RUN_AGAIN_AFTER = timedelta(minutes=5)


def load_libraries() -> None:
    """Import scikit-learn and SciPy once, when the worker starts (about 1.5 s), not in a run."""
    from scipy.spatial import cKDTree  # noqa: F401
    from sklearn.cluster import DBSCAN  # noqa: F401


def run_unless_recent(requested_by=None) -> tuple[AnalysisRun, bool]:
    """A run on someone's request (the page's button, `POST /insights/runs`): the last run instead
    when one finished under `RUN_AGAIN_AFTER` ago. Returns the run and whether it ran now."""
    last = AnalysisRun.objects.filter(finished_at__gte=timezone.now() - RUN_AGAIN_AFTER).first()
    if last is not None:
        return last, False
    return run(requested_by=requested_by), True


@dataclass
class Plan:
    full: bool
    only: set[int] | None = None  # the classes to re-analyse (None: all of them)


def plan(now: datetime, full: bool = False) -> Plan:
    """What a run analyses. The first run of a day is full (every kind, every class, the trends).
    Later runs re-cluster only the classes whose cases changed since the last run: a case reported,
    moved on in the loop or corrected (`updated_at`), or one that left the windows since (reported
    before the hotspot window, closed before the recurrence window's reach)."""
    done = AnalysisRun.objects.filter(finished_at__isnull=False, as_of__isnull=False)  # newest first
    last, last_full = done.first(), done.filter(is_full=True).first()
    today = timezone.localtime(now).date()
    if (
        full
        or last is None
        or last.as_of > now
        or last_full is None
        or timezone.localtime(last_full.as_of).date() != today
    ):
        return Plan(full=True)
    window, gap = timedelta(days=conf.window_days()), timedelta(days=conf.recurrence_days())
    # Three reads, each by its own index (or one scan), not one OR with DISTINCT: SQLite answered
    # that by walking the category index over every case (20 s at 1,000,000 cases).
    changed = (
        Q(updated_at__gte=last.started_at),
        Q(reported_at__gte=last.as_of - window, reported_at__lt=now - window),
        Q(closed_at__gte=last.as_of - window - gap, closed_at__lt=now - window - gap),
    )
    top = classes()
    categories = set()
    for condition in changed:
        categories.update(Case.objects.filter(condition).order_by().values_list("category_id", flat=True))
    return Plan(full=False, only={top[pk].pk for pk in categories})


def run(requested_by=None, now: datetime | None = None, full: bool = False) -> AnalysisRun:
    """The analyses over the whole district as `plan` says, saved kind by kind in one transaction each."""
    now = now or timezone.now()
    chosen = plan(now, full)
    record = AnalysisRun.objects.create(
        started_at=timezone.now(),
        requested_by=requested_by,
        as_of=now,
        is_full=chosen.full,
        classes=sorted(chosen.only or ()),
    )
    counts = {}
    top = classes()
    for kind, analyse in ANALYSES.items():
        if kind in DAILY and not chosen.full:
            continue
        only = chosen.only if kind in BY_CLASS else None
        if only is not None and not only:
            continue  # nothing changed in any class
        found = analyse(now, only)
        with transaction.atomic():
            counts.update(save(found, ANALYSED[kind], now, None if only is None else members_of(top, only)))
    record.finished_at, record.counts = timezone.now(), counts
    record.save(update_fields=["finished_at", "counts"])
    return record


def save(found: list[Found], kinds, now: datetime, categories: list[int] | None = None) -> dict[str, int]:
    """Raise what is new, update what was raised before, mark what is no longer found: of every
    category, or only of `categories` when the run analysed only those."""
    seen: list[int] = []
    for kind in kinds:
        items = [f for f in found if f.kind == kind]
        if kind in DRIFTING:
            _carry_keys(kind, items, now)
        seen += _upsert(kind, items, now)
    gone = EarlyWarning.objects.filter(kind__in=kinds, is_current=True)
    if categories is not None:
        gone = gone.filter(category_id__in=categories)
    gone.exclude(pk__in=seen).update(is_current=False, updated_at=now)
    if Kind.HOTSPOT in kinds:
        rank_hotspots()
    return {kind: sum(1 for f in found if f.kind == kind) for kind in kinds}


def rank_hotspots() -> None:
    """Rank the current hotspots by size across the district (a partial run found only some of them)."""
    current = list(EarlyWarning.objects.filter(kind=Kind.HOTSPOT, is_current=True).only("pk", "evidence"))
    current.sort(key=lambda w: (-w.evidence.get("count", 0), w.pk))
    moved = []
    for rank, warning in enumerate(current, 1):
        if warning.evidence.get("rank") != rank:
            warning.evidence["rank"] = rank
            moved.append(warning)
    EarlyWarning.objects.bulk_update(moved, ["evidence"], batch_size=500)


def _carry_keys(kind: str, items: list[Found], now: datetime) -> None:
    """A drifting cluster keeps the key of the nearest earlier warning of its class within reach."""
    reach = DRIFTING[kind] * (conf.hotspot_radius_m() if kind == Kind.HOTSPOT else conf.recurrence_radius_m())
    earlier = defaultdict(list)
    recent = now - timedelta(days=2 * conf.window_days())
    for key, category_id, lat, lon in EarlyWarning.objects.filter(
        kind=kind, last_seen_at__gte=recent
    ).values_list("key", "category_id", "lat", "lon"):
        if lat is not None:
            earlier[category_id].append((key, lat, lon))
    taken: set[str] = set()
    for item in sorted(items, key=lambda f: -f.evidence.get("count", 0)):
        candidates = [
            (_metres(item.lat, item.lon, lat, lon), key)
            for key, lat, lon in earlier[item.category_id]
            if key not in taken
        ]
        near = min(candidates, default=None)
        if near is not None and near[0] <= reach:
            item.key = near[1]
        taken.add(item.key)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat1 - lat2) * M_PER_DEG_LAT
    dx = (lon1 - lon2) * M_PER_DEG_LAT * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def is_news(before: dict, now: dict) -> bool:
    """Whether a warning found again shows something its last finding did not: a newer case behind
    it, or another fact (a visit made and missed again, another due date, another dispute). What
    merely ages (days late) is not news: a resolved warning stays resolved until then."""
    if "cases" in now:
        return max(now["cases"], default=0) > max(before.get("cases", []), default=0)
    return any(now.get(k) != before.get(k) for k in ("last_visited", "due", "disputes", "people"))


FIELDS = ["source", "grid_id", "category_id", "title", "severity", "evidence", "lat", "lon", "is_sensitive"]


def _upsert(kind: str, items: list[Found], now: datetime) -> list[int]:
    existing = {}
    for chunk in bulk.chunks([f.key for f in items], 900):
        existing.update({w.key: w for w in EarlyWarning.objects.filter(kind=kind, key__in=chunk)})
    new, changed, same, back = [], [], [], []
    for item in {f.key: f for f in items}.values():
        warning = existing.get(item.key)
        if warning is None:
            warning = EarlyWarning(
                kind=kind, key=item.key, first_seen_at=now, last_seen_at=now, times_seen=1, is_current=True
            )
            _fill(warning, item)
            new.append(warning)
            continue
        if warning.state == EarlyWarning.State.RESOLVED and is_news(warning.evidence, item.evidence):
            warning.state = EarlyWarning.State.NEW  # resolved, and more came since: it is back
            back.append(warning)
        elif not _differs(warning, item):
            same.append(warning.pk)  # found again as it was: only seen again (most, hour after hour)
            continue
        warning.last_seen_at, warning.times_seen, warning.is_current = now, warning.times_seen + 1, True
        _fill(warning, item)
        changed.append(warning)
    EarlyWarning.objects.bulk_create(new, batch_size=500)
    EarlyWarning.objects.bulk_update(
        changed, [*FIELDS, "last_seen_at", "times_seen", "is_current", "state"], batch_size=500
    )
    for chunk in bulk.chunks(same, 900):
        EarlyWarning.objects.filter(pk__in=chunk).update(
            last_seen_at=now, times_seen=F("times_seen") + 1, is_current=True
        )
    WarningLog.objects.bulk_create(
        [
            WarningLog(
                warning=w, action="found_again", actor=None, note=_("Found again after it was resolved.")
            )
            for w in back
        ]
    )
    keys = [w.key for w in new]
    created = []
    for chunk in bulk.chunks(keys, 900):
        created += list(EarlyWarning.objects.filter(kind=kind, key__in=chunk).values_list("pk", flat=True))
    return created + [w.pk for w in changed] + same


def _fill(warning: EarlyWarning, item: Found) -> None:
    for name in FIELDS:
        setattr(warning, name, getattr(item, name))


def _differs(warning: EarlyWarning, item: Found) -> bool:
    """Whether a finding changes what the warning says (its hotspot rank aside, kept apart)."""
    kept = {k: v for k, v in warning.evidence.items() if k != "rank"}
    return kept != item.evidence or any(
        getattr(warning, name) != getattr(item, name) for name in FIELDS if name != "evidence"
    )
