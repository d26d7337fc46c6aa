import pytest
from django.core.exceptions import ValidationError

from gridgov.grids import codes


@pytest.mark.parametrize("code,level,parent", [
    ("320505003", 1, None),
    ("320505003001", 2, "320505003"),
    ("320505003001001", 3, "320505003001"),
    ("320505003001001002", 4, "320505003001001"),
    ("110101001", 1, None),
    ("330703101", 1, None),  # a town (镇): 100–199
])
def test_valid_codes(code, level, parent):
    codes.validate_code(code, level=level, parent=parent)


@pytest.mark.parametrize("code,level,parent,fragment", [
    ("32050500300", 2, "320505003", "12"),            # wrong length for level 2
    ("320505004001", 2, "320505003", "320505003"),    # does not start with the parent
    ("99050500300", 1, None, "位"),                   # 11 digits at level 1
    ("990505003", 1, None, "990505"),                 # no such province
    ("320500003", 1, None, "320500"),                 # a prefecture, not a county
    ("320505700", 1, None, "700"),                    # street segment beyond GB/T 10114
    ("320505003000", 2, "320505003", "0"),            # sequence 000
    ("32050500300A", 2, "320505003", "数字"),          # not digits
])
def test_invalid_codes_say_what_is_wrong(code, level, parent, fragment):
    with pytest.raises(ValidationError) as caught:
        codes.validate_code(code, level=level, parent=parent)
    assert fragment in caught.value.messages[0]


def test_parent_code_and_level_follow_the_configured_segments():
    assert codes.level_for_code("320505003001001") == 3
    assert codes.parent_code("320505003001001") == "320505003001"
    assert codes.parent_code("320505003") is None
    assert codes.level_for_code("3205050030") is None


def test_a_codes_lineage_is_its_ancestors_and_itself_top_first():
    assert codes.lineage("320505003001001") == ["320505003", "320505003001", "320505003001001"]
    assert codes.lineage("320505003") == ["320505003"]
    # a special-purpose grid one level below the deepest
    assert codes.lineage("320505003001001001001")[-2:] == ["320505003001001001", "320505003001001001001"]


def test_depth_is_configurable(settings):
    settings.GRIDGOV_GRID_LEVELS = [{"digits": 9, "name": "street"}, {"digits": 3, "name": "community"},
                                    {"digits": 2, "name": "grid"}]
    assert codes.max_level() == 3
    assert codes.level_for_code("32050500300101") == 3  # the 14-digit CJ/T 213 legacy code
