"""The public map and its GeoJSON feeds: no login, public categories only, privacy as Open311."""

import pytest
from django.test import Client

from gridgov.cases.models import Case, Category
from gridgov.open311.tests.conftest import POINT

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(world, report):
    Category.objects.filter(pk=world.category.pk).update(is_public=True)
    public = report(description="门口暴露垃圾，电话13812345678")
    hidden_category = (
        Category.objects.filter(kind="matter", children__isnull=True).exclude(pk=world.category.pk).first()
    )
    private = report(category_id=hidden_category.pk)
    return public, private


def test_the_reports_feed_has_public_reports_as_rounded_points(world, reported):
    public, _private = reported
    collection = Client().get("/public/reports.geojson").json()
    assert [f["properties"]["service_request_id"] for f in collection["features"]] == [public.number]
    feature = collection["features"][0]
    assert feature["geometry"]["coordinates"] == [round(POINT[1], 3), round(POINT[0], 3)]
    assert feature["properties"]["status"] == "open" and "description" not in feature["properties"]
    assert collection["truncated"] is False


def test_filters_by_bbox_dates_and_status(world, reported):
    inside = f"{POINT[1] - 0.01},{POINT[0] - 0.01},{POINT[1] + 0.01},{POINT[0] + 0.01}"
    assert len(Client().get("/public/reports.geojson", {"bbox": inside}).json()["features"]) == 1
    assert Client().get("/public/reports.geojson", {"bbox": "100,20,101,21"}).json()["features"] == []
    assert Client().get("/public/reports.geojson", {"status": "closed"}).json()["features"] == []
    assert Client().get("/public/reports.geojson", {"start": "2099-01-01"}).json()["features"] == []
    bad = Client().get("/public/reports.geojson", {"bbox": "1,2,3", "start": "soon", "status": "x"})
    assert bad.status_code == 400 and {e["description"].split(": ")[0] for e in bad.json()} == {
        "start",
        "status",
    }


def test_hidden_places_are_left_off_the_map(world, reported):
    Category.objects.filter(pk=world.category.pk).update(public_location="hidden")
    assert Client().get("/public/reports.geojson").json()["features"] == []


def test_the_grids_feed_has_outlines_and_names_but_no_buildings(world, reported):
    collection = Client().get("/public/grids.geojson").json()
    levels = {f["properties"]["level"] for f in collection["features"]}
    assert levels == {1, 2, 3} and set(collection["features"][0]["properties"]) == {"code", "name", "level"}
    far = Client().get("/public/grids.geojson", {"bbox": "100,20,101,21"}).json()
    assert far["features"] == []


def test_the_page_opens_without_login(world, reported):
    page = Client().get("/public/map/")
    assert page.status_code == 200 and 'id="public-map"' in page.content.decode()
    assert Case.objects.count() == 2
