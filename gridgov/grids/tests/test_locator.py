import prcoords
import pytest

from gridgov.core.testing import STREET, square
from gridgov.grids import locator
from gridgov.grids.models import Grid
from gridgov.grids.services import GridSpec, save_grid

pytestmark = pytest.mark.django_db

# Inside community 1, grid 2 (the lower half), micro-grid 1 (the left quarter).
INSIDE = (31.305, 120.505)


def test_deepest_grid_and_its_ancestors(district):
    index = locator.get_index()
    ref = index.locate(INSIDE[1], INSIDE[0])
    assert ref.code == f"{STREET}001002001"
    assert [a.code for a in index.ancestors(ref)] == [STREET, f"{STREET}001", f"{STREET}001002"]


def test_outside_every_grid_is_none_not_an_error(district):
    assert locator.get_index().locate(116.4, 39.9) is None


def test_batch_agrees_with_one_by_one(district):
    import numpy as np

    rng = np.random.default_rng(1)
    lons, lats = rng.uniform(120.49, 120.55, 500), rng.uniform(31.29, 31.35, 500)
    index = locator.get_index()
    single = [index.locate(x, y) for x, y in zip(lons, lats, strict=True)]
    assert index.locate_many(lons, lats) == single
    assert any(r is None for r in single) and any(r is not None for r in single)


def test_gcj02_and_bd09_points_are_converted_to_wgs84():
    lat, lon = INSIDE
    gcj = prcoords.wgs_gcj((lat, lon))
    back = locator.to_wgs84(gcj.lat, gcj.lon, locator.CRS.GCJ02)
    assert back == pytest.approx((lat, lon), abs=1e-6)
    bd = prcoords.wgs_bd((lat, lon))
    back = locator.to_wgs84(bd.lat, bd.lon, locator.CRS.BD09)
    assert back == pytest.approx((lat, lon), abs=1e-5)


def test_index_rebuilds_when_another_process_changes_grids(district):
    before = locator.get_index()
    assert before.locate(120.505, 31.305).code == f"{STREET}001002001"
    # Simulate another process: write through the service, then forget our local hint.
    save_grid(GridSpec(code=f"{STREET}001002001", name="改名微网格",
                       boundary=square(120.50, 31.30, 0.01)))
    locator.invalidate()
    after = locator.get_index()
    assert after is not before
    assert after.locate(120.505, 31.305).name == "改名微网格"


def test_special_grids_are_listed_beside_the_basic_grid(district):
    save_grid(GridSpec(code=f"{STREET}001901", name="木桥公寓", boundary=square(120.504, 31.304, 0.002),
                       kind=Grid.Kind.SPECIAL, special_type=Grid.SpecialType.DORMITORY))
    index = locator.get_index()
    assert index.locate(120.505, 31.305).kind == Grid.Kind.BASIC
    assert [s.name for s in index.special_at(120.505, 31.305)] == ["木桥公寓"]
