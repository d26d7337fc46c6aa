from types import SimpleNamespace

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import resident, staff


@pytest.fixture
def town(district):
    grid_a, grid_b = district.grids[0], district.grids[3]
    return SimpleNamespace(
        district=district,
        grid_a=grid_a,
        grid_b=grid_b,
        resident=resident(grid_a, name="陈居民"),
        neighbour=resident(grid_a, name="林邻居"),
        far=resident(grid_b, name="远方"),
        worker=staff(Role.GRID_WORKER, grid_a, name="张网格"),
        worker_b=staff(Role.GRID_WORKER, grid_b, name="赵网格"),
        leader=staff(Role.LEADER, district.communities[0], name="王书记"),
    )
