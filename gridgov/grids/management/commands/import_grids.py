import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gridgov.grids.importer import import_feature_collection


class Command(BaseCommand):
    help = "Import grids from a GeoJSON FeatureCollection (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a .geojson file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, path, dry_run, **options):
        try:
            if path == "-":
                import sys

                collection = json.load(sys.stdin)
            else:
                with open(path, encoding="utf-8") as handle:
                    collection = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        total = len(collection.get("features") or []) if isinstance(collection, dict) else 0
        with tqdm(total=total, unit="grid", disable=options["verbosity"] == 0) as bar:
            report = import_feature_collection(collection, dry_run=dry_run, progress=bar.update)
        if not report.ok:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(report.errors)} problems; nothing was imported.")
        if dry_run:
            self.stdout.write(f"All {report.total} features pass the checks (nothing written).")
        else:
            self.stdout.write(f"{report.created} grids created, {report.updated} updated.")
