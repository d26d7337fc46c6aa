"""Volunteer pages: the resident's portal on the phone and the staff page of the leader's workbench.

Thin views: forms post here and call the same `services` the API calls; refusals come back as
messages on the page. The check-in page is what the organizer's QR code opens
(/volunteers/checkin/?t=TOKEN): it shows the activity and one button.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import residence
from gridgov.core.actions import form_action, local_datetime, refusal
from gridgov.core.text import to_int
from gridgov.volunteers import certificate, expiry, services
from gridgov.volunteers.api import activities_out, attendance_out, groups_out, qr_out
from gridgov.volunteers.models import (
    Activity,
    Attendance,
    Certificate,
    InterestGroup,
    Order,
    PointEntry,
    Signup,
    Team,
    Volunteer,
    balance_of,
)

LIST_LIMIT = 50


_acts = form_action("volunteers-portal")


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _proof(post) -> dict:
    return {
        "token": post.get("token", ""),
        "lat": _float(post.get("lat")),
        "lon": _float(post.get("lon")),
        "crs": post.get("crs") or "wgs84",
    }


# --- the resident's portal ----------------------------------------------------------------------------


@login_required
def portal(request):
    volunteer = services.profile_of(request.user)
    context = {"volunteer": volunteer, "home": residence.home_grid(request.user)}
    if volunteer is not None and volunteer.is_approved:
        # A cancelled activity stays in the list of those who had signed up, with its reason.
        mine = Signup.objects.filter(volunteer=volunteer).values("activity")
        upcoming = (
            services.open_to(volunteer)
            .select_related("grid", "organizer")
            .filter(ends_at__gte=timezone.now())
            .filter(~Q(state=Activity.State.CANCELLED) | Q(pk__in=mine))
            .order_by("starts_at", "id")[:LIST_LIMIT]
        )
        context.update(
            {
                "activities": activities_out(list(upcoming), volunteer),
                "balance": balance_of(volunteer.pk),
                "expiring": expiry.expiring(volunteer),
                "hours": services.hours_of(volunteer),
                "ledger": list(PointEntry.objects.filter(volunteer=volunteer)[:20]),
                "items": list(services.shop_for(volunteer)[:LIST_LIMIT]),
                "orders": list(Order.objects.filter(volunteer=volunteer).select_related("item")[:20]),
                "attended": list(
                    Attendance.objects.filter(volunteer=volunteer)
                    .select_related("activity")
                    .order_by("-checked_in_at")[:20]
                ),
            }
        )
        context["attended"] = [(a, services.hours(a, a.activity)) for a in context["attended"]]
        context["groups"] = groups_out(list(services.groups_of(volunteer)[:LIST_LIMIT]), request.user)
    if volunteer is not None and volunteer.state in certificate.CERTIFIABLE:
        context["service_years"] = [f.year for f in reversed(certificate.yearly_figures(volunteer))]
        context["certificates"] = list(volunteer.certificates.all()[:20])
    return render(request, "volunteers/portal.html", context)


@_acts
def apply(request):
    post = request.POST
    services.apply(
        request.user,
        grid_code=post.get("grid_code", ""),
        skills=post.get("skills", ""),
        availability=post.get("availability", ""),
    )
    return _("Your application is sent: the community will answer it."), reverse("volunteers-portal")


@_acts
def activity_action(request, activity_id: int, what: str):
    back = request.POST.get("next") or reverse("volunteers-portal")
    if what == "signup":
        signup, _created = services.sign_up(request.user, activity_id)
        if signup.state == Signup.State.WAITING:
            return _("The activity is full: you are on the waiting list."), back
        return _("You are signed up."), back
    if what == "cancel":
        services.cancel_signup(request.user, activity_id)
        return _("Your sign-up is cancelled."), back
    if what == "check-in":
        services.check_in(request.user, activity_id, _proof(request.POST))
        return _("You are checked in."), back
    if what == "check-out":
        services.check_out(request.user, activity_id, _proof(request.POST))
        return _("You are checked out. Thank you!"), back
    raise Http404


@login_required
def checkin(request):
    """What the organizer's QR code opens: the activity and the button to check in (or out)."""
    token = request.GET.get("t", "")
    context = {"token": token, "activity": None, "error": ""}
    try:
        activity = services.readable_activity(request.user, services.token_activity(token))
        context["activity"] = activities_out([activity], services.profile_of(request.user))[0]
    except ValidationError as exc:
        context["error"] = refusal(exc)
    except Http404:
        context["error"] = _("This activity is not open to you.")
    return render(request, "volunteers/checkin.html", context)


@_acts
def order(request):
    item_id = to_int(request.POST.get("item_id"))
    if item_id is None:
        raise Http404(_("No such item."))
    placed = services.place_order(request.user, item_id)
    return _("Order placed: pick up %(item)s at %(place)s.") % {
        "item": placed.item.name,
        "place": placed.item.pickup_point,
    }, reverse("volunteers-portal") + "#orders"


@_acts
def order_action(request, order_id: int, what: str):
    back = request.POST.get("next") or reverse("volunteers-portal") + "#orders"
    if what == "cancel":
        services.cancel_order(request.user, order_id, request.POST.get("reason", ""))
        return _("The order is cancelled and its points are back."), back
    if what == "fulfil":
        services.fulfil_order(request.user, order_id)
        return _("Handed over."), back
    raise Http404


# --- the staff page ---------------------------------------------------------------------------------


def staff_only(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not services.may_manage(request.user):
            raise PermissionDenied(_("Only community leaders and grid leaders look after volunteers."))
        return view(request, *args, **kwargs)

    return wrapped


@staff_only
def staff(request):
    user = request.user
    activities = Activity.objects.visible_to(user).select_related("grid", "organizer")
    context = {
        "applications": list(
            Volunteer.objects.visible_to(user)
            .filter(state=Volunteer.State.APPLIED)
            .select_related("user", "grid")
            .order_by("applied_at")[:LIST_LIMIT]
        ),
        "volunteers": list(
            Volunteer.objects.visible_to(user)
            .exclude(state=Volunteer.State.APPLIED)
            .select_related("user", "grid")[:LIST_LIMIT]
        ),
        "activities": activities_out(
            list(activities.filter(state=Activity.State.PUBLISHED).order_by("starts_at")[:LIST_LIMIT])
        ),
        "orders": list(
            Order.objects.visible_to(user)
            .filter(state=Order.State.PLACED)
            .select_related("item", "volunteer__user")
            .order_by("placed_at")[:LIST_LIMIT]
        ),
        "groups": groups_out(
            list(
                InterestGroup.objects.visible_to(user)
                .filter(state=InterestGroup.State.OPEN)
                .select_related("grid", "organizer")[:LIST_LIMIT]
            ),
            user,
        ),
        "teams": list(
            Team.objects.visible_to(user)
            .select_related("organization", "leader__user")
            .prefetch_related("members__user")[:LIST_LIMIT]
        ),
        "certificates": list(
            Certificate.objects.visible_to(user).select_related("volunteer__user", "revoked_by")[:LIST_LIMIT]
        ),
        "years": list(range(timezone.localdate().year, timezone.localdate().year - 6, -1)),
        "kinds": Activity.Kind.choices,
        "grids": services.managed_grids(user),
    }
    return render(request, "volunteers/staff.html", context)


@staff_only
def staff_activity(request, activity_id: int):
    activity = services.managed_activity(request.user, activity_id)
    attended = {a.volunteer_id: a for a in Attendance.objects.filter(activity=activity)}
    signups = [
        (s, attendance_out(attended[s.volunteer_id], activity) if s.volunteer_id in attended else None)
        for s in Signup.objects.filter(activity=activity).select_related("volunteer__user")
    ]
    published = activity.state == Activity.State.PUBLISHED
    return render(
        request,
        "volunteers/staff_activity.html",
        {
            "activity": activities_out(
                [Activity.objects.select_related("grid", "organizer").get(pk=activity.pk)]
            )[0],
            "signups": signups,
            "log": activity.log.select_related("actor", "volunteer__user"),
            "editable": published and timezone.now() < activity.starts_at,
            "cancellable": published and not attended,
            "kinds": Activity.Kind.choices,
        },
    )


@staff_only
def staff_qr(request, activity_id: int):
    """The QR screen: a new code every 30 seconds (the page reloads itself; no script needed)."""
    activity = services.managed_activity(request.user, activity_id)
    context = {"activity": activity, "code": None, "error": ""}
    try:
        context["code"] = qr_out(request, request.user, activity_id)
    except services.Conflict as exc:
        context["error"] = str(exc)
    return render(request, "volunteers/qr.html", context)


@_acts
def decide(request, volunteer_id: int, action: str):
    services.decide(request.user, volunteer_id, action, request.POST.get("reason", ""))
    return _("Saved."), reverse("volunteers-staff")


@_acts
def remove_member(request, team_id: int, volunteer_id: int):
    services.remove_member(request.user, team_id, volunteer_id, request.POST.get("reason", ""))
    return _("Removed from the team."), reverse("volunteers-staff") + "#teams"


@_acts
def change_leader(request, team_id: int):
    leader_id = to_int(request.POST.get("leader_id"))
    if leader_id is None:
        raise Http404(_("No such volunteer."))
    services.change_leader(request.user, team_id, leader_id)
    return _("Saved."), reverse("volunteers-staff") + "#teams"


@_acts
def revoke_certificate(request, certificate_id: int):
    certificate.revoke(request.user, certificate_id, request.POST.get("reason", ""))
    return _("The certificate is revoked: its code no longer verifies."), reverse(
        "volunteers-staff"
    ) + "#certificates"


@_acts
def award(request):
    post = request.POST
    amount = post.get("amount", "").strip()
    number = to_int(amount.lstrip("-"))
    if number is None:
        raise ValidationError({"amount": _("Enter a whole number of points.")})
    volunteer_id = to_int(post.get("volunteer_id"))
    if volunteer_id is None:
        raise Http404(_("No such volunteer."))
    services.adjust_points(
        request.user,
        volunteer_id,
        amount=-number if amount.startswith("-") else number,
        reason=post.get("reason", ""),
    )
    return _("Points recorded."), reverse("volunteers-staff")


def _activity_fields(post) -> dict:
    """The activity form's fields as `services.publish` and `services.edit_activity` take them."""
    return {
        "title": post.get("title", ""),
        "kind": post.get("kind", ""),
        "description": post.get("description", ""),
        "address": post.get("address", ""),
        "lat": _float(post.get("lat")),
        "lon": _float(post.get("lon")),
        "crs": post.get("crs") or "wgs84",
        "starts_at": local_datetime(post.get("starts_at")),
        "ends_at": local_datetime(post.get("ends_at")),
        "signup_deadline": local_datetime(post.get("signup_deadline")),
        "quota": to_int(post.get("quota")),
        "points_rule": post.get("points_rule", ""),
        "points": to_int(post.get("points")),
        "radius_m": to_int(post.get("radius_m")) if post.get("radius_m") else None,
    }


@_acts
def publish(request):
    fields = {"grid_code": request.POST.get("grid_code", ""), **_activity_fields(request.POST)}
    activity = services.publish(request.user, fields)
    return _("Published."), reverse("volunteers-staff-activity", args=[activity.pk])


@_acts
def staff_activity_action(request, activity_id: int, what: str):
    back = reverse("volunteers-staff-activity", args=[activity_id])
    if what == "close":
        services.close(request.user, activity_id)
        return _("The activity is closed and its points are given."), back
    if what == "edit":
        services.edit_activity(request.user, activity_id, _activity_fields(request.POST))
        return _("Saved."), back
    if what == "cancel":
        services.cancel_activity(request.user, activity_id, request.POST.get("reason", ""))
        return _("The activity is cancelled; those signed up are told."), back
    if what == "correct":
        post = request.POST
        volunteer_id = to_int(post.get("volunteer_id"))
        if volunteer_id is None:
            raise Http404(_("No such volunteer."))
        services.correct_times(
            request.user,
            activity_id,
            volunteer_id,
            checked_in_at=local_datetime(post.get("checked_in_at")),
            checked_out_at=local_datetime(post.get("checked_out_at")),
            reason=post.get("reason", ""),
        )
        return _("The times are corrected."), back
    raise Http404


# --- interest groups ------------------------------------------------------------------------------


@login_required
def group_page(request, group_id: int):
    """A group: what it is, its notices (for members, the organizer and staff), the member list
    and the notice form (for the organizer and staff)."""
    user = request.user
    group = services.readable_group(user, group_id)
    context = {"group": groups_out([group], user)[0], "notices": None, "members": None}
    try:
        services.require_notice_reader(user, group)
        context["notices"] = list(group.notices.select_related("author")[:LIST_LIMIT])
        services.require_notice_reader(user, group, members_too=False)
        context["members"] = list(
            group.members.filter(left_at__isnull=True).select_related("volunteer__user")[:LIST_LIMIT]
        )
    except PermissionDenied:
        pass  # a volunteer who may join sees what the group is, not what it says to its members
    context["may_close"] = group.state == "open" and services.managing_scope(user).covers(group.grid.code)
    return render(request, "volunteers/group.html", context)


@_acts
def group_action(request, group_id: int, what: str):
    back = reverse("volunteers-group", args=[group_id])
    if what == "join":
        services.join_group(request.user, group_id)
        return _("You have joined the group."), back
    if what == "leave":
        services.leave_group(request.user, group_id)
        return _("You have left the group."), reverse("volunteers-portal") + "#vol-groups"
    if what == "notice":
        notice = services.post_group_notice(request.user, group_id, request.POST.get("text", ""))
        return _("Notice sent to %d members.") % notice.recipients, back
    if what == "close":
        services.close_group(request.user, group_id)
        return _("The group is closed."), back
    raise Http404


@_acts
def create_group(request):
    post = request.POST
    organizer = to_int(post.get("organizer_volunteer_id")) if post.get("organizer_volunteer_id") else None
    group = services.create_group(
        request.user,
        grid_code=post.get("grid_code", ""),
        name=post.get("name", ""),
        description=post.get("description", ""),
        organizer_volunteer_id=organizer,
    )
    return _("The group is set up."), reverse("volunteers-group", args=[group.pk])


# --- points certificates --------------------------------------------------------------------------


@login_required
@require_POST
def issue_certificate(request):
    """Issue (the volunteer's own, or with volunteer_id a managed volunteer's) and go to the PDF."""
    back = request.POST.get("next") or reverse("volunteers-portal")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("volunteers-portal")
    volunteer_id = to_int(request.POST.get("volunteer_id")) if request.POST.get("volunteer_id") else None
    try:
        made, _created = certificate.issue(
            request.user,
            year=to_int(request.POST.get("year")),
            volunteer_id=volunteer_id,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except (ValidationError, PermissionDenied, Http404) as exc:
        messages.error(request, refusal(exc))
        return redirect(back)
    return redirect("volunteers-certificate-pdf", certificate_id=made.pk)


@login_required
def certificate_pdf(request, certificate_id: int):
    try:
        return certificate.pdf_response(request, request.user, certificate_id)
    except services.Conflict as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")


def verify_certificate(request, code: str):
    """Public (a school checks a paper): valid or not, the masked name, year, hours and points."""
    response = render(
        request, "volunteers/verify.html", {"result": certificate.verification(code), "code": code[:40]}
    )
    response["X-Robots-Tag"] = "noindex"
    return response
