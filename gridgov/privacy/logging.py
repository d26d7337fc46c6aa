"""A logging filter that keeps phone and ID numbers out of application logs."""

import logging
import re

_ID_NUMBER = re.compile(r"(?<!\d)\d{6}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![\dXx])")
_PHONE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")


def redact(text: str) -> str:
    return _PHONE.sub("[phone]", _ID_NUMBER.sub("[id-number]", text))


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
