import time
from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from gridgov.accounts.models import Role
from gridgov.analytics import rollups
from gridgov.demo import board, builder, history, loop, mediation, registry, volunteers
from gridgov.demo import migrants as demo_migrants
from gridgov.demo import services as demo_services

# Where each role starts its day (its workbench).
START_PAGES = {Role.ADMIN: "/admin/", Role.LEADER: "/console/leader/", Role.DISPATCHER: "/console/dispatch/",
               Role.HANDLER: "/console/handler/", Role.GRID_LEADER: "/console/worker/",
               Role.GRID_WORKER: "/console/worker/", Role.BUILDING_HEAD: "/console/worker/",
               Role.AUDITOR: "/console/leader/", Role.RESIDENT: "/resident/",
               Role.DORM_MANAGER: "/migrants/dormitories/", Role.EMPLOYER: "/migrants/employer/"}


class Command(BaseCommand):
    help = ("Build the demo district (grids, departments, staff, demo accounts, routing rules, the "
            "population registry, a year of cases, the volunteers, the mediation centre, the services "
            "near people and the migrants) and print the accounts.")

    def add_arguments(self, parser):
        parser.add_argument("--profile", choices=sorted(builder.PROFILES), default="fengqiao")
        parser.add_argument("--reset", action="store_true",
                            help="delete all cases, grids, departments and users first")
        parser.add_argument("--no-history", action="store_true",
                            help="build no case history (routing rules are still added)")
        parser.add_argument("--no-registry", action="store_true",
                            help="build no population registry (buildings, households, people, visits)")
        parser.add_argument("--registry-communities", type=int, default=None, metavar="N",
                            help="fill only the first N communities' registry (default: the profile's)")
        parser.add_argument("--no-migrants", action="store_true",
                            help="build no migrants (the dormitory, its workers, permits, rentals); "
                                 "--no-registry leaves them out too")

    def handle(self, *args, profile, reset, no_history, no_registry, registry_communities, no_migrants=False,
               **options):
        if reset:
            builder.reset()
        if builder.demo_exists():
            self.stdout.write("The district already has grids; keeping them (use --reset to rebuild).")
        else:
            chosen = builder.PROFILES[profile]
            if registry_communities is not None:
                chosen = replace(chosen, registry_communities=registry_communities)
            self._build(chosen, history_wanted=not no_history, registry_wanted=not no_registry,
                        migrants_wanted=not no_migrants, quiet=options["verbosity"] == 0)
        self._print_accounts()

    def _build(self, chosen, *, history_wanted: bool, registry_wanted: bool, quiet: bool,
               migrants_wanted: bool = True):
        started = time.monotonic()
        self.stdout.write(f"Building the {chosen.name} demo district "
                          f"({chosen.district_name}, {'/'.join(map(str, chosen.counts))} grids)…")
        # One transaction: a failure leaves no half-built district behind.
        with transaction.atomic():
            with tqdm(total=sum(chosen.counts), unit="grid", disable=quiet) as bar:
                try:
                    report, _accounts = builder.build(chosen, progress=bar.update)
                except RuntimeError as exc:
                    raise CommandError(str(exc)) from exc
            self.stdout.write(f"{report.created} grids in {time.monotonic() - started:.1f} s.")
            routes = history.build_routes()
            self.stdout.write(f"{routes} routing rules.")
            public = builder.open_to_the_public()
            self.stdout.write(f"{public} categories open to the public (Open311 services).")
            if registry_wanted:
                self._registry(chosen, quiet=quiet)
            if history_wanted:
                started = time.monotonic()
                with tqdm(total=history.expected_cases(chosen), unit="case", disable=quiet) as bar:
                    try:
                        counts = history.build_history(chosen, progress=bar.update)
                    except RuntimeError as exc:
                        raise CommandError(str(exc)) from exc
                states = ", ".join(f"{state} {count}" for state, count in
                                   sorted(counts.items(), key=lambda item: -item[1]))
                self.stdout.write(f"{sum(counts.values())} cases in {time.monotonic() - started:.1f} s "
                                  f"({states}).")
                parts = loop.build_loop_parts()
                self.stdout.write("Around the loop: " + ", ".join(f"{n} {k}" for k, n in parts.items()) + ".")
                started = time.monotonic()
                rows = rollups.rebuild()  # the dashboards read these; huey keeps them fresh afterwards
                self.stdout.write(f"{rows} daily rollup rows in {time.monotonic() - started:.1f} s.")
            # After the registry (teams are its organizations) and the cases (whose residents
            # would otherwise be drawn from the volunteers' accounts too).
            self._volunteers(chosen)
            started = time.monotonic()
            posts = board.build_board(chosen)
            self.stdout.write(f"Message board in {time.monotonic() - started:.1f} s: "
                              + ", ".join(f"{n} {k}" for k, n in posts.items()) + ".")
            talks = board.build_deliberation()
            self.stdout.write("Deliberation: " + ", ".join(f"{n} {k}" for k, n in talks.items()) + ".")
            started = time.monotonic()
            centre = mediation.build_mediation(chosen)
            self.stdout.write(f"Mediation centre in {time.monotonic() - started:.1f} s: "
                              + ", ".join(f"{n} {k}" for k, n in centre.items()) + ".")
            started = time.monotonic()
            near = demo_services.build_services(chosen)
            self.stdout.write(f"Services in {time.monotonic() - started:.1f} s: "
                              + ", ".join(f"{n} {k}" for k, n in near.items()) + ".")
            if migrants_wanted and registry_wanted:
                # Last: the permits and the rentals are those of the registry's migrants and houses,
                # and the dormitory's workers are registry people: no registry, no migrants.
                started = time.monotonic()
                try:
                    made = demo_migrants.build_migrants(chosen)
                except RuntimeError as exc:
                    raise CommandError(str(exc)) from exc
                self.stdout.write(f"Migrants in {time.monotonic() - started:.1f} s: "
                                  + ", ".join(f"{n} {k}" for k, n in made.items()) + ".")

    def _registry(self, chosen, *, quiet: bool):
        started = time.monotonic()
        with tqdm(total=registry.expected_households(chosen), unit="household", disable=quiet) as bar:
            try:
                counts = registry.build_registry(chosen, progress=bar.update)
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
        populated, communities = registry.populated_communities(chosen)
        density = (f"{chosen.registry_households} households per grid" if chosen.registry_households
                   else "full density")
        where = "every community" if populated == communities else (
            f"{populated} of {communities} communities; the others are left empty to keep the build short")
        self.stdout.write(
            f"Registry in {time.monotonic() - started:.1f} s, {density} in {where}: "
            f"{counts['households']} households, {counts['people']} people, {counts['buildings']} buildings, "
            f"{counts['organizations']} organizations, {counts['tags']} tags, {counts['visits']} visits.")

    def _volunteers(self, chosen):
        started = time.monotonic()
        try:
            counts = volunteers.build_volunteers(chosen)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Volunteers in {time.monotonic() - started:.1f} s: {counts['volunteers']} volunteers "
            f"({counts['approved']} approved), {counts['teams']} teams, {counts['activities']} activities "
            f"({counts['upcoming']} open for sign-up), {counts['signups']} sign-ups, "
            f"{counts['attendance']} attendances, {counts['ledger']} points entries, {counts['items']} shop "
            f"items, {counts['orders']} orders, {counts['groups']} interest groups with {counts['members']} "
            f"members and {counts['notices']} notices.")

    def _print_accounts(self):
        labels = dict(Role.choices)
        self.stdout.write(f"\nDemo accounts (password: {builder.DEMO_PASSWORD}), log in at /login/:")
        for account in builder.demo_accounts():
            self.stdout.write(f"  {account.username:<13} {str(labels.get(account.role, '')):<8} "
                              f"{START_PAGES.get(account.role, '/'):<23} {account.where}")
        self.stdout.write(f"Open311 (GeoReport v2) at /open311/v2/discovery.json; demo api_key: "
                          f"{builder.DEMO_OPEN311_KEY}")
        self.stdout.write("Residents also log in at /resident/login/ with any mobile number; with the "
                          "default console SMS backend the code appears in the server's log.\n")
