import json

from django.core.management.base import BaseCommand, CommandError

from gridgov.grids.importer import export_feature_collection
from gridgov.grids.models import Grid


class Command(BaseCommand):
    help = "Write a grid and its descendants as a GeoJSON FeatureCollection to standard output."

    def add_arguments(self, parser):
        parser.add_argument("code", nargs="?", default="", help="root grid code (default: all)")

    def handle(self, *args, code, **options):
        if code and not Grid.objects.filter(code=code).exists():
            raise CommandError(f"no grid with code {code}")
        grids = Grid.objects.subtree(code) if code else Grid.objects.all()
        self.stdout.write(json.dumps(export_feature_collection(grids), ensure_ascii=False))
