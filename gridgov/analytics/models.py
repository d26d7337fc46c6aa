"""Daily rollups of case counts, so that a district's KPIs for a year read a few thousand rows
instead of millions of cases.

One row per (day, grid, category, channel, department) holds the counters of `COUNTERS`, each
counted on the day of the moment that defines it (see `rollups.py`). Rows are rebuilt whole day
by whole day, so a row is always exactly what the raw cases give for that day.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet

# Counter name → what it counts (the definitions live in kpis.COUNTER_RULES).
COUNTERS = (
    "reported", "self_resolved", "registered", "public_registered", "due", "closed", "closed_on_time",
    "rated", "satisfied", "to_handle", "handled", "handled_on_time", "dept_closed", "reworked",
    "extended", "returns",
)


class RollupQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"


class DailyRollup(models.Model):
    day = models.DateField(_("day"), db_index=True)
    grid = models.ForeignKey("grids.Grid", on_delete=models.CASCADE, related_name="+", verbose_name=_("grid"))
    category = models.ForeignKey("cases.Category", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("category"))
    channel = models.CharField(_("channel"), max_length=16)
    department = models.ForeignKey("accounts.Department", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="+", verbose_name=_("department"))
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

    objects = RollupQuerySet.as_manager()

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        indexes = [models.Index(fields=["day", "grid"], name="rollup_day_grid")]

    def __str__(self) -> str:
        return f"{self.day} {self.grid_id} {self.category_id} {self.channel} {self.department_id}"


class RollupState(models.Model):
    """One row: when the rollups were last brought up to date."""

    refreshed_at = models.DateTimeField(_("refreshed"), null=True, blank=True)
    rebuilt_at = models.DateTimeField(_("rebuilt"), null=True, blank=True)
    days_refreshed = models.PositiveIntegerField(_("days refreshed last time"), default=0)

    class Meta:
        verbose_name = _("rollup state")

    def __str__(self) -> str:
        return f"rollups refreshed {self.refreshed_at}"
