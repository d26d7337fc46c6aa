import json

import prcoords
import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import STREET, admin_user, district_features, square, staff

pytestmark = pytest.mark.django_db


def test_tree_shows_a_grid_worker_only_their_grid(district, client_for):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    response = client_for(worker).get("/api/v1/grids/tree?depth=3")
    assert response.status_code == 200
    tree = response.json()
    assert [n["code"] for n in tree] == [district.grids[0].code]
    assert [c["code"] for c in tree[0]["children"]] == [
        f"{district.grids[0].code}001", f"{district.grids[0].code}002"]


def test_tree_for_a_community_leader_and_for_the_admin(district, client_for):
    leader = staff(Role.LEADER, district.communities[1])
    tree = client_for(leader).get("/api/v1/grids/tree?depth=1").json()
    assert [n["code"] for n in tree] == [district.communities[1].code]
    assert len(tree[0]["children"]) == 2 and tree[0]["children"][0]["children"] == []
    full = client_for(admin_user()).get("/api/v1/grids/tree?depth=3").json()
    assert [n["code"] for n in full] == [STREET]
    assert sum(1 for c in full[0]["children"] for _g in c["children"]) == 4


def test_detail_lists_staff_with_masked_phones(district, client_for):
    grid = district.grids[0]
    worker = staff(Role.GRID_WORKER, grid, name="王小明", phone="13912345678")
    body = client_for(worker).get(f"/api/v1/grids/{grid.code}").json()
    assert body["code"] == grid.code and body["level"] == 3
    assert [a["code"] for a in body["ancestors"]] == [STREET, district.communities[0].code]
    assert body["staff"][0]["name"] == "王小明"
    assert body["staff"][0]["phone"] == "139****5678"
    assert "13912345678" not in json.dumps(body)


def test_geojson_of_a_subtree(district, client_for):
    leader = staff(Role.LEADER, district.communities[0])
    body = client_for(leader).get(f"/api/v1/grids/{district.communities[0].code}/geojson?depth=2").json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 7
    assert {f["geometry"]["type"] for f in body["features"]} == {"Polygon"}


def test_locate_returns_grid_and_ancestors(district, client_for):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    body = client_for(worker).get("/api/v1/locate?lat=31.305&lon=120.505").json()
    assert body["inside"] is True
    assert body["grid"]["code"] == f"{STREET}001002001"
    assert [a["level"] for a in body["ancestors"]] == [1, 2, 3]


def test_locate_converts_gcj02_from_amap_or_wechat(district, client_for):
    gcj = prcoords.wgs_gcj((31.305, 120.505))
    body = client_for(admin_user()).get(
        f"/api/v1/locate?lat={gcj.lat}&lon={gcj.lon}&crs=gcj02").json()
    assert body["grid"]["code"] == f"{STREET}001002001"
    assert body["lat"] == pytest.approx(31.305, abs=1e-6)


def test_locate_outside_the_district_is_a_clear_answer(district, client_for):
    body = client_for(admin_user()).get("/api/v1/locate?lat=39.9&lon=116.4").json()
    assert body["inside"] is False and body["grid"] is None
    assert "辖区之外" in body["message"] and "东城区" in body["message"]
    assert body["county"] == {"code": "110101", "name": "东城区"}


def test_locate_batch(district, client_for):
    points = [{"lat": 31.305, "lon": 120.505}, {"lat": 39.9, "lon": 116.4},
              {"lat": 31.335, "lon": 120.535, "crs": "wgs84"}]
    response = client_for(admin_user()).post("/api/v1/locate", {"points": points},
                                             content_type="application/json")
    assert [r["inside"] for r in response.json()] == [True, False, True]


def test_bad_input_is_a_400_with_per_field_messages_in_chinese(district, client_for):
    response = client_for(admin_user()).get("/api/v1/locate?lat=abc")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["lat"] == ["请输入数字。"]
    assert body["errors"]["lon"] == ["此项必填。"]


def test_errors_follow_the_users_language(district, client_for):
    response = client_for(admin_user(), language="en").get("/api/v1/locate?lon=1")
    assert response.json()["errors"]["lat"] == ["This field is required."]


def test_import_over_the_api_is_admin_only_and_all_or_nothing(db, client_for):
    features = district_features()
    features[4]["geometry"] = square(121.0, 31.0, 0.01)
    collection = {"type": "FeatureCollection", "features": features}
    admin = client_for(admin_user())
    response = admin.post("/api/v1/grids/import", collection, content_type="application/json")
    assert response.status_code == 400
    assert "features[4]" in response.json()["errors"]
    assert "超出上级网格" in response.json()["errors"]["features[4]"][0]
    features[4]["geometry"] = district_features()[4]["geometry"]
    response = admin.post("/api/v1/grids/import?dry_run=true", collection,
                          content_type="application/json")
    assert response.json() == {"total": 15, "created": 0, "updated": 0, "dry_run": True}
    response = admin.post("/api/v1/grids/import", collection, content_type="application/json")
    assert response.json()["created"] == 15


def test_import_refused_to_a_leader(district, client_for):
    leader = staff(Role.LEADER, district.street)
    response = client_for(leader).post("/api/v1/grids/import", {"type": "FeatureCollection",
                                       "features": []}, content_type="application/json")
    assert response.status_code == 403


def test_token_auth_for_clients(district, client):
    from gridgov.core.testing import PASSWORD

    worker = staff(Role.GRID_WORKER, district.grids[0])
    response = client.post("/api/v1/auth/token", {"username": worker.username,
                           "password": PASSWORD, "name": "phone"}, content_type="application/json")
    token = response.json()["token"]
    response = client.get("/api/v1/grids/tree", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [n["code"] for n in response.json()] == [district.grids[0].code]
    assert client.get("/api/v1/grids/tree", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    bad = client.post("/api/v1/auth/token", {"username": worker.username, "password": "x"},
                      content_type="application/json")
    assert bad.status_code == 403


def test_anonymous_requests_are_refused(district, client):
    assert client.get(f"/api/v1/grids/{STREET}").status_code == 401
    assert client.get("/api/v1/locate?lat=31.3&lon=120.5").status_code == 401


def test_openapi_and_docs_are_served(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/grids/{code}" in schema["paths"]
    assert client.get("/api/docs").status_code in (200, 302)
