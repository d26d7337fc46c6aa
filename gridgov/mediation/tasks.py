"""Background jobs of the mediation centre (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.mediation import workflow


@db_periodic_task(crontab(minute="*/15"))
def refresh_mediation_lights() -> dict[str, int]:
    """Lights of the open disputes against their time limit in working days; red ones told once."""
    return workflow.refresh_lights()


@db_periodic_task(crontab(minute="0", hour="8"))
def remind_return_visits() -> int:
    """The return visits due today (and any missed), each told once to its mediator."""
    return workflow.remind_return_visits()
