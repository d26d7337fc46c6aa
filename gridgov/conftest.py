import pytest
from django.test import Client
from django.utils import translation

from gridgov.core.testing import PASSWORD, make_district


@pytest.fixture(autouse=True)
def _chinese_by_default(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    settings.GRIDGOV_LOCATOR_CHECK_SECONDS = 0
    settings.GRIDGOV_CALENDAR_CHECK_SECONDS = 0
    with translation.override("zh-hans"):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users made by tests get a cheap password hash: the real hasher's cost is the point in
    production and most of the suite's time in tests. The real one stays second, to check
    the hashes the demo builder makes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _jobs_run_at_once():
    """Background jobs run in the calling thread: a test sees their effect, and nothing is
    left queued in a storage file for a consumer that never comes."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield


@pytest.fixture
def district(db):
    return make_district()


@pytest.fixture
def client_for():
    """An HTTP client logged in as the given user."""

    def make(user, language: str = "zh-hans"):
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def sms_outbox(settings):
    """Texts go to a list instead of the console: the codes a test needs to read."""
    from gridgov.accounts.sms import MemoryBackend

    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.MemoryBackend"
    MemoryBackend.outbox.clear()
    return MemoryBackend.outbox


# --- browser tests ----------------------------------------------------------------------
# Playwright drives Debian's Chromium (never a downloaded browser). Screenshots go to
# test-artifacts/ (ignored by git).

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "test-artifacts"


def _serialized_contents() -> dict:
    from django.db import connections

    return {alias: getattr(connections[alias], "_test_serialized_contents", None) for alias in connections}


@pytest.fixture(scope="session")
def chromium(django_db_setup):
    import os

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: ./dev.sh test installs it")
        pytest.skip("no /usr/bin/chromium; run ./dev.sh test to install it")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
    # test body are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    serialized = _serialized_contents()
    with sync_playwright() as playwright:
        # With that loop running, Django hands this thread new connection objects, which lack
        # the snapshot `serialized_rollback` restores after each transactional test: give
        # them the snapshot taken when the test database was made.
        from django.db import connections

        for alias, contents in serialized.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda msg: print(f"[browser {msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: print(f"[browser error] {exc}"))
    page.on("response", lambda r: r.status >= 400 and print(f"[browser http {r.status}] {r.url}"))
    yield page
    context.close()


GPS = {"latitude": 31.305, "longitude": 120.505}  # inside community 1, grid 2 of the test district


@pytest.fixture
def browser_for(chromium, live_server):
    """A logged-in browser tab per person, on a phone-sized screen for the mobile roles."""
    contexts = []

    def open_as(user, phone: bool = False, lands_on: str = "/"):
        """`lands_on`: where the home page sends this user (employers and dormitory managers go on)."""
        size = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
        context = chromium.new_context(locale="zh-CN", viewport=size, geolocation=GPS,
                                       permissions=["geolocation"], service_workers="allow")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: print(f"[browser error] {exc}"))
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名").fill(user.username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}{lands_on}")
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def resident_browser(chromium, live_server, sms_outbox):
    """A phone-sized tab per resident, logged in as residents do: phone number and texted code."""
    import re

    contexts = []

    def open_as(phone_number: str):
        context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                       geolocation=GPS, permissions=["geolocation"])
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: print(f"[browser error] {exc}"))
        page.goto(f"{live_server.url}/resident/login/")
        page.get_by_label("手机号").fill(phone_number)
        page.get_by_role("button", name="获取验证码").click()
        page.get_by_label("验证码").fill(re.search(r"\d{6}", sms_outbox[-1][1]).group())
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}/resident/")
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(page):
    def take(name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take
