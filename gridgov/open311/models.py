"""Open311 GeoReport v2: the API clients allowed to file requests, the link from a request to its
case, the log of every keyed call, and the endpoint's own settings (one row)."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

KEY_PREFIX = "gg311_"


def hash_key(key: str) -> str:
    """Keys are stored as their SHA-256: a leaked table gives no usable key."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiClient(models.Model):
    """An app or system that files requests (a FixMyStreet-style app, a city's dashboard). Its
    reports are made by its own service account, which never logs in."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    key_hash = models.CharField(_("key (SHA-256)"), max_length=64, unique=True, editable=False)
    key_hint = models.CharField(_("key"), max_length=16, editable=False, help_text=_("its first characters"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="open311_client",
        editable=False,
        verbose_name=_("service account"),
    )
    rate_limit = models.PositiveIntegerField(_("requests per minute"), default=60)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def new_key() -> str:
        return KEY_PREFIX + secrets.token_urlsafe(24)


class ServiceRequest(models.Model):
    """What an Open311 request brought beside its case: the client, the token it may look the
    request up by, the media link and the reporter's contact (kept, never published)."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="open311", verbose_name=_("case")
    )
    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, related_name="requests", verbose_name=_("Open311 client")
    )
    token = models.CharField(_("token"), max_length=32, unique=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    email = models.EmailField(_("email"), blank=True)
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    account_id = models.CharField(_("account"), max_length=100, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")

    def __str__(self) -> str:
        return self.token


class CallLog(models.Model):
    """One call to the Open311 endpoint: the rate limit counts these, the admin reads them."""

    client = models.ForeignKey(
        ApiClient,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("Open311 client"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=200)
    status = models.PositiveSmallIntegerField(_("status"))
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 call")
        verbose_name_plural = _("Open311 calls")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["client", "at"]), models.Index(fields=["ip_address", "at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class Endpoint(models.Model):
    """The endpoint's settings, one row kept in the admin."""

    jurisdiction_id = models.CharField(
        _("jurisdiction id"),
        max_length=100,
        blank=True,
        help_text=_("Clients may send it; any other value is refused. Empty: not checked."),
    )
    contact = models.CharField(
        _("contact"), max_length=200, blank=True, help_text=_("Shown in discovery: who runs this endpoint.")
    )
    allow_anonymous = models.BooleanField(
        _("accept requests without an API key"),
        default=False,
        help_text=_("Reading is always open; filing without a key is off unless this is on."),
    )
    anonymous_rate_limit = models.PositiveIntegerField(
        _("requests per minute per address without a key"), default=10
    )

    class Meta:
        verbose_name = _("Open311 endpoint")
        verbose_name_plural = _("Open311 endpoint")

    def __str__(self) -> str:
        return str(_("Open311 endpoint"))

    @classmethod
    def current(cls) -> "Endpoint":
        return cls.objects.order_by("pk").first() or cls()
