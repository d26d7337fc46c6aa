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

Who may publish: administrators, leaders, dispatchers, grid leaders and grid workers,
to a grid inside the area those roles give them (`publishing_scope`). Publishers see the
notices published inside that area (`managed_by`) with their receipts.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import active_assignments, scope_through
from gridgov.cases.models import Notification
from gridgov.core.scope import Scope
from gridgov.engagement.models import Notice, NoticeReceipt
from gridgov.grids.models import Grid

Audience = Notice.Audience
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
    query, any_grid = Q(), False
    for assignment in active_assignments(user):
        audiences = audiences_of(assignment.role)
        if not audiences or not assignment.grid_id:
            continue  # no audience for this role, or a resident without a home grid
        query |= Q(grid__code__in=_grid_and_prefixes(assignment.grid.code), audience__in=audiences)
        any_grid = True
    if not any_grid:
        return Notice.objects.none()
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


TITLE_MAX = Notice._meta.get_field("title").max_length


def validate(data: NoticeData) -> tuple[Grid | None, dict[str, str]]:
    """Normalise the data in place; the grid named and per-field errors (empty when valid)."""
    errors: dict[str, str] = {}
    data.title = (data.title or "").strip()
    data.body = (data.body or "").strip()
    if not data.title:
        errors["title"] = _("Enter a title.")
    elif len(data.title) > TITLE_MAX:
        errors["title"] = _("The title is too long (at most %d characters).") % TITLE_MAX
    if not data.body:
        errors["body"] = _("Enter the text of the notice.")
    if data.audience not in Audience.values:
        errors["audience"] = _("Choose who the notice is for.")
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
    if errors:
        raise ValidationError(errors)
    if not publishing_scope(author).covers(grid.code):
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
    )
    _announce(notice)
    return notice


def data_of(notice: Notice) -> NoticeData:
    return NoticeData(
        title=notice.title,
        body=notice.body,
        grid_code=notice.grid.code if notice.grid_id else "",
        audience=notice.audience,
        requires_receipt=notice.requires_receipt,
        expires_at=notice.expires_at,
    )


@transaction.atomic
def save_draft(author, notice: Notice) -> Notice:
    """Save an unpublished notice (the back office drafts before publishing)."""
    if notice.pk and not Notice.objects.filter(pk=notice.pk, published_at=None).exists():
        raise ValidationError({"published_at": _("A published notice cannot be changed.")})
    data = data_of(notice)
    notice.grid = check(author, data)
    notice.title, notice.body, notice.expires_at = data.title, data.body, data.expires_at
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
    """The active assignments in the notice's subtree whose role its audience names (not the author's)."""
    return Assignment.objects.filter(
        is_active=True,
        user__is_active=True,
        role__in=AUDIENCE_ROLES[notice.audience],
        grid__code__startswith=notice.grid.code,
    ).exclude(user_id=notice.author_id)


def recipients(notice: Notice):
    """The users the notice is for, plus anyone holding a receipt (moved away since),
    annotated with their receipt and the (first) assignment that makes them a recipient."""
    targets = target_assignments(notice)
    receipts = NoticeReceipt.objects.filter(notice=notice)
    mine = receipts.filter(user=OuterRef("pk"))
    why = targets.filter(user=OuterRef("pk")).order_by("grid__code", "role")
    return (
        get_user_model()
        .objects.filter(Q(pk__in=targets.values("user_id")) | Q(pk__in=receipts.values("user_id")))
        .annotate(
            receipt_read_at=Subquery(mine.values("read_at")[:1]),
            receipt_confirmed_at=Subquery(mine.values("confirmed_at")[:1]),
            target_role=Subquery(why.values("role")[:1]),
            target_grid_code=Subquery(why.values("grid__code")[:1]),
            target_grid_name=Subquery(why.values("grid__name")[:1]),
        )
    )


STATUSES = {
    "unread": Q(receipt_read_at__isnull=True),
    "read": Q(receipt_read_at__isnull=False, receipt_confirmed_at__isnull=True),
    "confirmed": Q(receipt_confirmed_at__isnull=False),
}


@dataclass
class Progress:
    target: int
    read: int
    confirmed: int
    count: int  # rows matching the status asked for
    rows: list[dict]

    @property
    def unread(self) -> int:
        return self.target - self.read

    @property
    def unconfirmed(self) -> int:
        return self.target - self.confirmed


ROLE_LABELS = dict(Role.choices)


def receipt_progress(notice: Notice, status: str = "", limit: int = 100, offset: int = 0) -> Progress:
    """Who the notice is for, who has read and who has confirmed it (for the publisher).

    Counts cover everyone; the rows are those of `status` (all when empty), people still
    to act first. The caller has checked the notice is in their publishing area.
    """
    if status and status not in STATUSES:
        raise ValidationError({"status": _("Status must be one of: %s.") % ", ".join(STATUSES)})
    everyone = recipients(notice)
    counts = everyone.aggregate(
        target=Count("pk"),
        read=Count("pk", filter=STATUSES["read"] | STATUSES["confirmed"]),
        confirmed=Count("pk", filter=STATUSES["confirmed"]),
    )
    chosen = everyone.filter(STATUSES[status]) if status else everyone
    # People still to act first; nulls placed explicitly (SQLite and PostgreSQL differ).
    ordered = chosen.order_by(
        F("receipt_confirmed_at").asc(nulls_first=True),
        F("receipt_read_at").asc(nulls_first=True),
        "target_grid_code",
        "name",
        "pk",
    )
    rows = [
        {
            "user_id": u.pk,
            "name": str(u),
            "role": u.target_role or "",
            "role_label": str(ROLE_LABELS.get(u.target_role, "")) if u.target_role else "",
            "grid_code": u.target_grid_code or "",
            "grid_name": u.target_grid_name or "",
            "read_at": u.receipt_read_at,
            "confirmed_at": u.receipt_confirmed_at,
        }
        for u in ordered[offset : offset + limit]
    ]
    return Progress(
        target=counts["target"],
        read=counts["read"],
        confirmed=counts["confirmed"],
        count=chosen.count() if status else counts["target"],
        rows=rows,
    )


def target_count(notice: Notice) -> int:
    return target_assignments(notice).values("user_id").distinct().count()


def notification_text(notice: Notice) -> str:
    if notice.requires_receipt:
        text = _("New notice, please confirm receipt: %(title)s") % {"title": notice.title}
    else:
        text = _("New notice: %(title)s") % {"title": notice.title}
    return text[:300]


def notify_recipients(notice_id: int) -> int:
    """In-app notifications to everyone the notice is for; once per notice, however often it runs."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update()
            .select_related("grid")
            .filter(pk=notice_id, notified_at=None, published_at__isnull=False)
            .first()
        )
        if notice is None:
            return 0
        text = notification_text(notice)
        users = target_assignments(notice).values_list("user_id", flat=True).distinct().order_by("user_id")
        sent = 0
        batch: list[Notification] = []
        for user_id in users.iterator(chunk_size=NOTIFY_BATCH):
            batch.append(Notification(user_id=user_id, kind="notice", text=text))
            if len(batch) >= NOTIFY_BATCH:
                sent += len(Notification.objects.bulk_create(batch))
                batch = []
        sent += len(Notification.objects.bulk_create(batch))
        notice.notified_at = timezone.now()
        notice.save(update_fields=["notified_at"])
    return sent


def pending_notices():
    """Current notices whose notifications have not gone out: their job was lost (a consumer
    killed in the middle of the fan-out rolls it back, and huey does not run a task twice)."""
    return Notice.objects.current().filter(notified_at=None)


def notify_pending() -> int:
    """Send what `notify_recipients` left undone; safe beside it (each notice once, under its row lock)."""
    ids = list(pending_notices().order_by("published_at", "pk").values_list("pk", flat=True))
    return sum(notify_recipients(notice_id) for notice_id in ids)
