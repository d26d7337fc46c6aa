"""The patrol API through the HTTP client: what a phone and a leader's page rely on."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.patrols import services
from gridgov.patrols.models import Patrol, TrackPoint
from gridgov.patrols.tests.conftest import walk

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def as_json(points):
    return [{**p, "at": p["at"].isoformat()} for p in points]


def test_start_is_201_then_200_with_the_same_patrol(crew, client_for):
    client = client_for(crew.worker)
    first = post(client, "/api/v1/patrols", {"client_key": "k-1"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["created"] is True and body["running"] is True and body["grid"]["code"] == crew.grid_a.code
    assert body["distance_m"] == 0 and body["point_count"] == 0 and body["ended_at"] is None
    again = post(client, "/api/v1/patrols", {"client_key": "k-2"})
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["created"] is False


def test_start_refusals(crew, client_for):
    response = post(client_for(crew.resident), "/api/v1/patrols")
    assert response.status_code == 403 and "网格员" in response.json()["detail"]
    response = post(client_for(crew.two_grids), "/api/v1/patrols")
    assert response.status_code == 400 and "grid_code" in response.json()["errors"]
    response = post(client_for(crew.two_grids), "/api/v1/patrols", {"grid_code": crew.grid_b.code})
    assert response.status_code == 400 and crew.grid_b.code in response.json()["errors"]["grid_code"][0]
    assert post(Client(), "/api/v1/patrols").status_code == 401


def test_points_go_in_once_and_update_the_figures(crew, client_for):
    client = client_for(crew.worker)
    patrol_id = post(client, "/api/v1/patrols").json()["id"]
    patrol = Patrol.objects.get(pk=patrol_id)
    points = as_json(walk(patrol, 3))
    response = post(client, f"/api/v1/patrols/{patrol_id}/points", {"points": points})
    assert response.status_code == 200, response.content
    assert response.json()["added"] == 3
    assert response.json()["patrol"]["point_count"] == 3
    assert response.json()["patrol"]["distance_m"] == pytest.approx(22.2, abs=0.5)
    resent = post(client, f"/api/v1/patrols/{patrol_id}/points", {"points": points})
    assert resent.status_code == 200 and resent.json()["added"] == 0
    assert TrackPoint.objects.count() == 3


def test_refused_points_are_400_with_an_error_per_point_and_field(crew, client_for):
    client = client_for(crew.worker)
    patrol_id = post(client, "/api/v1/patrols").json()["id"]
    patrol = Patrol.objects.get(pk=patrol_id)
    good, early, late = as_json(walk(patrol, 3))
    early["at"] = (patrol.started_at - timedelta(hours=1)).isoformat()
    late["at"] = (timezone.now() + timedelta(hours=1)).isoformat()
    response = post(client, f"/api/v1/patrols/{patrol_id}/points", {"points": [good, early, late]})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"points.1.at", "points.2.at"}
    assert response.json()["detail"] == errors["points.1.at"][0]
    assert not TrackPoint.objects.exists()
    missing = post(client, f"/api/v1/patrols/{patrol_id}/points", {"points": [{"lat": 31.3, "lon": 120.5}]})
    assert missing.status_code == 400 and missing.json()["errors"]["points.0.at"] == ["此项必填。"]


def test_stop_is_idempotent_and_later_points_are_409(crew, client_for):
    client = client_for(crew.worker)
    patrol_id = post(client, "/api/v1/patrols").json()["id"]
    stopped = post(client, f"/api/v1/patrols/{patrol_id}/stop")
    assert stopped.status_code == 200 and stopped.json()["running"] is False
    again = post(client, f"/api/v1/patrols/{patrol_id}/stop")
    assert again.status_code == 200 and again.json()["ended_at"] == stopped.json()["ended_at"]
    late = post(
        client,
        f"/api/v1/patrols/{patrol_id}/points",
        {"points": as_json(walk(Patrol.objects.get(pk=patrol_id), 1))},
    )
    assert late.status_code == 409 and "已结束" in late.json()["detail"]


def test_another_workers_patrol(crew, client_for):
    patrol, _ = services.start(crew.worker)
    url = f"/api/v1/patrols/{patrol.pk}"
    colleague = client_for(crew.colleague)
    assert colleague.get(url).status_code == 200  # the same grid: seen, ...
    assert post(colleague, f"{url}/stop").status_code == 403  # ... but not stopped by someone else
    other_grid = client_for(crew.worker_b)
    assert other_grid.get(url).status_code == 404
    assert post(other_grid, f"{url}/stop").status_code == 404
    assert post(other_grid, f"{url}/points", {"points": as_json(walk(patrol, 1))}).status_code == 404
    assert client_for(crew.handler).get(url).status_code == 404
    assert Patrol.objects.get().is_running


def test_the_detail_has_the_track(crew, client_for):
    patrol, _ = services.start(crew.worker)
    services.add_points(crew.worker, patrol.pk, walk(patrol, 3))
    body = client_for(crew.grid_leader).get(f"/api/v1/patrols/{patrol.pk}").json()
    assert body["worker"] == "张网格" and body["point_count"] == 3
    track = body["track"]
    assert track["type"] == "Feature" and track["geometry"]["type"] == "LineString"
    assert track["geometry"]["coordinates"][0] == [120.505, 31.335]  # lon, lat


def test_the_list_is_scoped_filtered_and_paginated(crew, client_for):
    a, _ = services.start(crew.worker)
    services.stop(crew.worker, a.pk)
    a2, _ = services.start(crew.worker)
    b, _ = services.start(crew.worker_b)
    yesterday = timezone.now() - timedelta(days=1)
    Patrol.objects.filter(pk=b.pk).update(started_at=yesterday)

    leader = client_for(crew.leader)
    page = leader.get("/api/v1/patrols").json()
    assert page["count"] == 3 and [p["id"] for p in page["items"]] == [a2.pk, a.pk, b.pk]
    assert leader.get("/api/v1/patrols", {"limit": 1}).json()["items"][0]["id"] == a2.pk
    assert {p["id"] for p in leader.get("/api/v1/patrols", {"running": "true"}).json()["items"]} == {
        a2.pk,
        b.pk,
    }
    assert leader.get("/api/v1/patrols", {"running": "false"}).json()["count"] == 1
    by_worker = leader.get("/api/v1/patrols", {"worker_id": crew.worker_b.pk}).json()["items"]
    assert [p["id"] for p in by_worker] == [b.pk]
    today = timezone.localdate().isoformat()
    assert {p["id"] for p in leader.get("/api/v1/patrols", {"date": today}).json()["items"]} == {a.pk, a2.pk}

    mine = client_for(crew.colleague).get("/api/v1/patrols").json()
    assert {p["id"] for p in mine["items"]} == {a.pk, a2.pk}
    assert client_for(crew.handler).get("/api/v1/patrols").json()["count"] == 0


def test_the_page_way_session_cookie_and_csrf_header(crew):
    """The page posts JSON with the session cookie and X-CSRFToken, as patrol.js does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew.worker)
    client.get("/patrols/")
    token = client.cookies["csrftoken"].value
    assert client.post("/api/v1/patrols", {}, content_type="application/json").status_code == 403
    started = client.post("/api/v1/patrols", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert started.status_code == 201
