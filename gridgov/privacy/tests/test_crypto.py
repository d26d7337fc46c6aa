"""The sealing and hashing primitives: the cipher and the HMAC are made once per derived key,
and a changed settings.DATA_KEY takes its own."""

import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidTag

from gridgov.privacy import crypto


def test_a_sealed_value_opens_again_and_each_seal_is_different():
    first, second = crypto.seal("320505199001011234"), crypto.seal("320505199001011234")
    assert first.startswith(crypto.PREFIX) and first != second
    assert crypto.unseal(first) == crypto.unseal(second) == "320505199001011234"
    assert crypto.unseal(crypto.seal("张三")) == "张三"


def test_the_lookup_hash_is_hmac_sha256_under_the_index_key(settings):
    _seal_key, index_key = crypto._keys(settings.DATA_KEY)
    for value in ("13912345678", "320505199001011234", "张三", ""):
        expected = hmac.new(index_key, value.encode(), hashlib.sha256).hexdigest()
        assert crypto.lookup_hash(value) == expected
    # The shared HMAC is copied, never fed: hashing again gives the same digest.
    assert crypto.lookup_hash("13912345678") == crypto.lookup_hash("13912345678")


def test_another_data_key_seals_and_hashes_with_its_own_keys(settings):
    sealed, hashed = crypto.seal("13912345678"), crypto.lookup_hash("13912345678")
    settings.DATA_KEY = "another key"
    assert crypto.lookup_hash("13912345678") != hashed
    with pytest.raises(InvalidTag):
        crypto.unseal(sealed)
    other = crypto.seal("13912345678")
    assert crypto.unseal(other) == "13912345678"
    settings.DATA_KEY = "another key, again"
    with pytest.raises(InvalidTag):
        crypto.unseal(other)


def test_unseal_refuses_what_is_not_a_ciphertext():
    with pytest.raises(ValueError):
        crypto.unseal("13912345678")
