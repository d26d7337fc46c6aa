"""Input no database can hold is refused before any view sees it."""

from django.http import HttpResponseBadRequest, JsonResponse
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
    a 400 naming the field. JSON bodies are checked by the API's body parser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        message = _("The text contains a NUL character, which is not allowed.")
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "errors": {field: [message]}}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
