"""Text messages of targeted notices: bounded retries by the minute sweep, failures recorded with
the gateway's code, a fan-out or a send killed half-way made up once, nothing personal logged."""

import json
import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.db import DatabaseError
from django.utils import timezone

from gridgov.accounts import sms
from gridgov.cases.models import Notification
from gridgov.engagement import services, tasks, texts
from gridgov.engagement.models import Notice, NoticeDelivery
from gridgov.engagement.tests.conftest import publish_to

pytestmark = pytest.mark.django_db


class ScriptedBackend:
    """A gateway whose answers a test writes in advance, per phone: "ok" or an SmsError."""

    script: dict[str, list] = {}
    calls: list[str] = []

    def send(self, phone: str, text: str) -> str:
        ScriptedBackend.calls.append(phone)
        answers = ScriptedBackend.script.get(phone, [])
        answer = answers.pop(0) if answers else "ok"
        if isinstance(answer, Exception):
            raise answer
        return f"biz-{len(ScriptedBackend.calls)}"


@pytest.fixture
def gateway(settings):
    settings.GRIDGOV_SMS_BACKEND = f"{__name__}.ScriptedBackend"
    ScriptedBackend.script, ScriptedBackend.calls = {}, []
    return ScriptedBackend


def wait_passes(notice: Notice) -> None:
    """As if the retry wait (or a killed worker's lease) were over: the rows are due now."""
    NoticeDelivery.objects.filter(notice=notice, status="queued").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))


def row(person) -> NoticeDelivery:
    return NoticeDelivery.objects.get(person=person, channel="sms")


def test_a_refused_text_is_retried_by_the_sweep_then_given_up(world, registry, gateway, caplog,
                                                               django_capture_on_commit_callbacks):
    limited = sms.SmsError("isv.BUSINESS_LIMIT_CONTROL")  # the gateway's throttle: worth another try
    gateway.script = {"13600000002": [limited, "ok"], "13600000001": [limited, limited, limited]}
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish_to(world.worker_a, world.grid_1, target_building_ids=[registry.building.pk],
                            target_person_ids=[registry.elder.pk])
    elder, neighbour = row(registry.elder), row(registry.neighbour)
    assert (elder.status, elder.attempts, elder.error) == ("queued", 1, "isv.BUSINESS_LIMIT_CONTROL")
    assert elder.next_attempt_at > timezone.now()  # waits a minute before the next try

    assert tasks.notify_pending_notices.call_local() == 0  # the sweep at once: not due yet
    assert len(gateway.calls) == 2
    wait_passes(notice)
    assert tasks.notify_pending_notices.call_local() == 1  # the elder's text goes through
    elder = row(registry.elder)
    assert (elder.status, elder.attempts, elder.error, elder.provider_ref) == ("sent", 2, "", "biz-4")
    assert elder.sent_at is not None

    wait_passes(notice)
    tasks.notify_pending_notices.call_local()  # the neighbour's third and last try
    neighbour = row(registry.neighbour)
    assert (neighbour.status, neighbour.attempts) == ("failed", 3)
    assert neighbour.error == "isv.BUSINESS_LIMIT_CONTROL"
    wait_passes(notice)
    tasks.notify_pending_notices.call_local()
    assert gateway.calls.count("13600000001") == 3  # bounded: never a fourth
    assert not any("136000000" in r.getMessage() or "王建国" in r.getMessage() for r in caplog.records)


def test_a_number_the_gateway_refuses_is_not_retried(world, registry, gateway, client_for,
                                                      django_capture_on_commit_callbacks):
    gateway.script = {"13600000002": [sms.SmsError("isv.MOBILE_NUMBER_ILLEGAL", retryable=False)]}
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish_to(world.worker_a, world.grid_1, target_person_ids=[registry.elder.pk])
    elder = row(registry.elder)
    assert (elder.status, elder.attempts, elder.error) == ("failed", 1, "isv.MOBILE_NUMBER_ILLEGAL")
    wait_passes(notice)
    tasks.notify_pending_notices.call_local()
    assert gateway.calls == ["13600000002"]
    progress = client_for(world.worker_a).get(f"/api/v1/notices/{notice.pk}/receipts?channel=sms").json()
    counts = progress["channels"]["sms"]
    assert counts == {"recipients": 1, "queued": 0, "sent": 0, "delivered": 0, "failed": 1}
    assert progress["texts"][0]["error"] == "isv.MOBILE_NUMBER_ILLEGAL"


def test_a_broken_backend_is_recorded_by_kind_and_stops_the_run(world, registry, gateway, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    def broken(phone, text):
        raise RuntimeError(f"cannot reach the gateway for {phone}")

    monkeypatch.setattr(sms, "send", broken)
    monkeypatch.setattr(texts, "STOP_AFTER_FAILURES", 2)
    with django_capture_on_commit_callbacks(execute=True):
        publish_to(world.leader, world.street, target_tags=["elderly_alone"],
                   target_person_ids=[registry.neighbour.pk])
    rows = NoticeDelivery.objects.filter(channel="sms").order_by("pk")
    # Three texts, the gateway down: the run stopped after two failures and left the third queued.
    assert [(d.attempts, d.error) for d in rows] == [(1, "RuntimeError"), (1, "RuntimeError"), (0, "")]
    assert all(d.status == "queued" for d in rows)


def test_the_fanout_of_a_targeted_notice_killed_half_way_is_made_up_once(
        world, registry, gateway, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "NOTIFY_BATCH", 2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = publish_to(world.leader, world.street, target_roles=["grid_worker", "building_head"],
                            target_building_ids=[registry.building.pk])
    real, calls = Notification.objects.bulk_create, []

    def dies_on_second_batch(objs, *args, **kwargs):
        calls.append(len(objs))
        if len(calls) == 2:
            raise DatabaseError("server closed the connection unexpectedly")
        return real(objs, *args, **kwargs)

    with mock.patch.object(Notification.objects, "bulk_create", side_effect=dies_on_second_batch):
        callbacks[0]()  # the queued job, dying after its first batch
    notice.refresh_from_db()
    assert notice.notified_at is None and not NoticeDelivery.objects.exists() and gateway.calls == []
    assert not Notification.objects.exists()

    # The restarted consumer's sweep: six in the app (two workers, three heads, resident_1) and
    # one text (the child has no phone), each once.
    assert tasks.notify_pending_notices.call_local() == 7
    assert NoticeDelivery.objects.filter(channel="app").count() == Notification.objects.count() == 6
    assert gateway.calls == ["13600000001"]
    assert tasks.notify_pending_notices.call_local() == 0
    assert services.notify_recipients(notice.pk) == 0
    assert NoticeDelivery.objects.count() == 8 and gateway.calls == ["13600000001"]


def test_a_worker_killed_while_sending_leaves_the_text_to_the_sweep_after_its_lease(
        world, registry, gateway, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = publish_to(world.worker_a, world.grid_1, target_person_ids=[registry.elder.pk])
    services.fan_out(notice.pk)  # the job wrote the rows...
    elder = row(registry.elder)
    assert texts._claim(elder.pk, timezone.now())  # ...claimed the text, and died before the gateway
    assert tasks.notify_pending_notices.call_local() == 0 and gateway.calls == []  # leased: not yet
    assert services.notify_recipients(notice.pk) == 0  # the lost job retried at last: still leased
    wait_passes(notice)
    assert tasks.notify_pending_notices.call_local() == 1
    elder = row(registry.elder)
    assert (elder.status, elder.attempts) == ("sent", 2) and gateway.calls == ["13600000002"]
    assert len(callbacks) == 1


def test_texts_of_an_expired_notice_are_not_sent(world, registry, gateway,
                                                 django_capture_on_commit_callbacks):
    gateway.script = {"13600000002": [sms.SmsError("isv.BUSINESS_LIMIT_CONTROL")]}
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish_to(world.worker_a, world.grid_1, target_person_ids=[registry.elder.pk],
                            expires_at=timezone.now() + timedelta(hours=1))
    Notice.objects.filter(pk=notice.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    wait_passes(notice)
    tasks.notify_pending_notices.call_local()
    elder = row(registry.elder)
    assert (elder.status, elder.error, elder.attempts) == ("failed", "expired", 1)
    assert gateway.calls == ["13600000002"]


def test_the_text_is_one_message_with_the_grid_the_title_and_the_contact(world):
    notice = Notice(title="关于本周六上午社区广场举行消防安全演练及楼道杂物集中清理的通知（请各户配合）",
                    body="…", grid=world.grid_1, sms_contact="0512-65251234")
    text = texts.sms_text(notice)
    assert text.startswith("社区1网格1通知：关于本周六") and text.endswith("… 详询：0512-65251234")
    assert len(text) == texts.TEXT_MAX
    assert texts.sms_text(Notice(title="停水", body="…", grid=world.grid_1)) == "社区1网格1通知：停水"


def test_texts_through_alibaba_cloud_record_its_answer(world, registry, settings,
                                                       django_capture_on_commit_callbacks):
    from gridgov.accounts.tests.test_sms_aliyun import KEY_ID, SECRET, FakeAliyun

    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.AliyunBackend"
    settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID, settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_SECRET = KEY_ID, SECRET
    settings.GRIDGOV_SMS_ALIYUN_SIGN_NAME, settings.GRIDGOV_SMS_ALIYUN_TEMPLATE_CODE = "枫桥街道", "SMS_1"
    refused = (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r"})
    with FakeAliyun({"13600000002": refused}) as fake:
        settings.GRIDGOV_SMS_ALIYUN_ENDPOINT = fake.url
        with django_capture_on_commit_callbacks(execute=True):
            publish_to(world.worker_a, world.grid_1, title="停水通知", sms_contact="0512-65251234",
                       target_person_ids=[registry.neighbour.pk, registry.elder.pk])
    neighbour, elder = row(registry.neighbour), row(registry.elder)
    assert (neighbour.status, neighbour.provider_ref) == ("sent", "900619746936498401^0")
    assert (elder.status, elder.error, elder.attempts) == ("failed", "isv.MOBILE_NUMBER_ILLEGAL", 1)
    content = json.loads(fake.requests[0]["TemplateParam"])["content"]
    assert content == "社区1网格1通知：停水通知 详询：0512-65251234"
