"""The mediation centre's pages through the test client: the front desk (queue numbers, disputes,
a case transferred in), the workbench (red first, filters), a dispute's page with a form for every
step, the audited reveal, the agreement PDF, and refusals shown as error messages with nothing saved."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Case
from gridgov.cases.workflow import act as case_act
from gridgov.core.testing import staff
from gridgov.mediation import intake, workflow
from gridgov.mediation.models import Dispute, DisputeLog, Party, Referral, Session, Visit
from gridgov.mediation.tests.conftest import ID_NUMBER, OTHER_PHONE, PHONE, dispute_case
from gridgov.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db
DESK = "/mediation/desk/"


def _dispute(town, **fields) -> Dispute:
    return intake.register_dispute(
        town.desk,
        town.centre.pk,
        intake.DisputeIn(
            title=fields.pop("title", "楼上漏水"),
            description="302室漏水到202室",
            kind="neighbour",
            grid_code=town.grid_a.code,
            parties=[
                intake.PartyIn(role="applicant", name="李申请", phone=PHONE, id_number=ID_NUMBER),
                intake.PartyIn(role="respondent", name="周被申", phone=OTHER_PHONE),
            ],
            **fields,
        ),
    )


def _assigned(town, **fields) -> Dispute:
    found = _dispute(town, **fields)
    workflow.act(found.pk, town.desk, "assign", workflow.Params(mediator_id=town.mediator.pk))
    return found


def _errors(response) -> str:
    page = response.content.decode()
    assert 'class="error"' in page, page[:2000]
    return page


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_the_desk_gives_queue_numbers_and_registers_a_dispute(town, client_for):
    desk = client_for(town.desk)
    page = desk.get(DESK).content.decode()
    assert 'id="visit-form"' in page and f'value="{town.centre.pk}"' in page
    window_two = town.centre.windows.get(number=2)
    body = {"centre_id": town.centre.pk, "name": "李来访", "phone": PHONE, "grid_code": town.grid_a.code}
    first = desk.post("/mediation/desk/visits/", body, follow=True)
    second = desk.post(
        "/mediation/desk/visits/",
        body | {"name": "王来访", "phone": OTHER_PHONE, "window_id": window_two.pk},
        follow=True,
    )
    one, two = Visit.objects.order_by("queue_number")
    assert (one.queue_number, two.queue_number, two.window) == (1, 2, window_two)
    assert f'data-queue="1" data-visit="{one.pk}"' in first.content.decode()
    shown = second.content.decode()
    assert f'data-queue="2" data-visit="{two.pk}"' in shown
    # Today's visitors per window, names masked.
    assert f'data-visit="{one.pk}"' in shown.split('id="visits-today"')[1] and "李*访" in shown
    assert "李来访" not in shown
    counts = shown.split('id="windows-today"')[1].split("</ul>")[0]
    assert f'<li data-window="{window_two.pk}"><strong>1</strong>' in counts

    # A refusal: a phone that is no phone; nothing written.
    _errors(desk.post("/mediation/desk/visits/", body | {"phone": "12345"}, follow=True))
    assert Visit.objects.count() == 2

    dispute_form = {
        "centre_id": town.centre.pk,
        "visit_id": one.pk,
        "title": "楼上漏水",
        "description": "302室漏水到202室",
        "kind": "neighbour",
        "grid_code": town.grid_a.code,
        "amount": "3000",
        "people_involved": "12",
        "risk": "low",
        "applicant_name": "李来访",
        "applicant_phone": PHONE,
        "applicant_id_number": ID_NUMBER,
        "respondent_kind": "person",
        "respondent_name": "周被申",
        "respondent_phone": OTHER_PHONE,
    }
    refused = desk.post("/mediation/desk/disputes/", dispute_form | {"applicant_name": ""}, follow=True)
    _errors(refused)
    assert not Dispute.objects.exists() and not Party.objects.exists()
    made = desk.post("/mediation/desk/disputes/", dispute_form, follow=True)
    found = Dispute.objects.get()
    assert made.redirect_chain[-1][0] == f"/mediation/disputes/{found.pk}/"
    assert (found.visit, found.risk, found.amount, found.grid) == (one, "high", 3000, town.grid_a)
    assert sorted(found.parties.values_list("role", flat=True)) == ["applicant", "respondent"]
    page = made.content.decode()
    assert 'id="dispute-risk"' in page and "李*访" in page and "李来访" not in page and ID_NUMBER not in page


def test_the_desk_is_for_those_who_receive_visitors(town, client_for):
    page = client_for(town.mediator).get(DESK).content.decode()  # a grid leader mediates, keeps no desk
    assert 'id="no-centre"' in page and 'id="visit-form"' not in page
    refused = client_for(town.mediator).post(
        "/mediation/desk/visits/",
        {"centre_id": town.centre.pk, "name": "李来访", "phone": PHONE},
        follow=True,
    )
    _errors(refused)
    assert not Visit.objects.exists()


def test_the_workbench_shows_my_areas_disputes_red_first_and_filters_by_state(town, client_for):
    calm = _dispute(town, title="平静的纠纷")
    late = _assigned(town, title="超期的纠纷")
    Dispute.objects.filter(pk=late.pk).update(light=Dispute.Light.RED)
    done = _assigned(town, title="已调解的纠纷")
    workflow.act(done.pk, town.mediator, "agree", workflow.Params(terms="赔偿3000元"))
    withdrawn = _dispute(town, title="撤回的纠纷")
    workflow.act(withdrawn.pk, town.desk, "withdraw", workflow.Params(note="自行和解"))

    mediator = client_for(town.mediator)
    page = mediator.get("/mediation/").content.decode()
    rows = page.split('id="disputes"')[1]
    order = [int(part.split('"')[0]) for part in rows.split('data-dispute="')[1:]]
    # Not finished: red first; the withdrawn one is left out.
    assert order[0] == late.pk and set(order) == {late.pk, calm.pk, done.pk}
    assert "李*请" in rows and "李申请" not in rows
    only = mediator.get("/mediation/?state=withdrawn").content.decode().split('id="disputes"')[1]
    assert f'data-dispute="{withdrawn.pk}"' in only and f'data-dispute="{late.pk}"' not in only
    everything = mediator.get("/mediation/?state=all").content.decode()
    assert everything.count('data-dispute="') == 4
    # Another grid's worker sees none of them; the desk link is only for the desk.
    assert 'data-dispute="' not in client_for(town.worker_b).get("/mediation/").content.decode()
    assert 'id="desk-link"' in client_for(town.desk).get("/mediation/").content.decode()
    assert 'id="desk-link"' not in page


def _ids(page: str) -> list[int]:
    rows = page.split('id="disputes"')[1].split("</table>")[0]
    return [int(part.split('"')[0]) for part in rows.split('data-dispute="')[1:]]


def test_the_workbench_pages_by_100_keeping_the_state_filter(town, client_for):
    first = _dispute(town, title="纠纷000")
    # 100 more, each due a minute after the one before: the 101st by deadline is the last one.
    copies = []
    for i in range(1, 101):
        copy = Dispute.objects.get(pk=first.pk)
        copy.pk, copy.title, copy.deadline = None, f"纠纷{i:03d}", first.deadline + timedelta(minutes=i)
        copies.append(copy)
    Dispute.objects.bulk_create(copies)
    last = Dispute.objects.get(title="纠纷100")
    withdrawn = _dispute(town, title="撤回的纠纷")
    workflow.act(withdrawn.pk, town.desk, "withdraw", workflow.Params(note="自行和解"))

    mediator = client_for(town.mediator)
    one = mediator.get("/mediation/?state=registered").content.decode()
    assert len(_ids(one)) == 100 and last.pk not in _ids(one) and first.pk in _ids(one)
    assert 'href="?state=registered&amp;page=2" id="page-next"' in one and 'id="page-previous"' not in one
    two = mediator.get("/mediation/?state=registered&page=2").content.decode()
    assert _ids(two) == [last.pk]
    assert 'href="?state=registered&amp;page=1" id="page-previous"' in two and 'id="page-next"' not in two
    # The filter holds on every page; a page past the end (or nonsense) is empty or the first.
    everything = [_ids(mediator.get(f"/mediation/?state=all&page={n}").content.decode()) for n in (1, 2)]
    assert (len(everything[0]), len(everything[1])) == (100, 2)
    assert set(everything[0] + everything[1]) == set(Dispute.objects.values_list("pk", flat=True))
    assert _ids(mediator.get("/mediation/?state=registered&page=9000000000000000000").content.decode()) == []
    assert len(_ids(mediator.get("/mediation/?state=registered&page=x").content.decode())) == 100
    small = mediator.get("/mediation/?state=withdrawn").content.decode()
    assert _ids(small) == [withdrawn.pk] and 'id="workbench-pages"' not in small


def test_every_step_from_the_dispute_page_to_a_return_visit_that_held(town, client_for, settings, tmp_path):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    found = _dispute(town)
    url = f"/mediation/disputes/{found.pk}/"
    desk = client_for(town.desk)
    page = desk.get(url).content.decode()
    assert 'id="assign-form"' in page and 'id="withdraw-form"' in page and 'id="agree-form"' not in page
    assert f'<option value="{town.mediator.pk}">' in page  # mediators of the dispute's grid
    desk.post(
        f"{url}assign/", {"mediator_id": town.mediator.pk, "window_id": town.centre.windows.get(number=1).pk}
    )
    found.refresh_from_db()
    assert (found.state, found.mediator) == ("mediating", town.mediator)

    mediator = client_for(town.mediator)
    page = mediator.get(url).content.decode()
    assert 'id="session-form"' in page and 'id="agree-form"' in page and 'id="refer-form"' in page
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, "JPEG")
    photo = SimpleUploadedFile("scene.jpg", buffer.getvalue(), content_type="image/jpeg")
    held = _local(timezone.now() - timedelta(hours=1))
    mediator.post(
        f"{url}session/",
        {
            "held_at": held,
            "place": "调解室",
            "participants": "李申请、周被申",
            "note": "双方同意赔偿",
            "files": [photo],
        },
    )
    session = Session.objects.get()
    assert session.notes == "双方同意赔偿" and session.attachments.count() == 1
    page = mediator.post(f"{url}agree/", {"terms": "周被申赔偿李申请3000元"}, follow=True).content.decode()
    found.refresh_from_db()
    agreement = found.agreements.get()
    assert found.state == "agreed" and f"/mediation/agreements/{agreement.pk}/pdf/" in page
    pdf = mediator.get(f"/mediation/agreements/{agreement.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(field="pdf", object_id=str(agreement.pk)).count() == 1
    assert client_for(town.worker).get(f"/mediation/agreements/{agreement.pk}/pdf/").status_code == 403

    page = mediator.get(url).content.decode()
    assert 'id="return-visit-form"' in page and 'id="session-form"' not in page
    mediator.post(f"{url}return_visit/", {"held": "yes", "note": "已履行"})
    found.refresh_from_db()
    assert found.state == "closed"
    page = mediator.get(url).content.decode()
    assert 'id="dispute-steps"' not in page
    log = page.split('id="log"')[1]
    assert [
        a
        for a in ("register", "assign", "session", "attach", "agree", "return_visit")
        if f'data-action="{a}"' in log
    ] == ["register", "assign", "session", "attach", "agree", "return_visit"]


def test_a_broken_agreement_reopens_and_a_referral_is_followed(town, client_for):
    mediator = client_for(town.mediator)
    broken = _assigned(town)
    workflow.act(broken.pk, town.mediator, "agree", workflow.Params(terms="赔偿"))
    mediator.post(f"/mediation/disputes/{broken.pk}/return_visit/", {"held": "no", "note": "未履行"})
    broken.refresh_from_db()
    assert (broken.state, broken.reopen_count) == ("mediating", 1)

    referred = _assigned(town)
    url = f"/mediation/disputes/{referred.pk}/"
    mediator.post(
        f"{url}refer/", {"referral_kind": "arbitration", "to_name": "区劳动仲裁委", "note": "调解不成"}
    )
    referral = Referral.objects.get()
    page = mediator.get(url).content.decode()
    assert f'data-referral="{referral.pk}" data-state="sent"' in page and "receive-referral" in page
    mediator.post(f"{url}receive_referral/", {"referral_id": referral.pk})
    mediator.post(f"{url}conclude_referral/", {"referral_id": referral.pk, "note": "仲裁裁决已执行"})
    referral.refresh_from_db()
    assert (referral.state, referral.result) == ("concluded", "仲裁裁决已执行")

    withdrawn = _dispute(town)
    client_for(town.desk).post(f"/mediation/disputes/{withdrawn.pk}/withdraw/", {"note": "自行和解"})
    assert Dispute.objects.get(pk=withdrawn.pk).state == "withdrawn"

    party = _dispute(town)
    client_for(town.desk).post(
        f"/mediation/disputes/{party.pk}/party/", {"role": "other", "kind": "person", "name": "吴第三"}
    )
    assert party.parties.filter(role="other").count() == 1


def test_refusals_are_error_messages_and_save_nothing(town, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    found = _assigned(town)
    url = f"/mediation/disputes/{found.pk}/"
    mediator = client_for(town.mediator)
    steps = DisputeLog.objects.count()

    def send(client, what, data, **files):
        """As the page's form sends it: back to the dispute's page."""
        response = client.post(f"{url}{what}/", {"next": url, **data, **files}, follow=True)
        assert response.redirect_chain[-1][0] == url
        return _errors(response)

    # A session in the future; a session whose file is no file (the session is not kept either).
    send(
        mediator,
        "session",
        {"held_at": _local(timezone.now() + timedelta(days=1)), "participants": "双方", "note": "调解"},
    )
    fake = SimpleUploadedFile("notes.jpg", b"not a picture", content_type="image/jpeg")
    earlier = _local(timezone.now() - timedelta(minutes=30))
    send(mediator, "session", {"held_at": earlier, "participants": "双方", "note": "调解"}, files=[fake])
    assert not Session.objects.exists() and DisputeLog.objects.count() == steps
    # No terms; a step out of turn (409 in the API); a grid worker does not mediate; no such step.
    send(mediator, "agree", {"terms": ""})
    page = send(mediator, "return_visit", {"held": "yes", "note": "已履行"})
    assert 'id="agree-form"' in page
    send(client_for(town.worker), "withdraw", {"note": "撤回"})
    send(mediator, "nonsense", {})
    # Another grid's worker: not found, told so on the workbench (the dispute's page is a 404 to them).
    refused = client_for(town.worker_b).post(f"{url}withdraw/", {"note": "撤回"}, follow=True)
    assert refused.redirect_chain[-1][0] == "/mediation/" and 'class="error"' in refused.content.decode()
    assert client_for(town.worker_b).get(url).status_code == 404
    found.refresh_from_db()
    assert found.state == "mediating" and DisputeLog.objects.count() == steps


def test_a_full_value_is_revealed_once_with_a_reason_and_audited(town, client_for):
    found = _dispute(town)
    applicant = found.parties.get(role="applicant")
    url = f"/mediation/disputes/{found.pk}/parties/{applicant.pk}/reveal/"
    leader = client_for(town.leader)
    assert "reveal-form" in leader.get(f"/mediation/disputes/{found.pk}/").content.decode()
    _errors(leader.post(url, {"field": "phone", "reason": ""}, follow=True))
    assert not AuditEntry.objects.exists()
    shown = leader.post(url, {"field": "phone", "reason": "联系申请人"})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert f'data-field="phone">{PHONE}<' in shown.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.object_type, entry.field, entry.reason) == ("mediation.party", "phone", "联系申请人")
    # The desk (a dispatcher) does not see full personal data: no reveal form, and a refusal.
    assert "reveal-form" not in client_for(town.desk).get(f"/mediation/disputes/{found.pk}/").content.decode()
    _errors(client_for(town.desk).post(url, {"field": "phone", "reason": "看看"}, follow=True))
    assert AuditEntry.objects.count() == 1
    assert client_for(town.worker_b).post(url, {"field": "phone", "reason": "越权"}).status_code == 302
    assert AuditEntry.objects.count() == 1


def test_a_visitors_phone_or_id_is_revealed_at_the_desk_with_a_reason_and_audited(town, client_for):
    visit = intake.register_visit(town.desk, town.centre.pk, name="李来访", phone=PHONE, id_number=ID_NUMBER)
    url = f"/mediation/desk/visitors/{visit.visitor_id}/reveal/"
    leader = client_for(town.leader)  # a leader keeps the desk and sees full personal data
    page = leader.get(DESK).content.decode()
    today = page.split('id="visits-today"')[1].split("</ul>")[0]
    assert f'action="{url}"' in today and PHONE not in today and ID_NUMBER not in today
    _errors(leader.post(url, {"field": "phone", "reason": "", "centre_id": town.centre.pk}, follow=True))
    assert not AuditEntry.objects.exists()
    shown = leader.post(url, {"field": "id_number", "reason": "核对身份", "centre_id": town.centre.pk})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert f'data-field="id_number">{ID_NUMBER}<' in shown.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.object_type, entry.object_id, entry.field, entry.reason) == (
        "mediation.visitor",
        str(visit.visitor_id),
        "id_number",
        "核对身份",
    )
    assert ID_NUMBER not in leader.get(DESK).content.decode()  # shown on that answer only
    # The desk (a dispatcher) registers visitors but does not see full personal data.
    desk = client_for(town.desk)
    assert "reveal-form" not in desk.get(DESK).content.decode()
    refused = desk.post(url, {"field": "phone", "reason": "看看", "centre_id": town.centre.pk}, follow=True)
    assert PHONE not in _errors(refused)
    # Another community's staff: not found.
    other = client_for(staff(Role.LEADER, town.district.communities[1]))
    assert PHONE not in _errors(other.post(url, {"field": "phone", "reason": "越权"}, follow=True))
    assert AuditEntry.objects.count() == 1


def test_the_risk_level_changes_from_the_dispute_page(town, client_for):
    found = _assigned(town, title="噪音扰民")
    url = f"/mediation/disputes/{found.pk}/"
    mediator = client_for(town.mediator)
    form = mediator.get(url).content.decode().split('id="risk-form"')[1].split("</form>")[0]
    assert 'value="high"' in form and 'value="low"' not in form  # the current level is not offered
    _errors(mediator.post(f"{url}set_risk/", {"risk": "high", "note": ""}, follow=True))
    done = mediator.post(f"{url}set_risk/", {"risk": "high", "note": "一方扬言报复"}, follow=True)
    assert 'id="dispute-risk"' in done.content.decode()
    found.refresh_from_db()
    assert found.risk == "high" and found.escalated_at is not None
    assert list(found.log.values_list("action", flat=True))[-2:] == ["set_risk", "escalate"]
    assert 'id="risk-form"' not in client_for(town.worker).get(url).content.decode()


def test_a_case_transferred_in_from_the_desk_goes_back_to_it(town, client_for):
    case = dispute_case(town.worker, town.grid_a)
    case_act(case.pk, town.desk, "register")
    desk = client_for(town.desk)
    page = desk.get(DESK).content.decode()
    assert f'<option value="{case.pk}">' in page.split('id="transfer-form"')[1]
    made = desk.post(
        "/mediation/desk/transfers/", {"centre_id": town.centre.pk, "case_id": case.pk}, follow=True
    )
    found = Dispute.objects.get()
    assert found.case == case and Case.objects.get(pk=case.pk).state == "suspended"
    assert made.redirect_chain[-1][0] == f"/mediation/disputes/{found.pk}/"
    # Not offered twice; a second transfer is refused.
    assert 'id="transfer-form"' not in desk.get(DESK).content.decode()
    _errors(
        desk.post(
            "/mediation/desk/transfers/", {"centre_id": town.centre.pk, "case_id": case.pk}, follow=True
        )
    )
    assert Dispute.objects.count() == 1
    assert 'id="return-to-case-form"' in made.content.decode()
    desk.post(f"/mediation/disputes/{found.pk}/return_to_case/", {"note": "调解成功"})
    found.refresh_from_db()
    assert found.returned_to_case_at is not None and Case.objects.get(pk=case.pk).state == "registered"


def test_the_workbenches_link_to_mediation_for_the_roles_that_mediate(town, client_for):
    assert 'id="mediation-link"' in client_for(town.leader).get("/console/leader/").content.decode()
    assert 'id="mediation-link"' in client_for(town.mediator).get("/console/worker/").content.decode()
    assert 'id="mediation-link"' not in client_for(town.worker).get("/console/worker/").content.decode()
    dispatcher = staff(Role.DISPATCHER, town.community)
    assert 'id="mediation-link"' in client_for(dispatcher).get("/console/dispatch/").content.decode()
