"""The residents' login page (phone, then the texted code: accounts/otp.py holds the rules) and
staff's own password change (accounts/passwords.py holds those rules)."""

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from gridgov.accounts import otp
from gridgov.accounts.passwords import expired_message, password_expired


def _messages(exc) -> list[str]:
    return list(getattr(exc, "messages", [str(exc)]))


def resident_login(request):
    phone, sent, errors = request.POST.get("phone", ""), False, []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "login":
                sent = True
                user = otp.verify(phone, request.POST.get("code", ""))
                login(request, user, backend="gridgov.accounts.lockout.LockoutBackend")
                return redirect("resident-home")
            otp.request_code(phone, request.META.get("REMOTE_ADDR"))
            sent = True
        except (ValidationError, PermissionDenied) as exc:
            errors = _messages(exc)
    return render(request, "accounts/resident_login.html", {"phone": phone, "sent": sent, "errors": errors})


@login_required
def change_password(request):
    """Staff change their own password; the validators in settings say what a new one needs."""
    if not request.user.has_usable_password():
        return redirect("home")  # residents log in with a texted code
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        update_session_auth_hash(request, form.save())
        messages.success(request, _("Your password has been changed."))
        return redirect("home")
    return render(request, "accounts/password_change.html", {
        "form": form, "expired": password_expired(request.user) and expired_message()})
