"""Background jobs of the insights app (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task, on_startup

from gridgov.insights import analysis


@on_startup()
def load_libraries() -> None:
    """scikit-learn and SciPy imported once per worker, not in the first run's time."""
    analysis.load_libraries()


@db_periodic_task(crontab(minute="35"))
@lock_task("insights-run")
def run_analysis() -> dict[str, int]:
    """Every hour: the day's first run is full, later ones re-analyse only the classes whose cases
    changed (`analysis.plan`); a run still going when the next is due makes the next wait out."""
    return analysis.run().counts
