import logging

import pytest
from django.db import connection

from gridgov.accounts.models import User
from gridgov.privacy import masking
from gridgov.privacy.fields import LookupHashField
from gridgov.privacy.logging import RedactPersonalData, redact

pytestmark = pytest.mark.django_db


def test_the_database_holds_no_plaintext_phone():
    user = User.objects.create_user("li", password="x" * 10, phone="+86 139-1234-5678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_hash FROM accounts_user WHERE id = %s", [user.pk])
        stored, digest = cursor.fetchone()
    assert "13912345678" not in stored and stored.startswith("v1:")
    assert User.objects.get(pk=user.pk).phone == "13912345678"
    assert len(digest) == 64 and "13912345678" not in digest


def test_exact_lookup_by_keyed_hash_without_plaintext():
    User.objects.create_user("li", password="x" * 10, phone="13912345678")
    User.objects.create_user("wang", password="x" * 10, phone="13800000000")
    field = User._meta.get_field("phone_hash")
    assert isinstance(field, LookupHashField)
    found = User.objects.filter(phone_hash=field.digest("139 1234 5678"))
    assert [u.username for u in found] == ["li"]


def test_equal_phones_get_different_ciphertexts():
    a = User.objects.create_user("a", password="x" * 10, phone="13912345678")
    b = User.objects.create_user("b", password="x" * 10, phone="13912345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE id IN (%s, %s)", [a.pk, b.pk])
        first, second = (row[0] for row in cursor.fetchall())
    assert first != second


@pytest.mark.parametrize("raw,masked", [
    ("13812345678", "138****5678"), ("+8613812345678", "138****5678"), ("", "")])
def test_phone_masking(raw, masked):
    assert masking.mask_phone(raw) == masked


def test_id_number_and_name_masking():
    assert masking.mask_id_number("11010519491231002X") == "110105********002X"
    assert masking.mask_name("王小明") == "王*明"
    assert masking.mask_name("王明") == "王*"


@pytest.mark.parametrize("value,ok", [
    ("13812345678", True), ("+86 138 1234 5678", True), ("12812345678", False),
    ("1381234567", False), ("010-12345678", False)])
def test_phone_validation(value, ok):
    from django.core.exceptions import ValidationError

    if ok:
        masking.validate_phone(value)
    else:
        with pytest.raises(ValidationError):
            masking.validate_phone(value)


def test_logs_never_carry_phone_or_id_numbers():
    text = "caller 13812345678 with id 11010519491231002X asked"
    assert redact(text) == "caller [phone] with id [id-number] asked"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "phone %s", ("13812345678",), None)
    RedactPersonalData().filter(record)
    assert record.getMessage() == "phone [phone]"
