"""Changing and calling off activities, and taking volunteers out of teams, through the HTTP API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases.models import Notification
from gridgov.population import testing as registry
from gridgov.volunteers import services
from gridgov.volunteers.models import Activity, ActivityLog, Signup, VolunteerLog
from gridgov.volunteers.tests.conftest import PLACE_A, activity, as_json, post, volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def later(crew):
    """An activity tomorrow with two places, both taken, and one volunteer waiting."""
    event = activity(crew.grid_leader, crew.grid_a, starts_at=timezone.now() + timedelta(days=1), quota=2)
    people = [volunteer(crew.grid_a, crew.grid_leader, name=f"志愿者{n}") for n in range(3)]
    for person in people:
        services.sign_up(person.user, event.pk)
    return event, people


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def test_a_new_time_is_logged_and_told_to_those_signed_up_and_waiting(crew, client_for, later):
    event, people = later
    starts = event.starts_at + timedelta(hours=2)
    body = as_json({"starts_at": starts, "ends_at": starts + timedelta(hours=3), "title": "周三走访（改期）"})
    response = patch(client_for(crew.grid_leader), f"/api/v1/volunteers/activities/{event.pk}", body)
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "周三走访（改期）"
    event.refresh_from_db()
    assert event.starts_at == starts and event.points == 10 and event.quota == 2  # the rest kept
    log = ActivityLog.objects.get(activity=event, action="edit")
    assert set(log.data) == {"starts_at", "ends_at", "title"} and log.data["title"][0] == "周三走访"
    told = set(Notification.objects.filter(kind="volunteer_activity").values_list("user_id", flat=True))
    assert told == {p.user_id for p in people}


def test_a_title_change_alone_tells_nobody_and_no_change_logs_nothing(crew, client_for, later):
    event, _people = later
    client = client_for(crew.grid_leader)
    assert patch(client, f"/api/v1/volunteers/activities/{event.pk}", {"title": "新标题"}).status_code == 200
    assert patch(client, f"/api/v1/volunteers/activities/{event.pk}", {"title": "新标题"}).status_code == 200
    assert not Notification.objects.filter(kind="volunteer_activity").exists()
    assert ActivityLog.objects.filter(activity=event, action="edit").count() == 1


def test_a_larger_quota_moves_the_waiting_list_up_a_smaller_one_is_refused(crew, client_for, later):
    event, people = later
    client = client_for(crew.grid_leader)
    lower = patch(client, f"/api/v1/volunteers/activities/{event.pk}", {"quota": 1})
    assert lower.status_code == 400 and "quota" in lower.json()["errors"]
    higher = patch(client, f"/api/v1/volunteers/activities/{event.pk}", {"quota": 3})
    assert higher.status_code == 200 and higher.json()["taken"] == 3 and higher.json()["waiting"] == 0
    assert Signup.objects.get(volunteer=people[2]).state == "signed_up"


def test_bad_edits_are_400_per_field_and_change_nothing(crew, client_for, later):
    event, _people = later
    body = as_json({"title": "", "ends_at": event.starts_at - timedelta(hours=1), "points_rule": "daily"})
    response = patch(client_for(crew.grid_leader), f"/api/v1/volunteers/activities/{event.pk}", body)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"title", "ends_at", "points_rule"}
    event.refresh_from_db()
    assert event.title == "周三走访" and not ActivityLog.objects.filter(action="edit").exists()


def test_a_place_in_another_coordinate_system_is_stored_as_wgs84(crew, client_for, later):
    event, _people = later
    body = {"lat": 31.328, "lon": 120.514, "crs": "gcj02"}
    response = patch(client_for(crew.grid_leader), f"/api/v1/volunteers/activities/{event.pk}", body)
    assert response.status_code == 200
    assert response.json()["lat"] != 31.328 and abs(response.json()["lat"] - 31.328) < 0.01


def test_started_closed_and_cancelled_activities_are_not_edited(crew, client_for):
    under_way = activity(crew.grid_leader, crew.grid_a)
    response = patch(
        client_for(crew.grid_leader), f"/api/v1/volunteers/activities/{under_way.pk}", {"quota": 9}
    )
    assert response.status_code == 409


def test_only_the_grids_managers_edit_or_cancel(crew, client_for, later):
    event, _people = later
    url = f"/api/v1/volunteers/activities/{event.pk}"
    assert patch(client_for(crew.grid_leader_b), url, {"title": "x"}).status_code == 404
    assert patch(client_for(crew.auditor), url, {"title": "x"}).status_code == 403
    cancelled = post(client_for(crew.grid_leader_b), f"{url}/cancel-activity", {"reason": "下雨"})
    assert cancelled.status_code == 404
    assert patch(client_for(crew.leader), url, {"title": "社区改的"}).status_code == 200


def test_calling_off_tells_everyone_and_stops_sign_ups(crew, client_for, later):
    event, people = later
    client = client_for(crew.grid_leader)
    url = f"/api/v1/volunteers/activities/{event.pk}/cancel-activity"
    assert post(client, url, {"reason": ""}).json()["errors"].keys() == {"reason"}
    response = post(client, url, {"reason": "台风预警，活动取消"})
    assert response.status_code == 200
    assert (
        response.json()["state"] == "cancelled" and response.json()["cancel_reason"] == "台风预警，活动取消"
    )
    texts = Notification.objects.filter(kind="volunteer_activity").values_list("text", flat=True)
    assert len(texts) == 3 and all("台风预警" in text for text in texts)
    assert ActivityLog.objects.get(activity=event, action="cancel").reason == "台风预警，活动取消"
    newcomer = volunteer(crew.grid_a, crew.grid_leader, name="后来者")
    refused = post(client_for(newcomer.user), f"/api/v1/volunteers/activities/{event.pk}/signup")
    assert refused.status_code == 409 and "取消" in refused.json()["detail"]
    assert post(client, url, {"reason": "again"}).status_code == 409
    assert post(client, f"/api/v1/volunteers/activities/{event.pk}/close").status_code == 409
    listed = client.get("/api/v1/volunteers/activities?state=cancelled").json()
    assert [a["id"] for a in listed["items"]] == [event.pk]


def test_an_activity_with_check_ins_is_closed_not_cancelled(crew, client_for):
    event = activity(crew.grid_leader, crew.grid_a)
    mine = volunteer(crew.grid_a, crew.grid_leader)
    services.sign_up(mine.user, event.pk)
    services.check_in(mine.user, event.pk, {"lat": PLACE_A[0], "lon": PLACE_A[1]})
    url = f"/api/v1/volunteers/activities/{event.pk}/cancel-activity"
    response = post(client_for(crew.grid_leader), url, {"reason": "取消"})
    assert response.status_code == 409
    assert Activity.objects.get(pk=event.pk).state == "published"


@pytest.fixture
def team(crew, client_for):
    org = registry.organization(crew.district.micro_grids[0], "枫桥物业")
    lead = volunteer(crew.grid_a, crew.grid_leader, name="队长")
    member = volunteer(crew.grid_a, crew.grid_leader, name="队员")
    created = services.create_team(crew.grid_leader, organization_id=org.pk, leader_id=lead.pk)
    services.add_member(crew.grid_leader, created.pk, member.pk)
    return created, lead, member


def test_a_member_is_removed_with_a_reason_the_leader_stays(crew, client_for, team):
    created, lead, member = team
    client = client_for(crew.grid_leader)
    base = f"/api/v1/volunteers/teams/{created.pk}"
    assert post(client, f"{base}/members/{member.pk}/remove", {"reason": ""}).status_code == 400
    leader_out = post(client, f"{base}/members/{lead.pk}/remove", {"reason": "调离"})
    assert leader_out.status_code == 409
    removed = post(client, f"{base}/members/{member.pk}/remove", {"reason": "搬离本社区"})
    assert removed.status_code == 200 and removed.json()["members"] == 1
    member.refresh_from_db()
    assert member.team_id is None
    entry = VolunteerLog.objects.filter(volunteer=member).last()
    assert (
        entry.action == "leave_team"
        and entry.reason == "枫桥物业: 搬离本社区"
        and entry.actor == crew.grid_leader
    )
    again = post(client, f"{base}/members/{member.pk}/remove", {"reason": "再次"})
    assert again.status_code == 404


def test_the_leader_changes_to_another_member_then_may_leave(crew, client_for, team):
    created, lead, member = team
    client = client_for(crew.grid_leader)
    base = f"/api/v1/volunteers/teams/{created.pk}"
    outsider = volunteer(crew.grid_a, crew.grid_leader, name="外人")
    assert post(client, f"{base}/leader", {"leader_id": outsider.pk}).status_code == 400
    changed = post(client, f"{base}/leader", {"leader_id": member.pk})
    assert changed.status_code == 200 and changed.json()["leader"] == "队员"
    assert post(client, f"{base}/members/{lead.pk}/remove", {"reason": "卸任"}).status_code == 200
    assert post(client_for(crew.grid_leader_b), f"{base}/leader", {"leader_id": lead.pk}).status_code == 404


# --- the same on the staff pages ----------------------------------------------------------------


def form_of(activity_out) -> dict:
    """The edit form as the staff activity page fills it in (local times, WGS-84)."""
    local = timezone.localtime
    return {
        "title": activity_out.title,
        "kind": activity_out.kind,
        "description": activity_out.description,
        "address": activity_out.address,
        "lat": str(activity_out.lat),
        "lon": str(activity_out.lon),
        "starts_at": local(activity_out.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": local(activity_out.ends_at).strftime("%Y-%m-%dT%H:%M"),
        "signup_deadline": local(activity_out.signup_deadline).strftime("%Y-%m-%dT%H:%M"),
        "quota": str(activity_out.quota),
        "points_rule": activity_out.points_rule,
        "points": str(activity_out.points),
        "radius_m": str(activity_out.radius_m),
    }


def test_the_staff_page_edits_and_cancels_an_upcoming_activity(crew, client_for, later):
    event, people = later
    client = client_for(crew.grid_leader)
    page = f"/volunteers/staff/activities/{event.pk}/"
    shown = client.get(page).content.decode()
    assert 'id="edit-form"' in shown and 'value="周三走访"' in shown and 'id="cancel-activity-form"' in shown
    event.starts_at = event.starts_at.replace(second=0, microsecond=0)  # the form keeps minutes
    saved = client.post(f"{page}edit/", {**form_of(event), "quota": "3", "title": "入户走访"}, follow=True)
    assert "已保存" in saved.content.decode()
    event.refresh_from_db()
    assert (event.title, event.quota) == ("入户走访", 3)
    assert Signup.objects.get(volunteer=people[2]).state == "signed_up"
    refused = client.post(f"{page}cancel/", {"reason": ""}, follow=True).content.decode()
    assert 'class="error"' in refused and Activity.objects.get(pk=event.pk).state == "published"
    done = client.post(f"{page}cancel/", {"reason": "场地临时占用"}, follow=True).content.decode()
    assert "场地临时占用" in done and 'id="edit-form"' not in done
    portal = client_for(people[0].user).get("/volunteers/").content.decode()
    assert "activity-cancelled" in portal and "场地临时占用" in portal


def test_the_staff_page_removes_a_member_and_revokes_a_certificate(crew, client_for, team):
    from gridgov.volunteers import certificate

    created, lead, member = team
    client = client_for(crew.grid_leader)
    shown = client.get("/volunteers/staff/").content.decode()
    assert f'data-member="{member.pk}"' in shown
    url = f"/volunteers/staff/teams/{created.pk}/members/{member.pk}/remove/"
    client.post(url, {"reason": "搬走了"})
    member.refresh_from_db()
    assert member.team_id is None
    served = activity(crew.grid_leader, crew.grid_a)
    services.sign_up(lead.user, served.pk)
    services.check_in(lead.user, served.pk, {"lat": PLACE_A[0], "lon": PLACE_A[1]})
    services.close(crew.grid_leader, served.pk)
    paper, _new = certificate.issue(crew.grid_leader, year=timezone.localdate().year, volunteer_id=lead.pk)
    assert f'data-certificate="{paper.pk}"' in client.get("/volunteers/staff/").content.decode()
    client.post(f"/volunteers/staff/certificates/{paper.pk}/revoke/", {"reason": "信息有误"})
    paper.refresh_from_db()
    assert paper.revoked_at is not None and paper.revoke_reason == "信息有误"
    elsewhere = client_for(crew.grid_leader_b).post(
        f"/volunteers/staff/certificates/{paper.pk}/revoke/", {"reason": "x"}, follow=True
    )
    assert 'class="error"' in elsewhere.content.decode()
