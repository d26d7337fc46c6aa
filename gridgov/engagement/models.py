"""Engagement with staff and residents: notices (通知/公告) and their receipts (回执).

A notice is published to a grid and reaches that grid's whole subtree: the people whose
assignment grid lies inside it and whose role the audience names. Building heads (楼门长)
confirm receipt and pass the notice on (seed 003: a residents' committee reached 120
heads in five minutes). Who a notice is for is decided in `services.for_user`; the
manager's `visible_to` is the publisher's side (notices published inside my scope).

A notice may instead name its targets (roles, registry tags, buildings, registry people,
users: their union inside the grid's subtree). Those are resolved once, when the notice is
sent, into `NoticeDelivery` rows: one per recipient and channel (in the app for people with
an account, by text message for registry people without one).
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
        # Set whenever the notice names targets: the rules below decide, not a role list.
        TARGETS = "targets", _("Chosen targets (roles, tags, buildings, people)")

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
    # Target rules (audience "targets"), combined as a union inside the grid's subtree.
    target_roles = models.JSONField(_("roles"), default=list, blank=True)
    target_tags = models.ManyToManyField(
        "population.TagType", blank=True, related_name="+", verbose_name=_("people with these tags")
    )
    target_buildings = models.ManyToManyField(
        "population.Building",
        blank=True,
        related_name="+",
        verbose_name=_("buildings"),
        help_text=_("Their building heads and the registered people living there."),
    )
    target_people = models.ManyToManyField(
        "population.Person", blank=True, related_name="+", verbose_name=_("registered people")
    )
    target_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("users")
    )
    sms_contact = models.CharField(
        _("link or number for text messages"),
        max_length=40,
        blank=True,
        help_text=_("Ends the text message sent to people without an account, e.g. the office's number."),
    )
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

    @property
    def is_targeted(self) -> bool:
        return self.audience == self.Audience.TARGETS


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


class NoticeDeliveryQuerySet(ScopedQuerySet):
    scope_grid_field = "notice__grid"


class NoticeDelivery(models.Model):
    """One recipient of a notice on one channel, written once when the notice is sent.

    In the app: a user with an account, `delivered` when their in-app notification is
    written (reading and confirming stay on `NoticeReceipt`, the user's own act). By text
    message: a registry person without an account, `queued` until the gateway takes it
    (`sent`) or the bounded retries give up (`failed`, with the gateway's code in `error`).
    """

    class Channel(models.TextChoices):
        APP = "app", _("In the app")
        SMS = "sms", _("Text message")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        DELIVERED = "delivered", _("Delivered")

    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("notice")
    )
    channel = models.CharField(_("delivery channel"), max_length=8, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notice_deliveries",
        verbose_name=_("user"),
    )
    # A text's recipient: read for the phone at each try. Kept null if the person is removed
    # from the registry (the row stays, so counts do not change).
    person = models.ForeignKey(
        "population.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.CharField(_("error"), max_length=64, blank=True, help_text=_("The gateway's code."))
    provider_ref = models.CharField(_("gateway's message id"), max_length=64, blank=True)
    # Queued texts are tried from this time on; a try in progress pushes it forward (a lease).
    next_attempt_at = models.DateTimeField(_("next try"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = NoticeDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["notice", "channel", "pk"]
        indexes = [
            models.Index(fields=["channel", "status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["user", "channel"], name="delivery_user"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "channel", "user"],
                condition=models.Q(user__isnull=False),
                name="unique_delivery_user",
            ),
            models.UniqueConstraint(
                fields=["notice", "channel", "person"],
                condition=models.Q(person__isnull=False),
                name="unique_delivery_person",
            ),
            models.CheckConstraint(
                condition=models.Q(channel="app", user__isnull=False, person__isnull=True)
                | models.Q(channel="sms", user__isnull=True),
                name="delivery_channel_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} · {self.get_channel_display()} · {self.get_status_display()}"
