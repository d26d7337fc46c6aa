"""Background jobs of the registry (huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from gridgov.population import care, imports


@db_task()
def run_import(job_id: int) -> None:
    imports.run(job_id)


# 08:30 in China: huey's crontab reads UTC. Once a day; a run lost with a killed consumer is made
# up by the next one, which finds the same files still overdue (reminders are sent once each).
@db_periodic_task(crontab(hour="0", minute="30"))
def remind_overdue_care() -> int:
    """Tell grid workers (and assignees) of care visits and care tasks that are overdue."""
    return care.send_reminders()
