"""Model fields that keep personal data encrypted, with a lookup column beside them."""

from django.db import models

from gridgov.privacy import crypto


class EncryptedCharField(models.TextField):
    """Plaintext in Python, AES-GCM ciphertext in the database.

    It cannot be filtered on; pair it with a `LookupHashField` for exact matches.
    """

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.unseal(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.seal(value)


class LookupHashField(models.CharField):
    """HMAC of another field's normalised value, recomputed on every save."""

    def __init__(self, *args, source: str = "", normalizer=None, **kwargs):
        self.source = source
        self.normalizer = normalizer
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def digest(self, raw: str | None) -> str:
        if not raw:
            return ""
        return crypto.lookup_hash(self.normalizer(raw) if self.normalizer else raw)

    def pre_save(self, model_instance, add):
        value = self.digest(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
