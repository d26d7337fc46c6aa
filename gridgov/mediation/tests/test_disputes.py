"""Disputes through the HTTP API: the whole life, refusals, the agreement PDF, referrals, return
visits, the time limit, high-risk escalation, case transfer both ways, scope and figures."""

import io
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from gridgov.cases.models import Case, CaseLog, Notification
from gridgov.mediation import workflow
from gridgov.mediation.models import Dispute, DisputeLog, Party, ReturnVisit
from gridgov.mediation.tests.conftest import ID_NUMBER, PHONE, dispute_case
from gridgov.privacy.models import AuditEntry
from gridgov.worktime.models import TimeUnit
from gridgov.worktime.services import add_time

pytestmark = pytest.mark.django_db
API = "/api/v1/mediation"


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def registered(town, client_for, dispute_body, **fields):
    response = post(client_for(town.desk), f"{API}/disputes", dispute_body(**fields))
    assert response.status_code == 201, response.content
    return response.json()


def mediating(town, client_for, dispute_body, **fields):
    found = registered(town, client_for, dispute_body, **fields)
    response = post(
        client_for(town.desk),
        f"{API}/disputes/{found['id']}/assign",
        {"mediator_id": town.mediator.pk, "window_id": town.centre.windows.get(number=1).pk},
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_a_dispute_from_registration_to_an_agreement_that_held(town, client_for, dispute_body):
    found = registered(town, client_for, dispute_body)
    assert (found["state"], found["risk"], found["light"]) == ("registered", "low", "green")
    assert [p["name"] for p in found["parties"]] == ["李*请", "周*申"]
    # The time limit: the setting's working days on the calendar.
    dispute = Dispute.objects.get(pk=found["id"])
    assert dispute.deadline == add_time(dispute.started_at, 30, TimeUnit.WORKING_DAYS).at

    mediator = client_for(town.mediator)
    assigned = post(
        client_for(town.desk),
        f"{API}/disputes/{found['id']}/assign",
        {"mediator_id": town.mediator.pk, "window_id": town.centre.windows.get(number=1).pk},
    )
    assert assigned.json()["state"] == "mediating" and assigned.json()["mediator"] == str(town.mediator)
    assert Notification.objects.filter(user=town.mediator, kind="mediation").count() == 1
    held_at = (timezone.now() - timedelta(hours=1)).isoformat()
    session = post(
        mediator,
        f"{API}/disputes/{found['id']}/sessions",
        {"held_at": held_at, "place": "调解室", "participants": "李申请、周被申", "notes": "双方同意赔偿"},
    )
    assert session.status_code == 200 and len(session.json()["sessions"]) == 1
    agreed = post(mediator, f"{API}/disputes/{found['id']}/agreement", {"terms": "周被申赔偿李申请3000元"})
    assert agreed.status_code == 200, agreed.content
    body = agreed.json()
    assert body["state"] == "agreed" and body["resolved_at"]
    due = timezone.localdate() + timedelta(days=30)
    assert [v["due_on"] for v in body["return_visits"]] == [due.isoformat()]

    closed = post(
        mediator, f"{API}/disputes/{found['id']}/return-visit", {"held": True, "note": "已履行赔偿"}
    )
    assert closed.json()["state"] == "closed"
    steps = list(
        DisputeLog.objects.filter(dispute_id=found["id"]).values_list("action", "from_state", "to_state")
    )
    assert steps == [
        ("register", "", "registered"),
        ("assign", "registered", "mediating"),
        ("session", "mediating", "mediating"),
        ("agree", "mediating", "agreed"),
        ("return_visit", "agreed", "closed"),
    ]
    assert [e["action"] for e in closed.json()["log"]] == [s[0] for s in steps]


def test_the_agreement_pdf_names_the_parties_and_is_audited(town, client_for, dispute_body):
    from pypdf import PdfReader

    found = mediating(town, client_for, dispute_body)
    agreed = post(
        client_for(town.mediator),
        f"{API}/disputes/{found['id']}/agreement",
        {"terms": "周被申于十日内赔偿李申请3000元"},
    ).json()
    url = agreed["agreements"][0]["pdf_url"]
    assert client_for(town.worker).get(url).status_code == 403  # reads the dispute, does not print it
    assert not AuditEntry.objects.exists()
    response = client_for(town.mediator).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    # The title in the request's language (Chinese once the catalogue has it).
    for words in ("李申请", "周被申", "3000", gettext("Mediation agreement")):
        assert words in text, words
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_type, entry.field) == (
        AuditEntry.Action.EXPORT,
        "mediation.agreement",
        "pdf",
    )
    assert client_for(town.worker_b).get(url).status_code == 404


def test_steps_out_of_turn_are_409_and_bad_input_400_with_nothing_written(town, client_for, dispute_body):
    found = registered(town, client_for, dispute_body)
    mediator = client_for(town.mediator)
    early = post(mediator, f"{API}/disputes/{found['id']}/agreement", {"terms": "赔偿"})
    assert early.status_code == 409
    assert (
        post(
            mediator, f"{API}/disputes/{found['id']}/return-visit", {"held": True, "note": "回访"}
        ).status_code
        == 409
    )
    assert post(mediator, f"{API}/disputes/{found['id']}/return-to-case", {"note": "退回"}).status_code == 409
    # Assigning someone who does not mediate there: per field, nothing changes.
    bad = post(
        mediator, f"{API}/disputes/{found['id']}/assign", {"mediator_id": town.worker.pk, "window_id": 999}
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"mediator_id", "window_id"}
    post(mediator, f"{API}/disputes/{found['id']}/assign", {"mediator_id": town.mediator.pk})
    empty = post(mediator, f"{API}/disputes/{found['id']}/agreement", {"terms": "  "})
    assert empty.status_code == 400 and "terms" in empty.json()["errors"]
    refer = post(mediator, f"{API}/disputes/{found['id']}/referral", {"kind": "court", "note": "不同意"})
    assert refer.status_code == 400 and set(refer.json()["errors"]) == {"referral_kind", "to_name"}
    assert Dispute.objects.get(pk=found["id"]).state == "mediating"
    assert DisputeLog.objects.filter(dispute_id=found["id"]).count() == 2  # register, assign
    # A grid worker reads the dispute but does not mediate.
    assert (
        post(client_for(town.worker), f"{API}/disputes/{found['id']}/withdraw", {"note": "撤回"}).status_code
        == 403
    )
    withdrawn = post(mediator, f"{API}/disputes/{found['id']}/withdraw", {"note": "申请人撤回"})
    assert withdrawn.json()["state"] == "withdrawn"
    assert post(mediator, f"{API}/disputes/{found['id']}/withdraw", {"note": "再撤"}).status_code == 409


def test_a_bad_dispute_is_refused_per_field_and_nothing_half_saved(town, client_for, dispute_body):
    body = dispute_body(
        kind="fight",
        risk="extreme",
        people_involved=0,
        grid_code=town.grid_b.code,
        amount=-5,
        parties=[
            {"role": "applicant", "name": "李申请", "phone": "123"},
            {"role": "judge", "name": "", "id_number": "110105194912310021"},
        ],
    )
    response = post(client_for(town.desk), f"{API}/disputes", body)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "kind",
        "risk",
        "people_involved",
        "grid_code",
        "amount",
        "parties.0.phone",
        "parties.1.role",
        "parties.1.name",
        "parties.1.id_number",
    }
    no_applicant = post(
        client_for(town.desk),
        f"{API}/disputes",
        dispute_body(parties=[{"role": "respondent", "name": "周被申"}]),
    )
    assert no_applicant.status_code == 400 and "parties" in no_applicant.json()["errors"]
    assert not Dispute.objects.exists() and not Party.objects.exists() and not DisputeLog.objects.exists()


def test_parties_are_encrypted_masked_and_revealed_with_an_audit(town, client_for, dispute_body):
    found = registered(town, client_for, dispute_body)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, phone, id_number FROM mediation_party WHERE role = 'applicant' AND dispute_id = %s",
            [found["id"]],
        )
        raw = "".join(cursor.fetchone())
    assert PHONE not in raw and ID_NUMBER not in raw and "李申请" not in raw
    listed = client_for(town.worker).get(f"{API}/disputes").json()
    applicant = listed["items"][0]["parties"][0]
    assert (applicant["name"], applicant["phone"], applicant["id_number"]) == (
        "李*请",
        "138****5678",
        "110105********002X",
    )
    party_id = applicant["id"]
    shown = post(
        client_for(town.worker),
        f"{API}/parties/{party_id}/reveal",
        {"field": "id_number", "reason": "核实身份"},
    )
    assert shown.status_code == 200 and shown.json()["value"] == ID_NUMBER
    assert (
        AuditEntry.objects.filter(object_type="mediation.party", field="id_number", actor=town.worker).count()
        == 1
    )
    assert (
        post(
            client_for(town.worker_b),
            f"{API}/parties/{party_id}/reveal",
            {"field": "phone", "reason": "越权"},
        ).status_code
        == 404
    )
    assert AuditEntry.objects.count() == 1


def test_referrals_are_followed_from_sent_to_concluded(town, client_for, dispute_body):
    found = mediating(town, client_for, dispute_body)
    mediator = client_for(town.mediator)
    referred = post(
        mediator,
        f"{API}/disputes/{found['id']}/referral",
        {"kind": "litigation", "to_name": "姑苏区人民法院", "note": "被申请人拒绝调解"},
    ).json()
    assert referred["state"] == "referred"
    referral = referred["referrals"][0]
    assert (referral["state"], referral["to_name"]) == ("sent", "姑苏区人民法院")
    url = f"{API}/referrals/{referral['id']}"
    assert post(mediator, f"{url}/conclude", {"result": "判决"}).status_code == 409  # not received yet
    received = post(mediator, f"{url}/receive")
    assert received.json()["referrals"][0]["state"] == "received"
    assert post(mediator, f"{url}/receive").status_code == 409
    concluded = post(mediator, f"{url}/conclude", {"result": "法院判决赔偿2000元"}).json()
    assert (concluded["referrals"][0]["state"], concluded["referrals"][0]["result"]) == (
        "concluded",
        "法院判决赔偿2000元",
    )
    assert [e["action"] for e in concluded["log"]][-3:] == ["refer", "receive_referral", "conclude_referral"]
    assert post(client_for(town.worker_b), f"{url}/receive").status_code == 404


def test_a_broken_agreement_reopens_the_dispute_with_a_new_clock(town, client_for, dispute_body):
    found = mediating(town, client_for, dispute_body)
    mediator = client_for(town.mediator)
    post(mediator, f"{API}/disputes/{found['id']}/agreement", {"terms": "赔偿3000元"})
    first_start = Dispute.objects.get(pk=found["id"]).started_at
    reopened = post(
        mediator, f"{API}/disputes/{found['id']}/return-visit", {"held": False, "note": "未按期赔偿"}
    )
    body = reopened.json()
    assert (body["state"], body["reopen_count"], body["resolved_at"]) == ("mediating", 1, None)
    assert body["return_visits"][0]["held"] is False
    # The clock starts again from the reopening (the same day gives the same working-day deadline).
    reopened_row = Dispute.objects.get(pk=found["id"])
    assert reopened_row.started_at > first_start
    assert reopened_row.deadline == add_time(reopened_row.started_at, 30, TimeUnit.WORKING_DAYS).at
    assert Notification.objects.filter(user=town.leader, text__contains="楼上漏水").exists()
    # A second agreement gets its own return visit.
    again = post(mediator, f"{API}/disputes/{found['id']}/agreement", {"terms": "分两期赔偿"}).json()
    assert again["state"] == "agreed" and len(again["return_visits"]) == 2


def test_return_visits_due_are_told_once(town, client_for, dispute_body):
    found = mediating(town, client_for, dispute_body)
    post(client_for(town.mediator), f"{API}/disputes/{found['id']}/agreement", {"terms": "赔偿"})
    due = ReturnVisit.objects.get().due_on
    assert workflow.remind_return_visits(due - timedelta(days=1)) == 0
    assert workflow.remind_return_visits(due) == 1
    assert workflow.remind_return_visits(due + timedelta(days=1)) == 0
    assert (
        Notification.objects.filter(user=town.mediator, text__contains="楼上漏水").count() == 2
    )  # assigned, due


def test_high_risk_disputes_go_to_the_lines_leaders_at_once(town, client_for, dispute_body):
    found = registered(town, client_for, dispute_body, people_involved=12, kind="labour", title="欠薪")
    assert found["risk"] == "high" and found["escalated_at"]
    assert Notification.objects.filter(user=town.leader, kind="mediation", text__contains="欠薪").count() == 1
    threat = registered(town, client_for, dispute_body, threat_of_violence=True, title="扬言报复")
    assert threat["risk"] == "high"
    calm = registered(town, client_for, dispute_body, risk="medium", title="小事")
    assert calm["risk"] == "medium" and calm["escalated_at"] is None
    assert not Notification.objects.filter(user=town.leader, text__contains="小事").exists()


def test_lights_turn_red_past_the_limit_and_tell_once(town, client_for, dispute_body):
    found = mediating(town, client_for, dispute_body)
    dispute = Dispute.objects.get(pk=found["id"])
    assert workflow.refresh_lights(dispute.started_at + timedelta(minutes=1)) == {"yellow": 0, "red": 0}
    late = dispute.deadline + timedelta(days=3)
    assert workflow.refresh_lights(late) == {"yellow": 0, "red": 1}
    assert workflow.refresh_lights(late) == {"yellow": 0, "red": 0}
    assert Dispute.objects.get(pk=found["id"]).light == "red"
    told = Notification.objects.filter(user=town.mediator, text__contains="楼上漏水")
    assert told.count() == 2  # assigned, then overdue once
    assert DisputeLog.objects.filter(dispute_id=found["id"], action="overdue").count() == 1
    assert client_for(town.desk).get(f"{API}/disputes?light=red").json()["count"] == 1


def test_a_case_goes_to_mediation_and_comes_back(town, client_for, dispute_body):
    from gridgov.cases.workflow import act

    case = dispute_case(town.worker, town.grid_a)
    desk = client_for(town.desk)
    body = {
        "case_id": case.pk,
        "centre_id": town.centre.pk,
        "parties": [{"role": "applicant", "name": "李申请", "phone": PHONE}],
    }
    # A case still waiting to be registered cannot be suspended: the case workflow says no, nothing is kept.
    assert post(desk, f"{API}/disputes/from-case", body).status_code == 409
    assert not Dispute.objects.exists()
    act(case.pk, town.desk, "register")
    moved = post(desk, f"{API}/disputes/from-case", body)
    assert moved.status_code == 201, moved.content
    found = moved.json()
    assert (found["case_id"], found["case_number"], found["kind"]) == (case.pk, case.number, "neighbour")
    case.refresh_from_db()
    assert case.state == Case.State.SUSPENDED
    assert list(case.disputes.values_list("pk", flat=True)) == [found["id"]]
    assert f"{found['id']}" in CaseLog.objects.filter(case=case, action="suspend").get().note
    assert post(desk, f"{API}/disputes/from-case", body).status_code == 400  # already in mediation

    back = post(desk, f"{API}/disputes/{found['id']}/return-to-case", {"note": "需职能部门处置"})
    assert back.status_code == 200, back.content
    assert back.json()["state"] == "returned" and back.json()["returned_to_case_at"]
    case.refresh_from_db()
    assert case.state == Case.State.REGISTERED
    assert "需职能部门处置" in CaseLog.objects.filter(case=case, action="resume").get().note
    assert post(desk, f"{API}/disputes/{found['id']}/return-to-case", {"note": "再退"}).status_code == 409


def test_a_resolved_dispute_goes_back_to_its_case_with_its_outcome(town, client_for):
    from gridgov.cases.workflow import act

    case = dispute_case(town.worker, town.grid_a)
    act(case.pk, town.desk, "register")
    desk = client_for(town.desk)
    found = post(
        desk,
        f"{API}/disputes/from-case",
        {
            "case_id": case.pk,
            "centre_id": town.centre.pk,
            "parties": [{"role": "applicant", "name": "李申请"}, {"role": "respondent", "name": "周被申"}],
        },
    ).json()
    post(desk, f"{API}/disputes/{found['id']}/assign", {"mediator_id": town.desk.pk})
    post(desk, f"{API}/disputes/{found['id']}/agreement", {"terms": "互相谅解"})
    back = post(desk, f"{API}/disputes/{found['id']}/return-to-case", {"note": "已调解成功，请结案"}).json()
    assert back["state"] == "agreed"  # the outcome stays; the case takes over
    assert "调解" in CaseLog.objects.filter(case=case, action="resume").get().note


def test_only_dispute_categories_go_to_mediation(town, client_for):
    from gridgov.cases.workflow import act

    case = dispute_case(town.worker, town.grid_a, code="13001")  # 消防通道堵塞: not a dispute
    act(case.pk, town.desk, "register")
    refused = post(
        client_for(town.desk),
        f"{API}/disputes/from-case",
        {"case_id": case.pk, "centre_id": town.centre.pk, "kind": "other"},
    )
    assert refused.status_code == 400 and "case_id" in refused.json()["errors"]
    case.refresh_from_db()
    assert case.state == Case.State.REGISTERED and not Dispute.objects.exists()


def test_a_worker_of_grid_a_never_sees_grid_b(town, client_for, dispute_body):
    found = registered(town, client_for, dispute_body)
    outsider = client_for(town.worker_b)
    assert outsider.get(f"{API}/disputes").json()["count"] == 0
    assert outsider.get(f"{API}/disputes/{found['id']}").status_code == 404
    assert client_for(town.worker).get(f"{API}/disputes").json()["count"] == 1


def test_the_resolved_share(town, client_for, dispute_body):
    mediator = client_for(town.mediator)
    for n in range(3):
        found = mediating(town, client_for, dispute_body, title=f"纠纷{n}")
        if n < 2:
            post(mediator, f"{API}/disputes/{found['id']}/agreement", {"terms": "和解"})
    post(
        client_for(town.desk),
        f"/api/v1/mediation/centres/{town.centre.pk}/visits",
        {"name": "来访", "phone": PHONE},
    )
    figures = client_for(town.leader).get(f"{API}/figures").json()
    assert (figures["disputes"], figures["resolved"], figures["open"], figures["visits"]) == (3, 2, 1, 1)
    assert figures["resolved_share"] == pytest.approx(0.6667)
    assert client_for(town.worker_b).get(f"{API}/figures").json()["disputes"] == 0
    assert client_for(town.worker_b).get(f"{API}/figures?grid={town.grid_a.code}").status_code == 404


def test_session_files_are_checked_by_content_and_kept_without_location(
    town, client_for, dispute_body, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from gridgov.mediation.models import SessionAttachment

    settings.MEDIA_ROOT = tmp_path / "media"
    found = mediating(town, client_for, dispute_body)
    mediator = client_for(town.mediator)
    session = post(
        mediator,
        f"{API}/disputes/{found['id']}/sessions",
        {"held_at": timezone.now().isoformat(), "participants": "双方", "notes": "现场调解"},
    ).json()
    url = f"{API}/sessions/{session['sessions'][0]['id']}/attachments"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    photo = SimpleUploadedFile("scene.jpg", buffer.getvalue(), content_type="image/jpeg")
    fake = SimpleUploadedFile("notes.jpg", b"not a picture at all", content_type="image/jpeg")
    refused = mediator.post(url, {"files": [photo, fake]})
    assert refused.status_code == 400 and "files" in refused.json()["errors"]
    assert not SessionAttachment.objects.exists()
    photo.seek(0)
    stored = mediator.post(url, {"files": [photo]})
    assert stored.status_code == 201, stored.content
    assert [a["kind"] for a in stored.json()] == ["image"]
    assert client_for(town.worker).post(url, {"files": []}).status_code == 403  # reads, does not mediate
    detail = client_for(town.mediator).get(f"{API}/disputes/{found['id']}").json()
    assert detail["sessions"][0]["attachments"] == 1 and detail["log"][-1]["action"] == "attach"


def test_a_session_time_without_offset_is_local_and_a_future_one_refused(town, client_for, dispute_body):
    found = mediating(town, client_for, dispute_body)
    url = f"{API}/disputes/{found['id']}/sessions"
    mediator = client_for(town.mediator)
    local = timezone.localtime() - timedelta(hours=2)
    naive = post(
        mediator,
        url,
        {"held_at": local.replace(tzinfo=None).isoformat(), "participants": "双方", "notes": "调解"},
    )
    assert naive.status_code == 200, naive.content
    held = Dispute.objects.get(pk=found["id"]).sessions.get().held_at
    assert abs((held - local).total_seconds()) < 1
    future = (timezone.now() + timedelta(days=1)).isoformat()
    later = post(mediator, url, {"held_at": future, "participants": "双方", "notes": "调解"})
    assert later.status_code == 400 and "held_at" in later.json()["errors"]


def test_a_mediator_changes_the_risk_level_with_a_reason(town, client_for, dispute_body):
    found = mediating(town, client_for, dispute_body, risk="low", title="噪音扰民")
    url = f"{API}/disputes/{found['id']}/risk"
    mediator = client_for(town.mediator)
    medium = post(mediator, url, {"risk": "medium", "note": "双方情绪激动"})
    assert medium.status_code == 200, medium.content
    assert (medium.json()["risk"], medium.json()["escalated_at"]) == ("medium", None)
    entry = DisputeLog.objects.filter(dispute_id=found["id"], action="set_risk").get()
    assert (entry.actor, entry.note) == (town.mediator, "双方情绪激动")
    assert entry.data == {"from": "low", "to": "medium"}
    assert not Notification.objects.filter(user=town.leader, text__contains="噪音扰民").exists()
    # Raised to high: escalated to the line's leaders at once, as at registration.
    high = post(mediator, url, {"risk": "high", "note": "一方扬言报复"}).json()
    assert high["risk"] == "high" and high["escalated_at"]
    assert [e["action"] for e in high["log"]][-2:] == ["set_risk", "escalate"]
    told = Notification.objects.filter(user=town.leader, kind="mediation", text__contains="噪音扰民")
    assert told.count() == 1
    # Lowered and raised again: the leaders hear of it again.
    post(mediator, url, {"risk": "medium", "note": "已安抚"})
    assert Dispute.objects.get(pk=found["id"]).escalated_at is None
    post(mediator, url, {"risk": "high", "note": "再次冲突"})
    assert told.count() == 2


def test_changing_the_risk_is_refused_to_readers_bad_levels_and_closed_disputes(
    town, client_for, dispute_body
):
    found = registered(town, client_for, dispute_body)
    url = f"{API}/disputes/{found['id']}/risk"
    # A grid worker reads the dispute (the registry scope) but does not mediate.
    refused = post(client_for(town.worker), url, {"risk": "high", "note": "我觉得危险"})
    assert refused.status_code == 403, refused.content
    desk = client_for(town.desk)
    bad = post(desk, url, {"risk": "extreme", "note": "很危险"})
    assert bad.status_code == 400 and "risk" in bad.json()["errors"]
    assert post(desk, url, {"risk": "low", "note": "不变"}).status_code == 400  # already low
    assert post(desk, url, {"risk": "high", "note": ""}).status_code == 400  # a reason is required
    # The facts that made a dispute high risk at the desk keep it high.
    many = registered(town, client_for, dispute_body, people_involved=12, title="欠薪")
    lowered = post(desk, f"{API}/disputes/{many['id']}/risk", {"risk": "low", "note": "人少了"})
    assert lowered.status_code == 400 and "risk" in lowered.json()["errors"]
    assert Dispute.objects.get(pk=found["id"]).risk == "low"
    assert not DisputeLog.objects.filter(action="set_risk").exists()
    post(desk, f"{API}/disputes/{found['id']}/withdraw", {"note": "申请人撤回"})
    assert post(desk, url, {"risk": "high", "note": "撤回之后"}).status_code == 409
