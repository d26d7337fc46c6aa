import threading

import pytest
from django.db import connection, connections

from gridgov.accounts.models import Role
from gridgov.cases.models import Case, CaseLog, CategoryRoute
from gridgov.cases.routing import propose_department
from gridgov.cases.workflow import IllegalTransition, Params, act
from gridgov.core.testing import DepartmentFactory, staff


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_dispatching_one_case_exactly_one_succeeds(world, report):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers at BEGIN IMMEDIATE")
    case = report()
    case = act(case.pk, world.dispatcher, "register")
    barrier = threading.Barrier(2)
    outcomes = []

    def dispatch(actor, department):
        try:
            barrier.wait()
            act(case.pk, actor, "dispatch", Params(department_id=department.pk))
            outcomes.append("ok")
        except IllegalTransition:
            outcomes.append("409")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatch, args=(world.dispatcher, world.sanitation)),
               threading.Thread(target=dispatch, args=(world.community_dispatcher, world.police))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409", "ok"]
    assert CaseLog.objects.filter(case=case, action="dispatch").count() == 1
    final = Case.objects.get(pk=case.pk)
    winner = CaseLog.objects.get(case=case, action="dispatch").data["department_id"]
    assert final.department_id == winner


@pytest.mark.django_db
def test_a_merged_reporter_follows_the_master_case(world, report, client_for):
    master = report(description="3号楼下垃圾堆积")
    mine = report(actor=world.resident, channel="resident", description="3号楼垃圾没人清理")
    act(mine.pk, world.community_dispatcher, "merge", Params(master_id=master.pk))
    for action, actor, params in [("register", world.community_dispatcher, Params()),
                                  ("dispatch", world.community_dispatcher,
                                   Params(department_id=world.sanitation.pk)),
                                  ("accept", world.handler, Params()),
                                  ("report_result", world.handler, Params(note="已全部清运"))]:
        act(master.pk, actor, action, params)
    body = client_for(world.resident).get(f"/api/v1/cases/{mine.pk}").json()
    assert body["state"] == "merged"
    assert body["merged_into"]["state"] == "handled" and body["merged_into"]["result"] == "已全部清运"


@pytest.mark.django_db
def test_routing_prefers_the_most_specific_area_then_category(world, report):
    case = report()
    assert propose_department(case) == world.sanitation  # street rule for class 06
    district_leaf = DepartmentFactory(name="区城管局")
    CategoryRoute.objects.create(category=case.category, area=None, department=district_leaf)
    assert propose_department(case) == world.sanitation  # the street's class rule still wins
    community = DepartmentFactory(name="社区物业办")
    CategoryRoute.objects.create(category=case.category.parent, area=world.district.communities[0],
                                 department=community)
    assert propose_department(case) == community
    other = report(actor=staff(Role.GRID_WORKER, world.district.grids[3]), lat=31.335, lon=120.535)
    assert propose_department(other) == world.sanitation
