import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from gridgov.worktime.models import Source
from gridgov.worktime.services import import_notice_text


class Command(BaseCommand):
    help = ("Import a year's holidays and make-up working days (the State Council notice) from a "
            "text file, one entry a line: '2027-02-06..2027-02-13 春节', '2027-02-14 调休上班 春节'. "
            "Replaces every day of the year, all or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        parser.add_argument("path", help="a UTF-8 text file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--source", choices=[Source.NOTICE, Source.ADMIN], default=Source.NOTICE)

    def handle(self, *args, year, path, dry_run, source, **options):
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                # utf-8-sig: files saved by Windows Notepad start with a byte-order mark.
                with open(path, encoding="utf-8-sig") as handle:
                    text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            plan = import_notice_text(year, text, source, dry_run=dry_run)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                for message in messages:
                    self.stderr.write(f"{field_name}: {message}")
            raise CommandError("nothing was imported.") from None
        replaced = f" (replaces the {plan.replaces} calendar)" if plan.replaces else ""
        action = "passes the checks; nothing written" if dry_run else "imported"
        self.stdout.write(f"{year} {action}: {plan.working_days} working days, "
                          f"{plan.days_off} days off{replaced}.")
