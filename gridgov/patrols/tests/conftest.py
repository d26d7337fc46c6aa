from datetime import timedelta
from types import SimpleNamespace

import pytest

from gridgov.accounts.models import Assignment, Role
from gridgov.core.testing import DepartmentFactory, staff


@pytest.fixture
def crew(district):
    """Grid A (community 1, grid 1) and grid B (community 2, grid 2) with the people around them."""
    grid_a, grid_b = district.grids[0], district.grids[3]
    two_grids = staff(Role.GRID_WORKER, grid_a)
    Assignment.objects.create(user=two_grids, role=Role.GRID_WORKER, grid=district.grids[1])
    return SimpleNamespace(
        district=district,
        grid_a=grid_a,
        grid_b=grid_b,
        worker=staff(Role.GRID_WORKER, grid_a, name="张网格"),
        colleague=staff(Role.GRID_WORKER, grid_a, name="陈同事"),
        worker_b=staff(Role.GRID_WORKER, grid_b, name="赵乙"),
        two_grids=two_grids,
        grid_leader=staff(Role.GRID_LEADER, grid_a, name="李组长"),
        building_head=staff(Role.BUILDING_HEAD, district.micro_grids[0]),
        leader=staff(Role.LEADER, district.street, name="王书记"),
        dispatcher=staff(Role.DISPATCHER),
        handler=staff(Role.HANDLER, department=DepartmentFactory(area=district.street)),
        resident=staff(Role.RESIDENT, grid_a),
    )


def walk(
    patrol,
    count: int = 3,
    *,
    every_s: int = 10,
    step_deg: float = 0.0001,
    crs: str = "wgs84",
    lat: float = 31.335,
    lon: float = 120.505,
    offset_s: int = 1,
) -> list[dict]:
    """Points northwards from inside grid A, `every_s` seconds and about 11 m (0.0001°) apart."""
    start = patrol.started_at + timedelta(seconds=offset_s)
    return [
        {
            "at": start + timedelta(seconds=i * every_s),
            "lat": lat + i * step_deg,
            "lon": lon,
            "crs": crs,
            "accuracy": 8.0,
        }
        for i in range(count)
    ]
