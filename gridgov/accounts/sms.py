"""Text messages through a pluggable backend (settings.GRIDGOV_SMS_BACKEND).

`ConsoleBackend` (the default) writes the message to the log, masking the phone; a
deployment plugs in its operator's gateway with a class of the same shape. `MemoryBackend`
keeps messages in `outbox` for tests.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from gridgov.privacy.masking import mask_phone

logger = logging.getLogger("gridgov.sms")


class ConsoleBackend:
    def send(self, phone: str, text: str) -> None:
        # The code is shown on the console for a demo; the phone is masked like everywhere.
        logger.warning("SMS to %s: %s", mask_phone(phone), text)


class MemoryBackend:
    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        MemoryBackend.outbox.append((phone, text))


def send(phone: str, text: str) -> None:
    backend = import_string(getattr(settings, "GRIDGOV_SMS_BACKEND", "gridgov.accounts.sms.ConsoleBackend"))
    backend().send(phone, text)
