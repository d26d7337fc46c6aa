"""What each role's workbench shows: the work waiting for them, read through the one data scope.

Every list starts from `Case.objects.visible_to(user)` (or the registry's `visible_to`), so a
workbench never shows more than the API would. The rules of who acts on what come from the
workflow's action table, not from here: a queue only picks the states in which its role acts.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.accounts.roles import holds, roles_of
from gridgov.cases.lights import red_first
from gridgov.cases.models import AssistTask, Case, CaseCopy, Instruction

S = Case.State
# States in which the command centre has the next move (the workflow's "dispatcher" actions).
DISPATCH_STATES = (S.REPORTED, S.REGISTERED, S.RETURNED, S.VERIFIED)
HANDLER_STATES = (S.DISPATCHED, S.ACCEPTED)
QUEUE_LIMIT = 200


def _light_first(rows):
    """Red, then yellow, then green; the nearest deadline first within a light."""
    return rows.annotate(light_rank=red_first()).order_by(
        "light_rank", F("deadline").asc(nulls_last=True), "reported_at"
    )


def light_counts(user) -> dict[str, int]:
    """Open cases in the user's scope per light, plus the total."""
    rows = Case.objects.visible_to(user).open().exclude(state=S.SUSPENDED)
    counts = dict(rows.values_list("light").annotate(n=Count("pk")))
    result = {light: counts.get(light, 0) for light in Case.Light.values}
    result["total"] = sum(result.values())
    return result


def dispatch_queue(user, *, light: str = "", state: str = "", grid: str = ""):
    """The command centre's queue: cases waiting for its move, and every overdue open case."""
    rows = (
        Case.objects.visible_to(user)
        .open()
        .filter(
            Q(state__in=DISPATCH_STATES)
            | Q(light=Case.Light.RED)
            | Q(extension_requested_until__isnull=False, state=S.ACCEPTED)
        )
    )
    if light:
        rows = rows.filter(light=light)
    if state:
        rows = rows.filter(state=state)
    if grid:
        rows = rows.filter(grid__code__startswith=grid)
    return _light_first(rows.select_related("category", "grid", "department"))


def _departments(user) -> list[int]:
    return [a.department_id for a in holds(user, Role.HANDLER) if a.department_id]


def with_instructions(rows):
    """Each case's instructions still waiting for an answer (`waiting_instructions`), newest first."""
    waiting = Instruction.objects.filter(responded_at=None).select_related("author").order_by("-created_at")
    return rows.annotate(instructed=Exists(waiting.filter(case=OuterRef("pk")))).prefetch_related(
        Prefetch("instructions", queryset=waiting, to_attr="waiting_instructions"))


def handler_queue(user):
    """A handler's cases: those with a leader's instruction waiting first, then by deadline."""
    rows = Case.objects.visible_to(user).filter(department_id__in=_departments(user),
                                                state__in=HANDLER_STATES)
    return with_instructions(rows.select_related("category", "grid")).order_by(
        F("instructed").desc(), F("deadline").asc(nulls_last=True), "reported_at")


def assisting_queue(user):
    """Cases where the handler's department owes an assisting part (协办), nearest deadline first."""
    tasks = (AssistTask.objects.filter(department_id__in=_departments(user), done_at=None,
                                       case__in=Case.objects.visible_to(user).open())
             .select_related("case__category", "case__grid", "case__department", "department"))
    return tasks.order_by(F("due_at").asc(nulls_last=True), "created_at")


def copied_to_me(user):
    """Open cases copied (抄送) to the user or their department: to read and comment on."""
    copied = CaseCopy.objects.to_user(user).values("case_id")
    return (Case.objects.visible_to(user).open().filter(pk__in=copied)
            .select_related("category", "grid", "department").order_by("-reported_at"))


def to_verify(user):
    """Results reported in the worker's grids, waiting for someone to check them on site."""
    grids = [a.grid.code for a in holds(user, Role.GRID_WORKER) + holds(user, Role.GRID_LEADER) if a.grid_id]
    if not grids:
        return Case.objects.none()
    in_grids = Q()
    for code in grids:
        in_grids |= Q(grid__code__startswith=code)
    rows = Case.objects.visible_to(user).filter(in_grids, state=S.HANDLED)
    return _light_first(rows.select_related("category", "grid", "department"))


def my_reports(user, limit: int = 20):
    return (
        Case.objects.visible_to(user)
        .filter(reporter=user)
        .select_related("category", "grid")
        .order_by("-reported_at")[:limit]
    )


@dataclass(frozen=True)
class Figures:
    """A leader's key figures for one month of their scope.

    Rates follow CJ/T 292 §5.6 wording: 应结案数 = cases registered in the month (not
    rejected or merged), 结案数 = those closed, 按期结案数 = those closed with the handling
    done within its limit. None when nothing was due (a rate of nothing is not 0 %).
    """

    open: int
    overdue: int
    reported: int
    due: int
    closed: int
    closed_on_time: int

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.due if self.due else None


def month_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (datetime.combine(day.replace(day=1), time.min, tz), datetime.combine(following, time.min, tz))


def key_figures(user, day: date | None = None, grid_code: str = "") -> Figures:
    """The figures of the user's scope (or of one grid subtree in it) for the month of `day`.

    The month's counts come from the analytics engine (rollups when fresh, else the cases);
    open and overdue are live.
    """
    from gridgov.analytics import kpis, periods

    month = periods.period_of("month", day or timezone.localdate())
    counts = kpis.totals(user, month, grid_code)
    live = kpis.open_now(user, grid_code)
    return Figures(open=live["open"], overdue=live["overdue"], reported=counts["reported"], due=counts["due"],
                   closed=counts["closed"], closed_on_time=counts["closed_on_time"])


def figures_by_grid(user, grids, day: date | None = None) -> list[tuple]:
    """(grid, figures) for each grid given, e.g. the communities under a street leader: the
    month's counts of all of them in one read (rollups when fresh, else the cases, summed by code
    prefix) and open and overdue in one grouped count, however many grids there are."""
    from gridgov.analytics import kpis, periods

    if not grids:
        return []
    month = periods.period_of("month", day or timezone.localdate())
    by_code, _source = kpis.counters(user, month, "", "grid__code", codes=[g.code for g in grids])
    live = kpis.base_rows(user).exclude(state__in=(*Case.FINAL_STATES, Case.State.SUSPENDED))
    now = kpis.per_area(grids, [
        ("open", live, "grid__code", Count("*")),
        ("overdue", live.filter(light=Case.Light.RED), "grid__code", Count("*")),
    ])
    rows = []
    for grid in grids:
        counts = kpis.sum_prefix(by_code, grid.code)
        rows.append((grid, Figures(open=now[grid.code]["open"], overdue=now[grid.code]["overdue"],
                                   reported=counts["reported"], due=counts["due"], closed=counts["closed"],
                                   closed_on_time=counts["closed_on_time"])))
    return rows


def consoles_of(user) -> list[str]:
    """The workbenches a user's roles open, in the order they are offered."""
    roles = roles_of(user)
    found = []
    if user.is_superuser or roles & {Role.DISPATCHER, Role.ADMIN}:
        found.append("dispatch")
    if roles & {Role.GRID_WORKER, Role.GRID_LEADER, Role.BUILDING_HEAD}:
        found.append("worker")
    if Role.HANDLER in roles:
        found.append("handler")
    if user.is_superuser or roles & {Role.LEADER, Role.GRID_LEADER, Role.ADMIN, Role.AUDITOR}:
        found.append("leader")
    if Role.RESIDENT in roles:
        found.append("resident")
    return found
