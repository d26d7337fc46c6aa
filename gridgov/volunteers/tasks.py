"""Background jobs of the volunteers (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.volunteers import expiry


# 00:10 in China (16:10 UTC: huey's crontab reads UTC), just after the day the points lapsed
# ended. A run lost with a killed consumer is made up by the next: expiry is counted, not flagged.
@db_periodic_task(crontab(hour="16", minute="10"))
def expire_points() -> int:
    """Append the EXPIRE entries for points that lapsed under their grid's expiry rule."""
    return expiry.run().points
