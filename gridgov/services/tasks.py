"""Background jobs of the services app (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.services import errands


@db_periodic_task(crontab(minute="*/15"))
def refresh_errand_lights() -> dict[str, int]:
    """Lights of the errands on the clock against the item's limit in working days; red told once."""
    return errands.refresh_lights()
