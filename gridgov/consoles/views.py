"""Workbenches: one page per role with the work waiting for it, plus the resident portal and the PWA files.

Views stay thin: lists come from `queues` (scoped), reports go through `intake.submit`,
state changes through `workflow.act`, exactly as the API does.
"""

import hashlib
import json
import uuid
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from gridgov.accounts import residence
from gridgov.accounts.models import Department
from gridgov.cases import intake, workflow
from gridgov.cases.api import visible_case
from gridgov.cases.models import Case, Category
from gridgov.consoles import queues
from gridgov.core.scope import scope_of
from gridgov.core.text import to_int
from gridgov.engagement import services as notice_services
from gridgov.grids import shapes
from gridgov.grids.models import Grid
from gridgov.population import visits

STATIC_DIR = Path(__file__).resolve().parent / "static" / "gridgov"


def console(name: str):
    """Only users whose roles open this workbench may see it (the data is scoped either way)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if name not in queues.consoles_of(request.user):
                raise PermissionDenied(_("This workbench is not for your role."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _scope_roots(user) -> list[Grid]:
    scope = scope_of(user)
    rows = Grid.objects.filter(level=1) if scope.everything else Grid.objects.filter(code__in=scope.roots)
    return list(rows.order_by("code"))


def _map_settings() -> dict:
    return {"tile_url": settings.GRIDGOV_TILE_URL, "tile_attribution": settings.GRIDGOV_TILE_ATTRIBUTION,
            "tile_crs": settings.GRIDGOV_TILE_CRS}


# --- command centre ------------------------------------------------------------------------


def _dispatch_context(request) -> dict:
    light, state = request.GET.get("light", ""), request.GET.get("state", "")
    rows = queues.dispatch_queue(request.user, light=light, state=state, grid=request.GET.get("grid", ""))
    return {"queue": rows[: queues.QUEUE_LIMIT], "counts": queues.light_counts(request.user),
            "light": light, "state": state, "lights": Case.Light.choices,
            "states": [(s, Case.State(s).label) for s in queues.DISPATCH_STATES],
            "query": request.GET.urlencode(), "refreshed_at": timezone.localtime()}


@console("dispatch")
def dispatch(request):
    return render(request, "consoles/dispatch.html",
                  {**_dispatch_context(request), "area_bounds": shapes.area_bounds(request.user),
                   **_map_settings()})


@console("dispatch")
def dispatch_queue(request):
    """The queue alone: htmx swaps it in every few seconds, so new and overdue cases show up."""
    return render(request, "consoles/_dispatch_queue.html", _dispatch_context(request))


@console("dispatch")
def hotline_desk(request):
    """The operator's page for phone calls; it talks to /api/v1/hotline/* (see cases/hotline.py)."""
    intake.check_actor(request.user, Case.Channel.HOTLINE)
    # Streets and communities: where a call without a usable address is put, and flagged.
    areas = Grid.objects.visible_to(request.user).basic().filter(level__lte=2).order_by("code")
    return render(request, "consoles/hotline.html", {
        "categories": _categories(REPORTABLE), "client_key": uuid.uuid4().hex, **_map_settings(),
        "area_bounds": shapes.area_bounds(request.user), "areas": areas,
        "departments": Department.objects.filter(is_active=True).order_by("name")})


# --- grid worker ---------------------------------------------------------------------------


@console("worker")
def worker(request):
    due = visits.due_list(request.user)
    return render(request, "consoles/worker.html", {
        "to_verify": queues.to_verify(request.user)[:50], "reports": queues.my_reports(request.user),
        "due": due[:20], "due_total": len(due), "overdue": sum(1 for d in due if d.overdue)})


def _categories(kinds) -> list[dict]:
    """Every reportable category, sent with the page so search works with no network."""
    parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True))
    rows = (Category.objects.filter(is_active=True, kind__in=kinds).exclude(pk__in=parents)
            .select_related("parent").order_by("code"))
    return [{"id": c.pk, "code": c.code, "name": c.name, "parent": c.parent.name if c.parent_id else ""}
            for c in rows]


# Components (部件) are reported like matters since GB/T 47678.5-2026.
REPORTABLE = (Category.Kind.MATTER, Category.Kind.COMPONENT)
REPORT_FORMS = {
    # channel given by the form -> (workbench, category kinds, template)
    "worker": ("worker", REPORTABLE, "consoles/report.html"),
    "resident": ("resident", (Category.Kind.REQUEST, Category.Kind.MATTER), "consoles/resident_new.html"),
}


def _report_from_post(request, channel: str) -> intake.Report:
    post = request.POST
    if channel == Case.Channel.WORKER and post.get("self_resolved"):
        channel = Case.Channel.SELF_RESOLVED
    return intake.Report(
        channel=channel, category_id=to_int(post.get("category_id")), description=post.get("description", ""),
        lat=_float(post.get("lat")), lon=_float(post.get("lon")), crs=post.get("crs") or "wgs84",
        address=post.get("address", ""), client_key=post.get("client_key", ""),
        component_id=post.get("component_id", ""), files=request.FILES.getlist("photos"),
        after_files=request.FILES.getlist("after_photos"))


def _report_page(request, form: str):
    """The report form; without JavaScript it posts here, with it the page posts to the API."""
    _console, kinds, template = REPORT_FORMS[form]
    errors, values = {}, {}
    if request.method == "POST":
        values = request.POST
        try:
            case, _created = intake.submit(request.user, _report_from_post(request, form))
        except ValidationError as exc:
            errors = {field: " ".join(msgs) for field, msgs in exc.message_dict.items()}
        else:
            messages.success(request, _("Reported: case %s.") % case.number)
            return redirect(_after_report(form, case))
    return render(request, template, {
        "categories": _categories(kinds), "errors": errors, "values": values, "channel": form,
        "client_key": uuid.uuid4().hex, **_map_settings(), "area_bounds": shapes.area_bounds(request.user)})


def _after_report(form: str, case: Case) -> str:
    return reverse("resident-request", args=[case.pk]) if form == "resident" else reverse("console-worker")


@console("worker")
def report(request):
    return _report_page(request, "worker")


# --- department handler --------------------------------------------------------------------


@console("handler")
def handler(request):
    rows = list(queues.handler_queue(request.user)[: queues.QUEUE_LIMIT])
    return render(request, "consoles/handler.html", {
        "to_accept": [c for c in rows if c.state == Case.State.DISPATCHED],
        "in_hand": [c for c in rows if c.state == Case.State.ACCEPTED], "now": timezone.now(),
        "assisting": list(queues.assisting_queue(request.user)[: queues.QUEUE_LIMIT]),
        "copied": list(queues.copied_to_me(request.user)[: queues.QUEUE_LIMIT])})


# --- leader --------------------------------------------------------------------------------


@console("leader")
def leader(request):
    roots = _scope_roots(request.user)
    # One level down from the leader's area (the communities of a street, the grids of a community).
    rows = roots if len(roots) > 1 else Grid.objects.filter(parent__in=roots).order_by("code")
    today = timezone.localdate()
    return render(request, "consoles/leader.html", {
        "figures": queues.key_figures(request.user, today), "month": today,
        "by_grid": queues.figures_by_grid(request.user, list(rows[:60]), today), "roots": roots,
        "copied": list(queues.copied_to_me(request.user)[: queues.QUEUE_LIMIT])})


# --- resident portal -----------------------------------------------------------------------


RESIDENT_NOTICES = 5


@console("resident")
def resident_home(request):
    rows = queues.my_reports(request.user, limit=50)
    home = residence.home_grid(request.user)
    path, notices = [], []
    if home:
        path = [*Grid.objects.filter(code__in=home.ancestor_codes()).order_by("level"), home]
        notices = list(notice_services.my_notices(request.user)[:RESIDENT_NOTICES])
    return render(request, "consoles/resident.html", {
        "requests": rows, "home_path": path, "notices": notices})


@console("resident")
@require_POST
def resident_home_grid(request):
    """The resident says where they live: their position (or a point on the map) names the grid."""
    post = request.POST
    try:
        grid = residence.home_from_point(request.user, post.get("lat"), post.get("lon"),
                                         post.get("crs") or "wgs84")
        messages.success(request, _("Your home grid is now %(grid)s: its notices will reach you.")
                         % {"grid": grid.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("resident-home")


@console("resident")
def resident_new(request):
    return _report_page(request, "resident")


RESIDENT_STEPS = (  # what a resident sees: five plain steps instead of the twelve internal states
    ("received", (Case.State.REPORTED,)),
    ("accepted", (Case.State.REGISTERED, Case.State.RETURNED, Case.State.SUSPENDED)),
    ("handling", (Case.State.DISPATCHED, Case.State.ACCEPTED)),
    ("checking", (Case.State.HANDLED, Case.State.VERIFIED)),
    ("done", (Case.State.CLOSED, Case.State.REJECTED, Case.State.MERGED)),
)


def _step_of(case: Case) -> int:
    return next(i for i, (_name, states) in enumerate(RESIDENT_STEPS) if case.state in states)


@login_required
def resident_request(request, case_id: int):
    case = visible_case(request.user, case_id)
    if case.reporter_id != request.user.pk:
        raise PermissionDenied(_("Only the person who filed a request follows it here."))
    labels = [_("Received"), _("Accepted"), _("Being handled"), _("Being checked"), _("Finished")]
    can_rate = any(a.name == "rate" for a in workflow.available_actions(request.user, case))
    return render(request, "consoles/resident_request.html", {
        "case": case, "steps": labels, "step": _step_of(case), "can_rate": can_rate,
        "ratings": Case.Rating.choices})


@login_required
@require_POST
def resident_rate(request, case_id: int):
    params = workflow.Params(rating=request.POST.get("rating", ""), note=request.POST.get("note", ""))
    try:
        workflow.act(case_id, request.user, "rate", params)
        messages.success(request, _("Thank you for your rating."))
    except (ValidationError, PermissionDenied, workflow.IllegalTransition) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    return redirect("resident-request", case_id=case_id)


# --- installable app (PWA) -----------------------------------------------------------------


def manifest(request):
    """The web app manifest: the worker's and the resident's pages install like an app."""
    start = reverse("console-worker") if "worker" in queues.consoles_of(request.user) else reverse("home")
    body = {
        "name": _("gridgov Grid governance"), "short_name": "gridgov", "start_url": start, "scope": "/",
        "display": "standalone", "background_color": "#f4f6f7", "theme_color": "#1f4e79",
        "lang": request.LANGUAGE_CODE,
        "icons": [{"src": static("gridgov/icon.svg"), "sizes": "any", "type": "image/svg+xml",
                   "purpose": "any maskable"}],
    }
    return JsonResponse(body, content_type="application/manifest+json",
                        json_dumps_params={"ensure_ascii": False})


@never_cache
def service_worker(request):
    """Served from the site root so it may control every page (a static URL limits its scope)."""
    source = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    # Static files only: pages are cached when first opened online (the report forms only).
    shell = [*[static(f"gridgov/{name}") for name in SHELL_STATIC], *[static(path) for path in SHELL_VENDOR]]
    source = source.replace("__SHELL__", json.dumps(shell)).replace("__VERSION__", _shell_version(source))
    response = HttpResponse(source, content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response


SHELL_STATIC = ("app.css", "forms.js", "outbox.js", "report.js", "home-grid.js", "grid-view.js", "icon.svg")
SHELL_VENDOR = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/alpinejs/cdn.min.js")


def _shell_version(source: str) -> str:
    """Changes whenever the worker or the app files change, so phones fetch the new ones."""
    digest = hashlib.sha256(source.encode())
    apps = STATIC_DIR.parent.parent.parent
    folders = (STATIC_DIR, *(apps / app / "static" / "gridgov" for app in ("core", "grids")))
    for name in SHELL_STATIC:
        for folder in folders:
            if (folder / name).exists():
                digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


def _float(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None
