"""Events from the case log and the message board. Every step of a case is one `CaseLog` row
written by `cases.workflow.log`, so its post_save is the one place a case event can be seen; a
public board post and each reply to it are events too. The event and one delivery per subscriber
are written in the same transaction; the sending starts once it commits. (Rows made with
bulk_create, like the demo's history, send no signal and no webhooks.)"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from gridgov.cases.models import CaseLog
from gridgov.participation.models import Post, Reply
from gridgov.privacy.masking import mask_text
from gridgov.webhooks.models import Delivery, Event, EventType, Subscription

CREATED_BY = {"report", "self_resolved"}


def types_of(entry: CaseLog) -> list[str]:
    if entry.action in CREATED_BY:
        return [EventType.CASE_CREATED]
    found = []
    if entry.from_state != entry.to_state:
        found.append(EventType.CASE_STATE_CHANGED)
    if entry.action == "rate":
        found.append(EventType.CASE_RATED)
    return found


def payload(event_type: str, entry: CaseLog) -> dict:
    """What a receiver learns: the case's public facts and the step; no names or phones."""
    case = entry.case
    return {
        "type": event_type,
        "created_at": timezone.localtime(entry.at).isoformat(timespec="seconds"),
        "data": {
            "case": {
                "number": case.number,
                "state": case.state,
                "channel": case.channel,
                "category": {"code": case.category.code, "name": case.category.name},
                "grid": case.grid.code,
                "department": case.department.name if case.department_id else None,
                "description": mask_text(case.description)[:1000],
                "reported_at": timezone.localtime(case.reported_at).isoformat(timespec="seconds"),
                "deadline": timezone.localtime(case.deadline).isoformat(timespec="seconds")
                if case.deadline
                else None,
                "rating": case.rating if event_type == EventType.CASE_RATED else None,
            },
            "step": {"action": entry.action, "from_state": entry.from_state, "to_state": entry.to_state},
        },
    }


def subscribers(event_type: str) -> list[Subscription]:
    # The JSON list is read in Python: a containment lookup differs between SQLite and PostgreSQL.
    return [s for s in Subscription.objects.filter(is_active=True) if event_type in s.events]


def emit(event_type: str, build_payload, case=None) -> None:
    """The event and one delivery per subscriber, in the caller's transaction; sending starts
    once it commits. `build_payload` is only called when somebody subscribes."""
    subs = subscribers(event_type)
    if not subs:
        return
    from gridgov.webhooks import tasks

    event = Event(type=event_type, case=case, payload=build_payload())
    event.payload["id"] = str(event.uid)
    event.save()
    now = timezone.now()
    Delivery.objects.bulk_create([Delivery(subscription=s, event=event, next_attempt_at=now) for s in subs])
    for subscription_id in sorted(s.pk for s in subs):
        transaction.on_commit(lambda pk=subscription_id: tasks.send.schedule((pk,), delay=0))


@receiver(post_save, sender=CaseLog, dispatch_uid="webhooks.case_logged")
def case_logged(sender, instance: CaseLog, created: bool, **kwargs) -> None:
    if not created:
        return
    for event_type in types_of(instance):
        emit(event_type, lambda t=event_type: payload(t, instance), case=instance.case)


# --- the message board: public posts and their replies -------------------------------------------------


def board_payload(event_type: str, post, reply=None) -> dict:
    """The post as the public reads it (masked text, no author)."""
    return {
        "type": event_type,
        "created_at": timezone.localtime(reply.created_at if reply else post.created_at).isoformat(
            timespec="seconds"
        ),
        "data": {
            "post": {
                "id": post.pk,
                "kind": post.kind,
                "title": post.title_public,
                "text": post.body_public,
                "grid": post.grid.code,
                "state": post.state,
                "reply_due": timezone.localtime(post.reply_due).isoformat(timespec="seconds"),
            },
            "reply": {"text": reply.text_public} if reply else None,
        },
    }


@receiver(post_save, sender=Post, dispatch_uid="webhooks.board_posted")
def board_posted(sender, instance: Post, created: bool, **kwargs) -> None:
    if created and instance.is_public:
        emit(EventType.BOARD_POSTED, lambda: board_payload(EventType.BOARD_POSTED, instance))


@receiver(post_save, sender=Reply, dispatch_uid="webhooks.board_replied")
def board_replied(sender, instance: Reply, created: bool, **kwargs) -> None:
    if created and instance.post.is_public:
        emit(EventType.BOARD_REPLIED, lambda: board_payload(EventType.BOARD_REPLIED, instance.post, instance))
