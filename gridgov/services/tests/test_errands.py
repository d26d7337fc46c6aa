from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Notification
from gridgov.core.testing import resident, staff
from gridgov.services import errands
from gridgov.services.models import Errand, ErrandItem, ErrandLog
from gridgov.services.tests.conftest import proxy_point

pytestmark = pytest.mark.django_db


def _act(client, errand_id, action, body=None):
    return client.post(
        f"/api/v1/services/errands/{errand_id}/actions/{action}", body or {}, content_type="application/json"
    )


def test_the_catalogue_is_seeded_across_levels(district, client_for):
    rows = client_for(resident(district.grids[0])).get("/api/v1/services/errand-items?limit=100").json()
    assert rows["count"] >= 30
    assert {r["level"] for r in rows["items"]} == {"village", "town", "district"}


def test_errand_lifecycle_with_illegal_steps_lights_and_rating(district, client_for):
    agent = staff(Role.GRID_WORKER, district.grids[0])
    point = proxy_point(district.grids[0], "社区代办点", agent)
    item = ErrandItem.objects.get(name="高龄津贴申领")
    person = resident(district.grids[0])
    asker, worker = client_for(person), client_for(agent)
    response = asker.post(
        "/api/v1/services/errands",
        {"proxy_point_id": point.pk, "item_id": item.pk, "kind": "proxy"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    errand_id = response.json()["id"]
    assert Notification.objects.filter(user=agent, kind="errand").count() == 1
    assert _act(worker, errand_id, "close", {"result": "办结"}).status_code == 409
    assert _act(asker, errand_id, "accept").status_code == 403
    accepted = _act(worker, errand_id, "accept").json()
    assert accepted["deadline"] and accepted["light"] == "green"
    missing = _act(worker, errand_id, "submit", {"materials": ["身份证"]})
    assert missing.status_code == 400 and "materials" in missing.json()["errors"]
    assert _act(worker, errand_id, "submit", {"materials": item.materials}).json()["state"] == "submitted"
    # Past the limit of 5 working days: red, and the agent is told once.
    later = timezone.now() + timedelta(days=30)
    assert errands.refresh_lights(later)["red"] == 1
    assert errands.refresh_lights(later) == {"yellow": 0, "red": 0}
    assert Errand.objects.get().light == "red"
    assert _act(worker, errand_id, "answer", {"answer": "民政审核通过"}).json()["state"] == "answered"
    assert _act(worker, errand_id, "close", {"result": "津贴已发放"}).json()["state"] == "done"
    assert _act(worker, errand_id, "confirm", {"rating": 5}).status_code == 403
    assert _act(asker, errand_id, "confirm", {"rating": 9}).status_code == 400
    assert _act(asker, errand_id, "confirm", {"rating": 5}).json()["rating"] == 5
    assert _act(asker, errand_id, "confirm", {"rating": 1}).status_code == 409  # rated once
    actions = list(
        ErrandLog.objects.filter(errand_id=errand_id).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["request", "accept", "submit", "overdue", "answer", "close", "confirm"]
    figures = worker.get("/api/v1/services/errands/figures").json()
    assert figures == [
        {"proxy_point_id": point.pk, "name": "社区代办点", "errands": 1, "completed": 1, "rate": 1.0}
    ]


def test_yellow_before_red(district):
    agent = staff(Role.GRID_WORKER, district.grids[0])
    point = proxy_point(district.grids[0], "代办点", agent)
    item = ErrandItem.objects.get(name="最低生活保障申请")  # 30 working days
    errand = errands.request(agent, point.pk, item.pk, "assist")
    errands.act(errand.pk, agent, "accept")
    errand.refresh_from_db()
    share_point = errand.started_at + (errand.deadline - errand.started_at) * 0.9
    counts = errands.refresh_lights(share_point)
    errand.refresh_from_db()
    assert errand.light in ("yellow", "red") and counts[errand.light] == 1
    assert errands.refresh_lights(errand.started_at + timedelta(minutes=1)) == {"yellow": 0, "red": 0}


def test_a_resident_asks_only_at_the_points_of_their_own_area(district, client_for):
    item = ErrandItem.objects.get(name="居住证明开具")
    own = proxy_point(district.communities[0], "社区1代办点")
    other = proxy_point(district.communities[1], "社区2代办点")
    client = client_for(resident(district.micro_grids[0]))

    def ask(point):
        body = {"proxy_point_id": point.pk, "item_id": item.pk, "kind": "accompany"}
        return client.post("/api/v1/services/errands", body, content_type="application/json")

    assert ask(other).status_code == 404
    assert ask(own).status_code == 201
    bad = client.post(
        "/api/v1/services/errands",
        {"proxy_point_id": own.pk, "item_id": 0, "kind": "x"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"item_id", "kind"}
    assert [e["proxy_point_id"] for e in client.get("/api/v1/services/errands").json()["items"]] == [own.pk]


def test_the_catalogue_imports_from_its_template_all_or_nothing(district, client_for):
    import io

    from openpyxl import load_workbook

    admin = client_for(staff(Role.ADMIN, None))
    book = load_workbook(io.BytesIO(admin.get("/api/v1/services/errand-items/template").content))
    sheet = book.active
    assert [c.value for c in sheet[1]][:2] == ["事项名称", "层级"]

    def upload(*rows):
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        out.seek(0)
        out.name = "items.xlsx"
        for _ in rows:
            sheet.delete_rows(sheet.max_row)
        return admin.post("/api/v1/services/errand-items/import", {"file": out}).json()

    before = ErrandItem.objects.count()
    changed = ["高龄津贴申领", "村（社区）级", "身份证；户口簿、银行卡", 5, "区民政局"]
    new = ["残疾人两项补贴申请", "town", "身份证\n残疾证", 15, "区残联"]
    bad = ["", "省级", "", 0, ""]
    refused = upload(changed, new, bad)
    assert refused["saved"] is False and {e["row"] for e in refused["errors"]} == {5}
    assert {e["column"] for e in refused["errors"]} >= {"事项名称", "层级", "审批部门"}
    assert ErrandItem.objects.count() == before
    assert upload(changed, new) == {"total": 2, "saved": True, "errors": []}
    assert ErrandItem.objects.count() == before + 1
    item = ErrandItem.objects.get(name="高龄津贴申领")
    assert item.time_limit_days == 5 and item.materials == ["身份证", "户口簿", "银行卡"]
    assert ErrandItem.objects.get(name="残疾人两项补贴申请").materials == ["身份证", "残疾证"]
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    out = io.BytesIO(admin.get("/api/v1/services/errand-items/template").content)
    out.name = "items.xlsx"
    assert worker.post("/api/v1/services/errand-items/import", {"file": out}).status_code == 403
