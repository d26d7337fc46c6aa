"""The mediation centre (矛调中心 "1+5+N"): one window takes every dispute, mediates it and, when
mediation fails, refers it on.

Visitors are registered at the front desk with a queue number per centre and day; a dispute
has its parties, sessions, agreement or referral, return visits and a log of every step.
Names, phones and ID numbers are encrypted at rest with keyed hashes beside them; every
queryset is scoped by the registry rule (only the roles that keep personal data read them).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet
from gridgov.population.codes import normalize_id_number
from gridgov.privacy.fields import EncryptedCharField, LookupHashField
from gridgov.privacy.masking import mask_id_number, mask_name, mask_phone, normalize_phone


class CentreQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"


class Centre(models.Model):
    """A mediation centre bound to a grid (a street's or a community's)."""

    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = CentreQuerySet.as_manager()

    class Meta:
        verbose_name = _("mediation centre")
        verbose_name_plural = _("mediation centres")
        ordering = ["grid__code", "name"]

    def __str__(self) -> str:
        return self.name


class WindowQuerySet(ScopedQuerySet):
    scope_grid_field = "centre__grid"


class Window(models.Model):
    """A window of the centre, staffed by a department (the "5+N" bodies sitting in)."""

    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="windows", verbose_name=_("centre")
    )
    number = models.PositiveSmallIntegerField(_("window number"))
    name = models.CharField(_("name"), max_length=60)
    department = models.ForeignKey(
        "accounts.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = WindowQuerySet.as_manager()

    class Meta:
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        ordering = ["centre", "number"]
        constraints = [models.UniqueConstraint(fields=["centre", "number"], name="mediation_window_number")]

    def __str__(self) -> str:
        return f"{self.centre} · {self.number} {self.name}"


class PersonalQuerySet(ScopedQuerySet):
    """Rows with personal data: read only by the roles that keep the registry (PIPL Art. 34)."""

    scope_rule = "registry"


class VisitorQuerySet(PersonalQuerySet):
    scope_grid_field = "centre__grid"


class Visitor(models.Model):
    """A person who came to the centre; found again by their phone's hash at the same centre."""

    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="visitors", verbose_name=_("centre")
    )
    name = EncryptedCharField(_("name"))
    phone = EncryptedCharField(_("mobile phone"))
    phone_hash = LookupHashField(source="phone", normalizer=normalize_phone)
    id_number = EncryptedCharField(_("ID number"), blank=True)
    id_number_hash = LookupHashField(source="id_number", normalizer=normalize_id_number)
    home_grid = models.ForeignKey(
        "grids.Grid",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("grid lived in"),
    )
    created_at = models.DateTimeField(_("first visit"), auto_now_add=True)

    objects = VisitorQuerySet.as_manager()

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return mask_name(self.name)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)


class VisitQuerySet(PersonalQuerySet):
    scope_grid_field = "centre__grid"


class Visit(models.Model):
    """One visit to the centre, with its queue number of the day (1, 2, 3…)."""

    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="visits", verbose_name=_("centre")
    )
    visitor = models.ForeignKey(
        Visitor, on_delete=models.PROTECT, related_name="visits", verbose_name=_("visitor")
    )
    day = models.DateField(_("day"))
    queue_number = models.PositiveIntegerField(_("queue number"))
    window = models.ForeignKey(
        Window,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("window"),
    )
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-day", "-queue_number"]
        # The row lock on the centre hands out numbers one at a time; this backs it up.
        constraints = [
            models.UniqueConstraint(fields=["centre", "day", "queue_number"], name="mediation_queue_number")
        ]

    def __str__(self) -> str:
        return f"{self.centre} {self.day} #{self.queue_number}"


class DisputeQuerySet(PersonalQuerySet):
    scope_grid_field = "grid"


class Dispute(models.Model):
    class Kind(models.TextChoices):
        NEIGHBOUR = "neighbour", _("Neighbour dispute")
        FAMILY = "family", _("Marriage and family dispute")
        LABOUR = "labour", _("Labour dispute or wage arrears")
        PROPERTY = "property", _("Property management dispute")
        LAND = "land", _("Land dispute")
        CONSUMER = "consumer", _("Consumer dispute")
        TRAFFIC = "traffic", _("Traffic accident dispute")
        OTHER = "other", _("Other dispute")

    class Risk(models.TextChoices):
        LOW = "low", _("Low risk")
        MEDIUM = "medium", _("Medium risk")
        HIGH = "high", _("High risk")

    class State(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        MEDIATING = "mediating", _("Being mediated")
        AGREED = "agreed", _("Agreement reached")
        CLOSED = "closed", _("Closed: the agreement held")
        REFERRED = "referred", _("Referred")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        RETURNED = "returned", _("Returned to the case")

    class Light(models.TextChoices):
        GREEN = "green", _("Green")
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")

    OPEN_STATES = (State.REGISTERED, State.MEDIATING)
    RESOLVED_STATES = (State.AGREED, State.CLOSED)

    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("centre")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    visit = models.ForeignKey(
        Visit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("from the visit"),
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("from the case"),
    )
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    amount = models.DecimalField(
        _("amount involved (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    people_involved = models.PositiveIntegerField(_("people involved"), default=1)
    threat_of_violence = models.BooleanField(_("threat of violence"), default=False)
    repeated_petitions = models.BooleanField(_("repeated petitions"), default=False)
    risk = models.CharField(_("risk"), max_length=8, choices=Risk.choices, default=Risk.LOW)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.REGISTERED, db_index=True
    )
    window = models.ForeignKey(
        Window,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("window"),
    )
    department = models.ForeignKey(
        "accounts.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
    )
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("mediator"),
    )
    started_at = models.DateTimeField(_("clock started"))
    deadline = models.DateTimeField(_("deadline"), db_index=True)
    deadline_unit = models.CharField(_("deadline unit"), max_length=16)
    light = models.CharField(_("light"), max_length=8, choices=Light.choices, default=Light.GREEN)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    overdue_told_at = models.DateTimeField(_("overdue notice sent"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    returned_to_case_at = models.DateTimeField(_("returned to the case"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    created_at = models.DateTimeField(_("registered"), db_index=True)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ScopedByDispute(PersonalQuerySet):
    scope_grid_field = "dispute__grid"


class Party(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANIZATION = "organization", _("Organization")

    class Role(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        RESPONDENT = "respondent", _("Respondent")
        OTHER = "other", _("Other party")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="parties", verbose_name=_("dispute")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PERSON)
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    name = EncryptedCharField(_("name"))
    phone = EncryptedCharField(_("phone"), blank=True)
    phone_hash = LookupHashField(source="phone", normalizer=normalize_phone)
    id_number = EncryptedCharField(_("ID number"), blank=True)
    id_number_hash = LookupHashField(source="id_number", normalizer=normalize_id_number)

    objects = ScopedByDispute.as_manager()

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["dispute", "id"]

    def __str__(self) -> str:
        return mask_name(self.name)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class Session(models.Model):
    """A mediation session: when, who took part, what was said."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("dispute")
    )
    held_at = models.DateTimeField(_("held"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    participants = models.CharField(_("participants"), max_length=300)
    notes = models.TextField(_("notes"))
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("mediator")
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = ScopedByDispute.as_manager()

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["held_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute} · {self.held_at:%Y-%m-%d}"


class SessionAttachmentQuerySet(PersonalQuerySet):
    scope_grid_field = "session__dispute__grid"


class SessionAttachment(models.Model):
    """A photo, recording or document of a session, inspected by content (`core/uploads.py`)."""

    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("session")
    )
    file = models.FileField(_("file"), upload_to="mediation/%Y/%m/")
    kind = models.CharField(_("kind"), max_length=10)
    mime = models.CharField(_("MIME type"), max_length=60)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    objects = SessionAttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("session attachment")
        verbose_name_plural = _("session attachments")

    def __str__(self) -> str:
        return self.file.name


class Agreement(models.Model):
    """The mediation agreement (调解协议书): its terms; the PDF names the parties."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("dispute")
    )
    terms = models.TextField(_("terms"))
    signed_on = models.DateField(_("signed on"))
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("mediator")
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = ScopedByDispute.as_manager()

    class Meta:
        verbose_name = _("mediation agreement")
        verbose_name_plural = _("mediation agreements")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.dispute} · {self.signed_on}"


class Referral(models.Model):
    """Mediation failed: the dispute goes on to a court, arbitration, … and is followed there."""

    class Kind(models.TextChoices):
        LITIGATION = "litigation", _("Litigation")
        ARBITRATION = "arbitration", _("Arbitration")
        JUDICIAL_CONFIRMATION = "judicial_confirmation", _("Judicial confirmation")
        PETITION_OFFICE = "petition_office", _("Petition office")
        DEPARTMENT = "department", _("Another department")

    class State(models.TextChoices):
        SENT = "sent", _("Sent")
        RECEIVED = "received", _("Received")
        CONCLUDED = "concluded", _("Concluded")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("dispute")
    )
    kind = models.CharField(_("referred to"), max_length=24, choices=Kind.choices)
    to_name = models.CharField(_("receiving body"), max_length=100)
    department = models.ForeignKey(
        "accounts.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SENT)
    sent_at = models.DateTimeField(_("sent"))
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)

    objects = ScopedByDispute.as_manager()

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.dispute} → {self.to_name}"


class ReturnVisit(models.Model):
    """The call-back some days after an agreement: did it hold? A broken one reopens the dispute."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="return_visits", verbose_name=_("dispute")
    )
    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="return_visits", verbose_name=_("agreement")
    )
    due_on = models.DateField(_("due on"), db_index=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    held = models.BooleanField(_("agreement held"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visited by"),
    )

    objects = ScopedByDispute.as_manager()

    class Meta:
        verbose_name = _("return visit")
        verbose_name_plural = _("return visits")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"{self.dispute} · {self.due_on}"


class DisputeLog(models.Model):
    """One step of a dispute: written by `workflow.act` only."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="log", verbose_name=_("dispute")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=24)
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("time"), db_index=True)

    objects = ScopedByDispute.as_manager()

    class Meta:
        verbose_name = _("dispute log entry")
        verbose_name_plural = _("dispute log")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute} · {self.action}"
