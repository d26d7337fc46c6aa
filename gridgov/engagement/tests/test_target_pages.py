"""The publishing page with targets: find a building, tick it, publish; the receipts page and the
back office per channel."""

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.engagement.models import Notice, NoticeDelivery
from gridgov.engagement.tests.conftest import publish_to

pytestmark = pytest.mark.django_db

FORM = {"title": "楼道清理", "body": "请清理楼道杂物。", "audience": "building_heads"}


def test_a_worker_finds_a_building_ticks_it_and_publishes(world, registry, client_for, sms_outbox,
                                                          django_capture_on_commit_callbacks):
    client = client_for(world.worker_a)
    page = client.get("/notices/new/").content.decode()
    assert 'name="target_roles" value="grid_worker"' in page and 'value="admin"' not in page
    assert 'value="elderly_alone"' in page and 'value="community_correction"' not in page  # no permission

    found = client.post("/notices/new/", {**FORM, "grid_code": world.grid_1.code, "find": "3幢",
                                          "action": "find"})
    page = found.content.decode()
    assert found.status_code == 200 and not Notice.objects.exists()
    assert f'name="target_building_ids" value="{registry.building.pk}"' in page and "3幢" in page
    assert "楼道清理" in page  # the input is kept
    far = client.post("/notices/new/", {**FORM, "grid_code": world.grid_1.code, "find": "赵六",
                                        "action": "find"}).content.decode()
    assert "赵六" not in far.split('id="notice-find"')[0]  # a person of grid 4: not offered

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/notices/new/", {**FORM, "grid_code": world.grid_1.code,
                                                 "target_building_ids": [registry.building.pk],
                                                 "sms_contact": "0512-65251234"})
    notice = Notice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/notices/{notice.pk}/"
    assert notice.audience == "targets" and list(notice.target_buildings.all()) == [registry.building]
    assert [phone for phone, _text in sms_outbox] == ["13600000001"]

    receipts = client.get(f"/notices/{notice.pk}/receipts/").content.decode()
    assert 'id="text-counts"' in receipts and "已发送 1，失败 1，等待 0" in receipts
    assert "楼门长一" in receipts and "应用内接收人" in receipts
    texts = client.get(f"/notices/{notice.pk}/receipts/?channel=sms").content.decode()
    assert 'id="text-rows"' in texts and "王小明" in texts and "no_phone" in texts and "136****0001" in texts
    assert "13600000001" not in texts


def test_the_page_refuses_targets_outside_the_grid_and_keeps_the_choice(world, registry, client_for):
    client = client_for(world.worker_a)
    response = client.post("/notices/new/", {**FORM, "grid_code": world.grid_1.code,
                                             "target_building_ids": [registry.far_building.pk, "x"]})
    page = response.content.decode()
    assert response.status_code == 400 and 'id="error-target_building_ids"' in page
    assert f'value="{registry.far_building.pk}" checked' in page
    sensitive = client.post("/notices/new/", {**FORM, "grid_code": world.grid_1.code,
                                              "target_tags": ["community_correction"]})
    assert sensitive.status_code == 400 and 'id="error-target_tags"' in sensitive.content.decode()
    assert not Notice.objects.exists()


def test_a_sensitive_notice_shows_counts_only_to_managers_without_the_permission(
        world, registry, client_for, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish_to(world.grid_leader, world.grid_1, target_tags=["community_correction"])
    page = client_for(world.worker_a).get(f"/notices/{notice.pk}/receipts/?channel=sms").content.decode()
    assert 'id="names-hidden"' in page and "钱某" not in page and "已发送 1" in page
    allowed = client_for(world.grid_leader).get(f"/notices/{notice.pk}/receipts/?channel=sms")
    assert "钱某" in allowed.content.decode()


def test_the_back_office_counts_texts_and_offers_no_target_audience(world, registry, client_for, sms_outbox,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish_to(world.leader, world.street, target_building_ids=[registry.building.pk])
    office = staff(Role.LEADER, world.street, is_staff=True)
    client = client_for(office)
    listing = client.get("/admin/engagement/notice/").content.decode()
    assert "短信 已发 / 失败" in listing and "1 / 1" in listing
    assert NoticeDelivery.objects.filter(notice=notice, channel="sms").count() == 2
    form = client.get("/admin/engagement/notice/add/").content.decode()
    assert 'value="targets"' not in form and 'value="building_heads"' in form
