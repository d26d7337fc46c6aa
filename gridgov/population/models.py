"""The registry grid workers keep: 人进户, 户进房, 房进网格 — and organizations.

Compound → Building → Unit → House ← Household ← Person. Every record carries the grid it
lies in (copied down from its building by `services`), so the one scope rule
(`visible_to`) filters every registry list by grid code without joins.

ID numbers and phones are encrypted at rest with a keyed hash beside them for exact
lookup (`gridgov.privacy`); lists show them masked; the full value is revealed only by
`services.reveal`, which checks the permission and writes the audit log.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet
from gridgov.population import codes
from gridgov.privacy.fields import EncryptedCharField, LookupHashField
from gridgov.privacy.masking import mask_id_number, mask_phone, normalize_phone


class RegistryQuerySet(ScopedQuerySet):
    """Registry rows are scoped by the registry rule: the people who keep the registry."""

    scope_rule = "registry"


class Compound(models.Model):
    """A residential compound (小区/院落)."""

    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, related_name="compounds", verbose_name=_("grid")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    property_company = models.CharField(_("property management company"), max_length=100, blank=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("compound")
        verbose_name_plural = _("compounds")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    """A building: a point on the map in a grid (usually a micro-grid)."""

    class Use(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential")
        COMMERCIAL = "commercial", _("Commercial")
        MIXED = "mixed", _("Mixed use")
        PUBLIC = "public", _("Public")

    compound = models.ForeignKey(
        Compound,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="buildings",
        verbose_name=_("compound"),
    )
    grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, related_name="buildings", verbose_name=_("grid")
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("e.g. 3幢 or 枫桥路12号"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    lon = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    floors = models.PositiveSmallIntegerField(_("floors"), default=1)
    use = models.CharField(_("use"), max_length=16, choices=Use.choices, default=Use.RESIDENTIAL)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["grid__code", "name"]

    def __str__(self) -> str:
        return f"{self.compound.name}{self.name}" if self.compound_id else self.name


class Unit(models.Model):
    """An entrance (单元) of a building."""

    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="units", verbose_name=_("building")
    )
    number = models.CharField(_("number"), max_length=20)
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["building", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="unit_unique_number")]

    def __str__(self) -> str:
        return f"{self.building} {self.number}单元"


class House(models.Model):
    """A flat or room (房屋/房间) and what it is used for; rentals carry their tenancy."""

    class Use(models.TextChoices):
        OWNER_OCCUPIED = "owner_occupied", _("Owner-occupied")
        RENTED = "rented", _("Rented")
        VACANT = "vacant", _("Vacant")
        BUSINESS = "business", _("Business")
        DORMITORY = "dormitory", _("Dormitory")

    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="houses", verbose_name=_("building")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="houses", verbose_name=_("unit")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    floor = models.SmallIntegerField(_("floor"), default=1)
    number = models.CharField(_("room number"), max_length=20)
    area_m2 = models.DecimalField(_("floor area (m²)"), max_digits=7, decimal_places=1, null=True, blank=True)
    use = models.CharField(_("use"), max_length=16, choices=Use.choices, default=Use.OWNER_OCCUPIED)
    landlord_name = models.CharField(_("landlord"), max_length=50, blank=True)
    landlord_phone = EncryptedCharField(_("landlord's phone"), blank=True)
    landlord_phone_hash = LookupHashField(source="landlord_phone", normalizer=normalize_phone)
    lease_start = models.DateField(_("lease starts"), null=True, blank=True)
    lease_end = models.DateField(_("lease ends"), null=True, blank=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        ordering = ["building", "unit__number", "floor", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "number"], name="house_unique_number")
        ]

    def __str__(self) -> str:
        unit = f"{self.unit.number}-" if self.unit_id else ""
        return f"{self.building} {unit}{self.number}"

    @property
    def is_rental(self) -> bool:
        return self.use in (self.Use.RENTED, self.Use.DORMITORY)


class Household(models.Model):
    """A household (户) living in a house."""

    class Kind(models.TextChoices):
        FAMILY = "family", _("Family household")
        COLLECTIVE = "collective", _("Collective household")
        RENTING = "renting", _("Tenants")

    house = models.ForeignKey(
        House, on_delete=models.PROTECT, related_name="households", verbose_name=_("house")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    number = models.CharField(_("household number"), max_length=30, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.FAMILY)
    head_name = models.CharField(_("head of household"), max_length=50, blank=True)
    last_visited_on = models.DateField(_("last visited"), null=True, blank=True, db_index=True)
    is_active = models.BooleanField(_("lives here"), default=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["house"]

    def __str__(self) -> str:
        return f"{self.head_name or _('household')} ({self.house})"


class Person(models.Model):
    """A person actually living in the area (实有人口): registered or migrant."""

    class PermitState(models.TextChoices):
        NONE = "none", _("None")
        APPLIED = "applied", _("Applied")
        VALID = "valid", _("Valid")
        EXPIRED = "expired", _("Expired")

    household = models.ForeignKey(
        Household,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("household"),
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    name = models.CharField(_("name"), max_length=50, db_index=True)
    id_number = EncryptedCharField(_("ID number"), blank=True)
    id_number_hash = LookupHashField(source="id_number", normalizer=codes.normalize_id_number)
    birth_date = models.DateField(_("birth date"), null=True, blank=True, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=codes.SEX, default="0")
    phone = EncryptedCharField(_("mobile phone"), blank=True)
    phone_hash = LookupHashField(source="phone", normalizer=normalize_phone)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, choices=codes.ETHNICITY, blank=True)
    relation = models.CharField(_("relation to the head"), max_length=2, choices=codes.RELATION, blank=True)
    political_status = models.CharField(
        _("political status"), max_length=2, choices=codes.POLITICAL_STATUS, blank=True
    )
    education = models.CharField(_("education"), max_length=2, choices=codes.EDUCATION, blank=True)
    marital_status = models.CharField(
        _("marital status"), max_length=2, choices=codes.MARITAL_STATUS, blank=True
    )
    registered_address = models.CharField(_("registered residence (户籍地)"), max_length=200, blank=True)
    is_migrant = models.BooleanField(_("migrant"), default=False, db_index=True)
    arrived_on = models.DateField(_("arrived"), null=True, blank=True)
    permit_state = models.CharField(
        _("residence permit"), max_length=10, choices=PermitState.choices, default=PermitState.NONE
    )
    employer = models.ForeignKey(
        "Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="employees",
        verbose_name=_("employer"),
    )
    employer_name = models.CharField(_("employer (text)"), max_length=100, blank=True)
    dormitory_bed = models.CharField(_("dormitory bed"), max_length=30, blank=True)
    is_active = models.BooleanField(_("lives here"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["grid__code", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class Organization(models.Model):
    """A company, shop, school, social organisation... in a grid."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        SHOP = "shop", _("Shop (individual business)")
        SCHOOL = "school", _("School")
        SOCIAL = "social", _("Social organisation")
        PUBLIC = "public", _("Public institution")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=150, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, validators=[codes.validate_credit_code]
    )
    grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, related_name="organizations", verbose_name=_("grid")
    )
    building = models.ForeignKey(
        Building,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="organizations",
        verbose_name=_("building"),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    lon = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = EncryptedCharField(_("contact phone"), blank=True)
    contact_phone_hash = LookupHashField(source="contact_phone", normalizer=normalize_phone)
    employee_count = models.PositiveIntegerField(_("employees"), default=0)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["grid__code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~models.Q(credit_code=""),
                name="organization_unique_credit_code",
            )
        ]

    def __str__(self) -> str:
        return self.name


class TagType(models.Model):
    """A special group (重点人群/关爱对象): configurable in the admin.

    Sensitive types (the GB/T 31000 special populations, PIPL Art. 28 特定身份/医疗健康)
    are shown only to users who hold `Perm.VIEW_SENSITIVE_TAGS`.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=50)
    is_sensitive = models.BooleanField(_("sensitive"), default=False)
    has_grade = models.BooleanField(_("has a grade"), default=False, help_text=_("e.g. disability grade 1–4"))
    standard_ref = models.CharField(_("source"), max_length=40, blank=True)
    sort = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tag type")
        verbose_name_plural = _("tag types")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.name


class PersonTag(models.Model):
    class CareLevel(models.TextChoices):
        NORMAL = "normal", _("Normal")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="tags", verbose_name=_("person")
    )
    tag_type = models.ForeignKey(
        TagType, on_delete=models.PROTECT, related_name="tags", verbose_name=_("tag")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    care_level = models.CharField(
        _("care level"), max_length=8, choices=CareLevel.choices, default=CareLevel.NORMAL
    )
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("person tag")
        verbose_name_plural = _("person tags")
        constraints = [models.UniqueConstraint(fields=["person", "tag_type"], name="persontag_unique")]

    def __str__(self) -> str:
        return f"{self.person} · {self.tag_type}"


class VisitRule(models.Model):
    """How often a household is visited: every household, households with a tagged member, or
    households with a member tagged at a care level (the shortest interval that applies wins)."""

    tag_type = models.OneToOneField(
        TagType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="visit_rule",
        verbose_name=_("tag"),
        help_text=_("Empty (and no care level): the rule for every household."),
    )
    care_level = models.CharField(
        _("care level"),
        max_length=8,
        choices=PersonTag.CareLevel.choices,
        blank=True,
        help_text=_("A rule for every tag at this care level; leave the tag empty then."),
    )
    interval_days = models.PositiveSmallIntegerField(_("visit every (days)"))

    class Meta:
        verbose_name = _("visit rule")
        verbose_name_plural = _("visit rules")
        constraints = [
            models.UniqueConstraint(
                fields=["tag_type"],
                condition=models.Q(tag_type__isnull=True, care_level=""),
                name="visitrule_one_default",
            ),
            models.UniqueConstraint(
                fields=["care_level"], condition=~models.Q(care_level=""), name="visitrule_one_per_care_level"
            ),
            models.CheckConstraint(
                condition=models.Q(tag_type__isnull=True) | models.Q(care_level=""),
                name="visitrule_tag_or_care_level",
                violation_error_message=_("A rule is for a tag or for a care level, not both."),
            ),
            models.CheckConstraint(condition=models.Q(interval_days__gt=0), name="visitrule_positive"),
        ]

    def __str__(self) -> str:
        if self.care_level:
            return f"{_('care level')} {self.get_care_level_display()}: {self.interval_days}"
        return f"{self.tag_type or _('every household')}: {self.interval_days}"


class Visit(models.Model):
    """A worker's visit to a household (民情日记)."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="visits", verbose_name=_("household")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits", verbose_name=_("worker")
    )
    visited_on = models.DateField(_("date"), db_index=True)
    met = models.CharField(_("who was met"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    needs = models.TextField(_("needs found"), blank=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case"),
    )
    client_key = models.CharField(_("client key"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "client_key"],
                condition=~models.Q(client_key=""),
                name="visit_unique_client_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.household}"


class BuildingSurvey(models.Model):
    """The building's "10+X": ten figures computed from the registry, confirmed by the head."""

    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="surveys", verbose_name=_("building")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    figures = models.JSONField(_("figures"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("confirmed by")
    )
    confirmed_at = models.DateTimeField(_("confirmed"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("building survey")
        verbose_name_plural = _("building surveys")
        ordering = ["-confirmed_at"]

    def __str__(self) -> str:
        return f"{self.building} {self.confirmed_at:%Y-%m-%d}"


class SurveyItem(models.Model):
    """A free "X" item of a building survey: a request or a hazard, which may become a case."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("Request")
        HAZARD = "hazard", _("Hazard")
        OTHER = "other", _("Other")

    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="survey_items", verbose_name=_("building")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REQUEST)
    text = models.CharField(_("text"), max_length=500)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("reported by")
    )
    reported_at = models.DateTimeField(_("reported"), auto_now_add=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case"),
    )

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey item")
        verbose_name_plural = _("survey items")
        ordering = ["-reported_at"]

    def __str__(self) -> str:
        return self.text[:40]


class ImportJob(models.Model):
    """An Excel import run in the background, so a page can show its progress."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("imported by"))
    kind = models.CharField(_("ledger"), max_length=20)
    dry_run = models.BooleanField(_("dry run"), default=True)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    grid_code = models.CharField(_("grid code"), max_length=32, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(_("rows checked"), default=0)
    total = models.PositiveIntegerField(_("rows"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"


# --- the care file (一人一档) ----------------------------------------------------------------
# A person with at least one tag has a care file: their tags and care level, household and
# house, visits and cases (read from the registry and the cases), plus what is kept only for
# the file below. Every row carries the person's grid (copied by `services.follow_person_grid`
# whenever a person moves), so the registry scope filters it without joins.


class CareNote(models.Model):
    """A free note in a person's care file."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="care_notes", verbose_name=_("person")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("text"))
    at = models.DateTimeField(_("written"), default=timezone.now, db_index=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("care note")
        verbose_name_plural = _("care notes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.text[:40]


class CareTask(models.Model):
    """A task of a person's care plan: what is to be done for them, by when, and what came of it."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="care_tasks", verbose_name=_("person")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    title = models.CharField(_("task"), max_length=200)
    due_on = models.DateField(_("due"), db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    result = models.CharField(_("result"), max_length=500, blank=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["person", "done_at"], name="caretask_person_open")]

    def __str__(self) -> str:
        return f"{self.due_on} {self.title}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, today) -> bool:
        return self.done_at is None and self.due_on < today


class CareService(models.Model):
    """A service a person received (meals, home care, assistance...), as recorded by staff."""

    class Kind(models.TextChoices):
        DAILY_CARE = "daily_care", _("Daily care")
        MEALS = "meals", _("Meal assistance")
        HEALTH = "health", _("Health care")
        ASSISTANCE = "assistance", _("Material assistance")
        COMPANIONSHIP = "companionship", _("Companionship and counselling")
        ERRAND = "errand", _("Errand done for them")
        OTHER = "other", _("Other")

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="care_services", verbose_name=_("person")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    served_on = models.DateField(_("date"), db_index=True)
    provider = models.CharField(_("provided by"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("service received")
        verbose_name_plural = _("services received")
        ordering = ["-served_on", "-id"]

    def __str__(self) -> str:
        return f"{self.served_on} {self.get_kind_display()}"


class CaseConcern(models.Model):
    """A case marked as concerning a person (by staff, or by turning a visit's need into a case)."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="case_concerns", verbose_name=_("person")
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+", verbose_name=_("case"))
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("added by")
    )
    at = models.DateTimeField(_("added"), default=timezone.now)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("case concerning a person")
        verbose_name_plural = _("cases concerning people")
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["person", "case"], name="caseconcern_unique")]

    def __str__(self) -> str:
        return f"{self.person} · {self.case_id}"


class CareReminder(models.Model):
    """A reminder sent to one user about an overdue care visit or task: at most one per user, person
    and due date (a visit never made has no due date), so the daily job never repeats itself."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Care visit")
        TASK = "task", _("Care task")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("person"))
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    task = models.ForeignKey(
        CareTask, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("task")
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("care reminder")
        verbose_name_plural = _("care reminders")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "person", "due_on"],
                condition=models.Q(kind="visit", due_on__isnull=False),
                name="carereminder_visit_once",
            ),
            models.UniqueConstraint(
                fields=["user", "person"],
                condition=models.Q(kind="visit", due_on__isnull=True),
                name="carereminder_never_visited_once",
            ),
            models.UniqueConstraint(
                fields=["user", "task", "due_on"],
                condition=models.Q(kind="task"),
                name="carereminder_task_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.person_id} {self.due_on}"
