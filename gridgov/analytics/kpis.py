"""The assessment engine: the KPIs of CJ/T 292-2008 / GB/T 30428.4 (standards.md §5) for a period
and a grid subtree, per area, grid worker, dispatcher and department.

Everything starts from `Case.objects.visible_to(user)` (a community leader counts only their
communities). Area and department figures are sums of counters (`COUNTER_RULES`); they come
from the daily rollups (`rollups.py`) when those are fresh and cover the user's scope, else
from the raw cases, and both give the same numbers (tests/test_rollups.py proves it).

Definitions (P = the period, [start, end) in Asia/Shanghai):
- reported: reported in P; self_resolved: of those, solved on the spot.
- registered (立案): registered in P; public_registered: of those, from residents or the hotline.
- due (应结案): registered in P and not rejected or merged; closed: of those, closed now;
  closed_on_time (按期结案): closed with the handling done within its limit.
- rated: rated in P; satisfied: rated satisfied or basically satisfied.
- department (应处置): to_handle = dispatched to it in P (the last dispatch); handled,
  handled_on_time, dept_closed, reworked (sent back at least once), extended (given more time)
  are of those; returns = return events by the department in P.
A rate is None (shown "—") when its denominator is 0: a rate of nothing is not 0 %.

Composite scores (0–100) weigh component scores with `weights()`; the defaults are the
§5 weights, overridable with settings.GRIDGOV_KPI_WEIGHTS = {"area": {...}, ...}. The area's
on-time weight (40 %) is uncertain: the public code says 10 % (the weights then sum to 70 %),
40 % is a recollection of CJ/T 292 [L] — confirm against the standard. Count scores use bands
that are local choices [L]. A component without data is left out and the others reweighed.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.models import Assignment, Department, Role
from gridgov.accounts.roles import case_scope
from gridgov.analytics.models import (
    ACTOR_COUNTERS,
    COUNTERS,
    ActorRollup,
    DailyRollup,
    GridVisitRollup,
    RollupSlice,
    RollupState,
)
from gridgov.analytics.periods import Period
from gridgov.cases.models import Case, CaseLog, Category
from gridgov.grids.models import Grid

S, C = Case.State, Case.Channel
PUBLIC_CHANNELS = (C.RESIDENT, C.HOTLINE)
WORKER_CHANNELS = (C.WORKER, C.SELF_RESOLVED)
SATISFIED = (Case.Rating.SATISFIED, Case.Rating.BASICALLY)
# The case timestamps that counters are counted on; every past value of each is the time of a
# CaseLog entry (each is set to the action's `now`), which the rollup refresh relies on.
TIME_FIELDS = ("reported_at", "registered_at", "dispatched_at", "handled_at", "rated_at")

DEFAULT_WEIGHTS = {
    # §5.6: 监督举报率 10, 立案数 20, 结案率 30, 按期结案率 40 (uncertain, see the docstring).
    "area": {"supervision": 10, "caseload": 20, "closure": 30, "on_time": 40},
    # §5.1: 有效上报率 40, 漏报率 20, 按时核实率 20, 按时核查率 20. The workflow has no separate
    # 核实 step for public reports, so the last 20 % goes to visits done against visits due
    # (a local substitution).
    "worker": {"valid": 40, "missed": 20, "verified_on_time": 20, "visits": 20},
    # §5.5: 立案数 10, 结案率 30, 按期处置率 30, 返工率 30.
    "department": {"caseload": 10, "closure": 30, "on_time": 30, "rework": 30},
    # The message board (民意直通车) per area: a local choice [L], on-time replies first.
    "board": {"reply": 30, "on_time": 40, "satisfaction": 30},
    # The mediation centre (矛盾调解) per area: a local choice [L], the resolution rate (化解率) first.
    "mediation": {"resolved": 50, "on_time": 30, "no_repeat": 20},
}
GRADES = ((90, "A"), (75, "B"), (60, "C"), (40, "D"))
# §5.5 bands for a department's case load per period (public code, local) [L].
DEPARTMENT_LOAD_BANDS = ((50, 100), (100, 90), (200, 75), (500, 60), (1000, 40))
# An area's registered cases per 1,000 households per 30 days: fewer problems score higher.
# A local choice [L]: the standard scores 立案数 inversely without published bands.
AREA_LOAD_BANDS = ((5, 100), (10, 90), (20, 75), (40, 60), (80, 40))

CAVEAT = gettext_lazy(
    "Weights follow CJ/T 292 as found in public code. The area's on-time weight (40 %) is "
    "uncertain (the code says 10 %); case-load bands are local choices. Administrators can change "
    "them in settings.")


def weights(subject: str) -> dict[str, float]:
    configured = getattr(settings, "GRIDGOV_KPI_WEIGHTS", {}) or {}
    return {**DEFAULT_WEIGHTS[subject], **configured.get(subject, {})}


def rate(part: int | None, whole: int | None) -> float | None:
    return None if not whole or part is None else part / whole


def grade(score: float | None) -> str:
    if score is None:
        return ""
    return next((letter for floor, letter in GRADES if score >= floor), "E")


def band_score(value: float | None, bands) -> float | None:
    if value is None:
        return None
    return next((score for ceiling, score in bands if value <= ceiling), 0.0)


def composite(components: dict[str, float | None], subject: str) -> float | None:
    """The weighted mean of the components that have data (each 0–100)."""
    w = weights(subject)
    used = {k: v for k, v in components.items() if v is not None and w.get(k)}
    total = sum(w[k] for k in used)
    return round(sum(w[k] * v for k, v in used.items()) / total, 1) if total else None


def pct(value: float | None, inverse: bool = False) -> float | None:
    if value is None:
        return None
    return 100 * (1 - value) if inverse else 100 * value


# --- counters -------------------------------------------------------------------------------


def _in(name: str, start, end) -> Q:
    return Q(**{f"{name}__gte": start, f"{name}__lt": end})


def counter_rules(start, end) -> dict[str, Q]:
    """Each counter as a condition on a case (returns, an event count, is separate)."""
    reported, registered = _in("reported_at", start, end), _in("registered_at", start, end)
    due = registered & ~Q(state__in=(S.REJECTED, S.MERGED))
    closed = due & Q(state=S.CLOSED)
    to_handle = _in("dispatched_at", start, end) & Q(department__isnull=False)
    rated = _in("rated_at", start, end) & ~Q(rating="")
    return {
        "reported": reported,
        "self_resolved": reported & Q(channel=C.SELF_RESOLVED),
        "registered": registered,
        "public_registered": registered & Q(channel__in=PUBLIC_CHANNELS),
        "due": due,
        "closed": closed,
        "closed_on_time": closed & Q(handled_on_time=True),
        "rated": rated,
        "satisfied": rated & Q(rating__in=SATISFIED),
        "to_handle": to_handle,
        "handled": to_handle & Q(handled_at__isnull=False),
        "handled_on_time": to_handle & Q(handled_on_time=True),
        "dept_closed": to_handle & Q(state=S.CLOSED),
        "reworked": to_handle & Q(rework_count__gt=0),
        "extended": to_handle & Q(extension_count__gt=0),
        # a result to check: the grid's worker verifies it (a solved-on-the-spot case has none)
        "verifications_due": _in("handled_at", start, end) & ~Q(channel=C.SELF_RESOLVED),
    }


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def base_rows(user, grid_code: str = ""):
    """The cases the analytics of `user` count: their scope's grids (and, for handlers, their
    departments' cases), within the grid subtree `grid_code`. A user's own reports outside
    their area are visible to them but are not their area's figures."""
    rows = Case.objects.visible_to(user)
    if grid_code:
        return rows.filter(grid__code__startswith=grid_code)
    grids, departments = case_scope(user)
    if grids.everything:
        return rows
    return rows.filter(grids.code_q("grid__code") | Q(department_id__in=departments))


def rollups_fresh() -> bool:
    """Whether the rollups were brought up to date within GRIDGOV_ROLLUP_MAX_AGE_SECONDS."""
    # Only the time: the row also keeps the last refresh's change marks (megabytes at city scale).
    refreshed_at = RollupState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
    max_age = getattr(settings, "GRIDGOV_ROLLUP_MAX_AGE_SECONDS", 900)
    if refreshed_at is None:
        return False
    return (timezone.now() - refreshed_at).total_seconds() <= max_age


def rollups_usable(user, grid_code: str = "") -> bool:
    """Rollups hold grid-bound counts: usable when fresh and the user's case scope is grids only."""
    if not rollups_fresh():
        return False
    grids, departments = case_scope(user)
    if grids.everything:
        return True
    if departments:
        return False
    return not grid_code or grids.covers(grid_code)


def raw_counters(user, period: Period, grid_code: str, key: str) -> dict:
    """{key value: counters} from the cases; key is one of GROUP_KEYS."""
    start, end = period.bounds()
    rows = base_rows(user, grid_code)
    rules = counter_rules(start, end)
    touched = reduce(or_, [_in(name, start, end) for name in TIME_FIELDS])
    result: dict = defaultdict(empty_counts)
    counts = {n: Count("pk", filter=q) for n, q in rules.items()}
    aggregated = rows.filter(touched).values(key).annotate(**counts)
    for row in aggregated:
        result[row[key]].update({n: row[n] for n in rules})
    returns = CaseLog.objects.filter(action="return", at__gte=start, at__lt=end, case__in=rows)
    # A return is the department's (the one it was dispatched to then), else the case's own key.
    case_key = "case__grid__code" if key == "department_id" else f"case__{key}"
    for value, data in returns.values_list(case_key, "data"):
        target = return_department(data) if key == "department_id" else value
        result[target]["returns"] += 1
    return dict(result)


def return_department(data) -> int | None:
    return (data or {}).get("department_id")


# What counters can be grouped by: the dimensions of a daily rollup row.
GROUP_KEYS = ("grid__code", "department_id", "category_id", "channel")


def spans_q(period: Period, field: str, whole_months: bool = True) -> Q:
    """Rows of a rollup with day and month spans covering the period: its whole months from
    the month rows (`field` = their first day), its other days from the day rows."""
    months, day_ranges = period.split_by_month() if whole_months else ([], [(period.start, period.end)])
    parts = [Q(span="month", **{f"{field}__in": months})] if months else []
    parts += [Q(span="day", **{f"{field}__gte": first, f"{field}__lt": after}) for first, after in day_ranges]
    return reduce(or_, parts)


# GROUP_KEYS → the RollupSlice key that sums by it
SLICE_KEYS = {"grid__code": "grid", "department_id": "department", "category_id": "category",
              "channel": "channel"}


def scope_codes(user, grid_code: str = "") -> list[str]:
    """The areas whose sums make up a user's figures: the subtree asked for, else the user's
    top grids."""
    return [grid_code] if grid_code else [grid.code for grid in top_grids(user)]


def rollup_counters(user, period: Period, codes: list[str], key: str) -> dict:
    """Counters of the subtrees `codes` grouped by `key` (by grid__code: one entry per code):
    whole months from the month slices, other days from the day slices (by grid) or the
    daily rows (other keys)."""
    if key not in GROUP_KEYS:
        raise ValueError(key)
    if key == "grid__code":
        parts = [RollupSlice.objects.filter(spans_q(period, "start"), key="grid", code__in=codes)]
    else:
        months, day_ranges = period.split_by_month()
        parts = []
        if months:
            parts.append(RollupSlice.objects.filter(span="month", key=SLICE_KEYS[key], start__in=months,
                                                    code__in=codes))
        if day_ranges:
            days = reduce(or_, [Q(day__gte=first, day__lt=after) for first, after in day_ranges])
            parts.append(DailyRollup.objects.filter(days).filter(_in_grids(codes, "code")))
    group = "code" if key == "grid__code" else key
    result: dict = {}
    for rows in parts:
        for row in rows.visible_to(user).values(group).annotate(**{n: Sum(n) for n in COUNTERS}).order_by():
            counts = result.setdefault(row[group], empty_counts())
            for n in COUNTERS:
                counts[n] += row[n] or 0
    return result


def resolve_source(user, grid_code: str, source: str = "auto") -> str:
    """"rollup" or "raw": `source` itself unless "auto", then rollups when usable."""
    if source != "auto":
        return source
    return "rollup" if rollups_usable(user, grid_code) else "raw"


def counters(user, period: Period, grid_code: str, key: str, source: str = "auto",
             codes: list[str] | None = None) -> tuple[dict, str]:
    """Counters grouped by `key`, and where they came from ("rollup" or "raw"). By grid__code
    the rollups give one entry per code of `codes` (default: the subtree or the user's scope),
    the raw cases one per case grid: callers sum by prefix (`sum_prefix`), which fits both."""
    if resolve_source(user, grid_code, source) == "rollup":
        codes = scope_codes(user, grid_code) if codes is None else codes
        return rollup_counters(user, period, codes, key), "rollup"
    return raw_counters(user, period, grid_code, key), "raw"


def sum_prefix(by_code: dict, prefix: str) -> dict[str, int]:
    total = empty_counts()
    for code, counts in by_code.items():
        if code and code.startswith(prefix):
            for name in COUNTERS:
                total[name] += counts.get(name, 0)
    return total


# --- subjects and rows ----------------------------------------------------------------------


@dataclass
class Row:
    """One line of a ranking table: who, the counts, the rates, the score and its place."""

    kind: str  # area, worker, dispatcher, department
    key: str  # grid code, user id or department id (as text, for links)
    name: str
    figures: dict = field(default_factory=dict)
    rates: dict = field(default_factory=dict)
    components: dict = field(default_factory=dict)
    score: float | None = None
    grade: str = ""
    rank: int | None = None
    movement: int | None = None  # places gained since the previous period (negative: lost)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "name": self.name, "figures": self.figures,
                "rates": self.rates, "components": self.components, "score": self.score,
                "grade": self.grade, "rank": self.rank, "movement": self.movement}


def chosen_grid(user, grid_code: str = "") -> Grid | None:
    """The grid asked for (404 outside the user's scope), or None for the user's whole scope."""
    if not grid_code:
        return None
    grid = Grid.objects.visible_to(user).filter(code=grid_code).first()
    if grid is None:
        raise Http404(_("No such grid in your area."))
    return grid


def top_grids(user) -> list[Grid]:
    """The highest grids of the user's scope (the district's top grids for everyone-seers)."""
    grids, _departments = case_scope(user)
    visible = Grid.objects.visible_to(user)
    if grids.everything:
        return list(visible.filter(parent__isnull=True).order_by("code"))
    return list(visible.filter(code__in=grids.roots).order_by("code"))


def areas_of(user, grid: Grid | None, level: int | None = None) -> tuple[list[Grid], str]:
    """The areas to compare and the subtree they cover: the children of the grid (or the
    grids of `level` below it), or the user's top grids (one top grid: its children)."""
    if grid is None:
        tops = top_grids(user)
        if len(tops) != 1 or level is not None:
            if level is None:
                return tops, ""
            codes = Q()
            for top in tops:
                codes |= Q(code__startswith=top.code)
            return list(Grid.objects.visible_to(user).filter(codes, level=level).order_by("code")), ""
        grid = tops[0]
    below = Grid.objects.visible_to(user).filter(code__startswith=grid.code)
    if level is not None:
        if level <= grid.level:
            raise ValidationError({"level": _("Choose a level below the chosen grid.")})
        return list(below.filter(level=level).order_by("code")), grid.code
    return list(below.filter(parent=grid).order_by("code")), grid.code


def per_area(areas: list[Grid], measures) -> dict[str, dict]:
    """Each area's figures, grouped in SQL by the leading characters of a grid code (an area's code
    is the prefix of everything below it): `measures` is (name, queryset, code field, aggregate),
    one query per measure and code length. Missing figures are 0."""
    out = {a.code: dict.fromkeys((name for name, *_rest in measures), 0) for a in areas}
    for length in {len(a.code) for a in areas}:
        for name, rows, field_name, value in measures:
            keyed = rows.annotate(area=Substr(field_name, 1, length)).values("area")
            for row in keyed.annotate(v=value).order_by():
                if row["area"] in out:
                    out[row["area"]][name] = row["v"] or 0
    return out


def households(grids: list[Grid], everything) -> dict[str, int]:
    """Households per grid code: its own estimate, or the sum of its children's."""
    children = defaultdict(list)
    for g in everything:
        if g.parent_id:
            children[g.parent_id].append(g)

    def count(g) -> int:
        return g.households_estimate or sum(count(c) for c in children[g.pk])

    return {g.code: count(g) for g in grids}


def area_row(grid: Grid, counts: dict, households_count: int, period: Period) -> Row:
    f = counts
    rates = {
        "closure": rate(f["closed"], f["due"]),
        "on_time": rate(f["closed_on_time"], f["due"]),
        "self_resolved": rate(f["self_resolved"], f["reported"]),
        "satisfaction": rate(f["satisfied"], f["rated"]),
        "supervision": rate(f["public_registered"], f["registered"]),
        "per_1000_households": (1000 * f["reported"] / households_count) if households_count else None,
    }
    monthly_load = None
    if households_count:
        monthly_load = 1000 * f["registered"] / households_count * 30 / period.days
    components = {
        "supervision": pct(rates["supervision"], inverse=True),
        "caseload": band_score(monthly_load, AREA_LOAD_BANDS),
        "closure": pct(rates["closure"]),
        "on_time": pct(rates["on_time"]),
    }
    # Nothing due to close: nothing to assess. A case load of zero alone would score 100 and
    # rank a quiet area above every area that did its work.
    score = composite(components, "area") if f["due"] else None
    figures = {k: f[k] for k in ("reported", "registered", "due", "closed", "closed_on_time",
                                 "self_resolved", "rated", "satisfied", "public_registered")}
    figures["households"] = households_count
    return Row("area", grid.code, grid.name, figures, rates, components, score, grade(score))


def area_rows(user, period: Period, grid_code: str = "", level: int | None = None,
              source: str = "auto") -> tuple[list[Row], str]:
    grid = chosen_grid(user, grid_code)
    areas, subtree = areas_of(user, grid, level)
    by_code, used = counters(user, period, subtree, "grid__code", source, codes=[a.code for a in areas])
    grids = Grid.objects.visible_to(user).only("pk", "code", "parent_id", "households_estimate")
    everything = list(grids.filter(code__startswith=subtree) if subtree else grids)
    homes = households(areas, everything)
    return [area_row(a, sum_prefix(by_code, a.code), homes[a.code], period) for a in areas], used


DEPARTMENT_COUNTERS = ("to_handle", "handled", "handled_on_time", "dept_closed", "reworked", "extended",
                       "returns")


def department_row(department_id: int, name: str, f: dict) -> Row:
    rates = {
        "on_time": rate(f["handled_on_time"], f["to_handle"]),
        "closure": rate(f["dept_closed"], f["to_handle"]),
        "rework": rate(f["reworked"], f["to_handle"]),
        "satisfaction": rate(f["satisfied"], f["rated"]),
    }
    components = {
        "caseload": band_score(f["to_handle"], DEPARTMENT_LOAD_BANDS) if f["to_handle"] else None,
        "closure": pct(rates["closure"]),
        "on_time": pct(rates["on_time"]),
        "rework": pct(rates["rework"], inverse=True),
    }
    score = composite(components, "department")
    figures = {k: f[k] for k in ("to_handle", "handled", "handled_on_time", "dept_closed", "reworked",
                                 "returns", "extended", "rated", "satisfied")}
    return Row("department", str(department_id), name, figures, rates, components, score, grade(score))


def department_rows(user, period: Period, grid_code: str = "", source: str = "auto") -> tuple[list[Row], str]:
    grid = chosen_grid(user, grid_code)
    by_department, used = counters(user, period, grid.code if grid else "", "department_id", source)
    # A department is listed when it had work of its own in the period (not merely a case of
    # its reported then, which is an area figure).
    active = {k: v for k, v in by_department.items()
              if k is not None and any(v[name] for name in DEPARTMENT_COUNTERS)}
    names = dict(Department.objects.filter(pk__in=active).values_list("pk", "name"))
    return [department_row(pk, names.get(pk, str(pk)), active[pk]) for pk in sorted(active)], used


# --- grid workers (§5.1) --------------------------------------------------------------------


def _people(user, role: str, grid: Grid | None) -> dict[int, dict]:
    """{user id: {"name", "grids": [codes]}} for the active assignments of `role` in scope."""
    rows = Assignment.objects.visible_to(user).filter(role=role, is_active=True, user__is_active=True)
    if grid is not None:
        rows = rows.filter(grid__code__startswith=grid.code)
    people: dict[int, dict] = {}
    for user_id, name, username, code in rows.values_list("user_id", "user__name", "user__username",
                                                           "grid__code").order_by("user_id", "grid__code"):
        entry = people.setdefault(user_id, {"name": name or username, "grids": []})
        if code:
            entry["grids"].append(code)
    return people


def _in_grids(codes: list[str], field: str = "grid__code") -> Q:
    return reduce(or_, [Q(**{f"{field}__startswith": c}) for c in codes], Q(pk__in=[]))


def worker_report_rules(start, end) -> dict[str, Q]:
    reports = _in("reported_at", start, end) & Q(channel__in=WORKER_CHANNELS)
    valid = reports & ~Q(state=S.REJECTED) & (Q(registered_at__isnull=False) | Q(channel=C.SELF_RESOLVED))
    return {"reports": reports, "valid_reports": valid}


def grid_rules(start, end) -> dict[str, Q]:
    """Conditions on the cases of a worker's grids (counters of the grid, named for the worker)."""
    rules = counter_rules(start, end)
    return {
        "registered_in_grids": rules["registered"],
        "missed": rules["public_registered"],  # 漏报: found by the public instead
        "verifications_due": rules["verifications_due"],
    }


# grid-worker figure → the grid counter it is
GRID_FIGURES = {"registered_in_grids": "registered", "missed": "public_registered",
                "verifications_due": "verifications_due"}


def on_time_checks(due, actor_ids=None) -> dict[tuple[int, int], tuple]:
    """{(case, person): (handled_at, grid id, grid code)} for the cases of `due` (handled
    cases) whose reported result that person checked (verify or rework) within the verify
    limit; a person's first check after the handling counts. Three queries for any number
    of cases and people."""
    from gridgov.worktime.services import add_time

    cases = {pk: (handled_at, grid_id, code, category_id) for pk, handled_at, grid_id, code, category_id
             in due.values_list("pk", "handled_at", "grid_id", "grid__code", "category_id")}
    checks = CaseLog.objects.filter(case__in=due.values("pk"), action__in=("verify", "rework"),
                                    at__gte=F("case__handled_at"))
    checks = checks.filter(actor_id__in=actor_ids) if actor_ids is not None else checks.exclude(actor=None)
    first: dict[tuple[int, int], object] = {}
    for case_id, actor_id, at in checks.values_list("case_id", "actor_id", "at"):
        key = (case_id, actor_id)
        if case_id in cases and (key not in first or at < first[key]):
            first[key] = at
    categories = {c.pk: c for c in Category.objects.filter(pk__in={cases[k[0]][3] for k in first})}
    limits: dict[int, object] = {}
    result = {}
    for (case_id, actor_id), at in first.items():
        handled_at, grid_id, code, category_id = cases[case_id]
        if case_id not in limits:
            amount, unit = categories[category_id].limit("verify")
            limits[case_id] = add_time(handled_at, amount, unit).at
        if at <= limits[case_id]:
            result[(case_id, actor_id)] = (handled_at, grid_id, code)
    return result


def in_own_grids(code: str, person: dict) -> bool:
    """Whether a case's grid is one of the worker's (checking someone else's grid is not theirs)."""
    return any(code.startswith(g) for g in person["grids"])


def verified_on_time_by_worker(rows, people: dict, start, end) -> dict[int, set[int]]:
    """{worker: the cases of their grids whose reported result they checked on time}."""
    due = rows.filter(grid_rules(start, end)["verifications_due"])
    result: dict[int, set[int]] = {pk: set() for pk in people}
    for (case_id, actor_id), (_handled, _grid, code) in on_time_checks(due, people).items():
        if in_own_grids(code, people[actor_id]):
            result[actor_id].add(case_id)
    return result


def _roots(codes) -> list[str]:
    """The codes without an ancestor among them (a subtree counted once)."""
    kept: list[str] = []
    for code in sorted(set(codes)):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    return kept


def _sums_under(by_code: dict[str, dict], names, people: dict) -> dict[int, dict[str, float]]:
    """{person: {name: the sum over the codes inside their grids}}: each code is added to the
    grids that are its prefixes once, instead of testing every code against every person."""
    roots = {pk: _roots(person["grids"]) for pk, person in people.items()}
    wanted = {g for grids in roots.values() for g in grids}
    lengths = sorted({len(g) for g in wanted})
    per_grid = {g: dict.fromkeys(names, 0) for g in wanted}
    for code, row in by_code.items():
        for length in lengths:
            if length <= len(code) and code[:length] in wanted:
                totals = per_grid[code[:length]]
                for name in names:
                    totals[name] += row[name]
    return {pk: {name: sum(per_grid[g][name] for g in grids) for name in names}
            for pk, grids in roots.items()}


def visit_figures(user, under: list[str] | None = None, source: str = "auto") -> dict[str, dict] | None:
    """{grid code: {"households", "covered", "load"}} of the registry in the user's scope (in
    the subtrees `under`), from the visit rollups when fresh, else from the households; None
    for those who do not see the registry."""
    from gridgov.accounts.roles import compute_registry_scope
    from gridgov.population.models import Household
    from gridgov.population.visits import grid_figures

    scope = compute_registry_scope(user)
    if not scope.everything and not scope.roots:
        return None
    if source == "rollup" or (source == "auto" and rollups_fresh()):
        rows = GridVisitRollup.objects.visible_to(user)
        if under:
            rows = rows.filter(_in_grids(under))
        return {code: {"households": h, "covered": c, "load": load}
                for code, h, c, load in rows.values_list("grid__code", "households", "covered", "load")}
    homes = Household.objects.visible_to(user)
    return grid_figures(homes.filter(_in_grids(under)) if under else homes)


def _visits_due(user, period: Period, people: dict, source: str) -> dict[int, int] | None:
    """{worker: visits due}: each household of their grids visited once per its interval, pro
    rata over the period (a 90-day household is 1/3 of a visit a month); None for those who
    do not see the registry."""
    figures = visit_figures(user, sorted({c for p in people.values() for c in p["grids"]}), source)
    if figures is None:
        return None
    expected = _sums_under({code: {"due": row["load"] * period.days} for code, row in figures.items()},
                           ("due",), people)
    return {pk: round(expected[pk]["due"]) for pk in people}


def _patrols(user, period: Period, people: dict) -> dict[int, tuple[float, float]]:
    """{worker: (hours, km)} patrolled within the period; a patrol crossing its edge counts the
    part inside it (its distance pro rata). Patrols the system closed after being forgotten
    are left out: their length is the forgetting, not the walk."""
    from gridgov.patrols.models import Patrol

    start, end = period.bounds()
    rows = (Patrol.objects.visible_to(user)
            .filter(worker_id__in=people, started_at__lt=end, ended_at__gt=start, closed_automatically=False)
            .values_list("worker_id", "started_at", "ended_at", "distance_m"))
    totals: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for worker_id, began, ended, metres in rows:
        whole = (ended - began).total_seconds()
        inside = (min(ended, end) - max(began, start)).total_seconds()
        totals[worker_id][0] += inside / 3600
        totals[worker_id][1] += metres / 1000 * (inside / whole if whole else 1)
    return {pk: (round(totals[pk][0], 1), round(totals[pk][1], 1)) for pk in people}


def actor_sums(user, period: Period, grid_code: str, people: dict) -> dict[int, dict[str, dict]]:
    """{person: {grid code: {counter: sum}}} of `people` over the period, from the rollups
    (whole months from the month rows)."""
    rows = ActorRollup.objects.visible_to(user).filter(spans_q(period, "day"), actor_id__in=list(people))
    if grid_code:
        rows = rows.filter(code__startswith=grid_code)
    result: dict[int, dict[str, dict]] = defaultdict(dict)
    for row in rows.values("actor_id", "code").annotate(**{n: Sum(n) for n in ACTOR_COUNTERS}).order_by():
        result[row["actor_id"]][row["code"]] = row
    return result


def _own_from_rollups(user, period: Period, subtree: str, people: dict) -> dict[int, dict[str, int]]:
    """A worker's reports in the area, their checks in their own grids and their visits
    anywhere they may visit, from one read of the people's rollups."""
    sums = actor_sums(user, period, "", people)
    own = {}
    for pk, person in people.items():
        by_code = sums.get(pk, {})
        in_area = [r for code, r in by_code.items() if code.startswith(subtree)]
        own[pk] = {name: sum(r[name] for r in in_area) for name in ("reports", "valid_reports")}
        own[pk]["verified_on_time"] = sum(r["verified_on_time"] for code, r in by_code.items()
                                          if in_own_grids(code, person))
        own[pk]["visits"] = sum(r["visits"] for r in by_code.values())
    return own


def _own_from_cases(user, rows, period: Period, people: dict) -> dict[int, dict[str, int]]:
    from gridgov.population.models import Visit

    start, end = period.bounds()
    report_rules = worker_report_rules(start, end)
    report_counts = {n: Count("pk", filter=q) for n, q in report_rules.items()}
    reported = {r["reporter_id"]: r for r in rows.filter(reporter_id__in=people)
                .values("reporter_id").annotate(**report_counts)}
    verified = verified_on_time_by_worker(rows, people, start, end)
    visits = dict(Visit.objects.visible_to(user)
                  .filter(worker_id__in=people, visited_on__gte=period.start, visited_on__lt=period.end)
                  .values_list("worker_id").annotate(n=Count("pk")))
    return {pk: {"reports": reported.get(pk, {}).get("reports", 0),
                 "valid_reports": reported.get(pk, {}).get("valid_reports", 0),
                 "verified_on_time": len(verified[pk]), "visits": visits.get(pk, 0)} for pk in people}


def worker_rows(user, period: Period, grid_code: str = "", source: str = "auto") -> tuple[list[Row], str]:
    grid = chosen_grid(user, grid_code)
    subtree = grid.code if grid else ""
    people = _people(user, Role.GRID_WORKER, grid)
    by_code, used = counters(user, period, subtree, "grid__code", source,
                             codes=_roots(c for person in people.values() for c in person["grids"]))
    if used == "rollup":
        own = _own_from_rollups(user, period, subtree, people)
    else:
        own = _own_from_cases(user, base_rows(user, subtree), period, people)
    in_grids = _sums_under({code: {figure: c[counter] for figure, counter in GRID_FIGURES.items()}
                            for code, c in by_code.items()}, tuple(GRID_FIGURES), people)
    visits_due = _visits_due(user, period, people, used)
    patrols = _patrols(user, period, people)
    result = []
    for pk, person in people.items():
        figures = {"reports": own[pk]["reports"], "valid_reports": own[pk]["valid_reports"], **in_grids[pk],
                   "verified_on_time": own[pk]["verified_on_time"]}
        figures["visits_done"], figures["visits_due"] = ((None, None) if visits_due is None
                                                         else (own[pk]["visits"], visits_due[pk]))
        figures["patrol_hours"], figures["patrol_km"] = patrols[pk]
        visits_share = rate(figures["visits_done"], figures["visits_due"])
        rates = {
            "valid": rate(figures["valid_reports"], figures["reports"]),
            "missed": rate(figures["missed"], figures["registered_in_grids"]),
            "verified_on_time": rate(figures["verified_on_time"], figures["verifications_due"]),
            "visits": None if visits_share is None else min(visits_share, 1.0),
        }
        components = {"valid": pct(rates["valid"]), "missed": pct(rates["missed"], inverse=True),
                      "verified_on_time": pct(rates["verified_on_time"]), "visits": pct(rates["visits"])}
        score = composite(components, "worker")
        result.append(Row("worker", str(pk), person["name"], figures, rates, components, score, grade(score)))
    return result, used


# --- dispatchers (§5.4) ---------------------------------------------------------------------


def _did(action: str, actor_id, start, end):
    return Exists(CaseLog.objects.filter(case=OuterRef("pk"), action=action, actor_id=actor_id,
                                         at__gte=start, at__lt=end))


def dispatcher_rules(actor_id, start, end) -> dict[str, Q]:
    dispatched = Q(_did("dispatch", actor_id, start, end))
    return {"registered": Q(_did("register", actor_id, start, end)), "dispatched": dispatched,
            "accurate": dispatched & Q(return_count=0)}  # 准确派遣: not returned by the department


def _dispatcher_figures_from_cases(rows, period: Period, people: dict) -> dict[int, dict[str, int]]:
    """A case counts once a day per step and dispatcher (three dispatches on one day are one;
    a case dispatched again the next day counts again), as the rollups count it."""
    from gridgov.analytics.rollups import local_day

    start, end = period.bounds()
    logs = (CaseLog.objects.filter(case__in=rows, actor_id__in=people, action__in=("register", "dispatch"),
                                   at__gte=start, at__lt=end)
            .values_list("actor_id", "action", "case_id", "at", "case__return_count"))
    seen: dict[int, dict[str, set]] = defaultdict(lambda: {"registered": set(), "dispatched": set(),
                                                           "accurate": set()})
    for actor_id, action, case_id, at, returns in logs:
        mine, key = seen[actor_id], (case_id, local_day(at))
        if action == "register":
            mine["registered"].add(key)
        else:
            mine["dispatched"].add(key)
            if returns == 0:
                mine["accurate"].add(key)
    return {pk: {n: len(keys) for n, keys in seen[pk].items()} for pk in people}


def _dispatcher_figures_from_rollups(user, period: Period, grid_code: str, people: dict) -> dict[int, dict]:
    sums = actor_sums(user, period, grid_code, people)
    names = ("registered", "dispatched", "accurate")
    return {pk: {n: sum(r[n] for r in sums.get(pk, {}).values()) for n in names} for pk in people}


def dispatcher_rows(user, period: Period, grid_code: str = "", source: str = "auto") -> tuple[list[Row], str]:
    grid = chosen_grid(user, grid_code)
    subtree = grid.code if grid else ""
    people = _people(user, Role.DISPATCHER, grid)
    used = resolve_source(user, subtree, source)
    if used == "rollup":
        figures = _dispatcher_figures_from_rollups(user, period, subtree, people)
    else:
        figures = _dispatcher_figures_from_cases(base_rows(user, subtree), period, people)
    result = []
    for pk, person in people.items():
        rates = {"accuracy": rate(figures[pk]["accurate"], figures[pk]["dispatched"])}
        result.append(Row("dispatcher", str(pk), person["name"], figures[pk], rates))
    return result, used


# --- the cases behind a figure --------------------------------------------------------------

AREA_KPIS = ("reported", "self_resolved", "registered", "public_registered", "due", "closed",
             "closed_on_time", "rated", "satisfied")
DEPARTMENT_KPIS = ("to_handle", "handled", "handled_on_time", "dept_closed", "reworked", "extended",
                   "returns", "rated", "satisfied")
WORKER_KPIS = ("reports", "valid_reports", "registered_in_grids", "missed", "verifications_due",
               "verified_on_time")
DISPATCHER_KPIS = ("registered", "dispatched", "accurate")
KPIS = {"area": AREA_KPIS, "department": DEPARTMENT_KPIS, "worker": WORKER_KPIS,
        "dispatcher": DISPATCHER_KPIS}


def _subject_int(subject) -> int:
    try:
        return int(subject)
    except (TypeError, ValueError):
        raise ValidationError({"subject": _("Enter a number.")}) from None


def cases_behind(user, kpi: str, subject, period: Period, grid_code: str = ""):
    """The cases a figure counts, e.g. cases_behind(leader, "area.closed", "320505003001", month).

    kpi is "<kind>.<figure>" with kind area (subject: grid code), department (id), worker or
    dispatcher (user id); grid_code limits workers and dispatchers to a subtree as the ranking
    did. count() of the answer equals the figure; for department.returns (return events) it is
    the number of cases returned, equal unless one department returned the same case twice.
    """
    kind, _dot, name = (kpi or "").partition(".")
    if name not in KPIS.get(kind, ()):
        raise ValidationError({"kpi": _("Unknown figure %s.") % kpi})
    start, end = period.bounds()
    grid = chosen_grid(user, grid_code)
    rows = base_rows(user, grid.code if grid else "")
    if kind == "area":
        area = chosen_grid(user, str(subject or ""))
        if area is None:
            raise ValidationError({"subject": _("Choose a grid.")})
        return base_rows(user, area.code).filter(counter_rules(start, end)[name])
    if kind == "department":
        department_id = _subject_int(subject)
        mine = rows.filter(department_id=department_id)
        if name == "returns":
            returned = CaseLog.objects.filter(case=OuterRef("pk"), action="return", at__gte=start, at__lt=end,
                                              data__department_id=department_id)
            return rows.filter(Exists(returned))
        return mine.filter(counter_rules(start, end)[name])
    person_id = _subject_int(subject)
    if kind == "dispatcher":
        return rows.filter(dispatcher_rules(person_id, start, end)[name])
    if name in worker_report_rules(start, end):
        return rows.filter(reporter_id=person_id).filter(worker_report_rules(start, end)[name])
    person = _people(user, Role.GRID_WORKER, grid).get(person_id)
    if person is None:
        raise Http404(_("No such grid worker in your area."))
    in_grids = rows.filter(_in_grids(person["grids"]))
    if name == "verified_on_time":
        checked = verified_on_time_by_worker(in_grids, {person_id: person}, start, end)[person_id]
        return rows.filter(pk__in=checked)
    return in_grids.filter(grid_rules(start, end)[name])


# --- totals and what is open now ------------------------------------------------------------


def totals(user, period: Period, grid_code: str = "", source: str = "auto") -> dict[str, int]:
    """The counters of the whole scope (or one subtree) for the period."""
    grid = chosen_grid(user, grid_code)
    by_code, _used = counters(user, period, grid.code if grid else "", "grid__code", source)
    return sum_prefix(by_code, "")


def open_now(user, grid_code: str = "") -> dict[str, int]:
    """Open cases now (not suspended) and those overdue: a live figure, never from rollups."""
    live = base_rows(user, grid_code).exclude(state__in=(*Case.FINAL_STATES, S.SUSPENDED))
    # count(*), not count(id): the open-cases index alone answers it (an index-only scan)
    return live.aggregate(open=Count("*"), overdue=Count("light", filter=Q(light=Case.Light.RED)))


# --- rankings -------------------------------------------------------------------------------


def rank(rows: list[Row], previous: list[Row] | None = None) -> list[Row]:
    """Best score first; equal scores share a rank (1, 2, 2, 4); no score, no rank.
    movement = the previous rank − this rank, when the subject was ranked both times."""
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: (-r.score, r.name, r.key))
    for position, row in enumerate(scored, start=1):
        same = position > 1 and scored[position - 2].score == row.score
        row.rank = scored[position - 2].rank if same else position
    before = {r.key: r.rank for r in rank(previous)} if previous else {}
    for row in scored:
        if before.get(row.key) is not None:
            row.movement = before[row.key] - row.rank
    unscored = sorted((r for r in rows if r.score is None), key=lambda r: (r.name, r.key))
    return scored + unscored


ROW_BUILDERS = {
    "areas": lambda user, period, grid, level, source: area_rows(user, period, grid, level, source),
    "workers": lambda user, period, grid, level, source: worker_rows(user, period, grid, source),
    "departments": lambda user, period, grid, level, source: department_rows(user, period, grid, source),
    "dispatchers": lambda user, period, grid, level, source: dispatcher_rows(user, period, grid, source),
    "board": lambda user, period, grid, level, source: board_rows(user, period, grid, level),
    "mediation": lambda user, period, grid, level, source: mediation_rows(user, period, grid, level),
}
RANKINGS = tuple(ROW_BUILDERS)


def board_rows(user, period: Period, grid_code: str = "", level: int | None = None) -> tuple[list[Row], str]:
    """Areas by their message board (`participation.figures`), counted from the posts."""
    from gridgov.participation.figures import area_rows as board_area_rows

    return board_area_rows(user, period, grid_code, level), "raw"


def mediation_rows(user, period: Period, grid_code: str = "",
                   level: int | None = None) -> tuple[list[Row], str]:
    """Areas by their disputes' mediation (`mediation.figures`), counted from the disputes."""
    from gridgov.mediation.figures import area_rows as mediation_area_rows

    return mediation_area_rows(user, period, grid_code, level), "raw"


def ranking(user, what: str, period: Period, grid_code: str = "", level: int | None = None,
            source: str = "auto") -> tuple[list[Row], str]:
    """A ranking table with movement against the previous period of the same kind, and the
    source of its counts ("rollup" or "raw")."""
    build = ROW_BUILDERS[what]
    current, used = build(user, period, grid_code, level, source)
    if what == "dispatchers":  # no composite here (§5.4's needs on-time dispatch): by name
        return sorted(current, key=lambda r: (r.name, r.key)), used
    previous, _used = build(user, period.previous(), grid_code, level, source)
    return rank(current, previous), used
