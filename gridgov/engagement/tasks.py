"""Background jobs of engagement (huey): telling recipients a notice was published."""

from huey.contrib.djhuey import db_task

from gridgov.engagement import services


@db_task()
def notify_recipients(notice_id: int) -> int:
    return services.notify_recipients(notice_id)
