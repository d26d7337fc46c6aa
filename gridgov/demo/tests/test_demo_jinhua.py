from dataclasses import replace

import pytest
import shapely
from django.core.management import call_command

from gridgov.accounts.models import Assignment, Role
from gridgov.cases.models import Case, CategoryRoute
from gridgov.demo import registry
from gridgov.demo.builder import PROFILES
from gridgov.grids.models import Grid
from gridgov.population import codes
from gridgov.population.models import Building, House, Household, Organization, Person


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_jinhua_profile_has_the_articles_counts_and_a_building_head_per_micro_grid():
    # --no-history keeps this test short (a year of jinhua cases is ~33,000, built and
    # checked for fengqiao's ~20,000 in test_demo.py); the routing rules are still added.
    # --no-registry too: a few communities of it are built below.
    call_command("demo", profile="jinhua", no_history=True, no_registry=True, verbosity=0)
    # The article's grids (the demo's dormitory grid comes with the registry, left out here).
    assert [Grid.objects.basic().filter(level=n).count() for n in (1, 2, 3, 4)] == [8, 168, 300, 7349]
    assert Grid.objects.filter(level=1, code__startswith="330703").count() == 8
    heads = Assignment.objects.filter(role=Role.BUILDING_HEAD, grid__level=4)
    assert heads.values("grid").distinct().count() == 7349
    assert not Case.objects.exists()
    assert not Person.objects.exists()
    assert CategoryRoute.objects.filter(area__level=1).values("area").distinct().count() == 8
    assert CategoryRoute.objects.filter(area__isnull=True).exists()
    _jinhua_registry_sample()


def _jinhua_registry_sample():
    """60 households per level-3 grid spread over ~24 micro-grids: self-built houses."""
    profile = replace(PROFILES["jinhua"], registry_communities=4)
    counts = registry.build_registry(profile)
    grids = Household.objects.values("grid__parent").distinct().count()
    assert counts["households"] == Household.objects.count() == 60 * grids
    assert not House.objects.filter(unit__isnull=False).exists()  # one house per building
    assert House.objects.filter(use=House.Use.RENTED).exists()
    for building in Building.objects.select_related("grid"):
        shape = shapely.geometry.shape(building.grid.boundary)
        assert building.grid.level == 4 and shape.contains(shapely.Point(building.lon, building.lat))
    for number in Person.objects.values_list("id_number", flat=True):
        codes.validate_id_number(number)
    for code in Organization.objects.values_list("credit_code", flat=True):
        codes.validate_credit_code(code)
    # The demo building head was moved to a micro-grid of the same grid that has buildings.
    head = Assignment.objects.select_related("grid").get(user__username="buildinghead")
    assert Building.objects.filter(grid=head.grid).exists()
    worker = Assignment.objects.select_related("grid").get(user__username="worker").grid
    assert head.grid.code.startswith(worker.code)
