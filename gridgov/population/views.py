"""Registry pages: people search, the building 民情图 with its 10+X survey, visits due, care files.

Thin views: reads go through `visible_to` (and the API's building_map and care_file_out),
writes through `visits`, `survey` and `care`, exactly as the API does.
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

from gridgov.cases.models import Case
from gridgov.core.text import to_int
from gridgov.population import care, excel, imports, services, survey, visits
from gridgov.population.api import PERSON_RELATED, building_map, care_file_out, survey_out, xlsx_response
from gridgov.population.models import Building, CareService, Household, ImportJob, SurveyItem


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


# --- care files (一人一档) ------------------------------------------------------------------------


@login_required
def care_page(request, person_id: int):
    """A person's care file on a phone: the same data as `GET /api/v1/registry/care/{id}`."""
    file = care.care_file(request.user, person_id)
    return render(request, "population/care.html", {
        "file": care_file_out(file), "today": file.today, "service_kinds": CareService.Kind.choices,
        "keepers": care.keepers(file.person) if file.may_write else []})


def _date(value):
    try:
        return parse_date(value or "")
    except ValueError:  # well formed but no such day, e.g. 2026-02-30
        return None


def _case_id(text: str) -> int | None:
    """A case named by its number (20261123-0000042) or its id."""
    return Case.id_from_number(text) if text.strip() else None


def _care_action(request, person_id: int, what: str) -> str:
    """Do what the form asks through `care`; the message to show."""
    post, user = request.POST, request.user
    if what == "note":
        care.add_note(user, person_id, post.get("text", ""))
        return _("The note is added.")
    if what == "task":
        care.add_task(user, person_id, title=post.get("title", ""), due_on=_date(post.get("due_on")),
                      assignee_id=(to_int(post["assignee"]) or 0) if post.get("assignee") else None)
        return _("The task is added to the care plan.")
    if what == "done":
        care.complete_task(user, person_id, to_int(post.get("task")) or 0, result=post.get("result", ""))
        return _("The task is marked done.")
    if what == "service":
        care.record_service(user, person_id, kind=post.get("kind", ""),
                            served_on=_date(post.get("served_on")), provider=post.get("provider", ""),
                            note=post.get("note", ""))
        return _("The service is recorded.")
    if what == "concern":
        care.link_case(user, person_id, _case_id(post.get("case", "")) or 0)
        return _("The case is linked to this care file.")
    if what == "unconcern":
        care.unlink_case(user, person_id, to_int(post.get("case")) or 0)
        return _("The case is no longer linked to this care file.")
    raise Http404


@login_required
@require_POST
def care_action(request, person_id: int, what: str):
    try:
        messages.success(request, _care_action(request, person_id, what))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("registry-care", person_id=person_id)


@login_required
def care_overdue(request):
    """The care files whose visit is overdue or with a task past due, most overdue first."""
    items = care.overdue_list(request.user)
    return render(request, "population/care_overdue.html", {
        "items": items[:200], "total": len(items), "today": timezone.localdate()})
