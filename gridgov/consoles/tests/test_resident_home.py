"""A resident's home grid decides which notices reach them: from the registry or from where they live."""

import re

import pytest

from gridgov.accounts import otp, residence
from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.sms import MemoryBackend
from gridgov.cases.tests.conftest import POINT
from gridgov.engagement import services as notices
from gridgov.engagement.models import Notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sms_outbox")]
PHONE = "13912345678"


def log_in(phone: str = PHONE):
    otp.request_code(phone)
    return otp.verify(phone, re.search(r"\d{6}", MemoryBackend.outbox[-1][1]).group())


def water_cut(world, grid) -> Notice:
    data = notices.NoticeData(title="明日停水通知", body="明天 9:00–12:00 停水。", grid_code=grid.code,
                              audience=Notice.Audience.RESIDENTS)
    return notices.publish(world.community_dispatcher, data)


def test_a_phone_registered_in_one_grid_gives_the_home_grid_at_first_login(world):
    from gridgov.population import testing as registry

    home = registry.household(world.district.micro_grids[2])
    registry.person(home, name="张秀英", phone=PHONE)
    user = log_in()
    assert residence.home_grid(user) == world.district.micro_grids[2]


def test_a_phone_registered_in_two_grids_gives_none(world):
    from gridgov.population import testing as registry

    for micro in (world.district.micro_grids[0], world.district.micro_grids[5]):
        registry.person(registry.household(micro), phone=PHONE)
    assert residence.home_grid(log_in()) is None


def test_an_unknown_phone_has_no_home_and_sees_why(world, client_for):
    user = log_in()
    page = client_for(user).get("/resident/").content.decode()
    assert residence.home_grid(user) is None and 'id="no-home-grid"' in page


def test_at_home_the_position_names_the_grid_and_its_notices_appear(world, client_for):
    user = log_in()
    notice = water_cut(world, world.district.communities[0])
    client = client_for(user)
    response = client.post("/resident/home-grid/", {"lat": POINT[0], "lon": POINT[1], "crs": "wgs84"})
    assert response.url == "/resident/"
    home = residence.home_grid(user)
    assert home.level == 4 and home.code.startswith(world.grid.code)
    page = client.get("/resident/").content.decode()
    assert notice.title in page and world.district.communities[0].name in page
    assert Assignment.objects.filter(user=user, role=Role.RESIDENT).count() == 1


def test_a_notice_for_another_community_does_not_reach_them(world, client_for):
    user = log_in()
    residence.home_from_point(user, *POINT)
    notice = notices.publish(world.other_dispatcher, notices.NoticeData(
        title="二社区停电", body="检修", grid_code=world.district.communities[1].code,
        audience=Notice.Audience.RESIDENTS))
    assert notice.title not in client_for(user).get("/resident/").content.decode()


def test_a_point_outside_the_district_is_refused_and_nothing_changes(world, client_for):
    user = log_in()
    client = client_for(user)
    client.post("/resident/home-grid/", {"lat": "39.9", "lon": "116.4", "crs": "wgs84"})
    page = client.get("/resident/").content.decode()
    assert residence.home_grid(user) is None and "该位置在辖区之外" in page


def test_a_missing_position_is_a_clear_error(world, client_for):
    client = client_for(log_in())
    client.post("/resident/home-grid/", {"lat": "", "lon": ""})
    assert "请发送您的位置" in client.get("/resident/").content.decode()


def test_a_gcj02_position_is_converted_first(world):
    import prcoords

    user = log_in()
    gcj = prcoords.wgs_gcj(POINT)
    grid = residence.home_from_point(user, gcj.lat, gcj.lon, "gcj02")
    assert grid.code.startswith(world.grid.code)


def test_only_residents_have_a_home_grid(world, client_for):
    response = client_for(world.worker).post("/resident/home-grid/", {"lat": POINT[0], "lon": POINT[1]})
    assert response.status_code == 403
