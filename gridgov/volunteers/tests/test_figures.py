"""Volunteer figures of a period, per area and the top volunteers, for leaders (API and dashboard)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from gridgov.volunteers import services
from gridgov.volunteers.tests.conftest import PLACE_A, PLACE_B, activity, volunteer

pytestmark = pytest.mark.django_db


def attend(organizer, event, person, hours: int, place) -> None:
    """Sign up, check in by location, and have the organizer set `hours` from the start."""
    services.sign_up(person.user, event.pk)
    services.check_in(person.user, event.pk, {"lat": place[0], "lon": place[1]})
    services.correct_times(
        organizer,
        event.pk,
        person.pk,
        checked_in_at=event.starts_at,
        checked_out_at=event.starts_at + timedelta(hours=hours),
        reason="补录",
    )


@pytest.fixture
def year(crew):
    """Grid A: 甲 came for 2 hours (20 points), 乙 signed up and stayed away but was awarded 7;
    grid B: 丙 came for 1 hour of a fixed-points activity (5). Both activities closed."""
    first, second = (volunteer(crew.grid_a, crew.grid_leader, name=n) for n in ("甲", "乙"))
    third = volunteer(crew.grid_b, crew.grid_leader_b, name="丙")
    here = activity(crew.grid_leader, crew.grid_a)
    attend(crew.grid_leader, here, first, 2, PLACE_A)
    services.sign_up(second.user, here.pk)
    services.close(crew.grid_leader, here.pk)
    there = activity(
        crew.grid_leader_b, crew.grid_b, lat=PLACE_B[0], lon=PLACE_B[1], points_rule="fixed", points=5
    )
    attend(crew.grid_leader_b, there, third, 1, PLACE_B)
    services.close(crew.grid_leader_b, there.pk)
    services.adjust_points(crew.grid_leader, second.pk, amount=7, reason="宣传表彰")
    cancelled = activity(crew.grid_leader, crew.grid_a, starts_at=timezone.now() - timedelta(hours=1))
    services.cancel_activity(crew.grid_leader, cancelled.pk, "下雨")
    return first, second, third


def this_month() -> str:
    today = timezone.localdate()
    start = today - timedelta(days=30)
    return f"period=custom&start={start}&end={today + timedelta(days=1)}"


def test_a_community_leader_sees_their_grids(crew, client_for, year):
    response = client_for(crew.leader).get(f"/api/v1/volunteers/figures?{this_month()}")
    assert response.status_code == 200, response.content
    body = response.json()
    totals = body["totals"]
    assert (totals["volunteers"], totals["active"], totals["activities"]) == (2, 1, 1)  # cancelled: not held
    assert totals["hours"] == 2.0 and totals["points"] == 27
    assert totals["participation"] == 0.5 and totals["turnout"] == 0.5
    assert totals["attended"] == 1 and totals["no_shows"] == 1
    by_code = {a["code"]: a for a in body["areas"]}
    assert set(by_code) == {
        g.code for g in crew.district.grids if g.parent_id == crew.district.communities[0].pk
    }
    assert by_code[crew.grid_a.code]["volunteers"] == 2 and by_code[crew.grid_a.code]["hours"] == 2.0
    assert [(t["name"], t["hours"]) for t in body["top_hours"]] == [("甲", 2.0)]
    assert [(t["name"], t["points"]) for t in body["top_points"]] == [("甲", 20), ("乙", 7)]


def test_whole_district_readers_see_every_community(crew, client_for, year):
    body = client_for(crew.auditor).get(f"/api/v1/volunteers/figures?{this_month()}").json()
    assert body["totals"]["volunteers"] == 3 and body["totals"]["activities"] == 2
    assert body["totals"]["hours"] == 3.0 and body["totals"]["points"] == 32
    assert [t["name"] for t in body["top_hours"]] == ["甲", "丙"]


def test_a_grid_leader_of_grid_b_sees_only_grid_b(crew, client_for, year):
    client = client_for(crew.grid_leader_b)
    body = client.get(f"/api/v1/volunteers/figures?{this_month()}").json()
    assert body["totals"]["volunteers"] == 1 and [t["name"] for t in body["top_points"]] == ["丙"]
    assert client.get(f"/api/v1/volunteers/figures?{this_month()}&grid={crew.grid_a.code}").status_code == 404


def test_a_period_before_anything_happened_is_empty(crew, client_for, year):
    body = client_for(crew.leader).get("/api/v1/volunteers/figures?period=year&date=2020-06-01").json()
    assert body["totals"]["active"] == 0 and body["totals"]["participation"] == 0.0
    assert body["totals"]["turnout"] is None and body["top_hours"] == []


def test_bad_periods_are_400_and_other_roles_403(crew, client_for, year):
    bad = client_for(crew.leader).get("/api/v1/volunteers/figures?period=decade")
    assert bad.status_code == 400 and "period" in bad.json()["errors"]
    assert client_for(crew.worker).get("/api/v1/volunteers/figures").status_code == 403


def test_the_leaders_dashboard_shows_the_volunteer_section(crew, client_for, year):
    page = client_for(crew.leader).get(f"/analytics/?{this_month()}").content.decode()
    section = page.split('id="volunteer-figures"')[1]
    assert 'data-figure="participation">50%' in section
    assert "甲" in section.split('id="top-hours"')[1].split("</ol>")[0]
    assert f'data-key="{crew.grid_a.code}"' in section


def test_a_volunteers_hours_are_summed_in_the_database_as_credited(crew, year):
    first, second, third = year
    assert services.hours_of(first) == Decimal("2.00") and services.hours_of(third) == Decimal("1.00")
    assert services.hours_of(second) == Decimal("0.00")  # signed up, never came
    late = activity(crew.grid_leader, crew.grid_a)
    attend(crew.grid_leader, late, first, 1, PLACE_A)
    # Checked in before the start: only the activity's own time counts (as `services.hours`).
    services.correct_times(
        crew.grid_leader,
        late.pk,
        first.pk,
        checked_in_at=late.starts_at - timedelta(minutes=20),
        checked_out_at=late.starts_at + timedelta(minutes=30),
        reason="提前到",
    )
    assert services.hours_of(first) == Decimal("2.50")
