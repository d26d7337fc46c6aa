from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from gridgov.population import excel


class Command(BaseCommand):
    help = ("Export registry rows to .xlsx as a user: their scope, masked unless they may export "
            "personal data, watermarked and written to the audit log.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=excel.KINDS)
        parser.add_argument("path", help="where to write the .xlsx file")
        parser.add_argument("--user", metavar="USERNAME", required=True, help="the exporting user")
        parser.add_argument("--grid", metavar="CODE", help="only this grid's subtree")
        parser.add_argument("--reason", default="", help="why the data is exported (kept in the audit log)")

    def handle(self, *args, kind, path, user, grid, reason, **options):
        actor = get_user_model().objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {user!r}")
        try:
            data = excel.export(actor, kind, grid=grid, reason=reason or "gridgov export_registry")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        Path(path).write_bytes(data)
        if options["verbosity"]:
            self.stdout.write(f"Wrote {path} ({len(data):,} bytes).")
