"""Notice pages: my notices (phones first), a notice with its "confirm receipt" button, and for
publishers the publishing form and the receipts page.

Thin views: who sees what and every write are `services`' rules, exactly as in the API.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.engagement import services
from gridgov.engagement.models import Notice

MANAGED_ON_LIST = 20
RECEIPT_ROWS = 500


@login_required
def notice_list(request):
    user = request.user
    page = Paginator(services.my_notices(user), 30).get_page(request.GET.get("page"))
    managed = []
    if services.may_publish(user):
        recent = (
            services.managed_by(user)
            .select_related("grid")
            .annotate(
                confirmed=Count("receipts", filter=Q(receipts__confirmed_at__isnull=False)),
                read=Count("receipts", filter=Q(receipts__read_at__isnull=False)),
            )
            .order_by("-created_at")[:MANAGED_ON_LIST]
        )
        managed = [(n, services.target_count(n)) for n in recent]
    return render(
        request,
        "engagement/list.html",
        {
            "page": page,
            "managed": managed,
            "may_publish": services.may_publish(user),
            "no_home_grid": _resident_without_home(user),
        },
    )


def _resident_without_home(user) -> bool:
    from gridgov.accounts.models import Role
    from gridgov.accounts.roles import roles_of

    return roles_of(user) == {Role.RESIDENT} and not services.has_home_grid(user)


@login_required
def notice_page(request, notice_id: int):
    reading = services.open_notice(request.user, notice_id)
    notice = reading.notice
    confirmed_at = getattr(notice, "my_confirmed_at", None)
    return render(
        request,
        "engagement/detail.html",
        {
            "notice": notice,
            "reading": reading,
            "confirmed_at": confirmed_at,
            "may_confirm": reading.is_recipient and notice.requires_receipt and confirmed_at is None,
        },
    )


@login_required
@require_POST
def notice_confirm(request, notice_id: int):
    reading = services.open_notice(request.user, notice_id)
    try:
        services.confirm(request.user, reading.notice)
        messages.success(request, _("Receipt confirmed. Thank you."))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("notice-page", notice_id=notice_id)


def _grid_choices(user) -> list[tuple[str, str]]:
    grids = services.publish_grids(user).values_list("code", "name", "level")
    top = min((level for _code, _name, level in grids), default=1)
    # Indent by depth so the tree reads in a plain select on a phone.
    return [(code, f"{'　' * (level - top)}{name} ({code})") for code, name, level in grids]


@login_required
def notice_new(request):
    if not services.may_publish(request.user):
        raise PermissionDenied(_("Your role may not publish notices."))
    post = request.POST
    data = services.NoticeData(audience=Notice.Audience.BUILDING_HEADS, requires_receipt=True)
    errors: dict[str, list[str]] = {}
    expires_text = ""
    if request.method == "POST":
        expires_text = post.get("expires_at", "").strip()
        data = services.NoticeData(
            title=post.get("title", ""),
            body=post.get("body", ""),
            grid_code=post.get("grid_code", ""),
            audience=post.get("audience", ""),
            requires_receipt=bool(post.get("requires_receipt")),
            expires_at=parse_datetime(expires_text) if expires_text else None,
        )
        if expires_text and data.expires_at is None:
            errors["expires_at"] = [_("Enter a date and time.")]
        else:
            try:
                notice = services.publish(request.user, data)
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                messages.success(request, _("The notice is published."))
                return redirect("notice-page", notice_id=notice.pk)
    return render(
        request,
        "engagement/new.html",
        {
            "data": data,
            "errors": errors,
            "expires_text": expires_text,
            "grids": _grid_choices(request.user),
            "audiences": Notice.Audience.choices,
        },
        status=400 if errors else 200,
    )


@login_required
def notice_receipts(request, notice_id: int):
    notice = get_object_or_404(
        services.managed_by(request.user).select_related("grid", "author"), pk=notice_id
    )
    status = request.GET.get("status", "")
    if status not in services.STATUSES:
        status = ""
    progress = services.receipt_progress(notice, status, limit=RECEIPT_ROWS)
    return render(
        request,
        "engagement/receipts.html",
        {
            "notice": notice,
            "progress": progress,
            "status": status,
            "statuses": _statuses(notice),
            "more": progress.count - len(progress.rows),
        },
    )


def _statuses(notice: Notice) -> list[tuple[str, str]]:
    if not notice.requires_receipt:
        return [("", _("Everyone")), ("unread", _("Not read")), ("read", _("Read"))]
    return [
        ("", _("Everyone")),
        ("unread", _("Not read")),
        ("read", _("Read, not confirmed")),
        ("confirmed", _("Confirmed")),
    ]
