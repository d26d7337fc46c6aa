"""Notice rules: who may publish where, who a notice is for, reading, confirming, progress.

Who a notice is for. A notice published to a grid reaches the grid's whole subtree, so
it is for a user when its grid is an ancestor-or-self of one of the user's (active)
assignment grids and its audience names that assignment's role:

  everyone        staff, building heads and residents
  staff           leaders, dispatchers, grid leaders and grid workers
  building_heads  building heads (楼门长: volunteers, so not "staff")
  residents       residents, by the home grid their resident assignment names

Grid codes are prefixes, so the ancestors-or-self of a grid are the grids whose code is
a prefix of its code. Notices go down the tree, never up: a street's notice reaches the
workers of its grids, a grid's notice does not reach the street's leader. The author is
not their own recipient (they follow the notice as its publisher, and are not counted in
its receipts). Roles without a grid (department handlers, auditors, the district command
centre, administrators) receive no notices; they may still publish or read the receipts
as below.

A resident whose home grid is not recorded yet (a first SMS login creates the account
without one) receives nothing, not even notices of a level-1 street: with several
streets in a district we cannot know which street is theirs, and a wrong notice (a water
cut, a road closure) is worse than none. The notices page sends them to say where they
live (`accounts.residence`), unless the registry already knew their phone.

A notice with target rules (audience "targets", see `targets`) is for exactly the people
those rules reached when it was sent: one `NoticeDelivery` row per recipient and channel,
so its recipients, counts and receipts do not move afterwards. People with an account read
it in the app (whatever their assignments); registry people without one get a text message
(`texts`), retried a bounded number of times by the minute sweep.

Who may publish: administrators, leaders, dispatchers, grid leaders and grid workers,
to a grid inside the area those roles give them (`publishing_scope`). Publishers see the
notices published inside that area (`managed_by`) with their receipts.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import active_assignments, scope_through
from gridgov.cases.models import Notification
from gridgov.core.scope import Scope
from gridgov.engagement import targets as target_rules
from gridgov.engagement import texts
from gridgov.engagement.models import Notice, NoticeDelivery, NoticeReceipt
from gridgov.grids.models import Grid

Audience = Notice.Audience
Channel = NoticeDelivery.Channel
DeliveryStatus = NoticeDelivery.Status
STAFF_ROLES = {Role.LEADER, Role.DISPATCHER, Role.GRID_LEADER, Role.GRID_WORKER}
AUDIENCE_ROLES: dict[str, set[str]] = {
    Audience.EVERYONE: STAFF_ROLES | {Role.BUILDING_HEAD, Role.RESIDENT},
    Audience.STAFF: STAFF_ROLES,
    Audience.BUILDING_HEADS: {Role.BUILDING_HEAD},
    Audience.RESIDENTS: {Role.RESIDENT},
}
PUBLISHER_ROLES = {Role.ADMIN, Role.LEADER, Role.DISPATCHER, Role.GRID_LEADER, Role.GRID_WORKER}
NOTIFY_BATCH = 1000


def audiences_of(role: str) -> set[str]:
    return {audience for audience, roles in AUDIENCE_ROLES.items() if role in roles}


# --- the publisher's side -----------------------------------------------------------------------


def publishing_scope(user) -> Scope:
    """The grids a user may publish to: the area of their publishing roles only.

    Narrower than `scope_of` for someone who is, say, a grid worker in one grid and a
    building head in another: the building head role does not publish.
    """
    return scope_through(user, PUBLISHER_ROLES)


def may_publish(user) -> bool:
    scope = publishing_scope(user)
    return scope.everything or bool(scope.roots)


def managed_by(user):
    """Notices published (or drafted) inside the user's publishing area, drafts included."""
    scope = publishing_scope(user)
    if not (scope.everything or scope.roots):
        return Notice.objects.none()
    return Notice.objects.visible_to(user).filter(scope.code_q("grid__code"))


def publish_grids(user):
    """The grids a user may choose when publishing."""
    scope = publishing_scope(user)
    return Grid.objects.visible_to(user).filter(scope.code_q("code")).order_by("code")


# --- the reader's side --------------------------------------------------------------------------


def _grid_and_prefixes(code: str) -> list[str]:
    """Every prefix of a grid code: the codes its ancestors-or-self may have."""
    return [code[:n] for n in range(1, len(code) + 1)]


def for_user(user):
    """The current notices for this user (see the module docstring)."""
    if not user or not user.is_authenticated:
        return Notice.objects.none()
    reached = NoticeDelivery.objects.filter(user=user, channel=Channel.APP).values("notice_id")
    query = Q(audience=Audience.TARGETS, pk__in=reached)
    for assignment in active_assignments(user):
        audiences = audiences_of(assignment.role)
        if not audiences or not assignment.grid_id:
            continue  # no audience for this role, or a resident without a home grid
        query |= Q(grid__code__in=_grid_and_prefixes(assignment.grid.code), audience__in=audiences)
    return Notice.objects.current().filter(query).exclude(author=user)


def has_home_grid(user) -> bool:
    """False for a resident whose home grid is not recorded yet (they receive nothing)."""
    return any(a.grid_id for a in active_assignments(user) if a.role == Role.RESIDENT)


def with_receipt_of(notices, user):
    """Annotate my_read_at / my_confirmed_at and order: unread, then unconfirmed, then newest."""
    mine = NoticeReceipt.objects.filter(notice=OuterRef("pk"), user=user)
    return (
        notices.annotate(
            my_read_at=Subquery(mine.values("read_at")[:1]),
            my_confirmed_at=Subquery(mine.values("confirmed_at")[:1]),
        )
        .annotate(
            unread=Case(
                When(my_read_at__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()
            ),
            to_confirm=Case(
                When(requires_receipt=True, my_confirmed_at__isnull=True, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .order_by("-unread", "-to_confirm", "-published_at", "-pk")
    )


def my_notices(user):
    return with_receipt_of(for_user(user), user).select_related("grid", "author")


def is_for(user, notice: Notice) -> bool:
    return for_user(user).filter(pk=notice.pk).exists()


@dataclass
class Reading:
    notice: Notice
    is_recipient: bool  # the notice is for the reader: it can be confirmed
    is_manager: bool  # published inside the reader's publishing area: receipts can be read


def open_notice(user, notice_id: int) -> Reading:
    """A notice for the user (marked read) or managed by them; 404 otherwise."""
    notice = my_notices(user).filter(pk=notice_id).first()
    is_manager = managed_by(user).filter(pk=notice_id).exists()
    if notice is not None:
        if notice.my_read_at is None:
            receipt = mark_read(user, notice)
            notice.my_read_at = receipt.read_at
        return Reading(notice, True, is_manager)
    if is_manager:
        return Reading(Notice.objects.select_related("grid", "author").get(pk=notice_id), False, True)
    raise Http404(_("No such notice for you."))


def _receipt(user, notice: Notice) -> NoticeReceipt:
    if not is_for(user, notice):
        raise PermissionDenied(_("This notice is not addressed to you."))
    receipt, _created = NoticeReceipt.objects.get_or_create(
        notice=notice, user=user, defaults={"read_at": timezone.now()}
    )
    return receipt


@transaction.atomic
def mark_read(user, notice: Notice) -> NoticeReceipt:
    """The first opening of the notice by a recipient; later openings change nothing."""
    return _receipt(user, notice)


@transaction.atomic
def confirm(user, notice: Notice) -> NoticeReceipt:
    """Confirm receipt: only a recipient, only when the notice asks for it; idempotent."""
    if not notice.requires_receipt:
        raise ValidationError({"notice": _("This notice does not ask for a receipt.")})
    receipt = _receipt(user, notice)
    if receipt.confirmed_at is None:
        # Conditional update: two taps at once keep the first time.
        NoticeReceipt.objects.filter(pk=receipt.pk, confirmed_at=None).update(confirmed_at=timezone.now())
        receipt.refresh_from_db()
    return receipt


# --- publishing ---------------------------------------------------------------------------------


@dataclass
class NoticeData:
    title: str = ""
    body: str = ""
    grid_code: str = ""
    audience: str = Audience.EVERYONE
    requires_receipt: bool = False
    expires_at: datetime | None = None
    # Target rules: any of them makes the audience "targets" (see `targets`).
    target_roles: list[str] = field(default_factory=list)
    target_tags: list[str] = field(default_factory=list)
    target_building_ids: list[int] = field(default_factory=list)
    target_person_ids: list[int] = field(default_factory=list)
    target_user_ids: list[int] = field(default_factory=list)
    sms_contact: str = ""

    @property
    def targets(self) -> target_rules.Targets:
        return target_rules.Targets(
            roles=self.target_roles,
            tags=self.target_tags,
            building_ids=self.target_building_ids,
            person_ids=self.target_person_ids,
            user_ids=self.target_user_ids,
        )


TITLE_MAX = Notice._meta.get_field("title").max_length
CONTACT_MAX = Notice._meta.get_field("sms_contact").max_length


def validate(data: NoticeData) -> tuple[Grid | None, dict[str, str]]:
    """Normalise the data in place; the grid named and per-field errors (empty when valid)."""
    errors: dict[str, str] = {}
    data.title = (data.title or "").strip()
    data.body = (data.body or "").strip()
    data.sms_contact = " ".join((data.sms_contact or "").split())
    if not data.title:
        errors["title"] = _("Enter a title.")
    elif len(data.title) > TITLE_MAX:
        errors["title"] = _("The title is too long (at most %d characters).") % TITLE_MAX
    if not data.body:
        errors["body"] = _("Enter the text of the notice.")
    if data.targets:
        data.audience = Audience.TARGETS  # the rules decide who it is for
    elif data.audience == Audience.TARGETS:
        errors["audience"] = _("Choose at least one target: roles, tags, buildings, people or users.")
    elif data.audience not in Audience.values:
        errors["audience"] = _("Choose who the notice is for.")
    if len(data.sms_contact) > CONTACT_MAX:
        errors["sms_contact"] = _("At most %d characters: a short link or a number.") % CONTACT_MAX
    if data.expires_at is not None:
        if timezone.is_naive(data.expires_at):
            data.expires_at = timezone.make_aware(data.expires_at)
        if data.expires_at <= timezone.now():
            errors["expires_at"] = _("The expiry time must be in the future.")
    grid = None
    code = (data.grid_code or "").strip()
    if not code:
        errors["grid_code"] = _("Choose the grid the notice goes to.")
    else:
        grid = Grid.objects.filter(code=code).first()
        if grid is None:
            errors["grid_code"] = _("No grid %s.") % code
    return grid, errors


def check(author, data: NoticeData) -> Grid:
    """The grid to publish to, or PermissionDenied / ValidationError({field: message})."""
    if not may_publish(author):
        raise PermissionDenied(_("Your role may not publish notices."))
    grid, errors = validate(data)
    in_area = grid is not None and publishing_scope(author).covers(grid.code)
    if in_area and data.targets:
        # Only inside the author's area: a refusal must not tell what another area holds.
        errors.update(target_rules.errors_of(author, data.targets, grid))
    if errors:
        raise ValidationError(errors)
    if not in_area:
        raise PermissionDenied(_("You may publish only to grids in your own area."))
    return grid


def _announce(notice: Notice) -> None:
    from gridgov.engagement.tasks import notify_recipients

    # After commit: the job must find the notice, and nothing is sent for a rolled-back one.
    transaction.on_commit(lambda: notify_recipients(notice.pk))


@transaction.atomic
def publish(author, data: NoticeData) -> Notice:
    """Create and publish a notice at once; its recipients are notified in the background."""
    grid = check(author, data)
    notice = Notice.objects.create(
        title=data.title,
        body=data.body,
        grid=grid,
        audience=data.audience,
        requires_receipt=data.requires_receipt,
        expires_at=data.expires_at,
        author=author,
        published_at=timezone.now(),
        target_roles=data.targets.roles,
        sms_contact=data.sms_contact,
    )
    target_rules.save(notice, data.targets)
    _announce(notice)
    return notice


def data_of(notice: Notice) -> NoticeData:
    rules = target_rules.of_notice(notice)
    return NoticeData(
        title=notice.title,
        body=notice.body,
        grid_code=notice.grid.code if notice.grid_id else "",
        audience=notice.audience,
        requires_receipt=notice.requires_receipt,
        expires_at=notice.expires_at,
        target_roles=rules.roles,
        target_tags=rules.tags,
        target_building_ids=rules.building_ids,
        target_person_ids=rules.person_ids,
        target_user_ids=rules.user_ids,
        sms_contact=notice.sms_contact,
    )


@transaction.atomic
def save_draft(author, notice: Notice) -> Notice:
    """Save an unpublished notice (the back office drafts before publishing)."""
    if notice.pk and not Notice.objects.filter(pk=notice.pk, published_at=None).exists():
        raise ValidationError({"published_at": _("A published notice cannot be changed.")})
    data = data_of(notice)
    notice.grid = check(author, data)
    notice.title, notice.body, notice.expires_at = data.title, data.body, data.expires_at
    notice.sms_contact = data.sms_contact
    if not notice.author_id:
        notice.author = author
    notice.published_at = None
    notice.save()
    return notice


@transaction.atomic
def publish_draft(actor, notice: Notice) -> Notice:
    """Publish a draft now, checked as a new notice would be."""
    notice = Notice.objects.select_for_update().select_related("grid").get(pk=notice.pk)
    if notice.published_at is not None:
        raise ValidationError({"published_at": _("This notice is already published.")})
    check(actor, data_of(notice))
    notice.published_at = timezone.now()
    notice.save(update_fields=["published_at"])
    _announce(notice)
    return notice


# --- recipients, receipts, notifications --------------------------------------------------------


def target_assignments(notice: Notice):
    """The active assignments in the notice's subtree whose role its audience names (not the author's).

    Empty for a targeted notice: its recipients are its delivery rows (`target_user_ids`)."""
    return Assignment.objects.filter(
        is_active=True,
        user__is_active=True,
        role__in=AUDIENCE_ROLES.get(notice.audience, ()),
        grid__code__startswith=notice.grid.code,
    ).exclude(user_id=notice.author_id)


def target_user_ids(notice: Notice):
    """The users the notice is for now (a subquery of user ids)."""
    if notice.is_targeted:
        return NoticeDelivery.objects.filter(notice=notice, channel=Channel.APP).values("user_id")
    return target_assignments(notice).values("user_id")


def recipients(notice: Notice):
    """The users the notice is for, plus anyone holding a receipt (moved away since), with their
    receipt joined once (`receipt_read_at`, `receipt_confirmed_at`): one outer join, not a
    subquery per person, so that the progress of a notice to 34,000 building heads stays fast."""
    holders = NoticeReceipt.objects.filter(notice=notice).values("user_id")
    return (
        get_user_model()
        .objects.filter(Q(pk__in=target_user_ids(notice)) | Q(pk__in=holders))
        .annotate(
            receipt=FilteredRelation("notice_receipts", condition=Q(notice_receipts__notice=notice)),
            receipt_read_at=F("receipt__read_at"),
            receipt_confirmed_at=F("receipt__confirmed_at"),
        )
    )


def _why(notice: Notice, user_ids: list[int]) -> dict[int, Assignment]:
    """For each of these users, the (first) assignment that makes them a recipient: for a
    targeted notice, their first assignment in the subtree; none for those who moved away."""
    if notice.is_targeted:
        rows = Assignment.objects.filter(is_active=True, grid__code__startswith=notice.grid.code)
    else:
        rows = target_assignments(notice)
    found: dict[int, Assignment] = {}
    for row in rows.filter(user_id__in=user_ids).select_related("grid").order_by("grid__code", "role"):
        found.setdefault(row.user_id, row)
    return found


STATUSES = {
    "unread": Q(receipt_read_at__isnull=True),
    "read": Q(receipt_read_at__isnull=False, receipt_confirmed_at__isnull=True),
    "confirmed": Q(receipt_confirmed_at__isnull=False),
}
CHANNELS = (Channel.APP, Channel.SMS)
# The texts' list: those that failed first (someone must call round), then those still queued.
TEXT_ORDER = {
    DeliveryStatus.FAILED: 0, DeliveryStatus.QUEUED: 1, DeliveryStatus.SENT: 2, DeliveryStatus.DELIVERED: 3
}


@dataclass
class Progress:
    target: int
    read: int
    confirmed: int
    count: int  # rows matching the channel and status asked for
    rows: list[dict]  # in the app: one per user
    notified: int = 0  # in-app notifications written when the notice was sent
    texts: dict[str, int] = field(default_factory=dict)  # text messages per status, and "recipients"
    text_rows: list[dict] = field(default_factory=list)
    names_hidden: bool = False  # sent by a special-population tag the reader may not see

    @property
    def unread(self) -> int:
        return self.target - self.read

    @property
    def unconfirmed(self) -> int:
        return self.target - self.confirmed


ROLE_LABELS = dict(Role.choices)
DELIVERY_STATUS_LABELS = dict(DeliveryStatus.choices)


def delivery_counts(notice: Notice) -> tuple[int, dict[str, int]]:
    """In-app notifications written, and text messages per status (with their total)."""
    counts = {status: 0 for status in DeliveryStatus.values}
    notified = 0
    rows = NoticeDelivery.objects.filter(notice=notice).values_list("channel", "status")
    for channel, status, n in rows.annotate(n=Count("pk")).order_by():
        if channel == Channel.APP:
            notified += n
        else:
            counts[status] += n
    counts["recipients"] = sum(counts.values())
    return notified, counts


def _status_error(channel: str) -> ValidationError:
    allowed = DeliveryStatus.values if channel == Channel.SMS else list(STATUSES)
    return ValidationError({"status": _("Status must be one of: %s.") % ", ".join(allowed)})


def receipt_progress(
    notice: Notice, status: str = "", limit: int = 100, offset: int = 0, *, channel: str = Channel.APP,
    viewer=None,
) -> Progress:
    """Who the notice is for, who has read and who has confirmed it (for the publisher), and how
    its text messages fared.

    Counts cover everyone; the rows are those of `channel` (app: users, people still to act
    first; sms: texts, failed first) with `status` (all when empty). The caller has checked the
    notice is in their publishing area; `viewer` decides whether names may be listed.
    """
    if channel not in CHANNELS:
        raise ValidationError({"channel": _("Channel must be one of: %s.") % ", ".join(CHANNELS)})
    if status and status not in (DeliveryStatus.values if channel == Channel.SMS else STATUSES):
        raise _status_error(channel)
    everyone = recipients(notice)
    # One pass over the recipients with their receipts joined gives all three counts; a status's
    # count follows from them.
    counts = everyone.aggregate(
        target=Count("pk"),
        read=Count("pk", filter=STATUSES["read"] | STATUSES["confirmed"]),
        confirmed=Count("pk", filter=STATUSES["confirmed"]),
    )
    notified, texts_by_status = delivery_counts(notice)
    progress = Progress(
        target=counts["target"], read=counts["read"], confirmed=counts["confirmed"], count=0, rows=[],
        notified=notified, texts=texts_by_status, names_hidden=not target_rules.names_visible(viewer, notice),
    )
    if channel == Channel.SMS:
        progress.count = texts_by_status[status] if status else texts_by_status["recipients"]
        if not progress.names_hidden:
            progress.text_rows = _text_rows(notice, status, limit, offset)
        return progress
    chosen = everyone.filter(STATUSES[status]) if status else everyone
    progress.count = {
        "": counts["target"],
        "unread": counts["target"] - counts["read"],
        "read": counts["read"] - counts["confirmed"],
        "confirmed": counts["confirmed"],
    }[status]
    if not progress.names_hidden:
        progress.rows = _user_rows(notice, chosen, limit, offset)
    return progress


def _user_rows(notice: Notice, chosen, limit: int, offset: int) -> list[dict]:
    # People still to act first, then by name; nulls placed explicitly (SQLite and PostgreSQL
    # differ). Why each is a recipient is read for this page only.
    ordered = chosen.order_by(
        F("receipt_confirmed_at").asc(nulls_first=True),
        F("receipt_read_at").asc(nulls_first=True),
        "name",
        "pk",
    )
    page = list(ordered.only("pk", "name", "username")[offset : offset + limit])
    why = _why(notice, [u.pk for u in page])
    rows = []
    for u in page:
        a = why.get(u.pk)
        rows.append(
            {
                "user_id": u.pk,
                "name": str(u),
                "role": a.role if a else "",
                "role_label": str(ROLE_LABELS.get(a.role, "")) if a else "",
                "grid_code": a.grid.code if a and a.grid else "",
                "grid_name": a.grid.name if a and a.grid else "",
                "read_at": u.receipt_read_at,
                "confirmed_at": u.receipt_confirmed_at,
            }
        )
    return rows


def _text_rows(notice: Notice, status: str, limit: int, offset: int) -> list[dict]:
    rows = NoticeDelivery.objects.filter(notice=notice, channel=Channel.SMS).select_related("person__grid")
    if status:
        rows = rows.filter(status=status)
    rank = Case(*(When(status=s, then=Value(n)) for s, n in TEXT_ORDER.items()), output_field=IntegerField())
    rows = rows.annotate(rank=rank).order_by("rank", "person__name", "pk")
    return [
        {
            "delivery_id": d.pk,
            "name": d.person.name if d.person else "",
            "phone": d.person.phone_masked if d.person else "",
            "grid_name": d.person.grid.name if d.person else "",
            "status": d.status,
            "status_label": str(DELIVERY_STATUS_LABELS[d.status]),
            "attempts": d.attempts,
            "error": d.error,
            "sent_at": d.sent_at,
        }
        for d in rows[offset : offset + limit]
    ]


def target_count(notice: Notice) -> int:
    """The users the notice is for in the app (texts are counted apart)."""
    if notice.is_targeted:
        return NoticeDelivery.objects.filter(notice=notice, channel=Channel.APP).count()
    return target_assignments(notice).values("user_id").distinct().count()


def notification_text(notice: Notice) -> str:
    if notice.requires_receipt:
        text = _("New notice, please confirm receipt: %(title)s") % {"title": notice.title}
    else:
        text = _("New notice: %(title)s") % {"title": notice.title}
    return text[:300]


def _batches(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for value in ids:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    yield batch  # the last one, perhaps empty


def _notify_in_app(notice: Notice, user_ids: Iterable[int], now) -> int:
    """A notification and a delivered in-app row per user, in batches."""
    text, sent = notification_text(notice), 0
    for batch in _batches(user_ids, NOTIFY_BATCH):
        sent += len(Notification.objects.bulk_create([Notification(user_id=u, kind="notice", text=text)
                                                       for u in batch]))
        NoticeDelivery.objects.bulk_create([
            NoticeDelivery(notice=notice, channel=Channel.APP, user_id=u, status=DeliveryStatus.DELIVERED,
                           attempts=1, sent_at=now)
            for u in batch
        ])
    return sent


def _queue_texts(notice: Notice, resolution: target_rules.Resolution, now) -> None:
    """A queued text per person without an account; a failed row for those without a phone."""
    rows = [
        NoticeDelivery(notice=notice, channel=Channel.SMS, person_id=p, next_attempt_at=now)
        for p in resolution.text_person_ids
    ] + [
        NoticeDelivery(notice=notice, channel=Channel.SMS, person_id=p, status=DeliveryStatus.FAILED,
                       error="no_phone")
        for p in resolution.unreachable_person_ids
    ]
    NoticeDelivery.objects.bulk_create(rows, batch_size=NOTIFY_BATCH)


def fan_out(notice_id: int) -> int:
    """Resolve the recipients once, write their delivery rows and in-app notifications; once per
    notice, however often it runs (the row lock and `notified_at`, all in one transaction)."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update()
            .select_related("grid")
            .filter(pk=notice_id, notified_at=None, published_at__isnull=False)
            .first()
        )
        if notice is None:
            return 0
        now = timezone.now()
        if notice.is_targeted:
            resolution = target_rules.resolve(notice)
            sent = _notify_in_app(notice, sorted(resolution.user_ids), now)
            _queue_texts(notice, resolution, now)
        else:
            users = target_assignments(notice).values_list("user_id", flat=True).distinct()
            rows = users.order_by("user_id").iterator(chunk_size=NOTIFY_BATCH)
            try:
                sent = _notify_in_app(notice, rows, now)
            finally:
                # On PostgreSQL the iterator is a server-side cursor: close it here, inside the
                # transaction. Left to the garbage collector (a failed batch's traceback keeps it
                # alive), it would be closed after the rollback and break the connection's next use.
                rows.close()
        notice.notified_at = now
        notice.save(update_fields=["notified_at"])
    return sent


def notify_recipients(notice_id: int) -> int:
    """Notify everyone the notice is for (in the app once; texts queued), then send its texts.
    The number of messages that went out."""
    return fan_out(notice_id) + texts.send_due(notice_id)


def pending_notices():
    """Current notices whose notifications have not gone out: their job was lost (a consumer
    killed in the middle of the fan-out rolls it back, and huey does not run a task twice)."""
    return Notice.objects.current().filter(notified_at=None)


def notify_pending() -> int:
    """Send what `notify_recipients` left undone: lost fan-outs (each notice once, under its row
    lock) and texts queued, due for a retry or left by a killed worker (claimed one by one)."""
    ids = list(pending_notices().order_by("published_at", "pk").values_list("pk", flat=True))
    return sum(fan_out(notice_id) for notice_id in ids) + texts.send_due()
