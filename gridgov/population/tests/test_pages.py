"""Registry pages: people search, the building 民情图 with its survey, visits due."""

import pytest
from django.utils import timezone

from gridgov.population.models import BuildingSurvey, Visit

pytestmark = pytest.mark.django_db


def test_people_page_is_scoped_masked_and_searchable(town, client_for):
    client = client_for(town.worker)
    page = client.get("/registry/").content.decode()
    assert "王建国" in page and "赵六" not in page and "110105********002X" in page
    assert "11010519491231002X" not in page
    found = client.get("/registry/", {"q": "11010519491231002X"}).content.decode()
    assert "王建国" in found and "李秀英" not in found


def test_the_building_page_shows_households_and_tags_but_not_sensitive_ones(town, client_for):
    page = client_for(town.worker).get(f"/registry/buildings/{town.home.house.building_id}/").content.decode()
    assert "王建国" in page and "独居老人" in page and "社区矫正" not in page
    assert "户数" in page  # the 10+X survey table
    other = client_for(town.worker).get(f"/registry/buildings/{town.other_home.house.building_id}/")
    assert other.status_code == 403


def test_the_building_head_confirms_from_the_page_without_seeing_households(town, client_for):
    client = client_for(town.building_head)
    building = town.home.house.building
    page = client.get(f"/registry/buildings/{building.pk}/").content.decode()
    assert "王建国" not in page and "户数" in page
    response = client.post(f"/registry/buildings/{building.pk}/survey/confirm/", {"note": "核对无误"})
    assert response.status_code == 302
    assert BuildingSurvey.objects.get().figures["actual"] == 2


def test_a_visit_recorded_from_the_due_list(town, client_for):
    client = client_for(town.worker)
    assert "王建国" in client.get("/registry/visits/").content.decode()
    response = client.post(f"/registry/visits/{town.home.pk}/", {"visited_on": str(timezone.localdate()),
                                                                 "notes": "入户走访，老人身体好"})
    assert response.status_code == 302
    assert Visit.objects.get().worker == town.worker
    assert client.post(f"/registry/visits/{town.other_home.pk}/", {"notes": "x"}).status_code == 404


def test_a_leader_sees_coverage_per_grid(town, client_for):
    page = client_for(town.leader).get("/registry/visits/").content.decode()
    assert town.district.micro_grids[0].code in page and town.district.micro_grids[6].code in page
