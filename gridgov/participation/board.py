"""The message board (民意直通车): posts, "me too", staff replies against a time limit on the
working calendar, lights and escalation, satisfaction, moderation, and posts turned into cases.

Who sees what: staff through the grid scope (`Post.objects.visible_to`); a resident sees the
public posts on their home grid's line of the tree (its community and street, and the grids
below) and their own posts, hidden ones included (with the reason).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from gridgov.accounts import residence
from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import roles_of
from gridgov.cases import intake
from gridgov.cases.lights import light_for
from gridgov.cases.models import Case, Notification
from gridgov.core import uploads
from gridgov.grids.codes import lineage
from gridgov.participation.models import Attachment, BlockedWord, MeToo, Post, Reply
from gridgov.privacy.masking import mask_text
from gridgov.worktime.models import TimeUnit
from gridgov.worktime.services import add_time, elapsed_share

# Staff who answer the residents of their grids; auditors read, nobody else writes replies.
ANSWERING_ROLES = {Role.LEADER, Role.DISPATCHER, Role.GRID_LEADER, Role.GRID_WORKER}
TITLE_MAX, BODY_MAX, REASON_MAX = 100, 2000, 300
PHOTOS_MAX = 9
SEVERITY = {Post.Light.GREEN: 0, Post.Light.YELLOW: 1, Post.Light.RED: 2}


class Conflict(HttpError):
    """409: the post's or the proposal's state refuses the step."""

    def __init__(self, message: str):
        super().__init__(409, message)

    def __str__(self) -> str:
        return self.message


def reply_limit() -> tuple[int, str]:
    return settings.GRIDGOV_BOARD_REPLY_DAYS, TimeUnit.WORKING_DAYS


# --- reading ---------------------------------------------------------------------------------------


def on_line(grid_code: str) -> Q:
    """Posts on one line of the tree with `grid_code`: its ancestors, itself and below."""
    return Q(grid__code__in=lineage(grid_code)[:-1]) | Q(grid__code__startswith=grid_code)


def readable(user):
    """The posts the user may open: the staff's scope, or a resident's line and own posts."""
    staff = Post.objects.visible_to(user)
    home = residence.home_grid(user)
    if home is None:
        return Post.objects.filter(Q(pk__in=staff.values("pk")) | Q(author=user))
    public = Post.objects.filter(on_line(home.code), is_public=True).exclude(state=Post.State.HIDDEN)
    return Post.objects.filter(Q(pk__in=staff.values("pk")) | Q(pk__in=public.values("pk")) | Q(author=user))


def readable_post(user, post_id: int) -> Post:
    found = readable(user).select_related("grid", "author", "case").filter(pk=post_id).first()
    if found is None or (found.state == Post.State.HIDDEN and not _may_see_hidden(user, found)):
        raise Http404(_("No such post."))
    return found


def _may_see_hidden(user, post: Post) -> bool:
    return post.author_id == user.pk or Post.objects.visible_to(user).filter(pk=post.pk).exists()


def may_answer_in(user, grid) -> bool:
    """Staff whose scope covers the grid (they answer its posts and run its deliberation)."""
    from gridgov.grids.models import Grid

    return (
        bool(roles_of(user) & ANSWERING_ROLES) and Grid.objects.visible_to(user).filter(pk=grid.pk).exists()
    )


def may_answer(user, post: Post) -> bool:
    return (
        bool(roles_of(user) & ANSWERING_ROLES) and Post.objects.visible_to(user).filter(pk=post.pk).exists()
    )


def _answerable(user, post_id: int, *, lock: bool = False) -> Post:
    post = readable_post(user, post_id)
    if not may_answer(user, post):
        raise PermissionDenied(_("Only the staff of the post's grid answer it."))
    if lock:
        post = Post.objects.select_for_update().select_related("grid", "author").get(pk=post.pk)
    return post


# --- posting ----------------------------------------------------------------------------------------


def _blocked(text: str) -> str | None:
    words = BlockedWord.objects.values_list("word", flat=True)
    return next((w for w in words if w and w in text), None)


def _check_text(fields: dict[str, tuple[str, int]], errors: dict) -> dict[str, str]:
    """Each field's text, stripped, within its length and free of blocked words."""
    cleaned = {}
    for name, (raw, limit) in fields.items():
        text = (raw or "").strip()
        if not text:
            errors[name] = _("This field is required.")
        elif len(text) > limit:
            errors[name] = _("At most %d characters.") % limit
        elif (word := _blocked(text)) is not None:
            errors[name] = _("Please leave out “%s”.") % word
        cleaned[name] = text
    return cleaned


def _where(user, grid_code: str, errors: dict):
    """A resident posts to their home grid or a grid above it (their community, street)."""
    home = residence.home_grid(user)
    if home is None:
        raise PermissionDenied(_("Tell us where you live first: only residents with a home grid post here."))
    code = (grid_code or home.code).strip()
    if code not in lineage(home.code):
        errors["grid_code"] = _("Post to your own grid or to a grid above it.")
        return None
    from gridgov.grids.models import Grid

    return Grid.objects.get(code=code)


def inspect_files(files, field: str, *, allowed=("image",), max_count: int = PHOTOS_MAX) -> list:
    """Every file checked by content before anything is written; refusals under `field`."""
    try:
        return uploads.inspect_uploads(list(files), max_count=max_count, allowed=allowed)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


def attach(
    files, field: str, *, limit: int, kept: int, actor, allowed=("image",), **owner
) -> list[Attachment]:
    """New files of a post or a meeting that keeps `kept` of its `limit`: all checked, then stored."""
    if not files:
        raise ValidationError({field: _("Attach at least one file.")})
    if len(files) > limit - kept:
        raise ValidationError(
            {
                field: _("At most %(max)d files here; %(room)d more fit.")
                % {"max": limit, "room": limit - kept}
            }
        )
    return store_files(files, inspect_files(files, field, allowed=allowed), actor, **owner)


def store_files(files, infos, actor, **owner) -> list[Attachment]:
    stored = []
    for upload, info in zip(files, infos, strict=True):
        row = Attachment(
            kind=info.kind,
            mime=info.mime,
            extension=info.extension,
            size=info.size,
            sha256=info.sha256,
            name=(getattr(upload, "name", "") or "")[-120:],
            uploaded_by=actor,
            **owner,
        )
        uploads.store(row, upload, info)
        row.save()
        stored.append(row)
    return stored


def post(
    user, *, kind: str, title: str, body: str, grid_code: str = "", is_public: bool = True, photos=()
) -> Post:
    if Role.RESIDENT not in roles_of(user):
        raise PermissionDenied(_("Only residents post on the message board."))
    errors: dict = {}
    if kind not in Post.Kind.values:
        errors["kind"] = _("Choose one of: %s.") % ", ".join(Post.Kind.values)
    texts = _check_text({"title": (title, TITLE_MAX), "body": (body, BODY_MAX)}, errors)
    grid = _where(user, grid_code, errors)
    try:
        infos = inspect_files(photos, "photos") if photos else []
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    amount, unit = reply_limit()
    with transaction.atomic():
        created = Post.objects.create(
            author=user,
            grid=grid,
            kind=kind,
            title=texts["title"],
            body=texts["body"],
            title_public=mask_text(texts["title"]),
            body_public=mask_text(texts["body"]),
            is_public=is_public,
            created_at=now,
            reply_due=add_time(now, amount, unit).at,
            reply_unit=unit,
        )
        store_files(photos, infos, user, post=created)
        _tell(_answerers(grid), _("New message on the board: %s") % created.title_public)
    return created


@transaction.atomic
def add_photos(user, post_id: int, photos) -> list[Attachment]:
    """The author adds photos while the post waits for its reply, up to nine in all."""
    found = readable_post(user, post_id)
    if found.author_id != user.pk:
        raise PermissionDenied(_("Only the author adds photos to a post."))
    found = Post.objects.select_for_update().get(pk=found.pk)
    if found.state != Post.State.WAITING:
        raise Conflict(_("Photos are added while the post waits for its reply."))
    return attach(photos, "photos", limit=PHOTOS_MAX, kept=found.attachments.count(), actor=user, post=found)


def me_too(user, post_id: int) -> tuple[Post, bool]:
    """Add one's voice to a public post (once); (post, added)."""
    found = readable_post(user, post_id)
    if not found.is_public or found.state == Post.State.HIDDEN:
        raise PermissionDenied(_("Only public posts take “me too”."))
    if found.author_id == user.pk:
        raise ValidationError({"post": _("This is your own post.")})
    try:
        with transaction.atomic():
            MeToo.objects.create(post=found, user=user)
    except IntegrityError:
        return found, False
    return found, True


# --- answering ---------------------------------------------------------------------------------------


def reply(user, post_id: int, text: str) -> Reply:
    """A staff reply. The first one stops the clock: on time when it comes by the due time."""
    errors: dict = {}
    texts = _check_text({"text": (text, BODY_MAX)}, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        found = _answerable(user, post_id, lock=True)
        if found.state == Post.State.HIDDEN:
            raise PermissionDenied(_("This post is hidden."))
        answer = Reply.objects.create(
            post=found, author=user, text=texts["text"], text_public=mask_text(texts["text"])
        )
        if found.replied_at is None:
            found.state, found.replied_at = Post.State.REPLIED, answer.created_at
            found.replied_on_time = answer.created_at <= found.reply_due
            found.save(update_fields=["state", "replied_at", "replied_on_time"])
        _tell([found.author_id], _("Your message “%s” has a reply.") % found.title_public)
    return answer


def rate(user, post_id: int, rating: str) -> Post:
    """The author says how satisfied they are with the reply (once; a second rating replaces it)."""
    if rating not in Post.Rating.values:
        raise ValidationError({"rating": _("Choose one of: %s.") % ", ".join(Post.Rating.values)})
    with transaction.atomic():
        found = Post.objects.select_for_update().filter(pk=post_id, author=user).first()
        if found is None:
            raise Http404(_("No such post."))
        if found.replied_at is None:
            raise ValidationError({"rating": _("Rate the reply once there is one.")})
        found.rating, found.rated_at = rating, timezone.now()
        found.save(update_fields=["rating", "rated_at"])
    return found


def hide(user, post_id: int, reason: str) -> Post:
    """Moderation: the post leaves everyone's view but its author's and the staff's, with the reason."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("Give the reason, at most %d characters.") % REASON_MAX})
    with transaction.atomic():
        found = _answerable(user, post_id, lock=True)
        found.state, found.hidden_reason, found.hidden_by = Post.State.HIDDEN, reason, user
        found.save(update_fields=["state", "hidden_reason", "hidden_by"])
        _tell(
            [found.author_id],
            _("Your message “%(title)s” was hidden: %(reason)s")
            % {"title": found.title_public, "reason": reason},
        )
    return found


def to_case(user, post_id: int, category_id) -> Case:
    """Turn a post into a case reported for its author at the post's grid; the case's progress
    and result then show on the post. Once per post."""
    with transaction.atomic():
        found = _answerable(user, post_id, lock=True)
        if found.case_id:
            raise ValidationError({"post": _("This post is already case %s.") % found.case.number})
        report = intake.Report(
            channel=Case.Channel.RESIDENT,
            category_id=category_id,
            description=f"{found.title}：{found.body}"[:2000],
            grid_code=found.grid.code,
            client_key=f"board-{found.pk}",
        )
        case, _created = intake.submit(found.author, report)
        found.case = case
        found.save(update_fields=["case"])
        if found.replied_at is None:
            note = _("Taken up as case %s: follow its progress here.") % case.number
            Reply.objects.create(post=found, author=user, text=note, text_public=note)
            found.state, found.replied_at = Post.State.REPLIED, timezone.now()
            found.replied_on_time = found.replied_at <= found.reply_due
            found.save(update_fields=["state", "replied_at", "replied_on_time"])
    return case


# --- the clock ----------------------------------------------------------------------------------------


def _answerers(grid) -> list[int]:
    codes = lineage(grid.code)
    return list(
        Assignment.objects.filter(
            is_active=True, grid__code__in=codes, role__in=(Role.GRID_WORKER, Role.GRID_LEADER)
        )
        .values_list("user_id", flat=True)
        .distinct()
    )


def _leaders(grid) -> list[int]:
    return list(
        Assignment.objects.filter(is_active=True, role=Role.LEADER, grid__code__in=lineage(grid.code))
        .values_list("user_id", flat=True)
        .distinct()
    )


def _tell(user_ids, text: str) -> None:
    Notification.objects.bulk_create(
        [Notification(user_id=u, kind="board", text=text[:300]) for u in sorted(set(user_ids))]
    )


def refresh_lights(now=None) -> dict[str, int]:
    """Lights of the posts waiting for a reply; a red one is escalated to the community's
    leaders once. Conditional updates: running it twice, or at once, changes nothing more."""
    now = now or timezone.now()
    counts = {"yellow": 0, "red": 0, "escalated": 0}
    waiting = Post.objects.filter(state=Post.State.WAITING).select_related("grid")
    for found in waiting.iterator(chunk_size=500):
        light = light_for(elapsed_share(found.created_at, found.reply_due, now, found.reply_unit))
        if SEVERITY[light] > SEVERITY[found.light]:
            with transaction.atomic():
                if Post.objects.filter(pk=found.pk, light=found.light).update(light=light):
                    counts[light] += 1
                    if light == Post.Light.RED and Post.objects.filter(pk=found.pk, escalated_at=None).update(
                        escalated_at=now
                    ):
                        counts["escalated"] += 1
                        _tell(
                            _leaders(found.grid) + _answerers(found.grid),
                            _("Overdue on the board: “%s” has had no reply in time.") % found.title_public,
                        )
    return counts
