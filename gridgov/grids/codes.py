"""Grid codes (standards.md §2): the code is the grid's path in the tree.

Level 1 is the 6-digit GB/T 2260 district code plus the 3-digit GB/T 10114 street or
township segment; each deeper level appends its own segment (3 digits by default), so a
child's code always starts with its parent's. The 15-digit code of GB/T 30428.1 is the
level-3 grid; micro-grids extend it. Because codes are prefixes, a subtree is
`code__startswith` and no tree library is needed (docs/decisions/0002).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# GB/T 2260 province codes in use (11 Beijing … 65 Xinjiang; 71/81/82 Taiwan, HK, Macao).
PROVINCE_CODES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
    "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
    "63", "64", "65", "71", "81", "82",
}  # fmt: skip


@dataclass(frozen=True)
class Level:
    number: int
    digits: int
    name: str
    code_length: int


def levels() -> list[Level]:
    result, length = [], 0
    for number, spec in enumerate(settings.GRIDGOV_GRID_LEVELS, start=1):
        length += spec["digits"]
        result.append(Level(number, spec["digits"], spec["name"], length))
    return result


def max_level() -> int:
    return len(settings.GRIDGOV_GRID_LEVELS)


def segment_digits(level: int) -> int:
    """Digits a grid of this level adds to its parent's code.

    Special-purpose grids may hang one level below the deepest configured level; they
    extend their parent's code by the deepest level's segment length.
    """
    specs = settings.GRIDGOV_GRID_LEVELS
    return specs[min(level, len(specs)) - 1]["digits"]


def code_length(level: int) -> int:
    return sum(segment_digits(n) for n in range(1, level + 1))


def code_lengths() -> dict[int, int]:
    """{level: code length} of every level, and of the one below the deepest where
    special-purpose grids may hang."""
    return {level: code_length(level) for level in range(1, max_level() + 2)}


def lineage(code: str, lengths: dict[int, int] | None = None) -> list[str]:
    """The codes of the grid's ancestors and its own, top first. Pass `lengths`
    (code_lengths()) when calling it for many codes."""
    lengths = lengths or code_lengths()
    return [code[:n] for n in lengths.values() if n < len(code)] + [code]


def level_for_code(code: str) -> int | None:
    """The level implied by a code's length, or None if no level has that length."""
    for level in range(1, max_level() + 2):
        if code_length(level) == len(code):
            return level
    return None


def parent_code(code: str) -> str | None:
    level = level_for_code(code)
    if level is None or level == 1:
        return None
    return code[: code_length(level - 1)]


def validate_code(code: str, *, level: int, parent: str | None) -> None:
    """Raise a ValidationError naming what is wrong with a grid code."""
    if not code.isdigit() or not code.isascii():
        raise ValidationError(
            _("Grid code %(code)s must contain digits only.") % {"code": code}, code="digits"
        )
    expected = code_length(level)
    if len(code) != expected:
        raise ValidationError(
            _("A level-%(level)d grid code has %(expected)d digits; %(code)s has %(actual)d.")
            % {"level": level, "expected": expected, "code": code, "actual": len(code)},
            code="length",
        )
    if parent and not code.startswith(parent):
        raise ValidationError(
            _("Grid code %(code)s must start with its parent's code %(parent)s.")
            % {"code": code, "parent": parent},
            code="prefix",
        )
    if level == 1:
        _validate_district_and_street(code)
    if int(code[-segment_digits(level):]) == 0:
        raise ValidationError(
            _("The last %(digits)d digits of %(code)s are the sequence number and cannot be 0.")
            % {"digits": segment_digits(level), "code": code},
            code="sequence",
        )


def _validate_district_and_street(code: str) -> None:
    province, county = code[:2], code[4:6]
    if province not in PROVINCE_CODES or county == "00":
        raise ValidationError(
            _("%(district)s is not a county-level GB/T 2260 code.") % {"district": code[:6]},
            code="district",
        )
    if len(code) >= 9 and not 1 <= int(code[6:9]) <= 599:
        raise ValidationError(
            _("Street segment %(street)s is outside GB/T 10114's ranges (001–599).")
            % {"street": code[6:9]},
            code="street",
        )
