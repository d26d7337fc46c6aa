"""Background jobs of the migrants app (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.migrants import permits


# 07:20 in China (23:20 UTC: huey's crontab reads UTC), before the grid workers' day begins.
@db_periodic_task(crontab(hour="23", minute="20"))
def permit_reminders() -> dict[str, int]:
    """Each morning: permits past their end expire; grid workers and dormitory managers are told, once
    per person and deadline, who must apply for or renew a residence permit."""
    return {"expired": permits.expire_due(), "reminded": permits.send_reminders()}
