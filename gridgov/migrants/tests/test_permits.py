"""Residence permits through the API: who must apply by when, applications recorded on the person's
behalf, issued, renewed, refused, expired, and the grid worker reminded once per deadline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Notification
from gridgov.core.testing import staff
from gridgov.migrants import permits
from gridgov.migrants.models import Permit, PermitReminder
from gridgov.population import testing as registry
from gridgov.population.models import Person

pytestmark = pytest.mark.django_db
API = "/api/v1/migrants"


def migrant(grid, name, arrived_days_ago: int) -> Person:
    return registry.person(
        registry.household(grid),
        name,
        is_migrant=True,
        arrived_on=timezone.localdate() - timedelta(days=arrived_days_ago),
    )


@pytest.fixture
def grid_a(district):
    return district.micro_grids[0]


def test_the_due_list_names_who_must_apply_and_whose_permit_runs_out(grid_a, district, client_for):
    today = timezone.localdate()
    overdue = migrant(grid_a, "逾期", 400)
    soon = registry.person(
        registry.household(grid_a),
        "将到期",
        is_migrant=True,
        arrived_on=permits.add_months(today, -6) + timedelta(days=10),
    )  # due in 10 days
    migrant(grid_a, "新来", 20)  # six months away: not yet
    registry.person(registry.household(grid_a), "本地人")
    keeper = staff(Role.GRID_WORKER, district.grids[0])
    client = client_for(keeper)
    due = client.get(f"{API}/permits/due").json()
    assert [(d["person"]["name"], d["kind"], d["overdue"]) for d in due] == [
        ("逾期", "apply", True),
        ("将到期", "apply", False),
    ]
    assert due[0]["due_on"] == str(permits.due_on(overdue.arrived_on))
    assert soon.pk == due[1]["person"]["id"]
    # The application recorded on the person's behalf takes them off the list.
    applied = client.post(
        f"{API}/permits", {"person_id": overdue.pk, "on_behalf": True}, content_type="application/json"
    )
    assert applied.status_code == 201 and applied.json()["state"] == "applied"
    overdue.refresh_from_db()
    assert overdue.permit_state == "applied"
    assert [d["person"]["name"] for d in client.get(f"{API}/permits/due").json()] == ["将到期"]
    again = client.post(f"{API}/permits", {"person_id": overdue.pk}, content_type="application/json")
    assert again.status_code == 400


def test_a_permit_is_issued_renewed_and_expires(grid_a, district, client_for):
    person = migrant(grid_a, "李雷", 300)
    client = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    permit_id = client.post(
        f"{API}/permits", {"person_id": person.pk}, content_type="application/json"
    ).json()["id"]
    bad = client.post(f"{API}/permits/{permit_id}/issue", {"number": ""}, content_type="application/json")
    assert bad.status_code == 400 and "number" in bad.json()["errors"]
    issued = client.post(
        f"{API}/permits/{permit_id}/issue", {"number": "JZZ-2026-001"}, content_type="application/json"
    ).json()
    today = timezone.localdate()
    assert issued["state"] == "issued" and issued["expires_on"] == str(permits.add_months(today, 12))
    assert (
        client.post(
            f"{API}/permits/{permit_id}/issue", {"number": "x"}, content_type="application/json"
        ).status_code
        == 409
    )
    renewed = client.post(
        f"{API}/permits/{permit_id}/renew",
        {"expires_on": str(today + timedelta(days=800))},
        content_type="application/json",
    )
    assert renewed.json()["expires_on"] == str(today + timedelta(days=800))
    Permit.objects.filter(pk=permit_id).update(expires_on=today - timedelta(days=1))
    assert permits.expire_due() == 1
    person.refresh_from_db()
    assert person.permit_state == "expired"


def test_a_refusal_needs_its_reason(grid_a, district, client_for):
    person = migrant(grid_a, "韩梅", 300)
    client = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    permit_id = client.post(
        f"{API}/permits", {"person_id": person.pk}, content_type="application/json"
    ).json()["id"]
    assert (
        client.post(
            f"{API}/permits/{permit_id}/refuse", {"reason": " "}, content_type="application/json"
        ).status_code
        == 400
    )
    refused = client.post(
        f"{API}/permits/{permit_id}/refuse", {"reason": "材料不全"}, content_type="application/json"
    )
    assert refused.json()["state"] == "refused"
    person.refresh_from_db()
    assert person.permit_state == "none"


def test_the_grid_worker_is_reminded_once_per_deadline(grid_a, district):
    migrant(grid_a, "逾期甲", 400)
    migrant(grid_a, "逾期乙", 250)
    keeper = staff(Role.GRID_WORKER, district.grids[0])
    elsewhere = staff(Role.GRID_WORKER, district.grids[3])
    assert permits.send_reminders() == 2
    note = Notification.objects.get(user=keeper)
    assert note.kind == "permit_due" and "逾期甲" in note.text and "逾期乙" in note.text
    assert not Notification.objects.filter(user=elsewhere).exists()
    assert permits.send_reminders() == 0  # nothing new to tell
    assert PermitReminder.objects.filter(user=keeper).count() == 2


def test_permits_stay_inside_the_grid(grid_a, district, client_for):
    person = migrant(grid_a, "甲", 300)
    owner = staff(Role.GRID_WORKER, district.grids[0])
    permit = permits.apply(owner, person)
    stranger = client_for(staff(Role.GRID_WORKER, district.grids[3]))
    assert stranger.get(f"{API}/permits/due").json() == []
    assert stranger.get(f"{API}/permits").json()["count"] == 0
    assert (
        stranger.post(f"{API}/permits", {"person_id": person.pk}, content_type="application/json").status_code
        == 404
    )
    assert (
        stranger.post(
            f"{API}/permits/{permit.pk}/issue", {"number": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
