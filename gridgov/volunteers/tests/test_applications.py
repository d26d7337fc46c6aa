"""Applications, decisions and teams through the HTTP API."""

import pytest
from django.test import Client

from gridgov.population import testing as registry
from gridgov.volunteers.models import Team, Volunteer, VolunteerLog
from gridgov.volunteers.tests.conftest import post, resident, volunteer

pytestmark = pytest.mark.django_db


def test_a_resident_applies_and_sees_the_application(crew, client_for):
    client = client_for(crew.resident)
    assert client.get("/api/v1/volunteers/me").json() == {
        "volunteer": None,
        "balance": 0,
        "hours": 0.0,
        "expiring": None,
    }
    response = post(
        client,
        "/api/v1/volunteers/apply",
        {"grid_code": crew.grid_a.code, "skills": "急救", "availability": "周末上午"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "applied" and body["state_label"] == "已申请"
    assert body["grid"]["code"] == crew.grid_a.code and body["skills"] == "急救"
    assert "*" in body["phone"]  # masked
    me = client.get("/api/v1/volunteers/me").json()
    assert me["volunteer"]["id"] == body["id"] and me["balance"] == 0
    again = post(client, "/api/v1/volunteers/apply", {"grid_code": crew.grid_a.code})
    assert again.status_code == 409 and "已申请" in again.json()["detail"]
    assert Volunteer.objects.count() == 1


def test_bad_applications_are_400_per_field_and_save_nothing(crew, client_for):
    client = client_for(crew.resident)
    response = post(
        client,
        "/api/v1/volunteers/apply",
        {"grid_code": "999", "skills": "x" * 201, "availability": "y" * 201},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["grid_code"] == ["没有编码为 999 的网格。"]
    assert errors["skills"] == ["最多 200 个字符。"] and errors["availability"] == ["最多 200 个字符。"]
    missing = post(client, "/api/v1/volunteers/apply", {"skills": "急救"})
    assert missing.status_code == 400 and missing.json()["errors"]["grid_code"] == ["此项必填。"]
    assert not Volunteer.objects.exists() and not VolunteerLog.objects.exists()


def test_only_residents_apply(crew, client_for):
    response = post(client_for(crew.worker), "/api/v1/volunteers/apply", {"grid_code": crew.grid_a.code})
    assert response.status_code == 403 and "居民" in response.json()["detail"]
    assert post(Client(), "/api/v1/volunteers/apply", {"grid_code": crew.grid_a.code}).status_code == 401


def test_decisions_need_reasons_follow_the_states_and_are_logged(crew, client_for):
    applicant = volunteer(crew.grid_a, crew.grid_leader, approved=False)
    client = client_for(crew.grid_leader)
    url = f"/api/v1/volunteers/{applicant.pk}/decide"
    refused = post(client, url, {"action": "refuse"})
    assert refused.status_code == 400 and refused.json()["errors"]["reason"] == ["请填写原因。"]
    assert post(client, url, {"action": "promote"}).json()["errors"]["action"]
    assert post(client, url, {"action": "suspend", "reason": "违规"}).status_code == 409
    approved = post(client, url, {"action": "approve"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    suspended = post(client, url, {"action": "suspend", "reason": "多次缺席"})
    assert suspended.json()["state"] == "suspended" and suspended.json()["reason"] == "多次缺席"
    back = post(client, url, {"action": "reinstate", "reason": "已说明情况"}).json()
    assert back["state"] == "approved"
    assert [(e["action"], e["reason"]) for e in back["log"]] == [
        ("apply", ""),
        ("approve", ""),
        ("suspend", "多次缺席"),
        ("reinstate", "已说明情况"),
    ]
    assert back["log"][1]["actor"] == "李组长"


def test_a_refused_applicant_may_apply_again(crew, client_for):
    applicant = volunteer(crew.grid_a, crew.grid_leader, approved=False)
    post(
        client_for(crew.grid_leader),
        f"/api/v1/volunteers/{applicant.pk}/decide",
        {"action": "refuse", "reason": "材料不全"},
    )
    client = client_for(applicant.user)
    assert client.get("/api/v1/volunteers/me").json()["volunteer"]["reason"] == "材料不全"
    again = post(client, "/api/v1/volunteers/apply", {"grid_code": crew.grid_a.code, "skills": "开车"})
    assert (
        again.status_code == 201 and again.json()["state"] == "applied" and again.json()["id"] == applicant.pk
    )


def test_who_decides_where(crew, client_for):
    applicant = volunteer(crew.grid_a, crew.grid_leader, approved=False)
    url = f"/api/v1/volunteers/{applicant.pk}/decide"
    # Grid B's leader never sees grid A's volunteers; a grid worker does not look after volunteers.
    assert post(client_for(crew.grid_leader_b), url, {"action": "approve"}).status_code == 404
    assert client_for(crew.grid_leader_b).get(f"/api/v1/volunteers/{applicant.pk}").status_code == 404
    assert post(client_for(crew.worker), url, {"action": "approve"}).status_code == 404
    assert client_for(crew.worker).get("/api/v1/volunteers").json()["count"] == 0
    # The auditor reads but does not decide.
    assert client_for(crew.auditor).get(f"/api/v1/volunteers/{applicant.pk}").status_code == 200
    assert post(client_for(crew.auditor), url, {"action": "approve"}).status_code == 403
    # The community's leader decides for the grids of the community.
    assert post(client_for(crew.leader), url, {"action": "approve"}).status_code == 200
    assert Volunteer.objects.get().decided_by == crew.leader


def test_the_list_is_scoped_and_filtered(crew, client_for):
    a = volunteer(crew.grid_a, crew.grid_leader, name="甲")
    pending = volunteer(crew.grid_a, crew.grid_leader, name="乙", approved=False)
    b = volunteer(crew.grid_b, crew.grid_leader_b, name="丙")
    leader = client_for(crew.leader)
    assert {v["id"] for v in leader.get("/api/v1/volunteers").json()["items"]} == {a.pk, pending.pk}
    assert [v["id"] for v in leader.get("/api/v1/volunteers", {"state": "applied"}).json()["items"]] == [
        pending.pk
    ]
    assert [v["id"] for v in client_for(crew.grid_leader_b).get("/api/v1/volunteers").json()["items"]] == [
        b.pk
    ]
    assert client_for(crew.auditor).get("/api/v1/volunteers").json()["count"] == 3


def test_an_organization_becomes_a_team_with_a_leader(crew, client_for):
    org = registry.organization(crew.district.micro_grids[0], "枫桥物业")
    lead = volunteer(crew.grid_a, crew.grid_leader, name="队长")
    member = volunteer(crew.grid_a, crew.grid_leader, name="队员")
    pending = volunteer(crew.grid_a, crew.grid_leader, approved=False)
    client = client_for(crew.grid_leader)
    bad = post(client, "/api/v1/volunteers/teams", {"organization_id": org.pk, "leader_id": pending.pk})
    assert bad.status_code == 400 and "leader_id" in bad.json()["errors"]
    created = post(client, "/api/v1/volunteers/teams", {"organization_id": org.pk, "leader_id": lead.pk})
    assert created.status_code == 201, created.content
    team = created.json()
    assert team["name"] == "枫桥物业" and team["leader"] == "队长" and team["members"] == 1
    again = post(client, "/api/v1/volunteers/teams", {"organization_id": org.pk, "leader_id": lead.pk})
    assert again.status_code == 409
    joined = post(client, f"/api/v1/volunteers/teams/{team['id']}/members", {"volunteer_id": member.pk})
    assert joined.status_code == 200 and joined.json()["members"] == 2
    assert client.get(f"/api/v1/volunteers/{member.pk}").json()["team"] == {
        "id": team["id"],
        "name": "枫桥物业",
    }
    assert client_for(crew.grid_leader_b).get("/api/v1/volunteers/teams").json()["count"] == 0
    other = registry.organization(crew.district.micro_grids[6], "乙公司")
    elsewhere = post(
        client_for(crew.grid_leader),
        "/api/v1/volunteers/teams",
        {"organization_id": other.pk, "leader_id": lead.pk},
    )
    assert elsewhere.status_code == 404
    assert Team.objects.count() == 1


def test_residents_of_another_grid_and_residents_without_profile(crew, client_for):
    someone = resident(crew.grid_b)
    assert client_for(someone).get("/api/v1/volunteers").json()["count"] == 0
    assert client_for(someone).get("/api/v1/volunteers/me/activities").json()["count"] == 0
