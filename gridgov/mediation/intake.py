"""The one window (一窗受理): visitors registered with a queue number, disputes taken in from the
desk or from a case, their parties, the audited reveal of personal data, and the figures.

Every input is checked field by field before anything is written, and each registration is one
transaction: a 400 leaves nothing behind.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.roles import ROLE_PERMISSIONS, Perm, active_assignments, has_perm
from gridgov.cases import workflow as case_workflow
from gridgov.cases.categories import LOCAL
from gridgov.cases.models import Case
from gridgov.core.uploads import inspect_uploads, strip_location
from gridgov.grids.models import Grid
from gridgov.mediation import conf, workflow
from gridgov.mediation.models import (
    Centre,
    Dispute,
    Party,
    Session,
    SessionAttachment,
    Visit,
    Visitor,
    Window,
)
from gridgov.population.codes import parse_id_number
from gridgov.privacy.masking import normalize_phone, validate_phone
from gridgov.privacy.services import record_reveal

NAME_MAX, TITLE_MAX, TEXT_MAX, PURPOSE_MAX = 50, 100, 5000, 200
MAX_PARTIES, MAX_PEOPLE = 50, 100000
MAX_AMOUNT = Decimal("999999999999.99")


# --- where -----------------------------------------------------------------------------------------


def centre_for(user, centre_id, perm: str) -> Centre:
    """An active centre in the user's area (else 404), where the user holds `perm` (else 403)."""
    centre = (
        Centre.objects.visible_to(user).select_related("grid").filter(pk=centre_id, is_active=True).first()
    )
    if centre is None:
        raise Http404(_("No such mediation centre in your area."))
    if not has_perm(user, perm, centre.grid):
        raise PermissionDenied(_("You may not do this at this mediation centre."))
    return centre


def _grid(code: str, errors: dict, key: str, within: Grid | None = None) -> Grid | None:
    code = (code or "").strip()
    found = Grid.objects.filter(code=code).first() if code else None
    if found is None:
        errors[key] = _("Give the code of an existing grid.")
    elif within is not None and not found.code.startswith(within.code):
        errors[key] = _("Choose a grid inside the centre's area.")
        return None
    return found


# --- personal fields --------------------------------------------------------------------------------


def _name(value: str, errors: dict, key: str) -> str:
    text = (value or "").strip()
    if not text:
        errors[key] = _("This field is required.")
    elif len(text) > NAME_MAX:
        errors[key] = _("At most %d characters.") % NAME_MAX
    return text


def _phone(value: str, errors: dict, key: str, required: bool) -> str:
    raw = (value or "").strip()
    if not raw:
        if required:
            errors[key] = _("This field is required.")
        return ""
    try:
        validate_phone(raw)
    except ValidationError as exc:
        errors[key] = exc.messages[0]
        return ""
    return normalize_phone(raw)


def _id_number(value: str, errors: dict, key: str) -> str:
    raw = (value or "").strip()
    if not raw:
        return ""
    try:
        return parse_id_number(raw).number
    except ValidationError as exc:
        errors[key] = exc.messages[0]
        return ""


def _text(value: str, errors: dict, key: str, limit: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        errors[key] = _("This field is required.")
    elif len(text) > limit:
        errors[key] = _("At most %d characters.") % limit
    return text


# --- visitors ------------------------------------------------------------------------------------------


def next_queue_number(centre: Centre, day: date) -> int:
    """The next number of the day. Call inside a transaction: the centre's row lock makes two desks
    take numbers one after the other (PostgreSQL); SQLite writes one at a time anyway."""
    Centre.objects.select_for_update().filter(pk=centre.pk).values_list("pk").first()
    last = Visit.objects.filter(centre=centre, day=day).aggregate(n=Max("queue_number"))["n"]
    return (last or 0) + 1


def _window(centre: Centre, window_id, day: date, errors: dict) -> Window | None:
    """The window asked for, else the open window with the fewest visitors today."""
    windows = Window.objects.filter(centre=centre, is_active=True)
    if window_id is not None:
        found = windows.filter(pk=window_id).first()
        if found is None:
            errors["window_id"] = _("Choose an open window of this centre.")
        return found
    return (
        windows.annotate(today=Count("visits", filter=Q(visits__day=day))).order_by("today", "number").first()
    )


def register_visit(
    user,
    centre_id,
    *,
    name: str,
    phone: str,
    id_number: str = "",
    grid_code: str = "",
    window_id: int | None = None,
    purpose: str = "",
) -> Visit:
    """A visitor at the desk: found again by phone at this centre (their details updated), given
    the day's next queue number and a window. Every visit is a row: every visit counts."""
    centre = centre_for(user, centre_id, Perm.RECEIVE_VISITORS)
    errors: dict = {}
    name = _name(name, errors, "name")
    phone = _phone(phone, errors, "phone", required=True)
    id_number = _id_number(id_number, errors, "id_number")
    home = _grid(grid_code, errors, "grid_code") if (grid_code or "").strip() else None
    purpose = _text(purpose, errors, "purpose", PURPOSE_MAX, required=False)
    day = timezone.localdate()
    window = _window(centre, window_id, day, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        number = next_queue_number(centre, day)
        digest = Visitor._meta.get_field("phone_hash").digest(phone)
        visitor = Visitor.objects.filter(centre=centre, phone_hash=digest).first() or Visitor(centre=centre)
        visitor.name, visitor.phone = name, phone
        visitor.id_number = id_number or visitor.id_number
        visitor.home_grid = home or visitor.home_grid
        visitor.save()
        return Visit.objects.create(
            centre=centre,
            visitor=visitor,
            day=day,
            queue_number=number,
            window=window,
            purpose=purpose,
            registered_by=user,
        )


# --- disputes --------------------------------------------------------------------------------------------


@dataclass
class PartyIn:
    role: str
    name: str
    kind: str = Party.Kind.PERSON
    phone: str = ""
    id_number: str = ""


@dataclass
class DisputeIn:
    title: str
    description: str
    kind: str
    grid_code: str = ""
    amount: Decimal | float | str | None = None
    people_involved: int = 1
    threat_of_violence: bool = False
    repeated_petitions: bool = False
    risk: str = Dispute.Risk.LOW
    visit_id: int | None = None
    parties: list[PartyIn] = field(default_factory=list)


def check_party(party: PartyIn, errors: dict, prefix: str = "") -> Party:
    """A party checked field by field (errors under `prefix` + field), not yet saved."""
    if party.role not in Party.Role.values:
        errors[f"{prefix}role"] = _("Choose one of: %s.") % ", ".join(Party.Role.values)
    if party.kind not in Party.Kind.values:
        errors[f"{prefix}kind"] = _("Choose one of: %s.") % ", ".join(Party.Kind.values)
    name = _name(party.name, errors, f"{prefix}name")
    phone = _phone(party.phone, errors, f"{prefix}phone", required=False)
    number = ""
    if party.kind == Party.Kind.PERSON:
        number = _id_number(party.id_number, errors, f"{prefix}id_number")
    elif (party.id_number or "").strip():
        errors[f"{prefix}id_number"] = _("Only a person has an ID number.")
    return Party(role=party.role, kind=party.kind, name=name, phone=phone, id_number=number)


def _amount(value, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        errors["amount"] = _("Enter an amount in yuan, e.g. 12000.50.")
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        errors["amount"] = _("Enter an amount in yuan, e.g. 12000.50.")
        return None
    return amount


def _check_dispute(centre: Centre, data: DisputeIn, errors: dict) -> dict:
    values = {
        "title": _text(data.title, errors, "title", TITLE_MAX),
        "description": _text(data.description, errors, "description", TEXT_MAX),
        "amount": _amount(data.amount, errors),
    }
    if data.kind not in Dispute.Kind.values:
        errors["kind"] = _("Choose one of: %s.") % ", ".join(Dispute.Kind.values)
    if data.risk not in Dispute.Risk.values:
        errors["risk"] = _("Choose one of: %s.") % ", ".join(Dispute.Risk.values)
    if not 1 <= data.people_involved <= MAX_PEOPLE:
        errors["people_involved"] = _("Between 1 and %d people.") % MAX_PEOPLE
    values["grid"] = (
        _grid(data.grid_code, errors, "grid_code", within=centre.grid) if data.grid_code else centre.grid
    )
    values["visit"] = None
    if data.visit_id is not None:
        values["visit"] = Visit.objects.filter(pk=data.visit_id, centre=centre).first()
        if values["visit"] is None:
            errors["visit_id"] = _("Choose a visit to this centre.")
    if len(data.parties) > MAX_PARTIES:
        errors["parties"] = _("At most %d parties.") % MAX_PARTIES
    values["parties"] = [check_party(p, errors, f"parties.{i}.") for i, p in enumerate(data.parties)]
    return values


def _create(user, centre: Centre, data: DisputeIn, values: dict, case: Case | None = None) -> Dispute:
    now = timezone.now()
    dispute = Dispute(
        centre=centre,
        grid=values["grid"],
        visit=values["visit"],
        case=case,
        title=values["title"],
        description=values["description"],
        kind=data.kind,
        amount=values["amount"],
        people_involved=data.people_involved,
        threat_of_violence=data.threat_of_violence,
        repeated_petitions=data.repeated_petitions,
        risk=workflow.assess_risk(
            data.people_involved, data.threat_of_violence, data.repeated_petitions, data.risk
        ),
        created_by=user,
        created_at=now,
    )
    workflow.start_clock(dispute, now)
    dispute.save()
    for party in values["parties"]:
        party.dispute = dispute
        party.save()
    data_log = {"risk": dispute.risk, "parties": len(values["parties"])}
    if case is not None:
        data_log |= {"case_id": case.pk, "case_number": case.number}
    workflow.log(dispute, user, "transfer_in" if case else "register", "", data=data_log, at=now)
    workflow.escalate_if_high(dispute, user, now)
    return dispute


def register_dispute(user, centre_id, data: DisputeIn) -> Dispute:
    centre = centre_for(user, centre_id, Perm.RECEIVE_VISITORS)
    errors: dict = {}
    values = _check_dispute(centre, data, errors)
    if not any(p.role == Party.Role.APPLICANT for p in values["parties"]) and "parties" not in errors:
        errors["parties"] = _("Name at least the applicant.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _create(user, centre, data, values)


# The local dispute categories (cases/data/social_governance.json, class 11) and their kind here.
KIND_OF_CATEGORY = {
    "11001": "neighbour",
    "11002": "family",
    "11003": "property",
    "11004": "labour",
    "11005": "property",
    "11006": "land",
    "11007": "consumer",
    "11008": "traffic",
}


def is_dispute_case(case: Case) -> bool:
    category = case.category
    return category.standard_ref == LOCAL and category.code[:2] in conf.case_classes()


def from_case(user, case_id, centre_id, data: DisputeIn) -> Dispute:
    """A case of the dispute classes goes to mediation: the case is suspended (挂账) through its own
    workflow with a note naming the dispute, and the dispute points back to the case."""
    case = Case.objects.visible_to(user).select_related("category", "grid").filter(pk=case_id).first()
    if case is None:
        raise Http404(_("No such case in your area."))
    centre = centre_for(user, centre_id, Perm.MEDIATE)
    errors: dict = {}
    if not is_dispute_case(case):
        errors["case_id"] = _("Only cases of the dispute categories go to mediation.")
    elif case.disputes.filter(returned_to_case_at=None).exists():
        errors["case_id"] = _("This case is already in mediation.")
    data.kind = data.kind or KIND_OF_CATEGORY.get(case.category.code, Dispute.Kind.OTHER)
    data.title = data.title or case.category.name
    data.description = data.description or case.description
    data.grid_code = data.grid_code or (case.grid.code if case.grid.code.startswith(centre.grid.code) else "")
    values = _check_dispute(centre, data, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        dispute = _create(user, centre, data, values, case=case)
        note = _("Transferred to mediation at %(centre)s: dispute %(id)d.") % {
            "centre": centre.name,
            "id": dispute.pk,
        }
        case_workflow.act(case.pk, user, "suspend", case_workflow.Params(note=note))
    return dispute


def add_party(user, dispute_id, party: PartyIn) -> Party:
    """A party added while the dispute is open (mediators of its grid)."""
    errors: dict = {}
    checked = check_party(party, errors)
    with transaction.atomic():
        dispute = (
            workflow.readable(user)
            .select_for_update(of=("self",))
            .select_related("grid")
            .filter(pk=dispute_id)
            .first()
        )
        if dispute is None:
            raise Http404(_("No such dispute in your area."))
        if not has_perm(user, Perm.MEDIATE, dispute.grid):
            raise PermissionDenied(_("Only mediators of the dispute's grid take this step."))
        if dispute.state not in Dispute.OPEN_STATES:
            raise workflow.IllegalTransition(_("Parties are added while the dispute is open."))
        if errors:
            raise ValidationError(errors)
        checked.dispute = dispute
        checked.save()
        workflow.log(
            dispute, user, "add_party", dispute.state, data={"party_id": checked.pk, "role": checked.role}
        )
    return checked


# --- session attachments ----------------------------------------------------------------------------------


def attach_to_session(user, session_id, files) -> list[SessionAttachment]:
    """Photos, recordings or documents of a session: every file inspected by content before
    anything is written (`core/uploads.py`), photos stored without their location."""
    session = Session.objects.visible_to(user).select_related("dispute__grid").filter(pk=session_id).first()
    if session is None:
        raise Http404(_("No such session in your area."))
    if not has_perm(user, Perm.MEDIATE, session.dispute.grid):
        raise PermissionDenied(_("Only mediators of the dispute's grid take this step."))
    files = list(files or [])
    if not files:
        raise ValidationError({"files": _("Attach at least one file.")})
    try:
        infos = inspect_uploads(files)
    except ValidationError as exc:
        raise ValidationError({"files": exc.messages}) from None
    stored = []
    with transaction.atomic():
        for upload, info in zip(files, infos, strict=True):
            content = strip_location(upload) if info.kind == "image" else ContentFile(_read(upload))
            row = SessionAttachment(
                session=session,
                kind=info.kind,
                mime=info.mime,
                size=content.size,
                sha256=info.sha256,
                uploaded_by=user,
            )
            row.file.save(f"{info.sha256[:16]}{info.extension}", content, save=False)
            row.save()
            stored.append(row)
        workflow.log(
            session.dispute,
            user,
            "attach",
            session.dispute.state,
            data={"session_id": session.pk, "attachment_ids": [a.pk for a in stored]},
        )
    return stored


def _read(upload) -> bytes:
    upload.seek(0)
    return upload.read()


# --- reveal ---------------------------------------------------------------------------------------

REVEALABLE = {Visitor: ("name", "phone", "id_number"), Party: ("name", "phone", "id_number")}


def reveal(user, obj, field_name: str, reason: str, grid: Grid, ip_address: str | None = None) -> str:
    """One full value: `Perm.REVEAL_PERSONAL` on the grid, and the audit entry, or nothing."""
    if field_name not in REVEALABLE[type(obj)]:
        raise ValidationError({"field": _("This field cannot be revealed.")})
    if not has_perm(user, Perm.REVEAL_PERSONAL, grid):
        raise PermissionDenied(_("You may not see the full personal data of this grid."))
    record_reveal(actor=user, obj=obj, field=field_name, reason=reason, ip_address=ip_address)
    return getattr(obj, field_name) or ""


def readable_visitor(user, visitor_id) -> Visitor:
    found = Visitor.objects.visible_to(user).select_related("centre__grid").filter(pk=visitor_id).first()
    if found is None:
        raise Http404(_("No such visitor in your area."))
    return found


def readable_party(user, party_id) -> Party:
    found = Party.objects.visible_to(user).select_related("dispute__grid").filter(pk=party_id).first()
    if found is None:
        raise Http404(_("No such party in your area."))
    return found


# --- figures --------------------------------------------------------------------------------------


def figures(user, grid_code: str = "", since: date | None = None, until: date | None = None) -> dict:
    """Visits, disputes, resolved (an agreement reached and not broken), on time, repeat and the
    shares, over the user's area or one grid's subtree of it; then per window (its department),
    per mediator and the referrals by kind (`mediation/figures.py` defines them)."""
    from gridgov.mediation import figures as breakdown

    visits = Visit.objects.visible_to(user)
    disputes = Dispute.objects.visible_to(user)
    code = (grid_code or "").strip()
    if code:
        if not Grid.objects.visible_to(user).filter(code=code).exists():
            raise Http404(_("No such grid in your area."))
        visits = visits.filter(centre__grid__code__startswith=code)
        disputes = disputes.filter(grid__code__startswith=code)
    if since:
        visits, disputes = visits.filter(day__gte=since), disputes.filter(created_at__date__gte=since)
    if until:
        visits, disputes = visits.filter(day__lte=until), disputes.filter(created_at__date__lte=until)
    counts = disputes.aggregate(
        **breakdown.dispute_counts(), open=Count("pk", filter=Q(state__in=Dispute.OPEN_STATES))
    )
    total = counts["accepted"]

    def share(part: str) -> float | None:
        return round(counts[part] / total, 4) if total else None

    return {
        "visits": visits.count(),
        "visitors": visits.values("visitor").distinct().count(),
        "disputes": total,
        "resolved": counts["resolved"],
        "referred": counts["referred"],
        "open": counts["open"],
        "high_risk": counts["high_risk"],
        "on_time": counts["on_time"],
        "repeat": counts["repeat"],
        "resolved_share": share("resolved"),
        "on_time_share": share("on_time"),
        "windows": breakdown.by_window(visits, disputes),
        "mediators": breakdown.by_mediator(disputes),
        "referrals": breakdown.referrals_by_kind(user, disputes),
    }


# --- the pages' helpers ------------------------------------------------------------------------------


def takes_part(user) -> bool:
    """Whether the user's roles mediate or keep the desk somewhere (the workbenches' link)."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    wanted = {Perm.MEDIATE, Perm.RECEIVE_VISITORS}
    return any(wanted & ROLE_PERMISSIONS.get(a.role, set()) for a in active_assignments(user))


def desk_centres(user) -> list[Centre]:
    """The active centres in the user's area where they may register visitors."""
    rows = Centre.objects.visible_to(user).filter(is_active=True).select_related("grid")
    return [c for c in rows.order_by("grid__code", "name") if has_perm(user, Perm.RECEIVE_VISITORS, c.grid)]


def transferable_cases(user, limit: int = 50) -> list[Case]:
    """Cases of the dispute classes in the user's area that could go to mediation now (the states
    a case is suspended from, none in mediation already), newest first."""
    classes = Q()
    for code in conf.case_classes():
        classes |= Q(category__code__startswith=code)
    in_mediation = Dispute.objects.filter(case=OuterRef("pk"), returned_to_case_at=None)
    rows = (
        Case.objects.visible_to(user)
        .filter(classes, category__standard_ref=LOCAL, state__in=case_workflow.ACTIONS["suspend"].sources)
        .exclude(Exists(in_mediation))
        .select_related("category", "grid")
    )
    return list(rows.order_by("-reported_at")[:limit])


def record_session(user, dispute_id, params: workflow.Params, files=()) -> Session:
    """A session and its files at once: a file refused leaves no session behind."""
    files = list(files or [])
    with transaction.atomic():
        workflow.act(dispute_id, user, "session", params)
        session = Session.objects.filter(dispute_id=dispute_id).latest("id")
        if files:
            attach_to_session(user, session.pk, files)
    return session
