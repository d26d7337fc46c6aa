from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gridgov.population import excel

MAX_SHOWN_ERRORS = 200


def acting_user(username: str | None):
    """The named user, or (for an operator at the shell) the first active superuser."""
    users = get_user_model().objects.filter(is_active=True)
    user = users.filter(username=username).first() if username else (
        users.filter(is_superuser=True).order_by("pk").first())
    if user is None:
        raise CommandError(f"no active user {username!r}" if username else
                           "no active superuser: name the acting user with --user")
    return user


class Command(BaseCommand):
    help = "Import registry rows from an .xlsx file (all or nothing), as a user whose scope and rights apply."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=excel.KINDS)
        parser.add_argument("path", help="the .xlsx file (see the template the API offers)")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--grid", metavar="CODE", help="only rows in this grid's subtree")
        parser.add_argument("--user", metavar="USERNAME",
                            help="the acting user (default: the first active superuser)")

    def handle(self, *args, kind, path, dry_run, grid, user, **options):
        actor = acting_user(user)
        with tqdm(unit="row", disable=options["verbosity"] == 0) as bar:
            def progress(done, total):
                bar.total = total
                bar.update(done - bar.n)

            try:
                report = excel.import_rows(actor, kind, path, dry_run=dry_run, progress=progress, grid=grid)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        if not report.ok:
            for error in report.errors[:MAX_SHOWN_ERRORS]:
                self.stderr.write(str(error))
            if len(report.errors) > MAX_SHOWN_ERRORS:
                self.stderr.write(f"... and {len(report.errors) - MAX_SHOWN_ERRORS} more")
            raise CommandError(f"{len(report.errors)} problems in {report.total} rows; nothing was imported.")
        counts = f"{report.created} created, {report.updated} updated, {report.skipped} unchanged"
        if dry_run:
            self.stdout.write(f"All {report.total} rows pass the checks ({counts}; nothing written).")
        else:
            self.stdout.write(f"{report.total} rows imported: {counts}.")
