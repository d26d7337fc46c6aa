"""Sending: each delivery is a POST of the event's JSON, signed with the subscription's secret.

    X-Gridgov-Event: case.state_changed
    X-Gridgov-Event-Id: <uuid>            the same on every retry: drop what you have seen
    X-Gridgov-Timestamp: <unix seconds>
    X-Gridgov-Signature: sha256=<hex>     HMAC-SHA256(secret, "<timestamp>.<body>")

A 2xx answer delivers it; anything else (or no answer in TIMEOUT_S) is retried after 1, 2, 4 …
minutes, ATTEMPTS times in all. A case's deliveries go out in order: one waiting for a retry holds
back the later ones of the same case. A subscription that fails DISABLE_AFTER times in a row is
turned off, with the reason, until an administrator turns it on again.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from gridgov.webhooks.models import Delivery, Subscription

TIMEOUT_S = 10
ATTEMPTS = 8
DISABLE_AFTER = 20
BATCH = 50


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(delivery: Delivery) -> bytes:
    return json.dumps(delivery.event.payload, ensure_ascii=False, sort_keys=True).encode()


def post(delivery: Delivery) -> tuple[int | None, str]:
    """(status, error): the receiver's status code, or None with what went wrong."""
    body, timestamp = body_of(delivery), str(int(time.time()))
    request = urllib.request.Request(
        delivery.subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "gridgov-webhooks/1",
            "X-Gridgov-Event": delivery.event.type,
            "X-Gridgov-Event-Id": str(delivery.event.uid),
            "X-Gridgov-Timestamp": timestamp,
            "X-Gridgov-Signature": signature(delivery.subscription.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (admin-set URL)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))[:300]


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** (attempts - 1))


def _due(subscription: Subscription) -> list[Delivery]:
    """The subscription's waiting deliveries in event order, without those of a case whose
    earlier delivery is still waiting (its order is kept) or given up."""
    now = timezone.now()
    rows = (
        Delivery.objects.filter(subscription=subscription, state=Delivery.State.PENDING)
        .select_related("event", "subscription")
        .order_by("event_id")[: BATCH * 4]
    )
    held, due = set(), []
    for delivery in rows:
        case = delivery.event.case_id
        if case is not None and case in held:
            continue
        if delivery.next_attempt_at > now:
            if case is not None:
                held.add(case)
            continue
        due.append(delivery)
    return due[:BATCH]


def _record(delivery: Delivery, status: int | None, error: str) -> bool:
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, error
    ok = status is not None and 200 <= status < 300
    if ok:
        delivery.state, delivery.delivered_at = Delivery.State.DELIVERED, timezone.now()
    elif delivery.attempts >= ATTEMPTS:
        delivery.state = Delivery.State.FAILED
    else:
        delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
    delivery.save(
        update_fields=["attempts", "last_status", "last_error", "state", "delivered_at", "next_attempt_at"]
    )
    return ok


def _count(subscription: Subscription, ok: bool) -> None:
    if ok:
        Subscription.objects.filter(pk=subscription.pk).update(failures=0)
        return
    with transaction.atomic():
        current = Subscription.objects.select_for_update().get(pk=subscription.pk)
        current.failures += 1
        if current.failures >= DISABLE_AFTER and current.is_active:
            current.is_active = False
            current.disabled_reason = f"{current.failures} failed deliveries in a row"
        current.save(update_fields=["failures", "is_active", "disabled_reason"])


def send(subscription_id: int) -> int:
    """Send what is due for one subscription, in order; returns how many were delivered. A case
    whose delivery fails now keeps its later ones for the retry."""
    subscription = Subscription.objects.filter(pk=subscription_id, is_active=True).first()
    if subscription is None:
        return 0
    delivered, failed_cases = 0, set()
    for delivery in _due(subscription):
        if delivery.event.case_id in failed_cases:
            continue
        status, error = post(delivery)
        ok = _record(delivery, status, error)
        _count(subscription, ok)
        if ok:
            delivered += 1
        else:
            failed_cases.add(delivery.event.case_id)
            if not Subscription.objects.filter(pk=subscription.pk, is_active=True).exists():
                break
    return delivered


def replay(delivery: Delivery) -> Delivery:
    """Send a delivery again (delivered or given up): back to waiting, due now, attempts anew."""
    delivery.state, delivery.attempts, delivery.next_attempt_at = Delivery.State.PENDING, 0, timezone.now()
    delivery.save(update_fields=["state", "attempts", "next_attempt_at"])
    return delivery


def due_subscriptions() -> list[int]:
    return list(
        Delivery.objects.filter(
            state=Delivery.State.PENDING, next_attempt_at__lte=timezone.now(), subscription__is_active=True
        )
        .values_list("subscription_id", flat=True)
        .distinct()
        .order_by("subscription_id")
    )
