from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from gridgov.accounts.models import Role
from gridgov.core.testing import DepartmentFactory, admin_user, staff
from gridgov.engagement import services


@pytest.fixture
def world(district):
    """People at every level of the 2×2 street.

    Community 1 holds grids 1–2 (micro-grids 1–4); community 2 holds grids 3–4 (5–8).
    """
    d = district
    return SimpleNamespace(
        district=d,
        street=d.street,
        community_1=d.communities[0],
        grid_1=d.grids[0],
        grid_4=d.grids[3],
        leader=staff(Role.LEADER, d.street, name="街道领导"),
        community_dispatcher=staff(Role.DISPATCHER, d.communities[0], name="社区调度"),
        district_dispatcher=staff(Role.DISPATCHER, name="区指挥中心"),
        grid_leader=staff(Role.GRID_LEADER, d.grids[0], name="网格长甲"),
        worker_a=staff(Role.GRID_WORKER, d.grids[0], name="网格员甲"),
        worker_b=staff(Role.GRID_WORKER, d.grids[3], name="网格员乙"),
        head_1=staff(Role.BUILDING_HEAD, d.micro_grids[0], name="楼门长一"),
        head_3=staff(Role.BUILDING_HEAD, d.micro_grids[2], name="楼门长三"),
        head_8=staff(Role.BUILDING_HEAD, d.micro_grids[7], name="楼门长八"),
        resident_1=staff(Role.RESIDENT, d.micro_grids[0], name="居民一"),
        resident_7=staff(Role.RESIDENT, d.micro_grids[6], name="居民七"),
        resident_nowhere=staff(Role.RESIDENT, name="居民无网格"),
        handler=staff(Role.HANDLER, department=DepartmentFactory(area=d.communities[0]), name="环卫处置员"),
        admin=admin_user(name="管理员"),
    )


def people(world) -> dict[str, object]:
    User = get_user_model()
    return {name: user for name, user in vars(world).items() if isinstance(user, User)}


def publish(author, grid, audience="everyone", title="停水通知", requires_receipt=False, **fields):
    data = services.NoticeData(
        title=title,
        body="明天上午9点至12点停水，请提前储水。",
        grid_code=grid.code,
        audience=audience,
        requires_receipt=requires_receipt,
        **fields,
    )
    return services.publish(author, data)


@pytest.fixture
def registry(world):
    """Registry people around grid 1 (community 1), for notices with target rules.

    Building 1 stands in micro-grid 1 (head_1 is its building head): the resident_1 account
    lives there (matched by phone), a neighbour without an account, and a child without a phone.
    An elder living alone without an account is in micro-grid 2; a person under community
    correction (a sensitive tag) in micro-grid 1; a stranger in grid 4.
    """
    from gridgov.population import testing as people_

    micro = world.district.micro_grids
    building = people_.building(micro[0], "3幢")
    home = people_.household(in_building=building, head_name="王建国")
    other = people_.household(micro[1], head_name="李秀英")
    far = people_.household(micro[6], head_name="赵六")
    return SimpleNamespace(
        building=building,
        far_building=far.house.building,
        account=people_.person(home, "居民一", phone=world.resident_1.phone),
        neighbour=people_.person(home, "王建国", phone="13600000001"),
        child=people_.person(home, "王小明", phone="", id_number=""),
        elder=people_.person(other, "李秀英", phone="13600000002", tags=("elderly_alone",)),
        corrected=people_.person(other, "钱某", phone="13600000003", tags=("community_correction",)),
        stranger=people_.person(far, "赵六", phone="13600000004", tags=("elderly_alone",)),
    )


def publish_to(author, grid, **fields):
    """Publish with target rules through the service (tests of the HTTP API post instead)."""
    data = services.NoticeData(
        title=fields.pop("title", "独居老人关爱"),
        body="寒潮来临，请注意保暖，如有需要请联系网格员。",
        grid_code=grid.code,
        **fields,
    )
    return services.publish(author, data)
