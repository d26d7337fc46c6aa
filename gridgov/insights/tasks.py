"""Background jobs of the insights app (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from gridgov.insights import analysis


@db_periodic_task(crontab(minute="35"))
@lock_task("insights-run")
def run_analysis() -> dict[str, int]:
    """Every hour: the whole analysis; a run still going when the next is due makes the next wait out."""
    return analysis.run().counts
