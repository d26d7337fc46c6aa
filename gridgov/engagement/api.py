"""Notice endpoints: my notices with read/confirmed flags, opening (marks read), publishing
(to an audience, or to target rules: roles, tags, buildings, people, users), confirming
receipt, and the publisher's receipt progress per channel (in the app, by text message).

Who a notice is for and who may publish or follow it are `services`' rules; a notice that
is neither for the user nor inside their publishing area is 404.
"""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status
from ninja.pagination import paginate
from pydantic import StrictStr, conint

from gridgov.core.pagination import MAX_LIMIT, MAX_OFFSET, PER_PAGE, LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.engagement import services
from gridgov.engagement import targets as target_rules
from gridgov.engagement.models import Notice, NoticeDelivery

router = Router(tags=["notices"])
# Ids in a list: whole numbers only (not true or "7"), within the database's range.
Id = conint(strict=True, ge=1, le=2**63 - 1)


class NoticeOut(Schema):
    id: int
    title: str
    excerpt: str = Field(description="the start of the text")
    grid: GridRef
    audience: str
    requires_receipt: bool
    author: str
    published_at: datetime | None
    expires_at: datetime | None
    read: bool = Field(description="I have opened it")
    confirmed: bool = Field(description="I have confirmed receipt")


class TargetsOut(Schema):
    roles: list[str]
    tags: list[str] = Field(description="tag codes (special-population ones only for readers allowed them)")
    building_ids: list[int]
    person_ids: list[int]
    user_ids: list[int]
    sms_contact: str


class NoticeDetail(NoticeOut):
    body: str
    is_recipient: bool = Field(description="the notice is for me (I may confirm it)")
    is_manager: bool = Field(description="published in my area (I may read its receipts)")
    may_confirm: bool
    targets: TargetsOut | None = Field(description="the target rules, for the notice's managers only")


EXCERPT = 80


def notice_out(notice: Notice) -> dict:
    read_at = getattr(notice, "my_read_at", None)
    confirmed_at = getattr(notice, "my_confirmed_at", None)
    return {
        "id": notice.pk,
        "title": notice.title,
        "excerpt": notice.body[:EXCERPT],
        "grid": {"code": notice.grid.code, "name": notice.grid.name},
        "audience": notice.audience,
        "requires_receipt": notice.requires_receipt,
        "author": str(notice.author),
        "published_at": notice.published_at,
        "expires_at": notice.expires_at,
        "read": read_at is not None,
        "confirmed": confirmed_at is not None,
    }


def targets_out(notice: Notice, viewer) -> dict | None:
    if not notice.is_targeted:
        return None
    rules = target_rules.of_notice(notice)
    tags = rules.tags if target_rules.names_visible(viewer, notice) else list(
        notice.target_tags.filter(is_sensitive=False).values_list("code", flat=True))
    return {
        "roles": rules.roles,
        "tags": tags,
        "building_ids": rules.building_ids,
        "person_ids": rules.person_ids,
        "user_ids": rules.user_ids,
        "sms_contact": notice.sms_contact,
    }


def detail_out(reading: services.Reading, viewer=None) -> dict:
    notice = reading.notice
    out = notice_out(notice)
    return {
        **out,
        "body": notice.body,
        "is_recipient": reading.is_recipient,
        "is_manager": reading.is_manager,
        "may_confirm": reading.is_recipient and notice.requires_receipt and not out["confirmed"],
        "targets": targets_out(notice, viewer) if reading.is_manager else None,
    }


@router.get("/notices", response=list[NoticeOut], summary="The notices for me")
@paginate(Pagination)
def my_notices(request, unread: bool = False):
    """Current notices addressed to me (my grids and every grid above them, my roles):
    unread first, then those still to confirm, then the newest."""
    rows = services.my_notices(request.auth)
    if unread:
        rows = rows.filter(my_read_at__isnull=True)
    return LazyPage(rows, notice_out)


@router.get("/notices/{notice_id}", response=NoticeDetail, summary="Open a notice (marks it read)")
def open_notice(request, notice_id: int):
    """A notice for me is marked read the first time; a publisher may open the notices of
    their area. 404 otherwise."""
    return detail_out(services.open_notice(request.auth, notice_id), request.auth)


class NoticeIn(Schema):
    title: str
    body: str
    grid_code: str = Field(description="the notice reaches this grid and every grid below it")
    audience: str = Field(
        Notice.Audience.EVERYONE,
        description="everyone, staff, building_heads, residents; ignored (targets) when any target is given",
    )
    requires_receipt: bool = False
    expires_at: datetime | None = None
    target_roles: list[StrictStr] = Field(
        [], description="users holding one of these roles in the grid's subtree: " + ", ".join(
            target_rules.TARGET_ROLES))
    target_tags: list[StrictStr] = Field(
        [], description="registry people with one of these tag codes (special-population tags need the "
                        "permission to see them)")
    target_building_ids: list[Id] = Field([], description="the buildings' heads and the people living there")
    target_person_ids: list[Id] = Field([], description="registry people")
    target_user_ids: list[Id] = Field([], description="users with a role in the grid's subtree")
    sms_contact: str = Field("", description="a short link or number ending the text sent to people "
                                             "without an account")


@router.post("/notices", response={201: NoticeDetail}, summary="Publish a notice")
def publish(request, payload: NoticeIn):
    """Admins, leaders, dispatchers, grid leaders and grid workers, to a grid in their area
    (403 otherwise). The recipients are the grid subtree's people of the audience or, when
    targets are given, the union of the targets inside the subtree (400 per field for a
    target outside it). Users get an in-app notification; registry people without an account
    a text message."""
    notice = services.publish(request.auth, services.NoticeData(**payload.dict()))
    reading = services.Reading(notice, services.is_for(request.auth, notice), True)
    return Status(201, detail_out(reading, request.auth))


@router.post("/notices/{notice_id}/confirm", response=NoticeDetail, summary="Confirm receipt")
def confirm(request, notice_id: int):
    """Only for a notice addressed to me that asks for a receipt; confirming twice keeps the
    first time."""
    reading = services.open_notice(request.auth, notice_id)
    services.confirm(request.auth, reading.notice)
    return detail_out(services.open_notice(request.auth, notice_id), request.auth)


class ReceiptOut(Schema):
    user_id: int
    name: str
    role: str
    role_label: str
    grid_code: str
    grid_name: str
    read_at: datetime | None
    confirmed_at: datetime | None


class TextReceiptOut(Schema):
    delivery_id: int
    name: str = Field(description="the registry person (empty if removed since)")
    phone: str = Field(description="masked")
    grid_name: str
    status: str = Field(description="queued, sent, failed, delivered")
    status_label: str
    attempts: int
    error: str = Field(description="the gateway's code of the last failure")
    sent_at: datetime | None


class AppChannelOut(Schema):
    recipients: int = Field(description="users the notice is for in the app")
    notified: int = Field(description="in-app notifications written when it was sent")
    read: int
    confirmed: int


class SmsChannelOut(Schema):
    recipients: int = Field(description="registry people without an account")
    queued: int = Field(description="waiting for their first try or a retry")
    sent: int = Field(description="taken by the gateway")
    delivered: int = Field(description="confirmed by a delivery report (no adapter reports them yet)")
    failed: int = Field(description="given up: no phone, refused, or retries spent")


class ChannelsOut(Schema):
    app: AppChannelOut
    sms: SmsChannelOut


class ProgressOut(Schema):
    notice_id: int
    requires_receipt: bool
    target: int = Field(description="people the notice is for in the app")
    read: int
    confirmed: int
    channels: ChannelsOut
    count: int = Field(description="rows matching the channel and status asked for")
    names_hidden: bool = Field(description="sent by a special-population tag I may not see: counts only")
    users: list[ReceiptOut] = Field(description="channel app")
    texts: list[TextReceiptOut] = Field(description="channel sms")


class ProgressFilter(Schema):
    channel: str = Field(NoticeDelivery.Channel.APP, description="app (users) or sms (text messages)")
    status: str = Field(
        "", description="app: unread, read (not confirmed), confirmed; sms: queued, sent, delivered, failed; "
                        "empty: all")
    limit: int = Field(PER_PAGE, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("/notices/{notice_id}/receipts", response=ProgressOut, summary="Receipt progress")
def receipts(request, notice_id: int, filters: Query[ProgressFilter]):
    """For publishers: everyone the notice is for, read and confirmed or not, people still to
    act first, and its text messages (failed first). Only for notices published in the user's
    area (404 otherwise)."""
    notice = get_object_or_404(services.managed_by(request.auth).select_related("grid"), pk=notice_id)
    progress = services.receipt_progress(
        notice, filters.status, filters.limit, filters.offset, channel=filters.channel, viewer=request.auth
    )
    texts = progress.texts
    return {
        "notice_id": notice.pk,
        "requires_receipt": notice.requires_receipt,
        "target": progress.target,
        "read": progress.read,
        "confirmed": progress.confirmed,
        "channels": {
            "app": {"recipients": progress.target, "notified": progress.notified, "read": progress.read,
                    "confirmed": progress.confirmed},
            "sms": {key: texts[key] for key in ("recipients", "queued", "sent", "delivered", "failed")},
        },
        "count": progress.count,
        "names_hidden": progress.names_hidden,
        "users": progress.rows,
        "texts": progress.text_rows,
    }
