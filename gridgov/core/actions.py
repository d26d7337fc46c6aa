"""Page forms that call a service: its answer becomes a success message, a refusal an error
message on the page it came from, and the browser goes back there (never off the site)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from ninja.errors import HttpError


def refusal(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You do not have permission to do this.")


def form_action(home: str):
    """Decorate a view returning (message, where to go); `home` names the page to fall back to.
    A refusal goes back to the form's `next` field, where the form was; a workflow's step out of
    turn (a 409 in the API) is refused the same way."""

    def decorate(view):
        from gridgov.cases.workflow import IllegalTransition  # cases' pages use this module too

        @wraps(view)
        @login_required
        @require_POST
        def wrapped(request, *args, **kwargs):
            back = None
            try:
                done, back = view(request, *args, **kwargs)
                messages.success(request, done)
            except (ValidationError, PermissionDenied, Http404, HttpError, IllegalTransition) as exc:
                messages.error(request, refusal(exc))
                back = request.POST.get("next") or back
            if not back or not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
                back = reverse(home)
            return redirect(back)

        return wrapped

    return decorate


def local_datetime(value):
    """A form's datetime-local value as an aware datetime in the platform's zone (None if absent
    or malformed: the service then names the field)."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    parsed = parse_datetime(value or "")
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
