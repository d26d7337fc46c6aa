"""研判: early warnings found across the cases and the registry — hotspots, recurring problems,
repeat callers, weeks far above their baseline, people in care left unvisited, rentals left
uninspected — each raised once (its `kind` and `key` name the thing it is about), updated by every
later run, and worked through new → acknowledged → assigned → resolved or dismissed.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet


class WarningQuerySet(ScopedQuerySet):
    """Warnings drawn from cases follow the grid scope; those drawn from the registry (people in care,
    households, rentals) the registry's narrower rule, and the sensitive ones only reach users who see
    the special-population tags."""

    def visible_to(self, user):
        from gridgov.accounts.roles import Perm, has_perm
        from gridgov.core.scope import registry_scope_of, scope_of

        cases = scope_of(user)
        people = registry_scope_of(user)
        from_cases = Q(source=EarlyWarning.Source.CASES) & cases.code_q("grid__code")
        from_registry = Q(source=EarlyWarning.Source.REGISTRY) & people.code_q("grid__code")
        if not has_perm(user, Perm.VIEW_SENSITIVE_TAGS):
            from_registry &= Q(is_sensitive=False)
        return self.filter(from_cases | from_registry)


class EarlyWarning(models.Model):
    class Kind(models.TextChoices):
        HOTSPOT = "hotspot", _("Hotspot")
        RECURRENCE = "recurrence", _("Recurring problem")
        REPEAT_CALLER = "repeat_caller", _("Repeat caller")
        TREND = "trend", _("Week far above its baseline")
        RISING = "rising", _("Category rising across the district")
        CARE_UNVISITED = "care_unvisited", _("Person in care not visited")
        CARE_HAZARD = "care_hazard", _("Person in care near an open hazard")
        REPEATED_DISPUTES = "repeated_disputes", _("Household with repeated disputes")
        RENTAL_UNINSPECTED = "rental_uninspected", _("Rental not inspected")

    class Source(models.TextChoices):
        CASES = "cases", _("Cases")
        REGISTRY = "registry", _("Registry")

    class Severity(models.IntegerChoices):
        LOW = 1, _("Low")
        MEDIUM = 2, _("Medium")
        HIGH = 3, _("High")

    class State(models.TextChoices):
        NEW = "new", _("New")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        RESOLVED = "resolved", _("Resolved")
        DISMISSED = "dismissed", _("Dismissed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(
        _("key"), max_length=120, help_text=_("what the warning is about, within its kind")
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    category = models.ForeignKey(
        "cases.Category",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    title = models.CharField(_("title"), max_length=200)
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Severity.choices, default=Severity.MEDIUM
    )
    is_sensitive = models.BooleanField(_("sensitive"), default=False)
    # What stands behind it: case ids, person ids, counts, the cluster's centre and radius…
    evidence = models.JSONField(_("evidence"), default=dict)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    note = models.CharField(_("resolution or reason"), max_length=500, blank=True)
    first_seen_at = models.DateTimeField(_("first found"))
    last_seen_at = models.DateTimeField(_("last found"), db_index=True)
    times_seen = models.PositiveIntegerField(_("runs that found it"), default=1)
    # Found by the latest run of its kind; a warning no longer found stays, to be resolved or dismissed.
    is_current = models.BooleanField(_("found by the latest run"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = WarningQuerySet.as_manager()

    class Meta:
        verbose_name = _("early warning")
        verbose_name_plural = _("early warnings")
        ordering = ["-severity", "-last_seen_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="warning_raised_once")]
        indexes = [models.Index(fields=["state", "kind"], name="warning_state_kind")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state not in (self.State.RESOLVED, self.State.DISMISSED)


class WarningLog(models.Model):
    """Who did what to a warning, and why."""

    warning = models.ForeignKey(
        EarlyWarning, on_delete=models.CASCADE, related_name="logs", verbose_name=_("warning")
    )
    action = models.CharField(_("action"), max_length=20)
    # None: the analysis itself (a resolved warning found again).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("warning log")
        verbose_name_plural = _("warning logs")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.warning_id} {self.action}"


class AnalysisRun(models.Model):
    """One run of the analysis: when, on whose request (none: the scheduled job), what it found."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    counts = models.JSONField(_("found"), default=dict)
    # The moment analysed (the windows end there) and what the run covered: a full run analyses
    # every kind; an incremental one re-clusters only the classes in `classes` (see analysis.plan).
    as_of = models.DateTimeField(_("as of"), null=True, blank=True)
    is_full = models.BooleanField(_("full run"), default=True)
    classes = models.JSONField(_("classes analysed again"), default=list, blank=True)

    class Meta:
        verbose_name = _("analysis run")
        verbose_name_plural = _("analysis runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M}"
