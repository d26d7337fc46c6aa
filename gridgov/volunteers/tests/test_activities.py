"""Publishing activities, signing up, the waiting list and cancelling, through the HTTP API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.volunteers.models import Activity, ActivityLog, Signup
from gridgov.volunteers.tests.conftest import activity, activity_data, as_json, post, volunteer

pytestmark = pytest.mark.django_db


def test_publishing_an_activity(crew, client_for):
    client = client_for(crew.grid_leader)
    data = as_json(
        activity_data(crew.grid_a, crs="gcj02", lat=31.328, lon=120.514, radius_m=150, signup_deadline=None)
    )
    response = post(client, "/api/v1/volunteers/activities", data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["grid"]["code"] == crew.grid_a.code and body["kind"] == "grid_wednesday"
    assert body["organizer"] == "李组长" and body["state"] == "published" and body["radius_m"] == 150
    assert body["taken"] == 0 and body["quota"] == 5 and body["signup_deadline"] == body["starts_at"]
    # GCJ-02 from a Chinese map is stored as WGS-84: a few hundred metres away from the typed point.
    assert body["lat"] != 31.328 and abs(body["lat"] - 31.328) < 0.01
    assert ActivityLog.objects.get().action == "publish"
    default = post(client, "/api/v1/volunteers/activities", as_json(activity_data(crew.grid_a)))
    assert default.json()["radius_m"] == 200


def test_bad_activities_are_400_per_field_and_save_nothing(crew, client_for):
    now = timezone.now()
    data = as_json(
        activity_data(
            crew.grid_a,
            title="",
            kind="party",
            lat=95,
            starts_at=now + timedelta(hours=2),
            ends_at=now + timedelta(hours=1),
            quota=0,
            points_rule="per_day",
            points=-1,
            radius_m=5,
            grid_code="000",
        )
    )
    response = post(client_for(crew.grid_leader), "/api/v1/volunteers/activities", data)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {
        "title",
        "kind",
        "lat",
        "ends_at",
        "quota",
        "points_rule",
        "points",
        "radius_m",
        "grid_code",
    }
    assert errors["ends_at"] == ["结束时间须晚于开始时间。"]
    assert errors["quota"] == ["请输入 1 到 10000 之间的整数。"]
    assert not Activity.objects.exists() and not ActivityLog.objects.exists()
    too_long = as_json(activity_data(crew.grid_a, ends_at=now + timedelta(hours=30)))
    assert (
        "ends_at"
        in post(client_for(crew.grid_leader), "/api/v1/volunteers/activities", too_long).json()["errors"]
    )


def test_who_publishes_where(crew, client_for):
    data = as_json(activity_data(crew.grid_b))
    refused = post(client_for(crew.grid_leader), "/api/v1/volunteers/activities", data)
    assert refused.status_code == 403 and crew.grid_b.name in refused.json()["detail"]
    assert post(client_for(crew.worker), "/api/v1/volunteers/activities", data).status_code == 403
    assert post(client_for(crew.resident), "/api/v1/volunteers/activities", data).status_code == 403
    street = as_json(activity_data(crew.district.street))
    assert post(client_for(crew.leader), "/api/v1/volunteers/activities", street).status_code == 403
    assert not Activity.objects.exists()


def test_sign_up_the_waiting_list_and_promotion_first_come(crew, client_for):
    event = activity(crew.grid_leader, crew.grid_a, quota=2, starts_at=timezone.now() + timedelta(hours=1))
    people = [volunteer(crew.grid_a, crew.grid_leader, name=f"志愿者{i}") for i in range(4)]
    url = f"/api/v1/volunteers/activities/{event.pk}"
    answers = [post(client_for(p.user), f"{url}/signup") for p in people]
    assert [r.status_code for r in answers] == [201, 201, 201, 201]
    assert [r.json()["my_signup"] for r in answers] == ["signed_up", "signed_up", "waiting", "waiting"]
    assert answers[-1].json()["taken"] == 2 and answers[-1].json()["waiting"] == 2
    again = post(client_for(people[2].user), f"{url}/signup")
    assert again.status_code == 200 and again.json()["my_signup"] == "waiting"

    cancelled = post(client_for(people[0].user), f"{url}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["my_signup"] == "cancelled"
    states = dict(Signup.objects.values_list("volunteer_id", "state"))
    assert states == {
        people[0].pk: "cancelled",
        people[1].pk: "signed_up",
        people[2].pk: "signed_up",
        people[3].pk: "waiting",
    }
    # A waiting volunteer leaving moves no one; coming back puts one at the end of the queue.
    post(client_for(people[3].user), f"{url}/cancel")
    back = post(client_for(people[0].user), f"{url}/signup")
    assert back.status_code == 201 and back.json()["my_signup"] == "waiting"
    post(client_for(people[3].user), f"{url}/signup")
    post(client_for(people[1].user), f"{url}/cancel")
    assert Signup.objects.get(volunteer=people[0]).state == "signed_up"  # first in the queue
    assert Signup.objects.get(volunteer=people[3]).state == "waiting"

    signups = client_for(crew.grid_leader).get(f"{url}/signups").json()
    assert [s["volunteer_id"] for s in signups if s["state"] == "signed_up"] == [people[2].pk, people[0].pk]


def test_sign_up_rules(crew, client_for):
    now = timezone.now()
    mine = volunteer(crew.grid_a, crew.grid_leader)
    client = client_for(mine.user)
    late = activity(crew.grid_leader, crew.grid_a, signup_deadline=now - timedelta(minutes=1))
    response = post(client, f"/api/v1/volunteers/activities/{late.pk}/signup")
    assert response.status_code == 409 and "报名已截止" in response.json()["detail"]
    started = activity(crew.grid_leader, crew.grid_a)
    post(client, f"/api/v1/volunteers/activities/{started.pk}/signup")
    refused = post(client, f"/api/v1/volunteers/activities/{started.pk}/cancel")
    assert refused.status_code == 409
    assert Signup.objects.get(activity=started).state == "signed_up"
    # Only approved volunteers take part.
    pending = volunteer(crew.grid_a, crew.grid_leader, approved=False)
    upcoming = activity(crew.grid_leader, crew.grid_a, starts_at=now + timedelta(hours=1))
    assert (
        post(client_for(pending.user), f"/api/v1/volunteers/activities/{upcoming.pk}/signup").status_code
        == 403
    )
    assert (
        post(client_for(crew.resident), f"/api/v1/volunteers/activities/{upcoming.pk}/signup").status_code
        == 403
    )
    assert (
        post(client_for(crew.resident), f"/api/v1/volunteers/activities/{upcoming.pk}/cancel").status_code
        == 404
    )


def test_activities_reach_the_line_of_the_tree(crew, client_for):
    """A street's activity reaches grid A's volunteers; grid B's activity does not."""
    mine = volunteer(crew.grid_a, crew.grid_leader)
    street_leader = staff(Role.LEADER, crew.district.street)
    street = activity(street_leader, crew.district.street, title="街道清洁日")
    own = activity(crew.grid_leader, crew.grid_a, title="本网格巡逻")
    micro = activity(crew.grid_leader, crew.district.micro_grids[0], title="楼道清理")
    other = activity(crew.grid_leader_b, crew.grid_b, title="乙网格活动")
    client = client_for(mine.user)
    listed = client.get("/api/v1/volunteers/me/activities").json()
    assert {a["id"] for a in listed["items"]} == {street.pk, own.pk, micro.pk}
    assert client.get(f"/api/v1/volunteers/activities/{other.pk}").status_code == 404
    assert post(client, f"/api/v1/volunteers/activities/{other.pk}/signup").status_code == 404
    assert client.get(f"/api/v1/volunteers/activities/{street.pk}").json()["my_signup"] is None
    # Staff lists are scoped: grid B's leader sees only grid B's activity.
    staff_b = client_for(crew.grid_leader_b).get("/api/v1/volunteers/activities").json()
    assert [a["id"] for a in staff_b["items"]] == [other.pk]
    assert (
        client_for(crew.grid_leader_b).get(f"/api/v1/volunteers/activities/{own.pk}/signups").status_code
        == 404
    )
