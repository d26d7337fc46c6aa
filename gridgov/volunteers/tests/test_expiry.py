"""Points expiry: the nearest rule up the tree, oldest points first, appended to the ledger once."""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from gridgov.volunteers import expiry, services
from gridgov.volunteers.models import ExpiryPolicy, PointEntry, balance_of
from gridgov.volunteers.tasks import expire_points
from gridgov.volunteers.tests.conftest import volunteer

pytestmark = pytest.mark.django_db


def months_later(months: int, days: int = 0) -> date:
    """The day `months` after today (and `days` more), as the rule counts back from it."""
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 + months
    return date(index // 12, index % 12 + 1, min(today.day, 28)) + timedelta(days=days)


@pytest.fixture
def earner(crew):
    """A volunteer of grid A with 100 points awarded today."""
    mine = volunteer(crew.grid_a, crew.grid_leader)
    services.adjust_points(crew.grid_leader, mine.pk, amount=100, reason="疫情防控表彰")
    return mine


def rule(grid, months: int, at_year_end: bool = False) -> ExpiryPolicy:
    return ExpiryPolicy.objects.create(grid=grid, valid_months=months, at_year_end=at_year_end)


def test_without_a_rule_points_never_lapse(crew, earner):
    assert expiry.run(months_later(120)).points == 0
    assert balance_of(earner.pk) == 100


def test_unspent_points_lapse_after_their_months_once(crew, earner):
    rule(crew.district.street, 12)
    services.adjust_points(crew.grid_leader, earner.pk, amount=-30, reason="违规扣分")
    assert expiry.run(months_later(11)).points == 0
    done = expiry.run(months_later(13))
    assert (done.volunteers, done.points) == (1, 70)
    entry = PointEntry.objects.get(kind="expire")
    assert entry.amount == -70 and entry.volunteer == earner
    assert expiry.cutoff(ExpiryPolicy(valid_months=12), months_later(13)).isoformat() in entry.reason
    assert balance_of(earner.pk) == 0
    assert expiry.run(months_later(13)).points == 0  # a second run finds nothing more


def test_the_cutoff_is_the_same_day_months_later(crew, earner):
    rule(crew.grid_a, 12)
    today = timezone.localdate()
    assert expiry.cutoff(ExpiryPolicy(valid_months=12), today.replace(year=today.year + 1)) == today
    assert expiry.run(today.replace(year=today.year + 1)).points == 0  # valid through the day
    assert expiry.run(today.replace(year=today.year + 1) + timedelta(days=1)).points == 100


def test_the_31st_counts_back_to_the_end_of_a_shorter_month():
    assert expiry.months_before(date(2027, 3, 31), 1) == date(2027, 2, 28)
    assert expiry.months_before(date(2028, 3, 31), 1) == date(2028, 2, 29)
    assert expiry.months_before(date(2027, 1, 15), 13) == date(2025, 12, 15)


def test_refunded_points_are_unspent_again(crew, earner, client_for):
    rule(crew.grid_a, 12)
    item = services.add_item(
        crew.grid_leader, name="毛巾", price=40, stock=5, pickup_point="服务中心", grid_code=crew.grid_a.code
    )
    order = services.place_order(earner.user, item.pk)
    services.cancel_order(earner.user, order.pk)
    assert expiry.run(months_later(13)).points == 100


def test_newer_points_outlive_older_spending(crew, earner):
    """Spending takes the oldest points first: 100 old, 60 spent, 50 new → 40 lapse, 50 stay."""
    rule(crew.grid_a, 12)
    services.adjust_points(crew.grid_leader, earner.pk, amount=-60, reason="兑换线下")
    later = months_later(13)
    lapsed = expiry.lapsed([earner.pk], expiry._midnight(expiry.cutoff(ExpiryPolicy(valid_months=12), later)))
    assert lapsed == {earner.pk: 40}


def test_at_the_year_end_points_last_until_31_december(crew, earner):
    rule(crew.grid_a, 12, at_year_end=True)
    year = timezone.localdate().year
    assert expiry.run(date(year + 1, 12, 31)).points == 0
    assert expiry.run(date(year + 2, 1, 1)).points == 100


def test_the_nearest_rule_up_the_tree_applies(crew, earner):
    rule(crew.district.street, 24)
    rule(crew.grid_a, 6)
    other = volunteer(crew.grid_b, crew.grid_leader_b, name="乙")
    services.adjust_points(crew.grid_leader_b, other.pk, amount=50, reason="表彰")
    assert expiry.policy_for(crew.grid_a.code).valid_months == 6
    assert expiry.policy_for(crew.grid_b.code).valid_months == 24
    done = expiry.run(months_later(7))
    assert done.points == 100 and balance_of(other.pk) == 50


def test_the_portal_and_me_warn_of_points_about_to_lapse(crew, earner, client_for):
    rule(crew.grid_a, 1)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - timedelta(days=20)):
        services.adjust_points(crew.grid_leader, earner.pk, amount=15, reason="上月表彰")
    today = timezone.localdate()
    assert expiry.expiring(earner) == {"points": 15, "by": today + timedelta(days=30)}
    assert expiry.expiring(earner, today + timedelta(days=5)) == {
        "points": 115,
        "by": today + timedelta(days=35),
    }
    me = client_for(earner.user).get("/api/v1/volunteers/me").json()
    assert me["balance"] == 115 and me["expiring"]["points"] == 15
    page = client_for(earner.user).get("/volunteers/").content.decode()
    assert 'id="vol-expiring"' in page and "15" in page.split('id="vol-expiring"')[1].split("</p>")[0]
    ExpiryPolicy.objects.all().delete()
    assert client_for(earner.user).get("/api/v1/volunteers/me").json()["expiring"] is None


def test_the_daily_task_expires_what_lapsed_by_today(crew, earner):
    rule(crew.grid_a, 1)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - timedelta(days=70)):
        services.adjust_points(crew.grid_leader, earner.pk, amount=25, reason="两个月前的表彰")
    assert expire_points.call_local() == 25  # today's 100 are still valid
    assert balance_of(earner.pk) == 100


def test_rules_are_kept_in_the_admin_by_the_areas_managers(crew, client_for):
    User = type(crew.grid_leader)
    User.objects.filter(pk=crew.grid_leader.pk).update(is_staff=True)
    client = client_for(User.objects.get(pk=crew.grid_leader.pk))
    url = "/admin/volunteers/expirypolicy/add/"
    mine = client.post(url, {"grid": crew.grid_a.pk, "valid_months": 24, "at_year_end": "on"})
    assert mine.status_code == 302, mine.content.decode()[:2000]
    assert ExpiryPolicy.objects.get().valid_months == 24
    theirs = client.post(url, {"grid": crew.grid_b.pk, "valid_months": 24})
    assert theirs.status_code == 200 and ExpiryPolicy.objects.count() == 1  # not a choice: form error
    assert client_for(crew.worker).get(url).status_code in (302, 403)
