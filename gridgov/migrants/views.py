"""The migrants app's pages, included under /migrants/ by gridgov/urls.py.

- /migrants/dormitories/ (dormitory managers and the leaders above them): the dormitories with their
  occupancy; /migrants/dormitories/<id>/: rooms and beds with who sleeps where, the waiting
  workers and their check-in, free beds for all waiting in one step, rooms added, access cards.
- /migrants/employer/ (employers' accounts, and staff who may act for an organization): the
  workers, one registered by hand or many from Excel (checked first, all saved or none), leaving.
- /migrants/permits/ (grid workers): residence permits due, applications, issued or refused, renewed.
- /migrants/rentals/ (grid workers): rental houses overdue first; a house's inspections, the
  checklist, and a failed item reported as a case in one step.

Thin: every form calls `dormitories`, `employers`, `permits` or `rentals`, whose refusals come back
as an error message with nothing saved; ID numbers and phones are masked in every list.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases.models import Notification
from gridgov.core.actions import form_action, refusal
from gridgov.core.text import to_int
from gridgov.migrants import dormitories, employers, lookups, permits, rentals
from gridgov.migrants.models import (
    AccessCard,
    Bed,
    CardEvent,
    Dormitory,
    Employment,
    Inspection,
    Permit,
    PermitReminder,
    Rental,
    Stay,
)
from gridgov.population.models import House, Organization, Person
from gridgov.population.services import search_people

PER_PAGE = 100
FREE_BEDS_OFFERED = 500  # the free beds a check-in form suggests


def _page(request, rows, name: str = "page"):
    return Paginator(rows, PER_PAGE).get_page(request.GET.get(name))


def _date(value):
    try:
        return parse_date((value or "").strip())
    except ValueError:  # well formed but no such day
        return None


# --- dormitories --------------------------------------------------------------------------------------

dorm_steps = form_action("migrants-dormitories")


@login_required
def dormitory_list(request):
    """The dormitories the user sees, with occupancy; one the user manages opens at once."""
    user = request.user
    page = _page(request, Dormitory.objects.visible_to(user).select_related("grid").order_by("grid__code"))
    rows = [
        {
            "d": d,
            "occupancy": dormitories.occupancy(d),
            "manages": has_perm(user, Perm.MANAGE_DORMITORY, d.grid),
        }
        for d in page
    ]
    if page.paginator.count == 1 and rows[0]["manages"]:
        return redirect("migrants-dormitory", rows[0]["d"].pk)
    return render(request, "migrants/dormitories.html", {"rows": rows, "page": page})


ROOM_FILTERS = {
    "": gettext_lazy("All rooms"),
    "over": gettext_lazy("Over capacity"),
    "free": gettext_lazy("With free beds"),
}


def _rooms(request, dormitory: Dormitory):
    show = request.GET.get("show", "")
    rooms = dormitories.rooms_with_occupancy(dormitory)
    if show == "over":
        rooms = rooms.filter(occupied__gt=F("capacity"))
    elif show == "free":
        rooms = rooms.filter(occupied__lt=F("bed_count"))
    page = _page(request, rooms)
    ids = [room.pk for room in page]
    stays = {
        s.bed_id: s
        for s in dormitories.live_stays()
        .filter(bed__room_id__in=ids)
        .select_related("person", "organization")
    }
    beds: dict[int, list] = {}
    for bed in Bed.objects.filter(room_id__in=ids).order_by("room_id", "number"):
        beds.setdefault(bed.room_id, []).append((bed, stays.get(bed.pk)))
    for room in page:
        room.over = room.occupied > room.capacity
        room.bed_rows = [(bed, stay, bed.label(room)) for bed, stay in beds.get(room.pk, [])]
    return show, page


CARD_STEP_LABELS = {
    CardEvent.Action.LOSE: gettext_lazy("Report lost"),
    CardEvent.Action.BLOCK: gettext_lazy("Block"),
    CardEvent.Action.UNBLOCK: gettext_lazy("Unblock"),
    CardEvent.Action.RETURN: gettext_lazy("Take back"),
}


def _card_steps(card: AccessCard) -> list[tuple[str, str]]:
    return [
        (action, CARD_STEP_LABELS[action])
        for action, (sources, _target) in dormitories.CARD_STEPS.items()
        if card.state in sources
    ]


@login_required
def dormitory_page(request, dormitory_id: int):
    """The manager's page: occupancy, rooms and beds, the waiting workers, rooms added, access cards."""
    user = request.user
    dormitory = dormitories.dormitory_of(user, dormitory_id)
    dormitories.check_manager(user, dormitory)
    show, rooms = _rooms(request, dormitory)
    waiting = _page(
        request,
        dormitories.waiting(dormitory).filter(pk__in=Person.objects.visible_to(user).values("pk")),
        "wpage",
    )
    # Each waiting worker is offered a different free bed (the one "assign all" would give).
    free = dormitories.free_beds(dormitory, FREE_BEDS_OFFERED)
    free_labels = [bed.label() for bed in free]
    offset = (waiting.number - 1) * PER_PAGE
    waiting_rows = [
        (person, free_labels[offset + n] if offset + n < len(free_labels) else "")
        for n, person in enumerate(waiting)
    ]
    card_state = request.GET.get("card_state", "")
    cards = AccessCard.objects.visible_to(user).filter(dormitory=dormitory).select_related("holder")
    if card_state in AccessCard.State.values:
        cards = cards.filter(state=card_state)
    cards = _page(request, cards.order_by("number"), "cpage")
    for card in cards:
        card.steps = _card_steps(card)
    return render(
        request,
        "migrants/dormitory.html",
        {
            "d": dormitory,
            "occupancy": dormitories.occupancy(dormitory),
            "rooms": rooms,
            "show": show,
            "room_filters": list(ROOM_FILTERS.items()),
            "waiting": waiting,
            "waiting_rows": waiting_rows,
            "free_labels": free_labels,
            "lessees": dormitory.lessees.select_related("organization"),
            "cards": cards,
            "card_state": card_state,
            "card_states": AccessCard.State.choices,
            "max_capacity": dormitories.MAX_CAPACITY,
        },
    )


def _back(dormitory_id: int) -> str:
    return reverse("migrants-dormitory", args=[dormitory_id])


@dorm_steps
def rooms_add(request, dormitory_id: int):
    data = request.POST
    dormitory = dormitories.dormitory_of(request.user, dormitory_id)
    plan = dormitories.RoomPlan(
        building=data.get("building", ""),
        first_floor=to_int(data.get("first_floor")) or 0,
        last_floor=to_int(data.get("last_floor")) or 0,
        rooms_per_floor=to_int(data.get("rooms_per_floor")) or 0,
        capacity=to_int(data.get("capacity")) or 0,
        beds=(to_int(data.get("beds")) or 0) if data.get("beds", "").strip() else None,
    )
    added = dormitories.add_rooms(request.user, dormitory, plan)
    return _("%d rooms added with their beds.") % added, _back(dormitory_id)


@dorm_steps
def assign(request, dormitory_id: int):
    dormitory = dormitories.dormitory_of(request.user, dormitory_id)
    organization = None
    if request.POST.get("organization_id"):
        lessee = dormitory.lessees.filter(
            organization_id=to_int(request.POST["organization_id"]) or 0
        ).first()
        if lessee is None:
            raise Http404(_("No such employer in this dormitory."))
        organization = lessee.organization
    stays = dormitories.assign_waiting(request.user, dormitory, organization=organization)
    left = dormitories.waiting(dormitory).count()
    return _("%(given)d free beds given; %(left)d still waiting.") % {
        "given": len(stays),
        "left": left,
    }, _back(dormitory_id)


def _bed_by_label(dormitory: Dormitory, label: str) -> Bed:
    """A bed of the dormitory named as the page names it (building, room, bed: 1幢101-2)."""
    label = label.strip()
    _head, dash, number = label.rpartition("-")
    if dash:
        for bed in Bed.objects.filter(room__dormitory=dormitory, number=number).select_related(
            "room__building"
        ):
            if bed.label() == label:
                return bed
    raise ValidationError({"bed": _("Choose a bed of this dormitory from the list.")})


@dorm_steps
def check_in(request, dormitory_id: int):
    dormitory = dormitories.dormitory_of(request.user, dormitory_id)
    person = lookups.person(request.user, request.POST.get("person_id"))
    bed = _bed_by_label(dormitory, request.POST.get("bed", ""))
    dormitories.check_in(request.user, person, bed, _date(request.POST.get("on")))
    return _("%(name)s checked in to bed %(bed)s.") % {"name": person.name, "bed": bed.label()}, _back(
        dormitory_id
    )


@dorm_steps
def check_out(request, stay_id: int):
    stay = lookups.visible(
        Stay.objects.select_related("bed__room", "person"),
        request.user,
        stay_id,
        _("No such stay in your area."),
    )
    dormitories.check_out(
        request.user, stay, on=_date(request.POST.get("on")), reason=request.POST.get("reason", "")
    )
    return _("%s checked out.") % stay.person.name, _back(stay.bed.room.dormitory_id)


def _card_holder(request) -> Person:
    """The person named by the bed's row, or typed: a full ID number, or a name only one person has."""
    if request.POST.get("person_id"):
        return lookups.person(request.user, request.POST["person_id"])
    typed = request.POST.get("who", "").strip()
    found = list(search_people(request.user, typed).select_related("grid")[:2]) if typed else []
    if len(found) != 1:
        raise ValidationError({"who": _("Type the holder's full ID number (or a name only one person has).")})
    return found[0]


@dorm_steps
def card_issue(request, dormitory_id: int):
    dormitory = dormitories.dormitory_of(request.user, dormitory_id)
    card = dormitories.issue_card(
        request.user, dormitory, _card_holder(request), request.POST.get("number", "")
    )
    return _("Card %(number)s issued to %(name)s.") % {
        "number": card.number,
        "name": card.holder.name,
    }, _back(dormitory_id) + "#cards"


@dorm_steps
def card_step(request, card_id: int, action: str):
    if action not in dormitories.CARD_STEPS:
        raise Http404
    card = lookups.visible(AccessCard.objects.all(), request.user, card_id, _("No such card in your area."))
    card = dormitories.card_step(request.user, card, action, request.POST.get("note", ""))
    return _("Card %(number)s: %(state)s.") % {
        "number": card.number,
        "state": card.get_state_display(),
    }, _back(card.dormitory_id) + "#cards"


# --- the employer's page --------------------------------------------------------------------------------

employer_steps = form_action("migrants-employer")


def _employer_url(organization_id: int) -> str:
    return f"{reverse('migrants-employer')}?org={organization_id}"


def _employer_context(request, organization) -> dict:
    user = request.user
    q = request.GET.get("q", "").strip()
    rows = (
        Employment.objects.visible_to(user)
        .filter(organization=organization, ended_on=None)
        .select_related("person")
        .order_by("-started_on", "pk")
    )
    if q:
        rows = rows.filter(person__name__contains=q)
    dormitory = employers.dormitory_of_employer(organization)
    return {
        "org": organization,
        "workers": _page(request, rows),
        "q": q,
        "dormitory": dormitory,
        "organizations": employers.employers_for(user),
        "columns": employers.WORKERS,
        "today": timezone.localdate(),
    }


@login_required
def employer_page(request):
    """An employer's workers; a user acting for several organizations picks one first."""
    user = request.user
    if request.GET.get("org"):
        organization = employers.organization_of(user, to_int(request.GET["org"]) or 0)
    else:
        choices = employers.employers_for(user)
        if len(choices) != 1:
            return render(request, "migrants/employers.html", {"organizations": choices})
        organization = choices[0]
    return render(request, "migrants/employer.html", _employer_context(request, organization))


@employer_steps
def worker_new(request, organization_id: int):
    data = request.POST
    organization = employers.organization_of(request.user, organization_id)
    started_on = _date(data.get("started_on"))
    if started_on is None:
        raise ValidationError({"started_on": _("Enter the start date.")})
    worker = employers.Worker(
        name=data.get("name", "").strip(),
        id_number=data.get("id_number", "").strip(),
        started_on=started_on,
        phone=data.get("phone", "").strip(),
        arrived_on=_date(data.get("arrived_on")),
        registered_address=data.get("registered_address", "").strip(),
        is_migrant=bool(data.get("is_migrant")),
    )
    employment = employers.register_worker(request.user, organization, worker)
    return _("%s is registered.") % employment.person.name, _employer_url(organization_id)


@login_required
@require_POST
def workers_import(request, organization_id: int):
    """The Excel file checked ("check only") or saved; every row's error shown, nothing saved when any
    row fails. Asked by htmx, the answer is the report alone (the chosen file stays chosen)."""
    user = request.user
    organization = employers.organization_of(user, organization_id)
    dry_run = request.POST.get("dry_run") == "1"
    report, error = None, ""
    upload = request.FILES.get("file")
    if upload is None:
        error = _("Choose the Excel file.")
    else:
        try:
            report = employers.import_workers(user, organization, upload, dry_run=dry_run).report
        except (ValidationError, PermissionDenied) as exc:
            error = refusal(exc)
    if report is not None and report.saved:
        messages.success(
            request,
            _("%(created)d workers added, %(updated)d found in the registry already.")
            % {"created": report.created, "updated": report.updated},
        )
        if request.headers.get("HX-Request"):
            answer = HttpResponse(status=204)
            answer["HX-Redirect"] = _employer_url(organization.pk)
            return answer
        return redirect(_employer_url(organization.pk))
    context = {"org": organization, "report": report, "import_error": error, "dry_run": dry_run}
    if request.headers.get("HX-Request"):
        return render(request, "migrants/_import_report.html", context)
    return render(request, "migrants/employer.html", _employer_context(request, organization) | context)


@employer_steps
def worker_left(request, employment_id: int):
    employment = lookups.visible(
        Employment.objects.select_related("organization", "person"),
        request.user,
        employment_id,
        _("No such worker in your area."),
    )
    employers.end_employment(
        request.user, employment, on=_date(request.POST.get("on")), reason=request.POST.get("reason", "")
    )
    return _("%s has left: the bed and the access card end too.") % employment.person.name, _employer_url(
        employment.organization_id
    )


# --- residence permits ----------------------------------------------------------------------------------

permit_steps = form_action("migrants-permits")


@login_required
def permits_page(request):
    """What the user's grids must do about residence permits, overdue first, with a form on each row."""
    user = request.user
    due = sorted(permits.due_list(user), key=lambda d: (not d.overdue, d.due_on, d.person.pk))
    applied = _page(
        request,
        Permit.objects.visible_to(user)
        .filter(state=Permit.State.APPLIED)
        .select_related("person__grid")
        .order_by("applied_on", "pk"),
    )
    reminders = Notification.objects.filter(user=user, kind="permit_due", read_at=None).order_by(
        "-created_at"
    )[:5]
    return render(
        request,
        "migrants/permits.html",
        {
            "due": due,
            "applied": applied,
            "reminders": reminders,
            "today": timezone.localdate(),
            "apply_kind": PermitReminder.Kind.APPLY,
            "renew_kind": PermitReminder.Kind.RENEW,
        },
    )


@permit_steps
def permit_apply(request):
    person = lookups.person(request.user, request.POST.get("person_id"))
    permits.apply(
        request.user,
        person,
        applied_on=_date(request.POST.get("applied_on")),
        on_behalf=bool(request.POST.get("on_behalf")),
        note=request.POST.get("note", ""),
    )
    return _("The application of %s is recorded.") % person.name, reverse("migrants-permits")


@permit_steps
def permit_step(request, permit_id: int, step: str):
    data, user = request.POST, request.user
    permit = permits.permit_of(user, permit_id)
    if step == "issue":
        permits.issue(
            user,
            permit,
            number=data.get("number", ""),
            issued_on=_date(data.get("issued_on")),
            expires_on=_date(data.get("expires_on")),
        )
        done = _("The permit of %s is recorded as issued.")
    elif step == "refuse":
        permits.refuse(user, permit, reason=data.get("reason", ""))
        done = _("The refusal for %s is recorded.")
    elif step == "renew":
        expires_on = _date(data.get("expires_on"))
        if expires_on is None:
            raise ValidationError({"expires_on": _("Enter the new end of validity.")})
        permits.renew(user, permit, expires_on=expires_on)
        done = _("The permit of %s is renewed.")
    else:
        raise Http404
    return done % permit.person.name, reverse("migrants-permits")


@permit_steps
def reminder_read(request, notification_id: int):
    Notification.objects.filter(pk=notification_id, user=request.user, read_at=None).update(
        read_at=timezone.now()
    )
    return _("Marked as read."), reverse("migrants-permits")


# --- rental houses --------------------------------------------------------------------------------------

rental_steps = form_action("migrants-rentals")


@login_required
def rentals_page(request):
    user = request.user
    today = timezone.localdate()
    overdue = rentals.overdue(user, today)
    others = (
        Rental.objects.visible_to(user)
        .exclude(is_active=True, next_due_on__lt=today)
        .select_related("house__building", "grid", "lessee")
        .order_by("-is_active", "next_due_on", "pk")
    )
    late = list(overdue[:PER_PAGE])
    for rental in late:
        rental.days_overdue = (today - rental.next_due_on).days
    # Let houses of the registry not yet on the schedule: put on it from here, one click each.
    unscheduled = (
        House.objects.visible_to(user)
        .filter(use__in=(House.Use.RENTED, House.Use.DORMITORY), rental__isnull=True)
        .select_related("building", "unit")
        .order_by("building__name", "number")
    )
    return render(
        request,
        "migrants/rentals.html",
        {
            "overdue": late,
            "overdue_count": overdue.count(),
            "others": _page(request, others),
            "today": today,
            "unscheduled": list(unscheduled[:PER_PAGE]),
            "unscheduled_count": unscheduled.count(),
            "schemes": Rental.Scheme.choices,
            "lessees": Organization.objects.visible_to(user).order_by("name")[:300],
        },
    )


@rental_steps
def rental_new(request):
    data = request.POST
    house = lookups.visible(
        House.objects.select_related("grid"),
        request.user,
        data.get("house_id"),
        _("No such house in your area."),
    )
    lessee = None
    if to_int(data.get("lessee_id")):
        lessee = lookups.visible(
            Organization.objects.all(),
            request.user,
            data.get("lessee_id"),
            _("No such employer in your area."),
        )
    rental = rentals.register(
        request.user,
        house,
        scheme=data.get("scheme", Rental.Scheme.MARKET),
        lessee=lessee,
        interval_days=to_int(data.get("interval_days")) or 0,
    )
    return _("%s is on the inspection schedule.") % house, reverse("migrants-rental", args=[rental.pk])


@login_required
def rental_page(request, rental_id: int):
    user = request.user
    rental = rentals.rental_of(user, rental_id)
    labels = {item: label for item, (label, _code) in rentals.CHECKLIST.items()}
    inspections = list(rental.inspections.select_related("inspector").prefetch_related("findings__case")[:50])
    for inspection in inspections:
        cases = {f.item: f.case for f in inspection.findings.all()}
        inspection.rows = [
            (item, labels[item], inspection.results.get(item), cases.get(item)) for item in labels
        ]
    return render(
        request,
        "migrants/rental.html",
        {
            "r": rental,
            "inspections": inspections,
            "checklist": list(labels.items()),
            "tenants_registered": rentals.tenants_registered(rental),
            "today": timezone.localdate(),
            "may_inspect": has_perm(user, Perm.INSPECT_RENTALS, rental.grid),
        },
    )


@rental_steps
def rental_inspect(request, rental_id: int):
    rental = rentals.rental_of(request.user, rental_id)
    data = request.POST
    found = to_int(data.get("tenants_found"))
    inspection = rentals.inspect(
        request.user,
        rental,
        results={item: data.get(f"result_{item}", "") for item in rentals.CHECKLIST},
        tenants_found=-1 if found is None else found,
        notes=data.get("notes", ""),
        done_on=_date(data.get("done_on")),
    )
    done = (
        _("Inspection recorded: passed.")
        if inspection.passed
        else _("Inspection recorded: failed. Report each failed item as a case below.")
    )
    return done, reverse("migrants-rental", args=[rental_id]) + "#inspections"


@rental_steps
def finding_case(request, inspection_id: int):
    inspection = lookups.visible(
        Inspection.objects.all(), request.user, inspection_id, _("No such inspection in your area.")
    )
    case = rentals.to_case(request.user, inspection, request.POST.get("item", ""))
    return _("Reported as case %s.") % case.number, reverse(
        "migrants-rental", args=[inspection.rental_id]
    ) + "#inspections"
