"""The data scope of every mediation route: staff of grid A never see or act on grid B's visitors,
disputes, parties, referrals or agreements. Shaped like the board's and the volunteers' scope
modules so that `core/tests/test_scope.py` includes it."""

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.workflow import act as case_act
from gridgov.core.testing import assert_routes_classified, staff
from gridgov.mediation import intake, workflow
from gridgov.mediation.tests.conftest import OTHER_PHONE, PHONE, dispute_case, make_centre

pytestmark = pytest.mark.django_db

ROUTES = {
    ("GET", "/api/v1/mediation/centres"): "scoped",
    ("POST", "/api/v1/mediation/centres/{centre_id}/visits"): "scoped",
    ("GET", "/api/v1/mediation/visits"): "scoped",
    ("POST", "/api/v1/mediation/visitors/{visitor_id}/reveal"): "scoped",
    ("GET", "/api/v1/mediation/figures"): "scoped",
    ("POST", "/api/v1/mediation/disputes"): "scoped",
    ("GET", "/api/v1/mediation/disputes"): "scoped",
    ("POST", "/api/v1/mediation/disputes/from-case"): "scoped",
    ("GET", "/api/v1/mediation/disputes/{dispute_id}"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/parties"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/assign"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/risk"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/sessions"): "scoped",
    ("POST", "/api/v1/mediation/sessions/{session_id}/attachments"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/agreement"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/referral"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/withdraw"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/return-visit"): "scoped",
    ("POST", "/api/v1/mediation/disputes/{dispute_id}/return-to-case"): "scoped",
    ("POST", "/api/v1/mediation/referrals/{referral_id}/receive"): "scoped",
    ("POST", "/api/v1/mediation/referrals/{referral_id}/conclude"): "scoped",
    ("POST", "/api/v1/mediation/parties/{party_id}/reveal"): "scoped",
    ("GET", "/api/v1/mediation/agreements/{agreement_id}/pdf"): "scoped",
}
LISTS = {
    ("GET", "/api/v1/mediation/centres"),
    ("GET", "/api/v1/mediation/visits"),
    ("GET", "/api/v1/mediation/disputes"),
}
LIST_PATHS = ("/api/v1/mediation/centres", "/api/v1/mediation/visits", "/api/v1/mediation/disputes")


def _parties():
    return [
        intake.PartyIn(role="applicant", name="乙申请", phone=PHONE),
        intake.PartyIn(role="respondent", name="乙被申", phone=OTHER_PHONE),
    ]


def grid_b_requests(district) -> dict:
    """(method, route) → (verb, url, JSON body or None, status for a grid-A staff member)."""
    b = district.grids[3]
    centre = make_centre(district.communities[1], "乙矛调中心")
    desk = staff(Role.DISPATCHER, district.communities[1])
    visit = intake.register_visit(desk, centre.pk, name="乙来访", phone=PHONE)

    def dispute(title):
        return intake.register_dispute(
            desk,
            centre.pk,
            intake.DisputeIn(
                title=title, description="乙网格纠纷", kind="neighbour", grid_code=b.code, parties=_parties()
            ),
        )

    open_ = dispute("乙纠纷")
    workflow.act(open_.pk, desk, "assign", workflow.Params(mediator_id=desk.pk))
    workflow.act(
        open_.pk,
        desk,
        "session",
        workflow.Params(held_at=timezone.now(), participants="乙申请、乙被申", note="第一次调解"),
    )
    session = open_.sessions.get()
    agreed = dispute("乙已调解")
    workflow.act(agreed.pk, desk, "assign", workflow.Params(mediator_id=desk.pk))
    workflow.act(agreed.pk, desk, "agree", workflow.Params(terms="赔偿"))
    referred = dispute("乙已移交")
    workflow.act(referred.pk, desk, "assign", workflow.Params(mediator_id=desk.pk))
    workflow.act(
        referred.pk,
        desk,
        "refer",
        workflow.Params(referral_kind="arbitration", to_name="仲裁委", note="调解不成"),
    )
    referral = referred.referrals.get()
    case = dispute_case(staff(Role.GRID_WORKER, b), b)
    case_act(case.pk, desk, "register")
    party = open_.parties.first()
    d = f"/api/v1/mediation/disputes/{open_.pk}"
    a = f"/api/v1/mediation/disputes/{agreed.pk}"
    r = f"/api/v1/mediation/referrals/{referral.pk}"
    reveal = {"field": "phone", "reason": "越权"}
    return {
        ("POST", "/api/v1/mediation/centres/{centre_id}/visits"): (
            "post",
            f"/api/v1/mediation/centres/{centre.pk}/visits",
            {"name": "越权", "phone": PHONE},
            404,
        ),
        ("POST", "/api/v1/mediation/visitors/{visitor_id}/reveal"): (
            "post",
            f"/api/v1/mediation/visitors/{visit.visitor_id}/reveal",
            reveal,
            404,
        ),
        ("GET", "/api/v1/mediation/figures"): ("get", f"/api/v1/mediation/figures?grid={b.code}", None, 404),
        ("POST", "/api/v1/mediation/disputes"): (
            "post",
            "/api/v1/mediation/disputes",
            {
                "centre_id": centre.pk,
                "title": "越权",
                "description": "越权",
                "kind": "other",
                "parties": [{"role": "applicant", "name": "越权"}],
            },
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/from-case"): (
            "post",
            "/api/v1/mediation/disputes/from-case",
            {"case_id": case.pk, "centre_id": centre.pk},
            404,
        ),
        ("GET", "/api/v1/mediation/disputes/{dispute_id}"): ("get", d, None, 404),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/parties"): (
            "post",
            f"{d}/parties",
            {"role": "other", "name": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/assign"): (
            "post",
            f"{d}/assign",
            {"mediator_id": desk.pk},
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/risk"): (
            "post",
            f"{d}/risk",
            {"risk": "high", "note": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/sessions"): (
            "post",
            f"{d}/sessions",
            {"held_at": "2026-11-02T09:00:00+08:00", "participants": "越权", "notes": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/sessions/{session_id}/attachments"): (
            "post",
            f"/api/v1/mediation/sessions/{session.pk}/attachments",
            None,
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/agreement"): (
            "post",
            f"{d}/agreement",
            {"terms": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/referral"): (
            "post",
            f"{d}/referral",
            {"kind": "litigation", "to_name": "法院", "note": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/withdraw"): (
            "post",
            f"{d}/withdraw",
            {"note": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/return-visit"): (
            "post",
            f"{a}/return-visit",
            {"held": False, "note": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/disputes/{dispute_id}/return-to-case"): (
            "post",
            f"{d}/return-to-case",
            {"note": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/referrals/{referral_id}/receive"): ("post", f"{r}/receive", None, 404),
        ("POST", "/api/v1/mediation/referrals/{referral_id}/conclude"): (
            "post",
            f"{r}/conclude",
            {"result": "越权"},
            404,
        ),
        ("POST", "/api/v1/mediation/parties/{party_id}/reveal"): (
            "post",
            f"/api/v1/mediation/parties/{party.pk}/reveal",
            reveal,
            404,
        ),
        ("GET", "/api/v1/mediation/agreements/{agreement_id}/pdf"): (
            "get",
            f"/api/v1/mediation/agreements/{agreed.agreements.get().pk}/pdf",
            None,
            404,
        ),
    }


def test_every_mediation_route_is_classified_and_every_scoped_one_exercised(district):
    assert_routes_classified("/api/v1/mediation", ROUTES, LISTS, grid_b_requests(district))


def test_grid_a_staff_never_see_or_touch_grid_b(district, client_for):
    from gridgov.mediation.models import Dispute, DisputeLog, Visit

    requests = grid_b_requests(district)
    before = (Visit.objects.count(), Dispute.objects.count(), DisputeLog.objects.count())
    grid_a, community_a = district.grids[0], district.communities[0]
    for user in (
        staff(Role.GRID_WORKER, grid_a),
        staff(Role.GRID_LEADER, grid_a),
        staff(Role.DISPATCHER, community_a),
        staff(Role.LEADER, community_a),
        staff(Role.RESIDENT, grid_a),
    ):
        client = client_for(user)
        for (method, path), (verb, url, body, status) in requests.items():
            response = getattr(client, verb)(url, body or {}, content_type="application/json")
            assert response.status_code == status, (user, method, path, response.content)
        for path in LIST_PATHS:
            assert client.get(path).json()["count"] == 0, (user, path)
        assert client.get("/api/v1/mediation/figures").json()["disputes"] == 0
    assert (Visit.objects.count(), Dispute.objects.count(), DisputeLog.objects.count()) == before
