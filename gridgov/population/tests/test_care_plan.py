"""The care level drives the visit interval, the overdue list and the daily reminders; cases made
from a visit's needs and people who move take their care file along."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Category, Notification
from gridgov.core.testing import staff
from gridgov.population import care, services, visits
from gridgov.population import testing as registry
from gridgov.population.models import (
    CareNote,
    CareReminder,
    CareTask,
    CaseConcern,
    Household,
    Person,
    PersonTag,
    TagType,
    Visit,
    VisitRule,
)
from gridgov.population.tasks import remind_overdue_care

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def visited(household, days_ago: int) -> None:
    Household.objects.filter(pk=household.pk).update(last_visited_on=TODAY() - timedelta(days=days_ago))


def level(person, code: str, care_level: str) -> None:
    PersonTag.objects.filter(person=person, tag_type__code=code).update(care_level=care_level)


# --- the interval -------------------------------------------------------------------------------


def test_the_care_level_shortens_the_households_visit_interval(town):
    disabled_home = registry.household(town.district.micro_grids[1], head_name="钱")
    disabled = registry.person(disabled_home, "钱多多", tags=("disabled",))  # its rule: 30 days
    party_home = registry.household(town.district.micro_grids[1], house_number="102", head_name="周")
    registry.person(party_home, "周党员", tags=("party_member",))  # no rule: the default 90 days
    homes = Household.objects.filter(pk__in=[disabled_home.pk, party_home.pk])
    assert dict(visits.intervals(homes)) == {disabled_home.pk: 30}
    assert visits.intervals(homes)[party_home.pk] == 90
    level(disabled, "disabled", "medium")
    assert visits.intervals(homes)[disabled_home.pk] == 15
    level(disabled, "disabled", "high")
    assert visits.intervals(homes)[disabled_home.pk] == 7
    VisitRule.objects.filter(care_level="high").update(interval_days=10)  # the admin edits it
    assert visits.intervals(homes)[disabled_home.pk] == 10
    VisitRule.objects.create(care_level="normal", interval_days=60)  # and may add one for normal
    assert visits.intervals(homes)[party_home.pk] == 60


def test_due_lists_and_coverage_pick_the_care_level_up(town):
    registry.person(town.home, "王小红", tags=("disabled",))
    visited(town.home, 10)  # the elder's own rule is weekly already: overdue
    PersonTag.objects.filter(person=town.elder).delete()
    [item] = visits.due_list(town.worker, horizon_days=60)
    assert item.interval_days == 30 and not item.overdue
    level(town.home.members.get(name="王小红"), "disabled", "medium")
    [item] = visits.due_list(town.worker, horizon_days=7)
    assert item.interval_days == 15 and not item.overdue  # due in five days
    visited(town.home, 16)
    [item] = visits.due_list(town.worker, horizon_days=0)
    assert item.overdue
    figures = visits.grid_figures(Household.objects.filter(pk=town.home.pk))
    assert figures[town.home.grid.code]["covered"] == 0


def test_a_rule_is_for_a_tag_or_a_care_level_not_both(town):
    from django.core.exceptions import ValidationError

    rule = VisitRule(care_level="medium", tag_type=TagType.objects.get(code="party_member"), interval_days=5)
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert list(refused.value.message_dict) == ["__all__"]


# --- the overdue list ----------------------------------------------------------------------------


def test_overdue_files_most_overdue_first_never_visited_first_of_all(town, client_for):
    grid = town.district.micro_grids[1]
    late_home = registry.household(grid, head_name="钱")
    late = registry.person(late_home, "钱多多", tags=("disabled",))
    level(late, "disabled", "high")
    visited(late_home, 12)  # high: every 7 days → 5 days late
    fine_home = registry.household(grid, house_number="102", head_name="周")
    fine = registry.person(fine_home, "周阿姨", tags=("disabled",))
    visited(fine_home, 3)
    CareTask.objects.create(person=fine, grid=fine.grid, title="联系康复中心", created_by=town.worker,
                            due_on=TODAY() - timedelta(days=9))
    CareTask.objects.create(person=fine, grid=fine.grid, title="下周回访", created_by=town.worker,
                            due_on=TODAY() + timedelta(days=7))
    party_home = registry.household(grid, house_number="103", head_name="孙")
    registry.person(party_home, "孙党员", tags=("party_member",))  # no care visits of its own
    # The elder (town.home) was never visited: first. Then the task 9 days late, then the visit.
    body = client_for(town.worker).get("/api/v1/registry/care/overdue").json()
    rows = [(i["person"]["name"], i["overdue_days"], i["never_visited"]) for i in body["items"]]
    assert rows == [("李秀英", None, True), ("周阿姨", 9, False), ("钱多多", 5, False)]
    fine_row = body["items"][1]
    assert [t["title"] for t in fine_row["tasks"]] == ["联系康复中心"] and not fine_row["visit_overdue"]
    assert body["items"][2]["visit_due_on"] == str(TODAY() - timedelta(days=5))
    assert body["items"][2]["care_level"] == "high" and body["count"] == 3
    assert "*" in body["items"][0]["person"]["phone"]


def test_the_overdue_list_hides_files_the_viewer_may_not_see(town):
    PersonTag.objects.filter(person=town.elder, tag_type__code="elderly_alone").delete()
    assert care.overdue_list(town.worker) == []
    [item] = care.overdue_list(town.police_worker)
    assert item.person == town.elder and item.interval_days == 30  # community correction's rule
    assert care.overdue_list(town.auditor) == [] and care.overdue_list(town.building_head) == []


# --- reminders -----------------------------------------------------------------------------------


def test_reminders_are_sent_once_per_person_and_due_date(town):
    other_worker = staff(Role.GRID_WORKER, town.grid_b)
    visited(town.home, 8)  # the elder's weekly visit is a day late
    sent = remind_overdue_care.call_local()
    assert sent == 2  # the plain worker and the police officer of grid A; not grid B's worker
    notes = Notification.objects.filter(kind="care_visit")
    assert set(notes.values_list("user", flat=True)) == {town.worker.pk, town.police_worker.pk}
    assert "李秀英" in notes.first().text and "逾期" in notes.first().text
    assert not Notification.objects.filter(user=other_worker).exists()
    assert care.send_reminders() == 0  # run again: nothing new
    assert CareReminder.objects.count() == 2
    # Visited today, then late again eight days on: a new due date, a new reminder each.
    visited(town.home, 0)
    assert care.send_reminders(TODAY() + timedelta(days=7)) == 0
    assert care.send_reminders(TODAY() + timedelta(days=8)) == 2
    assert Notification.objects.filter(kind="care_visit").count() == 4


def test_a_late_task_reminds_the_grid_workers_and_its_assignee(town):
    visited(town.home, 1)
    task = CareTask.objects.create(person=town.elder, grid=town.elder.grid, title="联系助餐点",
                                   created_by=town.worker, assignee=town.grid_leader,
                                   due_on=TODAY() - timedelta(days=1))
    assert care.send_reminders() == 3
    reminded = set(Notification.objects.filter(kind="care_task").values_list("user", flat=True))
    assert reminded == {town.worker.pk, town.police_worker.pk, town.grid_leader.pk}
    assert care.send_reminders() == 0
    care.complete_task(town.worker, town.elder.pk, task.pk)
    assert care.send_reminders(TODAY() + timedelta(days=5)) == 0  # done; the visit is not due yet


def test_no_reminder_betrays_a_hidden_tag(town):
    PersonTag.objects.filter(person=town.elder, tag_type__code="elderly_alone").delete()
    visited(town.home, 40)  # community correction: every 30 days
    assert care.send_reminders() == 1
    assert Notification.objects.get().user == town.police_worker


def test_reminders_go_to_grid_workers_not_to_everyone_who_reads_the_file(town):
    visited(town.home, 8)
    care.send_reminders()
    readers = (town.dispatcher, town.leader, town.grid_leader, town.auditor)
    assert not Notification.objects.filter(user__in=readers).exists()


# --- a visit's needs become a case concerning the person ----------------------------------------


def _visit(town, met: str) -> Visit:
    visit, _created = visits.record_visit(town.worker, town.home, visited_on=TODAY(), met=met,
                                          needs="老人希望有助餐服务")
    return visit


def test_a_case_from_a_visit_concerns_the_tagged_member_named_as_met(town, client_for):
    client = client_for(town.worker)
    category = Category.objects.get(code="06010", kind="matter")
    visit = _visit(town, "李秀英及家人")
    case = post(client, f"/api/v1/registry/visits/{visit.pk}/case", {"category_id": category.pk}).json()
    [link] = CaseConcern.objects.all()
    assert (link.person, link.case_id, link.added_by) == (town.elder, case["case_id"], town.worker)
    body = client.get(f"/api/v1/registry/care/{town.elder.pk}").json()
    assert [c["id"] for c in body["concern_cases"]] == [case["case_id"]]
    # Nobody named, or only the untagged head: no link.
    for met in ("户主本人", "王建国"):
        other = _visit(town, met)
        post(client, f"/api/v1/registry/visits/{other.pk}/case", {"category_id": category.pk})
    assert CaseConcern.objects.count() == 1


def test_the_member_a_case_concerns_may_be_named_and_must_have_a_care_file(town, client_for):
    client = client_for(town.worker)
    category = Category.objects.get(code="06010", kind="matter")
    visit = _visit(town, "")
    url = f"/api/v1/registry/visits/{visit.pk}/case"
    for wrong in (town.head.pk, town.stranger.pk):
        response = post(client, url, {"category_id": category.pk, "person_id": wrong})
        assert response.status_code == 400 and "person_id" in response.json()["errors"]
    visit.refresh_from_db()
    assert visit.case_id is None and not CaseConcern.objects.exists()  # nothing half-done
    response = post(client, url, {"category_id": category.pk, "person_id": town.elder.pk})
    assert response.status_code == 200
    assert CaseConcern.objects.get().person == town.elder


# --- moving people take their file along ---------------------------------------------------------


def test_care_rows_follow_a_person_who_moves_or_whose_building_moves(town):
    CareNote.objects.create(person=town.elder, grid=town.elder.grid, author=town.worker, text="记录")
    CareTask.objects.create(person=town.elder, grid=town.elder.grid, title="看望", due_on=TODAY(),
                            created_by=town.worker)
    new_grid = town.district.micro_grids[1]
    services.move_building(town.home.house.building, new_grid)
    assert set(CareNote.objects.values_list("grid", flat=True)) == {new_grid.pk}
    assert set(CareTask.objects.values_list("grid", flat=True)) == {new_grid.pk}
    elsewhere = registry.household(town.district.micro_grids[0], head_name="新家")
    elder = Person.objects.get(pk=town.elder.pk)
    elder.household = elsewhere
    services.save_person(town.grid_leader, elder)
    assert set(CareNote.objects.values_list("grid", flat=True)) == {town.district.micro_grids[0].pk}
    assert set(PersonTag.objects.filter(person=elder).values_list("grid", flat=True)) == {
        town.district.micro_grids[0].pk}
