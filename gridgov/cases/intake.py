"""Intake: a case arrives from a grid worker, a resident, the hotline, or is solved on the spot.

Every submission carries a client key; the same key from the same person returns the
case already made (phones on bad networks retry), never a second one.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Role
from gridgov.accounts.roles import roles_of
from gridgov.cases import duplicates, media, notify, workflow
from gridgov.cases.models import Attachment, Case, Category
from gridgov.core.text import fold_code
from gridgov.grids.codes import PROVINCE_CODES
from gridgov.grids.locator import CRS, get_index, to_wgs84
from gridgov.grids.models import Grid
from gridgov.privacy.masking import normalize_phone, validate_phone

WORKER_ROLES = {Role.GRID_WORKER, Role.GRID_LEADER, Role.BUILDING_HEAD}
CHANNEL_ROLES = {
    Case.Channel.WORKER: WORKER_ROLES,
    Case.Channel.SELF_RESOLVED: WORKER_ROLES,
    Case.Channel.RESIDENT: {Role.RESIDENT},
    Case.Channel.HOTLINE: {Role.DISPATCHER},
}


@dataclass
class Report:
    channel: str
    category_id: int
    description: str
    lat: float | None = None
    lon: float | None = None
    crs: str = CRS.WGS84
    address: str = ""
    grid_code: str = ""
    client_key: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    component_id: str = ""
    files: list = field(default_factory=list)
    after_files: list = field(default_factory=list)


def check_actor(actor, channel: str) -> None:
    if channel == Case.Channel.OPEN311:
        # Open311 reports come from the service account of an API client (`open311.ApiClient`),
        # never from a person's account.
        client = getattr(actor, "open311_client", None)
        if client is None or not client.is_active:
            raise PermissionDenied(_("Only an Open311 client reports through this channel."))
        return
    if channel not in CHANNEL_ROLES:
        raise ValidationError({"channel": _("Unknown channel %s.") % channel})
    if not actor.is_superuser and not roles_of(actor) & CHANNEL_ROLES[channel]:
        raise PermissionDenied(_("Your role may not report through this channel."))


def _category(category_id) -> Category:
    # Components (部件: a broken manhole cover, a missing sign) are reported like matters.
    category = Category.objects.filter(pk=category_id, is_active=True, children__isnull=True).first()
    if category is None:
        raise ValidationError({"category_id": _("Choose a specific category (the last level).")})
    return category


def component_id(raw: str, category: Category) -> str:
    """A component's 17-digit identifier (GB/T 47678.5-2026): county code, type code, sequence."""
    value = fold_code(raw).strip()
    if not value:
        return ""
    if category.kind != Category.Kind.COMPONENT:
        raise ValidationError({"component_id": _("Only a component (部件) has an identifier.")})
    if len(value) != 17 or not value.isascii() or not value.isdigit():
        raise ValidationError({"component_id": _("A component identifier is 17 digits.")})
    if value[:2] not in PROVINCE_CODES or value[4:6] == "00":
        raise ValidationError({"component_id": _("It must start with a county-level GB/T 2260 code.")})
    if value[6:11] != category.code:
        raise ValidationError({"component_id": _("Digits 7–11 must be the type code %(code)s of "
                                                 "“%(name)s”.") % {"code": category.code,
                                                                   "name": category.name}})
    return value


def locate(report: Report, infos) -> tuple[Grid, float | None, float | None, str]:
    lat, lon, source = report.lat, report.lon, report.crs
    if lat is None or lon is None:
        point = media.first_point(infos)
        if point:
            (lat, lon), source = point, "exif"
    if lat is not None and lon is not None:
        if source != "exif":
            if source not in CRS.ALL:
                raise ValidationError({"crs": _("Coordinate system must be one of: %s.")
                                       % ", ".join(CRS.ALL)})
            lat, lon = to_wgs84(lat, lon, source)
        ref = get_index().locate(lon, lat)
        if ref is None:
            raise ValidationError({"location": _("The point is outside the district: no grid "
                                                 "contains it.")})
        return Grid.objects.get(pk=ref.id), lat, lon, source
    if report.grid_code:
        grid = Grid.objects.filter(code=report.grid_code).first()
        if grid is None:
            raise ValidationError({"grid_code": _("No grid %s.") % report.grid_code})
        return grid, None, None, "grid"
    raise ValidationError({"location": _("Give the location: a point on the map, a photo with "
                                         "GPS, or the grid.")})


def _check_text(report: Report) -> None:
    errors = {}
    if len(report.description.strip()) < 4:
        errors["description"] = _("Describe the problem in a few words.")
    if report.channel == Case.Channel.HOTLINE:
        if not report.caller_phone:
            errors["caller_phone"] = _("Enter the caller's phone number.")
        else:
            try:
                validate_phone(report.caller_phone)
            except ValidationError as exc:
                errors["caller_phone"] = exc.messages[0]
    if report.channel == Case.Channel.SELF_RESOLVED and (not report.files or not report.after_files):
        errors["after_files"] = _("Solved on the spot needs photos from before and after.")
    if len(report.client_key) > 64:
        errors["client_key"] = _("The client key is at most 64 characters.")
    if errors:
        raise ValidationError(errors)


def _existing(actor, client_key: str) -> Case | None:
    if not client_key:
        return None
    return Case.objects.filter(reporter=actor, client_key=client_key).first()


def submit(actor, report: Report) -> tuple[Case, bool]:
    """Create the case (or return the one this client key already made): (case, created)."""
    check_actor(actor, report.channel)
    found = _existing(actor, report.client_key)
    if found:
        return found, False
    try:
        return _create(actor, report), True
    except IntegrityError:
        # The same key raced in from a retry on another connection: return that case.
        found = _existing(actor, report.client_key)
        if found is None:
            raise
        return found, False


def _inspect(files, field: str):
    """The files' checks, with their refusals named by the form field they came in."""
    try:
        return media.inspect(files)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


@transaction.atomic
def _create(actor, report: Report) -> Case:
    _check_text(report)
    category = _category(report.category_id)
    component = component_id(report.component_id, category)
    infos = _inspect(report.files, "photos")
    after_infos = _inspect(report.after_files, "after_photos")
    grid, lat, lon, source = locate(report, infos)
    now = timezone.now()
    case = Case(
        channel=report.channel, category=category, description=report.description.strip(),
        grid=grid, owner_grid=workflow.command_grid_for(grid), lat=lat, lon=lon,
        location_source=source, address=report.address.strip()[:200], reporter=actor,
        client_key=report.client_key, urgency=category.urgency, reported_at=now,
        caller_name=report.caller_name.strip()[:50],
        caller_phone=normalize_phone(report.caller_phone) if report.caller_phone else "",
        component_id=component)
    # The same problem back at the same place soon after it was closed: link the two, so the
    # dispatcher sees the history and analytics can count recurrences.
    case.recurrence_of = duplicates.earlier_closed(case)
    self_resolved = report.channel == Case.Channel.SELF_RESOLVED
    if self_resolved:
        case.state, case.handled_at, case.closed_at, case.handled_on_time = (
            Case.State.CLOSED, now, now, True)
        case.result = report.description.strip()
    workflow.start_stage(case, now)
    case.save()
    action = "self_resolved" if self_resolved else "report"
    data = {"channel": case.channel}
    if case.recurrence_of:
        data["recurrence_of"] = case.recurrence_of.number
    entry = workflow.log(case, actor, action, "", data=data, at=now)
    if report.files:
        stage = Attachment.Stage.BEFORE if self_resolved else Attachment.Stage.REPORT
        media.store_attachments(case, report.files, stage=stage, actor=actor, log=entry, infos=infos)
    if self_resolved:
        media.store_attachments(case, report.after_files, stage=Attachment.Stage.AFTER, actor=actor,
                                log=entry, infos=after_infos)
    else:
        notify.after_action(case, "report", actor.pk)
    return case
