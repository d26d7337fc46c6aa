"""Background jobs of residents' voice (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.participation import board


@db_periodic_task(crontab(minute="*/15"))
def refresh_board_lights() -> dict[str, int]:
    """Lights of the posts waiting for a reply, and escalation of the overdue ones."""
    return board.refresh_lights()
