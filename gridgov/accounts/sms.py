"""Text messages through a pluggable backend (settings.GRIDGOV_SMS_BACKEND).

`ConsoleBackend` (the default) writes the message to the log, masking the phone; a
deployment plugs in its operator's gateway with a class of the same shape. `MemoryBackend`
keeps messages in `outbox` for tests. `AliyunBackend` sends through Alibaba Cloud SMS.

The contract of a backend's `send(phone, text)`: it returns the gateway's message id ("" when
the gateway gives none) once the gateway has taken the message, and raises `SmsError` when it
has not. The error carries the gateway's short code, never the phone or the text, so callers
may store and log it.
"""

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from gridgov.privacy.masking import mask_phone, normalize_phone

logger = logging.getLogger("gridgov.sms")


class SmsError(Exception):
    """The gateway did not take the message. `retryable` is False when sending the same message
    again cannot help (the operator refuses the number, the text is too long)."""

    def __init__(self, code: str, retryable: bool = True):
        super().__init__(code)
        self.code = (code or "unknown")[:64]
        self.retryable = retryable


class ConsoleBackend:
    def send(self, phone: str, text: str) -> str:
        # The code is shown on the console for a demo; the phone is masked like everywhere.
        logger.warning("SMS to %s: %s", mask_phone(phone), text)
        return ""


class MemoryBackend:
    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> str:
        MemoryBackend.outbox.append((phone, text))
        return f"memory-{len(MemoryBackend.outbox)}"


# --- Alibaba Cloud SMS (dysmsapi 2017-05-25 SendSms, RPC style, signature version 1.0) ---------


def percent_encode(value: str) -> str:
    """RFC 3986 as Alibaba Cloud signs it: letters, digits and -_.~ stay, everything else is
    %XY of its UTF-8 bytes (a space is %20, never +; * is %2A; / is %2F)."""
    return urllib.parse.quote(str(value), safe="~")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(params: dict[str, str], method: str = "GET") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """Base64(HMAC-SHA1(secret + "&", StringToSign)) over every parameter but Signature."""
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(unsigned, method).encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


class AliyunBackend:
    """Alibaba Cloud SMS, configured by the GRIDGOV_SMS_ALIYUN_* settings.

    Alibaba sends only approved templates: register one with a single variable `${content}`
    (e.g. "社区通知：${content}") under the signature GRIDGOV_SMS_ALIYUN_SIGN_NAME; the text
    goes in that variable. Every SendSms is one GET with the signed query (standard library
    only). Codes that sending again cannot fix are not retried.
    """

    ACTION, VERSION, REGION = "SendSms", "2017-05-25", "cn-hangzhou"
    TEMPLATE_VARIABLE = "content"
    PERMANENT_CODES = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.PARAM_LENGTH_LIMIT", "isv.MOBILE_COUNT_OVER_LIMIT"}
    TIMEOUT_SECONDS = 10

    def __init__(self):
        def setting(name: str) -> str:
            value = getattr(settings, f"GRIDGOV_SMS_ALIYUN_{name}", "")
            if not value:
                raise ImproperlyConfigured(f"GRIDGOV_SMS_ALIYUN_{name} is not set.")
            return value

        self.access_key_id = setting("ACCESS_KEY_ID")
        self.access_key_secret = setting("ACCESS_KEY_SECRET")
        self.sign_name = setting("SIGN_NAME")
        self.template_code = setting("TEMPLATE_CODE")
        self.endpoint = getattr(settings, "GRIDGOV_SMS_ALIYUN_ENDPOINT", "") or "https://dysmsapi.aliyuncs.com/"

    def signed_params(self, phone: str, text: str) -> dict[str, str]:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": self.ACTION,
            "Format": "JSON",
            "PhoneNumbers": normalize_phone(phone),
            "RegionId": self.REGION,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,  # a new one per request: Alibaba refuses replays
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({self.TEMPLATE_VARIABLE: text}, ensure_ascii=False),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.VERSION,
        }
        params["Signature"] = aliyun_signature(params, self.access_key_secret)
        return params

    def send(self, phone: str, text: str) -> str:
        url = f"{self.endpoint}?{canonical_query(self.signed_params(phone, text))}"
        try:
            with urllib.request.urlopen(url, timeout=self.TIMEOUT_SECONDS) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:  # Alibaba answers its errors with a 4xx/5xx and a JSON body
            body = exc.read()
            if exc.code >= 500:
                raise SmsError(self._code(body) or f"http_{exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            # The exception's text may hold the URL, and with it the phone: only its kind is kept.
            raise SmsError(f"network:{type(exc).__name__}") from None
        code = self._code(body)
        if code == "OK":
            return str(json.loads(body).get("BizId", ""))[:64]
        raise SmsError(code or "bad_response", retryable=code not in self.PERMANENT_CODES)

    @staticmethod
    def _code(body: bytes) -> str:
        try:
            answer = json.loads(body)
        except ValueError:
            return ""
        return str(answer.get("Code", "")) if isinstance(answer, dict) else ""


def backend():
    return import_string(getattr(settings, "GRIDGOV_SMS_BACKEND", "gridgov.accounts.sms.ConsoleBackend"))()


def send(phone: str, text: str) -> str:
    """Send one text: the gateway's message id, or SmsError (see the module's docstring)."""
    return backend().send(phone, text) or ""
