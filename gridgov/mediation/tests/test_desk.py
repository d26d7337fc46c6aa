"""The front desk through the HTTP API: visitors, queue numbers, windows, personal data."""

import threading

import pytest
from django.db import connection, connections

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.mediation import intake
from gridgov.mediation.models import Visit, Visitor
from gridgov.mediation.tests.conftest import ID_NUMBER, OTHER_PHONE, PHONE
from gridgov.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db


def _register(client, centre, **fields):
    body = {"name": "李来访", "phone": PHONE, **fields}
    return client.post(f"/api/v1/mediation/centres/{centre.pk}/visits", body, content_type="application/json")


def test_visitors_get_the_days_queue_numbers_per_centre_and_a_window(town, client_for):
    desk = client_for(town.desk)
    first = _register(desk, town.centre, id_number=ID_NUMBER, grid_code=town.grid_a.code, purpose="漏水纠纷")
    assert first.status_code == 201, first.content
    second = _register(desk, town.centre, name="王来访", phone=OTHER_PHONE)
    third = _register(desk, town.centre, window_id=town.centre.windows.get(number=2).pk)
    numbers = [r.json()["queue_number"] for r in (first, second, third)]
    assert numbers == [1, 2, 3]
    # The desk sends each to the open window with the fewest visitors today, else the one asked for.
    assert [r.json()["window"]["number"] for r in (first, second, third)] == [1, 2, 2]
    # Another centre counts from 1 again.
    desk_b = client_for(staff(Role.DISPATCHER, town.district.communities[1]))
    assert _register(desk_b, town.centre_b).json()["queue_number"] == 1
    # The same phone at the same centre is the same visitor; every visit counts.
    assert Visitor.objects.filter(centre=town.centre).count() == 2
    assert Visit.objects.filter(centre=town.centre).count() == 3
    assert first.json()["home_grid"]["code"] == town.grid_a.code


def test_the_queue_restarts_each_day(town):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    visitor = Visitor.objects.create(centre=town.centre, name="甲", phone=PHONE)
    Visit.objects.create(
        centre=town.centre,
        visitor=visitor,
        day=today - timedelta(days=1),
        queue_number=7,
        registered_by=town.desk,
    )
    assert intake.next_queue_number(town.centre, today) == 1
    assert intake.next_queue_number(town.centre, today - timedelta(days=1)) == 8


def test_bad_input_is_refused_per_field_and_nothing_is_saved(town, client_for):
    response = _register(
        client_for(town.desk),
        town.centre,
        name="",
        phone="12345",
        id_number="110105194912310021",
        grid_code="999",
        window_id=999999,
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"name", "phone", "id_number", "grid_code", "window_id"}
    assert "校验" in errors["id_number"][0] or "check" in errors["id_number"][0].lower()
    assert not Visitor.objects.exists() and not Visit.objects.exists()
    schema_error = client_for(town.desk).post(
        f"/api/v1/mediation/centres/{town.centre.pk}/visits",
        {"name": "甲", "phone": 13812345678},
        content_type="application/json",
    )
    assert schema_error.status_code == 400 and "phone" in schema_error.json()["errors"]


def test_only_the_desk_registers_visitors(town, client_for):
    # The grid leader mediates but does not keep the desk; the centre is above a grid worker's area.
    assert _register(client_for(town.mediator), town.centre).status_code in (403, 404)
    assert _register(client_for(town.worker), town.centre).status_code == 404
    assert _register(client_for(town.leader), town.centre).status_code == 201
    assert Visit.objects.count() == 1


def test_personal_data_is_encrypted_at_rest_masked_in_lists_and_revealed_with_an_audit(town, client_for):
    desk = client_for(town.desk)
    visit = _register(desk, town.centre, id_number=ID_NUMBER).json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone, id_number FROM mediation_visitor")
        raw = cursor.fetchone()
    assert all(value.startswith("v1:") for value in raw)
    assert PHONE not in "".join(raw) and ID_NUMBER not in "".join(raw) and "李来访" not in "".join(raw)
    listed = desk.get("/api/v1/mediation/visits").json()
    assert listed["count"] == 1
    row = listed["items"][0]
    assert (row["name"], row["phone"], row["id_number"]) == ("李*访", "138****5678", "110105********002X")
    assert PHONE not in str(listed)

    url = f"/api/v1/mediation/visitors/{visit['visitor_id']}/reveal"
    # The dispatcher has no right to the full value: refused, and nothing audited.
    refused = desk.post(url, {"field": "phone", "reason": "回电"}, content_type="application/json")
    assert refused.status_code == 403 and not AuditEntry.objects.exists()
    leader = client_for(town.leader)
    no_reason = leader.post(url, {"field": "phone", "reason": ""}, content_type="application/json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    shown = leader.post(url, {"field": "phone", "reason": "回电核实"}, content_type="application/json")
    assert shown.status_code == 200 and shown.json()["value"] == PHONE
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_type, entry.field, entry.reason) == (
        town.leader,
        AuditEntry.Action.REVEAL,
        "mediation.visitor",
        "phone",
        "回电核实",
    )
    bad_field = leader.post(url, {"field": "home_grid", "reason": "看看"}, content_type="application/json")
    assert bad_field.status_code == 400 and AuditEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_desks_at_once_never_share_a_number(town):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this proves; SQLite writes one at a time")
    errors, barrier = [], threading.Barrier(6)

    def desk(n: int):
        try:
            barrier.wait()
            intake.register_visit(town.desk, town.centre.pk, name=f"来访{n}", phone=f"1381234{n:04d}")
        except Exception as exc:  # every failure is reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=desk, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Visit.objects.filter(centre=town.centre).values_list("queue_number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6]
