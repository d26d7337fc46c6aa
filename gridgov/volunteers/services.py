"""Volunteer rules: applications, teams, activities, sign-up, check-in, the points ledger and the shop.

Every command is a plain function taking the acting user; it checks who may do it, writes in
one transaction, and raises `ValidationError` (400, messages per field), `PermissionDenied`
(403), `Http404` (404: not in the user's area, or not open to the volunteer) or `Conflict`
(409: the object's state or time does not allow it now).

Who does what:
- residents apply; community leaders and grid leaders (and administrators) decide in their
  grids (`models.MANAGER_ROLES`), publish activities, run check-in, award points and keep the
  shop; auditors read.
- an approved volunteer sees, joins and checks in to the activities on one line of the grid
  tree with their service grid (`models.line_q`: an activity published to their grid or one of
  its ancestors, or to a grid inside the area they serve), and redeems the shop items on that
  line. Any approved volunteer of another area gets 404: activities are local.

Concurrency: sign-up, cancelling and check-in lock the activity's row, so the quota and the
waiting list are decided one at a time; spending points locks the volunteer's row, so two
redemptions read the balance one after the other and never overspend.
"""

import time
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import DurationField, ExpressionWrapper, Q, Sum
from django.db.models.functions import Greatest, Least
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from gridgov.accounts.models import Role
from gridgov.accounts.roles import roles_of
from gridgov.cases.duplicates import distance_m
from gridgov.core.text import fold_code
from gridgov.grids.locator import CRS, to_wgs84
from gridgov.grids.models import Grid
from gridgov.volunteers.models import (
    Activity,
    ActivityLog,
    Attendance,
    GroupMember,
    GroupNotice,
    InterestGroup,
    Order,
    PointEntry,
    ShopItem,
    Signup,
    Team,
    Volunteer,
    VolunteerLog,
    balance_of,
    line_q,
    managing_scope,
    reading_scope,
)

State = Volunteer.State
REASON_MAX = 300
TEXT_MAX = 200
CHECK_IN_EARLY = timedelta(minutes=30)  # volunteers gather before the start
MAX_DURATION = timedelta(hours=24)
DEFAULT_RADIUS_M = 200
QR_SALT = "gridgov.volunteers.checkin"
QR_MAX_AGE_S = 60
QR_WINDOW_S = 30  # the organizer's screen shows a new code every window
MAX_POINTS = 10000


class Conflict(HttpError):
    """The object's state (or the time) does not allow this now: HTTP 409. A subclass of ninja's
    HttpError, which gridgov/api.py already answers in the one error shape."""

    def __init__(self, message: str):
        super().__init__(409, message)

    def __str__(self) -> str:
        return self.message


# --- common checks ---------------------------------------------------------------------------------


def may_manage(user) -> bool:
    scope = managing_scope(user)
    return scope.everything or bool(scope.roots)


def managed_grids(user):
    """The grids a user may publish activities and shop items to."""
    return Grid.objects.filter(managing_scope(user).code_q("code")).order_by("code")


def _require_manager(user) -> None:
    if not may_manage(user):
        raise PermissionDenied(_("Only community leaders and grid leaders look after volunteers."))


def _require_managed(user, grid: Grid) -> None:
    """Seen (the caller found the row through visible_to) but perhaps not managed: 403."""
    if not managing_scope(user).covers(grid.code):
        raise PermissionDenied(_("You do not look after volunteers in %s.") % grid.name)


def _reason(reason: str, *, required: bool = True) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError({"reason": _("Give the reason.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %d characters.") % REASON_MAX})
    return reason


def _grid(code: str, errors: dict) -> Grid | None:
    code = fold_code(code)
    if not code:
        errors["grid_code"] = _("Choose the grid.")
        return None
    grid = Grid.objects.filter(code=code).first()
    if grid is None:
        errors["grid_code"] = _("No grid has the code %s.") % code
    return grid


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def profile_of(user) -> Volunteer | None:
    if not user or not user.is_authenticated:
        return None
    return Volunteer.objects.select_related("grid", "team__organization").filter(user=user).first()


def approved_volunteer(user) -> Volunteer:
    volunteer = profile_of(user)
    if volunteer is None or not volunteer.is_approved:
        if volunteer is not None and volunteer.state == State.SUSPENDED:
            raise PermissionDenied(_("Your volunteer service is suspended."))
        raise PermissionDenied(_("Only approved volunteers do this."))
    return volunteer


# --- applications -------------------------------------------------------------------------------


def apply(user, *, grid_code: str, skills: str = "", availability: str = "") -> Volunteer:
    """A resident applies; a refused applicant may apply again (the same profile, back to applied)."""
    if Role.RESIDENT not in roles_of(user):
        raise PermissionDenied(_("Residents apply to be volunteers: log in with your phone."))
    errors = {}
    grid = _grid(grid_code, errors)
    skills, availability = (skills or "").strip(), (availability or "").strip()
    if len(skills) > TEXT_MAX:
        errors["skills"] = _("At most %d characters.") % TEXT_MAX
    if len(availability) > TEXT_MAX:
        errors["availability"] = _("At most %d characters.") % TEXT_MAX
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    try:
        with transaction.atomic():
            volunteer = Volunteer.objects.select_for_update().filter(user=user).first()
            if volunteer is not None and volunteer.state != State.REFUSED:
                raise Conflict(
                    _("You have already applied: your application is %s.") % volunteer.get_state_display()
                )
            if volunteer is None:
                volunteer = Volunteer(user=user)
            volunteer.grid, volunteer.skills, volunteer.availability = grid, skills, availability
            volunteer.state, volunteer.applied_at = State.APPLIED, now
            volunteer.decided_at, volunteer.decided_by, volunteer.reason = None, None, ""
            volunteer.save()
            VolunteerLog.objects.create(volunteer=volunteer, action=VolunteerLog.Action.APPLY, actor=user)
    except IntegrityError:
        # Two taps at once: the other request made the profile.
        raise Conflict(_("You have already applied.")) from None
    return volunteer


# action: (states it applies to, state after, reason required)
DECISIONS = {
    "approve": ({State.APPLIED}, State.APPROVED, False),
    "refuse": ({State.APPLIED}, State.REFUSED, True),
    "suspend": ({State.APPROVED}, State.SUSPENDED, True),
    "reinstate": ({State.SUSPENDED}, State.APPROVED, True),
}


def managed_volunteer(user, volunteer_id: int, *, lock: bool = False) -> Volunteer:
    """A volunteer in the user's area (404 outside it) whom the user manages (403 for readers)."""
    found = Volunteer.objects.visible_to(user).filter(pk=volunteer_id).select_related("grid").first()
    if found is None:
        raise Http404(_("No such volunteer."))
    _require_managed(user, found.grid)
    if lock:
        Volunteer.objects.select_for_update().filter(pk=found.pk).values_list("pk").first()
        found.refresh_from_db()
    return found


def decide(user, volunteer_id: int, action: str, reason: str = "") -> Volunteer:
    if action not in DECISIONS:
        raise ValidationError({"action": _("Choose approve, refuse, suspend or reinstate.")})
    allowed, after, needs_reason = DECISIONS[action]
    reason = _reason(reason, required=needs_reason)
    with transaction.atomic():
        volunteer = managed_volunteer(user, volunteer_id, lock=True)
        if volunteer.state not in allowed:
            raise Conflict(
                _("This volunteer is %s: that decision does not apply.") % volunteer.get_state_display()
            )
        volunteer.state, volunteer.reason = after, reason
        volunteer.decided_at, volunteer.decided_by = timezone.now(), user
        volunteer.save(update_fields=["state", "reason", "decided_at", "decided_by"])
        VolunteerLog.objects.create(volunteer=volunteer, action=action, actor=user, reason=reason)
    return volunteer


# --- teams ----------------------------------------------------------------------------------------


def create_team(user, *, organization_id: int, leader_id: int) -> Team:
    """An organization of the registry becomes a volunteer team, led by one of its volunteers."""
    from gridgov.population.models import Organization

    _require_manager(user)
    organization = (
        Organization.objects.visible_to(user).filter(pk=organization_id).select_related("grid").first()
    )
    if organization is None:
        raise Http404(_("No such organization."))
    _require_managed(user, organization.grid)
    with transaction.atomic():
        leader = managed_volunteer(user, leader_id, lock=True)
        if not leader.is_approved:
            raise ValidationError({"leader_id": _("The leader must be an approved volunteer.")})
        if Team.objects.filter(organization=organization).exists():
            raise Conflict(_("%s is already a volunteer team.") % organization.name)
        team = Team.objects.create(organization=organization, leader=leader)
        _join(user, leader, team)
    return team


def managed_team(user, team_id: int) -> Team:
    team = Team.objects.visible_to(user).filter(pk=team_id).select_related("organization__grid").first()
    if team is None:
        raise Http404(_("No such team."))
    _require_managed(user, team.organization.grid)
    return team


def add_member(user, team_id: int, volunteer_id: int) -> Volunteer:
    team = managed_team(user, team_id)
    with transaction.atomic():
        volunteer = managed_volunteer(user, volunteer_id, lock=True)
        if not volunteer.is_approved:
            raise ValidationError({"volunteer_id": _("Only approved volunteers join a team.")})
        if volunteer.team_id != team.pk:
            _join(user, volunteer, team)
    return volunteer


def remove_member(user, team_id: int, volunteer_id: int, reason: str) -> Volunteer:
    """Take a volunteer out of a team, with the reason (kept in their log). The leader stays
    until another member leads."""
    team = managed_team(user, team_id)
    reason = _reason(reason)
    with transaction.atomic():
        volunteer = managed_volunteer(user, volunteer_id, lock=True)
        if volunteer.team_id != team.pk:
            raise Http404(_("This volunteer is not in the team."))
        if team.leader_id == volunteer.pk:
            raise Conflict(_("The leader cannot leave the team: make another member the leader first."))
        volunteer.team = None
        volunteer.save(update_fields=["team"])
        VolunteerLog.objects.create(
            volunteer=volunteer,
            action=VolunteerLog.Action.LEAVE_TEAM,
            actor=user,
            reason=f"{team.organization.name}: {reason}"[:REASON_MAX],
        )
    return volunteer


def change_leader(user, team_id: int, volunteer_id: int) -> Team:
    """Another approved member of the team leads it."""
    team = managed_team(user, team_id)
    with transaction.atomic():
        volunteer = managed_volunteer(user, volunteer_id, lock=True)
        if volunteer.team_id != team.pk or not volunteer.is_approved:
            raise ValidationError({"leader_id": _("The leader must be an approved member of the team.")})
        team.leader = volunteer
        team.save(update_fields=["leader"])
    return team


def _join(user, volunteer: Volunteer, team: Team) -> None:
    volunteer.team = team
    volunteer.save(update_fields=["team"])
    VolunteerLog.objects.create(
        volunteer=volunteer, action=VolunteerLog.Action.TEAM, actor=user, reason=team.organization.name
    )


# --- activities -----------------------------------------------------------------------------------


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_place(data: dict, errors: dict) -> tuple[float, float] | None:
    lat, lon, crs = data.get("lat"), data.get("lon"), data.get("crs") or CRS.WGS84
    if not _number(lat) or not -90 <= lat <= 90:
        errors["lat"] = _("The latitude must lie between -90 and 90.")
    if not _number(lon) or not -180 <= lon <= 180:
        errors["lon"] = _("The longitude must lie between -180 and 180.")
    if crs not in CRS.ALL:
        errors["crs"] = _("Unknown coordinate system: use wgs84, cgcs2000, gcj02 or bd09.")
    if {"lat", "lon", "crs"} & set(errors):
        return None
    return to_wgs84(lat, lon, crs)


def _check_whole(data: dict, field: str, low: int, high: int, errors: dict) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[field] = _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
        return 0
    return value


def _check_times(data: dict, now: datetime, errors: dict) -> tuple:
    starts, ends = data.get("starts_at"), data.get("ends_at")
    deadline = data.get("signup_deadline")
    for field, value in (("starts_at", starts), ("ends_at", ends)):
        if not isinstance(value, datetime):
            errors[field] = _("Give the date and time.")
    if errors.keys() & {"starts_at", "ends_at"}:
        return None, None, None
    starts, ends = _aware(starts), _aware(ends)
    if ends <= starts:
        errors["ends_at"] = _("The end must come after the start.")
    elif ends - starts > MAX_DURATION:
        errors["ends_at"] = _("An activity lasts at most 24 hours: publish several for longer work.")
    elif ends <= now:
        errors["ends_at"] = _("This time has passed.")
    deadline = _aware(deadline) if isinstance(deadline, datetime) else starts
    if deadline > ends and "ends_at" not in errors:
        errors["signup_deadline"] = _("Sign-up must close before the activity ends.")
    return starts, ends, deadline


ACTIVITY_FIELDS = (
    "title", "kind", "description", "address", "lat", "lon", "starts_at", "ends_at", "signup_deadline",
    "quota", "points_rule", "points", "radius_m",
)  # fmt: skip


def _clean_activity(data: dict) -> dict:
    """The fields of `Activity` from `data` (lat/lon in `crs`, default WGS-84), checked together:
    ValidationError with every field's message at once."""
    errors: dict = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = _("Give the activity a title.")
    elif len(title) > 100:
        errors["title"] = _("At most %d characters.") % 100
    if data.get("kind") not in Activity.Kind.values:
        errors["kind"] = _("Choose one of: %s.") % ", ".join(Activity.Kind.values)
    if data.get("points_rule") not in Activity.PointsRule.values:
        errors["points_rule"] = _("Choose per_hour or fixed.")
    for field, limit in (("address", 200), ("description", 2000)):
        if len(data.get(field) or "") > limit:
            errors[field] = _("At most %d characters.") % limit
    point = _check_place(data, errors)
    starts, ends, deadline = _check_times(data, timezone.now(), errors)
    quota = _check_whole(data, "quota", 1, 10000, errors)
    points = _check_whole(data, "points", 0, 1000, errors)
    radius = data.get("radius_m")
    radius = _check_whole(
        {"radius_m": DEFAULT_RADIUS_M if radius is None else radius}, "radius_m", 20, 5000, errors
    )
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "kind": data["kind"],
        "description": (data.get("description") or "").strip(),
        "address": (data.get("address") or "").strip(),
        "lat": point[0],
        "lon": point[1],
        "starts_at": starts,
        "ends_at": ends,
        "signup_deadline": deadline,
        "quota": quota,
        "points_rule": data["points_rule"],
        "points": points,
        "radius_m": radius,
    }


def publish(user, data: dict) -> Activity:
    """Publish an activity to a grid in the user's area. `data` holds the fields of `Activity`
    (lat/lon in `crs`, default WGS-84) and `grid_code`."""
    _require_manager(user)
    errors: dict = {}
    try:
        fields = _clean_activity(data)
    except ValidationError as exc:
        errors = exc.message_dict
    grid = _grid(data.get("grid_code") or "", errors)
    if errors:
        raise ValidationError(errors)
    _require_managed(user, grid)
    with transaction.atomic():
        activity = Activity.objects.create(grid=grid, organizer=user, **fields)
        ActivityLog.objects.create(activity=activity, action=ActivityLog.Action.PUBLISH, actor=user)
    return activity


# What the volunteers who hold a place are told about: a change of when or where.
NOTIFIED_CHANGES = {"starts_at", "ends_at", "address", "lat", "lon"}


def _shown(value) -> object:
    """A value as the activity log keeps it (JSON)."""
    return value.isoformat() if isinstance(value, datetime) else value


def edit_activity(user, activity_id: int, changes: dict) -> Activity:
    """Change an activity before it starts. `changes` holds the fields to change (others keep
    their values; lat/lon in `crs`). The quota cannot drop below the places already taken; a
    larger one moves the waiting list up. Volunteers holding a place or waiting are told when
    the time or place changed. The log keeps every old and new value."""
    unknown = set(changes) - set(ACTIVITY_FIELDS) - {"crs"}
    if unknown:
        raise ValidationError({field: _("This field cannot be changed.") for field in sorted(unknown)})
    with transaction.atomic():
        activity = managed_activity(user, activity_id, lock=True)
        _require_open(activity)
        if timezone.now() >= activity.starts_at:
            raise Conflict(_("The activity has started: it can no longer be edited."))
        merged = {field: getattr(activity, field) for field in ACTIVITY_FIELDS}
        if not {"lat", "lon"} & set(changes):
            changes = {**changes, "crs": CRS.WGS84}  # the stored place is WGS-84 already
        merged.update(changes)
        fields = _clean_activity(merged)
        held = taken(activity)
        if fields["quota"] < held:
            raise ValidationError(
                {"quota": _("%d volunteers hold places: the quota cannot be lower.") % held}
            )
        changed = {
            f: [_shown(getattr(activity, f)), _shown(v)]
            for f, v in fields.items()
            if getattr(activity, f) != v
        }
        if not changed:
            return activity
        for field, value in fields.items():
            setattr(activity, field, value)
        activity.save(update_fields=[*changed])
        ActivityLog.objects.create(
            activity=activity, action=ActivityLog.Action.EDIT, actor=user, data=changed
        )
        _promote(activity)
        if NOTIFIED_CHANGES & set(changed):
            _tell_signed_up(
                activity, _("%(title)s: the time or place has changed, now %(when)s at %(where)s.")
            )
    return activity


def cancel_activity(user, activity_id: int, reason: str) -> Activity:
    """Call an activity off, with the reason, while nobody has checked in (after that it is
    closed instead, so that those who came earn their points). Those holding a place or waiting
    are told."""
    reason = _reason(reason)
    with transaction.atomic():
        activity = managed_activity(user, activity_id, lock=True)
        _require_open(activity)
        if Attendance.objects.filter(activity=activity).exists():
            raise Conflict(
                _("Volunteers have checked in: close the activity instead, so they earn their points.")
            )
        activity.state, activity.cancel_reason = Activity.State.CANCELLED, reason
        activity.save(update_fields=["state", "cancel_reason"])
        ActivityLog.objects.create(
            activity=activity, action=ActivityLog.Action.CANCEL, actor=user, reason=reason
        )
        _tell_signed_up(activity, _("%(title)s on %(when)s is cancelled: %(reason)s"))
    return activity


def _tell_signed_up(activity: Activity, template: str) -> None:
    """An in-app notification to everyone holding a place or waiting for one."""
    from gridgov.cases.models import Notification

    users = Signup.objects.filter(
        activity=activity, state__in=(Signup.State.SIGNED_UP, Signup.State.WAITING)
    ).values_list("volunteer__user_id", flat=True)
    text = template % {
        "title": activity.title,
        "when": timezone.localtime(activity.starts_at).strftime("%Y-%m-%d %H:%M"),
        "where": activity.address or f"{activity.lat:.5f}, {activity.lon:.5f}",
        "reason": activity.cancel_reason,
    }
    Notification.objects.bulk_create(
        [Notification(user_id=u, kind="volunteer_activity", text=text[:300]) for u in sorted(set(users))]
    )


def _require_open(activity: Activity) -> None:
    if activity.state == Activity.State.CANCELLED:
        raise Conflict(_("This activity was cancelled."))
    if activity.state != Activity.State.PUBLISHED:
        raise Conflict(_("This activity is closed."))


def open_to(volunteer: Volunteer):
    """The activities a volunteer may see and join: on one line of the tree with their grid."""
    return Activity.objects.filter(line_q(volunteer.grid.code))


def readable_activity(user, activity_id: int) -> Activity:
    """An activity in the staff member's area, or open to the approved volunteer; else 404."""
    rows = Activity.objects.select_related("grid", "organizer")
    found = rows.visible_to(user).filter(pk=activity_id).first()
    if found is None:
        volunteer = profile_of(user)
        if volunteer is not None and volunteer.is_approved:
            found = open_to(volunteer).select_related("grid", "organizer").filter(pk=activity_id).first()
    if found is None:
        raise Http404(_("No such activity."))
    return found


def managed_activity(user, activity_id: int, *, lock: bool = False) -> Activity:
    found = Activity.objects.visible_to(user).select_related("grid").filter(pk=activity_id).first()
    if found is None:
        raise Http404(_("No such activity."))
    _require_managed(user, found.grid)
    return _locked(found) if lock else found


def _locked(activity: Activity) -> Activity:
    """The activity's row locked until the end of the transaction, and read again under the lock."""
    Activity.objects.select_for_update().filter(pk=activity.pk).values_list("pk").first()
    activity.refresh_from_db()
    return activity


def _volunteers_activity(volunteer: Volunteer, activity_id: int) -> Activity:
    found = open_to(volunteer).select_related("grid").filter(pk=activity_id).first()
    if found is None:
        raise Http404(_("No such activity."))
    return _locked(found)


def taken(activity: Activity) -> int:
    return Signup.objects.filter(activity=activity, state=Signup.State.SIGNED_UP).count()


def sign_up(user, activity_id: int) -> tuple[Signup, bool]:
    """Join the activity, or its waiting list when it is full: (signup, created). Signing up again
    returns the place already held."""
    volunteer = approved_volunteer(user)
    with transaction.atomic():
        activity = _volunteers_activity(volunteer, activity_id)
        signup = Signup.objects.filter(activity=activity, volunteer=volunteer).first()
        if signup is not None and signup.state in (Signup.State.SIGNED_UP, Signup.State.WAITING):
            return signup, False
        _require_open(activity)
        now = timezone.now()
        if now > activity.signup_deadline:
            raise Conflict(_("Sign-up for this activity has closed."))
        state = Signup.State.SIGNED_UP if taken(activity) < activity.quota else Signup.State.WAITING
        if signup is None:
            signup = Signup(activity=activity, volunteer=volunteer)
        # One who cancelled and comes back joins at the end of the queue.
        signup.state, signup.queued_at, signup.cancelled_at = state, now, None
        signup.save()
    return signup, True


def cancel_signup(user, activity_id: int) -> Signup:
    """Give up one's place before the start; the first on the waiting list takes it."""
    volunteer = profile_of(user)
    signup = None
    if volunteer is not None:
        signup = Signup.objects.filter(activity_id=activity_id, volunteer=volunteer).first()
    if signup is None:
        raise Http404(_("You have not signed up for this activity."))
    with transaction.atomic():
        activity = _locked(Activity.objects.get(pk=activity_id))
        signup.refresh_from_db()
        if signup.state == Signup.State.CANCELLED:
            return signup
        _require_open(activity)
        if timezone.now() >= activity.starts_at:
            raise Conflict(_("The activity has started: the sign-up can no longer be cancelled."))
        if Attendance.objects.filter(activity=activity, volunteer=volunteer).exists():
            raise Conflict(_("You have checked in: the sign-up can no longer be cancelled."))
        held_a_place = signup.state == Signup.State.SIGNED_UP
        signup.state, signup.cancelled_at = Signup.State.CANCELLED, timezone.now()
        signup.save(update_fields=["state", "cancelled_at"])
        if held_a_place:
            _promote(activity)
    return signup


def _promote(activity: Activity) -> None:
    """Fill free places from the waiting list, first come first served (the caller holds the lock)."""
    free = activity.quota - taken(activity)
    if free <= 0:
        return
    waiting = Signup.objects.filter(activity=activity, state=Signup.State.WAITING).order_by("queued_at", "id")
    for signup in waiting[:free]:
        signup.state = Signup.State.SIGNED_UP
        signup.save(update_fields=["state"])


# --- check-in ---------------------------------------------------------------------------------


def _window(now_s: float | None = None) -> int:
    return int((time.time() if now_s is None else now_s) // QR_WINDOW_S)


def qr_token(user, activity_id: int) -> dict:
    """A check-in code for the organizer's screen: signed, valid for 60 s, renewed every 30 s."""
    activity = managed_activity(user, activity_id)
    _require_open(activity)
    token = signing.TimestampSigner(salt=QR_SALT).sign(f"{activity.pk}.{_window()}")
    return {"token": token, "expires_in": QR_MAX_AGE_S, "refresh_in": QR_WINDOW_S}


def token_activity(token: str) -> int:
    """The activity a check-in code names, or ValidationError when it is forged or too old."""
    try:
        value = signing.TimestampSigner(salt=QR_SALT).unsign(token or "", max_age=QR_MAX_AGE_S)
    except signing.SignatureExpired:
        raise ValidationError(
            {"token": _("This code has expired: scan the code on the organizer's screen again.")}
        ) from None
    except signing.BadSignature:
        raise ValidationError({"token": _("This is not a valid check-in code.")}) from None
    activity_id, _sep, window = value.partition(".")
    # The window is inside the signed value: a code is tied to the screen's rotation as well as
    # to the signer's clock.
    if not (activity_id.isdigit() and window.isdigit() and abs(_window() - int(window)) <= 2):
        raise ValidationError({"token": _("This is not a valid check-in code.")})
    return int(activity_id)


def _check_proof(activity: Activity, proof: dict) -> str:
    """How the volunteer proved they are there: the organizer's code, or their position within
    the activity's radius. Raises ValidationError naming the field."""
    if proof.get("token"):
        if token_activity(proof["token"]) != activity.pk:
            raise ValidationError({"token": _("This code is for another activity.")})
        return Attendance.Method.QR
    if proof.get("lat") is None and proof.get("lon") is None:
        raise ValidationError({"token": _("Scan the organizer's code or send your location.")})
    errors: dict = {}
    point = _check_place(proof, errors)
    if errors:
        raise ValidationError(errors)
    metres = distance_m(point[0], point[1], activity.lat, activity.lon)
    if metres > activity.radius_m:
        raise ValidationError(
            {
                "location": _(
                    "You are %(metres)d m from the activity's place; check-in works within %(radius)d m."
                )
                % {"metres": round(metres), "radius": activity.radius_m}
            }
        )
    return Attendance.Method.GEOFENCE


def check_in(user, activity_id: int, proof: dict) -> tuple[Attendance, bool]:
    """Check in with the organizer's code (`token`) or a position (`lat`, `lon`, `crs`):
    (attendance, created). A retried check-in returns the record already made."""
    volunteer = approved_volunteer(user)
    with transaction.atomic():
        activity = _volunteers_activity(volunteer, activity_id)
        found = Attendance.objects.filter(activity=activity, volunteer=volunteer).first()
        if found is not None:
            return found, False
        now = timezone.now()
        _check_open_for_attendance(activity, now)
        signup = Signup.objects.filter(activity=activity, volunteer=volunteer).first()
        if signup is None or signup.state != Signup.State.SIGNED_UP:
            if signup is not None and signup.state == Signup.State.WAITING:
                raise Conflict(_("You are on the waiting list: check-in is for those with a place."))
            raise Conflict(_("You have not signed up for this activity."))
        method = _check_proof(activity, proof)
        return Attendance.objects.create(
            activity=activity, volunteer=volunteer, checked_in_at=now, check_in_method=method
        ), True


def _check_open_for_attendance(activity: Activity, now: datetime) -> None:
    _require_open(activity)
    if now < activity.starts_at - CHECK_IN_EARLY:
        raise Conflict(_("Check-in opens 30 minutes before the start."))
    if now > activity.ends_at:
        raise Conflict(_("The activity has ended: ask the organizer to correct your times."))


def check_out(user, activity_id: int, proof: dict) -> Attendance:
    """Check out the same way; a retried check-out returns the record unchanged."""
    volunteer = approved_volunteer(user)
    with transaction.atomic():
        activity = _volunteers_activity(volunteer, activity_id)
        attendance = Attendance.objects.filter(activity=activity, volunteer=volunteer).first()
        if attendance is None:
            raise Conflict(_("Check in first."))
        if attendance.checked_out_at is not None:
            return attendance
        _require_open(activity)
        method = _check_proof(activity, proof)
        attendance.checked_out_at, attendance.check_out_method = timezone.now(), method
        attendance.save(update_fields=["checked_out_at", "check_out_method"])
    return attendance


def hours(attendance: Attendance, activity: Activity) -> Decimal:
    """Hours credited: from check-in to check-out, counted inside the activity's own time (an
    early arrival or a forgotten check-out adds nothing), to two decimals. No check-out, no hours."""
    if attendance.checked_out_at is None:
        return Decimal("0.00")
    start = max(attendance.checked_in_at, activity.starts_at)
    end = min(attendance.checked_out_at, activity.ends_at)
    seconds = max(0.0, (end - start).total_seconds())
    return (Decimal(seconds) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def points_for(attendance: Attendance, activity: Activity) -> int:
    if activity.points_rule == Activity.PointsRule.FIXED:
        return activity.points
    earned = hours(attendance, activity) * activity.points
    return int(earned.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def correct_times(
    user,
    activity_id: int,
    volunteer_id: int,
    *,
    checked_in_at: datetime | None,
    checked_out_at: datetime | None,
    reason: str,
) -> Attendance:
    """The organizer sets a volunteer's times (a forgotten scan, a phone without battery), with a
    reason; the old and new times are logged. Before the activity is closed only."""
    reason = _reason(reason)
    with transaction.atomic():
        activity = managed_activity(user, activity_id, lock=True)
        if activity.state == Activity.State.CLOSED:
            raise Conflict(_("This activity is closed: its points are given."))
        _require_open(activity)
        signup = Signup.objects.filter(activity=activity, volunteer_id=volunteer_id).first()
        if signup is None:
            raise Http404(_("This volunteer has not signed up for this activity."))
        attendance = Attendance.objects.filter(activity=activity, volunteer_id=volunteer_id).first()
        old_in = attendance.checked_in_at if attendance else None
        old_out = attendance.checked_out_at if attendance else None
        new_in = _aware(checked_in_at) if checked_in_at else old_in
        new_out = _aware(checked_out_at) if checked_out_at else old_out
        _check_corrected(activity, new_in, new_out)
        if attendance is None:
            attendance = Attendance(
                activity=activity, volunteer_id=volunteer_id, check_in_method=Attendance.Method.ORGANIZER
            )
        if checked_in_at:
            attendance.check_in_method = Attendance.Method.ORGANIZER
        if checked_out_at:
            attendance.check_out_method = Attendance.Method.ORGANIZER
        attendance.checked_in_at, attendance.checked_out_at = new_in, new_out
        attendance.save()
        ActivityLog.objects.create(
            activity=activity,
            volunteer_id=volunteer_id,
            action=ActivityLog.Action.CORRECT,
            actor=user,
            reason=reason,
            data={
                "checked_in_at": [_iso(old_in), _iso(new_in)],
                "checked_out_at": [_iso(old_out), _iso(new_out)],
            },
        )
    return attendance


def _check_corrected(activity: Activity, checked_in: datetime | None, checked_out: datetime | None) -> None:
    if checked_in is None:
        raise ValidationError({"checked_in_at": _("Give the time of check-in.")})
    if not activity.starts_at - CHECK_IN_EARLY <= checked_in <= activity.ends_at:
        raise ValidationError(
            {"checked_in_at": _("Check-in lies between 30 minutes before the start and the end.")}
        )
    if checked_out is not None and checked_out <= checked_in:
        raise ValidationError({"checked_out_at": _("Check-out must come after check-in.")})
    if checked_out is not None and checked_out > timezone.now():
        raise ValidationError({"checked_out_at": _("This time is in the future.")})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def close(user, activity_id: int) -> Activity:
    """End the activity: open check-ins are checked out at the end (or now, if earlier), those
    signed up who never came are no-shows, and each attendance earns its points in the ledger.
    Closing a closed activity changes nothing."""
    with transaction.atomic():
        activity = managed_activity(user, activity_id, lock=True)
        if activity.state == Activity.State.CLOSED:
            return activity
        _require_open(activity)
        now = timezone.now()
        if now < activity.starts_at:
            raise Conflict(_("The activity has not started yet."))
        attended = list(Attendance.objects.filter(activity=activity).select_related("volunteer"))
        for attendance in attended:
            if attendance.checked_out_at is None:
                attendance.checked_out_at = min(now, activity.ends_at)
                attendance.check_out_method = Attendance.Method.CLOSING
                attendance.save(update_fields=["checked_out_at", "check_out_method"])
        came = {a.volunteer_id for a in attended}
        no_shows = (
            Signup.objects.filter(activity=activity, state=Signup.State.SIGNED_UP)
            .exclude(volunteer_id__in=came)
            .update(state=Signup.State.NO_SHOW)
        )
        earned = [
            PointEntry(
                volunteer_id=a.volunteer_id,
                amount=points_for(a, activity),
                kind=PointEntry.Kind.EARN,
                reason=activity.title,
                approver=user,
                activity=activity,
            )
            for a in attended
        ]
        earned = [entry for entry in earned if entry.amount > 0]
        PointEntry.objects.bulk_create(earned)
        activity.state, activity.closed_at = Activity.State.CLOSED, now
        activity.save(update_fields=["state", "closed_at"])
        ActivityLog.objects.create(
            activity=activity,
            action=ActivityLog.Action.CLOSE,
            actor=user,
            data={"attended": len(attended), "no_shows": no_shows, "points": sum(e.amount for e in earned)},
        )
    return activity


def credited_time():
    """An attendance's credited time as a database expression, the rule of `hours`: from the later
    of check-in and start to the earlier of check-out and end (negative when outside: filter > 0)."""
    start = Greatest("checked_in_at", "activity__starts_at")
    end = Least("checked_out_at", "activity__ends_at")
    return ExpressionWrapper(end - start, output_field=DurationField())


def as_hours(value: timedelta | None, places: str = "0.01") -> Decimal:
    seconds = value.total_seconds() if value else 0
    return (Decimal(seconds) / 3600).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def hours_of(volunteer: Volunteer) -> Decimal:
    """A volunteer's credited hours over every attendance, summed in the database (a volunteer
    of many years has thousands of attendances; the portal and /me show this on every visit)."""
    rows = Attendance.objects.filter(volunteer=volunteer, checked_out_at__isnull=False)
    total = (
        rows.annotate(credited=credited_time())
        .filter(credited__gt=timedelta(0))
        .aggregate(total=Sum("credited"))["total"]
    )
    return as_hours(total)


# --- points -----------------------------------------------------------------------------------------


def adjust_points(user, volunteer_id: int, *, amount, reason: str) -> PointEntry:
    """A manual award (amount > 0) or deduction (< 0), with the reason and the approver: the user."""
    errors = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 or abs(amount) > MAX_POINTS:
        errors["amount"] = _("Enter a whole number of points, not zero, at most %d either way.") % MAX_POINTS
    try:
        reason = _reason(reason)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        volunteer = managed_volunteer(user, volunteer_id, lock=True)  # spends are counted one at a time
        balance = balance_of(volunteer.pk)
        if balance + amount < 0:
            raise ValidationError(
                {"amount": _("The balance is %d points: a deduction cannot take it below zero.") % balance}
            )
        kind = PointEntry.Kind.AWARD if amount > 0 else PointEntry.Kind.DEDUCT
        return PointEntry.objects.create(
            volunteer=volunteer, amount=amount, kind=kind, reason=reason, approver=user
        )


# --- shop -------------------------------------------------------------------------------------------


def add_item(user, *, name: str, price, stock, pickup_point: str, grid_code: str) -> ShopItem:
    _require_manager(user)
    errors: dict = {}
    name, pickup_point = (name or "").strip(), (pickup_point or "").strip()
    if not name or len(name) > 100:
        errors["name"] = _("Give a name of at most 100 characters.")
    if not pickup_point or len(pickup_point) > TEXT_MAX:
        errors["pickup_point"] = _("Say where the item is picked up (at most 200 characters).")
    values = {"price": price, "stock": stock}
    price = _check_whole(values, "price", 1, MAX_POINTS, errors)
    stock = _check_whole(values, "stock", 0, 100000, errors)
    grid = _grid(grid_code, errors)
    if errors:
        raise ValidationError(errors)
    _require_managed(user, grid)
    return ShopItem.objects.create(name=name, price=price, stock=stock, pickup_point=pickup_point, grid=grid)


def shop_for(volunteer: Volunteer):
    return ShopItem.objects.filter(line_q(volunteer.grid.code), is_active=True).select_related("grid")


def place_order(user, item_id: int) -> Order:
    """Redeem points for one item. The volunteer's row is locked first: two orders at once read
    the balance one after the other, so they never spend the same points twice."""
    volunteer = approved_volunteer(user)
    with transaction.atomic():
        Volunteer.objects.select_for_update().filter(pk=volunteer.pk).values_list("pk").first()
        item = shop_for(volunteer).filter(pk=item_id).first()
        if item is None:
            raise Http404(_("No such item."))
        ShopItem.objects.select_for_update().filter(pk=item.pk).values_list("pk").first()
        item.refresh_from_db()
        if item.stock < 1:
            raise Conflict(_("%s is out of stock.") % item.name)
        balance = balance_of(volunteer.pk)
        if balance < item.price:
            raise Conflict(
                _("%(item)s costs %(price)d points; you have %(balance)d.")
                % {"item": item.name, "price": item.price, "balance": balance}
            )
        order = Order.objects.create(volunteer=volunteer, item=item, points=item.price)
        ShopItem.objects.filter(pk=item.pk).update(stock=item.stock - 1)
        PointEntry.objects.create(
            volunteer=volunteer,
            amount=-item.price,
            kind=PointEntry.Kind.REDEEM,
            reason=item.name,
            order=order,
        )
    return order


def _order_for(user, order_id: int) -> tuple[Order, bool]:
    """The order, and whether the user acts as staff (else as its volunteer). 404 for anyone else."""
    order = (
        Order.objects.visible_to(user).select_related("item__grid", "volunteer").filter(pk=order_id).first()
    )
    if order is not None:
        _require_managed(user, order.item.grid)
        return order, True
    volunteer = profile_of(user)
    order = (
        None
        if volunteer is None
        else (
            Order.objects.select_related("item__grid", "volunteer")
            .filter(pk=order_id, volunteer=volunteer)
            .first()
        )
    )
    if order is None:
        raise Http404(_("No such order."))
    return order, False


def cancel_order(user, order_id: int, reason: str = "") -> Order:
    """Cancel a placed order (its volunteer, or staff of the item's grid): the points come back
    as a refund entry and the item back into stock."""
    order, as_staff = _order_for(user, order_id)
    reason = _reason(reason, required=as_staff)
    with transaction.atomic():
        # Locks in the order place_order takes them (volunteer, then item): no deadlock between the two.
        Volunteer.objects.select_for_update().filter(pk=order.volunteer_id).values_list("pk").first()
        ShopItem.objects.select_for_update().filter(pk=order.item_id).values_list("pk").first()
        order.refresh_from_db()
        if order.state != Order.State.PLACED:
            raise Conflict(_("This order is %s: it can no longer be cancelled.") % order.get_state_display())
        order.state, order.closed_at, order.closed_by, order.reason = (
            Order.State.CANCELLED,
            timezone.now(),
            user,
            reason,
        )
        order.save(update_fields=["state", "closed_at", "closed_by", "reason"])
        item = ShopItem.objects.get(pk=order.item_id)
        ShopItem.objects.filter(pk=item.pk).update(stock=item.stock + 1)
        PointEntry.objects.create(
            volunteer_id=order.volunteer_id,
            amount=order.points,
            kind=PointEntry.Kind.REFUND,
            reason=reason or item.name,
            order=order,
            approver=user if as_staff else None,
        )
    return order


def fulfil_order(user, order_id: int) -> Order:
    """Staff of the item's grid hand the item over."""
    order, as_staff = _order_for(user, order_id)
    if not as_staff:
        raise PermissionDenied(_("The item is handed over by the staff of its pick-up point."))
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).values_list("pk").first()
        order.refresh_from_db()
        if order.state != Order.State.PLACED:
            raise Conflict(_("This order is %s.") % order.get_state_display())
        order.state, order.closed_at, order.closed_by = Order.State.FULFILLED, timezone.now(), user
        order.save(update_fields=["state", "closed_at", "closed_by"])
    return order


# --- interest groups (兴趣小组) ----------------------------------------------------------------------
# Staff set a group up for a grid in their area; it reaches the approved volunteers on the
# grid's line of the tree (`line_q`, as activities do). The organizer is the staff member who
# made it or an approved volunteer on that line; they and the grid's managers send notices to
# the members, each one also an in-app notification (`cases.Notification`).

NOTICE_MAX = 300
GROUP_NAME_MAX = 100
DESCRIPTION_MAX = 2000


def groups_open_to(volunteer: Volunteer):
    """The open groups a volunteer may see and join: on one line of the tree with their grid."""
    return InterestGroup.objects.filter(line_q(volunteer.grid.code), state=InterestGroup.State.OPEN)


def _group_organizer(user, grid: Grid, organizer_volunteer_id) -> object:
    """The organizer's user: the creating staff member, or the approved volunteer named (who
    must serve on the group's line of the tree, in the creator's area)."""
    if organizer_volunteer_id is None:
        return user
    found = (
        Volunteer.objects.visible_to(user)
        .filter(line_q(grid.code), pk=organizer_volunteer_id, state=State.APPROVED)
        .select_related("user")
        .first()
    )
    if found is None:
        raise ValidationError(
            {"organizer_volunteer_id": _("Choose an approved volunteer who serves this grid.")}
        )
    return found.user


def create_group(user, *, grid_code: str, name: str, description: str = "", organizer_volunteer_id=None):
    """A new group for a grid the user manages; a volunteer organizer joins it at once."""
    _require_manager(user)
    errors: dict = {}
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        errors["name"] = _("Give the group a name.")
    elif len(name) > GROUP_NAME_MAX:
        errors["name"] = _("At most %d characters.") % GROUP_NAME_MAX
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("At most %d characters.") % DESCRIPTION_MAX
    grid = _grid(grid_code, errors)
    if errors:
        raise ValidationError(errors)
    _require_managed(user, grid)
    organizer = _group_organizer(user, grid, organizer_volunteer_id)
    with transaction.atomic():
        group = InterestGroup.objects.create(
            grid=grid, name=name, description=description, organizer=organizer, created_by=user
        )
        volunteer = Volunteer.objects.filter(user=organizer).first()
        if volunteer is not None:
            GroupMember.objects.create(group=group, volunteer=volunteer, joined_at=timezone.now())
    return group


def managed_group(user, group_id: int, *, lock: bool = False) -> InterestGroup:
    """A group in the user's area (404 outside it) whose grid the user manages (403 for readers)."""
    found = InterestGroup.objects.visible_to(user).select_related("grid").filter(pk=group_id).first()
    if found is None:
        raise Http404(_("No such group."))
    _require_managed(user, found.grid)
    if lock:
        InterestGroup.objects.select_for_update().filter(pk=found.pk).values_list("pk").first()
        found.refresh_from_db()
    return found


def readable_group(user, group_id: int) -> InterestGroup:
    """A group in the staff member's area, or one the user organizes, or (open, on their line of
    the tree, or one they belong to) the volunteer's; else 404."""
    rows = InterestGroup.objects.select_related("grid", "organizer")
    found = rows.visible_to(user).filter(pk=group_id).first()
    if found is None:
        found = rows.filter(pk=group_id, organizer_id=user.pk).first() if user.is_authenticated else None
    if found is None:
        volunteer = profile_of(user)
        if volunteer is not None:
            mine = GroupMember.objects.filter(volunteer=volunteer, left_at__isnull=True).values("group")
            reachable = rows.filter(pk__in=mine)
            if volunteer.is_approved:
                reachable = reachable | rows.filter(
                    line_q(volunteer.grid.code), state=InterestGroup.State.OPEN
                )
            found = reachable.filter(pk=group_id).first()
    if found is None:
        raise Http404(_("No such group."))
    return found


def is_member(user, group: InterestGroup) -> bool:
    volunteer = profile_of(user)
    return volunteer is not None and (
        GroupMember.objects.filter(group=group, volunteer=volunteer, left_at__isnull=True).exists()
    )


def may_post_notice(user, group: InterestGroup) -> bool:
    """The organizer and the managers of the group's grid speak to the members."""
    return group.organizer_id == user.pk or managing_scope(user).covers(group.grid.code)


def require_notice_reader(user, group: InterestGroup, *, members_too: bool = True) -> None:
    """Notices are for the members (`members_too`); the organizer and staff who read the grid's
    volunteers see them, and the member list, too. Others who see the group: 403."""
    if may_post_notice(user, group) or reading_scope(user).covers(group.grid.code):
        return
    if members_too and is_member(user, group):
        return
    raise PermissionDenied(_("Only the group's members read its notices."))


def join_group(user, group_id: int) -> tuple[GroupMember, bool]:
    """Join an open group on one's line of the tree: (membership, joined now). Joining again
    returns the membership held; one who left comes back."""
    volunteer = approved_volunteer(user)
    with transaction.atomic():
        group = InterestGroup.objects.filter(line_q(volunteer.grid.code), pk=group_id).first()
        if group is None:
            raise Http404(_("No such group."))
        InterestGroup.objects.select_for_update().filter(pk=group.pk).values_list("pk").first()
        group.refresh_from_db()
        member = GroupMember.objects.filter(group=group, volunteer=volunteer).first()
        if member is not None and member.is_active:
            return member, False
        if group.state != InterestGroup.State.OPEN:
            raise Conflict(_("This group is closed."))
        if member is None:
            member = GroupMember(group=group, volunteer=volunteer)
        member.joined_at, member.left_at = timezone.now(), None
        member.save()
    return member, True


def leave_group(user, group_id: int) -> InterestGroup:
    """Leave a group; leaving one already left (or never joined, on one's line) changes nothing."""
    volunteer = profile_of(user)
    if volunteer is None:
        raise Http404(_("No such group."))
    # Any group the volunteer ever belonged to (open or closed), or may see on their line.
    been = GroupMember.objects.filter(volunteer=volunteer).values("group")
    group = (
        InterestGroup.objects.filter(Q(pk__in=been) | line_q(volunteer.grid.code))
        .select_related("grid", "organizer")
        .filter(pk=group_id)
        .first()
    )
    if group is None:
        raise Http404(_("No such group."))
    GroupMember.objects.filter(group=group, volunteer=volunteer, left_at__isnull=True).update(
        left_at=timezone.now()
    )
    return group


def close_group(user, group_id: int) -> InterestGroup:
    """Close a group (staff of its grid): it takes no new members or notices. Closing twice is one close."""
    with transaction.atomic():
        group = managed_group(user, group_id, lock=True)
        if group.state == InterestGroup.State.OPEN:
            group.state, group.closed_at = InterestGroup.State.CLOSED, timezone.now()
            group.save(update_fields=["state", "closed_at"])
    return group


def group_notice_text(group: InterestGroup, text: str) -> str:
    return (_("%(group)s: %(text)s") % {"group": group.name, "text": text})[:300]


def post_group_notice(user, group_id: int, text: str) -> GroupNotice:
    """A message from the organizer or staff to the group's current members, each of whom (but
    the author) also gets an in-app notification. The notice and its notifications are one write."""
    from gridgov.cases.models import Notification

    group = readable_group(user, group_id)
    if not may_post_notice(user, group):
        raise PermissionDenied(_("Only the group's organizer and the grid's staff send notices."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the message.")})
    if len(text) > NOTICE_MAX:
        raise ValidationError({"text": _("At most %d characters.") % NOTICE_MAX})
    with transaction.atomic():
        InterestGroup.objects.select_for_update().filter(pk=group.pk).values_list("pk").first()
        group.refresh_from_db()
        if group.state != InterestGroup.State.OPEN:
            raise Conflict(_("This group is closed."))
        users = set(
            GroupMember.objects.filter(group=group, left_at__isnull=True).values_list(
                "volunteer__user_id", flat=True
            )
        ) - {user.pk}
        notice = GroupNotice.objects.create(group=group, author=user, text=text, recipients=len(users))
        message = group_notice_text(group, text)
        Notification.objects.bulk_create(
            [Notification(user_id=u, kind="volunteer_group", text=message) for u in sorted(users)]
        )
    return notice


def groups_of(volunteer: Volunteer):
    """What the portal and /me/groups list: the groups the volunteer belongs to and, while
    approved, the open ones on their line of the tree."""
    belong = GroupMember.objects.filter(volunteer=volunteer, left_at__isnull=True).values("group")
    rows = Q(pk__in=belong)
    if volunteer.is_approved:
        rows |= Q(pk__in=groups_open_to(volunteer).values("pk"))
    return InterestGroup.objects.filter(rows).select_related("grid", "organizer").order_by("name", "id")
