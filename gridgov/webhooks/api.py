"""Webhook subscriptions and their deliveries, for system administrators."""

from datetime import datetime

from ninja import Field, Router, Status

from gridgov.core.openapi import CONFLICT
from gridgov.core.schemas import Schema
from gridgov.webhooks import services
from gridgov.webhooks.models import Delivery, Subscription

router = Router(tags=["webhooks"])


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    is_active: bool
    failures: int
    disabled_reason: str
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="shown this once: sign-check the deliveries with it")


class SubscriptionIn(Schema):
    name: str
    url: str
    events: list[str] = Field(
        description="case.created, case.state_changed, case.rated, board.posted, board.replied"
    )


class SubscriptionPatch(Schema):
    name: str | None = None
    url: str | None = None
    events: list[str] | None = None
    is_active: bool | None = Field(None, description="true again after it was turned off: failures reset")


class DeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str
    delivered_at: datetime | None


def delivery_out(d: Delivery) -> dict:
    return {
        "id": d.pk,
        "event_id": str(d.event.uid),
        "event_type": d.event.type,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "delivered_at": d.delivered_at,
    }


@router.get("/webhooks", response=list[SubscriptionOut], summary="Webhook subscriptions")
def list_subscriptions(request):
    services.require_manager(request.auth)
    return list(Subscription.objects.all())


@router.post("/webhooks", response={201: SubscriptionCreated}, summary="Subscribe a URL to events")
def create_subscription(request, payload: SubscriptionIn):
    subscription, secret = services.create(request.auth, **payload.dict())
    return Status(201, {**SubscriptionOut.from_orm(subscription).dict(), "secret": secret})


@router.patch("/webhooks/{subscription_id}", response=SubscriptionOut, summary="Change or turn on/off")
def change_subscription(request, subscription_id: int, payload: SubscriptionPatch):
    return services.change(request.auth, subscription_id, payload.dict(exclude_unset=True))


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response=list[DeliveryOut],
    summary="A subscription's latest deliveries (100), with the receiver's answers",
)
def list_deliveries(request, subscription_id: int):
    services.require_manager(request.auth)
    rows = Delivery.objects.filter(subscription_id=subscription_id).select_related("event")
    return [delivery_out(d) for d in rows.order_by("-pk")[:100]]


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    response=DeliveryOut,
    openapi_extra=CONFLICT,
    summary="Send a delivery again",
)
def replay(request, delivery_id: int):
    return delivery_out(services.replay(request.auth, delivery_id))
