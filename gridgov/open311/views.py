"""The GeoReport v2 endpoints under /open311/v2/, each in JSON or XML (the path's suffix).

Thin: every call is checked (jurisdiction, key, rate), answered by `services`, and logged with
its status; problems come back in the spec's error format, one description per field.
"""

from functools import wraps

from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from gridgov.open311 import public, render, services
from gridgov.open311.models import CallLog, Endpoint

SPEC = "http://wiki.open311.org/GeoReport_v2"


def _client(request, endpoint: Endpoint, *, filing: bool):
    """The client of the call's api_key; None for a keyless read; the anonymous client for a
    keyless filing when the endpoint allows it."""
    key = (request.POST.get("api_key") or request.GET.get("api_key") or "").strip()
    if key:
        return services.client_for_key(key)
    if filing and not endpoint.allow_anonymous:
        raise services.Refused(403, [_("api_key: required to file a request.")])
    return None


def georeport(*, filing: bool = False):
    def decorate(view):
        @wraps(view)
        def wrapped(request, fmt: str, **kwargs):
            if fmt not in render.FORMATS:
                raise Http404
            endpoint = Endpoint.current()
            ip, client = request.META.get("REMOTE_ADDR"), None
            try:
                params = request.POST if request.method == "POST" else request.GET
                services.check_jurisdiction(params.get("jurisdiction_id"), endpoint)
                client = _client(request, endpoint, filing=filing)
                services.check_rate(client, ip, endpoint)
                filer = client or (services.anonymous_client() if filing else None)
                response = view(request, fmt, client=filer, params=params, endpoint=endpoint, **kwargs)
            except services.Refused as refused:
                response = render.errors(fmt, refused.status, refused.messages)
            # Every call is logged, refused ones too: the rate counts them. Keyless calls are
            # counted by address (client None), whoever files them.
            with transaction.atomic():
                CallLog.objects.create(
                    client=client,
                    ip_address=ip,
                    method=request.method,
                    path=request.path[:200],
                    status=response.status_code,
                )
            return response

        return wrapped

    return decorate


@require_GET
@georeport()
def discovery(request, fmt, *, endpoint, **_):
    base = request.build_absolute_uri(reverse("open311-root"))
    return render.respond(
        fmt,
        "discovery",
        {
            "changeset": "2026-12-07T00:00:00+08:00",
            "contact": endpoint.contact,
            "key_service": endpoint.contact,
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": base,
                    "changeset": "2026-12-07T00:00:00+08:00",
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@require_GET
@georeport()
def service_list(request, fmt, **_):
    return render.respond(fmt, "services", [services.service_out(c) for c in services.public_categories()])


@require_GET
@georeport()
def service_definition(request, fmt, *, code, **_):
    return render.respond(fmt, "service_definition", services.definition(code))


@csrf_exempt  # clients authenticate by api_key, not by a browser session
@require_http_methods(["GET", "POST"])
def requests_endpoint(request, fmt):
    return (_file if request.method == "POST" else _list)(request, fmt)


@georeport(filing=True)
def _file(request, fmt, *, client, params, **_):
    filed = services.file_request(client, params, request.headers.get("Idempotency-Key", ""))
    link = filed.link
    answer = [
        {
            "service_request_id": link.case.number,
            "token": link.token,
            "service_notice": "",
            "account_id": link.account_id or None,
        }
    ]
    return render.respond(fmt, "service_requests", answer, 201 if filed.created else 200)


@georeport()
def _list(request, fmt, *, params, **_):
    return render.respond(fmt, "service_requests", services.find_requests(params))


@require_GET
@georeport()
def one_request(request, fmt, *, request_id, **_):
    return render.respond(fmt, "service_requests", [services.one_request(request_id)])


@require_GET
@georeport()
def token(request, fmt, *, token, **_):
    return render.respond(fmt, "service_requests", [services.token_lookup(token)])


# --- the public map (no login) -------------------------------------------------------------------


def _geojson(build):
    @wraps(build)
    @require_GET
    def view(request):
        try:
            data = build(request.GET)
        except services.Refused as refused:
            return render.errors("json", refused.status, refused.messages)
        response = render.respond("json", "", data)
        response["Content-Type"] = "application/geo+json; charset=utf-8"
        return response

    return view


reports_geojson = _geojson(public.reports)
grids_geojson = _geojson(public.grids)


@require_GET
def public_map(request):
    """Recent reports near you on a map, with their status: anyone may look."""
    from django.conf import settings
    from django.shortcuts import render as page

    return page(request, "open311/public_map.html", {
        "tile_url": settings.GRIDGOV_TILE_URL, "tile_attribution": settings.GRIDGOV_TILE_ATTRIBUTION})
