import pytest
from django.core.management import call_command

from gridgov.accounts.models import Assignment, Role
from gridgov.cases.models import Case, CategoryRoute
from gridgov.grids.models import Grid


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_jinhua_profile_has_the_articles_counts_and_a_building_head_per_micro_grid():
    # --no-history keeps this test short (a year of jinhua cases is ~33,000, built and
    # checked for fengqiao's ~20,000 in test_demo.py); the routing rules are still added.
    call_command("demo", profile="jinhua", no_history=True, verbosity=0)
    assert [Grid.objects.filter(level=n).count() for n in (1, 2, 3, 4)] == [8, 168, 300, 7349]
    assert Grid.objects.filter(level=1, code__startswith="330703").count() == 8
    heads = Assignment.objects.filter(role=Role.BUILDING_HEAD, grid__level=4)
    assert heads.values("grid").distinct().count() == 7349
    assert not Case.objects.exists()
    assert CategoryRoute.objects.filter(area__level=1).values("area").distinct().count() == 8
    assert CategoryRoute.objects.filter(area__isnull=True).exists()
