"""Background jobs of engagement (huey): telling recipients a notice was published, in the app
and by text message (a targeted notice's registry people without an account)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from gridgov.engagement import services


@db_task()
def notify_recipients(notice_id: int) -> int:
    return services.notify_recipients(notice_id)


@db_periodic_task(crontab(minute="*"))
def notify_pending_notices() -> int:
    """Every minute, and as soon as a (re)started consumer runs: the fan-outs that were lost,
    and the text messages that are due (first tries, retries, those a killed worker held).

    huey takes a task off its queue before running it, so a consumer killed during
    `notify_recipients` loses the task; the fan-out's one transaction rolls back with it
    and the notice stays unnotified until this job finds it. A text claimed by a killed
    worker is tried again once its lease has passed (`texts`), within the bound of attempts."""
    return services.notify_pending()
