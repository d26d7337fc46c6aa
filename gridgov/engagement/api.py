"""Notice endpoints: my notices with read/confirmed flags, opening (marks read), publishing,
confirming receipt, and the publisher's receipt progress.

Who a notice is for and who may publish or follow it are `services`' rules; a notice that
is neither for the user nor inside their publishing area is 404.
"""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status
from ninja.pagination import paginate

from gridgov.core.pagination import MAX_LIMIT, MAX_OFFSET, PER_PAGE, LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.engagement import services
from gridgov.engagement.models import Notice

router = Router(tags=["notices"])


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


class NoticeDetail(NoticeOut):
    body: str
    is_recipient: bool = Field(description="the notice is for me (I may confirm it)")
    is_manager: bool = Field(description="published in my area (I may read its receipts)")
    may_confirm: bool


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


def detail_out(reading: services.Reading) -> dict:
    notice = reading.notice
    out = notice_out(notice)
    return {
        **out,
        "body": notice.body,
        "is_recipient": reading.is_recipient,
        "is_manager": reading.is_manager,
        "may_confirm": reading.is_recipient and notice.requires_receipt and not out["confirmed"],
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
    return detail_out(services.open_notice(request.auth, notice_id))


class NoticeIn(Schema):
    title: str
    body: str
    grid_code: str = Field(description="the notice reaches this grid and every grid below it")
    audience: str = Field(Notice.Audience.EVERYONE, description="everyone, staff, building_heads, residents")
    requires_receipt: bool = False
    expires_at: datetime | None = None


@router.post("/notices", response={201: NoticeDetail}, summary="Publish a notice")
def publish(request, payload: NoticeIn):
    """Admins, leaders, dispatchers, grid leaders and grid workers, to a grid in their area
    (403 otherwise). Recipients get an in-app notification."""
    notice = services.publish(request.auth, services.NoticeData(**payload.dict()))
    reading = services.Reading(notice, services.is_for(request.auth, notice), True)
    return Status(201, detail_out(reading))


@router.post("/notices/{notice_id}/confirm", response=NoticeDetail, summary="Confirm receipt")
def confirm(request, notice_id: int):
    """Only for a notice addressed to me that asks for a receipt; confirming twice keeps the
    first time."""
    reading = services.open_notice(request.auth, notice_id)
    services.confirm(request.auth, reading.notice)
    return detail_out(services.open_notice(request.auth, notice_id))


class ReceiptOut(Schema):
    user_id: int
    name: str
    role: str
    role_label: str
    grid_code: str
    grid_name: str
    read_at: datetime | None
    confirmed_at: datetime | None


class ProgressOut(Schema):
    notice_id: int
    requires_receipt: bool
    target: int = Field(description="people the notice is for")
    read: int
    confirmed: int
    count: int = Field(description="people matching the status asked for")
    users: list[ReceiptOut]


class ProgressFilter(Schema):
    status: str = Field("", description="unread, read (not confirmed), confirmed; empty: all")
    limit: int = Field(PER_PAGE, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("/notices/{notice_id}/receipts", response=ProgressOut, summary="Receipt progress")
def receipts(request, notice_id: int, filters: Query[ProgressFilter]):
    """For publishers: everyone the notice is for, read and confirmed or not, people still to
    act first. Only for notices published in the user's area (404 otherwise)."""
    notice = get_object_or_404(services.managed_by(request.auth).select_related("grid"), pk=notice_id)
    progress = services.receipt_progress(notice, filters.status, filters.limit, filters.offset)
    return {
        "notice_id": notice.pk,
        "requires_receipt": notice.requires_receipt,
        "target": progress.target,
        "read": progress.read,
        "confirmed": progress.confirmed,
        "count": progress.count,
        "users": progress.rows,
    }
