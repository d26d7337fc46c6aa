"""The residents' login page: phone, then the texted code (accounts/otp.py holds the rules)."""

from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render

from gridgov.accounts import otp


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
