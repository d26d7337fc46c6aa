"""The demo's volunteers: sized like seed 002, every row as the services would have written it,
a ledger that never goes below zero, and the API working on them — on the fengqiao district
built once for this module, test_demo.py and test_registry.py (conftest.py)."""

from collections import Counter, defaultdict
from datetime import timedelta

import pytest
import shapely
from django.db.models import Sum
from django.utils import timezone

from gridgov.accounts.models import Assignment, Role, User
from gridgov.cases.models import Notification
from gridgov.demo import volunteers as demo_volunteers
from gridgov.demo.builder import PROFILES, reset_services, reset_volunteers
from gridgov.grids.models import Grid
from gridgov.volunteers import services
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
    managing_scope,
)

pytestmark = pytest.mark.django_db
TARGETS = demo_volunteers.targets(PROFILES["fengqiao"])


def _near(value: int, target: int, share: float = 0.05) -> bool:
    return abs(value - target) <= share * target


def test_fengqiao_is_sized_like_the_seed(fengqiao):
    assert TARGETS == {"volunteers": 1800, "activities": 230, "upcoming": 10, "groups": 121}
    assert _near(Volunteer.objects.count(), 1800)
    now = timezone.now()
    past = Activity.objects.filter(starts_at__lt=now)
    assert _near(past.count(), 230)
    assert past.filter(starts_at__lt=now - timedelta(days=366)).count() == 0
    assert past.filter(state=Activity.State.CLOSED).count() >= 0.9 * past.count()
    upcoming = Activity.objects.filter(starts_at__gt=now, state=Activity.State.PUBLISHED,
                                       signup_deadline__gt=now)
    assert 8 <= upcoming.count() <= 12
    assert set(Activity.objects.values_list("kind", flat=True)) == set(Activity.Kind.values)
    assert InterestGroup.objects.count() == 121
    states = Counter(Volunteer.objects.values_list("state", flat=True))
    total = sum(states.values())
    assert states[Volunteer.State.APPROVED] / total >= 0.8
    for state in (Volunteer.State.APPLIED, Volunteer.State.REFUSED, Volunteer.State.SUSPENDED):
        assert 0.01 <= states[state] / total <= 0.1, state


def test_volunteers_are_residents_of_their_service_grid_with_one_phone_each(fengqiao):
    rows = list(Volunteer.objects.values_list("user_id", "grid_id", "grid__level"))
    assert {level for _user, _grid, level in rows} == {3}
    homes = dict(Assignment.objects.filter(role=Role.RESIDENT, user__volunteer__isnull=False)
                 .values_list("user_id", "grid_id"))
    assert homes == {user: grid for user, grid, _level in rows}
    # A phone login finds one account: each volunteer's phone is theirs alone.
    theirs = list(User.objects.filter(volunteer__isnull=False).values_list("phone_hash", flat=True))
    others = set(User.objects.filter(volunteer__isnull=True).values_list("phone_hash", flat=True))
    assert "" not in theirs and len(theirs) == len(set(theirs)) and not set(theirs) & others
    assert Volunteer.objects.filter(user__username="resident", state=Volunteer.State.APPROVED).exists()


def test_every_decision_is_logged_by_a_manager_of_the_grid(fengqiao):
    """Each volunteer's log is a path through services.apply and services.DECISIONS that ends in
    their state; the last decision is the one on their profile, made by a manager of their grid."""
    logs = defaultdict(list)
    for entry in VolunteerLog.objects.exclude(action=VolunteerLog.Action.TEAM).order_by("at", "id"):
        logs[entry.volunteer_id].append(entry)
    users = {}
    for volunteer in Volunteer.objects.select_related("grid"):
        state = None
        for entry in logs[volunteer.pk]:
            if entry.action == "apply":
                assert state in (None, Volunteer.State.REFUSED) and entry.actor_id == volunteer.user_id
                state = Volunteer.State.APPLIED
                continue
            allowed, state_after, needs_reason = services.DECISIONS[entry.action]
            assert state in allowed and (entry.reason or not needs_reason), volunteer
            state = state_after
        assert state == volunteer.state, volunteer
        last = logs[volunteer.pk][-1]
        if last.action == "apply":
            assert volunteer.decided_at is None and volunteer.decided_by_id is None
            continue
        assert (volunteer.decided_by_id, volunteer.decided_at, volunteer.reason) == (
            last.actor_id, last.at, last.reason)
        actor = users.setdefault(last.actor_id, User.objects.get(pk=last.actor_id))
        assert managing_scope(actor).covers(volunteer.grid.code)
        assert volunteer.applied_at < volunteer.decided_at < timezone.now()


def test_teams_are_registry_organizations_with_members_of_their_grid(fengqiao):
    teams = list(Team.objects.select_related("organization__grid", "leader__grid"))
    assert teams  # the registry of the demo street has organizations
    for team in teams:
        assert team.leader.team_id == team.pk and team.leader.is_approved
        members = Volunteer.objects.filter(team=team)
        assert members.count() >= 3
        grid = team.organization.grid.code[:15]
        assert all(code == grid for code in members.values_list("grid__code", flat=True))
        joined = VolunteerLog.objects.filter(action=VolunteerLog.Action.TEAM, volunteer__in=members)
        assert joined.count() == members.count()
        assert set(joined.values_list("reason", flat=True)) == {team.organization.name}


def test_activities_are_published_by_a_manager_at_a_place_inside_their_grid(fengqiao):
    organizers = {}
    for activity in Activity.objects.select_related("grid"):
        organizer = organizers.setdefault(activity.organizer_id, User.objects.get(pk=activity.organizer_id))
        assert services.may_manage(organizer) and managing_scope(organizer).covers(activity.grid.code)
        shape = shapely.geometry.shape(activity.grid.boundary)
        assert shape.contains(shapely.Point(activity.lon, activity.lat)), activity
        assert activity.created_at <= activity.signup_deadline <= activity.starts_at < activity.ends_at
        assert activity.ends_at - activity.starts_at <= services.MAX_DURATION
    logs = Counter(ActivityLog.objects.values_list("action", flat=True))
    assert logs["publish"] == Activity.objects.count()
    assert logs["close"] == Activity.objects.filter(state=Activity.State.CLOSED).count()
    assert logs["correct"] == Attendance.objects.filter(check_in_method=Attendance.Method.ORGANIZER).count()


def test_sign_ups_keep_to_the_quota_and_only_approved_volunteers_of_the_line_take_part(fengqiao):
    activities = {a.pk: a for a in Activity.objects.select_related("grid")}
    signups = defaultdict(list)
    for signup in Signup.objects.select_related("volunteer__grid").order_by("queued_at", "id"):
        signups[signup.activity_id].append(signup)
    for pk, activity in activities.items():
        held = [s for s in signups[pk] if s.state in (Signup.State.SIGNED_UP, Signup.State.NO_SHOW)]
        assert len(held) <= activity.quota
        if any(s.state == Signup.State.WAITING for s in signups[pk]):
            # Someone waits only behind a full activity: a cancelled place goes to the first waiting.
            assert len(held) == activity.quota
        for signup in signups[pk]:
            assert signup.volunteer.grid.code.startswith(activity.grid.code)
            assert activity.created_at <= signup.queued_at <= activity.signup_deadline
            assert signup.cancelled_at is None or signup.queued_at <= signup.cancelled_at < activity.starts_at
    came = Attendance.objects.values_list("activity_id", "volunteer_id")
    held = set(Signup.objects.filter(state=Signup.State.SIGNED_UP).values_list("activity_id", "volunteer_id"))
    assert set(came) <= held
    assert Signup.objects.filter(state=Signup.State.WAITING).exists()
    assert Signup.objects.filter(state=Signup.State.CANCELLED).exists()


def test_closed_activities_earned_exactly_what_closing_gives(fengqiao):
    earned = defaultdict(dict)
    for activity_id, volunteer_id, amount, approver in PointEntry.objects.filter(
            kind=PointEntry.Kind.EARN).values_list("activity_id", "volunteer_id", "amount", "approver_id"):
        earned[activity_id][volunteer_id] = (amount, approver)
    closed = Activity.objects.filter(state=Activity.State.CLOSED).prefetch_related("attendance", "log")
    assert closed.exists()
    for activity in closed:
        attended = list(activity.attendance.all())
        assert all(a.checked_out_at is not None for a in attended)
        expected = {a.volunteer_id: (services.points_for(a, activity), activity.organizer_id)
                    for a in attended}
        assert earned[activity.pk] == {v: p for v, p in expected.items() if p[0] > 0}, activity
        assert not activity.signups.filter(state=Signup.State.SIGNED_UP).exclude(
            volunteer_id__in=[a.volunteer_id for a in attended]).exists()  # the no-shows are marked
        close = next(entry for entry in activity.log.all() if entry.action == "close")
        assert close.data == {"attended": len(attended), "points": sum(p for p, _a in expected.values()),
                              "no_shows": activity.signups.filter(state=Signup.State.NO_SHOW).count()}
        assert close.at == activity.closed_at > activity.ends_at
    assert Attendance.objects.filter(check_out_method=Attendance.Method.CLOSING).exists()
    assert not PointEntry.objects.filter(kind=PointEntry.Kind.EARN,
                                         activity__state=Activity.State.PUBLISHED).exists()


def test_no_balance_ever_goes_below_zero_and_orders_match_the_ledger(fengqiao):
    running: dict[int, int] = defaultdict(int)
    for volunteer, amount in PointEntry.objects.order_by("created_at", "id").values_list("volunteer_id",
                                                                                          "amount"):
        running[volunteer] += amount
        assert running[volunteer] >= 0, volunteer
    totals = dict(PointEntry.objects.values("volunteer").annotate(total=Sum("amount"))
                  .values_list("volunteer", "total"))
    assert totals == dict(running)
    entries = defaultdict(dict)
    for order, kind, amount in PointEntry.objects.exclude(order=None).values_list("order", "kind", "amount"):
        entries[order][kind] = amount
    orders = list(Order.objects.select_related("item"))
    assert {o.state for o in orders} == set(Order.State.values)
    for order in orders:
        paid = {"redeem": -order.points}
        assert entries[order.pk] == (paid | {"refund": order.points} if order.state == "cancelled" else paid)
        assert order.points == order.item.price and order.item.created_at < order.placed_at
        assert (order.closed_at is None) == (order.state == Order.State.PLACED)
    assert all(item.stock >= 0 for item in ShopItem.objects.all())
    awards = PointEntry.objects.filter(kind=PointEntry.Kind.AWARD)
    assert awards.exists() and not awards.filter(approver=None).exists()
    assert not awards.filter(reason="").exists()


def test_the_demo_resident_sees_their_ledger_through_the_api(fengqiao, client_for):
    resident = User.objects.get(username="resident")
    body = client_for(resident).get("/api/v1/volunteers/me").json()
    ledger = PointEntry.objects.filter(volunteer__user=resident).aggregate(total=Sum("amount"))["total"] or 0
    assert body["volunteer"]["state"] == "approved" and body["balance"] == ledger >= 0


def test_an_upcoming_activity_takes_a_sign_up_through_the_api(fengqiao, client_for):
    now = timezone.now()
    for activity in Activity.objects.filter(starts_at__gt=now, state=Activity.State.PUBLISHED).order_by("id"):
        joined = Signup.objects.filter(activity=activity).values("volunteer")
        candidate = (Volunteer.objects.filter(state=Volunteer.State.APPROVED,
                                              grid__code__startswith=activity.grid.code)
                     .exclude(pk__in=joined).select_related("user").order_by("id").first())
        if candidate is not None:
            break
    else:
        pytest.fail("no upcoming activity has an approved volunteer left to sign up")
    client = client_for(candidate.user)
    listed = client.get("/api/v1/volunteers/me/activities").json()
    assert activity.pk in {a["id"] for a in listed["items"]}
    response = client.post(f"/api/v1/volunteers/activities/{activity.pk}/signup", {},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["my_signup"] in ("signed_up", "waiting")
    assert Signup.objects.filter(activity=activity, volunteer=candidate).exists()


def test_the_demo_grid_leader_lists_only_the_volunteers_of_their_grid(fengqiao, client_for):
    leader = User.objects.get(username="gridleader")
    grid = leader.assignments.get().grid
    body = client_for(leader).get("/api/v1/volunteers", {"limit": 1000}).json()
    mine = Volunteer.objects.filter(grid__code__startswith=grid.code)
    assert 0 < body["count"] == mine.count() < Volunteer.objects.count()
    assert {v["id"] for v in body["items"]} == set(mine.values_list("id", flat=True))
    assert all(v["grid"]["code"].startswith(grid.code) for v in body["items"])


def test_interest_groups_belong_to_communities_with_members_and_notices(fengqiao):
    groups = list(InterestGroup.objects.select_related("grid"))
    assert {g.grid.level for g in groups} == {2}
    assert len({g.grid_id for g in groups}) >= 100  # spread over the communities
    for member in GroupMember.objects.select_related("group", "volunteer__grid"):
        group = member.group
        assert member.volunteer.grid.code.startswith(group.grid.code)
        assert group.created_at <= member.joined_at <= (group.closed_at or timezone.now())
        assert member.left_at is None or member.left_at > member.joined_at
    assert GroupMember.objects.filter(left_at__isnull=False).exists()
    notices = GroupNotice.objects.all()
    assert notices.exists()
    sent = Notification.objects.filter(kind="volunteer_group").count()
    assert sent == sum(n.recipients for n in notices) > 0


def test_reset_deletes_the_volunteers_and_the_ledger_guard_stays(fengqiao):
    with pytest.raises(TypeError):
        PointEntry.objects.all().delete()
    reset_volunteers()  # inside the test's transaction: rolled back afterwards
    for model in (Volunteer, VolunteerLog, PointEntry, Activity, Signup, Attendance, Order, ShopItem, Team,
                  InterestGroup, GroupMember, GroupNotice):
        assert not model.objects.exists(), model
    assert Grid.objects.exists()


def _snapshot() -> tuple:
    return (list(Volunteer.objects.order_by("id").values_list("grid__code", "state", "applied_at",
                                                              "user__name")),
            list(Activity.objects.order_by("id").values_list("title", "starts_at", "quota", "state", "lat")),
            list(PointEntry.objects.order_by("id").values_list("kind", "amount", "created_at")),
            list(InterestGroup.objects.order_by("id").values_list("name", "created_at")))


def test_the_build_is_deterministic_with_the_seed_and_refuses_a_second_run(fengqiao):
    with pytest.raises(RuntimeError):
        demo_volunteers.build_volunteers(PROFILES["fengqiao"])
    now = timezone.now()
    snapshots = []
    for _run in range(2):
        reset_volunteers()
        reset_services()  # the services' errands and job wishes are the demo residents' too
        User.objects.filter(username__startswith="v", assignments__role=Role.RESIDENT).delete()
        counts = demo_volunteers.build_volunteers(PROFILES["fengqiao"], seed=7, now=now)
        snapshots.append((counts, _snapshot()))
    assert snapshots[0] == snapshots[1]
