"""Volunteer endpoints under /api/v1/volunteers: applications, teams, activities, check-in, points, shop.

Thin handlers: every rule is in `services`. Staff lists go through `visible_to`; a volunteer's
own rows (`/volunteers/me/...`) through their profile. 409 (`services.Conflict`) when the
object's state or the time does not allow the action.
"""

from datetime import date, datetime

import segno
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Status
from ninja.pagination import paginate

from gridgov.core.openapi import CONFLICT
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.grids.locator import CRS
from gridgov.volunteers import certificate, expiry, figures, services
from gridgov.volunteers.models import (
    Activity,
    Attendance,
    Certificate,
    GroupMember,
    GroupNotice,
    InterestGroup,
    Order,
    PointEntry,
    ShopItem,
    Signup,
    Team,
    Volunteer,
    balance_of,
)

router = Router(tags=["volunteers"])


def grid_ref(grid) -> dict:
    return {"code": grid.code, "name": grid.name}


# --- volunteers -------------------------------------------------------------------------------------


class VolunteerTeamRef(Schema):
    id: int
    name: str


class VolunteerOut(Schema):
    id: int
    user_id: int
    name: str
    phone: str = Field(description="masked")
    grid: GridRef
    skills: str
    availability: str
    state: str = Field(description="applied, approved, refused or suspended")
    state_label: str
    team: VolunteerTeamRef | None
    applied_at: datetime
    decided_at: datetime | None
    reason: str


class VolunteerLogOut(Schema):
    action: str
    action_label: str
    actor: str
    reason: str
    at: datetime


class VolunteerDetail(VolunteerOut):
    balance: int
    hours: float
    log: list[VolunteerLogOut]


class ExpiringOut(Schema):
    points: int
    by: date = Field(description="these points lapse by this day unless spent first")


class VolunteerMeOut(Schema):
    volunteer: VolunteerOut | None = Field(description="null before the first application")
    balance: int
    hours: float
    expiring: ExpiringOut | None = Field(None, description="points about to lapse (expiry rules)")


def volunteer_out(volunteer: Volunteer) -> dict:
    team = volunteer.team
    return {
        "id": volunteer.pk,
        "user_id": volunteer.user_id,
        "name": str(volunteer.user),
        "phone": volunteer.user.phone_masked,
        "grid": grid_ref(volunteer.grid),
        "skills": volunteer.skills,
        "availability": volunteer.availability,
        "state": volunteer.state,
        "state_label": volunteer.get_state_display(),
        "team": {"id": team.pk, "name": team.organization.name} if team else None,
        "applied_at": volunteer.applied_at,
        "decided_at": volunteer.decided_at,
        "reason": volunteer.reason,
    }


def volunteer_detail(volunteer: Volunteer) -> dict:
    log = volunteer.log.select_related("actor")
    return {
        **volunteer_out(volunteer),
        "balance": balance_of(volunteer.pk),
        "hours": float(services.hours_of(volunteer)),
        "log": [
            {
                "action": e.action,
                "action_label": e.get_action_display(),
                "actor": str(e.actor),
                "reason": e.reason,
                "at": e.at,
            }
            for e in log
        ],
    }


def _volunteers():
    return Volunteer.objects.select_related("user", "grid", "team__organization")


@router.get("/volunteers/me", response=VolunteerMeOut, summary="My volunteer profile, points and hours")
def me(request):
    volunteer = _volunteers().filter(user=request.auth).first()  # one query: read on every portal visit
    if volunteer is None:
        return {"volunteer": None, "balance": 0, "hours": 0.0}
    return {
        "volunteer": volunteer_out(volunteer),
        "balance": balance_of(volunteer.pk),
        "hours": float(services.hours_of(volunteer)),
        "expiring": expiry.expiring(volunteer),
    }


class VolunteerApplyIn(Schema):
    grid_code: str = Field(description="the grid I serve (where I live, usually)")
    skills: str = ""
    availability: str = Field("", description="when I can help, in my own words")


@router.post(
    "/volunteers/apply",
    response={201: VolunteerOut},
    summary="Apply to be a volunteer",
    openapi_extra=CONFLICT,
)
def apply(request, payload: VolunteerApplyIn):
    """Residents only; 409 while an application is pending or once approved. A refused
    applicant may apply again."""
    volunteer = services.apply(request.auth, **payload.dict())
    return Status(201, volunteer_out(_volunteers().get(pk=volunteer.pk)))


class VolunteerFilter(Schema):
    state: str = Field("", description="applied, approved, refused or suspended")
    grid: str = Field("", description="a grid code: the whole subtree")


@router.get(
    "/volunteers", response=list[VolunteerOut], summary="Volunteers in my area, newest application first"
)
@paginate(Pagination)
def list_volunteers(request, filters: Query[VolunteerFilter]):
    rows = _volunteers().visible_to(request.auth)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.grid:
        rows = rows.filter(grid__code__startswith=filters.grid)
    return LazyPage(rows, volunteer_out)


# --- teams --------------------------------------------------------------------------------------------


class VolunteerTeamOut(Schema):
    id: int
    organization_id: int
    name: str
    grid: GridRef
    leader_id: int
    leader: str
    members: int


def team_out(team: Team) -> dict:
    return {
        "id": team.pk,
        "organization_id": team.organization_id,
        "name": team.organization.name,
        "grid": grid_ref(team.organization.grid),
        "leader_id": team.leader_id,
        "leader": str(team.leader.user),
        "members": team.members.count(),
    }


def _teams():
    return Team.objects.select_related("organization__grid", "leader__user")


class VolunteerTeamIn(Schema):
    organization_id: int
    leader_id: int = Field(description="an approved volunteer's id")


@router.get("/volunteers/teams", response=list[VolunteerTeamOut], summary="Volunteer teams in my area")
@paginate(Pagination)
def list_teams(request):
    return LazyPage(_teams().visible_to(request.auth), team_out)


@router.post(
    "/volunteers/teams",
    response={201: VolunteerTeamOut},
    summary="Make an organization a volunteer team",
    openapi_extra=CONFLICT,
)
def create_team(request, payload: VolunteerTeamIn):
    team = services.create_team(
        request.auth, organization_id=payload.organization_id, leader_id=payload.leader_id
    )
    return Status(201, team_out(_teams().get(pk=team.pk)))


class TeamMemberIn(Schema):
    volunteer_id: int


@router.post(
    "/volunteers/teams/{team_id}/members", response=VolunteerTeamOut, summary="Add a volunteer to a team"
)
def add_member(request, team_id: int, payload: TeamMemberIn):
    services.add_member(request.auth, team_id, payload.volunteer_id)
    return team_out(_teams().get(pk=team_id))


class ReasonIn(Schema):
    reason: str = Field(description="why: kept in the log")


@router.post(
    "/volunteers/teams/{team_id}/members/{volunteer_id}/remove",
    response=VolunteerTeamOut,
    summary="Take a volunteer out of a team, with the reason",
    openapi_extra=CONFLICT,
)
def remove_member(request, team_id: int, volunteer_id: int, payload: ReasonIn):
    services.remove_member(request.auth, team_id, volunteer_id, payload.reason)
    return team_out(_teams().get(pk=team_id))


class TeamLeaderIn(Schema):
    leader_id: int = Field(description="an approved member of the team")


@router.post(
    "/volunteers/teams/{team_id}/leader", response=VolunteerTeamOut, summary="Change a team's leader"
)
def change_leader(request, team_id: int, payload: TeamLeaderIn):
    services.change_leader(request.auth, team_id, payload.leader_id)
    return team_out(_teams().get(pk=team_id))


# --- activities ---------------------------------------------------------------------------------------


class VolunteerAttendanceOut(Schema):
    id: int
    activity_id: int
    volunteer_id: int
    checked_in_at: datetime
    checked_out_at: datetime | None
    check_in_method: str = Field(description="qr, geofence, organizer or closing")
    check_out_method: str
    hours: float = Field(description="credited: inside the activity's time, 0 until checked out")


class VolunteerActivityOut(Schema):
    id: int
    title: str
    kind: str
    kind_label: str
    description: str
    address: str
    lat: float = Field(description="WGS-84")
    lon: float = Field(description="WGS-84")
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime
    quota: int
    taken: int = Field(description="places taken")
    waiting: int = Field(description="on the waiting list")
    points_rule: str = Field(description="per_hour or fixed")
    points: int
    radius_m: int
    state: str = Field(description="published, closed or cancelled")
    cancel_reason: str
    grid: GridRef
    organizer: str
    my_signup: str | None = Field(description="the requesting volunteer's sign-up state, if any")
    my_attendance: VolunteerAttendanceOut | None


def attendance_out(attendance: Attendance, activity: Activity) -> dict:
    return {
        "id": attendance.pk,
        "activity_id": attendance.activity_id,
        "volunteer_id": attendance.volunteer_id,
        "checked_in_at": attendance.checked_in_at,
        "checked_out_at": attendance.checked_out_at,
        "check_in_method": attendance.check_in_method,
        "check_out_method": attendance.check_out_method,
        "hours": float(services.hours(attendance, activity)),
    }


def activities_out(activities: list[Activity], volunteer: Volunteer | None = None) -> list[dict]:
    """A page of activities with their counts (and the volunteer's own state) in three queries."""
    ids = [a.pk for a in activities]
    counts = {
        row["activity"]: row
        for row in Signup.objects.filter(activity__in=ids)
        .values("activity")
        .annotate(
            taken=Count("id", filter=Q(state=Signup.State.SIGNED_UP)),
            waiting=Count("id", filter=Q(state=Signup.State.WAITING)),
        )
    }
    mine, attended = {}, {}
    if volunteer is not None:
        mine = dict(
            Signup.objects.filter(activity__in=ids, volunteer=volunteer).values_list("activity", "state")
        )
        attended = {
            a.activity_id: a for a in Attendance.objects.filter(activity__in=ids, volunteer=volunteer)
        }
    return [
        {
            "id": a.pk,
            "title": a.title,
            "kind": a.kind,
            "kind_label": a.get_kind_display(),
            "description": a.description,
            "address": a.address,
            "lat": a.lat,
            "lon": a.lon,
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "signup_deadline": a.signup_deadline,
            "quota": a.quota,
            "taken": counts.get(a.pk, {}).get("taken", 0),
            "waiting": counts.get(a.pk, {}).get("waiting", 0),
            "points_rule": a.points_rule,
            "points": a.points,
            "radius_m": a.radius_m,
            "state": a.state,
            "cancel_reason": a.cancel_reason,
            "grid": grid_ref(a.grid),
            "organizer": str(a.organizer),
            "my_signup": mine.get(a.pk),
            "my_attendance": attendance_out(attended[a.pk], a) if a.pk in attended else None,
        }
        for a in activities
    ]


def _activities():
    return Activity.objects.select_related("grid", "organizer")


class VolunteerActivityIn(Schema):
    grid_code: str = Field(description="published to this grid: it reaches the subtree")
    title: str
    kind: str = Field(
        description="patrol, elderly_care, environment, civility, epidemic, grid_wednesday, other"
    )
    description: str = ""
    address: str = ""
    lat: float
    lon: float
    crs: str = Field(CRS.WGS84, description="wgs84, cgcs2000, gcj02 or bd09")
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime | None = Field(None, description="default: the start")
    quota: int
    points_rule: str = Field(description="per_hour or fixed")
    points: int = Field(description="per hour, or for taking part")
    radius_m: int | None = Field(None, description="check-in by location within this distance; default 200")


@router.post("/volunteers/activities", response={201: VolunteerActivityOut}, summary="Publish an activity")
def publish(request, payload: VolunteerActivityIn):
    activity = services.publish(request.auth, payload.dict())
    return Status(201, activities_out([_activities().get(pk=activity.pk)])[0])


class VolunteerActivityEditIn(Schema):
    """Only the fields sent change; the grid stays (cancel and publish again to move it)."""

    title: str | None = None
    kind: str | None = None
    description: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    crs: str = Field(CRS.WGS84, description="of lat/lon, when they are sent")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    signup_deadline: datetime | None = None
    quota: int | None = Field(None, description="not below the places taken; more moves the waiting list up")
    points_rule: str | None = None
    points: int | None = None
    radius_m: int | None = None


@router.patch(
    "/volunteers/activities/{activity_id}",
    response=VolunteerActivityOut,
    summary="Change an activity before it starts (those signed up are told of a new time or place)",
    openapi_extra=CONFLICT,
)
def edit_activity(request, activity_id: int, payload: VolunteerActivityEditIn):
    changes = payload.dict(exclude_unset=True)
    services.edit_activity(request.auth, activity_id, changes)
    return activities_out([_activities().get(pk=activity_id)])[0]


@router.post(
    "/volunteers/activities/{activity_id}/cancel-activity",
    response=VolunteerActivityOut,
    summary="Call an activity off, with the reason (before anyone checks in)",
    openapi_extra=CONFLICT,
)
def cancel_activity(request, activity_id: int, payload: ReasonIn):
    services.cancel_activity(request.auth, activity_id, payload.reason)
    return activities_out([_activities().get(pk=activity_id)])[0]


class VolunteerActivityFilter(Schema):
    state: str = Field("", description="published, closed or cancelled")
    grid: str = Field("", description="a grid code: the whole subtree")


@router.get(
    "/volunteers/activities",
    response=list[VolunteerActivityOut],
    summary="Activities in my area, latest first",
)
@paginate(Pagination)
def list_activities(request, filters: Query[VolunteerActivityFilter]):
    rows = _activities().visible_to(request.auth)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.grid:
        rows = rows.filter(grid__code__startswith=filters.grid)
    return LazyPage(rows, out_page=activities_out)


@router.get(
    "/volunteers/me/activities",
    response=list[VolunteerActivityOut],
    summary="Activities open to me (my grid's line of the tree), soonest first",
)
@paginate(Pagination)
def my_activities(request, upcoming: bool = True):
    """`upcoming=true` (default): those not yet ended; false: all, latest first."""
    volunteer = services.profile_of(request.auth)
    if volunteer is None or not volunteer.is_approved:
        return LazyPage(Activity.objects.none(), out_page=activities_out)
    rows = services.open_to(volunteer).select_related("grid", "organizer")
    if upcoming:
        rows = rows.filter(ends_at__gte=timezone.now()).order_by("starts_at", "id")
    return LazyPage(rows, out_page=lambda page: activities_out(page, volunteer))


@router.get("/volunteers/activities/{activity_id}", response=VolunteerActivityOut, summary="An activity")
def get_activity(request, activity_id: int):
    activity = services.readable_activity(request.auth, activity_id)
    return activities_out([activity], services.profile_of(request.auth))[0]


class ActivitySignupOut(Schema):
    volunteer_id: int
    name: str
    phone: str = Field(description="masked")
    state: str = Field(description="signed_up, waiting, cancelled or no_show")
    state_label: str
    queued_at: datetime
    attendance: VolunteerAttendanceOut | None


@router.get(
    "/volunteers/activities/{activity_id}/signups",
    response=list[ActivitySignupOut],
    summary="Who signed up, the waiting list in order, and their attendance",
)
def list_signups(request, activity_id: int):
    activity = get_object_or_404(Activity.objects.visible_to(request.auth), pk=activity_id)
    attended = {a.volunteer_id: a for a in Attendance.objects.filter(activity=activity)}
    rows = (
        Signup.objects.filter(activity=activity).select_related("volunteer__user").order_by("queued_at", "id")
    )
    return [
        {
            "volunteer_id": s.volunteer_id,
            "name": str(s.volunteer.user),
            "phone": s.volunteer.user.phone_masked,
            "state": s.state,
            "state_label": s.get_state_display(),
            "queued_at": s.queued_at,
            "attendance": attendance_out(attended[s.volunteer_id], activity)
            if s.volunteer_id in attended
            else None,
        }
        for s in rows
    ]


def _mine(request, activity_id: int) -> dict:
    activity = services.readable_activity(request.auth, activity_id)
    return activities_out([activity], services.profile_of(request.auth))[0]


@router.post(
    "/volunteers/activities/{activity_id}/signup",
    response={200: VolunteerActivityOut, 201: VolunteerActivityOut},
    summary="Sign up (or join the waiting list when full)",
    openapi_extra=CONFLICT,
)
def sign_up(request, activity_id: int):
    """201 when signed up now, 200 when already signed up or waiting; `my_signup` says which."""
    _signup, created = services.sign_up(request.auth, activity_id)
    return Status(201 if created else 200, _mine(request, activity_id))


@router.post(
    "/volunteers/activities/{activity_id}/cancel",
    response=VolunteerActivityOut,
    summary="Cancel my sign-up (the waiting list moves up)",
    openapi_extra=CONFLICT,
)
def cancel_signup(request, activity_id: int):
    services.cancel_signup(request.auth, activity_id)
    return _mine(request, activity_id)


class CheckInCodeOut(Schema):
    token: str = Field(description="signed; valid for 60 seconds")
    url: str = Field(description="the check-in page the QR code opens")
    svg: str = Field(description="the QR code of the url, as inline SVG")
    expires_in: int
    refresh_in: int = Field(description="seconds until the screen should ask for a new code")


def qr_out(request, user, activity_id: int) -> dict:
    """The code with its URL and picture (the API's user is request.auth, a page's request.user)."""
    code = services.qr_token(user, activity_id)
    url = request.build_absolute_uri(reverse("volunteers-checkin")) + "?t=" + code["token"]
    return {**code, "url": url, "svg": segno.make(url, error="m").svg_inline(scale=6)}


@router.get(
    "/volunteers/activities/{activity_id}/qr",
    response=CheckInCodeOut,
    summary="The organizer's rotating check-in code",
    openapi_extra=CONFLICT,
)
def qr(request, activity_id: int):
    return qr_out(request, request.auth, activity_id)


class CheckInProofIn(Schema):
    token: str = Field("", description="the code from the organizer's screen; or send a position")
    lat: float | None = None
    lon: float | None = None
    crs: str = Field(CRS.WGS84, description="wgs84, cgcs2000, gcj02 or bd09")


@router.post(
    "/volunteers/activities/{activity_id}/check-in",
    response={200: VolunteerAttendanceOut, 201: VolunteerAttendanceOut},
    summary="Check in by the organizer's code or by location",
    openapi_extra=CONFLICT,
)
def check_in(request, activity_id: int, payload: CheckInProofIn):
    """201 with the new record; 200 with the same record when the check-in is sent again."""
    attendance, created = services.check_in(request.auth, activity_id, payload.dict())
    return Status(201 if created else 200, attendance_out(attendance, attendance.activity))


@router.post(
    "/volunteers/activities/{activity_id}/check-out",
    response=VolunteerAttendanceOut,
    summary="Check out by the organizer's code or by location",
    openapi_extra=CONFLICT,
)
def check_out(request, activity_id: int, payload: CheckInProofIn):
    attendance = services.check_out(request.auth, activity_id, payload.dict())
    return attendance_out(attendance, attendance.activity)


class AttendanceCorrectIn(Schema):
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    reason: str


@router.post(
    "/volunteers/activities/{activity_id}/attendance/{volunteer_id}",
    response=VolunteerAttendanceOut,
    summary="Correct a volunteer's times, with the reason",
    openapi_extra=CONFLICT,
)
def correct(request, activity_id: int, volunteer_id: int, payload: AttendanceCorrectIn):
    attendance = services.correct_times(request.auth, activity_id, volunteer_id, **payload.dict())
    return attendance_out(attendance, attendance.activity)


@router.post(
    "/volunteers/activities/{activity_id}/close",
    response=VolunteerActivityOut,
    summary="Close the activity: no-shows recorded, points earned",
    openapi_extra=CONFLICT,
)
def close(request, activity_id: int):
    activity = services.close(request.auth, activity_id)
    return activities_out([_activities().get(pk=activity.pk)])[0]


# --- shop -----------------------------------------------------------------------------------------------


class ShopItemOut(Schema):
    id: int
    name: str
    price: int
    stock: int
    pickup_point: str
    grid: GridRef
    is_active: bool


def item_out(item: ShopItem) -> dict:
    return {
        "id": item.pk,
        "name": item.name,
        "price": item.price,
        "stock": item.stock,
        "pickup_point": item.pickup_point,
        "grid": grid_ref(item.grid),
        "is_active": item.is_active,
    }


class ShopItemIn(Schema):
    name: str
    price: int = Field(description="points")
    stock: int
    pickup_point: str
    grid_code: str


@router.get("/volunteers/shop/items", response=list[ShopItemOut], summary="Shop items in my area")
@paginate(Pagination)
def list_items(request):
    return LazyPage(ShopItem.objects.visible_to(request.auth).select_related("grid"), item_out)


@router.post("/volunteers/shop/items", response={201: ShopItemOut}, summary="Put an item in the shop")
def add_item(request, payload: ShopItemIn):
    return Status(201, item_out(services.add_item(request.auth, **payload.dict())))


@router.get(
    "/volunteers/me/shop", response=list[ShopItemOut], summary="The items I may redeem, cheapest first"
)
@paginate(Pagination)
def my_shop(request):
    volunteer = services.profile_of(request.auth)
    if volunteer is None or not volunteer.is_approved:
        return LazyPage(ShopItem.objects.none(), item_out)
    return LazyPage(services.shop_for(volunteer), item_out)


class ShopOrderOut(Schema):
    id: int
    volunteer_id: int
    volunteer: str
    item_id: int
    item: str
    pickup_point: str
    points: int
    state: str = Field(description="placed, fulfilled or cancelled")
    state_label: str
    placed_at: datetime
    closed_at: datetime | None
    reason: str


def order_out(order: Order) -> dict:
    return {
        "id": order.pk,
        "volunteer_id": order.volunteer_id,
        "volunteer": str(order.volunteer.user),
        "item_id": order.item_id,
        "item": order.item.name,
        "pickup_point": order.item.pickup_point,
        "points": order.points,
        "state": order.state,
        "state_label": order.get_state_display(),
        "placed_at": order.placed_at,
        "closed_at": order.closed_at,
        "reason": order.reason,
    }


def _orders():
    return Order.objects.select_related("item", "volunteer__user")


class ShopOrderIn(Schema):
    item_id: int


@router.post(
    "/volunteers/orders",
    response={201: ShopOrderOut},
    summary="Redeem points for an item",
    openapi_extra=CONFLICT,
)
def place_order(request, payload: ShopOrderIn):
    """409 when the item is out of stock or the balance is too small."""
    order = services.place_order(request.auth, payload.item_id)
    return Status(201, order_out(_orders().get(pk=order.pk)))


@router.get("/volunteers/me/orders", response=list[ShopOrderOut], summary="My orders, newest first")
@paginate(Pagination)
def my_orders(request):
    volunteer = services.profile_of(request.auth)
    rows = _orders().filter(volunteer=volunteer) if volunteer else Order.objects.none()
    return LazyPage(rows, order_out)


class ShopOrderFilter(Schema):
    state: str = Field("", description="placed, fulfilled or cancelled")


@router.get("/volunteers/orders", response=list[ShopOrderOut], summary="Orders for the items of my area")
@paginate(Pagination)
def list_orders(request, filters: Query[ShopOrderFilter]):
    rows = _orders().visible_to(request.auth)
    if filters.state:
        rows = rows.filter(state=filters.state)
    return LazyPage(rows, order_out)


class OrderCancelIn(Schema):
    reason: str = Field("", description="needed when staff cancel")


@router.post(
    "/volunteers/orders/{order_id}/cancel",
    response=ShopOrderOut,
    summary="Cancel an order: the points are refunded",
    openapi_extra=CONFLICT,
)
def cancel_order(request, order_id: int, payload: OrderCancelIn):
    services.cancel_order(request.auth, order_id, payload.reason)
    return order_out(_orders().get(pk=order_id))


@router.post(
    "/volunteers/orders/{order_id}/fulfil",
    response=ShopOrderOut,
    summary="Hand the item over",
    openapi_extra=CONFLICT,
)
def fulfil_order(request, order_id: int):
    services.fulfil_order(request.auth, order_id)
    return order_out(_orders().get(pk=order_id))


# --- interest groups ----------------------------------------------------------------------------------


class InterestGroupOut(Schema):
    id: int
    name: str
    description: str
    grid: GridRef
    organizer_id: int
    organizer: str
    state: str = Field(description="open or closed")
    members: int = Field(description="current members")
    is_member: bool = Field(description="whether the requesting user belongs to it")
    may_post: bool = Field(description="whether the requesting user may send it notices")
    created_at: datetime


def groups_out(groups: list[InterestGroup], user) -> list[dict]:
    """A page of groups with their member counts and the user's own membership, in two queries."""
    ids = [g.pk for g in groups]
    counts = dict(
        GroupMember.objects.filter(group__in=ids, left_at__isnull=True)
        .values("group")
        .annotate(n=Count("id"))
        .values_list("group", "n")
    )
    volunteer = services.profile_of(user)
    mine = set()
    if volunteer is not None:
        mine = set(
            GroupMember.objects.filter(group__in=ids, volunteer=volunteer, left_at__isnull=True).values_list(
                "group", flat=True
            )
        )
    return [
        {
            "id": g.pk,
            "name": g.name,
            "description": g.description,
            "grid": grid_ref(g.grid),
            "organizer_id": g.organizer_id,
            "organizer": str(g.organizer),
            "state": g.state,
            "members": counts.get(g.pk, 0),
            "is_member": g.pk in mine,
            "may_post": services.may_post_notice(user, g),
            "created_at": g.created_at,
        }
        for g in groups
    ]


def _groups():
    return InterestGroup.objects.select_related("grid", "organizer")


def group_out(user, group_id: int) -> dict:
    return groups_out([_groups().get(pk=group_id)], user)[0]


class InterestGroupIn(Schema):
    grid_code: str = Field(description="the group's grid: it reaches the grid's line of the tree")
    name: str
    description: str = ""
    organizer_volunteer_id: int | None = Field(
        None, description="an approved volunteer who runs it; default: the creating staff member"
    )


@router.post("/volunteers/groups", response={201: InterestGroupOut}, summary="Set up an interest group")
def create_group(request, payload: InterestGroupIn):
    group = services.create_group(request.auth, **payload.dict())
    return Status(201, group_out(request.auth, group.pk))


class InterestGroupFilter(Schema):
    state: str = Field("", description="open or closed")
    grid: str = Field("", description="a grid code: the whole subtree")


@router.get("/volunteers/groups", response=list[InterestGroupOut], summary="Interest groups in my area")
@paginate(Pagination)
def list_groups(request, filters: Query[InterestGroupFilter]):
    rows = _groups().visible_to(request.auth)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.grid:
        rows = rows.filter(grid__code__startswith=filters.grid)
    return LazyPage(rows, out_page=lambda page: groups_out(page, request.auth))


@router.get(
    "/volunteers/me/groups",
    response=list[InterestGroupOut],
    summary="Open groups on my grid's line of the tree, and the groups I belong to",
)
@paginate(Pagination)
def my_groups(request):
    volunteer = services.profile_of(request.auth)
    rows = services.groups_of(volunteer) if volunteer else InterestGroup.objects.none()
    return LazyPage(rows, out_page=lambda page: groups_out(page, request.auth))


@router.get("/volunteers/groups/{group_id}", response=InterestGroupOut, summary="An interest group")
def get_group(request, group_id: int):
    return group_out(request.auth, services.readable_group(request.auth, group_id).pk)


@router.post(
    "/volunteers/groups/{group_id}/join",
    response={200: InterestGroupOut, 201: InterestGroupOut},
    summary="Join a group (201 now, 200 when already a member)",
    openapi_extra=CONFLICT,
)
def join_group(request, group_id: int):
    _member, joined = services.join_group(request.auth, group_id)
    return Status(201 if joined else 200, group_out(request.auth, group_id))


@router.post(
    "/volunteers/groups/{group_id}/leave",
    response=InterestGroupOut,
    summary="Leave a group (leaving again changes nothing)",
)
def leave_group(request, group_id: int):
    services.leave_group(request.auth, group_id)
    return group_out(request.auth, group_id)


@router.post(
    "/volunteers/groups/{group_id}/close",
    response=InterestGroupOut,
    summary="Close a group: no new members or notices",
)
def close_group(request, group_id: int):
    services.close_group(request.auth, group_id)
    return group_out(request.auth, group_id)


class GroupMemberOut(Schema):
    volunteer_id: int
    name: str
    phone: str = Field(description="masked")
    joined_at: datetime


@router.get(
    "/volunteers/groups/{group_id}/members",
    response=list[GroupMemberOut],
    summary="The group's current members (for its organizer and staff)",
)
@paginate(Pagination)
def group_members(request, group_id: int):
    group = services.readable_group(request.auth, group_id)
    services.require_notice_reader(request.auth, group, members_too=False)
    rows = GroupMember.objects.filter(group=group, left_at__isnull=True).select_related("volunteer__user")
    return LazyPage(
        rows,
        lambda m: {
            "volunteer_id": m.volunteer_id,
            "name": str(m.volunteer.user),
            "phone": m.volunteer.user.phone_masked,
            "joined_at": m.joined_at,
        },
    )


class GroupNoticeOut(Schema):
    id: int
    group_id: int
    author: str
    text: str
    recipients: int = Field(description="members notified in the app")
    created_at: datetime


def notice_out(notice: GroupNotice) -> dict:
    return {
        "id": notice.pk,
        "group_id": notice.group_id,
        "author": str(notice.author),
        "text": notice.text,
        "recipients": notice.recipients,
        "created_at": notice.created_at,
    }


@router.get(
    "/volunteers/groups/{group_id}/notices",
    response=list[GroupNoticeOut],
    summary="The group's notices, newest first (members, organizer, staff)",
)
@paginate(Pagination)
def group_notices(request, group_id: int):
    group = services.readable_group(request.auth, group_id)
    services.require_notice_reader(request.auth, group)
    return LazyPage(GroupNotice.objects.filter(group=group).select_related("author"), notice_out)


class GroupNoticeIn(Schema):
    text: str = Field(description="at most 300 characters")


@router.post(
    "/volunteers/groups/{group_id}/notices",
    response={201: GroupNoticeOut},
    summary="Send the members a notice (each gets an in-app notification)",
    openapi_extra=CONFLICT,
)
def post_group_notice(request, group_id: int, payload: GroupNoticeIn):
    notice = services.post_group_notice(request.auth, group_id, payload.text)
    return Status(201, notice_out(notice))


# --- points certificates --------------------------------------------------------------------------------


class CertificateOut(Schema):
    id: int
    volunteer_id: int
    name: str
    year: int
    hours: float
    points: int = Field(description="service points of the year: earned, awarded, deducted")
    activities: int
    code: str = Field(description="the verification code")
    verify_url: str
    pdf_url: str
    issued_at: datetime
    valid: bool
    revoked_at: datetime | None
    revoke_reason: str


def certificate_out(request, c: Certificate) -> dict:
    return {
        "id": c.pk,
        "volunteer_id": c.volunteer_id,
        "name": str(c.volunteer.user),
        "year": c.year,
        "hours": float(c.hours),
        "points": c.points,
        "activities": c.activities,
        "code": c.code,
        "verify_url": request.build_absolute_uri(reverse("volunteers-certificate-verify", args=[c.code])),
        "pdf_url": f"/api/v1/volunteers/certificates/{c.pk}/pdf",
        "issued_at": c.issued_at,
        "valid": c.is_valid,
        "revoked_at": c.revoked_at,
        "revoke_reason": c.revoke_reason,
    }


def _certificates():
    return Certificate.objects.select_related("volunteer__user")


class CertificateIn(Schema):
    year: int


@router.post(
    "/volunteers/me/certificates",
    response={200: CertificateOut, 201: CertificateOut},
    summary="Issue my points certificate of a year (200: the same figures, the same certificate)",
)
def issue_my_certificate(request, payload: CertificateIn):
    made, created = certificate.issue(
        request.auth, year=payload.year, ip_address=request.META.get("REMOTE_ADDR")
    )
    return Status(201 if created else 200, certificate_out(request, _certificates().get(pk=made.pk)))


@router.get("/volunteers/me/certificates", response=list[CertificateOut], summary="My certificates")
@paginate(Pagination)
def my_certificates(request):
    volunteer = services.profile_of(request.auth)
    rows = _certificates().filter(volunteer=volunteer) if volunteer else Certificate.objects.none()
    return LazyPage(rows, lambda c: certificate_out(request, c))


@router.get(
    "/volunteers/certificates/{certificate_id}/pdf",
    summary="The certificate as a PDF (its volunteer or staff of the area; audited)",
    response={200: None, 503: dict},
    openapi_extra=CONFLICT,
)
def certificate_pdf(request, certificate_id: int):
    """503 when no Chinese font is installed on the server; 409 for a revoked certificate."""
    return certificate.pdf_response(request, request.auth, certificate_id)


@router.post(
    "/volunteers/certificates/{certificate_id}/revoke",
    response=CertificateOut,
    summary="Revoke a certificate: its code no longer verifies",
    openapi_extra=CONFLICT,
)
def revoke_certificate(request, certificate_id: int, payload: ReasonIn):
    revoked = certificate.revoke(request.auth, certificate_id, payload.reason)
    return certificate_out(request, _certificates().get(pk=revoked.pk))


# --- one volunteer ------------------------------------------------------------------------------------
# Last: Django tries the routes in order, and /volunteers/{volunteer_id} would take /volunteers/teams.


# --- figures for leaders --------------------------------------------------------------------------


class VolunteerFigures(Schema):
    volunteers: int = Field(description="approved volunteers (now)")
    active: int = Field(description="volunteers who came to an activity of the period")
    participation: float | None = Field(description="active ÷ volunteers")
    hours: float
    points: int = Field(description="earned and awarded, less deductions (not spending or expiry)")
    activities: int = Field(description="activities that started in the period (not cancelled)")
    attended: int
    no_shows: int
    turnout: float | None = Field(description="attended ÷ (attended + no-shows)")


class VolunteerAreaFigures(VolunteerFigures):
    code: str
    name: str


class VolunteerTopOut(Schema):
    rank: int
    volunteer_id: int
    name: str
    grid: str
    hours: float | None = None
    points: int | None = None


class VolunteerFiguresOut(Schema):
    period: dict
    totals: VolunteerFigures
    areas: list[VolunteerAreaFigures]
    top_hours: list[VolunteerTopOut]
    top_points: list[VolunteerTopOut]


@router.get(
    "/volunteers/figures",
    response=VolunteerFiguresOut,
    summary="Volunteer figures of a period: per area and the top volunteers by hours and points",
)
def volunteer_figures(request):
    """The period as for the analytics rankings (period=day|week|month|quarter|year with date,
    or custom with start and end; 400 per field) and grid=a grid code in your area. For those who
    read volunteer data (community and grid leaders, auditors); 403 for others."""
    from gridgov.analytics import periods

    period = periods.parse(request.GET)
    found = figures.build(request.auth, period, (request.GET.get("grid") or "").strip())
    if found is None:
        raise PermissionDenied(_("Only community leaders, grid leaders and auditors see volunteer figures."))
    return {"period": period.as_dict(), **found}


@router.get("/volunteers/{volunteer_id}", response=VolunteerDetail, summary="A volunteer with their log")
def get_volunteer(request, volunteer_id: int):
    return volunteer_detail(get_object_or_404(_volunteers().visible_to(request.auth), pk=volunteer_id))


class VolunteerDecideIn(Schema):
    action: str = Field(description="approve, refuse, suspend or reinstate")
    reason: str = Field("", description="needed for all but approve")


@router.post(
    "/volunteers/{volunteer_id}/decide",
    response=VolunteerDetail,
    summary="Approve, refuse, suspend or reinstate a volunteer",
    openapi_extra=CONFLICT,
)
def decide(request, volunteer_id: int, payload: VolunteerDecideIn):
    services.decide(request.auth, volunteer_id, payload.action, payload.reason)
    return volunteer_detail(_volunteers().get(pk=volunteer_id))


# --- points -------------------------------------------------------------------------------------------


class PointEntryOut(Schema):
    id: int
    amount: int
    kind: str = Field(description="earn, award, deduct, redeem, refund or expire")
    kind_label: str
    reason: str
    approver: str | None
    activity_id: int | None
    order_id: int | None
    created_at: datetime


def entry_out(entry: PointEntry) -> dict:
    return {
        "id": entry.pk,
        "amount": entry.amount,
        "kind": entry.kind,
        "kind_label": entry.get_kind_display(),
        "reason": entry.reason,
        "approver": str(entry.approver) if entry.approver_id else None,
        "activity_id": entry.activity_id,
        "order_id": entry.order_id,
        "created_at": entry.created_at,
    }


@router.get("/volunteers/me/points", response=list[PointEntryOut], summary="My points ledger, newest first")
@paginate(Pagination)
def my_points(request):
    volunteer = services.profile_of(request.auth)
    rows = PointEntry.objects.filter(volunteer=volunteer) if volunteer else PointEntry.objects.none()
    return LazyPage(rows.select_related("approver"), entry_out)


@router.get(
    "/volunteers/{volunteer_id}/points",
    response=list[PointEntryOut],
    summary="A volunteer's points ledger, newest first",
)
@paginate(Pagination)
def volunteer_points(request, volunteer_id: int):
    volunteer = get_object_or_404(Volunteer.objects.visible_to(request.auth), pk=volunteer_id)
    return LazyPage(PointEntry.objects.filter(volunteer=volunteer).select_related("approver"), entry_out)


class PointsAdjustIn(Schema):
    amount: int = Field(description="points to award (positive) or deduct (negative)")
    reason: str


@router.post(
    "/volunteers/{volunteer_id}/points",
    response={201: PointEntryOut},
    summary="Award or deduct points, with the reason",
)
def adjust_points(request, volunteer_id: int, payload: PointsAdjustIn):
    """The acting staff member is the approver; a deduction never takes the balance below zero."""
    entry = services.adjust_points(request.auth, volunteer_id, amount=payload.amount, reason=payload.reason)
    return Status(201, entry_out(entry))


class VolunteerCertificateIn(Schema):
    year: int


@router.post(
    "/volunteers/{volunteer_id}/certificates",
    response={200: CertificateOut, 201: CertificateOut},
    summary="Issue a volunteer's points certificate of a year",
)
def issue_certificate(request, volunteer_id: int, payload: VolunteerCertificateIn):
    made, created = certificate.issue(
        request.auth, year=payload.year, volunteer_id=volunteer_id, ip_address=request.META.get("REMOTE_ADDR")
    )
    return Status(201 if created else 200, certificate_out(request, _certificates().get(pk=made.pk)))


@router.get(
    "/volunteers/{volunteer_id}/certificates",
    response=list[CertificateOut],
    summary="A volunteer's certificates, newest first",
)
@paginate(Pagination)
def volunteer_certificates(request, volunteer_id: int):
    volunteer = get_object_or_404(Volunteer.objects.visible_to(request.auth), pk=volunteer_id)
    return LazyPage(_certificates().filter(volunteer=volunteer), lambda c: certificate_out(request, c))
