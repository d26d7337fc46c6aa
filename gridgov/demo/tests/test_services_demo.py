"""The demo's services near people: sized as planned, every row as the services would have written
it, and "near me" working on them — on the fengqiao district built once for this package's
modules (conftest.py)."""

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta

import pytest
import shapely
from django.utils import timezone

from gridgov.accounts.models import User
from gridgov.demo import services as demo_services
from gridgov.demo.builder import PROFILES, reset_services
from gridgov.grids.models import Grid
from gridgov.population.models import PersonTag
from gridgov.services import errands, orders, points
from gridgov.services.models import (
    Errand,
    ErrandLog,
    JobMatch,
    JobOpening,
    JobWish,
    Kind,
    Order,
    ProxyPoint,
    Rating,
    ServicePoint,
)
from gridgov.worktime.models import TimeUnit
from gridgov.worktime.services import add_time

pytestmark = pytest.mark.django_db


def test_sizes(fengqiao):
    communities, streets = Grid.objects.filter(level=2).count(), Grid.objects.filter(level=1).count()
    assert 300 <= ServicePoint.objects.count() <= 900
    assert set(ServicePoint.objects.values_list("kind", flat=True)) == set(Kind.values)
    assert ProxyPoint.objects.count() == communities + streets
    assert set(ProxyPoint.objects.values_list("grid__level", flat=True)) == {1, 2}
    assert ProxyPoint.objects.values("grid").distinct().count() == communities + streets
    assert Order.objects.count() == demo_services.ORDERS
    assert Errand.objects.count() == demo_services.ERRANDS
    assert Rating.objects.count() == demo_services.RATINGS
    assert JobWish.objects.count() == demo_services.WISHES
    assert JobOpening.objects.count() == demo_services.OPENINGS
    assert JobMatch.objects.count() >= 10
    assert set(JobMatch.objects.values_list("outcome", flat=True)) >= {"hired", "declined"}


def test_points_are_inside_their_grids_with_hours_the_services_accept(fengqiao):
    for point in ServicePoint.objects.select_related("grid"):
        shape = shapely.geometry.shape(point.grid.boundary)
        assert shape.contains(shapely.Point(point.lon, point.lat)), point
        assert points.parse_hours(point.hours) == point.hours
        assert (point.capacity_per_hour is not None) == (point.kind == Kind.MEAL), point


def test_proxy_points_have_agents_who_may_act_and_mostly_the_five_unifications(fengqiao):
    flags = ("unified_sign", "unified_rules", "unified_process", "unified_scope", "unified_agent")
    proxies = list(ProxyPoint.objects.select_related("grid").prefetch_related("agents"))
    for proxy in proxies:
        agents = list(proxy.agents.all())
        assert agents and all(errands.is_agent(agent, proxy) for agent in agents), proxy
    share = sum(getattr(p, f) for p in proxies for f in flags) / (len(proxies) * len(flags))
    assert 0.7 <= share < 1


def test_most_orders_are_delivered_within_the_target(fengqiao):
    rows = {row["kind"]: row for row in orders.figures(Order.objects.all(), None, None)}
    assert rows["meal"]["target_minutes"] == 15 and rows["meal"]["orders"] >= 0.7 * demo_services.ORDERS
    for row in rows.values():
        assert 0.88 <= row["within_target_share"] < 1, row
    now = timezone.now()
    for order in Order.objects.select_related("point"):
        assert order.called_at < (order.accepted_at or now) and order.kind == order.point.kind
        assert (order.delivered_at is None) == (order.state == Order.State.CANCELLED)
        assert order.delivered_at is None or order.accepted_at <= order.delivered_at < now
        assert points.is_open(order.point.hours, order.called_at), order  # offered while open
    assert Order.objects.exclude(person=None).count() == Order.objects.count()


def test_errands_are_about_95_percent_complete_with_logs_as_act_writes_them(fengqiao):
    rows = errands.completion(Errand.objects.all())
    total, done = sum(r["errands"] for r in rows), sum(r["completed"] for r in rows)
    assert 0.92 <= done / total <= 0.97
    logs = defaultdict(list)
    for entry in ErrandLog.objects.order_by("at", "id"):
        logs[entry.errand_id].append(entry)
    agents = {p.pk: {a.pk for a in p.agents.all()} for p in ProxyPoint.objects.prefetch_related("agents")}
    for errand in Errand.objects.select_related("item"):
        state = ""
        for entry in logs[errand.pk]:
            assert entry.from_state == state, (errand, entry.action)
            if entry.action == "request":
                assert state == "" and entry.to_state == Errand.State.REQUESTED
            elif entry.action == "overdue":
                assert entry.actor_id is None and entry.to_state == state and entry.at == errand.deadline
            else:
                sources, by_resident = errands.ACTIONS[entry.action]
                assert state in sources
                expected = errand.resident_id if by_resident else errand.agent_id
                assert entry.actor_id == expected or entry.actor_id in agents[errand.proxy_point_id]
            state = entry.to_state
        assert state == errand.state, errand
        if errand.started_at:
            deadline = add_time(errand.started_at, errand.item.time_limit_days, TimeUnit.WORKING_DAYS)
            assert errand.deadline == deadline.at
        assert (errand.light == Errand.Light.RED) == (errand.overdue_told_at is not None)
    assert Errand.objects.filter(light=Errand.Light.RED).exists()
    assert Errand.objects.filter(state=Errand.State.CONFIRMED, rating__isnull=False).exists()


def test_near_finds_an_open_meal_partner_for_a_demo_elderly_person(fengqiao):
    tag = (PersonTag.objects.filter(tag_type__code="elderly_alone",
                                    person__household__house__building__lat__isnull=False)
           .select_related("person__household__house__building").order_by("id").first())
    building = tag.person.household.house.building
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    noon = timezone.make_aware(datetime.combine(monday, time(12, 0)))
    found = points.near("meal", building.lat, building.lon, at=noon, limit=3, available=True)
    assert found and all(n.open_now and n.point.kind == "meal" for n in found)
    assert all(n.capacity_left is None or n.capacity_left > 0 for n in found)
    assert found[0].minutes < 30


def test_ratings_and_jobs_are_what_the_services_leave(fengqiao):
    now = timezone.now()
    assert Counter(Rating.objects.values_list("score", flat=True))[5] > 0
    assert not Rating.objects.filter(rated_at__gt=now).exists()
    for match in JobMatch.objects.select_related("wish", "opening"):
        assert match.opening.created_at < match.matched_at < now
        assert match.wish.work in match.opening.work or match.opening.work in match.wish.work
        assert (match.decided_at is None) == (match.outcome == JobMatch.Outcome.PENDING)
        if match.outcome == JobMatch.Outcome.HIRED:
            assert match.wish.state == JobWish.State.HIRED
    for wish in JobWish.objects.all():
        assert (wish.resident_id is None) != (wish.person_id is None)


def test_reset_deletes_the_services_and_keeps_the_catalogue(fengqiao):
    from gridgov.services.models import ErrandItem

    items = ErrandItem.objects.count()
    version = points.current_version()
    reset_services()  # inside the test's transaction: rolled back afterwards
    for model in (ServicePoint, ProxyPoint, Order, Errand, ErrandLog, Rating, JobWish, JobOpening, JobMatch):
        assert not model.objects.exists(), model
    assert ErrandItem.objects.count() == items > 0
    assert points.current_version() != version
    assert User.objects.exists()


def test_a_second_build_is_refused(fengqiao):
    with pytest.raises(RuntimeError):
        demo_services.build_services(PROFILES["fengqiao"])
