"""A grid's seven posts, filled or vacant, through the API: GET /grids/{code}/posts and
GET /grids/{code}/staffing."""

import json

import pytest

from gridgov.accounts.models import Post, Role
from gridgov.core.testing import admin_user, staff
from gridgov.grids.tests.conftest import holding

pytestmark = pytest.mark.django_db

SEVEN = ["manager", "assistant", "police_officer", "supervisor", "party_secretary", "judicial_worker",
         "firefighter"]


def test_a_grid_worker_sees_their_grids_posts_filled_or_vacant_with_masked_phones(crew, client_for):
    response = client_for(crew.worker).get(f"/api/v1/grids/{crew.grid.code}/posts")
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["name"], body["level"]) == (crew.grid.code, "社区1网格1", 3)
    assert [p["post"] for p in body["posts"]] == SEVEN
    assert (body["filled"], body["total"]) == (3, 7)
    assert body["leader"]["name"] == "王网格长" and body["leader"]["phone"] == "139****0001"
    posts = {p["post"]: p for p in body["posts"]}
    assert [h["name"] for h in posts["police_officer"]["holders"]] == ["李警官"]
    assert posts["supervisor"]["label"] == "城管监督员" and not posts["supervisor"]["vacant"]
    assert posts["supervisor"]["holders"][0]["phone"] == "139****0003"
    assert [p for p, v in posts.items() if v["vacant"]] == [
        "assistant", "party_secretary", "judicial_worker", "firefighter"]
    assert all(posts[p]["holders"] == [] for p in ("assistant", "firefighter"))
    assert "1390000000" not in json.dumps(body)  # no full phone anywhere


def test_ended_assignments_and_residents_hold_no_post(crew, client_for):
    crew.police.assignments.update(is_active=False)
    crew.resident.assignments.update(post=Post.FIREFIGHTER)  # a data error: residents are not staff
    body = client_for(crew.leader).get(f"/api/v1/grids/{crew.grid.code}/posts").json()
    posts = {p["post"]: p for p in body["posts"]}
    assert posts["police_officer"]["vacant"] and posts["firefighter"]["vacant"]
    assert body["filled"] == 2


def test_a_grid_without_a_leader_says_so(crew, client_for):
    body = client_for(admin_user()).get(f"/api/v1/grids/{crew.b.code}/posts").json()
    assert body["leader"] is None and body["filled"] == 0
    assert all(p["vacant"] for p in body["posts"])


def test_posts_of_a_grid_outside_my_area_are_404(crew, client_for):
    assert client_for(crew.b_worker).get(f"/api/v1/grids/{crew.grid.code}/posts").status_code == 404
    assert client_for(crew.worker).get(f"/api/v1/grids/{crew.b.code}/posts").status_code == 404
    # the community above a worker's grid is not theirs either
    community = crew.grid.parent.code
    assert client_for(crew.worker).get(f"/api/v1/grids/{community}/posts").status_code == 404


def test_posts_need_a_login(crew, client):
    assert client.get(f"/api/v1/grids/{crew.grid.code}/posts").status_code == 401


def test_a_community_leader_sees_how_staffed_each_grid_is(district, crew, client_for):
    holding(Post.FIREFIGHTER, Role.GRID_WORKER, district.grids[1], name="吴消防")
    leader = staff(Role.LEADER, district.communities[0])
    response = client_for(leader).get(f"/api/v1/grids/{district.communities[0].code}/staffing?depth=1")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["items"]
    assert (first["code"], first["filled"], first["total"], first["leader"]) == (
        crew.grid.code, 3, 7, "王网格长")
    assert first["vacant"] == ["assistant", "party_secretary", "judicial_worker", "firefighter"]
    assert (second["code"], second["filled"], second["leader"]) == (district.grids[1].code, 1, "")
    assert "firefighter" not in second["vacant"] and len(second["vacant"]) == 6


def test_staffing_goes_down_depth_levels_and_pages(district, crew, client_for):
    leader = staff(Role.LEADER, district.communities[0])
    client = client_for(leader)
    url = f"/api/v1/grids/{district.communities[0].code}/staffing?depth=2"
    body = client.get(url).json()
    assert body["count"] == 6  # two grids and their four micro-grids
    assert {row["level"] for row in body["items"]} == {3, 4}
    page = client.get(f"{url}&limit=2&offset=2").json()
    assert [row["code"] for row in page["items"]] == [row["code"] for row in body["items"][2:4]]


def test_staffing_refuses_a_bad_depth_and_grids_outside_my_area(district, crew, client_for):
    client = client_for(crew.worker)
    for depth in ("0", "6", "x"):
        response = client.get(f"/api/v1/grids/{crew.grid.code}/staffing?depth={depth}")
        assert response.status_code == 400 and "depth" in response.json()["errors"], depth
    assert client.get(f"/api/v1/grids/{crew.b.code}/staffing").status_code == 404
    assert client.get(f"/api/v1/grids/{district.communities[0].code}/staffing").status_code == 404
    # their own grid: its two micro-grids, nothing of grid B
    rows = client.get(f"/api/v1/grids/{crew.grid.code}/staffing").json()["items"]
    assert [row["code"] for row in rows] == [m.code for m in district.micro_grids[:2]]
