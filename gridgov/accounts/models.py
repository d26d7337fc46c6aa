from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet
from gridgov.privacy.fields import EncryptedCharField, LookupHashField
from gridgov.privacy.masking import mask_phone, normalize_phone, validate_phone


class Role(models.TextChoices):
    ADMIN = "admin", _("System administrator")
    LEADER = "leader", _("Leader")
    DISPATCHER = "dispatcher", _("Dispatcher")
    HANDLER = "handler", _("Department handler")
    GRID_LEADER = "grid_leader", _("Grid leader")
    GRID_WORKER = "grid_worker", _("Grid worker")
    BUILDING_HEAD = "building_head", _("Building head")
    AUDITOR = "auditor", _("Auditor")
    RESIDENT = "resident", _("Resident")
    # A worker dormitory's manager (宿舍管理员), held on the dormitory's dedicated grid.
    DORM_MANAGER = "dorm_manager", _("Dormitory manager")
    # An employer's account: registers the organization's migrant workers (以业管人).
    EMPLOYER = "employer", _("Employer")


class Post(models.TextChoices):
    """The seven posts of a Beijing social grid (seed 003), held beside the role."""

    NONE = "", _("—")
    MANAGER = "manager", _("Grid manager")
    ASSISTANT = "assistant", _("Grid assistant")
    POLICE_OFFICER = "police_officer", _("Police officer")
    # 城管监督员: the city-management officer a grid's notice board names beside its police officer.
    SUPERVISOR = "supervisor", _("City-management supervisor")
    PARTY_SECRETARY = "party_secretary", _("Party secretary")
    JUDICIAL_WORKER = "judicial_worker", _("Judicial worker")
    FIREFIGHTER = "firefighter", _("Firefighter")


class User(AbstractUser):
    """Staff and residents alike. What a user may do and see comes from assignments."""

    name = models.CharField(_("full name"), max_length=50, blank=True)
    phone = EncryptedCharField(_("mobile phone"), blank=True, validators=[validate_phone])
    phone_hash = LookupHashField(source="phone", normalizer=normalize_phone)
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True, editable=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.name or self.username

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def save(self, *args, **kwargs):
        if self.phone:
            self.phone = normalize_phone(self.phone)
        super().save(*args, **kwargs)


class Department(models.Model):
    """A body that handles cases (职能部门), e.g. a street's sanitation office."""

    name = models.CharField(_("name"), max_length=100)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    area = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, null=True, blank=True, related_name="departments",
        verbose_name=_("service area"),
        help_text=_("The grid subtree this department serves; empty for the whole district."),
    )
    duty = models.CharField(_("duties"), max_length=200, blank=True)
    phone = models.CharField(_("office phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssignmentQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"

    def active(self):
        return self.filter(is_active=True)


class Assignment(models.Model):
    """A role a user holds: on a grid, in a department, or district-wide."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, null=True, blank=True, related_name="assignments",
        verbose_name=_("grid"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments",
        verbose_name=_("department"),
    )
    # The organization an employer's account speaks for (gridgov/migrants).
    organization = models.ForeignKey(
        "population.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="accounts",
        verbose_name=_("organization"),
    )
    post = models.CharField(_("post"), max_length=20, choices=Post.choices, blank=True)
    is_full_time = models.BooleanField(_("full-time"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    since = models.DateField(_("since"), null=True, blank=True)
    # A resident's home grid is verified when the registry knows their phone in that grid, or
    # when the grid's staff confirm it; only verified residents vote (`residence.py`).
    home_verified_at = models.DateTimeField(_("home verified"), null=True, blank=True)
    home_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("home verified by"),
    )

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["grid__code", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "grid", "department"], name="unique_assignment"
            ),
            # One grid leader answers for a grid. roles.validate_assignment says so with names;
            # this index makes sure two saves racing past that check cannot both win.
            models.UniqueConstraint(
                fields=["grid"], condition=models.Q(role="grid_leader", is_active=True),
                name="one_active_grid_leader_per_grid",
                violation_error_message=_("This grid already has a grid leader. End that assignment first."),
            ),
        ]

    def __str__(self) -> str:
        where = self.grid or self.department or _("district")
        return f"{self.user} · {self.get_role_display()} · {where}"

    def clean(self):
        from gridgov.accounts.roles import validate_assignment

        validate_assignment(self)


class ApiToken(models.Model):
    """A bearer token for API clients; only its hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user} · {self.name}"


class LoginFailure(models.Model):
    """A failed login, kept to lock an account after repeated failures (等保 2.0 level 3)."""

    username = models.CharField(_("username"), max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.username} {self.at:%Y-%m-%d %H:%M}"


class OneTimeCode(models.Model):
    """A login code sent by text message to a resident's phone; only hashes are kept."""

    phone_hash = models.CharField(_("phone (keyed hash)"), max_length=64, db_index=True)
    code_hash = models.CharField(_("code (keyed hash)"), max_length=64)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.phone_hash[:8]} {self.created_at:%Y-%m-%d %H:%M}"


class PasswordHistory(models.Model):
    """The hashes of a user's recent passwords, so a new one cannot repeat them (accounts/passwords.py)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("previous password")

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d}"
