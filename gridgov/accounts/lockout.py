"""Account lockout after repeated failed logins (等保 2.0 level 3: limit failed attempts).

Five failures within the lock window lock the username for that window (assessor
practice: 5 failures, 10–30 minutes). Every login path — the login page, the admin and
the API's token endpoint — goes through `django.contrib.auth.authenticate`, so the
`LockoutBackend` in front of the model backend covers them all; a success clears the
count. Failures are counted by username (not IP) because a grid office shares one
address.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import LoginFailure


def _max_failures() -> int:
    return getattr(settings, "GRIDGOV_LOGIN_MAX_FAILURES", 5)


def _window() -> timedelta:
    return timedelta(minutes=getattr(settings, "GRIDGOV_LOGIN_LOCK_MINUTES", 15))


def _key(username: str | None) -> str:
    return (username or "").strip().lower()[:150]


def locked_until(username: str | None):
    """When the lock on this username ends, or None when it is not locked."""
    since = timezone.now() - _window()
    failures = list(LoginFailure.objects.filter(username=_key(username), at__gte=since)
                    .order_by("-at").values_list("at", flat=True)[:_max_failures()])
    if len(failures) < _max_failures():
        return None
    return failures[0] + _window()


def lock_message(until) -> str:
    minutes = max(1, int((until - timezone.now()).total_seconds() // 60) + 1)
    message = _("Too many failed logins: this account is locked for %(minutes)d more minutes.")
    return message % {"minutes": minutes}


class LockoutBackend(ModelBackend):
    """The model backend, refusing a locked username before the password is checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        until = locked_until(username or kwargs.get("username"))
        if until is not None:
            raise PermissionDenied(lock_message(until))
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def _record_failure(sender, credentials, request=None, **kwargs):
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    LoginFailure.objects.create(username=_key(credentials.get("username")), ip_address=ip)


@receiver(user_logged_in)
def _clear_failures(sender, request, user, **kwargs):
    LoginFailure.objects.filter(username=_key(user.get_username())).delete()


class _SaysLocked:
    """A login form that says plainly when an account is locked instead of "wrong password"."""

    locked = False

    def clean(self):
        until = locked_until(self.data.get("username"))
        if until is not None:
            self.locked = True
            raise ValidationError(lock_message(until), code="locked")
        return super().clean()


class LockoutAuthenticationForm(_SaysLocked, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(_SaysLocked, AdminAuthenticationForm):
    pass
