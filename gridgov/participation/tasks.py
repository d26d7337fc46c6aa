"""Background jobs of residents' voice (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from gridgov.participation import board, deliberation, elections


@db_periodic_task(crontab(minute="*/15"))
def refresh_board_lights() -> dict[str, int]:
    """Lights of the posts waiting for a reply, and escalation of the overdue ones."""
    return board.refresh_lights()


@db_periodic_task(crontab(minute="*/5"))
def close_due_votes() -> dict[str, int]:
    """Votes and elections past their closing time are counted without waiting for the staff."""
    return {"votes": deliberation.close_due(), "elections": elections.close_due()}
