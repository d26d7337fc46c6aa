"""Publishing: who may publish where, validation, drafts, and the notification job."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gridgov.accounts.models import Assignment, Role
from gridgov.cases.models import Notification
from gridgov.core.testing import staff
from gridgov.engagement import services
from gridgov.engagement.models import Notice
from gridgov.engagement.tests.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "who", ["admin", "leader", "community_dispatcher", "district_dispatcher", "grid_leader", "worker_a"]
)
def test_publishers_publish_inside_their_area(world, who):
    author = getattr(world, who)
    grid = world.district.micro_grids[0]  # inside everyone's area above
    notice = publish(author, grid)
    assert notice.published_at is not None and notice.author == author and notice.grid == grid


@pytest.mark.parametrize("who", ["head_1", "resident_1", "handler"])
def test_building_heads_residents_and_handlers_do_not_publish(world, who):
    with pytest.raises(PermissionDenied):
        publish(getattr(world, who), world.district.micro_grids[0])
    assert not Notice.objects.exists()


def test_no_one_publishes_outside_their_area(world):
    with pytest.raises(PermissionDenied):
        publish(world.worker_a, world.grid_4)
    with pytest.raises(PermissionDenied):
        publish(world.community_dispatcher, world.street)  # the community's dispatcher, not the street's
    assert not Notice.objects.exists()


def test_only_publishing_roles_give_the_area(world):
    """A grid worker of grid 1 who is also a building head in grid 4 publishes in grid 1 only."""
    both = staff(Role.GRID_WORKER, world.grid_1)
    Assignment.objects.create(user=both, role=Role.BUILDING_HEAD, grid=world.district.micro_grids[7])
    assert services.publishing_scope(both).roots == (world.grid_1.code,)
    with pytest.raises(PermissionDenied):
        publish(both, world.district.micro_grids[7])


def test_bad_data_gives_one_message_per_field(world):
    data = services.NoticeData(
        title="  ",
        body="",
        grid_code="999",
        audience="martians",
        expires_at=timezone.now() - timedelta(hours=1),
    )
    with pytest.raises(ValidationError) as caught:
        services.publish(world.leader, data)
    errors = caught.value.message_dict
    assert set(errors) == {"title", "body", "grid_code", "audience", "expires_at"}
    assert all(len(messages) == 1 for messages in errors.values())
    assert "标题" in errors["title"][0]
    assert not Notice.objects.exists()


def test_a_draft_is_checked_and_published_once(world, django_capture_on_commit_callbacks):
    draft = services.save_draft(
        world.leader,
        Notice(
            title="  消防检查 ",
            body="周五检查楼道",
            grid=world.street,
            audience="building_heads",
            requires_receipt=True,
        ),
    )
    assert draft.title == "消防检查" and draft.is_draft and not services.for_user(world.head_1).exists()
    with pytest.raises(PermissionDenied):
        services.publish_draft(world.worker_a, draft)  # the street is not the grid worker's area
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_draft(world.leader, draft)
    assert list(services.for_user(world.head_1)) == [draft]
    with pytest.raises(ValidationError):
        services.publish_draft(world.leader, draft)
    with pytest.raises(ValidationError):
        services.save_draft(world.leader, Notice.objects.get(pk=draft.pk))  # published: no more changes


def test_publishing_notifies_every_recipient_once_in_app(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish(
            world.community_dispatcher, world.community_1, "building_heads", requires_receipt=True
        )
    sent = Notification.objects.filter(kind="notice")
    assert set(sent.values_list("user_id", flat=True)) == {world.head_1.pk, world.head_3.pk}
    assert all(n.case_id is None and "停水通知" in n.text and "回执" in n.text for n in sent)
    notice.refresh_from_db()
    assert notice.notified_at is not None
    # The job running again (a retry) sends nothing more.
    from gridgov.engagement.tasks import notify_recipients

    notify_recipients(notice.pk)
    assert sent.count() == 2


def test_the_author_is_not_notified_and_nothing_is_sent_before_commit(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publish(world.worker_a, world.grid_1, "staff")
    assert not Notification.objects.exists() and len(callbacks) == 1
    callbacks[0]()
    assert list(Notification.objects.values_list("user_id", flat=True)) == [world.grid_leader.pk]
