import io

import prcoords
import pytest
from openpyxl import Workbook

from gridgov.accounts.models import Role
from gridgov.core.testing import resident, staff
from gridgov.services.models import ServicePoint
from gridgov.services.tests.conftest import A, point

pytestmark = pytest.mark.django_db
NEAR = "/api/v1/services/points/near"
MONDAY_NOON = "2026-12-07T12:00:00+08:00"
MONDAY_EVENING = "2026-12-07T21:00:00+08:00"


def test_near_orders_by_walking_time_and_says_how(district, client_for):
    grid = district.micro_grids[0]
    far = point(grid, "远食堂", A[0] + 0.008, A[1])
    near = point(grid, "近食堂", A[0] + 0.001, A[1])
    point(grid, "诊所", A[0], A[1], kind="clinic")
    body = (
        client_for(resident(district.grids[0]))
        .get(NEAR, {"kind": "meal", "lat": A[0], "lon": A[1], "at": MONDAY_NOON})
        .json()
    )
    assert [r["point"]["id"] for r in body["results"]] == [near.pk, far.pk]
    assert (body["detour_factor"], body["walking_kmh"]) == (1.3, 4.5)
    first = body["results"][0]
    assert first["metres"] == pytest.approx(111.3, abs=1)
    assert first["walking_minutes"] == pytest.approx(first["metres"] / 1000 * 1.3 / 4.5 * 60, abs=0.1)


def test_near_is_rebuilt_when_a_point_changes(district, client_for):
    client = client_for(resident(district.grids[0]))
    query = {"kind": "meal", "lat": A[0], "lon": A[1]}
    assert client.get(NEAR, query).json()["results"] == []
    point(district.micro_grids[0], "新食堂", A[0], A[1] + 0.001)
    assert len(client.get(NEAR, query).json()["results"]) == 1
    ServicePoint.objects.update(is_active=False)
    ServicePoint.objects.first().save()  # the admin's save: the signal bumps the version
    assert client.get(NEAR, query).json()["results"] == []


def test_gcj02_input_is_stored_as_wgs84(district, client_for):
    leader = staff(Role.GRID_LEADER, district.grids[0])
    gcj = prcoords.wgs_gcj((A[0], A[1]))
    response = client_for(leader).post(
        "/api/v1/services/points",
        {
            "name": "幸福食堂",
            "kind": "meal",
            "lat": gcj.lat,
            "lon": gcj.lon,
            "crs": "gcj02",
            "hours": ["10:30-13:30"] * 7,
            "capacity_per_hour": 20,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    stored = ServicePoint.objects.get()
    assert (stored.lat, stored.lon) == (pytest.approx(A[0], abs=1e-5), pytest.approx(A[1], abs=1e-5))
    assert abs(gcj.lon - A[1]) > 0.003  # the offset was real
    assert stored.source_crs == "gcj02"
    assert response.json()["grid"]["code"].startswith(district.grids[0].code)


def test_per_field_400s_and_403(district, client_for):
    leader = client_for(staff(Role.GRID_LEADER, district.grids[0]))
    response = leader.post(
        "/api/v1/services/points",
        {
            "name": "",
            "kind": "spa",
            "lat": 95,
            "lon": 120.5,
            "hours": ["25:00-26:00"] * 7,
            "capacity_per_hour": 0,
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "kind", "lat", "hours", "capacity_per_hour"}
    outside = leader.post(
        "/api/v1/services/points",
        {"name": "外", "kind": "meal", "lat": 39.9, "lon": 116.4},
        content_type="application/json",
    )
    assert outside.status_code == 400 and "lat" in outside.json()["errors"]
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    refused = worker.post(
        "/api/v1/services/points",
        {"name": "食堂", "kind": "meal", "lat": A[0], "lon": A[1]},
        content_type="application/json",
    )
    assert refused.status_code == 403


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["名称", "类型", "经度", "纬度", "坐标系", "地址", "电话", "营业时间", "每小时接待量"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_excel_import_is_all_or_nothing_with_row_errors(district, client_for):
    client = client_for(staff(Role.GRID_LEADER, district.grids[0]))
    good = ["幸福食堂", "meal", A[1], A[0], "wgs84", "1幢", "0512-1234567", "10:30-13:30", 30]
    bad = ["", "spa", A[1], A[0], "", "", "", "99:00", ""]
    upload = io.BytesIO(_xlsx([good, bad]))
    upload.name = "points.xlsx"
    body = client.post("/api/v1/services/points/import", {"file": upload}).json()
    assert body["saved"] is False and body["total"] == 2
    assert {(e["row"], e["column"]) for e in body["errors"]} >= {(3, "名称"), (3, "类型"), (3, "营业时间")}
    assert all(e["row"] == 3 for e in body["errors"])
    assert ServicePoint.objects.count() == 0
    upload = io.BytesIO(_xlsx([good, ["社区诊所", "Clinic", A[1], A[0], "", "", "", "", ""]]))
    upload.name = "points.xlsx"
    body = client.post("/api/v1/services/points/import", {"file": upload}).json()
    assert body == {"total": 2, "saved": True, "errors": []}
    assert sorted(ServicePoint.objects.values_list("name", flat=True)) == ["幸福食堂", "社区诊所"]


def test_geojson_import(district, client_for):
    client = client_for(staff(Role.GRID_LEADER, district.grids[0]))
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [A[1], A[0]]},
        "properties": {"name": "便利店", "kind": "convenience"},
    }
    broken = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}, "properties": {}}
    body = client.post(
        "/api/v1/services/points/import-geojson",
        {"type": "FeatureCollection", "features": [feature, broken]},
        content_type="application/json",
    ).json()
    assert body["saved"] is False and body["errors"][0]["row"] == 2
    assert ServicePoint.objects.count() == 0
    body = client.post(
        "/api/v1/services/points/import-geojson",
        {"type": "FeatureCollection", "features": [feature]},
        content_type="application/json",
    ).json()
    assert body["saved"] is True and ServicePoint.objects.get().kind == "convenience"


def test_a_resident_rates_once_and_the_average_shows(district, client_for):
    shop = point(district.micro_grids[0], "食堂", *A)
    url = f"/api/v1/services/points/{shop.pk}/ratings"
    one, two = client_for(resident(district.grids[0])), client_for(resident(district.grids[0]))
    assert one.post(url, {"score": 5}, content_type="application/json").json()["ratings"] == 1
    assert one.post(url, {"score": 3}, content_type="application/json").json() == {
        "score": 3,
        "rating": 3.0,
        "ratings": 1,
    }
    assert two.post(url, {"score": 4}, content_type="application/json").json()["rating"] == 3.5
    assert one.post(url, {"score": 6}, content_type="application/json").status_code == 400
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    assert worker.post(url, {"score": 5}, content_type="application/json").status_code == 403


def test_the_excel_template_filled_in_imports(district, client_for):
    from openpyxl import load_workbook

    client = client_for(staff(Role.GRID_LEADER, district.grids[0]))
    response = client.get("/api/v1/services/points/template")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["名称", "类型", "经度", "纬度"]
    sheet.append(["幸福食堂", "助餐点/长者食堂", A[1], A[0], "", "1幢", "0512-1234567", "10:30-13:30", 30])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "points.xlsx"
    body = client.post("/api/v1/services/points/import", {"file": out}).json()
    assert body == {"total": 1, "saved": True, "errors": []}  # the example row is left out
    assert ServicePoint.objects.get().kind == "meal"
