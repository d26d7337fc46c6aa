"""gridgov audit verify | export | purge — the audit log's chain, copies and retention."""

import sys
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from gridgov.privacy import audit


class Command(BaseCommand):
    help = "Verify the audit log's integrity chain, export a period as CSV, or purge entries past retention."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        sub.add_parser("verify", help="walk the whole chain; exit 1 at the first entry that does not fit")
        export = sub.add_parser("export", help="a period's entries with their hashes, as CSV")
        export.add_argument("--since", type=date.fromisoformat)
        export.add_argument("--until", type=date.fromisoformat)
        export.add_argument("--out", help="file to write (default: standard output)")
        export.add_argument("--as", dest="username", required=True, help="the auditor exporting")
        export.add_argument("--reason", required=True)
        purge = sub.add_parser("purge", help="remove entries older than GRIDGOV_AUDIT_RETENTION_DAYS")
        purge.add_argument("--as", dest="username", required=True)

    def handle(self, *args, what, **options):
        if what == "verify":
            verdict = audit.verify()
            if not verdict.ok:
                where = f" at entry {verdict.broken_at}" if verdict.broken_at else ""
                raise CommandError(f"audit chain broken{where}: {verdict.problem} "
                                   f"({verdict.checked} entries fit before it)")
            self.stdout.write(f"audit chain intact: {verdict.checked} entries")
            return
        actor = self._user(options["username"])
        if what == "export":
            out = open(options["out"], "w", newline="", encoding="utf-8") if options["out"] else sys.stdout
            try:
                count = audit.export_csv(out, actor=actor, since=options["since"], until=options["until"],
                                         reason=options["reason"])
            finally:
                if out is not sys.stdout:
                    out.close()
            self.stderr.write(f"exported {count} entries")
        else:
            self.stdout.write(f"purged {audit.purge(actor)} entries older than {audit.retention_days()} days")

    @staticmethod
    def _user(username):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        return user
