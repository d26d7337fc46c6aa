"""Masking inside free text: what the public may read of a description or a result."""

import pytest

from gridgov.privacy.masking import mask_text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("业主身份证330621199001011234要求处理", "业主身份证330621********1234要求处理"),
        ("身份证33062119900101123X", "身份证330621********123X"),
        ("电话13812345678", "电话138****5678"),
        ("电话 138 1234 5678，请回电", "电话 138****5678，请回电"),
        ("电话+86 13812345678", "电话138****5678"),
        ("全角１３８１２３４５６７８", "全角138****5678"),
        ("座机0575-87654321", "座机0575****21"),
        ("门牌12号3幢201室", "门牌12号3幢201室"),  # addresses are not numbers to hide
        ("订单号123456789012345678901", "订单号123456789012345678901"),  # inside a longer run
        ("", ""),
    ],
)
def test_id_numbers_and_phones_are_masked_in_text(text, shown):
    assert mask_text(text) == shown
