"""Volunteers (志愿者), their activities (活动), attendance and the points ledger (积分) with its shop.

Every row is bound to a grid: a volunteer to their service grid, an activity and a shop item
to the grid they were published to; signups, attendance, ledger entries and orders follow
their volunteer, activity or item. Staff see them through `visible_to`, which here counts only
the roles that look after volunteers (`READER_ROLES`): a grid worker or a department handler
has no business reading residents' volunteer files. Residents reach their own rows through
their `Volunteer` profile, never through `visible_to`.

The points balance is never stored: it is the sum of the volunteer's `PointEntry` rows, which
are only ever added (`PointEntry.save` refuses to change one, `delete` to remove one).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.accounts.models import Role
from gridgov.core.scope import Scope, ScopedQuerySet

# Who looks after volunteers: community leaders and grid leaders (and administrators), in
# their grids. Auditors read everything and change nothing.
MANAGER_ROLES = {Role.LEADER, Role.GRID_LEADER}
READER_ROLES = MANAGER_ROLES | {Role.AUDITOR}


def _scope_through(user, roles, attribute: str) -> Scope:
    """`roles.scope_through`, computed once per user object (i.e. once per request)."""
    from gridgov.accounts.roles import scope_through

    cached = getattr(user, attribute, None)
    if cached is None:
        cached = scope_through(user, roles)
        if getattr(user, "pk", None):
            setattr(user, attribute, cached)
    return cached


def reading_scope(user) -> Scope:
    """The grids whose volunteer data the user may read."""
    return _scope_through(user, READER_ROLES, "_gridgov_volunteer_reading_scope")


def managing_scope(user) -> Scope:
    """The grids whose volunteers, activities, points and shop the user may manage."""
    return _scope_through(user, MANAGER_ROLES, "_gridgov_volunteer_managing_scope")


def line_q(code: str, field: str = "grid__code") -> Q:
    """Rows whose grid lies on one line of the tree with `code`: its ancestors, itself and its
    subtree. A street's activity reaches the volunteers of its grids, and a volunteer who serves
    the whole street may join the activities of any grid in it."""
    from gridgov.grids.codes import lineage

    prefixes = lineage(code)[:-1]
    return Q(**{f"{field}__in": prefixes}) | Q(**{f"{field}__startswith": code})


class VolunteerScopedQuerySet(ScopedQuerySet):
    """The grid scope of the roles that look after volunteers (see `reading_scope`)."""

    def visible_to(self, user):
        scope = reading_scope(user)
        if scope.everything:
            return self
        return self.filter(scope.code_q(f"{self.scope_grid_field}__code"))


class VolunteerQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "grid"


class Volunteer(models.Model):
    """A resident's volunteer profile: one per user, from the first application on."""

    class State(models.TextChoices):
        APPLIED = "applied", _("Applied")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")
        SUSPENDED = "suspended", pgettext_lazy("volunteer", "Suspended")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="volunteer", verbose_name=_("user")
    )
    grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("service grid")
    )
    skills = models.CharField(_("skills"), max_length=200, blank=True)
    availability = models.CharField(_("availability"), max_length=200, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.APPLIED, db_index=True
    )
    team = models.ForeignKey(
        "Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("team"),
    )
    applied_at = models.DateTimeField(_("applied"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = VolunteerQuerySet.as_manager()

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["-applied_at", "-id"]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def is_approved(self) -> bool:
        return self.state == self.State.APPROVED

    def balance(self) -> int:
        return balance_of(self.pk)


class VolunteerLogQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "volunteer__grid"


class VolunteerLog(models.Model):
    """Every decision about a volunteer: who, when, why."""

    class Action(models.TextChoices):
        APPLY = "apply", _("Applied")
        APPROVE = "approve", _("Approved")
        REFUSE = "refuse", _("Refused")
        SUSPEND = "suspend", pgettext_lazy("volunteer", "Suspended")
        REINSTATE = "reinstate", _("Reinstated")
        TEAM = "team", _("Joined a team")
        LEAVE_TEAM = "leave_team", _("Removed from the team")

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.CASCADE, related_name="log", verbose_name=_("volunteer")
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = VolunteerLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("volunteer log entry")
        verbose_name_plural = _("volunteer log")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.action}"


class TeamQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "organization__grid"


class Team(models.Model):
    """An organization of the registry (a company, a social organisation) as a volunteer team."""

    organization = models.OneToOneField(
        "population.Organization",
        on_delete=models.PROTECT,
        related_name="volunteer_team",
        verbose_name=_("organization"),
    )
    leader = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="+", verbose_name=_("team leader")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("volunteer team")
        verbose_name_plural = _("volunteer teams")
        ordering = ["organization__name"]

    def __str__(self) -> str:
        return self.organization.name


class ActivityQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "grid"


class Activity(models.Model):
    """A volunteer activity published to a grid (it reaches the grid's subtree)."""

    class Kind(models.TextChoices):
        PATROL = "patrol", _("Patrol")
        ELDERLY_CARE = "elderly_care", _("Elderly care")
        ENVIRONMENT = "environment", _("Environment")
        CIVILITY = "civility", _("Civility")
        EPIDEMIC = "epidemic", _("Epidemic prevention")
        GRID_WEDNESDAY = "grid_wednesday", _("Grid Wednesday visits")
        OTHER = "other", _("Other")

    class PointsRule(models.TextChoices):
        PER_HOUR = "per_hour", _("Per hour")
        FIXED = "fixed", _("Fixed")

    class State(models.TextChoices):
        PUBLISHED = "published", _("Published")
        CLOSED = "closed", pgettext_lazy("activity", "Closed")
        CANCELLED = "cancelled", pgettext_lazy("activity", "Cancelled")

    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    title = models.CharField(_("title"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"))
    lon = models.FloatField(_("longitude (WGS-84)"))
    starts_at = models.DateTimeField(_("starts"), db_index=True)
    ends_at = models.DateTimeField(_("ends"))
    signup_deadline = models.DateTimeField(_("sign-up deadline"))
    quota = models.PositiveIntegerField(_("quota"))
    points_rule = models.CharField(_("points rule"), max_length=10, choices=PointsRule.choices)
    points = models.PositiveIntegerField(
        pgettext_lazy("volunteer", "points"), help_text=_("per hour, or for taking part")
    )
    radius_m = models.PositiveIntegerField(_("check-in radius (m)"), default=200)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PUBLISHED)
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("organizer")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(pgettext_lazy("activity", "closed"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title} {self.starts_at:%Y-%m-%d}"


class SignupQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "activity__grid"


class Signup(models.Model):
    """A volunteer's place in an activity, or on its waiting list (first come, first promoted)."""

    class State(models.TextChoices):
        SIGNED_UP = "signed_up", _("Signed up")
        WAITING = "waiting", _("Waiting list")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")

    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, related_name="signups", verbose_name=_("activity")
    )
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="signups", verbose_name=_("volunteer")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    # When the volunteer (last) joined: the waiting list's order.
    queued_at = models.DateTimeField(_("signed up at"))
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    objects = SignupQuerySet.as_manager()

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["queued_at", "id"]
        constraints = [models.UniqueConstraint(fields=["activity", "volunteer"], name="signup_once")]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.activity}"


class AttendanceQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "activity__grid"


class Attendance(models.Model):
    """A volunteer's presence at an activity: one row, however often the phone retries."""

    class Method(models.TextChoices):
        QR = "qr", _("QR code")
        GEOFENCE = "geofence", _("Location")
        ORGANIZER = "organizer", _("Set by the organizer")
        CLOSING = "closing", _("At closing")

    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, related_name="attendance", verbose_name=_("activity")
    )
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="attendance", verbose_name=_("volunteer")
    )
    checked_in_at = models.DateTimeField(_("checked in"))
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    check_in_method = models.CharField(_("check-in by"), max_length=10, choices=Method.choices)
    check_out_method = models.CharField(_("check-out by"), max_length=10, choices=Method.choices, blank=True)

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["checked_in_at", "id"]
        constraints = [models.UniqueConstraint(fields=["activity", "volunteer"], name="attendance_once")]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.activity}"


class ActivityLogQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "activity__grid"


class ActivityLog(models.Model):
    """What staff did to an activity: publishing, corrections of times (with the old and new
    values and the reason), closing."""

    class Action(models.TextChoices):
        PUBLISH = "publish", _("Published")
        EDIT = "edit", _("Edited")
        CORRECT = "correct", _("Times corrected")
        CLOSE = "close", pgettext_lazy("activity", "Closed")
        CANCEL = "cancel", pgettext_lazy("activity", "Cancelled")

    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, related_name="log", verbose_name=_("activity")
    )
    volunteer = models.ForeignKey(
        Volunteer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("volunteer"),
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = ActivityLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity log entry")
        verbose_name_plural = _("activity log")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.activity} {self.action}"


class ShopItemQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "grid"


class ShopItem(models.Model):
    """Something volunteers redeem points for, picked up at a place of the grid."""

    name = models.CharField(_("name"), max_length=100)
    price = models.PositiveIntegerField(_("points price"))
    stock = models.PositiveIntegerField(_("stock"))
    pickup_point = models.CharField(_("pick-up point"), max_length=200)
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    is_active = models.BooleanField(_("on offer"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ShopItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop item")
        verbose_name_plural = _("shop items")
        ordering = ["price", "name", "id"]

    def __str__(self) -> str:
        return self.name


class OrderQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "item__grid"


class Order(models.Model):
    """A redemption: the points leave the balance when it is placed and come back if it is cancelled."""

    class State(models.TextChoices):
        PLACED = "placed", _("Placed")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("volunteer")
    )
    item = models.ForeignKey(
        ShopItem, on_delete=models.PROTECT, related_name="orders", verbose_name=pgettext_lazy("shop", "item")
    )
    points = models.PositiveIntegerField(pgettext_lazy("volunteer", "points"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PLACED, db_index=True
    )
    placed_at = models.DateTimeField(_("placed"), auto_now_add=True)
    closed_at = models.DateTimeField(_("fulfilled or cancelled"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("volunteer", "order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.item}"


class PointEntryQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "volunteer__grid"

    def update(self, **kwargs):
        raise TypeError("The points ledger is append-only.")

    def delete(self):
        raise TypeError("The points ledger is append-only.")


class PointEntry(models.Model):
    """One line of the points ledger. Added, never changed: the balance is their sum."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        AWARD = "award", _("Awarded")
        DEDUCT = "deduct", _("Deducted")
        REDEEM = "redeem", _("Redeemed")
        REFUND = "refund", _("Refunded")
        EXPIRE = "expire", _("Expired")

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="points", verbose_name=_("volunteer")
    )
    amount = models.IntegerField(pgettext_lazy("volunteer", "points"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    activity = models.ForeignKey(
        Activity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("activity"),
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("volunteer", "order"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = PointEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-created_at", "-id"]
        constraints = [
            # An activity's points are earned once per volunteer, whatever retries the closing sees.
            models.UniqueConstraint(
                fields=["volunteer", "activity"], condition=Q(kind="earn"), name="points_earned_once"
            ),
            # An order is paid once and refunded once.
            models.UniqueConstraint(
                fields=["order", "kind"], condition=Q(order__isnull=False), name="points_order_once"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="points_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.amount:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The points ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The points ledger is append-only.")


def balance_of(volunteer_id: int) -> int:
    """The volunteer's points: the sum of their ledger, never a stored figure."""
    total = PointEntry.objects.filter(volunteer_id=volunteer_id).aggregate(total=Sum("amount"))["total"]
    return total or 0


class ExpiryPolicyQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "grid"


class ExpiryPolicy(models.Model):
    """How long points stay valid in a part of the district. The policy of the volunteer's grid,
    or of its nearest ancestor, applies; where none is set, points never expire. Spending takes
    the oldest points first, so what lapses is what was earned longest ago and not yet spent."""

    grid = models.OneToOneField(
        "grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid")
    )
    valid_months = models.PositiveSmallIntegerField(
        _("valid for (months)"), validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    at_year_end = models.BooleanField(
        _("lapse at the end of the year"),
        default=False,
        help_text=_("Points lapse on 31 December of the year in which their validity ends."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ExpiryPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("points expiry rule")
        verbose_name_plural = _("points expiry rules")
        ordering = ["grid__code"]

    def __str__(self) -> str:
        return f"{self.grid} {self.valid_months}"


# --- interest groups (兴趣小组) ------------------------------------------------------------------------


class InterestGroupQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "grid"


class InterestGroup(models.Model):
    """A group of volunteers around one interest, set up by staff for a grid (it reaches the
    grid's line of the tree, like an activity) and run by its organizer: an approved volunteer
    or a staff member."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("group", "Open")
        CLOSED = "closed", pgettext_lazy("group", "Closed")

    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("organizer")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(pgettext_lazy("group", "closed"), null=True, blank=True)

    objects = InterestGroupQuerySet.as_manager()

    class Meta:
        verbose_name = _("interest group")
        verbose_name_plural = _("interest groups")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class GroupMemberQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "group__grid"


class GroupMember(models.Model):
    """A volunteer in a group. Leaving keeps the row (with `left_at`): joining again reopens it."""

    group = models.ForeignKey(
        InterestGroup, on_delete=models.CASCADE, related_name="members", verbose_name=_("interest group")
    )
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="groups", verbose_name=_("volunteer")
    )
    joined_at = models.DateTimeField(_("joined"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    objects = GroupMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        ordering = ["joined_at", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "volunteer"], name="group_member_once")]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.group}"

    @property
    def is_active(self) -> bool:
        return self.left_at is None


class GroupNoticeQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "group__grid"


class GroupNotice(models.Model):
    """A short message from the organizer or staff to the group's members."""

    group = models.ForeignKey(
        InterestGroup, on_delete=models.CASCADE, related_name="notices", verbose_name=_("interest group")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    text = models.CharField(_("text"), max_length=300)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = GroupNoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("group notice")
        verbose_name_plural = _("group notices")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.group}: {self.text[:30]}"


# --- points certificates (积分入学) ---------------------------------------------------------------------


class CertificateQuerySet(VolunteerScopedQuerySet):
    scope_grid_field = "volunteer__grid"


class Certificate(models.Model):
    """A points certificate for school-entry credit: a volunteer's hours and points of one year,
    as they stood when it was issued, with a random code anyone can verify. The figures are kept
    so that the code confirms what the paper says; a revoked certificate no longer verifies."""

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="certificates", verbose_name=_("volunteer")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    code = models.CharField(_("verification code"), max_length=32, unique=True)
    hours = models.DecimalField(_("hours"), max_digits=8, decimal_places=2)
    points = models.IntegerField(pgettext_lazy("volunteer", "points"))
    activities = models.PositiveIntegerField(_("activities attended"))
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by")
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoke_reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("points certificate")
        verbose_name_plural = _("points certificates")
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.year} {self.code}"

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None
