"""Case list filters, shared by the API and the pages so a list means the same everywhere."""

from datetime import date, datetime, time

from django.db.models import Q
from django.utils import timezone
from ninja import Field

from gridgov.cases.models import Case, CaseCopy, Category, Instruction
from gridgov.core.schemas import Schema


class CaseFilter(Schema):
    state: str = ""
    category: str = Field("", description="a category code; includes its subcategories")
    grid: str = Field("", description="a grid code; includes the whole subtree")
    department_id: int | None = None
    channel: str = ""
    light: str = ""
    open: bool | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    copied: bool | None = Field(None, description="true: cases copied (抄送) to me or my department")
    instructed: bool | None = Field(None, description="true: a leader's instruction waits for an answer")
    # The cases behind an analytics figure (gridgov.analytics.kpis.cases_behind): kpi names it,
    # e.g. area.closed; subject is the grid code, department or user id; the period is named
    # like the analytics pages' (period with date, or period=custom with start and end).
    kpi: str = ""
    subject: str = ""
    period: str = ""
    date: str = ""
    start: str = ""
    end: str = ""


def filtered(user, f: CaseFilter):
    rows = Case.objects.visible_to(user).select_related("category", "grid", "department")
    if f.state:
        rows = rows.filter(state__in=f.state.split(","))
    if f.category:
        # The category's ids first: one IN list the case indexes answer, not an OR over two joins.
        wanted = Category.objects.filter(Q(code=f.category) | Q(parent__code=f.category))
        rows = rows.filter(category_id__in=list(wanted.values_list("pk", flat=True)))
    if f.grid:
        rows = rows.filter(grid__code__startswith=f.grid)
    if f.department_id:
        rows = rows.filter(department_id=f.department_id)
    if f.channel:
        rows = rows.filter(channel=f.channel)
    if f.light:
        rows = rows.filter(light=f.light)
    if f.open is not None:
        rows = rows.open() if f.open else rows.filter(state__in=Case.FINAL_STATES)
    tz = timezone.get_current_timezone()
    if f.date_from:
        rows = rows.filter(reported_at__gte=datetime.combine(f.date_from, time.min, tz))
    if f.date_to:
        rows = rows.filter(reported_at__lte=datetime.combine(f.date_to, time.max, tz))
    if f.copied is not None:
        copied = CaseCopy.objects.to_user(user).values("case_id")
        rows = rows.filter(pk__in=copied) if f.copied else rows.exclude(pk__in=copied)
    if f.instructed is not None:
        waiting = Instruction.objects.filter(responded_at=None).values("case_id")
        rows = rows.filter(pk__in=waiting) if f.instructed else rows.exclude(pk__in=waiting)
    if f.kpi:
        rows = rows.filter(pk__in=_behind(user, f).values("pk"))
    if f.q:
        rows = rows.filter(text_q(f.q))
    return rows


def text_q(q: str) -> Q:
    """The search box: the description contains the text, case-insensitively, or the text is a
    case's number (20261123-0000042) or id.

    Text with no upper or lower case (Chinese, digits) needs no case folding, so it is a plain
    LIKE: PostgreSQL runs it about twice as fast as UPPER(description) LIKE UPPER(…) and estimates
    it from the column's statistics, so a common word is read newest first and stops at the page
    (and at the count's cap) instead of sorting every match. The number is ORed in only when the
    text is one: an OR with a constant false `pk = 0` only costs."""
    found = Q(description__contains=q) if q.upper() == q.lower() else Q(description__icontains=q)
    case_id = Case.id_from_number(q)
    return found | Q(pk=case_id) if case_id else found


def _behind(user, f: CaseFilter):
    from gridgov.analytics import kpis, periods

    period = periods.parse({"period": f.period, "date": f.date, "start": f.start, "end": f.end})
    return kpis.cases_behind(user, f.kpi, f.subject, period, f.grid)
