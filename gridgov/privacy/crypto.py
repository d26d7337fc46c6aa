"""Encryption at rest and keyed lookup hashes for personal data (PIPL Art. 51).

Values are sealed with AES-256-GCM under a key derived from settings.DATA_KEY, so the
database never holds a plaintext ID number or phone. Because each ciphertext has a
random nonce, equal values do not compare equal in SQL; exact lookups use a separate
HMAC-SHA256 "blind index" column instead.
"""

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "v1:"


@cache
def _keys(data_key: str) -> tuple[bytes, bytes]:
    seal = hashlib.sha256(b"gridgov-seal\x00" + data_key.encode()).digest()
    index = hashlib.sha256(b"gridgov-index\x00" + data_key.encode()).digest()
    return seal, index


# Per derived key, made once: a new AESGCM object (its key schedule) and a new HMAC (its padded
# key hashed twice) for every value cost about as much again as sealing or hashing it — the demo
# district seals and hashes some 400,000 ID numbers and phones. Keyed by the key bytes, so a
# changed settings.DATA_KEY (a test's) takes its own.
@cache
def _cipher(key: bytes) -> AESGCM:
    return AESGCM(key)


@cache
def _hasher(key: bytes):
    """An HMAC-SHA256 with the key absorbed; each hash continues a copy of it."""
    return hmac.new(key, digestmod=hashlib.sha256)


def seal(plaintext: str) -> str:
    key, _ = _keys(settings.DATA_KEY)
    nonce = os.urandom(12)
    box = _cipher(key).encrypt(nonce, plaintext.encode(), None)
    return PREFIX + base64.urlsafe_b64encode(nonce + box).decode()


def unseal(token: str) -> str:
    if not token.startswith(PREFIX):
        raise ValueError("not a gridgov ciphertext")
    key, _ = _keys(settings.DATA_KEY)
    raw = base64.urlsafe_b64decode(token[len(PREFIX):])
    return _cipher(key).decrypt(raw[:12], raw[12:], None).decode()


def lookup_hash(value: str) -> str:
    """Keyed hash of a normalised value, for exact-match search without plaintext."""
    _, key = _keys(settings.DATA_KEY)
    digest = _hasher(key).copy()
    digest.update(value.encode())
    return digest.hexdigest()
