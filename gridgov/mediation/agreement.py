"""The mediation agreement (人民调解协议书) as a PDF: the parties' names and roles, the dispute and
the terms, with places to sign. The Chinese font comes from `core/pdf.py` (embedded).

It carries full names: only mediators of the dispute's grid make it, and every PDF made is an
export of personal data written to the audit log (`privacy/audit.py::append`).
"""

import io
from html import escape

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.pdf import ReportUnavailable, register_font
from gridgov.mediation.models import Agreement
from gridgov.privacy import audit
from gridgov.privacy.models import AuditEntry


def readable_agreement(user, agreement_id: int) -> Agreement:
    found = (
        Agreement.objects.visible_to(user)
        .select_related("dispute__grid", "dispute__centre", "made_by")
        .filter(pk=agreement_id)
        .first()
    )
    if found is None:
        raise Http404(_("No such agreement in your area."))
    if not has_perm(user, Perm.MEDIATE, found.dispute.grid):
        raise PermissionDenied(_("Only mediators of the dispute's grid print its agreement."))
    return found


def pdf_for(user, agreement_id: int, ip_address: str | None = None) -> bytes:
    """The PDF, audited; raises ReportUnavailable without a Chinese font (nothing audited then)."""
    agreement = readable_agreement(user, agreement_id)
    content = layout(agreement)
    with transaction.atomic():
        audit.append(
            actor=user,
            action=AuditEntry.Action.EXPORT,
            object_type=agreement._meta.label_lower,
            object_id=str(agreement.pk),
            field="pdf",
            reason=_("Mediation agreement of dispute %d") % agreement.dispute_id,
            ip_address=ip_address,
        )
    return content


def layout(agreement: Agreement) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_font()
    dispute = agreement.dispute
    parties = list(dispute.parties.all())
    title_text = _("Mediation agreement")
    title = ParagraphStyle("title", fontName=font, fontSize=22, leading=30, alignment=TA_CENTER, spaceAfter=8)
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=19, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18)
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 10),
            ("LEADING", (0, 0), (-1, -1), 14),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f8")),
        ]
    )
    # Paragraph reads markup: every name and text is escaped.
    rows = [[_("role"), _("name"), _("kind")]] + [
        [p.get_role_display(), Paragraph(escape(p.name), body), p.get_kind_display()] for p in parties
    ]
    signatures = [[_("role"), _("name"), _("signature")]] + [
        [p.get_role_display(), Paragraph(escape(p.name), body), ""] for p in parties
    ]
    story = [
        Paragraph(title_text, title),
        Paragraph(_("Mediation centre: %s") % escape(dispute.centre.name), body),
        Paragraph(
            _("Dispute: %(title)s (%(kind)s)")
            % {"title": escape(dispute.title), "kind": dispute.get_kind_display()},
            body,
        ),
        Paragraph(_("Parties"), heading),
        Table(rows, colWidths=[35 * mm, 90 * mm, 40 * mm], repeatRows=1, style=style),
        Paragraph(_("What the dispute is about"), heading),
        Paragraph(escape(dispute.description).replace("\n", "<br/>"), body),
        Paragraph(_("Terms agreed"), heading),
        Paragraph(escape(agreement.terms).replace("\n", "<br/>"), body),
        Spacer(1, 6 * mm),
        Paragraph(
            _("The parties perform this agreement of their own free will. It was signed on %s.")
            % f"{agreement.signed_on:%Y-%m-%d}",
            body,
        ),
        Spacer(1, 6 * mm),
        Table(
            signatures,
            colWidths=[35 * mm, 70 * mm, 60 * mm],
            rowHeights=[None] + [14 * mm] * len(parties),
            style=style,
        ),
        Spacer(1, 6 * mm),
        Paragraph(_("Mediator: %s") % escape(str(agreement.made_by)), body),
    ]
    out = io.BytesIO()

    def footer(canvas, doc):
        canvas.setFont(font, 8)
        canvas.drawString(20 * mm, 12 * mm, f"gridgov · {title_text} · {dispute.pk}-{agreement.pk}")

    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=title_text,
        author="gridgov",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def pdf_response(request, user, agreement_id: int) -> HttpResponse:
    try:
        content = pdf_for(user, agreement_id, request.META.get("REMOTE_ADDR"))
    except ReportUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="gridgov-mediation-agreement-{agreement_id}.pdf"'
    response["Cache-Control"] = "no-store"  # full names: never kept by a cache
    return response
