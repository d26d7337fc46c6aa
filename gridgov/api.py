"""The HTTP API: django-ninja, endpoints under /api/v1/, OpenAPI at /api/openapi.json, docs at /api/docs.

Clients authenticate with the session cookie (pages) or a bearer token (apps).
Errors have one shape everywhere: 400 {"detail": message, "errors": {field: [messages]}}
in the user's language, 401/403/404/409 (an action the case's state does not allow) {"detail": message}.
"""

import json

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from gridgov.accounts.api import router as accounts_router
from gridgov.accounts.auth import BearerTokenAuth, SessionAuth
from gridgov.analytics.api import router as analytics_router
from gridgov.cases.api import router as cases_router
from gridgov.cases.workflow import IllegalTransition
from gridgov.core.middleware import has_nul
from gridgov.core.openapi import document_errors
from gridgov.engagement.api import router as engagement_router
from gridgov.grids.api import router as grids_router
from gridgov.insights.api import router as insights_router
from gridgov.mediation.api import router as mediation_router
from gridgov.migrants.api import router as migrants_router
from gridgov.participation.api import router as participation_router
from gridgov.patrols.api import router as patrols_router
from gridgov.patrols.services import PatrolNotRunning
from gridgov.population.api import router as population_router
from gridgov.services.api import router as services_router
from gridgov.volunteers.api import router as volunteers_router
from gridgov.webhooks.api import router as webhooks_router


class UnsupportedMediaType(Exception):
    """A body that is not declared as JSON (HTTP 415)."""


class JsonBodyParser(Parser):
    """Bodies are JSON objects sent as application/json. Ninja would parse any content type and
    silently drop a body that is not an object (a list, a number) when every field has a
    default; a text/plain body is also what a cross-site form can send without a preflight."""

    def parse_body(self, request):
        if request.content_type != "application/json" and not request.content_type.endswith("+json"):
            raise UnsupportedMediaType(_("Send the body as application/json."))
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(_("The request body is not valid JSON.")) from None
        if not isinstance(data, dict):
            raise ValidationError(_("The request body must be a JSON object."))
        if has_nul(data):
            raise ValidationError(_("The text contains a NUL character, which is not allowed."))
        return data

    def parse_querydict(self, data, list_fields, request):
        """A query or form field that is not a list, given twice, is refused: which of the two
        was meant cannot be known (Django would silently take the last)."""
        repeated = [key for key in data if key not in list_fields and len(data.getlist(key)) > 1]
        if repeated:
            raise ValidationError({key: [_("Give this only once.")] for key in repeated})
        return super().parse_querydict(data, list_fields, request)


class GridgovAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        return document_errors(super().get_openapi_schema(**kwargs))


api = GridgovAPI(
    title="gridgov API",
    version="1",
    urls_namespace="api-1",
    # Bearer first: ninja's session auth answers 403 to an unsafe request without a CSRF
    # token before the next method is tried, which would refuse every client's POST.
    auth=[BearerTokenAuth(), SessionAuth()],
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=JsonBodyParser(),
)


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in ValidationError(errs).messages]
                for field, errs in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


@api.exception_handler(ValidationError)
def domain_validation_error(request, exc: ValidationError):
    errors = _field_errors(exc)
    first = next(iter(errors.values()))[0]
    return api.create_response(request, {"detail": first, "errors": errors}, status=400)


SOURCES = ("body", "query", "path", "form", "file", "payload")  # not field names


@api.exception_handler(NinjaValidationError)
def schema_validation_error(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", [])]
        # (source, parameter, field...): drop those, not a field that happens to be called "body".
        for _leading in range(2):
            if loc and loc[0] in SOURCES:
                loc.pop(0)
        field = ".".join(loc) or "__all__"
        whole = field == "__all__" and error.get("type") == "missing"
        errors.setdefault(field, []).append(
            _("Send the request's data as a JSON body.") if whole else _schema_message(error))
    field, messages = next(iter(errors.items()))
    detail = messages[0] if field == "__all__" else _("%(field)s: %(message)s") % {
        "field": field, "message": messages[0]}
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)


def _schema_message(error: dict) -> str:
    """Pydantic's English message turned into one in the user's language, by error type."""
    kind = error.get("type", "")
    if kind == "missing":
        return _("This field is required.")
    if kind.startswith(("float", "int", "number")):
        return _("Enter a number.")
    if kind.startswith(("date", "datetime", "time")):
        return _("Enter a date as YYYY-MM-DD (a time as YYYY-MM-DDTHH:MM:SS+08:00).")
    if kind.startswith("bool"):
        return _("Enter true or false.")
    if kind.startswith(("string_too_long", "too_long")):
        return _("Too long.")
    if kind.startswith(("string_too_short", "too_short")):
        return _("Too short.")
    if kind.startswith(("greater_than", "less_than")):
        return _("Out of range.")
    if kind in ("literal_error", "enum", "string_pattern_mismatch"):
        return _("Not one of the allowed values.")
    if kind.startswith(("string_type", "string_unicode")):
        return _("Enter text.")
    if kind.startswith(("list_type", "model_type", "dict_type", "model_attributes_type")):
        return _("Wrong kind of value: see the API documentation.")
    return _("Invalid value.")


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return api.create_response(
        request, {"detail": str(exc) or _("You do not have permission to do this.")}, status=403)


@api.exception_handler(IllegalTransition)
def illegal_transition(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(PatrolNotRunning)
def patrol_not_running(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": str(exc) or _("Not found.")}, status=404)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    """Ninja wraps what the body parser raised ("Cannot parse request body", in English)."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        return domain_validation_error(request, cause)
    if isinstance(cause, UnsupportedMediaType):
        return api.create_response(request, {"detail": str(cause)}, status=415)
    if isinstance(cause, RequestDataTooBig):
        return body_too_big(request, cause)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(OverflowError)
def number_too_large(request, exc):
    """An id or number past the database's integer range (SQLite cannot even bind it)."""
    return domain_validation_error(request, ValidationError(_("A number in the request is too large.")))


@api.exception_handler(RequestDataTooBig)
def body_too_big(request, exc):
    return api.create_response(request, {"detail": _("The request is too large.")}, status=413)


@api.exception_handler(RawPostDataException)
def form_body_to_json_route(request, exc):
    """A form (multipart) body sent to a route that reads JSON: the session's CSRF check has read the
    form, so the raw body is gone; it is the wrong media type either way."""
    return api.create_response(request, {"detail": _("Send the body as application/json.")}, status=415)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(request, {"detail": _("Log in first.")}, status=401)


@api.get("/v1/health", auth=None, tags=["system"], summary="Liveness: the server answers")
def health(request):
    """A trivial answer with no database work; load balancers and benchmarks call it."""
    return {"status": "ok"}


api.add_router("/v1/", accounts_router)
api.add_router("/v1/", grids_router)
api.add_router("/v1/", cases_router)
api.add_router("/v1/", population_router)
api.add_router("/v1/", patrols_router)
api.add_router("/v1/", engagement_router)
api.add_router("/v1/", analytics_router)
api.add_router("/v1/", volunteers_router)
api.add_router("/v1/", webhooks_router)
api.add_router("/v1/", participation_router)
api.add_router("/v1/", mediation_router)
api.add_router("/v1/", services_router)
api.add_router("/v1/", migrants_router)
api.add_router("/v1/", insights_router)
