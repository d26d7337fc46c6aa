"""Cases (事件/工单): categories, the case itself, its log, attachments and routing."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet
from gridgov.core.text import to_int
from gridgov.privacy.fields import EncryptedCharField, LookupHashField
from gridgov.privacy.masking import mask_name, mask_phone, normalize_phone
from gridgov.worktime.models import TimeUnit


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class PublicLocation(models.TextChoices):
    """How much of a report's place the public sees (Open311, the public map)."""

    EXACT = "exact", _("The point and the address")
    ROUNDED = "rounded", _("The point to about 100 m, the grid's name")
    HIDDEN = "hidden", _("Only the community's name")


class Category(models.Model):
    """A node of the case taxonomy: class → subclass (→ detail), versioned by standard."""

    class Kind(models.TextChoices):
        COMPONENT = "component", _("Component (部件)")
        MATTER = "matter", _("Matter (事项)")
        REQUEST = "request", _("Resident request (诉求)")

    standard_ref = models.CharField(_("standard"), max_length=40)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=12)
    name = models.CharField(_("name"), max_length=60)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children", verbose_name=_("parent"))
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    is_local_extension = models.BooleanField(_("local extension"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices,
                               default=Urgency.NORMAL)
    # Open to the public: an Open311 service, on the public map. Where its reports are shown.
    is_public = models.BooleanField(_("open to the public"), default=False,
                                    help_text=_("Offered as an Open311 service and shown on the public map."))
    public_location = models.CharField(
        _("public location"), max_length=8, choices=PublicLocation.choices, default=PublicLocation.ROUNDED)
    register_condition = models.TextField(_("registration condition"), blank=True)
    closing_condition = models.TextField(_("closing condition"), blank=True)
    register_limit = models.FloatField(_("time to register"), default=1)
    register_unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices,
                                     default=TimeUnit.WORKING_HOURS)
    dispatch_limit = models.FloatField(_("time to dispatch"), default=1)
    dispatch_unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices,
                                     default=TimeUnit.WORKING_HOURS)
    handle_limit = models.FloatField(_("time to handle"), default=3)
    handle_unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices,
                                   default=TimeUnit.WORKING_DAYS)
    verify_limit = models.FloatField(_("time to verify"), default=1)
    verify_unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices,
                                   default=TimeUnit.WORKING_HOURS)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["standard_ref", "kind", "code"]
        constraints = [models.UniqueConstraint(fields=["standard_ref", "kind", "code"],
                                               name="unique_category_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self):
        # An Open311 service is named by its kind and code: two public ones may not share both.
        if self.is_public and self.is_active:
            twins = Category.objects.filter(is_public=True, is_active=True, kind=self.kind, code=self.code)
            if twins.exclude(pk=self.pk).exists():
                message = _("Another public category has the code %s.") % self.code
                raise ValidationError({"is_public": message})

    def lineage(self) -> list["Category"]:
        """This category and its ancestors, most specific first."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def limit(self, stage: str) -> tuple[float, str]:
        return getattr(self, f"{stage}_limit"), getattr(self, f"{stage}_unit")


class CategoryRoute(models.Model):
    """Which department handles a category (or a whole class) in an area.

    An empty area is the district-wide default; a street's or community's route overrides it.
    """

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="routes",
                                 verbose_name=_("category"))
    area = models.ForeignKey("grids.Grid", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="category_routes", verbose_name=_("area"))
    department = models.ForeignKey("accounts.Department", on_delete=models.CASCADE,
                                   related_name="category_routes", verbose_name=_("department"))

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [models.UniqueConstraint(fields=["category", "area"], name="unique_route")]

    def __str__(self) -> str:
        return f"{self.category} → {self.department}"


class CaseQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"

    def visible_to(self, user):
        """Cases in the user's grids, dispatched to their department, or reported by them."""
        from django.db.models import Q

        from gridgov.accounts.roles import case_scope

        if not user or not user.is_authenticated:
            return self.none()
        grids, departments = case_scope(user)
        if grids.everything:
            return self
        query = grids.code_q("grid__code") | Q(reporter=user)
        if departments:
            query |= Q(department_id__in=departments)
        # Copies (抄送) to the user or their department (read and comment, never act), and the
        # cases an assisting department (协办) has a part in. Read as ids first: a subquery inside
        # this OR would keep PostgreSQL from combining the indexes of the other conditions.
        extra = set(CaseCopy.objects.to_user(user, departments).values_list("case_id", flat=True))
        if departments:
            extra |= set(AssistTask.objects.filter(department_id__in=departments)
                         .values_list("case_id", flat=True))
        if extra:
            query |= Q(pk__in=sorted(extra))
        return self.filter(query)

    def open(self):
        return self.exclude(state__in=Case.FINAL_STATES)


def case_number(pk: int, reported_at) -> str:
    """A case's number as people quote it: the local day it was reported and its id."""
    from django.utils import timezone

    return f"{timezone.localtime(reported_at):%Y%m%d}-{pk:07d}"


class Case(models.Model):
    """One reported problem or request and its whole life."""

    class Channel(models.TextChoices):
        WORKER = "worker", _("Grid worker report")
        RESIDENT = "resident", _("Resident request")
        HOTLINE = "hotline", _("Hotline")
        SELF_RESOLVED = "self_resolved", _("Solved on the spot")
        OPEN311 = "open311", _("Open311 client")

    class State(models.TextChoices):
        REPORTED = "reported", _("Reported")
        REGISTERED = "registered", _("Registered")
        REJECTED = "rejected", _("Rejected")
        MERGED = "merged", _("Merged")
        DISPATCHED = "dispatched", _("Dispatched")
        RETURNED = "returned", _("Returned to dispatcher")
        ACCEPTED = "accepted", _("Being handled")
        HANDLED = "handled", _("Result reported")
        VERIFIED = "verified", _("Verified")
        CLOSED = "closed", _("Closed")
        SUSPENDED = "suspended", _("Suspended")

    class Light(models.TextChoices):
        GREEN = "green", _("On time")
        YELLOW = "yellow", _("Due soon")
        RED = "red", _("Overdue")

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", _("Satisfied")
        BASICALLY = "basically", _("Basically satisfied")
        UNSATISFIED = "unsatisfied", _("Unsatisfied")

    class CallBack(models.TextChoices):
        SATISFIED = "satisfied", _("Satisfied")
        BASICALLY = "basically", _("Basically satisfied")
        UNSATISFIED = "unsatisfied", _("Unsatisfied")
        UNREACHABLE = "unreachable", _("Unreachable")

    FINAL_STATES = (State.REJECTED, State.MERGED, State.CLOSED)

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices,
                             default=State.REPORTED, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("category"))
    description = models.TextField(_("description"))
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="cases",
                             verbose_name=_("grid"))
    owner_grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, null=True, blank=True, related_name="owned_cases",
        verbose_name=_("command centre"),
        help_text=_("The grid whose command centre holds the case; empty: the district centre."))
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    location_source = models.CharField(_("location source"), max_length=16, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="reported_cases", verbose_name=_("reporter"))
    caller_name = EncryptedCharField(_("caller name"), blank=True)
    caller_phone = EncryptedCharField(_("caller phone"), blank=True)
    caller_phone_hash = LookupHashField(source="caller_phone", normalizer=normalize_phone)
    client_key = models.CharField(_("client key"), max_length=64, blank=True)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="cases", verbose_name=_("department"))
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices,
                               default=Urgency.NORMAL)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="merged_cases", verbose_name=_("merged into"))
    # The closed case this one repeats: the same problem back at the same place.
    recurrence_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="recurrences", verbose_name=_("recurrence of"))
    # A reported component (部件): its 17-digit identifier (GB/T 47678.5-2026) when known.
    component_id = models.CharField(_("component identifier"), max_length=17, blank=True)
    # Time limit of the current stage.
    stage_started_at = models.DateTimeField(_("stage started"), null=True, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    deadline_unit = models.CharField(_("deadline unit"), max_length=16, blank=True)
    deadline_provisional = models.BooleanField(_("provisional deadline"), default=False)
    light = models.CharField(_("light"), max_length=8, choices=Light.choices, default=Light.GREEN,
                             db_index=True)
    is_escalated_overdue = models.BooleanField(_("escalated as overdue"), default=False)
    # How many levels the lights job has climbed in this stage because the case stayed overdue.
    overdue_escalations = models.PositiveSmallIntegerField(_("overdue escalations"), default=0)
    suspended_from = models.CharField(_("suspended from"), max_length=16, blank=True)
    handle_deadline = models.DateTimeField(_("handling deadline"), null=True, blank=True)
    handled_on_time = models.BooleanField(_("handled on time"), null=True, blank=True)
    extension_requested_until = models.DateTimeField(_("extension requested until"), null=True,
                                                     blank=True)
    extension_reason = models.CharField(_("extension reason"), max_length=200, blank=True)
    is_supervised = models.BooleanField(_("under supervision"), default=False)
    return_count = models.PositiveSmallIntegerField(_("returns"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    result = models.TextField(_("result"), blank=True)
    rating = models.CharField(_("rating"), max_length=12, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    callback_result = models.CharField(_("call-back result"), max_length=12, choices=CallBack.choices,
                                       blank=True)
    callback_at = models.DateTimeField(_("called back"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened for rework"), default=0)
    reported_at = models.DateTimeField(_("reported"), db_index=True)
    registered_at = models.DateTimeField(_("registered"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at"]
        constraints = [
            models.UniqueConstraint(fields=["reporter", "client_key"], name="unique_client_key",
                                    condition=~models.Q(client_key="")),
        ]
        indexes = [
            models.Index(fields=["lat", "lon"], name="case_point"),
            # The live figures (open cases by state and light) read only this index of the open
            # cases, a few days' worth, never the table.
            models.Index(fields=["grid", "state", "light"], name="case_open_grid_state_light",
                         condition=~models.Q(state__in=("rejected", "merged", "closed"))),
            # The rollups rebuild whole days: every case touched on those days, by each timestamp.
            *(models.Index(fields=[name], name=f"case_{name}") for name in
              ("registered_at", "dispatched_at", "handled_at", "rated_at", "updated_at")),
            # "My reports", newest first (the worker's workbench, a resident's requests): a
            # busy worker has thousands; this reads the newest twenty, no sort.
            models.Index(fields=["reporter", "reported_at"], name="case_reporter_reported"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.category.name}"

    @property
    def number(self) -> str:
        """The number people quote: report date and id, e.g. 20261123-0000042."""
        return case_number(self.pk, self.reported_at)

    @staticmethod
    def id_from_number(number: str) -> int | None:
        return to_int(number.strip().split("-")[-1])

    @property
    def caller_phone_masked(self) -> str:
        return mask_phone(self.caller_phone)

    @property
    def caller_name_masked(self) -> str:
        return mask_name(self.caller_name)


class CaseLog(models.Model):
    """One step in a case's life: who did what, when, from which state to which."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="log",
                             verbose_name=_("case"))
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", verbose_name=_("actor"))
    action = models.CharField(_("action"), max_length=24)
    from_state = models.CharField(_("from"), max_length=16, blank=True)
    to_state = models.CharField(_("to"), max_length=16, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("case log entry")
        verbose_name_plural = _("case log")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_state}→{self.to_state}"

    @property
    def action_label(self) -> str:
        """The step in the reader's language (workflow actions, intake and the lights job)."""
        from gridgov.cases.workflow import ACTIONS

        if self.action in ACTIONS:
            return ACTIONS[self.action].label
        return str(LOG_ONLY_ACTIONS.get(self.action, self.action))

    @property
    def from_state_label(self) -> str:
        return str(Case.State(self.from_state).label) if self.from_state in Case.State.values else ""

    @property
    def to_state_label(self) -> str:
        return str(Case.State(self.to_state).label) if self.to_state in Case.State.values else ""


# Log entries written outside the workflow's actions.
LOG_ONLY_ACTIONS = {"report": _("Reported"), "self_resolved": _("Solved on the spot")}


def _folder(instance) -> str:
    return f"cases/{instance.case.reported_at:%Y/%m}/{instance.case_id}/{instance.sha256[:16]}"


def attachment_path(instance, filename: str) -> str:
    return f"{_folder(instance)}{instance.extension}"


def thumbnail_path(instance, filename: str) -> str:
    return f"{_folder(instance)}-thumb.jpg"


class Attachment(models.Model):
    """A photo, video or voice note attached to a case at one of its steps."""

    class Stage(models.TextChoices):
        REPORT = "report", _("Report")
        BEFORE = "before", _("Before")
        AFTER = "after", _("After")
        RESULT = "result", _("Result")
        VERIFY = "verify", _("Verification")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments",
                             verbose_name=_("case"))
    log = models.ForeignKey(CaseLog, on_delete=models.CASCADE, null=True, blank=True,
                            related_name="attachments", verbose_name=_("log entry"))
    stage = models.CharField(_("stage"), max_length=8, choices=Stage.choices)
    kind = models.CharField(_("kind"), max_length=8)
    mime = models.CharField(_("type"), max_length=40)
    extension = models.CharField(max_length=8)
    file = models.FileField(_("file"), upload_to=attachment_path)
    thumbnail = models.FileField(_("thumbnail"), upload_to=thumbnail_path, blank=True)
    # A photo as received, waiting in GRIDGOV_HELD_DIR for the job that stores it without its
    # location (core/uploads.py `hold`, cases/tasks.py); empty once stored. An empty `file`
    # with nothing held is a photo that could not be decoded.
    held = models.CharField(_("held as received"), max_length=64, blank=True, default="",
                            editable=False)
    size = models.PositiveIntegerField(_("size"))
    # Of the file as uploaded (evidence of what was received); photos are stored re-encoded
    # without their GPS data.
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage} {self.kind}"

    @property
    def status(self) -> str:
        """"processing" while the photo waits for its job, "failed" when it could not be
        stored, else "ready"."""
        if self.held:
            return "processing"
        return "ready" if self.file else "failed"


class Notification(models.Model):
    """An in-app message to one user about a case."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications", verbose_name=_("user"))
    case = models.ForeignKey(Case, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="notifications", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=24)
    text = models.CharField(_("text"), max_length=300)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class Instruction(models.Model):
    """A leader's instruction on a case (批示), and the response to it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="instructions",
                             verbose_name=_("case"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("leader"))
    text = models.TextField(_("instruction"))
    due_at = models.DateTimeField(_("respond by"), null=True, blank=True)
    created_at = models.DateTimeField(_("given"))
    response = models.TextField(_("response"), blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+", verbose_name=_("responded by"))
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)

    class Meta:
        verbose_name = _("leader instruction")
        verbose_name_plural = _("leader instructions")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "responded_at"], name="instruction_open")]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.text[:30]}"

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.responded_at is None and self.due_at is not None and self.due_at < timezone.now()


class CaseCopyQuerySet(models.QuerySet):
    def to_user(self, user, departments=None):
        """Copies addressed to the user or to a department they handle cases for."""
        from django.db.models import Q

        if departments is None:
            from gridgov.accounts.roles import case_scope

            departments = case_scope(user)[1]
        query = Q(user=user)
        if departments:
            query |= Q(department_id__in=departments)
        return self.filter(query)


class CaseCopy(models.Model):
    """A copy of a case (抄送) to a department or a person: they read and comment, never act."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="copies", verbose_name=_("case"))
    department = models.ForeignKey("accounts.Department", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="case_copies", verbose_name=_("department"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="case_copies", verbose_name=_("person"))
    copied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("copied by"))
    at = models.DateTimeField(_("copied"))

    objects = CaseCopyQuerySet.as_manager()

    class Meta:
        verbose_name = _("copy")
        verbose_name_plural = _("copies")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "department"], name="unique_copy_department",
                                    condition=models.Q(department__isnull=False)),
            models.UniqueConstraint(fields=["case", "user"], name="unique_copy_user",
                                    condition=models.Q(user__isnull=False)),
            models.CheckConstraint(name="copy_has_one_recipient",
                                   condition=models.Q(department__isnull=True, user__isnull=False)
                                   | models.Q(department__isnull=False, user__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department or self.user}"


class AssistTask(models.Model):
    """An assisting department's part of a jointly handled case (协办): its own task and deadline.

    The case's own department leads; it reports the result only when every part is done.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assist_tasks",
                             verbose_name=_("case"))
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                   related_name="assist_tasks", verbose_name=_("assisting department"))
    task = models.TextField(_("task"))
    due_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("assigned by"))
    created_at = models.DateTimeField(_("assigned"))
    result = models.TextField(_("result"), blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("done by"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("assisting task")
        verbose_name_plural = _("assisting tasks")
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "department"], name="unique_assist_task")]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.department}"

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.done_at is None and self.due_at is not None and self.due_at < timezone.now()
