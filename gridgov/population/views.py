"""Registry pages: people search, the building 民情图 with its 10+X survey, visits due.

Thin views: reads go through `visible_to` (and the API's building_map), writes through
`visits` and `survey`, exactly as the API does.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from gridgov.population import excel, imports, services, survey, visits
from gridgov.population.api import PERSON_RELATED, building_map, survey_out, xlsx_response
from gridgov.population.models import Building, Household, ImportJob, SurveyItem


@login_required
def people(request):
    q = request.GET.get("q", "").strip()
    found = services.search_people(request.user, q).filter(is_active=True).select_related(*PERSON_RELATED)
    page = Paginator(found.order_by("grid__code", "name", "pk"), 50).get_page(request.GET.get("page"))
    tags = services.tags_for(request.user, list(page))
    rows = [(p, tags.get(p.pk, [])) for p in page]
    return render(request, "population/people.html", {"page": page, "rows": rows, "q": q})


def _floors(houses: list[dict]) -> list[tuple[int, list[dict]]]:
    """Houses as the building stands: top floor first, rooms left to right."""
    by_floor: dict[int, list[dict]] = {}
    for house in houses:
        by_floor.setdefault(house["floor"], []).append(house)
    return [(floor, sorted(rows, key=lambda h: (h["unit"], h["number"])))
            for floor, rows in sorted(by_floor.items(), reverse=True)]


@login_required
def building_page(request, building_id: int):
    visible = Building.objects.visible_to(request.user).select_related("grid", "compound")
    building = visible.filter(pk=building_id).first()
    data = building_map(request.user, building) if building else None
    if building is None:
        building = get_object_or_404(Building.objects.select_related("grid", "compound"), pk=building_id)
        if not survey.may_survey(request.user, building):
            raise PermissionDenied(_("This building is not in your grids."))
    return render(request, "population/building.html", {
        "building": building, "map": data, "floors": _floors(data["houses"]) if data else [],
        "survey": survey_out(building), "may_survey": survey.may_survey(request.user, building),
        "item_kinds": SurveyItem.Kind.choices})


@login_required
@require_POST
def building_survey(request, building_id: int, what: str):
    building = get_object_or_404(Building.objects.select_related("grid"), pk=building_id)
    try:
        if what == "confirm":
            survey.confirm(request.user, building, request.POST.get("note", ""))
            messages.success(request, _("The figures are confirmed."))
        else:
            survey.add_item(request.user, building, kind=request.POST.get("kind", ""),
                            text=request.POST.get("text", ""))
            messages.success(request, _("The item is recorded."))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("registry-building", building_id=building.pk)


@login_required
def visits_due(request):
    due = visits.due_list(request.user, horizon_days=visits.DUE_SOON_DAYS)
    return render(request, "population/visits_due.html", {
        "due": due[:200], "total": len(due), "today": timezone.localdate(),
        "overdue": sum(1 for d in due if d.overdue), "coverage": visits.coverage(request.user)})


@login_required
@require_POST
def record_visit(request, household_id: int):
    household = get_object_or_404(Household.objects.visible_to(request.user).select_related("grid"),
                                  pk=household_id)
    post = request.POST
    try:
        visits.record_visit(request.user, household, visited_on=parse_date(post.get("visited_on") or "")
                            or timezone.localdate(), met=post.get("met", ""), notes=post.get("notes", ""),
                            needs=post.get("needs", ""), client_key=post.get("client_key", ""))
        messages.success(request, _("The visit is recorded."))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("registry-visits")


KIND_LABELS = (("people", _lazy("People")), ("households", _lazy("Households")), ("houses", _lazy("Houses")),
               ("organizations", _lazy("Organizations")))


@login_required
def import_page(request):
    job = None
    if request.method == "POST":
        try:
            job = imports.start(request.user, request.POST.get("kind", ""), request.FILES.get("file"),
                                dry_run=bool(request.POST.get("dry_run")))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    elif request.GET.get("job"):
        job = ImportJob.objects.filter(pk=request.GET["job"], actor=request.user).first()
    return render(request, "population/import.html", {"kinds": KIND_LABELS, "job": job})


@login_required
def import_job(request, job_id: int):
    job = get_object_or_404(ImportJob, pk=job_id, actor=request.user)
    return render(request, "population/import_job.html", {"job": job})


@login_required
def export_ledger(request):
    kind = request.GET.get("kind", "")
    if kind not in excel.KINDS:
        raise Http404
    content = excel.export(request.user, kind, reason=request.GET.get("reason", ""))
    return xlsx_response(content, f"gridgov-{kind}-{timezone.localdate():%Y%m%d}")
