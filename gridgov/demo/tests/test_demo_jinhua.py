import pytest
from django.core.management import call_command

from gridgov.accounts.models import Assignment, Role
from gridgov.grids.models import Grid


@pytest.mark.django_db(transaction=True)
def test_jinhua_profile_has_the_articles_counts_and_a_building_head_per_micro_grid():
    call_command("demo", profile="jinhua", verbosity=0)
    assert [Grid.objects.filter(level=n).count() for n in (1, 2, 3, 4)] == [8, 168, 300, 7349]
    assert Grid.objects.filter(level=1, code__startswith="330703").count() == 8
    heads = Assignment.objects.filter(role=Role.BUILDING_HEAD, grid__level=4)
    assert heads.values("grid").distinct().count() == 7349
