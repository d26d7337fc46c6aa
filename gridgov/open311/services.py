"""Open311 GeoReport v2 over the case loop: services are the public categories, a request is a
case filed through `cases.intake` (channel "open311", located to a grid like any report), and its
status is read from the case's state.

What leaves here is public: no names, phones or e-mails; ID numbers and phone numbers inside
texts are masked; the place is as exact as the category's `public_location` allows.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gridgov.cases import hotline, intake
from gridgov.cases.models import Case, Category, PublicLocation
from gridgov.core.text import to_int
from gridgov.grids.codes import code_length
from gridgov.grids.locator import CRS
from gridgov.grids.models import Grid
from gridgov.open311.models import ApiClient, CallLog, Endpoint, ServiceRequest, hash_key
from gridgov.privacy.masking import mask_text, validate_phone

DEFAULT_DAYS = 90  # the spec's window when no dates are given
PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000  # the spec caps an answer at 1000 requests
ANONYMOUS = "anonymous"  # the client whose service account files keyless requests
ROUND_DIGITS = 3  # about 100 m


class Refused(Exception):
    """An Open311 error: the HTTP status and one description per problem."""

    def __init__(self, status: int, messages: list[str]):
        super().__init__(messages)
        self.status, self.messages = status, messages


# --- clients and keys --------------------------------------------------------------------------


def create_client(
    name: str, *, contact: str = "", rate_limit: int = 60, key: str = ""
) -> tuple[ApiClient, str]:
    """A new client with its service account; the key (new unless given: the demo's is known) is
    returned once and stored hashed."""
    key = key or ApiClient.new_key()
    with transaction.atomic():
        user = get_user_model().objects.create(
            username=f"open311-{secrets.token_hex(4)}", name=name[:50], password=make_password(None)
        )
        client = ApiClient.objects.create(
            name=name,
            contact=contact,
            rate_limit=rate_limit,
            user=user,
            key_hash=hash_key(key),
            key_hint=key[:10],
        )
    return client, key


def rotate_key(client: ApiClient) -> str:
    key = ApiClient.new_key()
    ApiClient.objects.filter(pk=client.pk).update(key_hash=hash_key(key), key_hint=key[:10])
    return key


def client_for_key(key: str) -> ApiClient:
    client = ApiClient.objects.select_related("user").filter(key_hash=hash_key(key), is_active=True).first()
    if client is None:
        raise Refused(403, [_("api_key: this key is unknown or revoked.")])
    return client


def anonymous_client() -> ApiClient:
    found = ApiClient.objects.select_related("user").filter(name=ANONYMOUS).first()
    if found is None:
        found, _key = create_client(ANONYMOUS, contact=_("requests filed without a key"))
    return found


def check_rate(client: ApiClient | None, ip: str | None, endpoint: Endpoint) -> None:
    """At most the client's (or, without a key, the address's) calls per minute."""
    since = timezone.now() - timedelta(minutes=1)
    if client is not None:
        used, limit = CallLog.objects.filter(client=client, at__gte=since).count(), client.rate_limit
    else:
        used = CallLog.objects.filter(client=None, ip_address=ip, at__gte=since).count()
        limit = endpoint.anonymous_rate_limit
    if used >= limit:
        raise Refused(429, [_("Too many requests: at most %d a minute. Try again shortly.") % limit])


def check_jurisdiction(value: str | None, endpoint: Endpoint) -> None:
    if value and endpoint.jurisdiction_id and value != endpoint.jurisdiction_id:
        raise Refused(404, [_("jurisdiction_id: %s is not served here.") % value])


# --- services ----------------------------------------------------------------------------------


COMPONENT_PREFIX = "component-"  # a component's type code may equal a matter's code


def service_code(category: Category) -> str:
    prefix = COMPONENT_PREFIX if category.kind == Category.Kind.COMPONENT else ""
    return prefix + category.code


def by_service_code(code: str):
    """The public categories a service code names (at most one: `Category.clean` keeps them apart)."""
    if code.startswith(COMPONENT_PREFIX):
        return public_categories().filter(kind=Category.Kind.COMPONENT, code=code[len(COMPONENT_PREFIX) :])
    return public_categories().exclude(kind=Category.Kind.COMPONENT).filter(code=code)


def public_categories():
    return (
        Category.objects.filter(is_public=True, is_active=True, children__isnull=True)
        .select_related("parent")
        .order_by("code")
    )


def service_out(category: Category) -> dict:
    return {
        "service_code": service_code(category),
        "service_name": category.name,
        "description": category.register_condition or category.name,
        "metadata": category.kind == Category.Kind.COMPONENT,
        "type": "realtime",
        "keywords": category.parent.name if category.parent else "",
        "group": category.parent.name if category.parent else category.name,
    }


def service(code: str) -> Category:
    found = by_service_code(code).first()
    if found is None:
        raise Refused(404, [_("service_code: no public service %s.") % code])
    return found


def definition(code: str) -> dict:
    """The service's attributes: a component (部件) may carry its 17-digit identifier."""
    category = service(code)
    attributes = []
    if category.kind == Category.Kind.COMPONENT:
        attributes.append(
            {
                "variable": True,
                "code": "component_id",
                "datatype": "string",
                "required": False,
                "datatype_description": _("17 digits: county code, type code %s, sequence") % category.code,
                "order": 1,
                "description": _("The identifier painted on the component, if there is one."),
                "values": [],
            }
        )
    return {"service_code": service_code(category), "attributes": attributes}


# --- filing a request --------------------------------------------------------------------------

# Intake's field names as the Open311 client sent them.
PARAMETER_OF = {
    "category_id": "service_code",
    "location": "lat",
    "crs": "lat",
    "grid_code": "address_string",
    "caller_phone": "phone",
    "client_key": "Idempotency-Key",
}


@dataclass
class Filed:
    link: ServiceRequest
    created: bool


def _number(value: str | None, name: str, low: float, high: float, errors: list) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        errors.append(
            _("%(name)s: a number from %(low)s to %(high)s.") % {"name": name, "low": low, "high": high}
        )
        return None
    return number


def _place(client: ApiClient, params, errors: list) -> dict:
    """lat/long (WGS-84) or an address_string located like a hotline address."""
    if params.get("lat") or params.get("long"):
        lat = _number(params.get("lat"), "lat", -90, 90, errors)
        lon = _number(params.get("long"), "long", -180, 180, errors)
        if lat is None or lon is None:
            if not any(e.startswith(("lat", "long")) for e in errors):
                errors.append(_("lat: give both lat and long."))
            return {}
        address = (params.get("address_string") or "")[:200]
        return {"lat": lat, "lon": lon, "crs": CRS.WGS84, "address": address}
    text = (params.get("address_string") or "").strip()
    if not text:
        errors.append(_("lat: give lat and long, or address_string."))
        return {}
    try:
        best = hotline.locate_address(client.user, text).best
    except ValidationError as exc:
        errors.append("address_string: " + " ".join(exc.messages))
        return {}
    if best is None:
        errors.append(_("address_string: no place in this district matches it; send lat and long."))
        return {}
    if best.lat is not None and best.lon is not None:
        return {"lat": best.lat, "lon": best.lon, "crs": CRS.WGS84, "address": text[:200]}
    return {"grid_code": best.grid.code, "address": text[:200]}


def _contact(params, errors: list) -> dict:
    name = " ".join(p for p in (params.get("last_name", ""), params.get("first_name", "")) if p).strip()
    phone = (params.get("phone") or "").strip()
    if phone:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            errors.append("phone: " + exc.messages[0])
    email = (params.get("email") or "").strip()
    if email and ("@" not in email or len(email) > 254):
        errors.append(_("email: enter a valid e-mail address."))
    media_url = (params.get("media_url") or "").strip()
    if media_url and (not media_url.startswith(("http://", "https://")) or len(media_url) > 500):
        errors.append(_("media_url: an http(s) address of at most 500 characters."))
    return {"caller_name": name[:50], "caller_phone": phone, "email": email, "media_url": media_url}


def _attributes(params) -> dict:
    return {
        key[10:-1]: value
        for key, value in params.items()
        if key.startswith("attribute[") and key.endswith("]")
    }


def _intake_errors(exc: ValidationError) -> list[str]:
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    return [
        f"{PARAMETER_OF.get(field, field)}: {' '.join(messages)}"
        for field, messages in exc.message_dict.items()
    ]


def file_request(client: ApiClient, params, idempotency_key: str = "") -> Filed:
    """A case through intake, and its Open311 link, in one transaction; 400 with every problem."""
    errors: list[str] = []
    code = (params.get("service_code") or "").strip()
    category = None
    if not code:
        errors.append(_("service_code: required."))
    else:
        category = by_service_code(code).first()
        if category is None:
            errors.append(_("service_code: no public service %s.") % code)
    place = _place(client, params, errors)
    contact = _contact(params, errors)
    description = (params.get("description") or "").strip()
    if len(description) > 4000:
        errors.append(_("description: at most 4000 characters."))
    if errors:
        raise Refused(400, errors)
    attributes = _attributes(params)
    report = intake.Report(
        channel=Case.Channel.OPEN311,
        category_id=category.pk,
        description=description,
        lat=place.get("lat"),
        lon=place.get("lon"),
        crs=place.get("crs", CRS.WGS84),
        address=place.get("address", ""),
        grid_code=place.get("grid_code", ""),
        client_key=idempotency_key[:64],
        caller_name=contact["caller_name"],
        caller_phone=contact["caller_phone"],
        component_id=attributes.get("component_id", ""),
    )
    try:
        with transaction.atomic():
            case, created = intake.submit(client.user, report)
            if not created:
                return Filed(case.open311, False)
            link = ServiceRequest.objects.create(
                case=case,
                client=client,
                token=secrets.token_hex(8),
                media_url=contact["media_url"],
                email=contact["email"],
                device_id=(params.get("device_id") or "")[:100],
                account_id=(params.get("account_id") or "")[:100],
                attributes=attributes,
            )
    except ValidationError as exc:
        raise Refused(400, _intake_errors(exc)) from None
    return Filed(link, True)


# --- reading requests ------------------------------------------------------------------------


def _area_names(cases) -> dict[str, str]:
    """The names of the grids (level 3) and communities (level 2) the cases lie in, by code: the
    public is told the area, never the building (micro-grids are single buildings)."""
    codes = set()
    for case in cases:
        codes |= {case.grid.code[: code_length(level)] for level in (2, 3)}
    return dict(Grid.objects.filter(code__in=codes).values_list("code", "name"))


def _public_place(case: Case, names: dict[str, str]) -> dict:
    how = case.category.public_location
    grid = names.get(case.grid.code[: code_length(3)], case.grid.name)
    if how == PublicLocation.EXACT:
        return {"address": mask_text(case.address) or grid, "lat": case.lat, "long": case.lon}
    if how == PublicLocation.ROUNDED and case.lat is not None:
        return {"address": grid, "lat": round(case.lat, ROUND_DIGITS), "long": round(case.lon, ROUND_DIGITS)}
    return {"address": names.get(case.grid.code[: code_length(2)], grid), "lat": None, "long": None}


def _when(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def requests_out(cases) -> list[dict]:
    cases = list(cases)
    names = _area_names(cases)
    return [request_out(case, names) for case in cases]


def request_out(case: Case, names: dict[str, str]) -> dict:
    closed = case.state in Case.FINAL_STATES
    notes = case.get_state_display()
    if case.state == Case.State.CLOSED and case.result:
        notes = f"{notes}: {mask_text(case.result)[:500]}"
    link = getattr(case, "open311", None)
    return {
        "service_request_id": case.number,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": case.category.name,
        "service_code": service_code(case.category),
        "description": mask_text(case.description)[:4000],
        "agency_responsible": case.department.name if case.department_id else "",
        "service_notice": "",
        "requested_datetime": _when(case.reported_at),
        "updated_datetime": _when(case.updated_at),
        "expected_datetime": None if closed else _when(case.deadline),
        **_public_place(case, names),
        "address_id": "",
        "zipcode": "",
        "media_url": link.media_url if link else "",
    }


def public_cases():
    return Case.objects.filter(category__is_public=True).select_related(
        "category", "grid", "department", "open311"
    )


def _date(params, name: str, errors: list) -> datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    value = parse_datetime(raw.replace(" ", "+"))  # a "+08:00" sent unescaped arrives as a space
    if value is None:
        errors.append(_("%s: a W3C date and time, e.g. 2026-12-01T00:00:00+08:00.") % name)
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def find_requests(params) -> list[dict]:
    """GET requests: by ids (comma-separated), or by service_code, status and dates (the last 90
    days by default), newest first, a page of `page_size` (at most 1000)."""
    errors: list[str] = []
    rows = public_cases()
    ids = [i for i in (params.get("service_request_id") or "").split(",") if i.strip()]
    if ids:
        rows = rows.filter(pk__in=[Case.id_from_number(i) for i in ids if Case.id_from_number(i)])
    start, end = _date(params, "start_date", errors), _date(params, "end_date", errors)
    status = (params.get("status") or "").strip()
    if status and set(status.split(",")) - {"open", "closed"}:
        errors.append(_("status: open or closed."))
    page, size = to_int(params.get("page") or "1"), to_int(params.get("page_size") or str(PAGE_SIZE))
    if page is None or page < 1:
        errors.append(_("page: a whole number from 1."))
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        errors.append(_("page_size: a whole number from 1 to %d.") % MAX_PAGE_SIZE)
    if errors:
        raise Refused(400, errors)
    if not ids:
        if start is None:
            start = (end or timezone.now()) - timedelta(days=DEFAULT_DAYS)
        rows = rows.filter(reported_at__gte=start)
        if end is not None:
            rows = rows.filter(reported_at__lt=end)
        codes = [c for c in (params.get("service_code") or "").split(",") if c.strip()]
        if codes:
            chosen = [by_service_code(code.strip()).values_list("pk", flat=True) for code in codes]
            rows = rows.filter(category__in=[pk for found in chosen for pk in found])
        if status in ("open", "closed"):
            final = rows.filter(state__in=Case.FINAL_STATES)
            rows = final if status == "closed" else rows.exclude(state__in=Case.FINAL_STATES)
    rows = rows.order_by("-reported_at", "-id")[(page - 1) * size : page * size]
    return requests_out(rows)


def one_request(number: str) -> dict:
    case_id = Case.id_from_number(number)
    case = public_cases().filter(pk=case_id).first() if case_id else None
    if case is None or case.number != number.strip():
        raise Refused(404, [_("service_request_id: no public request %s.") % number])
    return requests_out([case])[0]


def token_lookup(token: str) -> dict:
    link = ServiceRequest.objects.select_related("case").filter(token=token).first()
    if link is None:
        raise Refused(404, [_("token: no request was filed with this token.")])
    return {"service_request_id": link.case.number, "token": link.token}
