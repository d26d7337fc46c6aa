"""The points certificate for school-entry credit (积分入学): a volunteer's hours and points of one
year as a PDF, with a code anyone can check at /volunteers/certificates/verify/<code>/.

A certificate is a stored row (`models.Certificate`) with a random code and the year's figures
as they stood when it was issued: the code confirms what the paper says, and staff can revoke a
certificate issued in error. The volunteer issues their own; managers issue for the volunteers
of their grids. Every issue and every PDF made is an export of personal data: each writes an
audit entry (`privacy/audit.py::append`), as the notice board and the registry's Excel do.

The year's figures: hours credited for the attendances at activities that started in the year
(`services.hours`), and the service points of the ledger entries written in the year — earned,
awarded and deducted; redemptions, refunds and expiry move the balance but do not change the
service a volunteer gave.
"""

import io
import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import ExtractYear
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core.pdf import register_font
from gridgov.core.text import fold_code
from gridgov.privacy import audit
from gridgov.privacy.masking import mask_name
from gridgov.privacy.models import AuditEntry
from gridgov.volunteers import services
from gridgov.volunteers.models import Attendance, Certificate, PointEntry, Volunteer

FIRST_YEAR = 2000
SERVICE_KINDS = (PointEntry.Kind.EARN, PointEntry.Kind.AWARD, PointEntry.Kind.DEDUCT)
# Those who served: an applicant or a refused one has no service to certify.
CERTIFIABLE = (Volunteer.State.APPROVED, Volunteer.State.SUSPENDED)


@dataclass
class YearFigures:
    year: int
    hours: Decimal
    points: int
    activities: int


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def attended(volunteer: Volunteer, year: int) -> list[tuple[Attendance, Decimal]]:
    """The volunteer's attendances at activities that started in the year, with their hours."""
    start, end = _year_bounds(year)
    rows = (
        Attendance.objects.filter(
            volunteer=volunteer, activity__starts_at__gte=start, activity__starts_at__lt=end
        )
        .select_related("activity")
        .order_by("activity__starts_at", "id")
    )
    return [(a, services.hours(a, a.activity)) for a in rows]


def yearly_figures(volunteer: Volunteer) -> list[YearFigures]:
    """Hours, service points and activities attended per year, oldest first."""
    years: dict[int, YearFigures] = {}

    def of(year: int) -> YearFigures:
        return years.setdefault(year, YearFigures(year, Decimal("0.00"), 0, 0))

    for attendance in Attendance.objects.filter(volunteer=volunteer).select_related("activity"):
        row = of(timezone.localtime(attendance.activity.starts_at).year)
        row.hours += services.hours(attendance, attendance.activity)
        row.activities += 1
    points = (
        PointEntry.objects.filter(volunteer=volunteer, kind__in=SERVICE_KINDS)
        .annotate(year=ExtractYear("created_at"))
        .values("year")
        .annotate(total=Sum("amount"))
    )
    for row in points:
        of(row["year"]).points += row["total"]
    return [years[y] for y in sorted(years)]


def figures_of(volunteer: Volunteer, year: int) -> YearFigures:
    return next(
        (f for f in yearly_figures(volunteer) if f.year == year), YearFigures(year, Decimal("0.00"), 0, 0)
    )


def _check_year(year) -> int:
    this_year = timezone.localdate().year
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= this_year:
        raise ValidationError(
            {
                "year": _("Choose a year from %(first)d to %(last)d.")
                % {"first": FIRST_YEAR, "last": this_year}
            }
        )
    return year


def new_code() -> str:
    """16 characters of base32 (80 random bits): no one finds a valid code by trying."""
    return b32encode(secrets.token_bytes(10)).decode()


def normalize_code(code: str) -> str:
    """What a reader types: spaces, dashes and full-width or small letters are all fine."""
    return fold_code(code or "").upper().replace("-", "").replace(" ", "")


def _volunteer_to_certify(user, volunteer_id: int | None) -> Volunteer:
    if volunteer_id is None:  # the volunteer for themselves
        volunteer = services.profile_of(user)
        if volunteer is None or volunteer.state not in CERTIFIABLE:
            raise PermissionDenied(_("Only volunteers who have served get a certificate."))
        return volunteer
    volunteer = services.managed_volunteer(user, volunteer_id)
    if volunteer.state not in CERTIFIABLE:
        raise ValidationError({"volunteer_id": _("Only volunteers who have served get a certificate.")})
    return volunteer


def issue(
    user, *, year, volunteer_id: int | None = None, ip_address: str | None = None
) -> tuple[Certificate, bool]:
    """Issue the certificate of a year: (certificate, issued now). The volunteer's own when
    `volunteer_id` is None, else a volunteer the user manages. A valid certificate of the same
    year with the same figures is returned again rather than doubled. Audited either way."""
    year = _check_year(year)
    volunteer = _volunteer_to_certify(user, volunteer_id)
    figures = figures_of(volunteer, year)
    if not figures.activities and not figures.points:
        raise ValidationError({"year": _("No volunteer service is recorded in %d.") % year})
    with transaction.atomic():
        # One issue at a time per volunteer: two taps never make two codes for the same figures.
        Volunteer.objects.select_for_update().filter(pk=volunteer.pk).values_list("pk").first()
        found = Certificate.objects.filter(
            volunteer=volunteer,
            year=year,
            revoked_at__isnull=True,
            hours=figures.hours,
            points=figures.points,
            activities=figures.activities,
        ).first()
        certificate = found or Certificate.objects.create(
            volunteer=volunteer,
            year=year,
            code=new_code(),
            hours=figures.hours,
            points=figures.points,
            activities=figures.activities,
            issued_by=user,
        )
        _audit(user, certificate, "issue", ip_address)
    return certificate, found is None


def _audit(user, certificate: Certificate, field: str, ip_address: str | None) -> None:
    reason = _("Points certificate %(year)d of volunteer %(id)d") % {
        "year": certificate.year,
        "id": certificate.volunteer_id,
    }
    audit.append(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        object_type=certificate._meta.label_lower,
        object_id=str(certificate.pk),
        field=field,
        reason=reason,
        ip_address=ip_address,
    )


def readable_certificate(user, certificate_id: int) -> Certificate:
    """The user's own certificate, or one of a volunteer in their area; else 404."""
    rows = Certificate.objects.select_related("volunteer__user", "volunteer__grid", "issued_by")
    found = rows.visible_to(user).filter(pk=certificate_id).first()
    if found is None and user.is_authenticated:
        found = rows.filter(pk=certificate_id, volunteer__user=user).first()
    if found is None:
        raise Http404(_("No such certificate."))
    return found


def pdf_for(user, certificate_id: int, verify_url: str, ip_address: str | None = None) -> bytes:
    """The certificate's PDF for its volunteer or staff of their area, audited. Raises
    core.pdf.ReportUnavailable without a Chinese font (nothing is audited then)."""
    certificate = readable_certificate(user, certificate_id)
    if not certificate.is_valid:
        raise services.Conflict(_("This certificate was revoked."))
    content = layout(certificate, verify_url)
    with transaction.atomic():
        _audit(user, certificate, "pdf", ip_address)
    return content


def revoke(user, certificate_id: int, reason: str) -> Certificate:
    """Staff of the volunteer's grid withdraw a certificate (issued in error): its code no longer verifies."""
    reason = services._reason(reason)
    with transaction.atomic():
        certificate = readable_certificate(user, certificate_id)
        services.managed_volunteer(user, certificate.volunteer_id)  # 403 for readers and the volunteer
        Certificate.objects.select_for_update().filter(pk=certificate.pk).values_list("pk").first()
        certificate.refresh_from_db()
        if not certificate.is_valid:
            raise services.Conflict(_("This certificate is already revoked."))
        certificate.revoked_at, certificate.revoked_by, certificate.revoke_reason = (
            timezone.now(),
            user,
            reason,
        )
        certificate.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    return certificate


def verification(code: str) -> dict:
    """What the public verification page may say of a code: valid or not, and the masked name,
    year, hours and points; nothing else."""
    code = normalize_code(code)
    found = (
        Certificate.objects.select_related("volunteer__user").filter(code=code).first()
        if code.isalnum() and len(code) <= 32
        else None
    )
    if found is None:
        return {"found": False, "valid": False}
    return {
        "found": True,
        "valid": found.is_valid,
        "name": mask_name(found.volunteer.user.name or ""),
        "year": found.year,
        "hours": found.hours,
        "points": found.points,
    }


def filename(certificate: Certificate) -> str:
    return f"gridgov-volunteer-certificate-{certificate.year}-{certificate.code}.pdf"


def _qr_png(url: str) -> io.BytesIO:
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=4, border=2)
    out.seek(0)
    return out


def layout(certificate: Certificate, verify_url: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_font()
    volunteer = certificate.volunteer
    title_text = _("Volunteer service points certificate")
    title = ParagraphStyle("title", fontName=font, fontSize=24, leading=32, alignment=TA_CENTER, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=19, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17)
    table_style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 10),
            ("LEADING", (0, 0), (-1, -1), 14),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f8")),
        ]
    )
    issued = timezone.localtime(certificate.issued_at)
    # Paragraph reads markup: every name and title is escaped as text.
    statement = _(
        "%(name)s, volunteer of %(grid)s, gave %(hours)s hours of volunteer service in %(year)d, "
        "attended %(activities)d activities and earned %(points)d service points."
    ) % {
        "name": escape(str(volunteer.user)),
        "grid": escape(volunteer.grid.name),
        "hours": certificate.hours,
        "year": certificate.year,
        "activities": certificate.activities,
        "points": certificate.points,
    }
    years = [f for f in yearly_figures(volunteer) if f.year <= certificate.year]
    by_year = [[_("year"), _("hours"), _("service points"), _("activities attended")]] + [
        [str(f.year), str(f.hours), str(f.points), str(f.activities)] for f in years
    ]
    done = [[_("date"), _("activity"), _("hours")]] + [
        [
            f"{timezone.localtime(a.activity.starts_at):%Y-%m-%d}",
            Paragraph(escape(a.activity.title), body),
            str(h),
        ]
        for a, h in attended(volunteer, certificate.year)
    ]
    story = [
        Paragraph(title_text, title),
        Paragraph(statement, body),
        Spacer(1, 4 * mm),
        Paragraph(_("Hours and points per year"), heading),
        Table(by_year, colWidths=[30 * mm, 35 * mm, 40 * mm, 40 * mm], repeatRows=1, style=table_style),
        Paragraph(_("Activities attended in %d") % certificate.year, heading),
        Table(done, colWidths=[30 * mm, 110 * mm, 25 * mm], repeatRows=1, style=table_style),
        Spacer(1, 8 * mm),
        Paragraph(_("Issued on %s") % f"{issued:%Y-%m-%d}", body),
        Paragraph(_("Verification code: %s") % certificate.code, body),
        Paragraph(_("Check this certificate at %s") % escape(verify_url), body),
        Image(_qr_png(verify_url), width=30 * mm, height=30 * mm),
    ]
    out = io.BytesIO()

    def footer(canvas, doc):
        canvas.setFont(font, 8)
        canvas.drawString(
            20 * mm, 12 * mm, f"gridgov · {title_text} · {certificate.code} · {issued:%Y-%m-%d}"
        )

    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{title_text} {certificate.year}",
        author="gridgov",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def pdf_response(request, user, certificate_id: int):
    """The PDF as an HTTP answer, for the API and the page alike (`user`: request.auth or request.user)."""
    from django.http import HttpResponse
    from django.urls import reverse

    from gridgov.core.pdf import ReportUnavailable

    found = readable_certificate(user, certificate_id)
    verify_url = request.build_absolute_uri(reverse("volunteers-certificate-verify", args=[found.code]))
    try:
        content = pdf_for(user, certificate_id, verify_url, request.META.get("REMOTE_ADDR"))
    except ReportUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename(found)}"'
    response["Cache-Control"] = "no-store"  # personal figures: never kept by a cache
    return response
