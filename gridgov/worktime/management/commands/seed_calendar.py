from django.core.management.base import BaseCommand

from gridgov.worktime.services import seed_from_library


def _years(years: list[int]) -> str:
    return ", ".join(map(str, years)) or "none"


class Command(BaseCommand):
    help = ("(Re)load every year the chinesecalendar library covers. Years imported from a "
            "State Council notice or entered by an administrator are left alone.")

    def handle(self, *args, **options):
        report = seed_from_library()
        self.stdout.write(f"Loaded: {_years(report.loaded)}.")
        self.stdout.write(f"Already up to date: {_years(report.unchanged)}.")
        self.stdout.write(f"Left alone (imported or entered by an administrator): {_years(report.skipped)}.")
