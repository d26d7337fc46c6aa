"""The parts of the loop beside the states: leader instructions (批示), copies (抄送), joint
handling (协办), call-backs (回访) and reopening (重办), components (部件), recurrences and
escalation that keeps climbing. All through the HTTP API, as the people who use them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.lights import refresh_lights
from gridgov.cases.models import Case, CaseLog, Category, Notification
from gridgov.cases.tests.test_time_limits import age, natural
from gridgov.cases.tests.test_workflow import bring
from gridgov.cases.workflow import Params, act
from gridgov.core.testing import DepartmentFactory, staff

pytestmark = pytest.mark.django_db
S = Case.State


def post_action(client, case, action, **data):
    return client.post(f"/api/v1/cases/{case.pk}/actions/{action}", data=data)


def detail(client, case):
    response = client.get(f"/api/v1/cases/{case.pk}")
    assert response.status_code == 200, response.content
    return response.json()


# --- leader instructions -----------------------------------------------------------------

def test_a_leaders_instruction_comes_first_and_its_answer_is_recorded(world, report, client_for):
    quiet = bring(world, report, S.ACCEPTED)
    case = bring(world, report, S.ACCEPTED)
    Case.objects.filter(pk=quiet.pk).update(deadline=case.deadline - timedelta(hours=1))
    until = (timezone.now() + timedelta(days=1)).isoformat()
    leader = client_for(world.leader)
    response = post_action(leader, case, "instruct", note="群众反映强烈，今天务必处理完毕", until=until)
    assert response.status_code == 200, response.content
    assert Notification.objects.filter(user=world.handler, case=case, kind="instruct").exists()

    from gridgov.consoles import queues
    assert [c.pk for c in queues.handler_queue(world.handler)][:1] == [case.pk]
    page = client_for(world.handler).get("/console/handler/").content.decode()
    assert "今天务必处理完毕" in page

    handler = client_for(world.handler)
    [instruction] = detail(handler, case)["instructions"]
    assert instruction["text"] == "群众反映强烈，今天务必处理完毕" and instruction["responded_at"] is None
    assert post_action(handler, case, "answer_instruction", note="已安排两台车今天清运").status_code == 200
    [instruction] = detail(handler, case)["instructions"]
    assert instruction["response"] == "已安排两台车今天清运" and instruction["responded_by"]
    assert Notification.objects.filter(user=world.leader, case=case, kind="answer_instruction").exists()
    # Nothing left to answer: the step is not possible now.
    assert post_action(handler, case, "answer_instruction", note="再答一次").status_code == 409


def test_only_leaders_instruct_and_an_instruction_needs_words(world, report, client_for):
    case = bring(world, report, S.DISPATCHED)
    assert post_action(client_for(world.worker), case, "instruct", note="快点处理").status_code == 403
    assert post_action(client_for(world.handler), case, "instruct", note="快点处理").status_code == 403
    response = post_action(client_for(world.leader), case, "instruct", note=" ")
    assert response.status_code == 400 and "note" in response.json()["errors"]
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = post_action(client_for(world.leader), case, "instruct", note="请处理", until=past)
    assert response.status_code == 400 and "until" in response.json()["errors"]
    assert not case.instructions.exists()


# --- copies ------------------------------------------------------------------------------

def test_a_copy_lets_others_read_and_comment_but_not_act(world, report, client_for):
    case = bring(world, report, S.DISPATCHED)
    police = client_for(world.other_handler)
    assert police.get(f"/api/v1/cases/{case.pk}").status_code == 404
    street_leader = staff(Role.LEADER, world.district.street)
    response = post_action(client_for(world.dispatcher), case, "copy",
                           department_ids=[world.police.pk], user_ids=[street_leader.pk])
    assert response.status_code == 200, response.content
    assert {c["to"] for c in detail(police, case)["copies"]} == {world.police.name, str(street_leader)}
    listed = police.get("/api/v1/cases?copied=true").json()["items"]
    assert [c["id"] for c in listed] == [case.pk]
    assert Notification.objects.filter(user=world.other_handler, case=case, kind="copy").exists()
    assert Notification.objects.filter(user=street_leader, case=case, kind="copy").exists()

    assert post_action(police, case, "comment", note="该处下周有管网施工，可一并处理").status_code == 200
    assert CaseLog.objects.filter(case=case, action="comment", actor=world.other_handler).exists()
    assert post_action(police, case, "accept").status_code == 403
    assert [a["name"] for a in detail(police, case)["actions"]] == ["comment"]
    assert Case.objects.get(pk=case.pk).state == S.DISPATCHED


def test_a_copy_goes_to_staff_and_active_departments_only(world, report, client_for):
    case = bring(world, report, S.REGISTERED)
    dispatcher = client_for(world.dispatcher)
    response = post_action(dispatcher, case, "copy", user_ids=[world.resident.pk])
    assert response.status_code == 400 and "user_ids" in response.json()["errors"]
    closed = DepartmentFactory(name="已撤销的科室", is_active=False)
    response = post_action(dispatcher, case, "copy", department_ids=[closed.pk])
    assert response.status_code == 400 and "department_ids" in response.json()["errors"]
    response = post_action(dispatcher, case, "copy")
    assert response.status_code == 400 and "department_ids" in response.json()["errors"]
    assert not case.copies.exists()
    assert post_action(client_for(world.worker), case, "copy",
                       department_ids=[world.police.pk]).status_code == 403


# --- joint handling ----------------------------------------------------------------------

def test_the_lead_reports_only_when_the_assisting_parts_are_done(world, report, client_for):
    case = bring(world, report, S.ACCEPTED)
    dispatcher, police = client_for(world.dispatcher), client_for(world.other_handler)
    response = post_action(dispatcher, case, "assign_assist", department_id=world.police.pk,
                           note="维持现场秩序，配合清运")
    assert response.status_code == 200, response.content
    [task] = detail(police, case)["assist_tasks"]
    assert task["department"] == world.police.name and task["done_at"] is None
    assert task["due_at"] is not None  # the lead's handling deadline by default

    lead = client_for(world.handler)
    response = post_action(lead, case, "report_result", note="已清理完毕")
    assert response.status_code == 400 and world.police.name in response.json()["errors"]["note"][0]
    assert Case.objects.get(pk=case.pk).state == S.ACCEPTED
    # The assisting handler does only its part.
    assert post_action(police, case, "report_result", note="已清理完毕").status_code == 403
    assert post_action(police, case, "report_part", note="已派两名民警维持秩序").status_code == 200
    assert post_action(police, case, "report_part", note="再报一次").status_code == 403
    assert post_action(lead, case, "report_result", note="已清理完毕").status_code == 200
    assert Case.objects.get(pk=case.pk).state == S.HANDLED


def test_assisting_needs_another_department_and_not_twice(world, report, client_for):
    case = bring(world, report, S.DISPATCHED)
    dispatcher = client_for(world.dispatcher)
    response = post_action(dispatcher, case, "assign_assist", department_id=world.sanitation.pk, note="协助")
    assert response.status_code == 400 and "department_id" in response.json()["errors"]
    assert post_action(dispatcher, case, "assign_assist", department_id=world.police.pk,
                       note="协助").status_code == 200
    response = post_action(dispatcher, case, "assign_assist", department_id=world.police.pk, note="协助")
    assert response.status_code == 400
    assert case.assist_tasks.count() == 1
    page = client_for(world.other_handler).get("/console/handler/").content.decode()
    assert case.number in page


# --- call-back and reopening ---------------------------------------------------------------

def test_an_unsatisfied_call_back_reopens_the_case_for_the_same_department(world, report, client_for):
    case = bring(world, report, S.CLOSED)
    dispatcher = client_for(world.dispatcher)
    assert post_action(dispatcher, case, "reopen", note="群众不满意").status_code == 409
    response = post_action(dispatcher, case, "call_back", callback="unreachable")
    assert response.status_code == 200
    response = post_action(dispatcher, case, "call_back", callback="unsatisfied", note="垃圾又堆起来了")
    assert response.status_code == 200
    assert detail(dispatcher, case)["callback_result"] == "unsatisfied"
    assert post_action(dispatcher, case, "call_back", callback="satisfied").status_code == 409

    response = post_action(dispatcher, case, "reopen", note="回访不满意，重办")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert (case.state, case.department, case.reopen_count, case.rework_count) == (
        S.DISPATCHED, world.sanitation, 1, 1)
    assert case.closed_at is None and case.handle_deadline > timezone.now()
    assert Notification.objects.filter(user=world.handler, case=case, kind="reopen").exists()


def test_reopening_has_a_window_and_needs_dissatisfaction(world, report, client_for, settings):
    settings.GRIDGOV_REOPEN_WINDOW_DAYS = 15
    dispatcher = client_for(world.dispatcher)
    happy = bring(world, report, S.CLOSED)
    post_action(dispatcher, happy, "call_back", callback="satisfied")
    assert post_action(dispatcher, happy, "reopen", note="重办").status_code == 409

    late = bring(world, report, S.CLOSED)
    act(late.pk, world.worker, "rate", Params(rating="unsatisfied"))
    Case.objects.filter(pk=late.pk).update(closed_at=timezone.now() - timedelta(days=16))
    assert post_action(dispatcher, late, "reopen", note="重办").status_code == 409
    Case.objects.filter(pk=late.pk).update(closed_at=timezone.now() - timedelta(days=14))
    assert post_action(client_for(world.worker), late, "reopen", note="重办").status_code == 403
    assert post_action(dispatcher, late, "reopen", note="重办").status_code == 200
    response = post_action(dispatcher, happy, "call_back", callback="angry")
    assert response.status_code == 409  # already called back satisfied


def test_a_call_back_result_must_be_one_of_the_four(world, report, client_for):
    case = bring(world, report, S.CLOSED)
    response = post_action(client_for(world.dispatcher), case, "call_back", callback="angry")
    assert response.status_code == 400 and "callback" in response.json()["errors"]


def test_reopened_cases_count_as_rework_for_the_department(world, report):
    from gridgov.analytics import kpis, periods

    case = bring(world, report, S.CLOSED)
    act(case.pk, world.worker, "rate", Params(rating="unsatisfied"))
    act(case.pk, world.dispatcher, "reopen", Params(note="重办"))
    period = periods.parse({"period": "month", "date": timezone.localdate().isoformat()})
    rows = kpis.cases_behind(world.dispatcher, "department.reworked", str(world.sanitation.pk), period, "")
    assert case.pk in set(rows.values_list("pk", flat=True))


# --- components -----------------------------------------------------------------------------

def component():
    return Category.objects.get(kind="component", code="01001")  # 供水井盖


def test_a_component_can_be_reported_with_its_identifier(world, client_for):
    worker = client_for(world.worker)
    listed = worker.get("/api/v1/categories?kind=component&q=井盖").json()
    assert any(c["code"] == "01001" and c["is_leaf"] for c in listed)
    district = world.grid.code[:6]
    response = worker.post("/api/v1/cases", data={
        "category_id": component().pk, "description": "供水井盖破损，有人踩空的危险",
        "grid_code": world.grid.code, "component_id": f"{district}01001000123"})
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.component_id == f"{district}01001000123" and case.category.kind == "component"
    assert detail(worker, case)["component_id"] == case.component_id


@pytest.mark.parametrize("value, why", [
    ("12345", "17 digits"), ("99010101001000123", "county"), ("{d}01002000123", "01001"),
])
def test_a_wrong_component_identifier_is_refused(world, client_for, value, why):
    worker = client_for(world.worker, language="en")
    response = worker.post("/api/v1/cases", data={
        "category_id": component().pk, "description": "供水井盖破损",
        "grid_code": world.grid.code, "component_id": value.format(d=world.grid.code[:6])})
    assert response.status_code == 400
    assert why in response.json()["errors"]["component_id"][0]
    assert not Case.objects.exists()


def test_a_matter_has_no_component_identifier(world, client_for):
    response = client_for(world.worker).post("/api/v1/cases", data={
        "category_id": world.category.pk, "description": "小区门口有暴露垃圾",
        "grid_code": world.grid.code, "component_id": f"{world.grid.code[:6]}06010000001"})
    assert response.status_code == 400 and "component_id" in response.json()["errors"]


# --- recurrences ----------------------------------------------------------------------------

def test_a_problem_back_at_the_same_place_is_linked_to_the_closed_case(world, report, client_for):
    earlier = bring(world, report, S.CLOSED)
    again = report(description="门口的垃圾又堆起来了")
    assert again.recurrence_of == earlier
    assert CaseLog.objects.get(case=again, action="report").data["recurrence_of"] == earlier.number
    dispatcher = client_for(world.dispatcher)
    assert detail(dispatcher, again)["recurrence_of"]["id"] == earlier.pk
    assert [r["id"] for r in detail(dispatcher, earlier)["recurrences"]] == [again.pk]
    candidates = dispatcher.get(f"/api/v1/cases/{again.pk}/duplicates").json()
    assert [(c["id"], c["state"]) for c in candidates] == [(earlier.pk, "closed")]
    # A closed case is history: nothing can be merged into it.
    response = post_action(dispatcher, again, "merge", master_id=earlier.pk)
    assert response.status_code == 400


def test_an_old_closed_case_is_not_a_recurrence(world, report, settings):
    settings.GRIDGOV_RECURRENCE_DAYS = 30
    earlier = bring(world, report, S.CLOSED)
    Case.objects.filter(pk=earlier.pk).update(closed_at=timezone.now() - timedelta(days=31))
    assert report().recurrence_of is None


def test_a_recurrence_is_not_shown_to_those_who_cannot_see_the_earlier_case(world, report, client_for):
    earlier = bring(world, report, S.CLOSED)
    again = report(actor=world.resident, channel="resident", description="门口的垃圾又堆起来了")
    assert again.recurrence_of == earlier
    assert detail(client_for(world.resident), again)["recurrence_of"] is None


# --- escalation -----------------------------------------------------------------------------

def test_a_case_left_overdue_climbs_level_after_level(world, report, settings):
    settings.GRIDGOV_ESCALATE_OVERDUE_SHARE = 0.5
    case = natural(report(), 10)
    assert case.owner_grid == world.district.communities[0]
    age(case, 16)  # overdue by 60 %: one level up
    assert refresh_lights()["escalated"] == 1
    case.refresh_from_db()
    assert case.owner_grid == world.district.street and case.overdue_escalations == 1
    assert refresh_lights()["escalated"] == 0  # not yet overdue by another half
    age(case, 5)  # overdue by 110 %: the next level, the district centre
    assert refresh_lights()["escalated"] == 1
    case.refresh_from_db()
    assert case.owner_grid is None and case.escalation_count == 2
    levels = list(CaseLog.objects.filter(case=case, action="escalate").values_list("data__level", flat=True))
    assert levels == [1, 2]
    assert world.district_dispatcher.notifications.filter(case=case, kind="escalate").exists()
    age(case, 50)
    assert refresh_lights()["escalated"] == 0  # nothing above the district


def test_the_worker_report_form_offers_components_and_takes_the_identifier(world, client_for):
    worker = client_for(world.worker)
    page = worker.get("/console/report/").content.decode()
    assert "供水井盖" in page and 'name="component_id"' in page
    district = world.grid.code[:6]
    response = worker.post("/console/report/", {
        "channel": "worker", "category_id": component().pk, "description": "供水井盖缺失",
        "lat": "31.305", "lon": "120.505", "component_id": f"{district}01001000009"})
    assert response.status_code == 302
    assert Case.objects.get().component_id == f"{district}01001000009"
