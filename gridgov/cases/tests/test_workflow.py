"""Every allowed and forbidden transition, per role; the log; deadlines; concurrency."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from gridgov.cases.models import Case, CaseLog
from gridgov.cases.workflow import ACTIONS, IllegalTransition, Params, act

pytestmark = pytest.mark.django_db
S = Case.State

# How to bring a fresh report to each state, as (action, actor attribute, params).
PATHS = {
    S.REPORTED: [],
    S.REGISTERED: [("register", "dispatcher", {})],
    S.DISPATCHED: [("register", "dispatcher", {}), ("dispatch", "dispatcher", "sanitation")],
    S.RETURNED: [("register", "dispatcher", {}), ("dispatch", "dispatcher", "sanitation"),
                 ("return", "handler", {"note": "不属于我们的职责"})],
    S.ACCEPTED: [("register", "dispatcher", {}), ("dispatch", "dispatcher", "sanitation"),
                 ("accept", "handler", {})],
    S.HANDLED: [("register", "dispatcher", {}), ("dispatch", "dispatcher", "sanitation"),
                ("accept", "handler", {}), ("report_result", "handler", {"note": "已清理完毕"})],
    S.VERIFIED: [("register", "dispatcher", {}), ("dispatch", "dispatcher", "sanitation"),
                 ("accept", "handler", {}), ("report_result", "handler", {"note": "已清理完毕"}),
                 ("verify", "worker", {})],
    S.CLOSED: [("register", "dispatcher", {}), ("dispatch", "dispatcher", "sanitation"),
               ("accept", "handler", {}), ("report_result", "handler", {"note": "已清理完毕"}),
               ("verify", "worker", {}), ("close", "dispatcher", {})],
    S.SUSPENDED: [("register", "dispatcher", {}), ("suspend", "dispatcher", {"note": "需等待改造工程"})],
}


def params_for(world, spec) -> Params:
    if spec == "sanitation":
        return Params(department_id=world.sanitation.pk)
    return Params(**spec)


def bring(world, report, state):
    case = report()
    for action, who, spec in PATHS[state]:
        case = act(case.pk, getattr(world, who), action, params_for(world, spec))
    assert case.state == state
    return case


def good_params(world, action, case):
    return {
        "reject": Params(note="不属于受理范围"), "return": Params(note="不属于我们的职责"),
        "report_result": Params(note="已清理完毕"), "dispatch": Params(department_id=world.sanitation.pk),
        "request_extension": Params(note="需要调配车辆", until=timezone.now() + timedelta(days=30)),
        "deny_extension": Params(note="时间足够"), "rework": Params(note="仍有垃圾"),
        "suspend": Params(note="需等待改造工程"), "escalate": Params(note="需要上级协调"),
        "urge": Params(note="请尽快处理"), "supervise": Params(note="群众反映强烈"),
        "rate": Params(rating="satisfied"),
    }.get(action, Params())


# Who may do what (attribute names on the world fixture); everyone else is refused.
ALLOWED = {
    "register": {"dispatcher", "community_dispatcher", "district_dispatcher"},
    "reject": {"dispatcher", "community_dispatcher", "district_dispatcher"},
    "dispatch": {"dispatcher", "community_dispatcher", "district_dispatcher"},
    "accept": {"handler"}, "return": {"handler"}, "report_result": {"handler"},
    "request_extension": {"handler"},
    "verify": {"worker", "grid_leader", "dispatcher", "community_dispatcher", "district_dispatcher"},
    "close": {"dispatcher", "community_dispatcher", "district_dispatcher"},
    "suspend": {"dispatcher", "community_dispatcher", "district_dispatcher"},
    "escalate": {"dispatcher", "community_dispatcher", "district_dispatcher"},
    "urge": {"leader"}, "supervise": {"leader"}, "rate": {"worker"},
}
PEOPLE = ["dispatcher", "community_dispatcher", "district_dispatcher", "other_dispatcher", "handler",
          "other_handler", "worker", "other_worker", "grid_leader", "leader", "resident", "auditor"]
SOURCE = {"register": S.REPORTED, "reject": S.REPORTED, "dispatch": S.REGISTERED,
          "accept": S.DISPATCHED, "return": S.DISPATCHED, "report_result": S.ACCEPTED,
          "request_extension": S.ACCEPTED, "verify": S.HANDLED, "close": S.VERIFIED,
          "suspend": S.REGISTERED, "escalate": S.REGISTERED, "urge": S.ACCEPTED,
          "supervise": S.ACCEPTED, "rate": S.CLOSED}


@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_each_role_may_or_may_not(world, report, action):
    for person in PEOPLE:
        case = bring(world, report, SOURCE[action])
        actor = getattr(world, person)
        if person in ALLOWED[action]:
            act(case.pk, actor, action, good_params(world, action, case))
        else:
            with pytest.raises((PermissionDenied, Http404)):
                act(case.pk, actor, action, good_params(world, action, case))
            assert Case.objects.get(pk=case.pk).state == SOURCE[action]


@pytest.mark.parametrize("state", sorted(PATHS))
def test_illegal_transitions_are_409_and_change_nothing(world, report, state):
    case = bring(world, report, state)
    for name, action in ACTIONS.items():
        if state in action.sources:
            continue
        with pytest.raises(IllegalTransition):
            act(case.pk, world.district_dispatcher, name, good_params(world, name, case))
    assert Case.objects.get(pk=case.pk).state == state


def test_the_full_loop_is_logged_step_by_step(world, report):
    case = bring(world, report, S.CLOSED)
    act(case.pk, world.worker, "rate", Params(rating="satisfied", note="处理及时"))
    steps = list(CaseLog.objects.filter(case=case).values_list("action", "from_state", "to_state"))
    assert steps == [
        ("report", "", "reported"), ("register", "reported", "registered"),
        ("dispatch", "registered", "dispatched"), ("accept", "dispatched", "accepted"),
        ("report_result", "accepted", "handled"), ("verify", "handled", "verified"),
        ("close", "verified", "closed"), ("rate", "closed", "closed")]
    case.refresh_from_db()
    assert (case.rating, case.rating_comment, case.handled_on_time) == ("satisfied", "处理及时", True)
    assert case.deadline is None and case.closed_at is not None


def test_return_goes_back_to_the_dispatcher_and_is_counted(world, report):
    case = bring(world, report, S.RETURNED)
    assert case.return_count == 1 and case.department == world.sanitation
    case = act(case.pk, world.dispatcher, "dispatch", Params(department_id=world.police.pk))
    assert case.state == S.DISPATCHED and case.department == world.police


def test_rework_goes_back_to_the_department_and_is_counted(world, report):
    case = bring(world, report, S.HANDLED)
    case = act(case.pk, world.worker, "rework", Params(note="垃圾没有清理干净"))
    assert (case.state, case.rework_count) == (S.ACCEPTED, 1)
    assert case.handle_deadline > timezone.now()


def test_reasons_are_required_and_nothing_is_half_saved(world, report):
    case = bring(world, report, S.REPORTED)
    with pytest.raises(ValidationError) as caught:
        act(case.pk, world.dispatcher, "reject", Params(note=" "))
    assert "note" in caught.value.message_dict
    assert Case.objects.get(pk=case.pk).state == S.REPORTED
    assert CaseLog.objects.filter(case=case).count() == 1


def test_dispatch_needs_a_department(world, report):
    case = bring(world, report, S.REGISTERED)
    with pytest.raises(ValidationError) as caught:
        act(case.pk, world.dispatcher, "dispatch", Params())
    assert "department_id" in caught.value.message_dict


def test_extension_request_and_approval_move_the_deadline(world, report):
    case = bring(world, report, S.ACCEPTED)
    until = case.handle_deadline + timedelta(days=3)
    case = act(case.pk, world.handler, "request_extension", Params(note="需要调配车辆", until=until))
    assert case.extension_requested_until == until
    with pytest.raises(IllegalTransition):
        act(case.pk, world.handler, "request_extension", Params(note="再次申请", until=until))
    case = act(case.pk, world.dispatcher, "approve_extension")
    assert (case.handle_deadline, case.deadline, case.extension_count) == (until, until, 1)
    assert case.extension_requested_until is None


def test_extension_must_be_after_the_current_deadline(world, report):
    case = bring(world, report, S.ACCEPTED)
    with pytest.raises(ValidationError):
        act(case.pk, world.handler, "request_extension",
            Params(note="需要时间", until=case.handle_deadline - timedelta(hours=1)))


def test_suspend_and_resume_restart_the_stage(world, report):
    case = bring(world, report, S.SUSPENDED)
    assert case.deadline is None and case.suspended_from == S.REGISTERED
    case = act(case.pk, world.dispatcher, "resume")
    assert case.state == S.REGISTERED and case.deadline is not None


def test_escalation_moves_the_case_to_the_next_command_centre(world, report):
    case = report()
    assert case.owner_grid == world.district.communities[0]  # the nearest centre with a dispatcher
    case = act(case.pk, world.community_dispatcher, "escalate", Params(note="需要街道协调"))
    assert case.owner_grid == world.district.street
    with pytest.raises(PermissionDenied):  # small things stay below; big ones leave the community
        act(case.pk, world.community_dispatcher, "register")
    case = act(case.pk, world.dispatcher, "escalate", Params(note="需要区里协调"))
    assert case.owner_grid is None and case.escalation_count == 2
    with pytest.raises(IllegalTransition):
        act(case.pk, world.district_dispatcher, "escalate", Params(note="没有更高一级"))


def test_merge_into_an_open_case(world, report):
    master = report(description="3号楼下垃圾堆积")
    duplicate = report(actor=world.resident, channel="resident", description="3号楼垃圾没人清理")
    act(duplicate.pk, world.dispatcher, "merge", Params(master_id=master.pk))
    duplicate.refresh_from_db()
    assert duplicate.state == S.MERGED and duplicate.merged_into == master


def test_rate_only_once_and_only_by_the_reporter(world, report):
    case = bring(world, report, S.CLOSED)
    act(case.pk, world.worker, "rate", Params(rating="basically"))
    with pytest.raises(IllegalTransition):
        act(case.pk, world.worker, "rate", Params(rating="satisfied"))


def test_notifications_reach_whoever_acts_next(world, report):
    case = report()
    assert world.community_dispatcher.notifications.filter(case=case, kind="report").exists()
    case = act(case.pk, world.community_dispatcher, "register")
    case = act(case.pk, world.community_dispatcher, "dispatch", Params(department_id=world.sanitation.pk))
    assert world.handler.notifications.filter(case=case, kind="dispatch").exists()
    assert not world.other_handler.notifications.exists()
