"""The Alibaba Cloud SMS adapter: the RPC signature against Alibaba's documented examples, and
whole requests against a fake SendSms endpoint on 127.0.0.1 that checks them as Alibaba does."""

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from gridgov.accounts import sms

KEY_ID, SECRET = "LTAI5tTestKeyId", "test-secret-of-the-fake-account"


def documented_signature(params: dict[str, str], secret: str) -> str:
    """Alibaba's algorithm written out again, apart from the adapter's code: sort the parameters,
    percent-encode names and values (RFC 3986, ~ left alone), StringToSign = "GET&%2F&" +
    encode(canonical query), HMAC-SHA1 keyed with secret + "&", base64."""

    def encode(value: str) -> str:
        return quote(value, safe="-_.~")

    canonical = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = "GET&%2F&" + encode(canonical)
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class FakeAliyun:
    """dysmsapi's SendSms on 127.0.0.1 (a thread): refuses a wrong key, signature, replayed nonce or
    stale timestamp the way Alibaba does, and answers each phone as `answers` says (default OK)."""

    def __init__(self, answers: dict[str, tuple[int, dict]] | None = None):
        self.answers = answers or {}
        self.requests: list[dict[str, str]] = []
        self.nonces: set[str] = set()

    def __enter__(self) -> "FakeAliyun":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = fake.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str) -> tuple[int, dict]:
        pairs = [part.split("=", 1) for part in urlsplit(path).query.split("&") if part]
        params = {unquote(k): unquote(v) for k, v in pairs}
        self.requests.append(params)
        request_id = f"req-{len(self.requests)}"

        def error(status: int, code: str) -> tuple[int, dict]:
            return status, {"Code": code, "Message": code, "RequestId": request_id}

        if params.get("AccessKeyId") != KEY_ID:
            return error(404, "InvalidAccessKeyId.NotFound")
        if params.get("Signature") != documented_signature(params, SECRET):
            return error(400, "SignatureDoesNotMatch")
        if params["SignatureNonce"] in self.nonces:
            return error(400, "SignatureNonceUsed")
        self.nonces.add(params["SignatureNonce"])
        sent_at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - sent_at) > timedelta(minutes=15):
            return error(400, "InvalidTimeStamp.Expired")
        fixed = {"Action": "SendSms", "Version": "2017-05-25", "SignatureMethod": "HMAC-SHA1",
                 "SignatureVersion": "1.0", "Format": "JSON"}
        if any(params.get(k) != v for k, v in fixed.items()):
            return error(400, "MissingParameter")
        json.loads(params["TemplateParam"])
        return self.answers.get(params["PhoneNumbers"]) or (
            200, {"Code": "OK", "Message": "OK", "BizId": f"9006197469364984{len(self.requests):02d}^0",
                  "RequestId": request_id})


@pytest.fixture
def aliyun(settings):
    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.AliyunBackend"
    settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID = KEY_ID
    settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_SECRET = SECRET
    settings.GRIDGOV_SMS_ALIYUN_SIGN_NAME = "枫桥街道"
    settings.GRIDGOV_SMS_ALIYUN_TEMPLATE_CODE = "SMS_123456789"
    with FakeAliyun() as fake:
        settings.GRIDGOV_SMS_ALIYUN_ENDPOINT = fake.url
        yield fake


# Alibaba's SendSms signature example (help.aliyun.com, dysmsapi "签名机制"), key testId / testSecret.
SMS_EXAMPLE = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
    "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}
SMS_EXAMPLE_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers"
    "%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA"
    "%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8"
    "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466"
    "%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer"
    "%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)


def test_the_signature_is_alibabas_documented_one():
    assert sms.string_to_sign(SMS_EXAMPLE) == SMS_EXAMPLE_STRING_TO_SIGN
    assert sms.aliyun_signature(SMS_EXAMPLE, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert sms.aliyun_signature({**SMS_EXAMPLE, "Signature": "ignored"}, "testSecret") == (
        "zJDF+Lrzhj/ThnlvIToysFRq6t4=")
    # The RPC signature page's example (ECS DescribeRegions, key testid / testsecret).
    describe_regions = {
        "AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26",
    }
    assert sms.aliyun_signature(describe_regions, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_percent_encoding_follows_rfc_3986():
    assert sms.percent_encode("a b*c~d-e_f.g") == "a%20b%2Ac~d-e_f.g"
    assert sms.percent_encode("/=&+:") == "%2F%3D%26%2B%3A"
    assert sms.percent_encode("派") == "%E6%B4%BE"


def test_a_text_goes_through_signed_with_the_template_and_the_signature(aliyun):
    assert sms.send("+86 136-0000-0001", "枫桥街道通知：停水 详询：0512-65251234") == "900619746936498401^0"
    request = aliyun.requests[-1]
    assert request["PhoneNumbers"] == "13600000001"  # the mainland number, as Alibaba expects it
    assert request["SignName"] == "枫桥街道" and request["TemplateCode"] == "SMS_123456789"
    assert json.loads(request["TemplateParam"]) == {"content": "枫桥街道通知：停水 详询：0512-65251234"}
    sms.send("13600000001", "again")  # a new nonce each time: no replay refusal
    assert len(aliyun.nonces) == 2


def test_alibabas_error_codes_become_sms_errors(aliyun):
    aliyun.answers = {
        "13600000002": (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发小时级流控Permits:5"}),
        "13600000003": (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}),
        "13600000004": (500, {"Code": "ServiceUnavailable"}),
    }
    with pytest.raises(sms.SmsError) as throttled:
        sms.send("13600000002", "通知")
    assert (throttled.value.code, throttled.value.retryable) == ("isv.BUSINESS_LIMIT_CONTROL", True)
    with pytest.raises(sms.SmsError) as illegal:
        sms.send("13600000003", "通知")
    assert (illegal.value.code, illegal.value.retryable) == ("isv.MOBILE_NUMBER_ILLEGAL", False)
    with pytest.raises(sms.SmsError) as unavailable:
        sms.send("13600000004", "通知")
    assert (unavailable.value.code, unavailable.value.retryable) == ("ServiceUnavailable", True)


def test_a_wrong_secret_is_refused_by_the_signature_check(aliyun, settings):
    settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    with pytest.raises(sms.SmsError) as refused:
        sms.send("13600000001", "通知")
    assert refused.value.code == "SignatureDoesNotMatch"
    settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID = "LTAI-unknown"
    with pytest.raises(sms.SmsError) as unknown:
        sms.send("13600000001", "通知")
    assert unknown.value.code == "InvalidAccessKeyId.NotFound"


def test_an_unreachable_gateway_is_a_retryable_error_without_the_phone(settings, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.AliyunBackend"
    settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID, settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_SECRET = KEY_ID, SECRET
    settings.GRIDGOV_SMS_ALIYUN_SIGN_NAME, settings.GRIDGOV_SMS_ALIYUN_TEMPLATE_CODE = "枫桥街道", "SMS_1"
    settings.GRIDGOV_SMS_ALIYUN_ENDPOINT = f"http://127.0.0.1:{port}/"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(sms.SmsError) as down:
        sms.send("13600000001", "通知")
    assert down.value.code.startswith("network:") and down.value.retryable
    assert "13600000001" not in repr(down.value) and down.value.__cause__ is None
    assert not any("13600000001" in r.getMessage() for r in caplog.records)


def test_missing_settings_are_named(settings):
    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.AliyunBackend"
    settings.GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID = ""
    with pytest.raises(ImproperlyConfigured, match="GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID"):
        sms.send("13600000001", "通知")


def test_the_console_and_memory_backends_keep_their_shape(settings, sms_outbox, caplog):
    assert sms.send("13600000001", "验证码 123456").startswith("memory-")
    assert sms_outbox[-1] == ("13600000001", "验证码 123456")
    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.ConsoleBackend"
    caplog.set_level(logging.WARNING, logger="gridgov.sms")
    assert sms.send("13600000001", "验证码 123456") == ""
    assert "136****0001" in caplog.text and "13600000001" not in caplog.text
