"""Services near people's pages, included under /services/ by gridgov/urls.py.

- /services/map/ (anyone): a community's service points on a map, one layer per kind, and
  /services/near/ (anyone): the points of a kind by walking time from a place.
- /services/orders/ (operators and grid staff): the meal desk, a call → the nearest open points
  with capacity → an order → accepted → delivered, timed against the kind's target.
- /services/errands/ (agents, and residents for their own): the errand workbench and an errand's
  page with a form for every step `errands.act` offers now.
- /services/jobs/ (staff who match jobs, and residents for their own wishes).

Thin: every form calls `points`, `orders`, `errands` or `jobs`, whose refusals come back as an
error message with nothing saved; callers' names and phones are masked as in the API.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.models import Role
from gridgov.accounts.residence import home_grid
from gridgov.accounts.roles import Perm, has_perm, roles_of
from gridgov.cases.lights import red_first
from gridgov.core.actions import form_action, refusal
from gridgov.core.text import to_int
from gridgov.grids.models import Grid
from gridgov.population.models import Organization
from gridgov.population.services import search_people
from gridgov.privacy.masking import mask_name, mask_phone
from gridgov.services import conf, errands, jobs, orders, points
from gridgov.services.models import (
    Errand,
    ErrandItem,
    JobMatch,
    JobOpening,
    Kind,
    Order,
    ProxyPoint,
    ServicePoint,
)

LIST_LIMIT = 100
COMMUNITY_LEVEL = 2
steps = form_action("services-errands")


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _walking_note() -> str:
    return _("Walking time = straight-line distance × %(detour)s ÷ %(speed)s km/h.") % {
        "detour": conf.detour_factor(),
        "speed": conf.walking_kmh(),
    }


# --- the public map and "near me" -------------------------------------------------------------------


def _communities():
    return Grid.objects.filter(level=COMMUNITY_LEVEL).only("code", "name", "centroid_lat", "centroid_lon")


def service_map(request):
    """A community's service points, one layer per kind: anyone may look."""
    communities = list(_communities())
    chosen = next((c for c in communities if c.code == request.GET.get("community")), None)
    if chosen is None and request.user.is_authenticated:
        home = home_grid(request.user)
        chosen = next((c for c in communities if home and home.code.startswith(c.code)), None)
    chosen = chosen or (communities[0] if communities else None)
    return render(
        request,
        "services/map.html",
        {
            "communities": communities,
            "community": chosen,
            "kinds": Kind.choices,
            "tile_url": settings.GRIDGOV_TILE_URL,
            "tile_attribution": settings.GRIDGOV_TILE_ATTRIBUTION,
        },
    )


def map_points(request):
    """The community's active points as GeoJSON (what a sign at the door would show)."""
    code = request.GET.get("community", "")
    community = Grid.objects.filter(level=COMMUNITY_LEVEL, code=code).first()
    if community is None:
        return JsonResponse(
            [{"field": "community", "description": _("Choose a community.")}], status=400, safe=False
        )
    rows = ServicePoint.objects.filter(is_active=True, grid__code__startswith=community.code)
    ratings = points.ratings_of([p.pk for p in rows])
    labels = dict(Kind.choices)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
            "properties": {
                "id": p.pk,
                "name": p.name,
                "kind": p.kind,
                "kind_label": str(labels[p.kind]),
                "address": p.address,
                "phone": p.phone,
                "hours": p.hours,
                "rating": ratings.get(p.pk, (None, 0))[0],
                "ratings": ratings.get(p.pk, (None, 0))[1],
            },
        }
        for p in rows.order_by("kind", "name")
    ]
    return JsonResponse({"type": "FeatureCollection", "community": community.code, "features": features})


def _where(request, communities) -> tuple[float | None, float | None, str]:
    """The place to measure from: a point given (GPS), a community's centre, or the resident's home grid's."""
    lat, lon = _float(request.GET.get("lat")), _float(request.GET.get("lon"))
    if lat is not None and lon is not None:
        return lat, lon, _("your location")
    chosen = next((c for c in communities if c.code == request.GET.get("community")), None)
    if chosen is None and request.user.is_authenticated:
        home = home_grid(request.user)
        if home is not None:
            return home.centroid_lat, home.centroid_lon, home.name
    if chosen is not None:
        return chosen.centroid_lat, chosen.centroid_lon, chosen.name
    return None, None, ""


def near_page(request):
    """The points of a kind by walking time, nearest first: anyone may ask."""
    communities = list(_communities())
    kind = request.GET.get("kind") or Kind.values[0]
    lat, lon, origin = _where(request, communities)
    context = {
        "kinds": Kind.choices,
        "kind": kind,
        "communities": communities,
        "origin": origin,
        "community": request.GET.get("community", ""),
        "note": _walking_note(),
        "found": None,
        "may_rate": request.user.is_authenticated and Role.RESIDENT in roles_of(request.user),
    }
    if lat is not None and kind in Kind.values:
        found = points.near(kind, lat, lon, at=timezone.now(), limit=20)
        ratings = points.ratings_of([n.point.pk for n in found])
        context["found"] = [(n, ratings.get(n.point.pk, (None, 0))) for n in found]
    return render(request, "services/near.html", context)


@steps
def rate_point(request, point_id: int):
    """A resident's score for a point (rating again changes it); back to the list it came from."""
    points.rate(
        request.user, point_id, to_int(request.POST.get("score")) or 0, request.POST.get("comment", "")
    )
    return _("Thank you for rating."), request.POST.get("next") or reverse("services-near")


# --- the meal desk ----------------------------------------------------------------------------------


def _may_take(user) -> None:
    if not has_perm(user, Perm.TAKE_SERVICE_ORDERS, None):
        raise PermissionDenied(_("Only operators and grid staff take service orders."))


def _caller(data) -> orders.Caller:
    return orders.Caller(
        person_id=to_int(data.get("person_id")) if data.get("person_id") else None,
        name=data.get("name", ""),
        phone=data.get("phone", ""),
        address=data.get("address", ""),
        lat=_float(data.get("lat")),
        lon=_float(data.get("lon")),
        crs=data.get("crs") or "wgs84",
    )


def _order_row(o: Order) -> dict:
    minutes = orders.minutes_to_delivery(o)
    target = conf.target_minutes(o.kind)
    return {
        "o": o,
        "name": mask_name(o.caller_name),
        "phone": mask_phone(o.caller_phone),
        "minutes": minutes,
        "target": target,
        "within": None if minutes is None else minutes <= target,
    }


@login_required
def orders_desk(request):
    """Take a call: find the caller, see the nearest open points with capacity, place the order;
    today's orders below with their minutes from call to delivery."""
    user = request.user
    _may_take(user)
    data = request.GET
    kind = data.get("kind") or Kind.MEAL
    context = {
        "kinds": Kind.choices,
        "kind": kind,
        "q": data.get("q", ""),
        "caller": data,
        "note": _walking_note(),
        "people": [],
        "offers": None,
        "error": "",
    }
    if context["q"].strip():
        found = search_people(user, context["q"]).select_related("grid")[:10]
        context["people"] = [(p, mask_name(p.name)) for p in found]
    if data.get("person_id") or (data.get("lat") and data.get("lon")):
        try:
            context["offers"] = orders.offer(user, kind, _caller(data), limit=5)
        except (ValidationError, Http404) as exc:
            context["error"] = refusal(exc)
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = Order.objects.visible_to(user).filter(called_at__gte=today).select_related("point", "grid")
    context["orders"] = [_order_row(o) for o in rows.order_by("-called_at")[:LIST_LIMIT]]
    labels = dict(Kind.choices)
    context["figures"] = [
        f | {"label": labels.get(f["kind"], f["kind"])}
        for f in orders.figures(Order.objects.visible_to(user), today, None)
    ]
    return render(request, "services/orders.html", context)


@steps
def place_order(request):
    order = orders.place(
        request.user,
        to_int(request.POST.get("point_id")),
        _caller(request.POST),
        request.POST.get("note", ""),
    )
    return _("Order %(id)d placed with %(point)s (about %(minutes)s min on foot).") % {
        "id": order.pk,
        "point": order.point.name,
        "minutes": order.estimated_minutes,
    }, f"{reverse('services-orders')}?kind={order.kind}#orders"


ORDER_DONE = {
    "accept": gettext_lazy("The partner accepted the order."),
    "deliver": gettext_lazy("Delivered."),
    "cancel": gettext_lazy("Order cancelled."),
}


@steps
def order_step(request, order_id: int, name: str):
    if name not in orders.STEPS:
        raise Http404
    order = orders.step(request.user, order_id, name)
    return str(ORDER_DONE[name]), f"{reverse('services-orders')}?kind={order.kind}#orders"


# --- errands ----------------------------------------------------------------------------------------

ERRAND_FILTERS = ("open", "all", *Errand.State.values)
ERRAND_OPEN = (Errand.State.REQUESTED, Errand.State.ACCEPTED, Errand.State.SUBMITTED, Errand.State.ANSWERED)


def _proxy_points_for(user):
    """Where the user may ask: a resident at the points on their home's line; an agent at theirs."""
    rows = ProxyPoint.objects.filter(is_active=True).select_related("grid").order_by("grid__code", "name")
    if Role.RESIDENT in roles_of(user):
        home = home_grid(user)
        if home is None:
            return []
        return [p for p in rows if home.code.startswith(p.grid.code) or p.grid.code.startswith(home.code)]
    return [
        p
        for p in ProxyPoint.objects.visible_to(user).filter(is_active=True).select_related("grid")
        if errands.is_agent(user, p)
    ]


@login_required
def errands_page(request):
    user = request.user
    state = request.GET.get("state", "open")
    state = state if state in ERRAND_FILTERS else "open"
    rows = errands.readable(user)
    if state == "open":
        rows = rows.filter(state__in=ERRAND_OPEN)
    elif state != "all":
        rows = rows.filter(state=state)
    rows = rows.select_related("item", "proxy_point", "grid").order_by(
        red_first(), "deadline", "-requested_at"
    )
    context = {
        "errands": list(rows[:LIST_LIMIT]),
        "state": state,
        "states": [("open", _("Not finished")), ("all", _("All")), *Errand.State.choices],
        "proxy_points": _proxy_points_for(user),
        "items": ErrandItem.objects.filter(is_active=True).order_by("level", "name"),
        "kinds": Errand.Kind.choices,
        "is_resident": Role.RESIDENT in roles_of(user),
        "completion": errands.completion(Errand.objects.visible_to(user)),
    }
    return render(request, "services/errands.html", context)


@steps
def errand_new(request):
    data = request.POST
    errand = errands.request(
        request.user,
        to_int(data.get("proxy_point_id")),
        to_int(data.get("item_id")),
        data.get("kind", ""),
        data.get("note", ""),
        to_int(data.get("person_id")) if data.get("person_id") else None,
    )
    return _("Errand requested: the point's agents are told."), reverse("services-errand", args=[errand.pk])


ERRAND_LOG = {
    "request": gettext_lazy("Requested"),
    "accept": gettext_lazy("Accepted: the clock starts"),
    "submit": gettext_lazy("Materials handed to the department"),
    "answer": gettext_lazy("The department answered"),
    "close": gettext_lazy("Done"),
    "confirm": gettext_lazy("Confirmed by the resident"),
    "cancel": gettext_lazy("Cancelled"),
    "overdue": gettext_lazy("Past the time limit"),
}


@login_required
def errand_page(request, errand_id: int):
    errand = (
        errands.readable(request.user)
        .select_related("item", "proxy_point__grid", "grid", "agent", "person")
        .filter(pk=errand_id)
        .first()
    )
    if errand is None:
        raise Http404(_("No such errand in your area."))
    logs = list(errand.logs.select_related("actor").order_by("at", "pk"))
    for entry in logs:
        entry.label = ERRAND_LOG.get(entry.action, entry.action)
    return render(
        request,
        "services/errand.html",
        {
            "e": errand,
            "logs": logs,
            "actions": errands.available_actions(request.user, errand),
            "person": mask_name(errand.person.name) if errand.person_id else "",
        },
    )


ERRAND_DONE = {
    "accept": gettext_lazy("Accepted: the time limit runs."),
    "submit": gettext_lazy("Handed to the department."),
    "answer": gettext_lazy("The department's answer recorded."),
    "close": gettext_lazy("Closed with the result; the resident is asked to confirm."),
    "confirm": gettext_lazy("Thank you: confirmed."),
    "cancel": gettext_lazy("Errand cancelled."),
}


@steps
def errand_action(request, errand_id: int, action: str):
    if action not in ERRAND_DONE:
        raise Http404
    data = request.POST
    params = errands.Params(
        note=data.get("note", ""),
        materials=data.getlist("materials"),
        answer=data.get("answer", ""),
        result=data.get("result", ""),
        rating=to_int(data.get("rating")) if data.get("rating") else None,
    )
    errands.act(errand_id, request.user, action, params)
    return str(ERRAND_DONE[action]), reverse("services-errand", args=[errand_id])


# --- job wishes -------------------------------------------------------------------------------------


@login_required
def jobs_page(request):
    user = request.user
    staff = has_perm(user, Perm.MATCH_JOBS, None)
    wishes = jobs.readable_wishes(user).select_related("grid", "person").order_by("-created_at")
    context = {
        "wishes": list(wishes[:LIST_LIMIT]),
        "staff": staff,
        "is_resident": Role.RESIDENT in roles_of(user),
        "wish": None,
        "suggestions": [],
        "q": request.GET.get("q", ""),
        "people": [],
    }
    for w in context["wishes"]:
        w.who = mask_name(w.person.name) if w.person_id else _("myself") if w.resident_id == user.pk else ""
    if staff:
        context["openings"] = list(
            JobOpening.objects.visible_to(user)
            .filter(is_open=True)
            .select_related("employer", "grid")
            .order_by("-created_at")[:LIST_LIMIT]
        )
        context["employers"] = Organization.objects.visible_to(user).order_by("name")[:500]
        context["pending"] = list(
            JobMatch.objects.visible_to(user)
            .filter(outcome=JobMatch.Outcome.PENDING)
            .select_related("wish", "opening__employer")
            .order_by("-matched_at")[:LIST_LIMIT]
        )
        context["figures"] = jobs.figures(user)
        wish_id = to_int(request.GET.get("wish"))
        context["wish"] = next((w for w in context["wishes"] if w.pk == wish_id), None)
        if context["wish"] is not None:
            context["suggestions"] = jobs.suggestions(user, wish_id)
        if context["q"].strip():
            context["people"] = [(p, mask_name(p.name)) for p in search_people(user, context["q"])[:10]]
    return render(request, "services/jobs.html", context)


def _jobs_back(request) -> str:
    return reverse("services-jobs")


@steps
def wish_new(request):
    data = request.POST
    jobs.file_wish(
        request.user,
        data.get("work", ""),
        data.get("hours", ""),
        data.get("place", ""),
        to_int(data.get("person_id")) if data.get("person_id") else None,
    )
    return _("Job wish filed."), _jobs_back(request)


@steps
def opening_new(request):
    data = request.POST
    jobs.record_opening(
        request.user,
        to_int(data.get("employer_id")),
        data.get("work", ""),
        data.get("hours", ""),
        data.get("place", ""),
        to_int(data.get("positions")) or 0,
    )
    return _("Opening recorded."), _jobs_back(request)


@steps
def match_new(request):
    data = request.POST
    jobs.match(request.user, to_int(data.get("wish_id")), to_int(data.get("opening_id")))
    return _("Matched: record the outcome when it is known."), _jobs_back(request)


@steps
def match_decide(request, match_id: int):
    hired = request.POST.get("outcome") == "hired"
    jobs.decide(request.user, match_id, hired)
    return (_("Hired: the wish is fulfilled.") if hired else _("Outcome recorded.")), _jobs_back(request)
