"""The mediation centre over HTTP: the desk registers visitors and disputes, mediators take the
steps of `workflow.act`. Thin handlers over `intake`, `workflow` and `agreement`; personal data
masked in every answer, the full value only from the audited `.../reveal` routes."""

from datetime import date, datetime

from django.db.models import Count
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from gridgov.core.openapi import CONFLICT, ERROR_TEXTS
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.mediation import agreement, intake, workflow
from gridgov.mediation.models import Centre, Dispute, Party, Referral, Visit
from gridgov.privacy.masking import mask_id_number, mask_name, mask_phone

router = Router(tags=["mediation"])


# --- centres and visits ----------------------------------------------------------------------------------


class MediationWindowOut(Schema):
    id: int
    number: int
    name: str
    department: str


class MediationCentreOut(Schema):
    id: int
    name: str
    grid: GridRef
    address: str
    windows: list[MediationWindowOut]


@router.get("/mediation/centres", response=list[MediationCentreOut], summary="Mediation centres in my area")
@paginate(Pagination)
def list_centres(request):
    rows = Centre.objects.visible_to(request.auth).filter(is_active=True).select_related("grid")

    def out(page):
        return [
            {
                "id": c.pk,
                "name": c.name,
                "grid": {"code": c.grid.code, "name": c.grid.name},
                "address": c.address,
                "windows": [
                    {
                        "id": w.pk,
                        "number": w.number,
                        "name": w.name,
                        "department": w.department.name if w.department else "",
                    }
                    for w in c.windows.filter(is_active=True).select_related("department")
                ],
            }
            for c in page
        ]

    return LazyPage(rows, out_page=out)


class MediationVisitIn(Schema):
    name: str
    phone: str
    id_number: str = Field("", description="optional; checked as a GB 11643 ID number")
    grid_code: str = Field("", description="the grid the visitor lives in")
    window_id: int | None = Field(None, description="default: the open window with the fewest visitors today")
    purpose: str = ""


class MediationVisitOut(Schema):
    id: int
    centre_id: int
    day: date
    queue_number: int
    window: MediationWindowOut | None
    visitor_id: int
    name: str = Field(description="masked")
    phone: str = Field(description="masked")
    id_number: str = Field(description="masked")
    home_grid: GridRef | None
    purpose: str
    created_at: datetime


def _window_out(w) -> dict | None:
    if w is None:
        return None
    return {
        "id": w.pk,
        "number": w.number,
        "name": w.name,
        "department": w.department.name if w.department else "",
    }


def _visit_out(v: Visit) -> dict:
    visitor = v.visitor
    home = visitor.home_grid
    return {
        "id": v.pk,
        "centre_id": v.centre_id,
        "day": v.day,
        "queue_number": v.queue_number,
        "window": _window_out(v.window),
        "visitor_id": visitor.pk,
        "name": mask_name(visitor.name),
        "phone": mask_phone(visitor.phone),
        "id_number": mask_id_number(visitor.id_number),
        "home_grid": {"code": home.code, "name": home.name} if home else None,
        "purpose": v.purpose,
        "created_at": v.created_at,
    }


def _visits():
    return Visit.objects.select_related("visitor__home_grid", "window__department")


@router.post(
    "/mediation/centres/{centre_id}/visits",
    response={201: MediationVisitOut},
    summary="Register a visitor at the desk: the day's queue number and a window",
)
def register_visit(request, centre_id: int, payload: MediationVisitIn):
    visit = intake.register_visit(request.auth, centre_id, **payload.dict())
    return Status(201, _visit_out(_visits().get(pk=visit.pk)))


class MediationVisitFilter(Schema):
    day: date | None = Field(None, description="one day's visits")
    centre_id: int | None = None


@router.get("/mediation/visits", response=list[MediationVisitOut], summary="Visits in my area, newest first")
@paginate(Pagination)
def list_visits(request, filters: Query[MediationVisitFilter]):
    rows = _visits().visible_to(request.auth)
    if filters.day:
        rows = rows.filter(day=filters.day)
    if filters.centre_id is not None:
        rows = rows.filter(centre_id=filters.centre_id)
    return LazyPage(rows, _visit_out)


class MediationRevealIn(Schema):
    field: str = Field(description="name, phone or id_number")
    reason: str = Field(max_length=200, description="why the full value is needed; written to the audit log")


class MediationRevealOut(Schema):
    field: str
    value: str


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


@router.post(
    "/mediation/visitors/{visitor_id}/reveal",
    response=MediationRevealOut,
    summary="Reveal a visitor's full value (audited)",
)
def reveal_visitor(request, visitor_id: int, payload: MediationRevealIn):
    visitor = intake.readable_visitor(request.auth, visitor_id)
    value = intake.reveal(
        request.auth, visitor, payload.field, payload.reason, visitor.centre.grid, _ip(request)
    )
    return {"field": payload.field, "value": value}


# --- figures ----------------------------------------------------------------------------------------------


class MediationFiguresIn(Schema):
    grid: str = Field("", description="a grid code in my area: its whole subtree")
    since: date | None = None
    until: date | None = None


class MediationCountsOut(Schema):
    accepted: int = Field(description="disputes registered")
    resolved: int
    on_time: int = Field(description="resolved within the mediation time limit")
    referred: int
    repeat: int = Field(description="reopened after a broken agreement")
    high_risk: int
    resolved_share: float | None
    on_time_share: float | None
    repeat_share: float | None


class MediationWindowFiguresOut(MediationCountsOut):
    id: int | None = Field(description="null: disputes not yet at a window")
    centre: str
    number: int | None
    name: str
    department: str
    visits: int


class MediationMediatorFiguresOut(MediationCountsOut):
    id: int
    name: str


class MediationReferralFiguresOut(Schema):
    kind: str
    label: str
    referrals: int
    concluded: int


class MediationFiguresOut(Schema):
    visits: int
    visitors: int
    disputes: int
    resolved: int = Field(description="an agreement reached (and not broken at the return visit)")
    referred: int
    open: int
    high_risk: int
    on_time: int = Field(description="resolved within the mediation time limit")
    repeat: int = Field(description="reopened after a broken agreement")
    resolved_share: float | None = Field(description="resolved ÷ disputes (化解率)")
    on_time_share: float | None = Field(description="on time ÷ disputes")
    windows: list[MediationWindowFiguresOut]
    mediators: list[MediationMediatorFiguresOut]
    referrals: list[MediationReferralFiguresOut] = Field(description="referrals of these disputes by kind")


@router.get(
    "/mediation/figures",
    response=MediationFiguresOut,
    summary="Visits, disputes and the resolved share in my area, per window, mediator and referral kind",
    # A grid code outside my area is a 404, though the path names no object.
    openapi_extra={"responses": {"404": {"description": ERROR_TEXTS["404"]}}},
)
def figures(request, filters: Query[MediationFiguresIn]):
    return intake.figures(request.auth, filters.grid, filters.since, filters.until)


# --- disputes -----------------------------------------------------------------------------------------------


class MediationPartyIn(Schema):
    role: str = Field(description="applicant, respondent or other")
    kind: str = Field("person", description="person or organization")
    name: str
    phone: str = ""
    id_number: str = Field("", description="a person's, optional")


class MediationDisputeFields(Schema):
    title: str = ""
    description: str = ""
    kind: str = Field(description="neighbour, family, labour, property, land, consumer, traffic or other")
    grid_code: str = Field("", description="where the dispute is; default the centre's grid")
    amount: float | None = Field(None, description="yuan")
    people_involved: int = 1
    threat_of_violence: bool = False
    repeated_petitions: bool = False
    risk: str = Field(
        "low", description="low, medium or high; high anyway when many people, violence or repeated petitions"
    )
    parties: list[MediationPartyIn] = []


class MediationDisputeIn(MediationDisputeFields):
    centre_id: int
    visit_id: int | None = None


class MediationFromCaseIn(MediationDisputeFields):
    case_id: int
    centre_id: int
    kind: str = Field("", description="default: from the case's category")


class MediationPartyOut(Schema):
    id: int
    role: str
    role_label: str
    kind: str
    name: str = Field(description="masked")
    phone: str = Field(description="masked")
    id_number: str = Field(description="masked")


class MediationDisputeOut(Schema):
    id: int
    centre_id: int
    centre: str
    grid: GridRef
    title: str
    kind: str
    kind_label: str
    amount: float | None
    people_involved: int
    risk: str
    state: str
    state_label: str
    light: str
    deadline: datetime
    mediator: str
    window: MediationWindowOut | None
    department: str
    case_id: int | None
    case_number: str
    parties: list[MediationPartyOut]
    created_at: datetime
    resolved_at: datetime | None
    escalated_at: datetime | None
    reopen_count: int


class MediationSessionOut(Schema):
    id: int
    held_at: datetime
    place: str
    participants: str
    notes: str
    mediator: str
    attachments: int


class MediationAgreementOut(Schema):
    id: int
    terms: str
    signed_on: date
    pdf_url: str


class MediationReferralOut(Schema):
    id: int
    kind: str
    kind_label: str
    to_name: str
    state: str
    sent_at: datetime
    received_at: datetime | None
    concluded_at: datetime | None
    result: str


class MediationReturnVisitOut(Schema):
    id: int
    due_on: date
    done_at: datetime | None
    held: bool | None
    notes: str


class MediationLogOut(Schema):
    action: str
    actor: str
    from_state: str
    to_state: str
    note: str
    at: datetime


class MediationDisputeDetail(MediationDisputeOut):
    description: str
    threat_of_violence: bool
    repeated_petitions: bool
    returned_to_case_at: datetime | None
    sessions: list[MediationSessionOut]
    agreements: list[MediationAgreementOut]
    referrals: list[MediationReferralOut]
    return_visits: list[MediationReturnVisitOut]
    log: list[MediationLogOut]
    actions: list[str] = Field(description="the steps I may take now")


def _party_out(p: Party) -> dict:
    return {
        "id": p.pk,
        "role": p.role,
        "role_label": p.get_role_display(),
        "kind": p.kind,
        "name": mask_name(p.name),
        "phone": mask_phone(p.phone),
        "id_number": mask_id_number(p.id_number),
    }


def _disputes():
    return Dispute.objects.select_related(
        "grid", "centre", "mediator", "window__department", "department", "case"
    )


def disputes_out(page) -> list[dict]:
    parties: dict[int, list] = {}
    for p in Party.objects.filter(dispute__in=[d.pk for d in page]):
        parties.setdefault(p.dispute_id, []).append(_party_out(p))
    return [
        {
            "id": d.pk,
            "centre_id": d.centre_id,
            "centre": d.centre.name,
            "grid": {"code": d.grid.code, "name": d.grid.name},
            "title": d.title,
            "kind": d.kind,
            "kind_label": d.get_kind_display(),
            "amount": float(d.amount) if d.amount is not None else None,
            "people_involved": d.people_involved,
            "risk": d.risk,
            "state": d.state,
            "state_label": d.get_state_display(),
            "light": d.light,
            "deadline": d.deadline,
            "mediator": str(d.mediator) if d.mediator else "",
            "window": _window_out(d.window),
            "department": d.department.name if d.department else "",
            "case_id": d.case_id,
            "case_number": d.case.number if d.case else "",
            "parties": parties.get(d.pk, []),
            "created_at": d.created_at,
            "resolved_at": d.resolved_at,
            "escalated_at": d.escalated_at,
            "reopen_count": d.reopen_count,
        }
        for d in page
    ]


def _detail(request, dispute_id: int) -> dict:
    return dispute_detail(request.auth, dispute_id)


def dispute_detail(user, dispute_id: int) -> dict:
    """A dispute as the API answers it (parties masked), for `user`; the pages show the same."""
    d = _disputes().visible_to(user).filter(pk=dispute_id).first()
    if d is None:
        raise Http404(_("No such dispute in your area."))
    out = disputes_out([d])[0]
    out |= {
        "description": d.description,
        "threat_of_violence": d.threat_of_violence,
        "repeated_petitions": d.repeated_petitions,
        "returned_to_case_at": d.returned_to_case_at,
        "sessions": [
            {
                "id": s.pk,
                "held_at": s.held_at,
                "place": s.place,
                "participants": s.participants,
                "notes": s.notes,
                "mediator": str(s.mediator),
                "attachments": s.n,
            }
            for s in d.sessions.select_related("mediator").annotate(n=Count("attachments"))
        ],
        "agreements": [
            {
                "id": a.pk,
                "terms": a.terms,
                "signed_on": a.signed_on,
                "pdf_url": f"/api/v1/mediation/agreements/{a.pk}/pdf",
            }
            for a in d.agreements.all()
        ],
        "referrals": [
            {
                "id": r.pk,
                "kind": r.kind,
                "kind_label": r.get_kind_display(),
                "to_name": r.to_name,
                "state": r.state,
                "sent_at": r.sent_at,
                "received_at": r.received_at,
                "concluded_at": r.concluded_at,
                "result": r.result,
            }
            for r in d.referrals.all()
        ],
        "return_visits": [
            {"id": v.pk, "due_on": v.due_on, "done_at": v.done_at, "held": v.held, "notes": v.notes}
            for v in d.return_visits.all()
        ],
        "log": [
            {
                "action": e.action,
                "actor": str(e.actor) if e.actor else "",
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
                "at": e.at,
            }
            for e in d.log.select_related("actor")
        ],
        "actions": workflow.available_actions(user, d),
    }
    return out


def _dispute_in(payload: MediationDisputeFields) -> intake.DisputeIn:
    data = payload.dict(exclude={"centre_id", "case_id", "parties"})
    parties = [intake.PartyIn(**p.dict()) for p in payload.parties]
    return intake.DisputeIn(**data, parties=parties)


@router.post(
    "/mediation/disputes",
    response={201: MediationDisputeDetail},
    summary="Register a dispute at the desk, with its parties",
)
def register_dispute(request, payload: MediationDisputeIn):
    found = intake.register_dispute(request.auth, payload.centre_id, _dispute_in(payload))
    return Status(201, _detail(request, found.pk))


@router.post(
    "/mediation/disputes/from-case",
    response={201: MediationDisputeDetail},
    summary="Transfer a case of the dispute categories to mediation (the case is suspended)",
    openapi_extra=CONFLICT,
)
def dispute_from_case(request, payload: MediationFromCaseIn):
    found = intake.from_case(request.auth, payload.case_id, payload.centre_id, _dispute_in(payload))
    return Status(201, _detail(request, found.pk))


class MediationDisputeFilter(Schema):
    state: str = Field("", description="registered, mediating, agreed, closed, referred, withdrawn, returned")
    risk: str = Field("", description="low, medium or high")
    light: str = Field("", description="green, yellow or red")
    grid: str = Field("", description="a grid code: the whole subtree")


@router.get(
    "/mediation/disputes",
    response=list[MediationDisputeOut],
    summary="Disputes in my area, newest first (parties masked)",
)
@paginate(Pagination)
def list_disputes(request, filters: Query[MediationDisputeFilter]):
    rows = _disputes().visible_to(request.auth)
    for name in ("state", "risk", "light"):
        if getattr(filters, name):
            rows = rows.filter(**{name: getattr(filters, name)})
    if filters.grid:
        rows = rows.filter(grid__code__startswith=filters.grid)
    return LazyPage(rows, out_page=disputes_out)


@router.get(
    "/mediation/disputes/{dispute_id}",
    response=MediationDisputeDetail,
    summary="A dispute with its sessions, agreement, referrals, return visits and log",
)
def get_dispute(request, dispute_id: int):
    return _detail(request, dispute_id)


@router.post(
    "/mediation/disputes/{dispute_id}/parties",
    response={201: MediationDisputeDetail},
    summary="Add a party to an open dispute",
    openapi_extra=CONFLICT,
)
def add_party(request, dispute_id: int, payload: MediationPartyIn):
    intake.add_party(request.auth, dispute_id, intake.PartyIn(**payload.dict()))
    return Status(201, _detail(request, dispute_id))


def _step(request, dispute_id: int, action: str, **params) -> dict:
    workflow.act(dispute_id, request.auth, action, workflow.Params(**params))
    return _detail(request, dispute_id)


class MediationAssignIn(Schema):
    mediator_id: int
    window_id: int | None = None
    department_id: int | None = None
    note: str = ""


@router.post(
    "/mediation/disputes/{dispute_id}/assign",
    response=MediationDisputeDetail,
    summary="Assign the mediator (and window, department): mediation starts",
    openapi_extra=CONFLICT,
)
def assign(request, dispute_id: int, payload: MediationAssignIn):
    return _step(request, dispute_id, "assign", **payload.dict())


class MediationRiskIn(Schema):
    risk: str = Field(description="low, medium or high")
    note: str = Field(description="why the risk changed; written to the dispute's log")


@router.post(
    "/mediation/disputes/{dispute_id}/risk",
    response=MediationDisputeDetail,
    summary="Change an open dispute's risk level (raised to high: the leaders are told at once)",
    openapi_extra=CONFLICT,
)
def set_risk(request, dispute_id: int, payload: MediationRiskIn):
    return _step(request, dispute_id, "set_risk", risk=payload.risk, note=payload.note)


class MediationSessionIn(Schema):
    held_at: datetime
    place: str = Field("", max_length=100)
    participants: str
    notes: str


@router.post(
    "/mediation/disputes/{dispute_id}/sessions",
    response=MediationDisputeDetail,
    summary="Record a mediation session",
    openapi_extra=CONFLICT,
)
def add_session(request, dispute_id: int, payload: MediationSessionIn):
    return _step(
        request,
        dispute_id,
        "session",
        held_at=payload.held_at,
        place=payload.place,
        participants=payload.participants,
        note=payload.notes,
    )


class MediationAttachmentOut(Schema):
    id: int
    kind: str
    mime: str
    size: int


@router.post(
    "/mediation/sessions/{session_id}/attachments",
    response={201: list[MediationAttachmentOut]},
    summary="Attach photos, recordings or documents to a session (multipart: files)",
)
def attach(request, session_id: int, files: list[UploadedFile] = File(None)):
    stored = intake.attach_to_session(request.auth, session_id, files)
    return Status(201, [{"id": a.pk, "kind": a.kind, "mime": a.mime, "size": a.size} for a in stored])


class MediationAgreementIn(Schema):
    terms: str
    signed_on: date | None = Field(None, description="default today")


@router.post(
    "/mediation/disputes/{dispute_id}/agreement",
    response=MediationDisputeDetail,
    summary="Agreement reached: record its terms (a return visit falls due)",
    openapi_extra=CONFLICT,
)
def agree(request, dispute_id: int, payload: MediationAgreementIn):
    return _step(request, dispute_id, "agree", terms=payload.terms, signed_on=payload.signed_on)


class MediationReferralIn(Schema):
    kind: str = Field(
        description="litigation, arbitration, judicial_confirmation, petition_office or department"
    )
    to_name: str = Field("", description="the receiving body; default the department's name")
    department_id: int | None = None
    note: str = Field(description="why mediation failed")


@router.post(
    "/mediation/disputes/{dispute_id}/referral",
    response=MediationDisputeDetail,
    summary="No agreement: refer the dispute on",
    openapi_extra=CONFLICT,
)
def refer(request, dispute_id: int, payload: MediationReferralIn):
    return _step(
        request,
        dispute_id,
        "refer",
        referral_kind=payload.kind,
        to_name=payload.to_name,
        department_id=payload.department_id,
        note=payload.note,
    )


class MediationNoteIn(Schema):
    note: str


@router.post(
    "/mediation/disputes/{dispute_id}/withdraw",
    response=MediationDisputeDetail,
    summary="The applicant withdraws",
    openapi_extra=CONFLICT,
)
def withdraw(request, dispute_id: int, payload: MediationNoteIn):
    return _step(request, dispute_id, "withdraw", note=payload.note)


class MediationReturnVisitIn(Schema):
    held: bool = Field(description="did the agreement hold? false reopens the dispute")
    note: str


@router.post(
    "/mediation/disputes/{dispute_id}/return-visit",
    response=MediationDisputeDetail,
    summary="Record the return visit: held closes the dispute, broken reopens it",
    openapi_extra=CONFLICT,
)
def return_visit(request, dispute_id: int, payload: MediationReturnVisitIn):
    return _step(request, dispute_id, "return_visit", held=payload.held, note=payload.note)


@router.post(
    "/mediation/disputes/{dispute_id}/return-to-case",
    response=MediationDisputeDetail,
    summary="Send the dispute back to its case (the case resumes)",
    openapi_extra=CONFLICT,
)
def return_to_case(request, dispute_id: int, payload: MediationNoteIn):
    return _step(request, dispute_id, "return_to_case", note=payload.note)


def _referral_step(request, referral_id: int, action: str, note: str = "") -> dict:
    found = (
        Referral.objects.visible_to(request.auth).filter(pk=referral_id).values_list("dispute_id", flat=True)
    )
    dispute_id = found.first()
    if dispute_id is None:
        raise Http404(_("No such referral in your area."))
    return _step(request, dispute_id, action, referral_id=referral_id, note=note)


@router.post(
    "/mediation/referrals/{referral_id}/receive",
    response=MediationDisputeDetail,
    summary="The receiving body took the referral",
    openapi_extra=CONFLICT,
)
def receive_referral(request, referral_id: int):
    return _referral_step(request, referral_id, "receive_referral")


class MediationResultIn(Schema):
    result: str


@router.post(
    "/mediation/referrals/{referral_id}/conclude",
    response=MediationDisputeDetail,
    summary="The referral concluded, with its result",
    openapi_extra=CONFLICT,
)
def conclude_referral(request, referral_id: int, payload: MediationResultIn):
    return _referral_step(request, referral_id, "conclude_referral", payload.result)


@router.post(
    "/mediation/parties/{party_id}/reveal",
    response=MediationRevealOut,
    summary="Reveal a party's full value (audited)",
)
def reveal_party(request, party_id: int, payload: MediationRevealIn):
    party = intake.readable_party(request.auth, party_id)
    value = intake.reveal(
        request.auth, party, payload.field, payload.reason, party.dispute.grid, _ip(request)
    )
    return {"field": payload.field, "value": value}


@router.get(
    "/mediation/agreements/{agreement_id}/pdf",
    response={200: None, 503: dict},
    summary="The agreement as a PDF with the parties' names (mediators; audited)",
)
def agreement_pdf(request, agreement_id: int):
    """503 when no Chinese font is installed on the server."""
    return agreement.pdf_response(request, request.auth, agreement_id)
