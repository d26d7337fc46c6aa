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
from django.db.models import Count, Q
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.cases.models import Case, Category
from gridgov.core import bulk
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
    return sorted(int(i) for i in ids)[:CASES_SHOWN]


# --- hotspots -------------------------------------------------------------------------------------------


def hotspots(now: datetime, window_days: int | None = None) -> list[Found]:
    from sklearn.cluster import DBSCAN

    since = now - timedelta(days=window_days or conf.window_days())
    rows = list(
        Case.objects.filter(
            COUNTED, reported_at__gte=since, reported_at__lt=now, lat__isnull=False, lon__isnull=False
        ).values_list("pk", "category_id", "lat", "lon", "grid_id")
    )
    if not rows:
        return []
    top = classes()
    radius, minimum = conf.hotspot_radius_m(), conf.hotspot_min_cases()
    ids, category_ids, lats, lons, grids = (np.array(column) for column in zip(*rows, strict=True))
    xy = project(lats.astype(float), lons.astype(float), float(lats.mean()), float(lons.mean()))
    class_ids = np.array([top[c].pk for c in category_ids])
    found = []
    for class_id in np.unique(class_ids):
        members = np.flatnonzero(class_ids == class_id)
        if len(members) < minimum:
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
    for rank, item in enumerate(found, 1):
        item.evidence["rank"] = rank
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


def recurrences(now: datetime, window_days: int | None = None) -> list[Found]:
    """New cases of the window that recur at a place where a case of their category was closed at
    most `recurrence_days` before; one warning per place (the cases linked, transitively)."""
    from scipy.spatial import cKDTree

    window = timedelta(days=window_days or conf.window_days())
    gap = timedelta(days=conf.recurrence_days())
    start = now - window
    # One read of the located cases either side needs: reported in the window, or closed in it or
    # the gap before it.
    rows = list(
        Case.objects.filter(COUNTED, lat__isnull=False, lon__isnull=False)
        .filter(
            Q(reported_at__gte=start, reported_at__lt=now)
            | Q(state=Case.State.CLOSED, closed_at__gte=start - gap, closed_at__lt=now)
        )
        .values_list("pk", "category_id", "lat", "lon", "reported_at", "grid_id", "closed_at")
    )
    if not rows:
        return []
    pks = np.array([r[0] for r in rows])
    categories = np.array([r[1] for r in rows])
    lats, lons = np.array([r[2] for r in rows], dtype=float), np.array([r[3] for r in rows], dtype=float)
    reported = np.array([r[4].timestamp() for r in rows])
    closed = np.array([r[6].timestamp() if r[6] else np.nan for r in rows])
    is_new = (reported >= start.timestamp()) & (reported < now.timestamp())
    was_closed = ~np.isnan(closed)
    xy = project(lats, lons, float(lats.mean()), float(lons.mean()))
    radius, gap_s = conf.recurrence_radius_m(), gap.total_seconds()
    links = _Links()
    order = np.argsort(categories, kind="stable")
    _values, starts = np.unique(categories[order], return_index=True)
    for members in np.split(order, starts[1:]):
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
    """Weeks far above their own baseline per grid and class, and classes rising across the district."""
    this_week = week_start(timezone.localtime(now).date())
    first = this_week - timedelta(weeks=BASELINE_WEEKS + 1)
    length = code_length(TREND_LEVEL)
    per_day = (
        Case.objects.filter(COUNTED, reported_at__date__gte=first, reported_at__date__lt=this_week)
        .annotate(day=TruncDate("reported_at"), area=Substr("grid__code", 1, length))
        .values("day", "area", "category_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    top = classes()
    weeks: dict[tuple[str, int], np.ndarray] = defaultdict(lambda: np.zeros(BASELINE_WEEKS + 1))
    for row in per_day:
        index = (row["day"] - first).days // 7
        weeks[(row["area"], top[row["category_id"]].pk)][index] += row["n"]
    found = _unusual_weeks(weeks, this_week - timedelta(weeks=1), top)
    found += _rising(weeks, this_week - timedelta(weeks=1), top)
    return found


def _unusual_weeks(weeks: dict, last_week: date, top: dict) -> list[Found]:
    areas = {g.code: g for g in Grid.objects.filter(code__in={a for a, _c in weeks}, level=TREND_LEVEL)}
    klass = {c.pk: c for c in top.values()}
    found = []
    for (area, class_id), series in weeks.items():
        baseline, last = series[:-1], series[-1]
        z = (last - baseline.mean()) / max(float(baseline.std()), 1.0)
        if area not in areas or last < conf.trend_min_cases() or z < conf.trend_z():
            continue
        title = _("%(class)s in %(grid)s: %(count)d cases in the week of %(week)s, %(usual).1f usually") % {
            "class": klass[class_id].name,
            "grid": areas[area].name,
            "count": last,
            "week": last_week,
            "usual": baseline.mean(),
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
                    "z": round(float(z), 2),
                    "weeks": [int(n) for n in series],
                },
                class_id,
            )
        )
    return found


def _rising(weeks: dict, last_week: date, top: dict) -> list[Found]:
    district = Grid.objects.filter(level=1).order_by("code").first()
    if district is None:
        return []
    totals: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(BASELINE_WEEKS + 1))
    for (_area, class_id), series in weeks.items():
        totals[class_id] += series
    klass = {c.pk: c for c in top.values()}
    found = []
    for class_id, series in totals.items():
        recent, before = series[-RISING_WEEKS:].sum(), series[-2 * RISING_WEEKS : -RISING_WEEKS].sum()
        if recent < 1.5 * before or recent - before < 20:
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
                {"recent": int(recent), "before": int(before), "weeks": [int(n) for n in series]},
                class_id,
            )
        )
    return found


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
    Kind.HOTSPOT: lambda now: hotspots(now),
    Kind.RECURRENCE: lambda now: recurrences(now),
    Kind.REPEAT_CALLER: lambda now: repeat_callers(now),
    Kind.TREND: lambda now: trends(now),  # also finds RISING
    Kind.CARE_UNVISITED: lambda now: care_unvisited(timezone.localtime(now).date()),
    Kind.RENTAL_UNINSPECTED: lambda now: rentals_uninspected(timezone.localtime(now).date()),
    Kind.CARE_HAZARD: lambda now: _people().care_hazards(timezone.localtime(now).date()),
    Kind.REPEATED_DISPUTES: lambda now: _people().repeated_disputes(timezone.localtime(now).date()),
}
ANALYSED = {**{k: (k,) for k in ANALYSES}, Kind.TREND: (Kind.TREND, Kind.RISING)}
DRIFTING = {Kind.HOTSPOT: 2.0, Kind.RECURRENCE: 2.0}  # × the radius within which a key carries over


RUN_AGAIN_AFTER = timedelta(minutes=5)


def run_unless_recent(requested_by=None) -> tuple[AnalysisRun, bool]:
    """A run on someone's request (the page's button, `POST /insights/runs`): the last run instead
    when one finished under `RUN_AGAIN_AFTER` ago. Returns the run and whether it ran now."""
    last = AnalysisRun.objects.filter(finished_at__gte=timezone.now() - RUN_AGAIN_AFTER).first()
    if last is not None:
        return last, False
    return run(requested_by=requested_by), True


def run(requested_by=None, now: datetime | None = None) -> AnalysisRun:
    """Every analysis over the whole district, saved warning by warning kind in one transaction each."""
    now = now or timezone.now()
    record = AnalysisRun.objects.create(started_at=timezone.now(), requested_by=requested_by)
    counts = {}
    for kind, analyse in ANALYSES.items():
        found = analyse(now)
        with transaction.atomic():
            counts.update(save(found, ANALYSED[kind], now))
    record.finished_at, record.counts = timezone.now(), counts
    record.save(update_fields=["finished_at", "counts"])
    return record


def save(found: list[Found], kinds, now: datetime) -> dict[str, int]:
    """Raise what is new, update what was raised before, mark what is no longer found."""
    seen: list[int] = []
    for kind in kinds:
        items = [f for f in found if f.kind == kind]
        if kind in DRIFTING:
            _carry_keys(kind, items, now)
        seen += _upsert(kind, items, now)
    (
        EarlyWarning.objects.filter(kind__in=kinds, is_current=True)
        .exclude(pk__in=seen)
        .update(is_current=False, updated_at=now)
    )
    return {kind: sum(1 for f in found if f.kind == kind) for kind in kinds}


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


FIELDS = ["source", "grid_id", "category_id", "title", "severity", "evidence", "lat", "lon", "is_sensitive"]


def _upsert(kind: str, items: list[Found], now: datetime) -> list[int]:
    existing = {}
    for chunk in bulk.chunks([f.key for f in items], 900):
        existing.update({w.key: w for w in EarlyWarning.objects.filter(kind=kind, key__in=chunk)})
    new, changed, back = [], [], []
    for item in {f.key: f for f in items}.values():
        warning = existing.get(item.key)
        if warning is None:
            warning = EarlyWarning(
                kind=kind, key=item.key, first_seen_at=now, last_seen_at=now, times_seen=1, is_current=True
            )
            new.append(warning)
        else:
            warning.last_seen_at, warning.times_seen, warning.is_current = now, warning.times_seen + 1, True
            if warning.state == EarlyWarning.State.RESOLVED:
                warning.state = EarlyWarning.State.NEW  # resolved, and found again: it is back
                back.append(warning)
            changed.append(warning)
        for name in FIELDS:
            setattr(warning, name, getattr(item, name))
    EarlyWarning.objects.bulk_create(new, batch_size=500)
    EarlyWarning.objects.bulk_update(
        changed, [*FIELDS, "last_seen_at", "times_seen", "is_current", "state"], batch_size=500
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
    return created + [w.pk for w in changed]
