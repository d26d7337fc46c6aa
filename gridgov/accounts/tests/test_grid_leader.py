"""One active grid leader per grid: the rule names the grid and its leader, the database index
holds when two saves race, and every write path (the admin's assignment form, the user's and
the grid's assignment rows) shows the refusal as a form error."""

import json
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from gridgov.accounts.models import Assignment, Post, Role
from gridgov.core.testing import admin_user, staff

pytestmark = pytest.mark.django_db

TAKEN = "社区1网格1已有网格长：王某。请先结束该任职。"


@pytest.fixture
def leader(district):
    return staff(Role.GRID_LEADER, district.grids[0], name="王某")


def new_leader(grid, **fields):
    return Assignment(user=staff(Role.GRID_WORKER, grid), role=Role.GRID_LEADER, grid=grid, **fields)


def test_a_second_grid_leader_is_refused_naming_the_grid_and_its_leader(district, leader):
    with pytest.raises(ValidationError) as caught:
        new_leader(district.grids[0]).full_clean()
    assert caught.value.message_dict == {"grid": [TAKEN]}


def test_the_message_is_english_on_request(district, leader):
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        new_leader(district.grids[0]).full_clean()
    assert caught.value.messages == [
        "社区1网格1 already has a grid leader: 王某. End that assignment first."]


def test_other_grids_an_inactive_second_and_the_leaders_own_row_pass(district, leader):
    new_leader(district.grids[1]).full_clean()  # another grid
    new_leader(district.grids[0], is_active=False).full_clean()  # a past leader, kept for history
    mine = leader.assignments.get()
    mine.since = "2026-01-01"
    mine.full_clean()  # editing the leader's own assignment is not a second leader


def test_ending_the_assignment_frees_the_grid_and_the_old_one_cannot_come_back(district, leader):
    old = leader.assignments.get()
    old.is_active = False
    old.full_clean()
    old.save()
    successor = new_leader(district.grids[0])
    successor.full_clean()
    successor.save()
    old.is_active = True
    with pytest.raises(ValidationError) as caught:
        old.full_clean()
    assert caught.value.messages == [TAKEN.replace("王某", str(successor.user))]


def test_a_worker_becoming_grid_leader_is_checked_too(district, leader):
    worker = staff(Role.GRID_WORKER, district.grids[0]).assignments.get()
    worker.role = Role.GRID_LEADER
    with pytest.raises(ValidationError):
        worker.full_clean()


def test_the_database_refuses_a_second_active_leader_that_skipped_the_check(district, leader):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(user=staff(Role.GRID_WORKER, district.grids[0]), role=Role.GRID_LEADER,
                                  grid=district.grids[0])
    Assignment.objects.create(user=staff(Role.GRID_WORKER, district.grids[0]), role=Role.GRID_LEADER,
                              grid=district.grids[0], is_active=False)
    assert Assignment.objects.filter(role=Role.GRID_LEADER, grid=district.grids[0]).count() == 2


def test_the_supervisor_post_is_the_city_management_supervisor():
    assert str(Post.SUPERVISOR.label) == "城管监督员"


# --- the admin ---------------------------------------------------------------------------------


def assignment_form(user, grid, role=Role.GRID_LEADER) -> dict:
    return {"user": user.pk, "role": role, "grid": grid.pk, "department": "", "post": "manager",
            "is_full_time": "on", "is_active": "on", "since": ""}


def test_the_admin_add_form_shows_the_refusal_on_the_grid_field(district, leader, client_for):
    newcomer = staff(Role.GRID_WORKER, district.grids[0])
    response = client_for(admin_user()).post("/admin/accounts/assignment/add/",
                                             assignment_form(newcomer, district.grids[0]))
    assert response.status_code == 200
    page = response.content.decode()
    assert TAKEN in page and "errorlist" in page
    assert not Assignment.objects.filter(user=newcomer, role=Role.GRID_LEADER).exists()
    # another grid is fine
    response = client_for(admin_user()).post("/admin/accounts/assignment/add/",
                                             assignment_form(newcomer, district.grids[1]))
    assert response.status_code == 302
    assert Assignment.objects.filter(user=newcomer, role=Role.GRID_LEADER, grid=district.grids[1]).exists()


def test_a_community_leader_without_staff_rights_cannot_add_assignments(district, client_for):
    leader = staff(Role.LEADER, district.communities[0], is_staff=True)
    newcomer = staff(Role.GRID_WORKER, district.grids[0])
    response = client_for(leader).post("/admin/accounts/assignment/add/",
                                       assignment_form(newcomer, district.grids[0]))
    assert response.status_code == 403
    assert not Assignment.objects.filter(role=Role.GRID_LEADER).exists()


def user_form(user, rows: list[dict]) -> dict:
    """The user change form with its assignment rows (existing ones first)."""
    existing = list(user.assignments.all())
    form = {"username": user.username, "name": user.name, "phone": "", "email": "",
            "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "08:00:00",
            "assignments-TOTAL_FORMS": len(existing) + len(rows),
            "assignments-INITIAL_FORMS": len(existing), "assignments-MIN_NUM_FORMS": 0,
            "assignments-MAX_NUM_FORMS": 1000}
    for n, a in enumerate(existing):
        row = {"id": a.pk, "user": user.pk, "role": a.role, "grid": a.grid_id or "", "is_active": "on",
               "is_full_time": "on"}
        form |= {f"assignments-{n}-{k}": v for k, v in row.items()}
    for n, row in enumerate(rows, start=len(existing)):
        form |= {f"assignments-{n}-user": user.pk, f"assignments-{n}-is_full_time": "on",
                 **{f"assignments-{n}-{k}": v for k, v in row.items()}}
    return form


def test_the_users_assignment_rows_show_the_refusal(district, leader, client_for):
    newcomer = staff(Role.GRID_WORKER, district.grids[0])
    form = user_form(newcomer, [{"role": Role.GRID_LEADER, "grid": district.grids[0].pk, "is_active": "on"}])
    response = client_for(admin_user()).post(f"/admin/accounts/user/{newcomer.pk}/change/", form)
    assert response.status_code == 200
    assert TAKEN in response.content.decode()
    assert list(newcomer.assignments.values_list("role", flat=True)) == [Role.GRID_WORKER]


def grid_form(grid, rows: list[dict]) -> dict:
    form = {"name": grid.name, "kind": grid.kind, "special_type": grid.special_type,
            "households_estimate": grid.households_estimate, "management_grade": grid.management_grade,
            "boundary": json.dumps(grid.boundary), "metadata": "{}",
            "assignments-TOTAL_FORMS": len(rows), "assignments-INITIAL_FORMS": 0,
            "assignments-MIN_NUM_FORMS": 0, "assignments-MAX_NUM_FORMS": 1000}
    for n, row in enumerate(rows):
        form |= {f"assignments-{n}-grid": grid.pk, f"assignments-{n}-is_full_time": "on",
                 **{f"assignments-{n}-{k}": v for k, v in row.items()}}
    return form


def test_the_grids_rows_refuse_two_new_leaders_at_once_and_one_beside_the_current(district, client_for):
    grid = district.grids[1]
    first, second = staff(Role.GRID_WORKER, grid, name="甲"), staff(Role.GRID_WORKER, grid, name="乙")
    client = client_for(admin_user())
    both = [{"user": first.pk, "role": Role.GRID_LEADER, "is_active": "on"},
            {"user": second.pk, "role": Role.GRID_LEADER, "is_active": "on"}]
    response = client.post(f"/admin/grids/grid/{grid.pk}/change/", grid_form(grid, both))
    assert response.status_code == 200
    assert "社区1网格2已有网格长：甲。请先结束该任职。" in response.content.decode()
    assert not Assignment.objects.filter(role=Role.GRID_LEADER).exists()
    response = client.post(f"/admin/grids/grid/{grid.pk}/change/", grid_form(grid, both[:1]))
    assert response.status_code == 302
    response = client.post(f"/admin/grids/grid/{grid.pk}/change/", grid_form(grid, both[1:]))
    assert response.status_code == 200
    # the grid is the row's hidden key: the refusal is shown on the row, not lost
    assert '<tr class="row-form-errors">' in response.content.decode()
    assert "社区1网格2已有网格长：甲。请先结束该任职。" in response.content.decode()
    assert list(Assignment.objects.filter(role=Role.GRID_LEADER).values_list("user", flat=True)) == [first.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_administrators_naming_a_leader_at_once_one_wins_the_other_sees_the_form_error(
        district, client_for):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers at BEGIN IMMEDIATE")
    grid = district.grids[2]
    candidates = [staff(Role.GRID_WORKER, grid), staff(Role.GRID_WORKER, grid)]
    clients = [client_for(admin_user()), client_for(admin_user())]
    barrier = threading.Barrier(2)
    statuses = []

    def post(client, user):
        try:
            barrier.wait()
            response = client.post("/admin/accounts/assignment/add/", assignment_form(user, grid))
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=pair) for pair in zip(clients, candidates, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 302]  # one saved and redirected, one shown the form error
    assert Assignment.objects.filter(role=Role.GRID_LEADER, grid=grid, is_active=True).count() == 1
