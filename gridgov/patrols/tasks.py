"""Background jobs of patrols (huey): close patrols forgotten for more than 12 hours."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.patrols.services import close_forgotten


@db_periodic_task(crontab(minute="*/15"))
def close_forgotten_patrols():
    return close_forgotten()
