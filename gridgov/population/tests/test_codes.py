"""GB 11643 ID numbers and GB 32100 credit codes, against known-good and broken values."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from gridgov.population import codes
from gridgov.population.testing import credit_code, id_number

VALID_IDS = ["11010519491231002X", "360426199101010071", "11010519491231002x", " 110105 19491231002X "]
INVALID_IDS = {
    "110105194912310021": "id_check",  # wrong check character
    "11010519491331002X": "id_birth_date",  # month 13
    "11010519490230002X": "id_birth_date",  # 30 February
    "11010521491231002X": "id_birth_date",  # born in 2149
    "1101051949123100": "id_format",  # too short
    "11010519491231002Y": "id_format",  # Y is not a check character
    "A1010519491231002X": "id_format",
}


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_id_numbers(value):
    info = codes.parse_id_number(value)
    assert info.number == value.strip().replace(" ", "").upper()


def test_birth_date_and_sex_come_from_the_number():
    woman = codes.parse_id_number("11010519491231002X")
    assert (woman.birth_date, woman.sex) == (date(1949, 12, 31), "2")
    assert codes.parse_id_number("360426199101010071").sex == "1"


@pytest.mark.parametrize(("value", "code"), INVALID_IDS.items())
def test_invalid_id_numbers_say_why(value, code):
    with pytest.raises(ValidationError) as caught:
        codes.parse_id_number(value, today=date(2026, 11, 23))
    assert caught.value.code == code


def test_legacy_15_digit_numbers_are_lifted_to_18():
    assert codes.normalize_id_number("110105491231002") == "11010519491231002X"
    assert codes.parse_id_number("110105491231002").birth_date == date(1949, 12, 31)


def test_every_generated_number_validates():
    for _ in range(300):
        codes.parse_id_number(id_number())


def test_credit_codes():
    codes.validate_credit_code("91110000600037341L")
    codes.validate_credit_code("91110000600037341l")
    for _ in range(100):
        codes.validate_credit_code(credit_code())
    for bad, code in [
        ("91110000600037341A", "credit_check"),
        ("9111000060003734", "credit_format"),
        ("91110000600037341I", "credit_format"),
        ("91ABCDEF600037341L", "credit_division"),
    ]:
        with pytest.raises(ValidationError) as caught:
            codes.validate_credit_code(bad)
        assert caught.value.code == code, bad


def test_a_credit_code_with_a_broken_organisation_code_inside_is_refused():
    first17 = "91110000600037342"  # organisation code 60003734-2: its check should be 1
    with pytest.raises(ValidationError) as caught:
        codes.validate_credit_code(first17 + codes.credit_check_char(first17))
    assert caught.value.code == "credit_org_code"


def test_code_tables_take_codes_or_labels():
    assert codes.code_for("ethnicity", "汉族") == "01"
    assert codes.code_for("ethnicity", "1") == "01"
    assert codes.code_for("ethnicity", "56") == "56"
    assert codes.code_for("relation", "户主") == "02"
    assert codes.code_for("political_status", "中共党员") == "01"
    assert codes.code_for("education", "大学本科毕业") == "21"
    assert codes.code_for("marital_status", "已婚") == "20"
    assert codes.code_for("ethnicity", "火星族") == ""
    assert len(codes.ETHNICITY) == 58
