"""Excel imports as background jobs: the upload is stored, huey runs `excel.import_rows`, and
the job row carries the progress a page polls. The file is deleted once the job ends: it
holds personal data and the registry now has what it needed."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import User
from gridgov.accounts.roles import Perm, has_perm
from gridgov.population import excel
from gridgov.population.models import ImportJob

MAX_BYTES = 20 * 1024 * 1024
MAX_REPORTED_ERRORS = 1000
XLSX_MAGIC = b"PK\x03\x04"


def start(actor, kind: str, upload, *, dry_run: bool, grid_code: str = "") -> ImportJob:
    """Check and store the upload, queue the job; returns it (its id is what a page polls)."""
    if not has_perm(actor, Perm.IMPORT_REGISTRY):
        raise PermissionDenied(_("You may not import into the registry."))
    errors = {}
    if kind not in excel.KINDS:
        errors["kind"] = _("Choose what to import: %s.") % ", ".join(excel.KINDS)
    if upload is None:
        errors["file"] = _("Choose an .xlsx file.")
    elif upload.size > MAX_BYTES:
        errors["file"] = _("The file is larger than 20 MB: split it.")
    elif upload.read(4) != XLSX_MAGIC:
        errors["file"] = _("This is not an Excel .xlsx file: download the template and fill it in.")
    if errors:
        raise ValidationError(errors)
    upload.seek(0)
    job = ImportJob.objects.create(actor=actor, kind=kind, dry_run=dry_run, file=upload, grid_code=grid_code)
    from gridgov.population.tasks import run_import

    transaction.on_commit(lambda: run_import(job.pk))
    return job


def _progress(job_id: int):
    def save(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(done=done, total=total)

    return save


def _report(result: excel.ImportReport) -> dict:
    return {"created": result.created, "updated": result.updated, "skipped": result.skipped,
            "saved": result.saved, "error_count": len(result.errors),
            "errors": [{"row": e.row, "column": e.column, "value": e.value, "message": e.message}
                       for e in result.errors[:MAX_REPORTED_ERRORS]]}


def run(job_id: int) -> None:
    """Run one job (called by the huey task); safe to call again for a finished job."""
    job = ImportJob.objects.select_related("actor").get(pk=job_id)
    if job.state in (ImportJob.State.DONE, ImportJob.State.FAILED):
        return
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)
    actor = User.objects.get(pk=job.actor_id)  # fresh: no cached scope from an earlier run
    try:
        with job.file.open("rb") as handle:
            result = excel.import_rows(actor, job.kind, handle, dry_run=job.dry_run,
                                       progress=_progress(job.pk), grid=job.grid_code or None)
    except (ValidationError, PermissionDenied) as exc:
        message = " ".join(getattr(exc, "messages", [str(exc)])) or _("You may not import into the registry.")
        _finish(job, ImportJob.State.FAILED, {"error_count": 1, "errors": [
            {"row": 0, "column": "", "value": "", "message": message}]})
        return
    _finish(job, ImportJob.State.DONE, _report(result), total=result.total)


def _finish(job: ImportJob, state: str, report: dict, total: int | None = None) -> None:
    updates = {"state": state, "report": report, "finished_at": timezone.now()}
    if total is not None:
        updates.update(done=total, total=total)
    ImportJob.objects.filter(pk=job.pk).update(**updates)
    job.file.delete(save=False)
