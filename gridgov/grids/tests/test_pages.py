import json
import re

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import PASSWORD, admin_user, staff

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_by_default(client):
    response = client.get("/login/")
    assert "登录" in response.content.decode()


def test_english_on_request(client):
    client.post("/i18n/setlang/", {"language": "en"})
    assert "Log in" in client.get("/login/").content.decode()


def test_home_shows_my_role_and_area(district, client):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    client.post("/login/", {"username": worker.username, "password": PASSWORD})
    page = client.get("/").content.decode()
    assert "网格员" in page and district.grids[0].code in page
    assert district.grids[1].code not in page


def embedded(page: str, name: str):
    found = re.search(f'<script id="{name}" type="application/json">(.*?)</script>', page)
    return json.loads(found.group(1))


def test_map_page_opens_on_my_area_and_no_base_tiles_by_default(district, client_for):
    leader = staff(Role.LEADER, district.communities[1])
    client = client_for(leader)
    page = client.get("/grids/map/").content.decode()
    # community 2 is the street's right half: 120.52–120.54 E, 31.30–31.34 N
    assert embedded(page, "grid-bounds") == [[31.30, 120.52], [31.34, 120.54]]
    assert embedded(page, "grid-focus") is None
    assert "vendor/leaflet/leaflet.js" in page
    assert '<script id="tile-url" type="application/json">""</script>' in page
    mine = district.micro_grids[4]
    focus = embedded(client.get(f"/grids/map/?grid={mine.code}").content.decode(), "grid-focus")
    assert focus["code"] == mine.code
    theirs = district.micro_grids[0].code  # another community's: the map opens on my area instead
    assert embedded(client.get(f"/grids/map/?grid={theirs}").content.decode(), "grid-focus") is None


def test_pages_need_login(client):
    assert client.get("/grids/map/").status_code == 302


def test_admin_grid_list_is_scoped(district, client_for):
    leader = staff(Role.LEADER, district.communities[1], is_staff=True)
    page = client_for(leader).get("/admin/grids/grid/?level=3").content.decode()
    assert district.grids[2].code in page
    assert district.grids[0].code not in page
    assert client_for(leader).get(f"/admin/grids/grid/{district.grids[0].pk}/change/").status_code == 302


def test_admin_imports_a_geojson_file_and_reports_problems(db, client_for):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    from gridgov.core.testing import district_features, square
    from gridgov.grids.models import Grid

    features = district_features()
    features[2]["geometry"] = square(121.0, 31.0, 0.01)
    upload = SimpleUploadedFile("grids.geojson", json.dumps(
        {"type": "FeatureCollection", "features": features}).encode())
    client = client_for(admin_user())
    page = client.post("/admin/grids/grid/import/", {"file": upload}).content.decode()
    assert "未导入任何数据" in page and "第 3 个要素" in page
    assert not Grid.objects.exists()
    upload = SimpleUploadedFile("grids.geojson", json.dumps(
        {"type": "FeatureCollection", "features": district_features()}).encode())
    response = client.post("/admin/grids/grid/import/", {"file": upload})
    assert response.status_code == 302 and Grid.objects.count() == 15


def test_admin_user_list_masks_phones(district, client_for):
    staff(Role.GRID_WORKER, district.grids[0], phone="13912345678")
    page = client_for(admin_user()).get("/admin/accounts/user/").content.decode()
    assert "139****5678" in page and "13912345678" not in page


def test_admin_grid_form_shows_the_services_refusal_on_the_field(district, client_for):
    import json

    from gridgov.core.testing import square
    from gridgov.grids.models import Grid

    client = client_for(admin_user())
    form = {"code": f"{district.communities[0].code}003", "name": "重叠网格", "kind": "basic",
            "special_type": "", "households_estimate": 300, "management_grade": "B",
            "boundary": json.dumps(square(120.505, 31.305, 0.01)), "metadata": "{}",
            "assignments-TOTAL_FORMS": 0, "assignments-INITIAL_FORMS": 0}
    response = client.post("/admin/grids/grid/add/", form)
    assert response.status_code == 200
    assert "重叠" in response.content.decode()
    assert not Grid.objects.filter(code=form["code"]).exists()
    # The street is tiled; what may be added is a special-purpose grid, e.g. a dormitory.
    form.update(code=f"{district.communities[0].code}901", name="木桥公寓", kind="special",
                special_type="dormitory", boundary=json.dumps(square(120.50, 31.30, 0.001)))
    response = client.post("/admin/grids/grid/add/", form)
    assert response.status_code == 302
    assert Grid.objects.get(code=form["code"]).parent == district.communities[0]
