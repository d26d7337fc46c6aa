"""`gridgov rollup`: bring the daily rollups up to date, or rebuild them."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from gridgov.analytics import rollups


class Command(BaseCommand):
    help = "Refresh the daily KPI rollups (only the days touched since the last run), or rebuild them."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recount every day")
        parser.add_argument("--since", help="with --rebuild: the first day to recount (YYYY-MM-DD)")

    def handle(self, *args, rebuild=False, since=None, **options):
        day = None
        if since:
            day = parse_date(since)
            if day is None:
                raise CommandError("--since: enter a date as YYYY-MM-DD")
            if not rebuild:
                raise CommandError("--since goes with --rebuild")
        written = rollups.rebuild(day) if rebuild else rollups.refresh()
        self.stdout.write(f"{written} rollup rows written")
