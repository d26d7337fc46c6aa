"""The patrol page and the back office's read-only list."""

import json

import pytest

from gridgov.core.testing import admin_user
from gridgov.patrols import services
from gridgov.patrols.tests.conftest import walk

pytestmark = pytest.mark.django_db


def page_data(html: str) -> dict:
    start = html.index('<script id="patrol-data" type="application/json">') + len(
        '<script id="patrol-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_a_worker_gets_the_start_button_and_the_map(crew, client_for):
    response = client_for(crew.worker).get("/patrols/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="patrol-toggle"' in html and "开始巡查" in html and 'id="patrol-map"' in html
    assert "gridgov/patrol.js" in html and "vendor/leaflet/leaflet.js" in html
    assert 'href="/patrols/"' in html and ">巡查<" in html  # the nav link
    data = page_data(html)
    assert data["running"] is None and data["grids"] == [{"code": crew.grid_a.code, "name": crew.grid_a.name}]
    assert data["outlines"] == [crew.grid_a.code] and data["labels"]["stop"] == "结束巡查"
    assert 'id="patrol-grid"' not in html  # one grid: nothing to choose


def test_a_running_patrol_shows_stop_its_figures_and_its_track(crew, client_for):
    patrol, _ = services.start(crew.worker)
    services.add_points(crew.worker, patrol.pk, walk(patrol, 3))
    html = client_for(crew.worker).get("/patrols/").content.decode()
    assert "结束巡查" in html and 'data-running="1"' in html
    running = page_data(html)["running"]
    assert running["id"] == patrol.pk and running["point_count"] == 3
    assert running["track"]["geometry"]["coordinates"][0] == [120.505, 31.335]
    assert 'id="patrol-today"' not in html  # on patrol: their own patrol, not the others'


def test_a_worker_of_two_grids_chooses_the_grid(crew, client_for):
    html = client_for(crew.two_grids).get("/patrols/").content.decode()
    assert 'id="patrol-grid"' in html and crew.district.grids[1].code in html


def test_a_leader_sees_todays_patrols_in_scope(crew, client_for):
    a, _ = services.start(crew.worker)
    services.add_points(crew.worker, a.pk, walk(a, 3))
    services.stop(crew.worker, a.pk)
    services.start(crew.worker_b)
    html = client_for(crew.leader).get("/patrols/").content.decode()
    assert 'id="patrol-toggle"' not in html  # leaders do not patrol here
    assert 'id="patrol-today"' in html and "张网格" in html and "赵乙" in html
    assert f'data-patrol-id="{a.pk}"' in html and "22 米" in html and "进行中" in html
    grid_leader = client_for(crew.grid_leader).get("/patrols/").content.decode()
    assert "张网格" in grid_leader and "赵乙" not in grid_leader  # only grid A
    assert 'id="patrol-toggle"' in grid_leader  # a grid leader may patrol too


def test_someone_without_patrols_gets_an_explanation(crew, client_for):
    html = client_for(crew.handler).get("/patrols/").content.decode()
    assert 'id="patrol-map"' not in html and "patrol.js" not in html and "网格员" in html
    assert client_for(crew.handler).get("/patrols/").status_code == 200


def test_the_page_needs_a_login(client):
    response = client.get("/patrols/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_back_office_list_is_read_only_and_scoped(crew, client_for):
    a, _ = services.start(crew.worker)
    services.start(crew.worker_b)
    office = crew.grid_leader  # a grid has one grid leader: theirs, given the back office
    office.is_staff = True
    office.save(update_fields=["is_staff"])
    client = client_for(office)
    html = client.get("/admin/patrols/patrol/").content.decode()
    assert "张网格" in html and "赵乙" not in html
    assert "/admin/patrols/patrol/add/" not in html
    assert client.get("/admin/patrols/patrol/", {"running": "no"}).content.decode().count("张网格") == 0
    detail = client.get(f"/admin/patrols/patrol/{a.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    everything = client_for(admin_user()).get("/admin/patrols/patrol/").content.decode()
    assert "张网格" in everything and "赵乙" in everything
