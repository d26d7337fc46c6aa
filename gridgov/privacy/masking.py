"""Display masking for personal data (GB/T 35273-2020 §7.2: restrict what screens show)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gridgov.core.text import fold_code

_PHONE_PREFIX = re.compile(r"^(\+?0{0,2}86)")
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits: \d would also take '٣'


def normalize_phone(value: str) -> str:
    """Fold to ASCII, strip spaces, dashes and a +86/0086 prefix from a mainland mobile number."""
    digits = re.sub(r"[-()]", "", fold_code(value))
    if len(digits) > 11:
        digits = _PHONE_PREFIX.sub("", digits)
    return digits


def validate_phone(value: str) -> None:
    if not PHONE_RE.fullmatch(normalize_phone(value)):
        raise ValidationError(
            _("Enter an 11-digit mainland mobile number starting with 1, e.g. 13812345678."),
            code="invalid_phone",
        )


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    phone = normalize_phone(value)
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    if len(value) < 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


# An ID number (17 digits and a digit or X) or a mainland mobile inside free text, not inside a
# longer run of digits; fixed-line numbers with an area code too.
_ID_IN_TEXT = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{9}[0-9Xx](?![0-9])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9])")
_WIDE_DIGITS = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")
_LANDLINE_IN_TEXT = re.compile(r"(?<![0-9])0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(?![0-9])")


def mask_text(text: str | None) -> str:
    """Free text as the public may read it: ID numbers and phone numbers inside it masked."""
    if not text:
        return ""
    text = text.translate(_WIDE_DIGITS)  # full-width digits are digits too
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
    return _LANDLINE_IN_TEXT.sub(lambda m: m.group(0)[:4] + "****" + m.group(0)[-2:], text)
