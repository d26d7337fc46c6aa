import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gridgov.accounts.models import Role
from gridgov.demo import builder


class Command(BaseCommand):
    help = "Build the demo district (grids, departments, staff, demo accounts) and print the accounts."

    def add_arguments(self, parser):
        parser.add_argument("--profile", choices=sorted(builder.PROFILES), default="fengqiao")
        parser.add_argument("--reset", action="store_true",
                            help="delete all grids, departments and users first")

    def handle(self, *args, profile, reset, **options):
        if reset:
            builder.reset()
        if builder.demo_exists():
            self.stdout.write("The district already has grids; keeping them (use --reset to rebuild).")
        else:
            chosen = builder.PROFILES[profile]
            started = time.monotonic()
            self.stdout.write(f"Building the {profile} demo district "
                              f"({chosen.district_name}, {'/'.join(map(str, chosen.counts))} grids)…")
            with tqdm(total=sum(chosen.counts), unit="grid", disable=options["verbosity"] == 0) as bar:
                try:
                    report, _accounts = builder.build(chosen, progress=bar.update)
                except RuntimeError as exc:
                    raise CommandError(str(exc)) from exc
            self.stdout.write(f"{report.created} grids in {time.monotonic() - started:.1f} s.")
        self._print_accounts()

    def _print_accounts(self):
        labels = dict(Role.choices)
        self.stdout.write(f"\nDemo accounts (password: {builder.DEMO_PASSWORD})")
        for account in builder.demo_accounts():
            self.stdout.write(f"  {account.username:<13} {str(labels.get(account.role, '')):<8} "
                              f"{account.where}")
        self.stdout.write("")
