"""Engagement with staff and residents: notices (通知/公告) and their receipts (回执).

A notice is published to a grid and reaches that grid's whole subtree: the people whose
assignment grid lies inside it and whose role the audience names. Building heads (楼门长)
confirm receipt and pass the notice on (seed 003: a residents' committee reached 120
heads in five minutes). Who a notice is for is decided in `services.for_user`; the
manager's `visible_to` is the publisher's side (notices published inside my scope).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet


class NoticeQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"

    def published(self):
        return self.filter(published_at__isnull=False, published_at__lte=timezone.now())

    def current(self):
        """Published and not expired."""
        now = timezone.now()
        return self.published().filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class Notice(models.Model):
    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone (staff, building heads and residents)")
        BUILDING_HEADS = "building_heads", _("Building heads")
        STAFF = "staff", _("Staff")
        RESIDENTS = "residents", _("Residents")

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    grid = models.ForeignKey(
        "grids.Grid",
        on_delete=models.PROTECT,
        related_name="notices",
        verbose_name=_("grid"),
        help_text=_("The notice reaches this grid and every grid below it."),
    )
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.EVERYONE
    )
    requires_receipt = models.BooleanField(
        _("receipt required"),
        default=False,
        help_text=_("Recipients confirm they have received the notice (and passed it on)."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notices", verbose_name=_("author")
    )
    published_at = models.DateTimeField(
        _("published"), null=True, blank=True, help_text=_("Empty while the notice is a draft.")
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    # When the in-app notifications went out: they are sent once, however often the job runs.
    notified_at = models.DateTimeField(_("recipients notified"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = [models.F("published_at").desc(nulls_first=True), "-created_at"]  # drafts first
        indexes = [models.Index(fields=["published_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_draft(self) -> bool:
        return self.published_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class NoticeReceiptQuerySet(ScopedQuerySet):
    scope_grid_field = "notice__grid"


class NoticeReceipt(models.Model):
    """One recipient's receipt: opened (read_at), and confirmed when the notice asks for it."""

    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, related_name="receipts", verbose_name=_("notice")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notice_receipts",
        verbose_name=_("user"),
    )
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    objects = NoticeReceiptQuerySet.as_manager()

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["notice", "confirmed_at", "read_at"]
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="unique_notice_receipt")]

    def __str__(self) -> str:
        return f"{self.notice_id} · {self.user}"
