"""Background jobs (huey): lights and overdue escalation every five minutes."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.cases.lights import refresh_lights


@db_periodic_task(crontab(minute="*/5"))
def watch_time_limits():
    return refresh_lights()
