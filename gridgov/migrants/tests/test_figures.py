"""The migrants' figures per area: registered against the estimate, permits due and overdue, beds
occupied, rental inspections on time; on the API and on the leaders' dashboard."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.migrants import dormitories, rentals
from gridgov.migrants.models import Inspection, MigrantEstimate
from gridgov.migrants.tests.conftest import worker
from gridgov.population import testing as registry
from gridgov.population.models import House

pytestmark = pytest.mark.django_db
ALL_PASS = {"fire_safety": "pass", "overcrowding": "pass", "tenants_registered": "pass"}


def test_figures_per_area(site_a, district, client_for):
    today = timezone.localdate()
    # Community 1: three dormitory workers (two in beds), one migrant overdue for a permit, a rental
    # inspected late and one inspected on time, an estimate of 10 migrants.
    for name in ("甲", "乙", "丙"):
        worker(site_a, name, arrived_on=today - timedelta(days=30))
    dormitories.assign_waiting(site_a.manager, site_a.dormitory, limit=2)
    home = registry.household(district.micro_grids[0], house_number="901")
    registry.person(home, "逾期者", is_migrant=True, arrived_on=today - timedelta(days=400))
    keeper = staff(Role.GRID_WORKER, district.grids[0])
    late = rentals.register(keeper, home.house, first_due_on=today - timedelta(days=10))
    rentals.inspect(keeper, late, results=ALL_PASS, tenants_found=1)
    other = registry.household(district.micro_grids[1], house_number="902")
    on_time = rentals.register(keeper, other.house)
    rentals.inspect(keeper, on_time, results=ALL_PASS, tenants_found=0)
    MigrantEstimate.objects.create(grid=district.grids[0], estimated=6)
    MigrantEstimate.objects.create(grid=site_a.grid, estimated=4)
    leader = staff(Role.LEADER, district.street)
    rows = client_for(leader).get("/api/v1/migrants/figures").json()
    one, two = rows
    assert one["grid"]["code"] == district.communities[0].code
    assert one["migrants"] == 4 and one["estimated"] == 10 and one["registered_share"] == 0.4
    assert one["permits_due"] == 1 and one["permits_overdue"] == 1
    assert one["beds"] == 8 and one["beds_occupied"] == 2
    assert one["rentals"] == 2 and one["inspections"] == 2 and one["inspections_on_time"] == 1
    assert one["on_time_share"] == 0.5 and one["rentals_overdue"] == 0
    assert two["migrants"] == 0 and two["estimated"] is None and two["registered_share"] is None
    assert Inspection.objects.filter(on_time=False).count() == 1
    # The community's own grids, one level down.
    grids = client_for(leader).get(f"/api/v1/migrants/figures?grid={district.communities[0].code}").json()
    by_code = {r["grid"]["code"]: r for r in grids}
    assert by_code[site_a.grid.code]["beds_occupied"] == 2 and by_code[site_a.grid.code]["migrants"] == 3
    assert by_code[district.grids[0].code]["migrants"] == 1


def test_the_dashboard_shows_the_section_to_leaders(site_a, district, client_for):
    worker(site_a, "甲")
    House.objects.update(use=House.Use.RENTED)
    page = client_for(staff(Role.LEADER, district.street)).get("/analytics/").content.decode()
    assert 'id="migrant-figures"' in page and 'data-figure="migrants">1<' in page
    dispatcher_elsewhere = staff(Role.DISPATCHER, district.communities[1])
    other = client_for(dispatcher_elsewhere).get("/analytics/").content.decode()
    assert 'id="migrant-figures"' not in other  # no migrants, beds or rentals in community 2
