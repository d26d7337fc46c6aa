"""Background jobs of the registry (huey)."""

from huey.contrib.djhuey import db_task

from gridgov.population import imports


@db_task()
def run_import(job_id: int) -> None:
    imports.run(job_id)
