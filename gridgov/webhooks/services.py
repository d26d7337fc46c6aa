"""Subscriptions, kept by administrators (`Perm.MANAGE_WEBHOOKS`): checked, with a generated
secret shown once; a subscription turned on again starts with a clean failure count."""

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.webhooks import delivery as sending
from gridgov.webhooks.models import Delivery, EventType, Subscription


def require_manager(user) -> None:
    if not has_perm(user, Perm.MANAGE_WEBHOOKS):
        raise PermissionDenied(_("Only system administrators manage webhooks."))


def _check(fields: dict, errors: dict) -> None:
    if "name" in fields and not (fields["name"] or "").strip():
        errors["name"] = _("Give the subscription a name.")
    if "url" in fields:
        try:
            URLValidator(schemes=["http", "https"])(fields["url"] or "")
        except ValidationError:
            errors["url"] = _("Enter an http or https address.")
    if "events" in fields:
        events = fields["events"] or []
        unknown = sorted(set(events) - set(EventType.values))
        if not events or unknown:
            errors["events"] = _("Choose among: %s.") % ", ".join(EventType.values)


def create(user, *, name: str, url: str, events: list[str]) -> tuple[Subscription, str]:
    require_manager(user)
    errors: dict = {}
    _check({"name": name, "url": url, "events": events}, errors)
    if errors:
        raise ValidationError(errors)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = Subscription.objects.create(
        name=name.strip(), url=url, events=sorted(set(events)), secret=secret, created_by=user
    )
    return subscription, secret


def change(user, subscription_id: int, fields: dict) -> Subscription:
    require_manager(user)
    errors: dict = {}
    _check(fields, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(pk=subscription_id).first()
        if subscription is None:
            raise Http404(_("No such subscription."))
        for field in ("name", "url", "events", "is_active"):
            if field in fields and fields[field] is not None:
                setattr(subscription, field, fields[field])
        if fields.get("is_active"):
            subscription.failures, subscription.disabled_reason = 0, ""
        subscription.save()
    return subscription


def replay(user, delivery_id: int) -> Delivery:
    require_manager(user)
    found = Delivery.objects.select_related("event", "subscription").filter(pk=delivery_id).first()
    if found is None:
        raise Http404(_("No such delivery."))
    from gridgov.webhooks import tasks

    sending.replay(found)
    transaction.on_commit(lambda: tasks.send.schedule((found.subscription_id,), delay=0))
    return found
