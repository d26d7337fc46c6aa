"""The points certificate for school-entry credit (积分入学): issued by the volunteer or staff of
their grid, a PDF with the year's hours and points, audited, verifiable by its code in public."""

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from gridgov.privacy.models import AuditEntry
from gridgov.volunteers import services
from gridgov.volunteers.models import Certificate, ShopItem
from gridgov.volunteers.tests.conftest import activity, post, volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(crew):
    """A volunteer of grid A who served two hours at a per-hour activity (20 points), was awarded
    5 more and spent 10 in the shop."""
    mine = volunteer(crew.grid_a, crew.grid_leader, name="周志愿")
    event = activity(crew.grid_leader, crew.grid_a, title="敬老院探访")
    services.sign_up(mine.user, event.pk)
    services.correct_times(
        crew.grid_leader,
        event.pk,
        mine.pk,
        checked_in_at=event.starts_at,
        checked_out_at=event.starts_at + timedelta(hours=2),
        reason="补签",
    )
    services.close(crew.grid_leader, event.pk)
    services.adjust_points(crew.grid_leader, mine.pk, amount=5, reason="表彰")
    gift = ShopItem.objects.create(name="毛巾", price=10, stock=3, pickup_point="服务中心", grid=crew.grid_a)
    services.place_order(mine.user, gift.pk)
    return mine


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def this_year() -> int:
    return timezone.localdate().year


def test_a_volunteer_issues_their_certificate_and_downloads_the_pdf(served, client_for):
    client = client_for(served.user)
    issued = post(client, "/api/v1/volunteers/me/certificates", {"year": this_year()})
    assert issued.status_code == 201, issued.content
    body = issued.json()
    # Service points: earned 20 + awarded 5; the redemption moves the balance, not the service.
    assert (body["hours"], body["points"], body["activities"], body["valid"]) == (2.0, 25, 1, True)
    assert body["verify_url"].endswith(f"/volunteers/certificates/verify/{body['code']}/")
    again = post(client, "/api/v1/volunteers/me/certificates", {"year": this_year()})
    assert again.status_code == 200 and again.json()["code"] == body["code"]
    assert Certificate.objects.count() == 1

    response = client.get(body["pdf_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    text = pdf_text(response.content)
    assert "周志愿" in text and body["code"] in text and "2.00" in text and "敬老院探访" in text
    entries = AuditEntry.objects.filter(object_type="volunteers.certificate", action="export")
    assert sorted(entries.values_list("field", flat=True)) == ["issue", "issue", "pdf"]
    assert {e.actor_id for e in entries} == {served.user_id}
    listed = client.get("/api/v1/volunteers/me/certificates").json()
    assert [c["code"] for c in listed["items"]] == [body["code"]]


def test_new_figures_make_a_new_certificate(served, crew, client_for):
    client = client_for(served.user)
    first = post(client, "/api/v1/volunteers/me/certificates", {"year": this_year()}).json()
    services.adjust_points(crew.grid_leader, served.pk, amount=3, reason="补录")
    second = post(client, "/api/v1/volunteers/me/certificates", {"year": this_year()})
    assert second.status_code == 201 and second.json()["points"] == 28
    assert second.json()["code"] != first["code"]


def test_anyone_verifies_a_code_and_sees_no_other_personal_data(served, client_for):
    made = post(client_for(served.user), "/api/v1/volunteers/me/certificates", {"year": this_year()}).json()
    public = Client()
    page = public.get(f"/volunteers/certificates/verify/{made['code']}/")
    text = page.content.decode()
    assert page.status_code == 200 and "证书有效" in text
    assert "周*愿" in text and "周志愿" not in text and "25" in text and "2.00" in text
    assert served.user.phone not in text and served.grid.name not in text
    # Typed with small letters and dashes, the code still verifies.
    typed = "-".join([made["code"][:8].lower(), made["code"][8:]])
    assert "证书有效" in public.get(f"/volunteers/certificates/verify/{typed}/").content.decode()
    unknown = public.get("/volunteers/certificates/verify/AAAABBBBCCCCDDDD/").content.decode()
    assert "没有这个编码的证书" in unknown and "周*愿" not in unknown


def test_staff_issue_in_their_grids_and_revoke(served, crew, client_for):
    staff = client_for(crew.grid_leader)
    issued = post(staff, f"/api/v1/volunteers/{served.pk}/certificates", {"year": this_year()})
    assert issued.status_code == 201
    code, cert_id = issued.json()["code"], issued.json()["id"]
    assert staff.get(f"/api/v1/volunteers/{served.pk}/certificates").json()["count"] == 1
    assert staff.get(f"/api/v1/volunteers/certificates/{cert_id}/pdf").status_code == 200
    assert (
        AuditEntry.objects.filter(object_type="volunteers.certificate", actor=crew.grid_leader).count() == 2
    )

    # Grid B's leader does not see grid A's volunteer; an auditor reads but does not issue.
    other = client_for(crew.grid_leader_b)
    assert (
        post(other, f"/api/v1/volunteers/{served.pk}/certificates", {"year": this_year()}).status_code == 404
    )
    assert other.get(f"/api/v1/volunteers/certificates/{cert_id}/pdf").status_code == 404
    assert (
        post(other, f"/api/v1/volunteers/certificates/{cert_id}/revoke", {"reason": "越权"}).status_code
        == 404
    )
    auditor = client_for(crew.auditor)
    assert (
        post(auditor, f"/api/v1/volunteers/{served.pk}/certificates", {"year": this_year()}).status_code
        == 403
    )
    # Another volunteer never reaches this one's certificate.
    stranger = client_for(volunteer(crew.grid_a, crew.grid_leader, name="吴志愿").user)
    assert stranger.get(f"/api/v1/volunteers/certificates/{cert_id}/pdf").status_code == 404
    assert (
        post(
            client_for(served.user), f"/api/v1/volunteers/certificates/{cert_id}/revoke", {"reason": "x"}
        ).status_code
        == 404
    )

    no_reason = post(staff, f"/api/v1/volunteers/certificates/{cert_id}/revoke", {"reason": " "})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    revoked = post(staff, f"/api/v1/volunteers/certificates/{cert_id}/revoke", {"reason": "年份填错"})
    assert revoked.status_code == 200 and revoked.json()["valid"] is False
    assert (
        post(staff, f"/api/v1/volunteers/certificates/{cert_id}/revoke", {"reason": "再次"}).status_code
        == 409
    )
    assert "证书已被撤销" in Client().get(f"/volunteers/certificates/verify/{code}/").content.decode()
    assert client_for(served.user).get(f"/api/v1/volunteers/certificates/{cert_id}/pdf").status_code == 409


def test_bad_years_and_people_without_service_are_refused(served, crew, client_for):
    client = client_for(served.user)
    for year in (1999, this_year() + 1, "明年"):
        response = post(client, "/api/v1/volunteers/me/certificates", {"year": year})
        assert response.status_code == 400 and "year" in response.json()["errors"], year
    empty = post(client, "/api/v1/volunteers/me/certificates", {"year": this_year() - 1})
    assert empty.status_code == 400 and "year" in empty.json()["errors"]
    assert (
        post(
            client_for(crew.resident), "/api/v1/volunteers/me/certificates", {"year": this_year()}
        ).status_code
        == 403
    )
    applicant = volunteer(crew.grid_a, crew.grid_leader, name="申请人", approved=False)
    assert (
        post(
            client_for(applicant.user), "/api/v1/volunteers/me/certificates", {"year": this_year()}
        ).status_code
        == 403
    )
    staff = client_for(crew.grid_leader)
    refused = post(staff, f"/api/v1/volunteers/{applicant.pk}/certificates", {"year": this_year()})
    assert refused.status_code == 400 and "volunteer_id" in refused.json()["errors"]
    assert not Certificate.objects.exists()
    assert not AuditEntry.objects.filter(object_type="volunteers.certificate").exists()


def test_the_portal_and_staff_page_hand_out_the_pdf(served, crew, client_for):
    portal = client_for(served.user)
    page = portal.get("/volunteers/").content.decode()
    assert 'id="certificate-form"' in page and f'<option value="{this_year()}">' in page
    issued = portal.post("/volunteers/certificates/", {"year": str(this_year())})
    made = Certificate.objects.get()
    assert issued.status_code == 302 and issued["Location"] == f"/volunteers/certificates/{made.pk}.pdf"
    pdf = portal.get(issued["Location"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert made.code in portal.get("/volunteers/").content.decode()
    bad = portal.post("/volunteers/certificates/", {"year": "1999"}, follow=True)
    assert 'class="error"' in bad.content.decode()

    staff = client_for(crew.grid_leader)
    assert 'id="staff-certificate-form"' in staff.get("/volunteers/staff/").content.decode()
    by_staff = staff.post(
        "/volunteers/certificates/", {"year": str(this_year()), "volunteer_id": str(served.pk)}
    )
    assert by_staff.status_code == 302 and staff.get(by_staff["Location"]).status_code == 200
    outside = client_for(crew.grid_leader_b).post(
        "/volunteers/certificates/", {"year": str(this_year()), "volunteer_id": str(served.pk)}, follow=True
    )
    assert 'class="error"' in outside.content.decode()
