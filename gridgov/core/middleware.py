"""Input no database can hold is refused before any view sees it."""

from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def has_nul(value) -> bool:
    """True if a string anywhere in a JSON-like value holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def _nul_field(request) -> str | None:
    if "\x00" in request.path:
        return "path"
    sources = [request.GET] + ([request.POST] if request.content_type in FORM_TYPES else [])
    for source in sources:
        for key, values in source.lists():
            if has_nul(key) or has_nul(values):
                return key.replace("\x00", "") or "__all__"
    return None


class RefuseNulCharacters:
    """PostgreSQL text cannot hold a NUL character (U+0000): a query or form value with one
    was a server error there and silently different on SQLite. No real input has one, so it is
    a 400 naming the field. JSON bodies are checked by the API's body parser. Form data that
    cannot be parsed at all is a 400 here too (it would be found first by this check)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            field = _nul_field(request)
        except MultiPartParserError:  # e.g. multipart/form-data without its boundary
            return _refuse(request, "__all__", _("The form data cannot be read."))
        if field is None:
            return self.get_response(request)
        return _refuse(request, field, _("The text contains a NUL character, which is not allowed."))


def _refuse(request, field: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "errors": {field: [message]}}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def content_security_policy(admin: bool) -> str:
    return _policy(admin, settings.GRIDGOV_TILE_URL)


@cache  # every answer carries it: built once per (page kind, tile server), not per request
def _policy(admin: bool, tile_url: str) -> str:
    """Scripts and everything else from this server only. Alpine.js evaluates its attributes
    with Function() ('unsafe-eval'); Leaflet and htmx set inline styles. The back office
    (django-simpleui) has inline scripts of its own, so its pages also allow those."""
    tiles = urlsplit(tile_url.replace("{s}", "*"))
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
    scripts = "'self' 'unsafe-eval'" + (" 'unsafe-inline'" if admin else "")
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{tile_origin}; font-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


# The phone pages take a GPS fix, photos and voice notes; nothing else may ask for them.
PERMISSIONS = "geolocation=(self), camera=(self), microphone=(self)"


class SecurityHeaders:
    """Headers every answer carries. django-simpleui removes Django's XFrameOptionsMiddleware
    when it starts (its back office shows pages in same-origin frames), which left every page
    open to clickjacking: SAMEORIGIN here keeps its frames working and refuses other sites'."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(request.path.startswith("/admin/")))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS)
        return response
