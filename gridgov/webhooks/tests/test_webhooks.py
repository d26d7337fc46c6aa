"""Webhooks: subscribing, signed deliveries of case events to a local receiver, retries in order
per case, turning off after repeated failures, and replay."""

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases import workflow
from gridgov.core.testing import admin_user
from gridgov.webhooks import delivery, services
from gridgov.webhooks.models import Delivery, Event, Subscription
from gridgov.webhooks.tasks import send_due

pytestmark = pytest.mark.django_db
EVENTS = ["case.created", "case.state_changed", "case.rated"]


@pytest.fixture
def subscribed(receiver):
    subscription, secret = services.create(admin_user(), name="12345平台", url=receiver.url, events=EVENTS)
    return subscription, secret


def valid(seen, secret: str) -> bool:
    timestamp, body = seen.headers["X-Gridgov-Timestamp"], seen.body
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(seen.headers["X-Gridgov-Signature"], f"sha256={expected}")


def test_administrators_subscribe_and_get_the_secret_once(world, client_for, receiver):
    client = client_for(admin_user())
    bad = client.post(
        "/api/v1/webhooks",
        {"name": "", "url": "ftp://x", "events": ["case.deleted"]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"name", "url", "events"}
    made = client.post(
        "/api/v1/webhooks",
        {"name": "12345平台", "url": receiver.url, "events": EVENTS},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    assert "secret" not in client.get("/api/v1/webhooks").json()[0]
    assert client_for(world.dispatcher).get("/api/v1/webhooks").status_code == 403


def test_a_reported_case_is_delivered_signed(
    world, report, subscribed, receiver, django_capture_on_commit_callbacks
):
    subscription, secret = subscribed
    with django_capture_on_commit_callbacks(execute=True):
        case = report(caller_phone="13812345678", description="门口暴露垃圾，电话13812345678")
    [seen] = receiver.seen
    assert valid(seen, secret) and seen.headers["X-Gridgov-Event"] == "case.created"
    assert seen.json["id"] == seen.headers["X-Gridgov-Event-Id"] == str(Event.objects.get().uid)
    assert seen.json["data"]["case"]["number"] == case.number
    assert (
        "13812345678" not in seen.body.decode() and "138****5678" in seen.json["data"]["case"]["description"]
    )
    assert Delivery.objects.get().state == "delivered" and Delivery.objects.get().last_status == 200


def test_state_changes_and_ratings_follow_in_order(
    world, report, subscribed, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = report()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.act(case.pk, world.dispatcher, "register", workflow.Params())
    types = [s.json["type"] for s in receiver.seen]
    assert types == ["case.created", "case.state_changed"]
    step = receiver.seen[1].json["data"]["step"]
    assert (step["from_state"], step["to_state"]) == ("reported", "registered")


def test_a_failed_delivery_is_retried_later_and_holds_back_the_cases_next_ones(
    world, report, subscribed, receiver, django_capture_on_commit_callbacks
):
    receiver.answers.extend([500])
    with django_capture_on_commit_callbacks(execute=True):
        case = report()
    first = Delivery.objects.get()
    assert first.state == "pending" and first.attempts == 1 and first.last_status == 500
    assert first.next_attempt_at > timezone.now() + timedelta(seconds=50)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.act(case.pk, world.dispatcher, "register", workflow.Params())
    assert len(receiver.seen) == 1  # the state change waits behind the created event
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert send_due.call_local() == 2
    assert [s.json["type"] for s in receiver.seen] == ["case.created", "case.created", "case.state_changed"]
    assert receiver.seen[0].json["id"] == receiver.seen[1].json["id"]  # the same event, retried


def test_an_unreachable_receiver_is_turned_off_after_failures_in_a_row(
    world, report, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(delivery, "DISABLE_AFTER", 2)
    subscription, _secret = services.create(
        admin_user(), name="坏地址", url="http://127.0.0.1:9/x", events=EVENTS
    )
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            report()
        Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    subscription.refresh_from_db()
    assert not subscription.is_active and "2" in subscription.disabled_reason
    assert Delivery.objects.exclude(last_error="").exists()
    again = services.change(admin_user(), subscription.pk, {"is_active": True, "url": receiver.url})
    assert again.is_active and again.failures == 0
    assert send_due.call_local() >= 1


def test_replay_sends_the_same_event_again(
    world, report, subscribed, receiver, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report()
    sent = Delivery.objects.get()
    client = client_for(admin_user())
    with django_capture_on_commit_callbacks(execute=True):
        replayed = client.post(f"/api/v1/webhooks/deliveries/{sent.pk}/replay")
    assert replayed.status_code == 200
    assert len(receiver.seen) == 2 and receiver.seen[0].json == receiver.seen[1].json
    listed = client.get(f"/api/v1/webhooks/{sent.subscription_id}/deliveries").json()
    assert listed[0]["state"] == "delivered" and listed[0]["attempts"] == 1
    assert (
        client_for(world.dispatcher).post(f"/api/v1/webhooks/deliveries/{sent.pk}/replay").status_code == 403
    )


def test_nothing_is_written_without_subscribers(world, report):
    report()
    assert not Event.objects.exists() and not Subscription.objects.exists()


def test_public_board_posts_and_their_replies_are_events_private_ones_are_not(
    district, receiver, django_capture_on_commit_callbacks
):
    from gridgov.accounts.models import Role
    from gridgov.core.testing import staff
    from gridgov.participation import board

    services.create(admin_user(), name="城市大脑", url=receiver.url, events=["board.posted", "board.replied"])
    author, worker = staff(Role.RESIDENT, district.grids[0]), staff(Role.GRID_WORKER, district.grids[0])
    with django_capture_on_commit_callbacks(execute=True):
        posted = board.post(author, kind="complaint", title="噪音", body="夜里施工，电话13812345678")
        board.post(author, kind="question", title="私下问", body="不公开的问题", is_public=False)
    with django_capture_on_commit_callbacks(execute=True):
        board.reply(worker, posted.pk, "已联系施工方")
    assert [s.json["type"] for s in receiver.seen] == ["board.posted", "board.replied"]
    first = receiver.seen[0].json["data"]["post"]
    assert (
        first["title"] == "噪音"
        and "138****5678" in first["text"]
        and "13812345678" not in receiver.seen[0].body.decode()
    )
    assert receiver.seen[1].json["data"]["reply"]["text"] == "已联系施工方"
