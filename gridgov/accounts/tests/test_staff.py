import pytest
from django.core.exceptions import ValidationError

from gridgov.accounts.models import Assignment, Role
from gridgov.core.testing import DepartmentFactory, staff
from gridgov.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_a_leader_reveals_a_workers_phone_and_the_audit_log_says_so(district, client_for):
    worker = staff(Role.GRID_WORKER, district.grids[0], phone="13912345678")
    leader = staff(Role.LEADER, district.communities[0])
    response = client_for(leader).post(f"/api/v1/staff/{worker.pk}/reveal-phone",
                                       {"reason": "联系核实走访"}, content_type="application/json")
    assert response.json() == {"phone": "13912345678"}
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_id, entry.field, entry.reason) == (
        leader, "reveal", str(worker.pk), "phone", "联系核实走访")


def test_reveal_needs_a_reason_and_writes_nothing_without_one(district, client_for):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    leader = staff(Role.LEADER, district.communities[0])
    response = client_for(leader).post(f"/api/v1/staff/{worker.pk}/reveal-phone", {"reason": " "},
                                       content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["reason"] == ["请说明查看完整信息的事由。"]
    assert not AuditEntry.objects.exists()


def test_a_grid_worker_may_not_reveal_a_colleagues_phone(district, client_for):
    colleague = staff(Role.GRID_LEADER, district.grids[0])
    worker = staff(Role.GRID_WORKER, district.grids[0])
    response = client_for(worker).post(f"/api/v1/staff/{colleague.pk}/reveal-phone",
                                       {"reason": "联系"}, content_type="application/json")
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


def test_me_describes_roles_and_scope(district, client_for):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    body = client_for(worker).get("/api/v1/me").json()
    assert body["roles"] == ["grid_worker"]
    assert body["scope_roots"] == [district.grids[0].code]
    assert body["assignments"][0]["role_label"] == "网格员"


def test_the_seven_beijing_posts_are_expressible(district):
    posts = ["manager", "assistant", "police_officer", "supervisor", "party_secretary",
             "judicial_worker", "firefighter"]
    for post in posts:
        user = staff(Role.GRID_WORKER, district.grids[1])
        Assignment.objects.filter(user=user).update(post=post)
    assert sorted(district.grids[1].assignments.values_list("post", flat=True)) == sorted(posts)


@pytest.mark.parametrize("role,grid,department,field", [
    (Role.GRID_WORKER, False, False, "grid"),
    (Role.HANDLER, False, False, "department"),
])
def test_assignments_are_validated(district, role, grid, department, field):
    assignment = Assignment(user=staff(Role.RESIDENT, district.grids[0]), role=role,
                            grid=district.grids[0] if grid else None,
                            department=DepartmentFactory() if department else None)
    with pytest.raises(ValidationError) as caught:
        assignment.full_clean()
    assert field in caught.value.message_dict


def test_departments_list(district, client_for):
    DepartmentFactory(name="枫桥街道环卫所", area=district.street)
    worker = staff(Role.GRID_WORKER, district.grids[0])
    body = client_for(worker).get("/api/v1/departments").json()
    assert [(d["name"], d["area_code"]) for d in body] == [("枫桥街道环卫所", district.street.code)]
