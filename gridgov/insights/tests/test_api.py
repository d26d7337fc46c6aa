"""Early warnings through the API: listed worst first with filters, the cases or people behind them,
worked through their states with a log, cases put under supervision in one step, the analysis run on
demand; registry warnings only for those who keep the registry, sensitive ones only for those who see
the special-population tags."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Case
from gridgov.core.testing import staff
from gridgov.insights.models import AnalysisRun, EarlyWarning
from gridgov.population import testing as registry

pytestmark = pytest.mark.django_db
API = "/api/v1/insights"


def warning(grid, kind=EarlyWarning.Kind.HOTSPOT, *, source=EarlyWarning.Source.CASES, key="", **fields):
    now = timezone.now()
    return EarlyWarning.objects.create(
        kind=kind,
        key=key or f"test:{EarlyWarning.objects.count()}",
        source=source,
        grid=grid,
        title=fields.pop("title", "8 起暴露垃圾集中在 40 米内"),
        first_seen_at=now,
        last_seen_at=now,
        **fields,
    )


@pytest.fixture
def open_case(district):
    from gridgov.cases.categories import STANDARD
    from gridgov.cases.models import Category

    category = Category.objects.get(standard_ref=STANDARD, kind="matter", code="06010")
    return Case.objects.create(
        channel=Case.Channel.WORKER,
        state=Case.State.DISPATCHED,
        category=category,
        description="暴露垃圾",
        grid=district.micro_grids[0],
        lat=31.305,
        lon=120.505,
        reported_at=timezone.now() - timedelta(days=2),
    )


def test_leaders_list_their_area_s_warnings_worst_first(district, client_for):
    mine = warning(district.micro_grids[0], severity=EarlyWarning.Severity.HIGH)
    warning(district.micro_grids[1], severity=EarlyWarning.Severity.LOW)
    warning(district.micro_grids[6], severity=EarlyWarning.Severity.HIGH)  # community 2
    warning(district.micro_grids[0], state=EarlyWarning.State.DISMISSED)
    leader = client_for(staff(Role.LEADER, district.communities[0]))
    listed = leader.get(f"{API}/warnings").json()
    assert listed["count"] == 2 and listed["items"][0]["id"] == mine.pk
    assert leader.get(f"{API}/warnings?state=dismissed").json()["count"] == 1
    assert leader.get(f"{API}/warnings?severity=3").json()["count"] == 1
    assert leader.get(f"{API}/warnings?kind=trend").json()["count"] == 0
    # Grid workers and residents do not read the warnings.
    assert client_for(staff(Role.GRID_WORKER, district.grids[0])).get(f"{API}/warnings").status_code == 403


def test_a_warning_is_worked_through_its_states_with_a_log(district, client_for):
    found = warning(district.micro_grids[0])
    leader_user = staff(Role.LEADER, district.communities[0])
    worker = staff(Role.GRID_WORKER, district.grids[0])
    client = client_for(leader_user)
    url = f"{API}/warnings/{found.pk}/steps"
    assert (
        client.post(f"{url}/acknowledge", {}, content_type="application/json").json()["state"]
        == "acknowledged"
    )
    elsewhere = staff(Role.GRID_WORKER, district.grids[3])
    refused = client.post(f"{url}/assign", {"assignee_id": elsewhere.pk}, content_type="application/json")
    assert refused.status_code == 400 and "assignee_id" in refused.json()["errors"]
    assigned = client.post(
        f"{url}/assign", {"assignee_id": worker.pk}, content_type="application/json"
    ).json()
    assert assigned["state"] == "assigned" and assigned["assignee"]
    assert client.post(f"{url}/dismiss", {"note": " "}, content_type="application/json").status_code == 400
    done = client.post(f"{url}/resolve", {"note": "已清理并安装监控"}, content_type="application/json").json()
    assert done["state"] == "resolved" and done["note"] == "已清理并安装监控"
    assert [entry["action"] for entry in done["log"]] == ["acknowledge", "assign", "resolve"]
    assert client.post(f"{url}/acknowledge", {}, content_type="application/json").status_code == 409
    assert [s["name"] for s in done["steps"]] == ["reopen"]


def test_the_open_cases_behind_a_warning_go_under_supervision_in_one_step(district, open_case, client_for):
    found = warning(district.micro_grids[0], evidence={"cases": [open_case.pk], "count": 1})
    leader = client_for(staff(Role.LEADER, district.communities[0]))
    response = leader.post(
        f"{API}/warnings/{found.pk}/steps/supervise",
        {"note": "同一地点反复发生，请彻底整治"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    open_case.refresh_from_db()
    assert open_case.is_supervised
    assert response.json()["cases"][0]["number"] == open_case.number
    again = leader.post(
        f"{API}/warnings/{found.pk}/steps/supervise", {"note": "再督办"}, content_type="application/json"
    )
    assert again.status_code == 400  # nothing left to supervise


def test_registry_warnings_name_people_masked_and_only_for_registry_keepers(district, client_for):
    home = registry.household(district.micro_grids[0])
    person = registry.person(home, "李奶奶")
    plain = warning(
        district.micro_grids[0],
        EarlyWarning.Kind.CARE_UNVISITED,
        source=EarlyWarning.Source.REGISTRY,
        evidence={"people": [person.pk]},
    )
    sensitive = warning(
        district.micro_grids[0],
        EarlyWarning.Kind.CARE_UNVISITED,
        source=EarlyWarning.Source.REGISTRY,
        is_sensitive=True,
        evidence={"people": [person.pk]},
    )
    leader = client_for(staff(Role.LEADER, district.communities[0]))
    detail = leader.get(f"{API}/warnings/{plain.pk}").json()
    assert detail["people"][0]["name"] == "李奶奶" and "*" in detail["people"][0]["id_number"]
    assert leader.get(f"{API}/warnings").json()["count"] == 2  # leaders see the special-population tags
    # The command centre keeps the registry but not the special-population tags.
    dispatcher = client_for(staff(Role.DISPATCHER, district.communities[0]))
    assert [w["id"] for w in dispatcher.get(f"{API}/warnings").json()["items"]] == [plain.pk]
    assert dispatcher.get(f"{API}/warnings/{sensitive.pk}").status_code == 404


def test_the_analysis_runs_on_demand_at_most_every_five_minutes(district, client_for):
    leader = client_for(staff(Role.LEADER, district.communities[0]))
    first = leader.post(f"{API}/runs", {}, content_type="application/json")
    assert first.status_code == 201 and first.json()["finished_at"]
    assert set(first.json()["counts"]) >= {"hotspot", "recurrence", "trend", "care_unvisited"}
    again = leader.post(f"{API}/runs", {}, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert AnalysisRun.objects.count() == 1
    assert (
        client_for(staff(Role.GRID_WORKER, district.grids[0]))
        .post(f"{API}/runs", {}, content_type="application/json")
        .status_code
        == 403
    )


def test_the_candidates_are_the_staff_on_the_grid_s_line_whose_area_includes_it(
    district, client_for, django_assert_num_queries
):
    from gridgov.accounts.models import Assignment
    from gridgov.core.testing import resident
    from gridgov.insights import workflow

    found = warning(district.grids[0])
    leader_user = staff(Role.LEADER, district.communities[0])  # above the grid
    grid_leader = staff(Role.GRID_LEADER, district.grids[0])  # on it
    below = staff(Role.GRID_WORKER, district.micro_grids[0])  # inside it: their area does not include it
    outsider = staff(Role.GRID_WORKER, district.micro_grids[6])  # community 2: not on the line
    home = resident(district.micro_grids[0])
    gone = staff(Role.GRID_WORKER, district.grids[0], is_active=False)
    ended = staff(Role.GRID_WORKER, district.grids[0])
    Assignment.objects.filter(user=ended).update(is_active=False)
    # On the line below the grid, and through a second role over the whole community: a candidate.
    both = staff(Role.GRID_WORKER, district.micro_grids[1])
    Assignment.objects.create(user=both, role=Role.DISPATCHER, grid=district.communities[0])

    client = client_for(leader_user)
    listed = client.get(f"{API}/warnings/{found.pk}/candidates")
    assert listed.status_code == 200, listed.content
    by_id = {c["id"]: c for c in listed.json()}
    assert set(by_id) == {leader_user.pk, grid_leader.pk, both.pk}
    assert listed.json()[-1]["id"] == grid_leader.pk  # the line from the top down: the community first
    assert by_id[grid_leader.pk]["roles"] == [
        {
            "role": "grid_leader",
            "label": str(Role.GRID_LEADER.label),
            "grid": {"code": district.grids[0].code, "name": district.grids[0].name},
        }
    ]
    assert {r["role"] for r in by_id[both.pk]["roles"]} == {"dispatcher", "grid_worker"}

    # The service checks the same rule.
    url = f"{API}/warnings/{found.pk}/steps/assign"
    for refused in (below, outsider, home, gone, ended):
        response = client.post(url, {"assignee_id": refused.pk}, content_type="application/json")
        assert response.status_code == 400 and "assignee_id" in response.json()["errors"], refused
    found.refresh_from_db()
    assert found.state == EarlyWarning.State.NEW and not found.logs.exists()
    assigned = client.post(url, {"assignee_id": both.pk}, content_type="application/json")
    assert assigned.status_code == 200 and assigned.json()["state"] == "assigned"

    # One query however many staff the line has, not one per user.
    for grid in district.micro_grids[:4]:
        for _n in range(5):
            staff(Role.GRID_WORKER, grid)
    fresh = EarlyWarning.objects.select_related("grid").get(pk=found.pk)
    with django_assert_num_queries(1):
        assert {u.pk for u in workflow.candidates(fresh)} == set(by_id)

    # Those who do not handle warnings are refused.
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    assert worker.get(f"{API}/warnings/{found.pk}/candidates").status_code == 403
