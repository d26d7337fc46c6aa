"""Codes typed in any width fold to one ASCII form or are refused; never a crash, never a
second form of a stored code. Checked against python-stdnum, an independent implementation."""

import os
import random
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc
from stdnum.util import isdigits

from gridgov.core.text import fold_code
from gridgov.grids import codes as grid_codes
from gridgov.population import codes
from gridgov.privacy.masking import normalize_phone, validate_phone

TODAY = date(2026, 11, 23)
EARLIEST = date(1880, 1, 1)  # codes.parse_id_number refuses earlier birth dates as impossible
# The sample is the same in every run; another seed draws another (GRIDGOV_CODE_FORMS_SEED=…).
SEED = int(os.environ.get("GRIDGOV_CODE_FORMS_SEED", "11643"))
FULL_WIDTH = str.maketrans("0123456789Xx ", "０１２３４５６７８９Ｘｘ\u3000")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def test_full_width_and_spaced_forms_fold_to_the_ascii_number():
    number = "11010519491231002X"
    for typed in (number.translate(FULL_WIDTH), " 110105 19491231 002x ", "１１０１０５ 19491231002ｘ"):
        assert codes.parse_id_number(typed).number == number
    assert codes.normalize_id_number(number.translate(FULL_WIDTH)) == number


@pytest.mark.parametrize("table", [ARABIC_INDIC, SUPERSCRIPT])
def test_digits_of_other_scripts_are_refused_with_the_format_message(table):
    for typed in ("11010519491231002X".translate(table), "1101051949123100²X", "²"):
        with pytest.raises(ValidationError) as caught:
            codes.parse_id_number(typed)
        assert caught.value.code == "id_format"


def _mangle(rng: random.Random, value: str) -> str:
    """A number as people (and attackers) type it: widths, scripts, spaces, case, typos."""
    out = []
    for char in value:
        roll = rng.random()
        if roll < 0.08:
            char = char.translate(FULL_WIDTH)
        elif roll < 0.10:
            char = char.translate(ARABIC_INDIC if rng.random() < 0.5 else SUPERSCRIPT)
        elif roll < 0.12:
            char = rng.choice("0123456789")
        elif roll < 0.14:
            char = char.lower()
        out.append(char)
        if rng.random() < 0.03:
            out.append(rng.choice(" \u3000\t"))
    if rng.random() < 0.05:
        out.pop(rng.randrange(len(out)))
    return "".join(out)


def _stdnum_ric(value: str):
    """stdnum's ric.validate without its check of the place code (see below; on some
    mangled place codes that check itself raises KeyError)."""
    number = ric.compact(value)
    if len(number) != 18 or not isdigits(number[:-1]) or number[-1] != ric.calc_check_digit(number):
        return None
    try:
        ric.get_birth_date(number)
    except stdnum_errors.ValidationError:
        return None
    return number


def test_id_numbers_agree_with_stdnum_where_the_standard_allows():
    """Over 8,000 mangled numbers: ours never crashes and never keeps a non-ASCII form; where
    stdnum and we disagree, GB 11643 decides, and the differences are these:
    - stdnum folds full-width digits but not a full-width Ｘ, and keeps internal spaces'
      neighbours as typed; we fold every full-width character (the same number for a person);
    - stdnum also checks the address code against its own table of regions: GB 11643 keeps
      the code of the place of first issue, which later re-codings of GB/T 2260 remove, so a
      real number may carry a code no current table has; we do not check it;
    - stdnum accepts a birth date in the future or centuries ago (a typo turning 1927 into
      1427); we refuse both (no one is born tomorrow, and no one living before 1880)."""
    rng = random.Random(SEED)
    accepted = 0
    for _ in range(8000):
        born = f"{rng.randint(1900, 2026)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        body = f"110105{born}{rng.randint(0, 999):03d}"
        plain = body + codes.id_check_char(body)
        typed = _mangle(rng, plain)
        try:
            ours = codes.parse_id_number(typed, today=TODAY).number
        except ValidationError:
            ours = None
        if ours is not None:
            accepted += 1
            assert ours.isascii() and len(ours) == 18, typed
            assert _stdnum_ric(ours) == ours, typed
        theirs = _stdnum_ric(fold_code(typed))
        if theirs is not None and EARLIEST <= date(int(theirs[6:10]), int(theirs[10:12]),
                                                   int(theirs[12:14])) <= TODAY:
            assert ours == theirs, typed
    assert 2000 < accepted < 6000  # the mangling left many valid and broke many


def test_credit_codes_fold_and_agree_with_stdnum_where_the_standard_allows():
    """GB 32100: the first character is the registering authority (1–9, A–N, Y) and the
    second the kind of body, both from the code's alphabet; stdnum insists on digits in the
    first eight places, which refuses real codes such as N2… (other authorities). We also
    check the GB 11714 organisation code inside, which stdnum does not."""
    rng = random.Random(SEED)
    for _ in range(3000):
        org = f"{rng.randint(0, 99_999_999):08d}"
        first17 = f"91320505{org}{codes._org_code_check(org)}"
        plain = first17 + codes.credit_check_char(first17)
        typed = _mangle(rng, plain)
        try:
            codes.validate_credit_code(typed)
            ours, why = codes.normalize_credit_code(typed), ""
        except ValidationError as exc:
            ours, why = None, exc.code
        if ours is not None:
            assert ours.isascii() and len(ours) == 18, typed
            assert uscc.is_valid(ours), typed
        if uscc.is_valid(fold_code(typed)) and why != "credit_org_code":
            assert ours == uscc.compact(fold_code(typed)), typed
    first17 = "N2320505" + "12345678"
    first17 += codes._org_code_check(first17[8:16])
    other_authority = first17 + codes.credit_check_char(first17)
    codes.validate_credit_code(other_authority)
    assert not uscc.is_valid(other_authority)


def test_phones_fold_to_ascii_or_are_refused():
    assert normalize_phone("１３８ １２３４ ５６７８") == "13812345678"
    assert normalize_phone("＋８６－138-1234-5678") == "13812345678"
    validate_phone("１３８１２３４５６７８")
    for typed in ("13812345678".translate(ARABIC_INDIC), "1381234567²", "13812345678\n1"):
        with pytest.raises(ValidationError):
            validate_phone(typed)


def test_grid_codes_refuse_other_scripts():
    with pytest.raises(ValidationError):
        grid_codes.validate_code("320505003".translate(SUPERSCRIPT), level=1, parent=None)
