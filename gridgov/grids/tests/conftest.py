from types import SimpleNamespace

import pytest

from gridgov.accounts.models import Post, Role
from gridgov.core.testing import staff


def holding(post: str, role: str, grid, **user_fields):
    """A staff member of a grid holding one of its seven posts."""
    user = staff(role, grid, **user_fields)
    user.assignments.update(post=post)
    return user


@pytest.fixture
def crew(district):
    """Grid A (社区1网格1) with its leader, police officer and city-management supervisor, a plain
    grid worker and a resident; the other four posts vacant. Grid B has only a worker."""
    grid = district.grids[0]
    return SimpleNamespace(
        grid=grid, b=district.grids[3],
        leader=holding(Post.MANAGER, Role.GRID_LEADER, grid, name="王网格长", phone="13900000001"),
        police=holding(Post.POLICE_OFFICER, Role.GRID_WORKER, grid, name="李警官", phone="13900000002"),
        supervisor=holding(Post.SUPERVISOR, Role.GRID_WORKER, grid, name="赵城管", phone="13900000003"),
        worker=staff(Role.GRID_WORKER, grid, name="钱网格员", phone="13900000004"),
        resident=staff(Role.RESIDENT, grid, name="孙居民", phone="13900000005"),
        b_worker=staff(Role.GRID_WORKER, district.grids[3], name="周网格员"),
    )


@pytest.fixture
def font():
    """The notice board embeds a Chinese font; without one installed there is nothing to test."""
    from gridgov.core.pdf import ReportUnavailable, font_path

    try:
        font_path()
    except ReportUnavailable:
        pytest.skip("no Chinese font on this machine (./dev.sh test installs fonts-wqy-microhei)")
