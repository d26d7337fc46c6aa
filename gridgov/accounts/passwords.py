"""Staff passwords under 等保 2.0 level 3 identification rules: length, character classes,
no reuse of recent passwords, and an age after which the password must be changed.

The numbers are settings (GRIDGOV_PASSWORD_*); residents log in with a texted code and have
no password, so none of this applies to them.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

CLASSES = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())


class CharacterClassesValidator:
    """At least `min_classes` of: lower-case letters, capitals, digits, other characters."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        found = sum(any(test(c) for c in password) for test in CLASSES)
        if found < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_classes")

    def get_help_text(self):
        return ngettext(
            "Use at least %(n)d kind of character: lower-case letters, capitals, digits, symbols.",
            "Use at least %(n)d kinds of character: lower-case letters, capitals, digits, symbols.",
            self.min_classes) % {"n": self.min_classes}


class HistoryValidator:
    """Not the current password nor one of the last `remember`; records each new one."""

    def __init__(self, remember: int = 5):
        self.remember = remember

    def validate(self, password, user=None):
        if user is None or not user.pk:
            return
        recent = [user.password] + list(
            user.password_history.order_by("-created_at").values_list("password", flat=True)[: self.remember])
        if any(old and check_password(password, old) for old in recent):
            raise ValidationError(self.get_help_text(), code="password_reused")

    def password_changed(self, password, user=None):
        # Django calls this from User.save() after set_password(): the hash is the new one.
        from gridgov.accounts.models import PasswordHistory, User

        if user is None or not user.pk or not user.has_usable_password():
            return
        PasswordHistory.objects.create(user=user, password=user.password)
        keep = user.password_history.order_by("-created_at").values_list("pk", flat=True)[: self.remember]
        user.password_history.exclude(pk__in=list(keep)).delete()
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(password_changed_at=now)
        user.password_changed_at = now

    def get_help_text(self):
        return ngettext("Do not reuse your current password or the last one.",
                        "Do not reuse your current password or the last %(n)d.",
                        self.remember) % {"n": self.remember}


def password_expired(user) -> bool:
    """Staff whose password is older than GRIDGOV_PASSWORD_MAX_AGE_DAYS (0: never expires)."""
    days = settings.GRIDGOV_PASSWORD_MAX_AGE_DAYS
    if not days or not user.is_authenticated or not user.has_usable_password():
        return False
    changed = user.password_changed_at or user.date_joined
    return timezone.now() - changed > timedelta(days=days)


def expired_message() -> str:
    return _("Your password is more than %(days)d days old: choose a new one.") % {
        "days": settings.GRIDGOV_PASSWORD_MAX_AGE_DAYS}


class PasswordExpiry:
    """A member of staff whose password has expired reaches only the page to change it (and
    logging out) until they do; the API answers 403 with the same message."""

    OPEN_PATHS = ("/account/password/", "/logout/", "/static/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and not request.path.startswith(self.OPEN_PATHS) and password_expired(user):
            from django.http import JsonResponse
            from django.shortcuts import redirect

            if request.path.startswith("/api/"):
                return JsonResponse({"detail": expired_message()}, status=403)
            return redirect("password-change")
        return self.get_response(request)
