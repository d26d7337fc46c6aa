"""Reading and confirming: receipts are made on first opening, confirming is idempotent,
and the publisher sees who has and who has not confirmed."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.engagement import services
from gridgov.engagement.models import NoticeReceipt
from gridgov.engagement.tests.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def to_heads(world):
    return publish(
        world.community_dispatcher,
        world.community_1,
        "building_heads",
        title="防汛通知",
        requires_receipt=True,
    )


def test_the_first_opening_is_the_read_time(world, to_heads):
    first = services.open_notice(world.head_1, to_heads.pk)
    assert first.is_recipient and not first.is_manager
    read_at = NoticeReceipt.objects.get(user=world.head_1).read_at
    services.open_notice(world.head_1, to_heads.pk)
    assert NoticeReceipt.objects.get(user=world.head_1).read_at == read_at


def test_publishers_open_their_areas_notices_without_a_receipt_and_others_get_404(world, to_heads):
    reading = services.open_notice(world.leader, to_heads.pk)
    assert reading.is_manager and not reading.is_recipient
    assert not NoticeReceipt.objects.filter(user=world.leader).exists()
    for outsider in (world.head_8, world.worker_b, world.resident_1):
        with pytest.raises(Http404):
            services.open_notice(outsider, to_heads.pk)


def test_confirming_twice_keeps_the_first_time(world, to_heads):
    first = services.confirm(world.head_1, to_heads)
    again = services.confirm(world.head_1, to_heads)
    assert first.confirmed_at is not None and again.confirmed_at == first.confirmed_at
    assert first.read_at is not None  # confirming without opening first counts as read
    assert NoticeReceipt.objects.filter(user=world.head_1).count() == 1


def test_only_recipients_confirm_and_only_when_a_receipt_is_asked(world, to_heads):
    with pytest.raises(PermissionDenied):
        services.confirm(world.leader, to_heads)  # manages it, but it is not addressed to the leader
    with pytest.raises(PermissionDenied):
        services.confirm(world.head_8, to_heads)
    plain = publish(world.community_dispatcher, world.community_1, "building_heads", requires_receipt=False)
    with pytest.raises(ValidationError) as caught:
        services.confirm(world.head_1, plain)
    assert set(caught.value.message_dict) == {"notice"}
    assert not NoticeReceipt.objects.filter(confirmed_at__isnull=False).exists()


def test_receipt_progress_counts_and_lists_who_is_still_to_confirm(world, to_heads):
    services.confirm(world.head_1, to_heads)
    services.mark_read(world.head_3, to_heads)
    newcomer = staff(Role.BUILDING_HEAD, world.district.micro_grids[3], name="楼门长四")
    progress = services.receipt_progress(to_heads)
    assert (progress.target, progress.read, progress.confirmed) == (3, 2, 1)
    assert (progress.unread, progress.unconfirmed) == (1, 2)
    # People still to act first: not read, then read but not confirmed, then confirmed.
    assert [r["user_id"] for r in progress.rows] == [newcomer.pk, world.head_3.pk, world.head_1.pk]
    first = progress.rows[0]
    assert (first["role"], first["grid_code"], first["read_at"]) == (
        Role.BUILDING_HEAD,
        world.district.micro_grids[3].code,
        None,
    )
    assert [r["name"] for r in services.receipt_progress(to_heads, "read").rows] == ["楼门长三"]
    confirmed = services.receipt_progress(to_heads, "confirmed")
    assert confirmed.count == 1 and confirmed.target == 3
    with pytest.raises(ValidationError):
        services.receipt_progress(to_heads, "lost")


def test_someone_who_moved_away_keeps_their_receipt_in_the_progress(world, to_heads):
    services.confirm(world.head_3, to_heads)
    world.head_3.assignments.update(is_active=False)
    progress = services.receipt_progress(to_heads)
    assert (progress.target, progress.confirmed) == (2, 1)
    moved = next(r for r in progress.rows if r["user_id"] == world.head_3.pk)
    assert moved["grid_code"] == "" and moved["confirmed_at"] is not None


def test_the_receipts_page_goes_page_by_page(world, to_heads, client_for, monkeypatch):
    from gridgov.engagement import views

    monkeypatch.setattr(views, "RECEIPT_ROWS", 1)
    services.confirm(world.head_1, to_heads)
    total = services.receipt_progress(to_heads).target
    assert total >= 2
    client = client_for(world.community_dispatcher)
    url = f"/notices/{to_heads.pk}/receipts/"
    pages = [client.get(f"{url}?page={n}").content.decode() for n in range(1, total + 1)]
    assert all(page.count("<tr data-user") == 1 for page in pages)
    assert all('id="receipts-next"' in page for page in pages[:-1]) and 'id="receipts-next"' not in pages[-1]
    assert f'data-user="{world.head_1.pk}"' in pages[-1]  # the confirmed come last
    assert client.get(f"{url}?page=x").status_code == 200  # a bad page number is the first page
