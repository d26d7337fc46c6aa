"""Daily rollups of case counts, so that a district's KPIs for a year read a few thousand rows
instead of millions of cases.

One row per (day, grid, category, channel, department) holds the counters of `COUNTERS`, each
counted on the day of the moment that defines it (see `rollups.py`). Rows are rebuilt whole day
by whole day, so a row is always exactly what the raw cases give for that day.

Every rollup row keeps a copy of its grid's code (`code`): the scope and subtree tests are a
prefix or equality test on the row itself, with no join to the grids (a grid's code never
changes: recoding is a re-import).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet

# Counter name → what it counts (the definitions live in kpis.COUNTER_RULES).
COUNTERS = (
    "reported", "self_resolved", "registered", "public_registered", "due", "closed", "closed_on_time",
    "rated", "satisfied", "to_handle", "handled", "handled_on_time", "dept_closed", "reworked",
    "extended", "returns", "verifications_due",
)
# Counters of a person's own actions (grid workers' reports and checks, dispatchers' steps).
ACTOR_COUNTERS = ("reports", "valid_reports", "verified_on_time", "visits", "registered", "dispatched",
                  "accurate")


class RollupQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"
    scope_code_field = "code"


# Rollup rows are derived from the cases and rebuilt in bulk, so their foreign keys are not
# checked by the database (db_constraint=False): checking a city's 400,000 rows a month at
# commit took a third of a rebuild. Deleting a grid, category or person still cascades (Django).
def _derived(to, **options) -> models.ForeignKey:
    return models.ForeignKey(to, on_delete=models.CASCADE, db_constraint=False, related_name="+", **options)


class Counters(models.Model):
    """The counters of COUNTERS, shared by the daily rows and their sums."""

    reported = models.PositiveIntegerField(default=0)
    self_resolved = models.PositiveIntegerField(default=0)
    registered = models.PositiveIntegerField(default=0)
    public_registered = models.PositiveIntegerField(default=0)
    due = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    closed_on_time = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    to_handle = models.PositiveIntegerField(default=0)
    handled = models.PositiveIntegerField(default=0)
    handled_on_time = models.PositiveIntegerField(default=0)
    dept_closed = models.PositiveIntegerField(default=0)
    reworked = models.PositiveIntegerField(default=0)
    extended = models.PositiveIntegerField(default=0)
    returns = models.PositiveIntegerField(default=0)
    verifications_due = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class DailyRollup(Counters):
    day = models.DateField(_("day"), db_index=True)
    grid = _derived("grids.Grid", verbose_name=_("grid"))
    code = models.CharField(_("grid code"), max_length=32, default="")
    category = _derived("cases.Category", verbose_name=_("category"))
    channel = models.CharField(_("channel"), max_length=16)
    department = _derived("accounts.Department", null=True, blank=True, verbose_name=_("department"))

    objects = RollupQuerySet.as_manager()

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        indexes = [models.Index(fields=["day", "grid"], name="rollup_day_grid")]

    def __str__(self) -> str:
        return f"{self.day} {self.grid_id} {self.category_id} {self.channel} {self.department_id}"


class RollupSlice(Counters):
    """The daily rows summed over a day or a month by area and one more dimension (`key`).

    An area is a grid of any level and its row sums every daily row of its subtree, so that a
    figure for any set of areas reads one row per area (and value of the key) and period: a
    district's year of categories is 12 × streets × categories rows, a street's 12 ×
    categories, whatever the number of micro-grids. Month slices exist for every key; day
    slices for the key "grid" only (daily trends)."""

    SPANS = ("day", "month")
    KEYS = ("grid", "category", "channel", "department")

    span = models.CharField(_("span"), max_length=8)
    start = models.DateField(_("first day"))
    key = models.CharField(_("key"), max_length=12)
    grid = _derived("grids.Grid", verbose_name=_("area"))
    code = models.CharField(_("grid code"), max_length=32, default="")
    category = _derived("cases.Category", null=True, blank=True, verbose_name=_("category"))
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    department = _derived("accounts.Department", null=True, blank=True, verbose_name=_("department"))

    objects = RollupQuerySet.as_manager()

    class Meta:
        verbose_name = _("rollup sum")
        verbose_name_plural = _("rollup sums")
        indexes = [models.Index(fields=["span", "key", "code", "start"], name="rollup_slice_span_key_code")]

    def __str__(self) -> str:
        return f"{self.span} {self.start} {self.key} {self.grid_id}"


class ActorRollup(models.Model):
    """One row per (day, person, grid): what a grid worker or dispatcher did to that grid's
    cases that day (see `rollups.actor_counts`), and per (month, person, grid) their sum (span
    "month", `day` its first day), so that a district's rankings of people for a year read a
    few rows per person and grid instead of every case and log entry."""

    span = models.CharField(_("span"), max_length=8, default="day")
    day = models.DateField(_("day"))
    actor = _derived(settings.AUTH_USER_MODEL, verbose_name=_("person"))
    grid = _derived("grids.Grid", verbose_name=_("grid"))
    code = models.CharField(_("grid code"), max_length=32, default="")
    reports = models.PositiveIntegerField(default=0)
    valid_reports = models.PositiveIntegerField(default=0)
    verified_on_time = models.PositiveIntegerField(default=0)
    visits = models.PositiveIntegerField(default=0)
    registered = models.PositiveIntegerField(default=0)
    dispatched = models.PositiveIntegerField(default=0)
    accurate = models.PositiveIntegerField(default=0)

    objects = RollupQuerySet.as_manager()

    class Meta:
        verbose_name = _("daily rollup of a person")
        verbose_name_plural = _("daily rollups of people")
        indexes = [models.Index(fields=["span", "day", "actor"], name="actor_rollup_span_day_actor")]

    def __str__(self) -> str:
        return f"{self.day} {self.actor_id} {self.grid_id}"


class VisitRollupQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"
    scope_rule = "registry"  # figures of the registry: seen by those who see the registry


class GridVisitRollup(models.Model):
    """Per grid, as of the last refresh: households, those visited within their interval and
    the visits due a day (`population.visits.grid_figures`), so that a district's dashboard
    and workers' ranking do not read every household on each request."""

    grid = models.OneToOneField("grids.Grid", on_delete=models.CASCADE, primary_key=True, related_name="+",
                                verbose_name=_("grid"))
    households = models.PositiveIntegerField(_("households"), default=0)
    covered = models.PositiveIntegerField(_("visited within their interval"), default=0)
    load = models.FloatField(_("visits due a day"), default=0.0)
    as_of = models.DateField(_("as of"))

    objects = VisitRollupQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit figures of a grid")
        verbose_name_plural = _("visit figures of grids")

    def __str__(self) -> str:
        return f"{self.grid_id} {self.as_of}"


class TagRollupQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"
    scope_code_field = "code"
    scope_rule = "registry"


class GridTagRollup(models.Model):
    """Per grid and tag, as of the last refresh: the active people with that tag (a person
    has a tag once), so that a district's special-population counts do not join every person
    on each request."""

    grid = _derived("grids.Grid", verbose_name=_("grid"))
    code = models.CharField(_("grid code"), max_length=32)
    tag_type = _derived("population.TagType", verbose_name=_("tag"))
    people = models.PositiveIntegerField(_("people"), default=0)
    as_of = models.DateField(_("as of"))

    objects = TagRollupQuerySet.as_manager()

    class Meta:
        verbose_name = _("tagged people of a grid")
        verbose_name_plural = _("tagged people of grids")

    def __str__(self) -> str:
        return f"{self.code} {self.tag_type_id} {self.people}"


class RollupState(models.Model):
    """One row: when the rollups were last brought up to date."""

    refreshed_at = models.DateTimeField(_("refreshed"), null=True, blank=True)
    rebuilt_at = models.DateTimeField(_("rebuilt"), null=True, blank=True)
    days_refreshed = models.PositiveIntegerField(_("days refreshed last time"), default=0)
    # The marks of the changes the last refresh counted that the next one will read again
    # in its look-back (rollups.Change), and leaves out.
    seen = models.JSONField(_("changes counted last time"), default=list, blank=True)

    class Meta:
        verbose_name = _("rollup state")

    def __str__(self) -> str:
        return f"rollups refreshed {self.refreshed_at}"
