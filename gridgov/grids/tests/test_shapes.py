"""The grid map by viewport: only the grids in view, as deep as the zoom shows, in the viewer's area."""

import pytest
import shapely

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.grids import shapes

pytestmark = pytest.mark.django_db
WHOLE = "west=120.49&south=31.29&east=120.55&north=31.35"  # the test district and a margin


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [f["properties"]["code"] for f in response.json()["features"]]


def test_the_zoom_decides_how_deep_the_map_goes(district, client_for):
    client = client_for(staff(Role.LEADER, district.street))
    far = client.get(f"/api/v1/grids/shapes?{WHOLE}&zoom=11").json()
    assert far["level"] == 2 and not far["truncated"]
    assert sorted(f["properties"]["level"] for f in far["features"]) == [1, 2, 2]
    near = codes(client.get(f"/api/v1/grids/shapes?{WHOLE}&zoom=15"))
    assert len(near) == 15 and near[0] == district.street.code  # street first, micro-grids last


def test_only_the_grids_in_view_are_sent(district, client_for):
    client = client_for(staff(Role.LEADER, district.street))
    micro = district.micro_grids[0]
    lon, lat = micro.centroid_lon, micro.centroid_lat
    box = f"west={lon - 0.001}&south={lat - 0.001}&east={lon + 0.001}&north={lat + 0.001}"
    shown = codes(client.get(f"/api/v1/grids/shapes?{box}&zoom=16"))
    assert shown == [micro.code[: len(c)] for c in shown]  # the micro-grid and the grids it lies in
    assert shown[-1] == micro.code and len(shown) == 4


def test_a_viewer_sees_only_the_grids_of_their_area(district, client_for):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    shown = codes(client_for(worker).get(f"/api/v1/grids/shapes?{WHOLE}&zoom=16"))
    assert shown and all(code.startswith(district.grids[0].code) for code in shown)
    resident = staff(Role.RESIDENT, district.grids[0])
    assert codes(client_for(resident).get(f"/api/v1/grids/shapes?{WHOLE}&zoom=16")) == []


def test_too_many_in_view_leaves_the_deepest_level_out(district, client_for, monkeypatch):
    monkeypatch.setattr(shapes, "MAX_FEATURES", 10)
    client = client_for(staff(Role.LEADER, district.street))
    shown = client.get(f"/api/v1/grids/shapes?{WHOLE}&zoom=16").json()
    assert shown["truncated"] and shown["level"] == 3 and len(shown["features"]) == 7


def test_outlines_are_simplified_to_what_the_zoom_can_show():
    ring = shapely.Point(120.5, 31.3).buffer(0.01, quad_segs=64)  # 257 points around
    far, near = shapes.simplified(ring, 10), shapes.simplified(ring, 17)
    assert len(far.exterior.coords) < 40 < len(near.exterior.coords)
    half_a_pixel_at_10 = 0.5 * 360 / (256 * 2**10)  # degrees
    assert far.is_valid and far.hausdorff_distance(ring) <= half_a_pixel_at_10


def test_a_bad_box_is_a_400_naming_the_field(district, client_for):
    client = client_for(staff(Role.LEADER, district.street), language="en")
    wrong = client.get("/api/v1/grids/shapes?west=120.6&south=31.29&east=120.5&north=31.35&zoom=12")
    assert wrong.status_code == 400 and "east" in wrong.json()["errors"]
    assert client.get(f"/api/v1/grids/shapes?{WHOLE}&zoom=40").status_code == 400
    assert client.get("/api/v1/grids/shapes?zoom=12").status_code == 400
