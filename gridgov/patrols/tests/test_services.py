"""Patrol rules: who patrols, one running patrol, repeat-safe points, distance, stop and auto-close."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from gridgov.grids.locator import to_wgs84
from gridgov.patrols import services
from gridgov.patrols.models import Patrol, TrackPoint
from gridgov.patrols.tests.conftest import walk

pytestmark = pytest.mark.django_db


def test_grid_workers_grid_leaders_and_building_heads_patrol_their_own_grid(crew):
    for user, grid in (
        (crew.worker, crew.grid_a),
        (crew.grid_leader, crew.grid_a),
        (crew.building_head, crew.district.micro_grids[0]),
    ):
        patrol, created = services.start(user)
        assert created and patrol.grid == grid and patrol.is_running and patrol.worker == user


@pytest.mark.parametrize("who", ["leader", "dispatcher", "handler", "resident"])
def test_other_roles_cannot_start_a_patrol(crew, who):
    with pytest.raises(PermissionDenied):
        services.start(getattr(crew, who))
    assert not Patrol.objects.exists()


def test_a_worker_of_several_grids_chooses_one_of_theirs(crew):
    with pytest.raises(ValidationError) as error:
        services.start(crew.two_grids)
    assert "grid_code" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.start(crew.two_grids, grid_code=crew.grid_b.code)
    assert crew.grid_b.code in error.value.message_dict["grid_code"][0]
    patrol, created = services.start(crew.two_grids, grid_code=crew.district.grids[1].code)
    assert created and patrol.grid == crew.district.grids[1]
    again, created = services.start(crew.two_grids)  # a retry need not name the grid again
    assert again == patrol and not created


def test_one_running_patrol_per_worker(crew):
    first, created = services.start(crew.worker)
    again, created_again = services.start(crew.worker)
    assert created and not created_again and again == first
    services.stop(crew.worker, first.pk)
    second, created = services.start(crew.worker)
    assert created and second != first
    assert Patrol.objects.running().filter(worker=crew.worker).count() == 1


def test_the_same_client_key_returns_the_same_patrol_even_after_it_ended(crew):
    patrol, created = services.start(crew.worker, client_key="phone-7f3a")
    services.stop(crew.worker, patrol.pk)
    retried, created_again = services.start(crew.worker, client_key="phone-7f3a")
    assert created and not created_again and retried == patrol
    assert Patrol.objects.count() == 1


def test_points_sent_twice_are_stored_once(crew):
    patrol, _ = services.start(crew.worker)
    points = walk(patrol, 4)
    assert services.add_points(crew.worker, patrol.pk, points[:3]) == 3
    assert services.add_points(crew.worker, patrol.pk, points) == 1  # a batch resent with one new point
    assert services.add_points(crew.worker, patrol.pk, points + points) == 0
    patrol.refresh_from_db()
    assert patrol.point_count == 4 == TrackPoint.objects.filter(patrol=patrol).count()
    assert patrol.distance_m == pytest.approx(3 * 11.1, rel=0.01)


def test_a_gcj02_point_is_stored_in_wgs84(crew):
    patrol, _ = services.start(crew.worker)
    sent = {
        "at": patrol.started_at + timedelta(seconds=5),
        "lat": 31.335,
        "lon": 120.505,
        "crs": "gcj02",
        "accuracy": None,
    }
    services.add_points(crew.worker, patrol.pk, [sent])
    point = TrackPoint.objects.get(patrol=patrol)
    assert (point.lat, point.lon) == pytest.approx(to_wgs84(31.335, 120.505, "gcj02"))
    # GCJ-02 is offset by a few hundred metres around Suzhou: the stored point really moved.
    assert services.haversine_m(point.lat, point.lon, 31.335, 120.505) > 200
    assert point.accuracy_m is None


def test_points_before_the_start_or_in_the_future_are_refused_with_a_message_each(crew):
    patrol, _ = services.start(crew.worker)
    good, early, late = walk(patrol, 3)
    early["at"] = patrol.started_at - timedelta(minutes=1)
    late["at"] = timezone.now() + timedelta(minutes=6)
    bad_place = {**good, "at": good["at"] + timedelta(seconds=1), "lat": 91.0, "crs": "utm"}
    with pytest.raises(ValidationError) as error:
        services.add_points(crew.worker, patrol.pk, [good, early, late, bad_place])
    errors = error.value.message_dict
    assert set(errors) == {"points.1.at", "points.2.at", "points.3.lat", "points.3.crs"}
    assert "巡查开始之前" in errors["points.1.at"][0]
    assert "未来" in errors["points.2.at"][0]
    assert not TrackPoint.objects.exists()  # the whole batch is refused; the phone drops the bad ones
    slightly_ahead = {**good, "at": timezone.now() + timedelta(minutes=4)}  # a phone clock a little fast
    assert services.add_points(crew.worker, patrol.pk, [good, slightly_ahead]) == 2


def test_a_gps_glitch_does_not_count_in_the_distance(crew):
    patrol, _ = services.start(crew.worker)
    points = walk(patrol, 5)
    points[2]["lat"] += 0.05  # 5.5 km away and back within 10 seconds each way
    services.add_points(crew.worker, patrol.pk, points)
    patrol.refresh_from_db()
    assert patrol.point_count == 5
    # Steps 0→1 and 3→4 are walked (about 11 m each); the jumps out to the glitch and back are not.
    assert patrol.distance_m == pytest.approx(2 * 11.1, rel=0.01)


def test_the_distance_follows_the_time_order_not_the_order_sent(crew):
    patrol, _ = services.start(crew.worker)
    points = walk(patrol, 4)
    services.add_points(crew.worker, patrol.pk, [points[3], points[0]])
    services.add_points(crew.worker, patrol.pk, [points[2], points[1]])
    patrol.refresh_from_db()
    assert patrol.distance_m == pytest.approx(3 * 11.1, rel=0.01)


def test_stop_is_idempotent_and_an_ended_patrol_takes_no_points(crew):
    patrol, _ = services.start(crew.worker)
    stopped = services.stop(crew.worker, patrol.pk)
    again = services.stop(crew.worker, patrol.pk)
    assert stopped.ended_at is not None and again.ended_at == stopped.ended_at
    assert not again.closed_automatically
    with pytest.raises(services.PatrolNotRunning):
        services.add_points(crew.worker, patrol.pk, walk(patrol, 1))


def test_only_the_patrols_own_worker_changes_it(crew):
    patrol, _ = services.start(crew.worker)
    with pytest.raises(PermissionDenied):  # a colleague of the same grid sees it but may not change it
        services.add_points(crew.colleague, patrol.pk, walk(patrol, 1))
    with pytest.raises(PermissionDenied):
        services.stop(crew.grid_leader, patrol.pk)
    with pytest.raises(Http404):  # outside their scope it does not exist
        services.stop(crew.worker_b, patrol.pk)
    assert Patrol.objects.get().is_running


def _age(patrol, hours: float) -> None:
    Patrol.objects.filter(pk=patrol.pk).update(started_at=timezone.now() - timedelta(hours=hours))
    patrol.refresh_from_db()


def test_patrols_forgotten_for_twelve_hours_are_closed(crew):
    walked, _ = services.start(crew.worker)
    _age(walked, 13)
    services.add_points(crew.worker, walked.pk, walk(walked, 3, every_s=600))
    idle, _ = services.start(crew.worker_b)
    _age(idle, 12.5)
    fresh, _ = services.start(crew.grid_leader)
    _age(fresh, 2)

    assert services.close_forgotten() == 2
    walked.refresh_from_db(), idle.refresh_from_db(), fresh.refresh_from_db()
    assert walked.closed_automatically and walked.ended_at == walked.started_at + timedelta(seconds=1201)
    assert idle.closed_automatically and idle.ended_at == idle.started_at + timedelta(hours=12)
    assert fresh.is_running and not fresh.closed_automatically
    assert services.close_forgotten() == 0


def test_the_auto_close_job_runs_every_quarter_hour():
    from huey.contrib.djhuey import HUEY

    from gridgov.patrols import tasks

    assert tasks.close_forgotten_patrols.task_class in HUEY._registry._periodic_tasks
    task = tasks.close_forgotten_patrols.task_class()
    assert task.validate_datetime(datetime(2026, 11, 23, 9, 15)) is True
    assert task.validate_datetime(datetime(2026, 11, 23, 9, 7)) is False


def test_the_auto_close_job_closes_them(crew):
    from gridgov.patrols import tasks

    patrol, _ = services.start(crew.worker)
    _age(patrol, 20)
    tasks.close_forgotten_patrols()  # huey runs jobs at once in tests
    patrol.refresh_from_db()
    assert patrol.closed_automatically and not patrol.is_running


def test_the_track_is_a_geojson_line_in_lon_lat_order(crew):
    patrol, _ = services.start(crew.worker)
    assert services.track_geojson(patrol)["geometry"] is None
    services.add_points(crew.worker, patrol.pk, walk(patrol, 1))
    assert services.track_geojson(patrol)["geometry"] == {"type": "Point", "coordinates": [120.505, 31.335]}
    services.add_points(crew.worker, patrol.pk, walk(patrol, 3))
    patrol.refresh_from_db()
    feature = services.track_geojson(patrol)
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "LineString"
    assert feature["geometry"]["coordinates"][0] == [120.505, 31.335]
    assert feature["geometry"]["coordinates"][2] == pytest.approx([120.505, 31.3352])
    assert feature["properties"]["point_count"] == 3 and feature["properties"]["running"] is True
    assert feature["properties"]["grid_code"] == crew.grid_a.code


def test_who_sees_patrols(crew):
    a, _ = services.start(crew.worker)
    b, _ = services.start(crew.worker_b)
    assert set(Patrol.objects.visible_to(crew.colleague)) == {a}
    assert set(Patrol.objects.visible_to(crew.grid_leader)) == {a}
    assert set(Patrol.objects.visible_to(crew.leader)) == {a, b}
    assert set(Patrol.objects.visible_to(crew.dispatcher)) == {a, b}
    # Where staff walk is theirs: a department handler's service area does not open it.
    assert not Patrol.objects.visible_to(crew.handler).exists()
    assert not Patrol.objects.visible_to(crew.resident).exists()
    assert not TrackPoint.objects.visible_to(crew.handler).exists()
