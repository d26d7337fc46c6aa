"""Notices by text message: the text, sending the queued ones, bounded retries.

Each text is a `NoticeDelivery` row (channel sms) written when the notice is sent. Sending one
is three short commits: claim it (attempts + 1, and its next try pushed `LEASE` ahead, so a
second job running at the same time skips it), ask the gateway (`accounts.sms.send`), record
the answer. A worker killed between claim and answer leaves the row queued: the sweep tries
it again once the lease has passed, within the same bound of attempts. That may send one text
twice (the gateway took it, the answer was lost) but never loses it; texts are sent at least
once, in-app notifications exactly once.

Logs name rows and gateway codes only, never a phone or a name.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gridgov.accounts import sms
from gridgov.engagement.models import Notice, NoticeDelivery

logger = logging.getLogger("gridgov.engagement")

Status = NoticeDelivery.Status
MAX_ATTEMPTS = 3
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5))  # after the first and second failure
LEASE = timedelta(minutes=5)  # longer than a gateway call with its timeout, by far
PER_RUN = 1000  # the sweep comes back every minute for the rest
STOP_AFTER_FAILURES = 5  # in a row: the gateway is down, the next sweep tries again
TEXT_MAX = 60  # one 70-character message with the gateway's 【signature】


def sms_text(notice: Notice) -> str:
    """The notice's grid and title, and where to learn more; shortened to one message."""
    with translation.override(settings.LANGUAGE_CODE):  # a job has no request: the default language

        def text(title: str) -> str:
            return _("%(grid)s notice: %(title)s") % {"grid": notice.grid.name, "title": title}

        contact = ""
        if notice.sms_contact:
            contact = " " + _("Details: %(contact)s") % {"contact": notice.sms_contact}
        room = max(TEXT_MAX - len(text("")) - len(contact), 8)
        title = notice.title if len(notice.title) <= room else notice.title[: room - 1] + "…"
        return text(title) + contact


def due(now=None, notice_id: int | None = None):
    rows = NoticeDelivery.objects.filter(
        channel=NoticeDelivery.Channel.SMS, status=Status.QUEUED, next_attempt_at__lte=now or timezone.now()
    )
    return rows.filter(notice_id=notice_id) if notice_id is not None else rows


def send_due(notice_id: int | None = None) -> int:
    """Send the texts whose time has come (of one notice, or all); the number the gateway took."""
    now = timezone.now()
    rows = due(now, notice_id)
    # A notice that has expired (or was withdrawn) is no longer worth a text.
    ended = rows.exclude(notice__in=Notice.objects.current())
    ended.update(status=Status.FAILED, error="expired", next_attempt_at=None)
    sent = failures_in_a_row = 0
    for pk in list(rows.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:PER_RUN]):
        outcome = send_one(pk)
        if outcome is None:
            continue  # another job holds it
        sent += outcome
        failures_in_a_row = 0 if outcome else failures_in_a_row + 1
        if failures_in_a_row >= STOP_AFTER_FAILURES:
            logger.warning("Texts paused after %d failures in a row; the sweep goes on.", failures_in_a_row)
            break
    return sent


def _claim(pk: int, now) -> bool:
    return bool(
        NoticeDelivery.objects.filter(pk=pk, status=Status.QUEUED, next_attempt_at__lte=now).update(
            attempts=F("attempts") + 1, next_attempt_at=now + LEASE
        )
    )


def send_one(pk: int) -> int | None:
    """1 when the gateway took the text, 0 when it did not, None when the row was not ours."""
    if not _claim(pk, timezone.now()):
        return None
    delivery = NoticeDelivery.objects.select_related("notice__grid", "person").get(pk=pk)
    phone = delivery.person.phone if delivery.person_id else ""
    if not phone:  # removed from the registry, or the phone erased since the notice was sent
        _failed(delivery, "no_phone", retryable=False)
        return 0
    try:
        reference = sms.send(phone, sms_text(delivery.notice))
    except sms.SmsError as exc:
        _failed(delivery, exc.code, exc.retryable)
        return 0
    except Exception as exc:  # a broken backend or setting: kept by kind (its text may hold the phone)
        logger.warning("Text %s: the SMS backend raised %s.", pk, type(exc).__name__)
        _failed(delivery, type(exc).__name__, retryable=True)
        return 0
    NoticeDelivery.objects.filter(pk=pk).update(
        status=Status.SENT, sent_at=timezone.now(), error="", provider_ref=(reference or "")[:64],
        next_attempt_at=None,
    )
    return 1


def _failed(delivery: NoticeDelivery, code: str, retryable: bool) -> None:
    code = (code or "unknown")[:64]
    if retryable and delivery.attempts < MAX_ATTEMPTS:
        wait = RETRY_AFTER[min(delivery.attempts, len(RETRY_AFTER)) - 1]
        update = {"status": Status.QUEUED, "next_attempt_at": timezone.now() + wait}
    else:
        update = {"status": Status.FAILED, "next_attempt_at": None}
    NoticeDelivery.objects.filter(pk=delivery.pk).update(error=code, **update)
    logger.info("Text %s: attempt %d failed (%s).", delivery.pk, delivery.attempts, code)
