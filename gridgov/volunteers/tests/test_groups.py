"""Interest groups (兴趣小组): staff set them up, volunteers on the grid's line join and leave,
the organizer and staff send notices that reach the members as in-app notifications."""

import pytest

from gridgov.accounts.models import Role
from gridgov.cases.models import Notification
from gridgov.core.testing import staff
from gridgov.volunteers import services
from gridgov.volunteers.models import GroupMember, GroupNotice, InterestGroup
from gridgov.volunteers.tests.conftest import post, volunteer

pytestmark = pytest.mark.django_db


def make_group(crew, **overrides):
    data = {"grid_code": crew.grid_a.code, "name": "太极拳小组", "description": "每周六早上"}
    return services.create_group(crew.grid_leader, **{**data, **overrides})


def test_staff_set_up_a_group_with_a_volunteer_organizer(crew, client_for):
    organizer = volunteer(crew.grid_a, crew.grid_leader, name="钱组织")
    response = post(
        client_for(crew.grid_leader),
        "/api/v1/volunteers/groups",
        {"grid_code": crew.grid_a.code, "name": "书法小组", "organizer_volunteer_id": organizer.pk},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["organizer_id"], body["members"], body["state"]) == (organizer.user_id, 1, "open")
    # The organizer belongs to it, and may speak to it.
    mine = client_for(organizer.user).get(f"/api/v1/volunteers/groups/{body['id']}").json()
    assert mine["is_member"] and mine["may_post"]


def test_bad_input_is_refused_per_field_and_nothing_is_saved(crew, client_for):
    other = volunteer(crew.grid_b, crew.grid_leader_b)  # serves grid B: not on grid A's line
    response = post(
        client_for(crew.grid_leader),
        "/api/v1/volunteers/groups",
        {"grid_code": "", "name": " ", "organizer_volunteer_id": other.pk},
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"grid_code", "name"}
    response = post(
        client_for(crew.grid_leader),
        "/api/v1/volunteers/groups",
        {"grid_code": crew.grid_a.code, "name": "书法", "organizer_volunteer_id": other.pk},
    )
    assert response.status_code == 400 and "organizer_volunteer_id" in response.json()["errors"]
    assert not InterestGroup.objects.exists()


def test_only_volunteer_managers_set_up_groups(crew, client_for):
    body = {"grid_code": crew.grid_a.code, "name": "书法小组"}
    for who in (crew.worker, crew.auditor, crew.resident):
        assert post(client_for(who), "/api/v1/volunteers/groups", body).status_code == 403
    body["grid_code"] = crew.grid_b.code
    assert post(client_for(crew.grid_leader), "/api/v1/volunteers/groups", body).status_code == 403
    assert not InterestGroup.objects.exists()


def test_join_and_leave_are_idempotent(crew, client_for):
    group = make_group(crew)
    client = client_for(volunteer(crew.grid_a, crew.grid_leader).user)
    url = f"/api/v1/volunteers/groups/{group.pk}"
    assert post(client, f"{url}/join").status_code == 201
    again = post(client, f"{url}/join")
    assert again.status_code == 200 and again.json()["members"] == 1 and again.json()["is_member"]
    left = post(client, f"{url}/leave")
    assert left.status_code == 200 and left.json()["members"] == 0 and not left.json()["is_member"]
    assert post(client, f"{url}/leave").status_code == 200
    assert post(client, f"{url}/join").status_code == 201  # back again, the same row
    assert GroupMember.objects.count() == 1


def test_groups_reach_the_grid_line_of_the_tree(crew, client_for):
    street_leader = staff(Role.LEADER, crew.district.street)
    street_group = services.create_group(
        street_leader, grid_code=crew.district.street.code, name="街道合唱团"
    )
    grid_group = make_group(crew)
    mine = client_for(volunteer(crew.grid_a, crew.grid_leader).user)
    listed = {g["name"] for g in mine.get("/api/v1/volunteers/me/groups").json()["items"]}
    assert listed == {"街道合唱团", "太极拳小组"}
    other = client_for(volunteer(crew.grid_b, crew.grid_leader_b).user)
    assert {g["name"] for g in other.get("/api/v1/volunteers/me/groups").json()["items"]} == {"街道合唱团"}
    assert post(other, f"/api/v1/volunteers/groups/{grid_group.pk}/join").status_code == 404
    assert post(other, f"/api/v1/volunteers/groups/{street_group.pk}/join").status_code == 201
    # Applicants and plain residents do not join.
    applicant = volunteer(crew.grid_a, crew.grid_leader, name="申请人", approved=False)
    assert (
        post(client_for(applicant.user), f"/api/v1/volunteers/groups/{grid_group.pk}/join").status_code == 403
    )
    assert (
        post(client_for(crew.resident), f"/api/v1/volunteers/groups/{grid_group.pk}/join").status_code == 403
    )


def test_notices_reach_the_members_as_notifications(crew, client_for):
    organizer = volunteer(crew.grid_a, crew.grid_leader, name="钱组织")
    group = make_group(crew, organizer_volunteer_id=organizer.pk)
    members = [volunteer(crew.grid_a, crew.grid_leader, name=f"成员{i}") for i in range(2)]
    for member in members:
        services.join_group(member.user, group.pk)
    left = volunteer(crew.grid_a, crew.grid_leader, name="退出者")
    services.join_group(left.user, group.pk)
    services.leave_group(left.user, group.pk)

    sent = post(
        client_for(organizer.user), f"/api/v1/volunteers/groups/{group.pk}/notices", {"text": "周六7点集合"}
    )
    assert sent.status_code == 201 and sent.json()["recipients"] == 2
    told = Notification.objects.filter(kind="volunteer_group")
    assert {n.user_id for n in told} == {m.user_id for m in members}
    assert all("周六7点集合" in n.text and "太极拳小组" in n.text for n in told)
    # Staff of the grid speak to the group too; members read the notices, outsiders do not.
    assert (
        post(
            client_for(crew.leader), f"/api/v1/volunteers/groups/{group.pk}/notices", {"text": "改到8点"}
        ).status_code
        == 201
    )
    listed = client_for(members[0].user).get(f"/api/v1/volunteers/groups/{group.pk}/notices").json()
    assert [n["text"] for n in listed["items"]] == ["改到8点", "周六7点集合"]
    outsider = client_for(volunteer(crew.grid_a, crew.grid_leader, name="路人").user)
    assert outsider.get(f"/api/v1/volunteers/groups/{group.pk}/notices").status_code == 403
    assert outsider.get(f"/api/v1/volunteers/groups/{group.pk}/members").status_code == 403
    assert client_for(members[0].user).get(f"/api/v1/volunteers/groups/{group.pk}/members").status_code == 403
    roster = client_for(organizer.user).get(f"/api/v1/volunteers/groups/{group.pk}/members").json()
    assert roster["count"] == 3 and all("*" in m["phone"] for m in roster["items"])


def test_members_do_not_send_notices_and_bad_text_is_refused(crew, client_for):
    group = make_group(crew)
    member = volunteer(crew.grid_a, crew.grid_leader)
    services.join_group(member.user, group.pk)
    url = f"/api/v1/volunteers/groups/{group.pk}/notices"
    assert post(client_for(member.user), url, {"text": "大家好"}).status_code == 403
    for text in ("  ", "长" * 301):
        response = post(client_for(crew.grid_leader), url, {"text": text})
        assert response.status_code == 400 and "text" in response.json()["errors"]
    assert not GroupNotice.objects.exists() and not Notification.objects.exists()


def test_a_closed_group_takes_no_members_or_notices(crew, client_for):
    group = make_group(crew)
    member = volunteer(crew.grid_a, crew.grid_leader)
    services.join_group(member.user, group.pk)
    staff = client_for(crew.grid_leader)
    assert post(client_for(crew.auditor), f"/api/v1/volunteers/groups/{group.pk}/close").status_code == 403
    closed = post(staff, f"/api/v1/volunteers/groups/{group.pk}/close")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert post(staff, f"/api/v1/volunteers/groups/{group.pk}/close").status_code == 200
    newcomer = client_for(volunteer(crew.grid_a, crew.grid_leader, name="新人").user)
    assert post(newcomer, f"/api/v1/volunteers/groups/{group.pk}/join").status_code == 409  # closed
    assert post(staff, f"/api/v1/volunteers/groups/{group.pk}/notices", {"text": "还在吗"}).status_code == 409
    # A member may still read it and leave it.
    assert client_for(member.user).get(f"/api/v1/volunteers/groups/{group.pk}").status_code == 200
    assert post(client_for(member.user), f"/api/v1/volunteers/groups/{group.pk}/leave").status_code == 200


def test_the_group_pages(crew, client_for):
    organizer = volunteer(crew.grid_a, crew.grid_leader, name="钱组织")
    staff = client_for(crew.grid_leader)
    created = staff.post(
        "/volunteers/staff/groups/",
        {"grid_code": crew.grid_a.code, "name": "摄影小组", "organizer_volunteer_id": str(organizer.pk)},
    )
    group = InterestGroup.objects.get()
    assert created["Location"] == f"/volunteers/groups/{group.pk}/"
    assert f'data-group="{group.pk}"' in staff.get("/volunteers/staff/").content.decode()
    member = volunteer(crew.grid_a, crew.grid_leader, name="孙成员")
    portal = client_for(member.user)
    assert "摄影小组" in portal.get("/volunteers/").content.decode()
    page = portal.get(f"/volunteers/groups/{group.pk}/").content.decode()
    assert 'id="join-group"' in page and 'id="group-notices"' not in page
    portal.post(f"/volunteers/groups/{group.pk}/join/")
    client_for(organizer.user).post(f"/volunteers/groups/{group.pk}/notice/", {"text": "周日去公园拍照"})
    page = portal.get(f"/volunteers/groups/{group.pk}/").content.decode()
    assert "周日去公园拍照" in page and 'id="leave-group"' in page and 'id="notice-form"' not in page
    organizer_page = client_for(organizer.user).get(f"/volunteers/groups/{group.pk}/").content.decode()
    assert 'id="group-members"' in organizer_page and "孙成员" in organizer_page
    staff.post(f"/volunteers/groups/{group.pk}/close/")
    assert InterestGroup.objects.get().state == "closed"
    assert client_for(crew.grid_leader_b).get(f"/volunteers/groups/{group.pk}/").status_code == 404
