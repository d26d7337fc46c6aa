"""Residents log in with their phone and a one-time code (no password, no training).

Codes are 6 digits, valid 5 minutes, 5 tries each; a phone gets at most one code a minute
and 5 an hour, an address 20 an hour. Only keyed hashes of phones and codes are stored. A
phone seen for the first time becomes a resident account; its home grid comes from the
registry when the phone is a registered person's, or from where the resident says they
live (`residence`).
"""

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts import residence, sms
from gridgov.accounts.models import Assignment, OneTimeCode, Role, User
from gridgov.privacy.crypto import lookup_hash
from gridgov.privacy.masking import normalize_phone, validate_phone

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
PER_PHONE_GAP = timedelta(minutes=1)
PER_PHONE_HOUR = 5
PER_IP_HOUR = 20


def _phone(value: str) -> str:
    try:
        validate_phone(value)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages[0]}) from None
    return normalize_phone(value)


def _check_rate(phone_hash: str, ip: str | None, now) -> None:
    recent = OneTimeCode.objects.filter(phone_hash=phone_hash, created_at__gte=now - timedelta(hours=1))
    if recent.filter(created_at__gte=now - PER_PHONE_GAP).exists():
        raise PermissionDenied(_("A code was sent less than a minute ago: wait a moment."))
    if recent.count() >= PER_PHONE_HOUR:
        raise PermissionDenied(_("Too many codes for this phone: try again in an hour."))
    from_ip = OneTimeCode.objects.filter(ip_address=ip, created_at__gte=now - timedelta(hours=1))
    if ip and from_ip.count() >= PER_IP_HOUR:
        raise PermissionDenied(_("Too many codes from this network: try again later."))


def request_code(phone: str, ip: str | None = None) -> None:
    """Send a code to the phone (rate-limited)."""
    phone = _phone(phone)
    phone_hash, now = lookup_hash(phone), timezone.now()
    _check_rate(phone_hash, ip, now)
    code = f"{secrets.randbelow(10**6):06d}"
    OneTimeCode.objects.create(phone_hash=phone_hash, code_hash=lookup_hash(f"{phone}:{code}"),
                               ip_address=ip, expires_at=now + CODE_TTL)
    try:
        sms.send(phone, _("Your gridgov login code is %(code)s, valid for 5 minutes. Do not share it.")
                 % {"code": code})
    except sms.SmsError as exc:
        # The gateway refused or is down: say so on the phone field (a 400), never a 500. The code
        # row stays, so a refused number still counts against the rate limits.
        raise ValidationError({"phone": _("The code could not be texted to this number (%s). "
                                          "Try again later.") % exc.code}) from None


def verify(phone: str, code: str) -> User:
    """The resident for this phone, if the code is right; each code works once."""
    phone = _phone(phone)
    wrong = ValidationError({"code": _("The code is wrong or has expired: ask for a new one.")})
    # The failed try is counted in its own transaction, so raising the error cannot roll it back.
    with transaction.atomic():
        pending = (OneTimeCode.objects.select_for_update()
                   .filter(phone_hash=lookup_hash(phone), used_at=None, expires_at__gt=timezone.now())
                   .order_by("-created_at").first())
        if pending is None or pending.attempts >= MAX_ATTEMPTS:
            raise wrong
        right = secrets.compare_digest(pending.code_hash, lookup_hash(f"{phone}:{(code or '').strip()}"))
        if right:
            OneTimeCode.objects.filter(pk=pending.pk).update(used_at=timezone.now())
        else:
            OneTimeCode.objects.filter(pk=pending.pk).update(attempts=pending.attempts + 1)
    if not right:
        raise wrong
    return _resident(phone)


def _resident(phone: str) -> User:
    """The resident account of this phone, created on first login.

    A staff account with this phone is refused: a text message is not enough to open the
    registry (staff log in with their password, which the lockout protects)."""
    user = User.objects.filter(phone_hash=lookup_hash(phone), is_active=True).first()
    if user is None:
        user = User.objects.create_user(username=f"r{secrets.token_hex(6)}", phone=phone)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        Assignment.objects.create(user=user, role=Role.RESIDENT)
    elif user.is_staff or user.is_superuser or user.assignments.exclude(role=Role.RESIDENT).exists():
        raise PermissionDenied(_("Staff log in with their username and password."))
    residence.home_from_registry(user, lookup_hash(phone))
    return user
