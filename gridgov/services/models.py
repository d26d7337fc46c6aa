"""Services near people (issue 17): the life circle's service points, orders taken for residents
(the 15-minute meal), errands done for residents at proxy points (代办/陪办/协办) and job wishes.

Points are stored in WGS-84 whatever datum they came in; every row is bound to a grid and
scoped by `visible_to`. Callers' names and phones are encrypted at rest.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet
from gridgov.privacy.fields import EncryptedCharField
from gridgov.privacy.masking import mask_name, mask_phone
from gridgov.worktime.models import TimeUnit


class Kind(models.TextChoices):
    MEAL = "meal", _("Meal partner or canteen")
    ELDERLY_CARE = "elderly_care", _("Elderly care")
    CLINIC = "clinic", _("Clinic")
    SCHOOL = "school", _("School")
    JOB_CENTRE = "job_centre", _("Job centre")
    LEGAL_AID = "legal_aid", _("Legal aid")
    POLICE_ROOM = "police_room", _("Police room")
    PROXY_POINT = "proxy_point", _("Proxy point")
    CONVENIENCE = "convenience", _("Convenience store")
    OTHER = "other", _("Other service")


class GridScoped(ScopedQuerySet):
    scope_grid_field = "grid"


class ServicePoint(models.Model):
    """A place of the life circle. `hours` holds seven strings, Monday first, each like
    "06:30-09:00,11:00-13:30" (empty: closed that day)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    lon = models.FloatField(_("longitude (WGS-84)"))
    source_crs = models.CharField(_("coordinates given in"), max_length=10, default="wgs84")
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    hours = models.JSONField(_("opening hours"), default=list, blank=True)
    capacity_per_hour = models.PositiveIntegerField(
        _("capacity per hour"), null=True, blank=True, help_text=_("Empty: not limited.")
    )
    partner = models.ForeignKey(
        "population.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("partner organization"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = GridScoped.as_manager()

    class Meta:
        verbose_name = _("service point")
        verbose_name_plural = _("service points")
        ordering = ["grid__code", "kind", "name"]
        indexes = [models.Index(fields=["kind", "is_active"])]

    def __str__(self) -> str:
        return self.name


class IndexState(models.Model):
    """One row: a new random token with every change of the points, so each process rebuilds its
    index. Random rather than a counter: a rolled-back change must not leave a counter value that
    a later change reuses while an index built inside the rolled-back one is still kept."""

    version = models.CharField(max_length=32, default="")

    def __str__(self) -> str:
        return f"points index {self.version}"


class Rating(models.Model):
    """A resident's rating of a point: one per resident, changed by rating again."""

    point = models.ForeignKey(ServicePoint, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    rated_at = models.DateTimeField(_("rated"), auto_now=True)

    class Meta:
        verbose_name = _("service rating")
        verbose_name_plural = _("service ratings")
        constraints = [models.UniqueConstraint(fields=["point", "user"], name="services_one_rating")]

    def __str__(self) -> str:
        return f"{self.point} · {self.score}"


class OrderQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"


class Order(models.Model):
    """A service taken for a person over the phone or at the door, placed with a point."""

    class State(models.TextChoices):
        PLACED = "placed", _("Placed")
        ACCEPTED = "accepted", _("Accepted by the partner")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="orders")
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    person = models.ForeignKey(
        "population.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    caller_name = EncryptedCharField(_("caller"), blank=True)
    caller_phone = EncryptedCharField(_("caller's phone"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"))
    lon = models.FloatField(_("longitude (WGS-84)"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PLACED)
    estimated_minutes = models.FloatField(_("estimated minutes"))
    called_at = models.DateTimeField(_("called"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("service order")
        verbose_name_plural = _("service orders")
        ordering = ["-called_at", "-id"]
        indexes = [models.Index(fields=["point", "called_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {mask_name(self.caller_name)}"

    @property
    def caller_phone_masked(self) -> str:
        return mask_phone(self.caller_phone)


# --- errands (代办/陪办/协办) ------------------------------------------------------------------


class ErrandItem(models.Model):
    """An item of the errand catalogue: what residents may have done for them."""

    class Level(models.TextChoices):
        VILLAGE = "village", _("Village (community)")
        TOWN = "town", _("Town (street)")
        DISTRICT = "district", _("District")

    name = models.CharField(_("name"), max_length=100, unique=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    materials = models.JSONField(_("materials checklist"), default=list, blank=True)
    time_limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"))
    department = models.CharField(_("deciding department"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("errand item")
        verbose_name_plural = _("errand items")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class ProxyPoint(models.Model):
    """A proxy point (代办点) with its agents and the five unifications it has in place."""

    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("agents")
    )
    unified_sign = models.BooleanField(_("unified sign"), default=False)
    unified_rules = models.BooleanField(_("unified rules"), default=False)
    unified_process = models.BooleanField(_("unified process"), default=False)
    unified_scope = models.BooleanField(_("unified scope"), default=False)
    unified_agent = models.BooleanField(_("unified agent"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GridScoped.as_manager()

    class Meta:
        verbose_name = _("proxy point")
        verbose_name_plural = _("proxy points")
        ordering = ["grid__code", "name"]

    def __str__(self) -> str:
        return self.name


class Errand(models.Model):
    class Kind(models.TextChoices):
        PROXY = "proxy", _("Done for the resident (代办)")
        ACCOMPANY = "accompany", _("Resident accompanied (陪办)")
        ASSIST = "assist", _("Resident assisted (协办)")

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ACCEPTED = "accepted", _("Accepted by an agent")
        SUBMITTED = "submitted", _("Handed over to the department")
        ANSWERED = "answered", _("Department answered")
        DONE = "done", _("Done")
        CONFIRMED = "confirmed", _("Confirmed by the resident")
        CANCELLED = "cancelled", _("Cancelled")

    class Light(models.TextChoices):
        GREEN = "green", _("Green")
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")

    OPEN_STATES = (State.REQUESTED, State.ACCEPTED, State.SUBMITTED, State.ANSWERED)

    proxy_point = models.ForeignKey(ProxyPoint, on_delete=models.PROTECT, related_name="errands")
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    item = models.ForeignKey(ErrandItem, on_delete=models.PROTECT, related_name="errands")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    person = models.ForeignKey(
        "population.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.REQUESTED)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    materials_ticked = models.JSONField(_("materials received"), default=list, blank=True)
    answer = models.CharField(_("department's answer"), max_length=500, blank=True)
    result = models.CharField(_("result"), max_length=500, blank=True)
    requested_at = models.DateTimeField(_("requested"))
    started_at = models.DateTimeField(_("clock started"), null=True, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    deadline_unit = models.CharField(max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS)
    light = models.CharField(_("light"), max_length=6, choices=Light.choices, default=Light.GREEN)
    overdue_told_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)

    objects = GridScoped.as_manager()

    class Meta:
        verbose_name = _("errand")
        verbose_name_plural = _("errands")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.item} · {self.get_state_display()}"


class ErrandLog(models.Model):
    errand = models.ForeignKey(Errand, on_delete=models.CASCADE, related_name="logs")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=10)
    to_state = models.CharField(_("to"), max_length=10)
    note = models.CharField(_("note"), max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("errand log")
        verbose_name_plural = _("errand logs")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.errand_id} {self.action}"


# --- jobs --------------------------------------------------------------------------------------


class JobWish(models.Model):
    """A resident's wish for work, filed by them or by staff for them."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        HIRED = "hired", _("Found work")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    person = models.ForeignKey(
        "population.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    work = models.CharField(_("kind of work"), max_length=50)
    hours = models.CharField(_("hours"), max_length=50, blank=True)
    place = models.CharField(_("place"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(_("filed"), auto_now_add=True)

    objects = GridScoped.as_manager()

    class Meta:
        verbose_name = _("job wish")
        verbose_name_plural = _("job wishes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.work


class JobOpening(models.Model):
    """An opening at a local employer of the registry."""

    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    employer = models.ForeignKey("population.Organization", on_delete=models.PROTECT, related_name="+")
    work = models.CharField(_("kind of work"), max_length=50)
    hours = models.CharField(_("hours"), max_length=50, blank=True)
    place = models.CharField(_("place"), max_length=100, blank=True)
    positions = models.PositiveSmallIntegerField(_("positions"), default=1)
    is_open = models.BooleanField(_("open"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = GridScoped.as_manager()

    class Meta:
        verbose_name = _("job opening")
        verbose_name_plural = _("job openings")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.employer} · {self.work}"


class JobMatchQuerySet(ScopedQuerySet):
    scope_grid_field = "wish__grid"


class JobMatch(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        HIRED = "hired", _("Hired")
        DECLINED = "declined", _("Declined")

    wish = models.ForeignKey(JobWish, on_delete=models.CASCADE, related_name="matches")
    opening = models.ForeignKey(JobOpening, on_delete=models.CASCADE, related_name="matches")
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    matched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    matched_at = models.DateTimeField(_("matched"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = JobMatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("job match")
        verbose_name_plural = _("job matches")
        constraints = [models.UniqueConstraint(fields=["wish", "opening"], name="services_one_match")]

    def __str__(self) -> str:
        return f"{self.wish} → {self.opening}"
