"""Notices over HTTP: my list with flags, opening marks read, publishing, confirming, receipts."""

import pytest

from gridgov.cases.models import Notification
from gridgov.engagement.models import Notice, NoticeReceipt
from gridgov.engagement.tests.conftest import publish

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


NEW = {
    "title": "消防演练",
    "body": "本周六上午在小区广场举行消防演练。",
    "audience": "building_heads",
    "requires_receipt": True,
}


def test_publish_open_and_confirm_through_the_api(world, client_for, django_capture_on_commit_callbacks):
    dispatcher = client_for(world.community_dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(dispatcher, "/api/v1/notices", {**NEW, "grid_code": world.community_1.code})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["grid"]["code"] == world.community_1.code and created["is_manager"]
    assert not created["is_recipient"]
    assert Notification.objects.filter(user=world.head_1, kind="notice").exists()

    head = client_for(world.head_1)
    listed = head.get("/api/v1/notices").json()
    assert listed["count"] == 1
    assert listed["items"][0]["title"] == "消防演练"
    assert (listed["items"][0]["read"], listed["items"][0]["confirmed"]) == (False, False)
    assert head.get("/api/v1/notices?unread=true").json()["count"] == 1

    opened = head.get(f"/api/v1/notices/{created['id']}").json()
    assert opened["body"].startswith("本周六") and opened["read"] and opened["may_confirm"]
    assert head.get("/api/v1/notices?unread=true").json()["count"] == 0

    confirmed = post(head, f"/api/v1/notices/{created['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed"]
    assert not confirmed.json()["may_confirm"]
    assert post(head, f"/api/v1/notices/{created['id']}/confirm").status_code == 200  # idempotent
    assert NoticeReceipt.objects.get(user=world.head_1).confirmed_at is not None

    progress = dispatcher.get(f"/api/v1/notices/{created['id']}/receipts").json()
    assert (progress["target"], progress["read"], progress["confirmed"]) == (2, 1, 1)
    assert [u["name"] for u in progress["users"]] == ["楼门长三", "楼门长一"]
    pending = dispatcher.get(f"/api/v1/notices/{created['id']}/receipts?status=unread").json()
    assert pending["count"] == 1 and pending["users"][0]["role_label"] == "楼门长"


def test_publishing_outside_the_area_is_403_and_bad_input_400_per_field(world, client_for):
    worker = client_for(world.worker_a)
    outside = post(worker, "/api/v1/notices", {**NEW, "grid_code": world.grid_4.code})
    assert outside.status_code == 403
    refused = post(client_for(world.head_1), "/api/v1/notices", {**NEW, "grid_code": world.grid_1.code})
    assert refused.status_code == 403
    bad = post(
        worker,
        "/api/v1/notices",
        {
            **NEW,
            "title": " ",
            "body": "",
            "audience": "all",
            "grid_code": world.grid_1.code,
            "expires_at": "2001-01-01T00:00:00+08:00",
        },
    )
    assert bad.status_code == 400
    body = bad.json()
    assert set(body["errors"]) == {"title", "body", "audience", "expires_at"}
    assert body["detail"] == body["errors"]["title"][0] and "标题" in body["detail"]
    missing = post(worker, "/api/v1/notices", {"title": "x"})
    assert missing.status_code == 400 and {"body", "grid_code"} <= set(missing.json()["errors"])
    assert not Notice.objects.exists()


def test_notices_list_unread_first_then_to_confirm_then_newest(world, client_for):
    old = publish(world.leader, world.street, "everyone", title="旧通知")
    to_confirm = publish(world.leader, world.street, "everyone", title="需回执", requires_receipt=True)
    newest = publish(world.leader, world.street, "everyone", title="最新")
    client = client_for(world.worker_a)
    client.get(f"/api/v1/notices/{newest.pk}")
    client.get(f"/api/v1/notices/{to_confirm.pk}")
    titles = [n["title"] for n in client.get("/api/v1/notices").json()["items"]]
    assert titles == [old.title, to_confirm.title, newest.title]


def test_a_notice_not_for_me_and_not_in_my_area_is_404(world, client_for):
    notice = publish(world.worker_b, world.grid_4, "everyone", requires_receipt=True)
    client = client_for(world.worker_a)
    assert client.get(f"/api/v1/notices/{notice.pk}").status_code == 404
    assert post(client, f"/api/v1/notices/{notice.pk}/confirm").status_code == 404
    assert client.get(f"/api/v1/notices/{notice.pk}/receipts").status_code == 404
    assert client.get("/api/v1/notices").json()["count"] == 0
    # The street's leader may follow it but not confirm it: it is not addressed to them.
    leader = client_for(world.leader)
    assert leader.get(f"/api/v1/notices/{notice.pk}").json()["is_recipient"] is False
    assert post(leader, f"/api/v1/notices/{notice.pk}/confirm").status_code == 403
    assert leader.get(f"/api/v1/notices/{notice.pk}/receipts").status_code == 200
    # A building head of the grid receives it but may not read the receipts.
    head = client_for(world.head_8)
    assert head.get(f"/api/v1/notices/{notice.pk}").status_code == 200
    assert head.get(f"/api/v1/notices/{notice.pk}/receipts").status_code == 404


def test_confirming_a_notice_without_receipt_is_400(world, client_for):
    notice = publish(world.worker_a, world.grid_1, "building_heads")
    response = post(client_for(world.head_1), f"/api/v1/notices/{notice.pk}/confirm")
    assert response.status_code == 400 and "notice" in response.json()["errors"]


def test_anonymous_is_401(client):
    assert client.get("/api/v1/notices").status_code == 401
