"""Background jobs (huey): the daily rollups follow the cases every five minutes."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from gridgov.analytics.rollups import refresh


@db_periodic_task(crontab(minute="*/5"))
@lock_task("analytics-rollup")
def refresh_rollups():
    # The lock keeps two consumers from rebuilding the same days at once.
    return refresh()
