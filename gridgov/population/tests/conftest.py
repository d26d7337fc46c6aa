from types import SimpleNamespace

import pytest

from gridgov.accounts.models import Assignment, Post, Role
from gridgov.core.testing import staff
from gridgov.population import testing as registry


@pytest.fixture
def town(district):
    """Grid A (community 1, grid 1) with a building, a household of two and a tagged elder."""
    grid_a, grid_b = district.grids[0], district.grids[3]
    home = registry.household(district.micro_grids[0])
    head = registry.person(home, "王建国", id_number="11010519491231002X", phone="13812345678")
    elder = registry.person(home, "李秀英", relation="52", tags=("elderly_alone", "community_correction"))
    other_home = registry.household(district.micro_grids[6], head_name="赵六")
    stranger = registry.person(other_home, "赵六")
    police = staff(Role.GRID_WORKER, grid_a)
    Assignment.objects.filter(user=police).update(post=Post.POLICE_OFFICER)
    return SimpleNamespace(
        district=district,
        grid_a=grid_a,
        grid_b=grid_b,
        home=home,
        head=head,
        elder=elder,
        other_home=other_home,
        stranger=stranger,
        worker=staff(Role.GRID_WORKER, grid_a),
        police_worker=police,
        grid_leader=staff(Role.GRID_LEADER, grid_a),
        leader=staff(Role.LEADER, district.street),
        dispatcher=staff(Role.DISPATCHER, district.street),
        auditor=staff(Role.AUDITOR),
        resident=staff(Role.RESIDENT, grid_a),
        building_head=staff(Role.BUILDING_HEAD, district.micro_grids[0]),
    )
