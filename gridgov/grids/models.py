from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet


class GridQuerySet(ScopedQuerySet):
    scope_grid_field = None  # a grid is scoped by its own code

    def subtree(self, code: str):
        """The grid with this code and everything below it."""
        return self.filter(code__startswith=code)

    def basic(self):
        return self.filter(kind=Grid.Kind.BASIC)


class Grid(models.Model):
    """An area of responsibility. Grids nest; a child's code starts with its parent's."""

    class Kind(models.TextChoices):
        BASIC = "basic", _("Basic grid")
        SPECIAL = "special", _("Special-purpose grid")

    class SpecialType(models.TextChoices):
        NONE = "", _("—")
        DORMITORY = "dormitory", _("Dormitory")
        SCHOOL = "school", _("School")
        HOSPITAL = "hospital", _("Hospital")
        MARKET = "market", _("Market")
        COMPANY = "company", _("Large company")
        PARK = "park", _("Industrial park")
        OTHER = "other", _("Other")

    class ManagementGrade(models.TextChoices):
        A = "A", _("A: core area")
        B = "B", _("B: ordinary area")
        C = "C", _("C: outlying area")

    code = models.CharField(_("grid code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), db_index=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent grid"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.BASIC)
    special_type = models.CharField(
        _("special-purpose type"), max_length=16, choices=SpecialType.choices, blank=True
    )
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"))
    area_m2 = models.FloatField(_("area (m²)"), default=0)
    centroid_lon = models.FloatField(_("centroid longitude"), default=0)
    centroid_lat = models.FloatField(_("centroid latitude"), default=0)
    households_estimate = models.PositiveIntegerField(_("households (estimate)"), default=0)
    management_grade = models.CharField(
        _("management grade"), max_length=1, choices=ManagementGrade.choices, default="B"
    )
    metadata = models.JSONField(_("other attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = GridQuerySet.as_manager()

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def ancestor_codes(self) -> list[str]:
        from gridgov.grids.codes import code_length

        return [self.code[: code_length(n)] for n in range(1, self.level)]


class LocatorState(models.Model):
    """A single row whose version token changes whenever any grid geometry changes.

    Every process holding a point→grid index compares its version with this one and
    rebuilds when they differ, so an import in one worker reaches all the others.
    """

    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("locator state")

    def __str__(self) -> str:
        return f"locator version {self.version}"
