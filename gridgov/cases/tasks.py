"""Background jobs (huey): lights and overdue escalation every five minutes; photos stored
without their location after the report that brought them has committed."""

import logging
from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from gridgov.cases.lights import refresh_lights
from gridgov.cases.models import Attachment
from gridgov.core.uploads import finish_held

log = logging.getLogger(__name__)

# A photo held longer than this lost its job (a crash, a restore, the queue emptied).
STALE_AFTER = timedelta(minutes=2)


@db_periodic_task(crontab(minute="*/5"))
def watch_time_limits():
    return refresh_lights()


@db_task(retries=2, retry_delay=10)
def finish_photo(attachment_id: int) -> str:
    attachment = Attachment.objects.filter(pk=attachment_id).exclude(held="").first()
    if attachment is None:
        return ""
    outcome = finish_held(attachment)
    if outcome == "failed":
        log.warning("case attachment %s: the photo could not be decoded and was not kept", attachment_id)
    return outcome


@db_periodic_task(crontab(minute="*/5"))
def finish_stale_photos() -> int:
    """Finish the photos whose job never ran; returns how many were finished here."""
    stale = Attachment.objects.exclude(held="").filter(uploaded_at__lt=timezone.now() - STALE_AFTER)
    return sum(finish_photo.call_local(pk) == "done" for pk in stale.values_list("pk", flat=True)[:500])
