"""Notices with target rules, through the HTTP API: roles, tags, buildings, people and users
combined as a union inside the grid, resolved once; scope and sensitive tags refused per field;
people without an account reached by text message."""

import pytest

from gridgov.accounts.models import Assignment, Role
from gridgov.cases.models import Notification
from gridgov.core.testing import staff
from gridgov.engagement.models import Notice, NoticeDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(sms_outbox):
    return sms_outbox


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def publish(client, grid, django_capture_on_commit_callbacks, **fields):
    body = {"title": "寒潮关爱", "body": "寒潮来临，请注意保暖。", "grid_code": grid.code, **fields}
    with django_capture_on_commit_callbacks(execute=True):
        return post(client, "/api/v1/notices", body)


def deliveries(notice_id, channel):
    return NoticeDelivery.objects.filter(notice_id=notice_id, channel=channel)


def test_targets_combine_as_a_union_without_duplicates(world, registry, client_for, outbox,
                                                        django_capture_on_commit_callbacks):
    response = publish(
        client_for(world.leader), world.street, django_capture_on_commit_callbacks,
        audience="staff",  # replaced: the targets decide
        target_roles=["grid_worker"],
        target_tags=["elderly_alone"],
        target_building_ids=[registry.building.pk],
        target_person_ids=[registry.neighbour.pk, registry.elder.pk],  # reached twice over already
        target_user_ids=[world.worker_a.pk, world.head_3.pk],  # worker_a is also a grid worker
        sms_contact="0512-6525 1234",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    notice = Notice.objects.get(pk=created["id"])
    assert created["audience"] == "targets" and created["is_manager"]
    assert created["targets"]["roles"] == ["grid_worker"] and created["targets"]["tags"] == ["elderly_alone"]
    assert created["targets"]["sms_contact"] == "0512-6525 1234"

    # In the app: the grid workers, the building's head, head_3 by name, and resident_1, who
    # lives in the building and whose account has the registered phone. Each once.
    in_app = {world.worker_a.pk, world.worker_b.pk, world.head_1.pk, world.head_3.pk, world.resident_1.pk}
    assert sorted(deliveries(notice.pk, "app").values_list("user_id", flat=True)) == sorted(in_app)
    notified = Notification.objects.filter(kind="notice").values_list("user_id", flat=True)
    assert sorted(notified) == sorted(in_app)
    # By text, people without an account: the neighbour, and the elders living alone of the whole
    # street (grid 4's too). The child has no phone: recorded as failed, nothing sent.
    texts = deliveries(notice.pk, "sms")
    assert set(texts.filter(status="sent").values_list("person_id", flat=True)) == {
        registry.neighbour.pk, registry.elder.pk, registry.stranger.pk}
    failed = list(texts.filter(status="failed").values_list("person_id", "error"))
    assert failed == [(registry.child.pk, "no_phone")]
    assert sorted(phone for phone, _text in outbox) == ["13600000001", "13600000002", "13600000004"]
    assert all(text.startswith("枫桥街道通知：寒潮关爱") and text.endswith("详询：0512-6525 1234")
               for _phone, text in outbox)

    # The recipients read it in the app; others of the street do not get it.
    assert client_for(world.resident_1).get("/api/v1/notices").json()["count"] == 1
    assert client_for(world.head_1).get(f"/api/v1/notices/{notice.pk}").status_code == 200
    for outsider in (world.head_8, world.resident_7, world.grid_leader):
        assert client_for(outsider).get("/api/v1/notices").json()["count"] == 0

    progress = client_for(world.leader).get(f"/api/v1/notices/{notice.pk}/receipts").json()
    assert progress["channels"] == {
        "app": {"recipients": 5, "notified": 5, "read": 1, "confirmed": 0},
        "sms": {"recipients": 4, "queued": 0, "sent": 3, "delivered": 0, "failed": 1},
    }
    failed = client_for(world.leader).get(f"/api/v1/notices/{notice.pk}/receipts?channel=sms").json()
    assert failed["count"] == 4 and failed["texts"][0]["name"] == "王小明"  # failed first
    assert failed["texts"][0]["error"] == "no_phone" and failed["users"] == []
    assert failed["texts"][1]["phone"].count("*") == 4  # masked

    # Resolved once: a new grid worker joins, the recipients stay as they were sent.
    staff(Role.GRID_WORKER, world.grid_1)
    assert client_for(world.leader).get(f"/api/v1/notices/{notice.pk}/receipts").json()["target"] == 5


def test_a_building_reaches_its_heads_and_residents_only(world, registry, client_for, outbox,
                                                         django_capture_on_commit_callbacks):
    response = publish(client_for(world.worker_a), world.grid_1, django_capture_on_commit_callbacks,
                       target_building_ids=[registry.building.pk])
    assert response.status_code == 201, response.content
    notice_id = response.json()["id"]
    assert set(deliveries(notice_id, "app").values_list("user_id", flat=True)) == {
        world.head_1.pk, world.resident_1.pk}
    assert set(deliveries(notice_id, "sms").values_list("person_id", flat=True)) == {
        registry.neighbour.pk, registry.child.pk}
    assert [phone for phone, _text in outbox] == ["13600000001"]


def test_targets_outside_the_grid_are_refused_per_field_and_nothing_is_saved(
        world, registry, client_for, outbox, django_capture_on_commit_callbacks):
    worker = client_for(world.worker_a)
    response = publish(
        worker, world.grid_1, django_capture_on_commit_callbacks,
        target_roles=["grid_worker", "admin"],
        target_building_ids=[registry.building.pk, registry.far_building.pk],
        target_person_ids=[registry.stranger.pk, 10**9],
        target_user_ids=[world.worker_b.pk],
        target_tags=["no_such_tag"],
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"target_roles", "target_building_ids", "target_person_ids", "target_user_ids",
                           "target_tags"}
    far = registry.far_building.pk
    assert errors["target_building_ids"] == [f"楼栋 {far} 不在社区1网格1及其下级网格内。"]
    # An id that does not exist reads like one of another grid: nothing is told about other areas.
    assert f"{registry.stranger.pk}, {10**9}" in errors["target_person_ids"][0]
    assert not Notice.objects.exists() and not NoticeDelivery.objects.exists() and outbox == []

    # Publishing into someone else's grid is 403 before any target is looked at.
    outside = publish(worker, world.grid_4, django_capture_on_commit_callbacks,
                      target_building_ids=[registry.far_building.pk])
    assert outside.status_code == 403 and not Notice.objects.exists()

    bad = publish(worker, world.grid_1, django_capture_on_commit_callbacks,
                  target_building_ids=[True, "7"], audience="targets")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"target_building_ids.0",
                                                                      "target_building_ids.1"}
    empty = publish(worker, world.grid_1, django_capture_on_commit_callbacks, audience="targets")
    assert empty.status_code == 400 and set(empty.json()["errors"]) == {"audience"}
    too_many = publish(worker, world.grid_1, django_capture_on_commit_callbacks,
                       target_person_ids=list(range(1, 502)))
    assert too_many.status_code == 400 and "500" in too_many.json()["errors"]["target_person_ids"][0]
    assert not Notice.objects.exists()


def test_sensitive_tags_only_for_publishers_allowed_to_see_them(world, registry, client_for, outbox,
                                                                  django_capture_on_commit_callbacks):
    refused = publish(client_for(world.worker_a), world.grid_1, django_capture_on_commit_callbacks,
                      target_tags=["community_correction"])
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"target_tags"}
    assert "社区矫正人员" in refused.json()["errors"]["target_tags"][0]
    assert not Notice.objects.exists()

    allowed = publish(client_for(world.grid_leader), world.grid_1, django_capture_on_commit_callbacks,
                      target_tags=["community_correction"])
    assert allowed.status_code == 201, allowed.content
    notice_id = allowed.json()["id"]
    assert [phone for phone, _text in outbox] == ["13600000003"]
    # The grid's worker manages the notice too, but who was reached would say who carries the
    # tag: counts only, and the tag itself is not shown.
    worker = client_for(world.worker_a)
    progress = worker.get(f"/api/v1/notices/{notice_id}/receipts?channel=sms").json()
    assert progress["names_hidden"] and progress["texts"] == [] and progress["channels"]["sms"]["sent"] == 1
    assert worker.get(f"/api/v1/notices/{notice_id}").json()["targets"]["tags"] == []
    leader = client_for(world.grid_leader).get(f"/api/v1/notices/{notice_id}/receipts?channel=sms").json()
    assert not leader["names_hidden"] and [t["name"] for t in leader["texts"]] == ["钱某"]


def test_roles_reach_users_of_the_grid_whatever_their_home(world, client_for,
                                                             django_capture_on_commit_callbacks):
    both = staff(Role.RESIDENT, world.district.micro_grids[1])
    Assignment.objects.create(user=both, role=Role.BUILDING_HEAD, grid=world.district.micro_grids[7])
    response = publish(client_for(world.community_dispatcher), world.community_1,
                       django_capture_on_commit_callbacks, target_roles=["building_head", "resident"])
    assert response.status_code == 201
    reached = set(deliveries(response.json()["id"], "app").values_list("user_id", flat=True))
    # head_8 and the second role of `both` sit in community 2: the notice never leaves its grid.
    assert reached == {world.head_1.pk, world.head_3.pk, world.resident_1.pk, both.pk}


def test_the_receipts_filter_by_channel_and_status(world, registry, client_for, outbox,
                                                     django_capture_on_commit_callbacks):
    notice_id = publish(client_for(world.worker_a), world.grid_1, django_capture_on_commit_callbacks,
                        target_building_ids=[registry.building.pk]).json()["id"]
    leader = client_for(world.leader)
    failed = leader.get(f"/api/v1/notices/{notice_id}/receipts?channel=sms&status=failed").json()
    assert failed["count"] == 1 and [t["name"] for t in failed["texts"]] == ["王小明"]
    assert leader.get(f"/api/v1/notices/{notice_id}/receipts?channel=sms&status=unread").status_code == 400
    wrong = leader.get(f"/api/v1/notices/{notice_id}/receipts?channel=voice")
    assert wrong.status_code == 400 and set(wrong.json()["errors"]) == {"channel"}
    assert client_for(world.worker_b).get(f"/api/v1/notices/{notice_id}/receipts").status_code == 404
