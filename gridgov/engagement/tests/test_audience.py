"""Who a notice is for: down the grid tree from where it is published, by audience and role."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Assignment, Role
from gridgov.core.testing import staff
from gridgov.engagement import services
from gridgov.engagement.models import Notice
from gridgov.engagement.tests.conftest import people, publish

pytestmark = pytest.mark.django_db


def readers(world, notice) -> set[str]:
    """The names of the world's people for whom `for_user` includes the notice."""
    return {
        name for name, user in people(world).items() if services.for_user(user).filter(pk=notice.pk).exists()
    }


def targets(world, notice) -> set[str]:
    ids = set(services.target_assignments(notice).values_list("user_id", flat=True))
    return {name for name, user in people(world).items() if user.pk in ids}


def test_a_street_notice_to_everyone_reaches_every_level_below_but_no_one_without_a_grid(world):
    notice = publish(world.leader, world.street, "everyone")
    # The author (the street's leader) follows it as its publisher, not as a recipient.
    expected = {
        "community_dispatcher",
        "grid_leader",
        "worker_a",
        "worker_b",
        "head_1",
        "head_3",
        "head_8",
        "resident_1",
        "resident_7",
    }
    assert readers(world, notice) == expected
    # The district centre, handlers and administrators hold no grid: notices go down the tree.
    assert not readers(world, notice) & {
        "leader",
        "district_dispatcher",
        "handler",
        "admin",
        "resident_nowhere",
    }
    assert targets(world, notice) == expected


def test_a_community_notice_to_building_heads_reaches_only_that_communitys_heads(world):
    notice = publish(world.community_dispatcher, world.community_1, "building_heads", requires_receipt=True)
    assert readers(world, notice) == {"head_1", "head_3"} == targets(world, notice)


def test_a_grid_notice_to_staff_reaches_the_grids_staff_not_those_above_or_volunteers(world):
    notice = publish(world.grid_leader, world.grid_1, "staff")
    # The street leader and the community dispatcher sit above grid 1: a notice never goes up.
    assert readers(world, notice) == {"worker_a"} == targets(world, notice)


def test_residents_get_the_notices_of_their_home_grid_and_the_grids_above_it(world):
    to_community = publish(world.community_dispatcher, world.community_1, "residents")
    to_micro_grid = publish(world.worker_b, world.district.micro_grids[6], "residents")
    to_street = publish(world.leader, world.street, "residents")
    assert readers(world, to_community) == {"resident_1"}
    assert readers(world, to_micro_grid) == {"resident_7"}
    assert readers(world, to_street) == {"resident_1", "resident_7"}
    # No home grid recorded yet: nothing, not even the street's notices.
    assert not services.for_user(world.resident_nowhere).exists()
    assert not services.has_home_grid(world.resident_nowhere) and services.has_home_grid(world.resident_1)


def test_staff_notices_do_not_reach_residents_and_resident_notices_not_staff(world):
    staff_only = publish(world.leader, world.street, "staff")
    residents_only = publish(world.leader, world.street, "residents")
    assert "resident_1" not in readers(world, staff_only) and "head_1" not in readers(world, staff_only)
    assert readers(world, residents_only) == {"resident_1", "resident_7"}


def test_a_user_with_two_roles_gets_each_roles_notices(world):
    both = staff(Role.GRID_WORKER, world.grid_1)
    Assignment.objects.create(user=both, role=Role.BUILDING_HEAD, grid=world.district.micro_grids[7])
    to_heads_of_community_2 = publish(world.worker_b, world.grid_4, "building_heads")
    to_staff_of_grid_1 = publish(world.worker_a, world.grid_1, "staff")
    assert set(services.for_user(both)) == {to_heads_of_community_2, to_staff_of_grid_1}


def test_drafts_expired_and_inactive_assignments_are_not_for_anyone(world):
    notice = publish(world.leader, world.street, "everyone", expires_at=timezone.now() + timedelta(days=1))
    draft = Notice.objects.create(title="草稿", body="x", grid=world.street, author=world.leader)
    assert set(services.for_user(world.worker_a)) == {notice}
    Notice.objects.filter(pk=notice.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert not services.for_user(world.worker_a).exists()
    Notice.objects.filter(pk=notice.pk).update(expires_at=None)
    world.worker_a.assignments.update(is_active=False)
    world.worker_a._gridgov_assignments = None
    assert not services.for_user(world.worker_a).exists()
    assert not services.target_assignments(notice).filter(user=world.worker_a).exists()
    assert readers(world, draft) == set()
