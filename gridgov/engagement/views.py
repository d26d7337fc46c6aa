"""Notice pages: my notices (phones first), a notice with its "confirm receipt" button, and for
publishers the publishing form (an audience, or targets: roles, tags, and buildings, people
or users found with the form's search box, no script needed) and the receipts page per channel.

Thin views: who sees what and every write are `services`' rules, exactly as in the API.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts.models import Role
from gridgov.core.text import to_int
from gridgov.engagement import services
from gridgov.engagement import targets as target_rules
from gridgov.engagement.models import Notice, NoticeDelivery
from gridgov.population.models import Building, Person
from gridgov.population.services import search_people, visible_tag_types

MANAGED_ON_LIST = 20
RECEIPT_ROWS = 100  # a page of the receipts list; the rest page by page
FOUND_ROWS = 20
ID_FIELDS = ("target_building_ids", "target_person_ids", "target_user_ids")


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


def _ids(post, name: str, errors: dict) -> list[int]:
    ids = [to_int(value) for value in post.getlist(name)]
    if any(i is None or i < 1 for i in ids):
        errors[name] = [_("Choose from the list.")]
    return [i for i in ids if i]


def _posted(post, errors: dict) -> tuple[services.NoticeData, str]:
    expires_text = post.get("expires_at", "").strip()
    data = services.NoticeData(
        title=post.get("title", ""),
        body=post.get("body", ""),
        grid_code=post.get("grid_code", ""),
        audience=post.get("audience", ""),
        requires_receipt=bool(post.get("requires_receipt")),
        expires_at=parse_datetime(expires_text) if expires_text else None,
        target_roles=post.getlist("target_roles"),
        target_tags=post.getlist("target_tags"),
        sms_contact=post.get("sms_contact", ""),
        **{name: _ids(post, name, errors) for name in ID_FIELDS},
    )
    if expires_text and data.expires_at is None:
        errors["expires_at"] = [_("Enter a date and time.")]
    return data, expires_text


def _label(obj) -> str:
    if isinstance(obj, Building):
        return f"{obj} · {obj.grid.name}"
    if isinstance(obj, Person):
        phone = obj.phone_masked or _("no phone")
        return f"{obj.name} · {phone} · {obj.grid.name}"
    return f"{obj} · {obj.phone_masked}" if obj.phone else str(obj)


def _staff_in_area(user):
    area = services.publishing_scope(user).code_q("assignments__grid__code")
    return get_user_model().objects.filter(area, is_active=True, assignments__is_active=True).distinct()


def _found(user, q: str) -> dict[str, list]:
    """Buildings, registry people and users of the publisher's area matching the search box."""
    q = q.strip()
    if not q:
        return {name: [] for name in ID_FIELDS}
    area = services.publishing_scope(user).code_q("grid__code")
    buildings = (Building.objects.visible_to(user).filter(area).select_related("grid", "compound")
                 .filter(Q(name__contains=q) | Q(address__contains=q) | Q(compound__name__contains=q)))
    people = search_people(user, q).filter(area, is_active=True).select_related("grid")
    users = _staff_in_area(user).filter(Q(name__contains=q) | Q(username=q))
    return {
        "target_building_ids": list(buildings.order_by("grid__code", "name", "pk")[:FOUND_ROWS]),
        "target_person_ids": list(people.order_by("grid__code", "name", "pk")[:FOUND_ROWS]),
        "target_user_ids": list(users.order_by("name", "pk")[:FOUND_ROWS]),
    }


def _chosen(user, data: services.NoticeData) -> dict[str, list]:
    """The chosen buildings, people and users, named where the publisher may see them."""
    models_ = {
        "target_building_ids": Building.objects.visible_to(user).select_related("grid", "compound"),
        "target_person_ids": Person.objects.visible_to(user).select_related("grid"),
        "target_user_ids": _staff_in_area(user),
    }
    chosen = {}
    for name, rows in models_.items():
        ids = getattr(data, name)
        known = {obj.pk: obj for obj in rows.filter(pk__in=ids)} if ids else {}
        chosen[name] = [(i, _label(known[i]) if i in known else f"#{i}") for i in ids]
    return chosen


def _target_choices(user, data: services.NoticeData, found: dict) -> list[dict]:
    chosen = _chosen(user, data)
    titles = {"target_building_ids": _("buildings"), "target_person_ids": _("registered people"),
              "target_user_ids": _("users")}
    return [
        {
            "name": name,
            "title": titles[name],
            "chosen": chosen[name],
            "found": [(obj.pk, _label(obj)) for obj in found[name] if obj.pk not in getattr(data, name)],
        }
        for name in ID_FIELDS
    ]


@login_required
def notice_new(request):
    if not services.may_publish(request.user):
        raise PermissionDenied(_("Your role may not publish notices."))
    data = services.NoticeData(audience=Notice.Audience.BUILDING_HEADS, requires_receipt=True)
    errors: dict[str, list[str]] = {}
    expires_text, find = "", request.POST.get("find", "")
    found = _found(request.user, "")
    if request.method == "POST":
        data, expires_text = _posted(request.POST, errors)
        if request.POST.get("action") == "find":
            found = _found(request.user, find)  # only the search: nothing is published
        elif not errors:
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
            "audiences": [(v, label) for v, label in Notice.Audience.choices if v != Notice.Audience.TARGETS],
            "roles": [(role, label) for role, label in Role.choices if role in target_rules.TARGET_ROLES],
            "tags": visible_tag_types(request.user),
            "targets": _target_choices(request.user, data, found),
            "find": find,
            "searched": bool(find.strip()) and request.POST.get("action") == "find",
        },
        status=400 if errors else 200,
    )


@login_required
def notice_receipts(request, notice_id: int):
    notice = get_object_or_404(
        services.managed_by(request.user).select_related("grid", "author"), pk=notice_id
    )
    channel = request.GET.get("channel", NoticeDelivery.Channel.APP)
    if channel not in services.CHANNELS:
        channel = NoticeDelivery.Channel.APP
    in_app = channel == NoticeDelivery.Channel.APP
    status = request.GET.get("status", "")
    if status not in (services.STATUSES if in_app else NoticeDelivery.Status.values):
        status = ""
    page = max(1, to_int(request.GET.get("page")) or 1)
    progress = services.receipt_progress(
        notice, status, limit=RECEIPT_ROWS, offset=(page - 1) * RECEIPT_ROWS, channel=channel,
        viewer=request.user,
    )
    shown = (page - 1) * RECEIPT_ROWS + len(progress.rows) + len(progress.text_rows)
    return render(
        request,
        "engagement/receipts.html",
        {
            "notice": notice,
            "progress": progress,
            "channel": channel,
            "status": status,
            "statuses": _statuses(notice) if in_app else _text_statuses(),
            "more": 0 if progress.names_hidden else max(0, progress.count - shown),
            "page": page,
        },
    )


def _text_statuses() -> list[tuple[str, str]]:
    return [("", _("Everyone")), *((s, label) for s, label in NoticeDelivery.Status.choices
                                    if s != NoticeDelivery.Status.DELIVERED)]


def _statuses(notice: Notice) -> list[tuple[str, str]]:
    if not notice.requires_receipt:
        return [("", _("Everyone")), ("unread", _("Not read")), ("read", _("Read"))]
    return [
        ("", _("Everyone")),
        ("unread", _("Not read")),
        ("read", _("Read, not confirmed")),
        ("confirmed", _("Confirmed")),
    ]
