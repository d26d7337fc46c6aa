import time
from contextlib import contextmanager
from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils.translation import gettext as _
from tqdm import tqdm

from gridgov.accounts.models import Role
from gridgov.analytics import rollups
from gridgov.demo import board, builder, history, loop, mediation, registry, volunteers
from gridgov.demo import migrants as demo_migrants
from gridgov.demo import services as demo_services

# Where each role starts its day (its workbench).
START_PAGES = {
    Role.ADMIN: "/admin/",
    Role.LEADER: "/console/leader/",
    Role.DISPATCHER: "/console/dispatch/",
    Role.HANDLER: "/console/handler/",
    Role.GRID_LEADER: "/console/worker/",
    Role.GRID_WORKER: "/console/worker/",
    Role.BUILDING_HEAD: "/console/worker/",
    Role.AUDITOR: "/console/leader/",
    Role.RESIDENT: "/resident/",
    Role.DORM_MANAGER: "/migrants/dormitories/",
    Role.EMPLOYER: "/migrants/employer/",
}


def _listed(counts: dict) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items())


@contextmanager
def roomy_sqlite_cache(mebibytes: int = 512):
    """On SQLite, a page cache that holds the whole district while it is written (about 400 MB):
    with the default 2 MB, each insert into the large tables' indexes reads and spills pages
    again. For this connection and this build only."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{mebibytes * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


class Command(BaseCommand):
    help = (
        "Build the demo district (grids, departments, staff, demo accounts, routing rules, the "
        "population registry, a year of cases, the volunteers, the mediation centre, the services "
        "near people and the migrants) and print the accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--profile", choices=sorted(builder.PROFILES), default="fengqiao")
        parser.add_argument(
            "--reset", action="store_true", help="delete all cases, grids, departments and users first"
        )
        parser.add_argument(
            "--no-history", action="store_true", help="build no case history (routing rules are still added)"
        )
        parser.add_argument(
            "--no-registry",
            action="store_true",
            help="build no population registry (buildings, households, people, visits)",
        )
        parser.add_argument(
            "--registry-communities",
            type=int,
            default=None,
            metavar="N",
            help="fill only the first N communities' registry (default: the profile's)",
        )
        parser.add_argument(
            "--no-migrants",
            action="store_true",
            help="build no migrants (the dormitory, its workers, permits, rentals); "
            "--no-registry leaves them out too",
        )

    def handle(
        self,
        *args,
        profile,
        reset,
        no_history,
        no_registry,
        registry_communities,
        no_migrants=False,
        **options,
    ):
        if reset:
            builder.reset()
        if builder.demo_exists():
            self.stdout.write("The district already has grids; keeping them (use --reset to rebuild).")
        else:
            chosen = builder.PROFILES[profile]
            if registry_communities is not None:
                chosen = replace(chosen, registry_communities=registry_communities)
            self._build(
                chosen,
                history_wanted=not no_history,
                registry_wanted=not no_registry,
                migrants_wanted=not no_migrants,
                quiet=options["verbosity"] == 0,
            )
        self._print_accounts()

    def _build(
        self,
        chosen,
        *,
        history_wanted: bool,
        registry_wanted: bool,
        quiet: bool,
        migrants_wanted: bool = True,
    ):
        started = time.monotonic()
        self.quiet = quiet
        grids = "/".join(map(str, chosen.counts))
        self.stdout.write(
            _("Building the %(name)s demo district (%(district)s, %(grids)s grids)…")
            % {"name": chosen.name, "district": chosen.district_name, "grids": grids}
        )
        # One transaction: a failure leaves no half-built district behind.
        with roomy_sqlite_cache(), transaction.atomic():
            self._section(
                _("Grids"),
                lambda progress: builder.build(chosen, progress=progress)[0],
                total=sum(chosen.counts),
                unit="grid",
                describe=lambda report: _("%(count)d grids") % {"count": report.created},
            )
            self._section(
                _("Routing rules"),
                lambda _progress: history.build_routes(),
                describe=lambda n: _("%(count)d routing rules") % {"count": n},
            )
            self._section(
                _("Open311 services"),
                lambda _progress: builder.open_to_the_public(),
                describe=lambda n: _("%(count)d categories open to the public") % {"count": n},
            )
            if registry_wanted:
                self._registry(chosen)
            if history_wanted:
                self._history(chosen)
            # After the registry (teams are its organizations) and the cases (whose residents
            # would otherwise be drawn from the volunteers' accounts too).
            self._volunteers(chosen)
            self._section(_("Message board"), lambda _progress: board.build_board(chosen), describe=_listed)
            self._section(_("Deliberation"), lambda _progress: board.build_deliberation(), describe=_listed)
            self._section(
                _("Mediation centre"), lambda _progress: mediation.build_mediation(chosen), describe=_listed
            )
            self._section(
                _("Services near people"),
                lambda _progress: demo_services.build_services(chosen),
                describe=_listed,
            )
            if migrants_wanted and registry_wanted:
                # Last: the permits and the rentals are those of the registry's migrants and houses,
                # and the dormitory's workers are registry people: no registry, no migrants.
                self._section(
                    _("Migrants"), lambda _progress: demo_migrants.build_migrants(chosen), describe=_listed
                )
        self.stdout.write(
            _("The demo district was built in %(seconds).1f s.") % {"seconds": time.monotonic() - started}
        )

    def _section(self, label: str, work, *, describe, total: int | None = None, unit: str = "it"):
        """Run one section of the build and print its line: what it made and how long it took.
        A long section (one with a `total`) shows a progress bar when stdout is a terminal."""
        started = time.monotonic()
        bar = tqdm(
            total=total,
            unit=unit,
            desc=label,
            file=self.stdout._out,
            leave=False,
            disable=self.quiet or total is None or not self.stdout.isatty(),
        )
        with bar:
            try:
                result = work(bar.update)
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("%(label)s in %(seconds).1f s: %(details)s.")
            % {"label": label, "seconds": time.monotonic() - started, "details": describe(result)}
        )
        return result

    def _registry(self, chosen):
        self._section(
            _("Population registry"),
            lambda progress: registry.build_registry(chosen, progress=progress),
            total=registry.expected_households(chosen),
            unit="household",
            describe=lambda counts: self._registry_summary(chosen, counts),
        )

    def _registry_summary(self, chosen, counts) -> str:
        populated, communities = registry.populated_communities(chosen)
        density = (
            f"{chosen.registry_households} households per grid"
            if chosen.registry_households
            else "full density"
        )
        where = (
            "every community"
            if populated == communities
            else (
                f"{populated} of {communities} communities; the others are left empty to keep the build short"
            )
        )
        return (
            f"{density} in {where}: {counts['households']} households, {counts['people']} people, "
            f"{counts['buildings']} buildings, {counts['organizations']} organizations, "
            f"{counts['tags']} tags, {counts['visits']} visits"
        )

    def _history(self, chosen):
        def states(counts) -> str:
            listed = ", ".join(
                f"{state} {count}" for state, count in sorted(counts.items(), key=lambda item: -item[1])
            )
            return f"{sum(counts.values())} cases ({listed})"

        self._section(
            _("A year of cases"),
            lambda progress: history.build_history(chosen, progress=progress),
            total=history.expected_cases(chosen),
            unit="case",
            describe=states,
        )
        self._section(_("Around the loop"), lambda _progress: loop.build_loop_parts(), describe=_listed)
        # The dashboards read these; huey keeps them fresh afterwards.
        self._section(
            _("Daily rollups"), lambda _progress: rollups.rebuild(), describe=lambda rows: f"{rows} rows"
        )

    def _volunteers(self, chosen):
        def summary(counts) -> str:
            return (
                f"{counts['volunteers']} volunteers ({counts['approved']} approved), "
                f"{counts['teams']} teams, {counts['activities']} activities "
                f"({counts['upcoming']} open for sign-up), {counts['signups']} sign-ups, "
                f"{counts['attendance']} attendances, {counts['ledger']} points entries, "
                f"{counts['items']} shop items, {counts['orders']} orders, {counts['groups']} interest "
                f"groups with {counts['members']} members and {counts['notices']} notices"
            )

        self._section(
            _("Volunteers"), lambda _progress: volunteers.build_volunteers(chosen), describe=summary
        )

    def _print_accounts(self):
        labels = dict(Role.choices)
        self.stdout.write(f"\nDemo accounts (password: {builder.DEMO_PASSWORD}), log in at /login/:")
        for account in builder.demo_accounts():
            self.stdout.write(
                f"  {account.username:<13} {str(labels.get(account.role, '')):<8} "
                f"{START_PAGES.get(account.role, '/'):<23} {account.where}"
            )
        self.stdout.write(
            f"Open311 (GeoReport v2) at /open311/v2/discovery.json; demo api_key: {builder.DEMO_OPEN311_KEY}"
        )
        self.stdout.write(
            "Residents also log in at /resident/login/ with any mobile number; with the "
            "default console SMS backend the code appears in the server's log.\n"
        )
