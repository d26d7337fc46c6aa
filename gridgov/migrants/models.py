"""Migrants (流动人口): worker dormitories with rooms, beds and access cards; employers and their
workers; residence permits (居住证); rental houses (出租屋) and their inspections.

A migrant is a `population.Person` (`is_migrant`); everything here points at the registry's
people, organizations, buildings and houses instead of keeping copies. Rows with personal data
are scoped by the registry rule and, for an employer's account, by its organization
(`ScopedQuerySet.scope_org_field`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet
from gridgov.population.models import RegistryQuerySet


class Dormitory(models.Model):
    """A worker dormitory (员工宿舍/人才公寓): a dedicated grid (专属网格) of its own."""

    name = models.CharField(_("name"), max_length=100)
    grid = models.OneToOneField(
        "grids.Grid", on_delete=models.PROTECT, related_name="dormitory", verbose_name=_("dedicated grid")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    # The on-site police room and the "five-in-one" office (seed 000): who to call at the door.
    police_room = models.CharField(_("police room"), max_length=100, blank=True)
    service_office = models.CharField(_("service office"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("dormitory")
        verbose_name_plural = _("dormitories")
        ordering = ["grid__code"]

    def __str__(self) -> str:
        return self.name


class LesseeQuerySet(ScopedQuerySet):
    scope_grid_field = "dormitory__grid"


class Lessee(models.Model):
    """An employer whose workers the dormitory houses."""

    dormitory = models.ForeignKey(
        Dormitory, on_delete=models.CASCADE, related_name="lessees", verbose_name=_("dormitory")
    )
    organization = models.ForeignKey(
        "population.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("employer")
    )
    since = models.DateField(_("since"), null=True, blank=True)

    objects = LesseeQuerySet.as_manager()

    class Meta:
        verbose_name = _("employer housed")
        verbose_name_plural = _("employers housed")
        ordering = ["dormitory", "organization__name"]
        constraints = [models.UniqueConstraint(fields=["dormitory", "organization"], name="lessee_once")]

    def __str__(self) -> str:
        return f"{self.dormitory} · {self.organization}"


class RoomQuerySet(ScopedQuerySet):
    scope_grid_field = "dormitory__grid"


class Room(models.Model):
    """A dormitory room; `capacity` is the number of people it may house (the rule), beds are
    what stands in it: more people than the capacity is flagged."""

    dormitory = models.ForeignKey(
        Dormitory, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("dormitory")
    )
    building = models.ForeignKey(
        "population.Building", on_delete=models.PROTECT, related_name="+", verbose_name=_("building")
    )
    floor = models.SmallIntegerField(_("floor"), default=1)
    number = models.CharField(_("room number"), max_length=20)
    capacity = models.PositiveSmallIntegerField(_("capacity"))

    objects = RoomQuerySet.as_manager()

    class Meta:
        verbose_name = _("dormitory room")
        verbose_name_plural = _("dormitory rooms")
        ordering = ["building__name", "floor", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="room_unique_number")]

    def __str__(self) -> str:
        return f"{self.building.name} {self.number}"


class BedQuerySet(ScopedQuerySet):
    scope_grid_field = "room__dormitory__grid"


class Bed(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="beds", verbose_name=_("room"))
    number = models.CharField(_("bed"), max_length=10)
    is_active = models.BooleanField(_("in use"), default=True)

    objects = BedQuerySet.as_manager()

    class Meta:
        verbose_name = _("bed")
        verbose_name_plural = _("beds")
        ordering = ["room", "number"]
        constraints = [models.UniqueConstraint(fields=["room", "number"], name="bed_unique_number")]

    def __str__(self) -> str:
        return f"{self.room}-{self.number}"

    def label(self, room: Room | None = None) -> str:
        room = room or self.room
        return f"{room.building.name}{room.number}-{self.number}"[:30]


class PersonalQuerySet(RegistryQuerySet):
    """Migrants' rows: the registry's keepers in their grids, and an employer's account for its own
    organization's workers."""

    scope_org_field = "organization"


class Employment(models.Model):
    """A worker at an employer, registered by the employer or by staff; leaving ends the worker's
    bed in the dormitory too."""

    person = models.ForeignKey(
        "population.Person", on_delete=models.CASCADE, related_name="employments", verbose_name=_("person")
    )
    organization = models.ForeignKey(
        "population.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("employer")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    started_on = models.DateField(_("started"))
    ended_on = models.DateField(_("left"), null=True, blank=True)
    ended_reason = models.CharField(_("reason for leaving"), max_length=200, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    registered_at = models.DateTimeField(_("registered"), auto_now_add=True)

    objects = PersonalQuerySet.as_manager()

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        ordering = ["organization", "-started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organization"],
                condition=Q(ended_on=None),
                name="employment_once_at_a_time",
            ),
        ]
        indexes = [models.Index(fields=["organization", "ended_on"], name="employment_by_employer")]

    def __str__(self) -> str:
        return f"{self.person} @ {self.organization}"


class Stay(models.Model):
    """A person in a bed, from check-in to check-out. One bed holds one person at a time, and a
    person holds one bed."""

    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, related_name="stays", verbose_name=_("bed"))
    person = models.ForeignKey(
        "population.Person", on_delete=models.CASCADE, related_name="stays", verbose_name=_("person")
    )
    organization = models.ForeignKey(
        "population.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("employer"),
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    checked_in_on = models.DateField(_("checked in"))
    checked_out_on = models.DateField(_("checked out"), null=True, blank=True)
    out_reason = models.CharField(_("reason"), max_length=200, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("checked in by")
    )
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked out by"),
    )

    objects = PersonalQuerySet.as_manager()

    class Meta:
        verbose_name = _("stay")
        verbose_name_plural = _("stays")
        ordering = ["-checked_in_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bed"], condition=Q(checked_out_on=None), name="one_person_a_bed"
            ),
            models.UniqueConstraint(
                fields=["person"], condition=Q(checked_out_on=None), name="one_bed_a_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.bed}"


class AccessCard(models.Model):
    """A personal access card (门禁卡). Its number is one card: it never belongs to two people at
    once; a returned card may be issued again to someone else (the events keep who had it)."""

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        LOST = "lost", _("Lost")
        BLOCKED = "blocked", _("Blocked")
        RETURNED = "returned", _("Returned")

    number = models.CharField(_("card number"), max_length=32, unique=True)
    dormitory = models.ForeignKey(
        Dormitory, on_delete=models.CASCADE, related_name="cards", verbose_name=_("dormitory")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    holder = models.ForeignKey(
        "population.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="access_cards",
        verbose_name=_("holder"),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ISSUED)
    issued_on = models.DateField(_("issued"))
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("access card")
        verbose_name_plural = _("access cards")
        ordering = ["dormitory", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["dormitory", "holder"], condition=Q(state="issued"), name="one_live_card_a_person"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CardEvent(models.Model):
    class Action(models.TextChoices):
        ISSUE = "issue", _("Issued")
        LOSE = "lose", _("Reported lost")
        BLOCK = "block", _("Blocked")
        UNBLOCK = "unblock", _("Unblocked")
        RETURN = "return", _("Returned")

    card = models.ForeignKey(
        AccessCard, on_delete=models.CASCADE, related_name="events", verbose_name=_("card")
    )
    person = models.ForeignKey(
        "population.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("card event")
        verbose_name_plural = _("card events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.card} {self.get_action_display()}"


class Permit(models.Model):
    """A residence permit (居住证) application and what came of it. The person's registry field
    `permit_state` follows the newest row."""

    class State(models.TextChoices):
        APPLIED = "applied", _("Applied")
        ISSUED = "issued", _("Issued")
        REFUSED = "refused", _("Refused")
        EXPIRED = "expired", _("Expired")

    person = models.ForeignKey(
        "population.Person", on_delete=models.CASCADE, related_name="permits", verbose_name=_("person")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.APPLIED)
    applied_on = models.DateField(_("applied"))
    on_behalf = models.BooleanField(_("applied by staff on the person's behalf"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    number = models.CharField(_("permit number"), max_length=40, blank=True)
    issued_on = models.DateField(_("issued"), null=True, blank=True)
    expires_on = models.DateField(_("valid until"), null=True, blank=True, db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("residence permit")
        verbose_name_plural = _("residence permits")
        ordering = ["-applied_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(state__in=["applied", "issued"]),
                name="one_live_permit_a_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_state_display()}"


class PermitReminder(models.Model):
    """One reminder to one grid worker about one person's deadline: the daily job never repeats."""

    class Kind(models.TextChoices):
        APPLY = "apply", _("Apply for a permit")
        RENEW = "renew", _("Renew the permit")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    person = models.ForeignKey(
        "population.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    due_on = models.DateField(_("due"))
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("permit reminder")
        verbose_name_plural = _("permit reminders")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "person", "kind", "due_on"], name="permit_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.due_on}"


class Rental(models.Model):
    """A rental house (出租屋) under inspection: a registry house let to tenants, or a resettlement
    flat leased to an employer for its workers (代租制)."""

    class Scheme(models.TextChoices):
        MARKET = "market", _("Let by the landlord")
        PROXY = "proxy", _("Leased to workers through the community (代租制)")

    house = models.OneToOneField(
        "population.House", on_delete=models.CASCADE, related_name="rental", verbose_name=_("house")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    scheme = models.CharField(_("scheme"), max_length=8, choices=Scheme.choices, default=Scheme.MARKET)
    lessee = models.ForeignKey(
        "population.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lessee (employer)"),
    )
    interval_days = models.PositiveSmallIntegerField(_("inspect every (days)"), default=90)
    next_due_on = models.DateField(_("next inspection due"), db_index=True)
    is_active = models.BooleanField(_("let now"), default=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    registered_at = models.DateTimeField(_("registered"), auto_now_add=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("rental house")
        verbose_name_plural = _("rental houses")
        ordering = ["next_due_on", "id"]

    def __str__(self) -> str:
        return str(self.house)


class Inspection(models.Model):
    """One inspection of a rental house against the checklist; `results` maps each checklist item to
    "pass" or "fail"."""

    rental = models.ForeignKey(
        Rental, on_delete=models.CASCADE, related_name="inspections", verbose_name=_("rental house")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("inspector")
    )
    done_on = models.DateField(_("inspected"))
    due_on = models.DateField(_("was due"))
    on_time = models.BooleanField(_("on time"))
    tenants_found = models.PositiveSmallIntegerField(_("tenants found"))
    tenants_registered = models.PositiveSmallIntegerField(_("tenants in the registry"))
    results = models.JSONField(_("results"))
    passed = models.BooleanField(_("passed"))
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-done_on", "-id"]

    def __str__(self) -> str:
        return f"{self.rental} {self.done_on}"


class Finding(models.Model):
    """A failed checklist item taken up as a case (one case per item and inspection)."""

    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, related_name="findings", verbose_name=_("inspection")
    )
    item = models.CharField(_("item"), max_length=20)
    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="+", verbose_name=_("case")
    )

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="finding_once")]

    def __str__(self) -> str:
        return f"{self.inspection} {self.item}"


class MigrantEstimate(models.Model):
    """How many migrants a grid is thought to hold (the police's or the census's figure): what the
    registered count is measured against."""

    grid = models.OneToOneField(
        "grids.Grid", on_delete=models.CASCADE, related_name="+", verbose_name=_("grid")
    )
    estimated = models.PositiveIntegerField(_("migrants estimated"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("migrant estimate")
        verbose_name_plural = _("migrant estimates")
        ordering = ["grid__code"]

    def __str__(self) -> str:
        return f"{self.grid} {self.estimated}"
