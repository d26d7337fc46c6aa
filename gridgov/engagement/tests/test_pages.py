"""Notice pages in Chinese: a building head reads and confirms on the phone; a publisher writes
a notice and follows its receipts; residents who log in by text message reach their notices."""

import re

import pytest

from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.sms import MemoryBackend
from gridgov.core.testing import staff
from gridgov.engagement.models import Notice, NoticeReceipt
from gridgov.engagement.tests.conftest import publish

pytestmark = pytest.mark.django_db


def test_a_building_head_sees_the_badge_reads_and_confirms(world, client_for):
    notice = publish(
        world.community_dispatcher,
        world.community_1,
        "building_heads",
        title="防汛通知",
        requires_receipt=True,
    )
    client = client_for(world.head_1)
    page = client.get("/notices/").content.decode()
    assert "防汛通知" in page and "需回执" in page and "未读" in page
    assert 'href="/notices/"' in page  # the top bar's link
    detail = client.get(f"/notices/{notice.pk}/").content.decode()
    assert "明天上午9点" in detail and "确认收到" in detail and "csrfmiddlewaretoken" in detail
    assert f"/notices/{notice.pk}/receipts/" not in detail  # not a publisher
    response = client.post(f"/notices/{notice.pk}/confirm/")
    assert response.status_code == 302
    assert NoticeReceipt.objects.get(user=world.head_1).confirmed_at is not None
    after = client.get(f"/notices/{notice.pk}/").content.decode()
    assert 'id="confirm-receipt"' not in after and "已确认收到" in after
    assert client.get("/notices/new/").status_code == 403


def test_confirm_needs_csrf(world, client_for):
    from django.test import Client

    notice = publish(world.worker_a, world.grid_1, "building_heads", requires_receipt=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.head_1)
    assert client.post(f"/notices/{notice.pk}/confirm/").status_code == 403
    assert not NoticeReceipt.objects.filter(confirmed_at__isnull=False).exists()


def test_a_publisher_publishes_from_the_form_and_follows_the_receipts(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(world.worker_a)
    form = client.get("/notices/new/").content.decode()
    assert "发布通知" in form
    assert f'value="{world.grid_1.code}"' in form and f'value="{world.district.micro_grids[0].code}"' in form
    assert f'value="{world.grid_4.code}"' not in form and f'value="{world.street.code}"' not in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/notices/new/",
            {
                "title": "楼道清理",
                "body": "请楼门长通知各户清理楼道杂物。",
                "grid_code": world.grid_1.code,
                "audience": "building_heads",
                "requires_receipt": "1",
            },
        )
    notice = Notice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/notices/{notice.pk}/"
    assert (notice.author, notice.requires_receipt, notice.audience) == (
        world.worker_a,
        True,
        "building_heads",
    )
    client_for(world.head_1).post(f"/notices/{notice.pk}/confirm/")
    receipts = client.get(f"/notices/{notice.pk}/receipts/").content.decode()
    assert "楼门长一" in receipts and "回执" in receipts
    assert "1 / 1" in receipts  # confirmed / recipients (grid 1 has one building head)
    listing = client.get("/notices/").content.decode()
    assert "楼道清理" in listing and f"/notices/{notice.pk}/receipts/" in listing
    assert client_for(world.worker_b).get(f"/notices/{notice.pk}/receipts/").status_code == 404


def test_the_form_shows_per_field_errors_and_keeps_the_input(world, client_for):
    client = client_for(world.worker_a)
    response = client.post(
        "/notices/new/",
        {
            "title": "",
            "body": "正文保留",
            "grid_code": world.grid_1.code,
            "audience": "staff",
            "expires_at": "not a date",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-expires"' in page and "正文保留" in page
    response = client.post(
        "/notices/new/",
        {"title": "", "body": "正文保留", "grid_code": world.grid_1.code, "audience": "staff"},
    )
    page = response.content.decode()
    assert 'id="error-title"' in page and 'id="error-body"' not in page and "请输入标题" in page
    outside = client.post(
        "/notices/new/", {"title": "x", "body": "y", "grid_code": world.grid_4.code, "audience": "staff"}
    )
    assert outside.status_code == 403
    assert not Notice.objects.exists()


def test_a_notice_of_another_grid_is_404(world, client_for):
    notice = publish(world.worker_b, world.grid_4, "everyone")
    assert client_for(world.head_1).get(f"/notices/{notice.pk}/").status_code == 404


def test_a_resident_logs_in_by_text_message_and_reaches_the_notices(world, client, settings):
    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.MemoryBackend"
    MemoryBackend.outbox.clear()
    publish(world.worker_a, world.grid_1, "residents", title="社区义诊")
    client.post("/resident/login/", {"phone": "13800001111"})
    code = re.search(r"\d{6}", MemoryBackend.outbox[-1][1]).group()
    assert (
        client.post("/resident/login/", {"phone": "13800001111", "code": code, "action": "login"}).status_code
        == 302
    )
    page = client.get("/notices/").content.decode()
    assert "社区义诊" not in page and 'id="no-home-grid"' in page  # no home grid yet
    Assignment.objects.filter(role=Role.RESIDENT, grid=None, user__username__startswith="r").update(
        grid=world.district.micro_grids[1]
    )
    page = client.get("/notices/").content.decode()
    assert "社区义诊" in page and 'id="no-home-grid"' not in page


def test_the_back_office_lists_receipt_counts_and_publishes_drafts(
    world, client_for, django_capture_on_commit_callbacks
):
    office = staff(Role.LEADER, world.street, is_staff=True, name="街道办")
    client = client_for(office)
    added = client.post(
        "/admin/engagement/notice/add/",
        {
            "title": "安全检查",
            "body": "周五检查消防通道。",
            "grid": world.community_1.pk,
            "audience": "building_heads",
            "requires_receipt": "on",
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    draft = Notice.objects.get()
    assert draft.is_draft and draft.author == office
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/engagement/notice/", {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.published_at is not None
    client_for(world.head_1).post(f"/notices/{draft.pk}/confirm/")
    listing = client.get("/admin/engagement/notice/").content.decode()
    assert "安全检查" in listing and "1 / 2" in listing and "已发布" in listing
    change = client.get(f"/admin/engagement/notice/{draft.pk}/change/").content.decode()
    assert "楼门长一" in change  # the receipts inline
    outside = (
        client_for(staff(Role.GRID_WORKER, world.grid_4, is_staff=True))
        .get("/admin/engagement/notice/")
        .content.decode()
    )
    assert "安全检查" not in outside
