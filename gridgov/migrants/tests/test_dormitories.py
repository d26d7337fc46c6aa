"""A dormitory through the API: rooms and beds, who sleeps where, occupancy at a glance, a room over
capacity flagged, free beds given to waiting workers, access cards that never belong to two people."""

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.migrants.models import AccessCard, Bed, Room, Stay
from gridgov.migrants.tests.conftest import worker
from gridgov.population.models import Person

pytestmark = pytest.mark.django_db
API = "/api/v1/migrants"


def test_rooms_are_added_floor_by_floor_with_their_beds(site_a, client_for):
    client = client_for(site_a.manager)
    response = client.post(
        f"{API}/dormitories/{site_a.dormitory.pk}/rooms",
        {
            "building": "2幢",
            "first_floor": 2,
            "last_floor": 3,
            "rooms_per_floor": 3,
            "capacity": 6,
            "beds": 8,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"added": 6}
    rooms = Room.objects.filter(building__name="2幢")
    assert sorted(rooms.values_list("number", flat=True)) == ["201", "202", "203", "301", "302", "303"]
    assert Bed.objects.filter(room__in=rooms).count() == 48
    # The building joins the registry in the dormitory's grid.
    assert rooms.first().building.grid == site_a.grid
    again = client.post(
        f"{API}/dormitories/{site_a.dormitory.pk}/rooms",
        {"building": "2幢", "first_floor": 2, "last_floor": 3, "rooms_per_floor": 3, "capacity": 6},
        content_type="application/json",
    )
    assert again.json() == {"added": 0}


def test_a_bad_room_plan_is_refused_field_by_field(site_a, client_for):
    response = client_for(site_a.manager).post(
        f"{API}/dormitories/{site_a.dormitory.pk}/rooms",
        {"building": "", "first_floor": 3, "last_floor": 2, "rooms_per_floor": 0, "capacity": 40},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"building", "last_floor", "rooms_per_floor", "capacity"}
    assert "20" in response.json()["errors"]["capacity"][0]


def test_check_in_moves_the_person_into_the_dormitory_grid_and_a_taken_bed_is_refused(site_a, client_for):
    client = client_for(site_a.manager)
    first, second = worker(site_a, "张伟"), worker(site_a, "李娜")
    bed = Bed.objects.filter(room__dormitory=site_a.dormitory).order_by("pk").first()
    response = client.post(
        f"{API}/beds/{bed.pk}/check-in", {"person_id": first.pk}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["bed"] == "1幢101-1" and body["employer"] == "电子厂1" and body["over_capacity"] is False
    assert "*" in body["person"]["id_number"]
    first.refresh_from_db()
    assert first.grid == site_a.grid and first.dormitory_bed == "1幢101-1"
    taken = client.post(
        f"{API}/beds/{bed.pk}/check-in", {"person_id": second.pk}, content_type="application/json"
    )
    assert taken.status_code == 400 and "张伟" in taken.json()["errors"]["bed"][0]
    # Moving to another bed ends the first stay.
    other = Bed.objects.filter(room__dormitory=site_a.dormitory).exclude(pk=bed.pk).order_by("pk").first()
    moved = client.post(
        f"{API}/beds/{other.pk}/check-in", {"person_id": first.pk}, content_type="application/json"
    )
    assert moved.status_code == 201
    assert Stay.objects.filter(person=first).count() == 2
    assert Stay.objects.filter(person=first, checked_out_on=None).get().bed == other


def test_occupancy_at_a_glance_and_a_room_over_capacity_is_flagged(site_a, client_for):
    client = client_for(site_a.manager)
    room = Room.objects.filter(dormitory=site_a.dormitory).order_by("number").first()
    people = [worker(site_a, f"工人{n}") for n in range(4)]
    for person, bed in zip(people, room.beds.order_by("number"), strict=True):
        assert (
            client.post(
                f"{API}/beds/{bed.pk}/check-in", {"person_id": person.pk}, content_type="application/json"
            ).status_code
            == 201
        )
    # The rule says three may live there now: the fourth is over it.
    assert (
        client.patch(f"{API}/rooms/{room.pk}", {"capacity": 3}, content_type="application/json").json()[
            "over_capacity"
        ]
        is True
    )
    dormitory = client.get(f"{API}/dormitories/{site_a.dormitory.pk}").json()
    assert dormitory["occupancy"] == {
        "rooms": 2,
        "beds": 8,
        "occupied": 4,
        "free": 4,
        "over_capacity_rooms": 1,
        "waiting": 0,
    }
    over = client.get(f"{API}/dormitories/{site_a.dormitory.pk}/rooms?over=true").json()
    assert [r["number"] for r in over["items"]] == [room.number]
    beds = client.get(f"{API}/rooms/{room.pk}/beds").json()
    assert [b["occupant"]["name"] for b in beds] == ["工人0", "工人1", "工人2", "工人3"]


def test_waiting_workers_get_free_beds_room_by_room_never_past_capacity(site_a, client_for):
    client = client_for(site_a.manager)
    Room.objects.filter(dormitory=site_a.dormitory).update(capacity=3)  # four beds, three allowed
    people = [worker(site_a, f"工人{n}") for n in range(8)]
    waiting = client.get(f"{API}/dormitories/{site_a.dormitory.pk}/waiting").json()
    assert waiting["count"] == 8
    response = client.post(
        f"{API}/dormitories/{site_a.dormitory.pk}/assign", {}, content_type="application/json"
    )
    assert response.json()["assigned"] == 6  # two rooms of three
    assert (
        response.json()["occupancy"]["waiting"] == 2
        and response.json()["occupancy"]["over_capacity_rooms"] == 0
    )
    placed = Person.objects.filter(pk__in=[p.pk for p in people]).exclude(dormitory_bed="")
    assert placed.count() == 6


def test_access_cards_never_belong_to_two_people(site_a, client_for):
    client = client_for(site_a.manager)
    first, second = worker(site_a, "张伟"), worker(site_a, "李娜")
    url = f"{API}/dormitories/{site_a.dormitory.pk}/cards"
    issued = client.post(url, {"person_id": first.pk, "number": "mq-0001"}, content_type="application/json")
    assert issued.status_code == 201 and issued.json()["number"] == "MQ-0001"
    twice = client.post(url, {"person_id": second.pk, "number": "MQ-0001"}, content_type="application/json")
    assert twice.status_code == 400 and "number" in twice.json()["errors"]
    second_card = client.post(
        url, {"person_id": first.pk, "number": "MQ-0002"}, content_type="application/json"
    )
    assert second_card.status_code == 400 and "person" in second_card.json()["errors"]
    card = AccessCard.objects.get(number="MQ-0001")
    lost = client.post(f"{API}/cards/{card.pk}/step", {"action": "lose"}, content_type="application/json")
    assert lost.json()["state"] == "lost"
    # A lost card stays its holder's: it is not given out again; the holder may get a new one.
    assert (
        client.post(
            url, {"person_id": second.pk, "number": "MQ-0001"}, content_type="application/json"
        ).status_code
        == 400
    )
    assert (
        client.post(
            url, {"person_id": first.pk, "number": "MQ-0002"}, content_type="application/json"
        ).status_code
        == 201
    )
    new = AccessCard.objects.get(number="MQ-0002")
    assert (
        client.post(
            f"{API}/cards/{new.pk}/step", {"action": "return"}, content_type="application/json"
        ).json()["state"]
        == "returned"
    )
    again = client.post(url, {"person_id": second.pk, "number": "MQ-0002"}, content_type="application/json")
    assert again.status_code == 201 and again.json()["holder"]["name"] == "李娜"
    assert list(new.events.values_list("action", flat=True)) == ["issue", "return", "issue"]
    out_of_turn = client.post(
        f"{API}/cards/{card.pk}/step", {"action": "unblock"}, content_type="application/json"
    )
    assert out_of_turn.status_code == 409


def test_only_the_dormitory_s_managers_run_it(site_a, district, client_for):
    someone = worker(site_a)
    bed = Bed.objects.filter(room__dormitory=site_a.dormitory).first()
    grid_worker = staff(Role.GRID_WORKER, district.grids[0])
    community_leader = staff(Role.LEADER, district.communities[0])
    assert (
        client_for(grid_worker)
        .post(f"{API}/beds/{bed.pk}/check-in", {"person_id": someone.pk}, content_type="application/json")
        .status_code
        == 404
    )
    response = client_for(community_leader).post(
        f"{API}/beds/{bed.pk}/check-in", {"person_id": someone.pk}, content_type="application/json"
    )
    assert response.status_code == 201  # the community's leaders oversee the dormitories in it
