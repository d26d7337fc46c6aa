"""The care file (一人一档) over HTTP: what it gathers, who sees it, who writes, scope, bad input."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.intake import Report, submit
from gridgov.cases.models import Category
from gridgov.core.testing import DepartmentFactory, admin_user, staff
from gridgov.population import testing as registry
from gridgov.population.models import (
    CareNote,
    CareService,
    CareTask,
    CaseConcern,
    Household,
    PersonTag,
    Visit,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def care_url(person, tail: str = "") -> str:
    return f"/api/v1/registry/care/{person.pk}{tail}"


def case_in(grid, reporter, channel="worker", **fields):
    category = Category.objects.get(code="06010", kind="matter")
    case, _created = submit(reporter, Report(channel=channel, category_id=category.pk,
                                             description="楼道灯坏了需要维修", grid_code=grid.code, **fields))
    return case


def _rows() -> dict:
    return {model.__name__: model.objects.count()
            for model in (CareNote, CareTask, CareService, CaseConcern)}


# --- reading -------------------------------------------------------------------------------------


def test_the_file_gathers_tags_household_visits_masked(town, client_for, django_assert_max_num_queries):
    PersonTag.objects.filter(person=town.elder, tag_type__code="elderly_alone").update(care_level="high")
    old = Visit.objects.create(household=town.home, grid=town.home.grid, worker=town.worker,
                               visited_on=TODAY() - timedelta(days=20), notes="上次走访")
    new = Visit.objects.create(household=town.home, grid=town.home.grid, worker=town.worker,
                               visited_on=TODAY() - timedelta(days=3), notes="老人身体尚好")
    Household.objects.filter(pk=town.home.pk).update(last_visited_on=new.visited_on)
    client = client_for(town.worker)
    with django_assert_max_num_queries(22):  # however long the file: no query per row
        response = client.get(care_url(town.elder))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["person"]["name"] == "李秀英"
    assert body["person"]["phone"].count("*") == 4 and town.elder.phone not in response.content.decode()
    assert town.elder.id_number not in response.content.decode()
    # The sensitive tag is not shown to a plain grid worker, nor does its level count.
    assert [t["tag"] for t in body["tags"]] == ["elderly_alone"] and body["care_level"] == "high"
    assert {m["name"] for m in body["household"]["members"]} == {"王建国", "李秀英"}
    assert body["household"]["address"] == str(town.home.house)
    assert [v["id"] for v in body["visits"]] == [new.pk, old.pk]  # latest first
    plan = body["visit_plan"]
    assert plan["interval_days"] == 7 and plan["due_on"] == str(new.visited_on + timedelta(days=7))
    assert not plan["overdue"] and body["may_write"]


def test_sensitive_tags_only_for_those_allowed_and_a_sensitive_only_file_is_a_404(town, client_for):
    police = client_for(town.police_worker).get(care_url(town.elder)).json()
    assert {t["tag"] for t in police["tags"]} == {"elderly_alone", "community_correction"}
    PersonTag.objects.filter(person=town.elder, tag_type__code="elderly_alone").delete()
    assert client_for(town.worker).get(care_url(town.elder)).status_code == 404
    assert client_for(town.police_worker).get(care_url(town.elder)).status_code == 200
    assert client_for(town.grid_leader).get(care_url(town.elder)).status_code == 200
    # The writes of a file the worker cannot see are 404s too, and write nothing.
    before = _rows()
    response = post(client_for(town.worker), care_url(town.elder, "/notes"), {"text": "看望"})
    assert response.status_code == 404 and _rows() == before


def test_no_file_without_a_tag_and_none_outside_the_registry_scope(town, client_for):
    assert client_for(town.worker).get(care_url(town.head)).status_code == 404  # no tag: no file
    registry.person(town.other_home, "孙大娘", tags=("elderly_alone",))
    stranger = town.other_home.members.get(name="孙大娘")
    assert client_for(town.worker).get(care_url(stranger)).status_code == 404  # grid B
    handler = staff(Role.HANDLER, department=DepartmentFactory(area=town.district.street))
    for outsider in (town.auditor, handler, town.resident, town.building_head):
        assert client_for(outsider).get(care_url(town.elder)).status_code == 404
    for reader in (town.dispatcher, town.leader, admin_user()):
        assert client_for(reader).get(care_url(town.elder)).status_code == 200


def test_cases_the_person_reported_or_that_concern_them_as_far_as_the_viewer_sees(town, client_for):
    by_phone = case_in(town.home.grid, town.dispatcher, channel="hotline", caller_phone=town.elder.phone)
    resident = staff(Role.RESIDENT, town.grid_a, phone=town.elder.phone)
    by_account = case_in(town.home.grid, resident, channel="resident")
    someone_else = case_in(town.home.grid, town.worker)
    far = case_in(town.grid_b, town.dispatcher, channel="hotline", caller_phone=town.elder.phone)
    CaseConcern.objects.create(person=town.elder, case=someone_else, grid=town.elder.grid,
                               added_by=town.worker)
    body = client_for(town.worker).get(care_url(town.elder)).json()
    assert {c["id"] for c in body["reported_cases"]} == {by_phone.pk, by_account.pk}  # not grid B's
    assert [c["id"] for c in body["concern_cases"]] == [someone_else.pk]
    leader = client_for(town.leader).get(care_url(town.elder)).json()
    assert {c["id"] for c in leader["reported_cases"]} == {by_phone.pk, by_account.pk, far.pk}


# --- writing -------------------------------------------------------------------------------------


def test_notes_tasks_and_services_are_written_by_those_who_keep_the_file(town, client_for):
    client = client_for(town.worker)
    note = post(client, care_url(town.elder, "/notes"), {"text": "  老人说腿脚不便  "})
    assert note.status_code == 201 and note.json()["text"] == "老人说腿脚不便"
    due = str(TODAY() + timedelta(days=3))
    task = post(client, care_url(town.elder, "/tasks"),
                {"title": "联系助餐点", "due_on": due, "assignee_id": town.grid_leader.pk})
    assert task.status_code == 201, task.content
    assert task.json()["assignee_id"] == town.grid_leader.pk and task.json()["done_at"] is None
    service = post(client, care_url(town.elder, "/services"),
                   {"kind": "meals", "served_on": str(TODAY()), "provider": "社区长者食堂"})
    assert service.status_code == 201 and service.json()["kind_label"] == "助餐服务"
    leader = post(client_for(town.leader), care_url(town.elder, "/notes"), {"text": "社区领导探望"})
    assert leader.status_code == 201
    body = client.get(care_url(town.elder)).json()
    assert [n["text"] for n in body["notes"]] == ["社区领导探望", "老人说腿脚不便"]
    assert [t["title"] for t in body["tasks"]] == ["联系助餐点"]
    assert [s["provider"] for s in body["services"]] == ["社区长者食堂"]
    row = CareTask.objects.get()
    assert row.grid == town.elder.grid and row.created_by == town.worker


def test_marking_a_task_done_once(town, client_for):
    client = client_for(town.worker)
    task = post(client, care_url(town.elder, "/tasks"), {"title": "上门量血压", "due_on": str(TODAY())})
    task = task.json()
    done = post(client, care_url(town.elder, f"/tasks/{task['id']}/done"), {"result": "血压正常"})
    assert done.status_code == 200 and done.json()["result"] == "血压正常" and done.json()["done_at"]
    again = post(client_for(town.grid_leader), care_url(town.elder, f"/tasks/{task['id']}/done"),
                 {"result": "再次"})
    assert again.status_code == 200 and again.json()["result"] == "血压正常"
    assert CareTask.objects.get().done_by == town.worker
    # A task of another person's file is not found through this one.
    other = registry.person(town.home, "王小红", tags=("disabled",))
    assert post(client, care_url(other, f"/tasks/{task['id']}/done"), {}).status_code == 404


def test_dispatchers_read_but_do_not_write_and_auditors_get_nothing(town, client_for):
    before = _rows()
    dispatcher = client_for(town.dispatcher)
    assert post(dispatcher, care_url(town.elder, "/notes"), {"text": "记录"}).status_code == 403
    assert post(dispatcher, care_url(town.elder, "/tasks"),
                {"title": "看望", "due_on": str(TODAY())}).status_code == 403
    assert post(client_for(town.auditor), care_url(town.elder, "/notes"), {"text": "记录"}).status_code == 404
    assert _rows() == before


def test_bad_input_is_a_400_per_field_and_nothing_is_saved(town, client_for):
    client = client_for(town.worker)
    before = _rows()
    blank = post(client, care_url(town.elder, "/notes"), {"text": "   "})
    assert blank.status_code == 400 and set(blank.json()["errors"]) == {"text"}
    other_grid_worker = staff(Role.GRID_WORKER, town.grid_b)
    task = post(client, care_url(town.elder, "/tasks"), {
        "title": " ", "due_on": str(TODAY() - timedelta(days=1)), "assignee_id": other_grid_worker.pk})
    assert task.status_code == 400
    assert set(task.json()["errors"]) == {"title", "due_on", "assignee_id"}
    assert "过去" in task.json()["errors"]["due_on"][0]
    service = post(client, care_url(town.elder, "/services"),
                   {"kind": "massage", "served_on": str(TODAY() + timedelta(days=1))})
    assert service.status_code == 400 and set(service.json()["errors"]) == {"kind", "served_on"}
    not_a_date = post(client, care_url(town.elder, "/tasks"), {"title": "看望", "due_on": 20261201})
    assert not_a_date.status_code == 400 and "due_on" in not_a_date.json()["errors"]
    assert _rows() == before


def test_linking_and_unlinking_a_case_that_concerns_the_person(town, client_for):
    client = client_for(town.worker)
    case = case_in(town.home.grid, town.worker)
    url = care_url(town.elder, "/concerns")
    first, second = post(client, url, {"case_id": case.pk}), post(client, url, {"case_id": case.pk})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["case"]["number"] == case.number and CaseConcern.objects.count() == 1
    hidden = case_in(town.grid_b, town.dispatcher, channel="hotline", caller_phone="13700001111")
    assert post(client, url, {"case_id": hidden.pk}).status_code == 404
    assert post(client_for(town.dispatcher), url, {"case_id": case.pk}).status_code == 403
    assert client.get(care_url(town.elder)).json()["concern_cases"][0]["id"] == case.pk
    assert client_for(town.dispatcher).delete(f"{url}/{case.pk}").status_code == 403
    assert client.delete(f"{url}/{case.pk}").status_code == 204
    assert client.delete(f"{url}/{case.pk}").status_code == 404
    assert CaseConcern.objects.count() == 0


def test_a_grid_worker_of_grid_a_reaches_nothing_of_grid_b(town, client_for):
    b_worker = staff(Role.GRID_WORKER, town.grid_b)
    person_b = registry.person(town.other_home, "孙大娘", tags=("elderly_alone",))
    task = CareTask.objects.create(person=person_b, grid=person_b.grid, title="看望", due_on=TODAY(),
                                   created_by=b_worker)
    case = case_in(town.grid_b, b_worker)
    CaseConcern.objects.create(person=person_b, case=case, grid=person_b.grid, added_by=b_worker)
    client = client_for(town.worker)
    before = _rows()
    requests = [
        ("get", care_url(person_b), None),
        ("post", care_url(person_b, "/notes"), {"text": "看望"}),
        ("post", care_url(person_b, "/tasks"), {"title": "看望", "due_on": str(TODAY())}),
        ("post", care_url(person_b, f"/tasks/{task.pk}/done"), {"result": "完成"}),
        ("post", care_url(person_b, "/services"), {"kind": "meals", "served_on": str(TODAY())}),
        ("post", care_url(person_b, "/concerns"), {"case_id": case.pk}),
        ("delete", care_url(person_b, f"/concerns/{case.pk}"), None),
    ]
    for verb, url, body in requests:
        response = post(client, url, body) if verb == "post" else getattr(client, verb)(url)
        assert response.status_code == 404, (url, response.content)
    assert _rows() == before and CareTask.objects.get().done_at is None
    # person_b was never visited: overdue for grid B's worker, absent from grid A's list.
    mine = client.get("/api/v1/registry/care/overdue").json()["items"]
    assert person_b.pk not in {i["person"]["id"] for i in mine}
    theirs = client_for(b_worker).get("/api/v1/registry/care/overdue").json()["items"]
    assert [i["person"]["id"] for i in theirs] == [person_b.pk]
