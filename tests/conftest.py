"""Shared fixtures: the personas who use the studio, and a live simulator of the voice service."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from clones.simulator import RunningSimulator, SimulatorConfig, SimulatorState, serve_in_thread
from tests.s3 import moto_server, s3_storage  # noqa: F401 - fixtures: moto's S3 server, an S3 default storage

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that thread are still
# plain synchronous calls, so the async-safety guard would only get in the way.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"


DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences", "live_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL (`make test`'s second pass), keep only the tests that use the database.

    The rest (the simulator, the client against stubs, the form, the catalogue, the deployment files) cannot
    behave differently on another database, and running them twice only costs time. The Makefile also leaves
    out the browser and slow tests there. No list to keep up: a test that asks for the database is in.
    """
    if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return
    kept, dropped = [], []
    for item in items:
        uses_database = item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(
            getattr(item, "fixturenames", ())
        )
        (kept if uses_database else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def english_before_and_after_each_test() -> Iterator[None]:
    """Every test starts in the default language and leaves it so.

    A request in Chinese leaves Chinese active in the test's thread (LocaleMiddleware activates the reader's
    language and nothing deactivates it after the response), so the next test would read Chinese messages.
    """
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Archived previews of each test go to a folder of their own, never into ./data."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user("mei", password=PASSWORD, email="mei@example.com")


@pytest.fixture
def other_staff_user(db):
    return get_user_model().objects.create_user("tom", password=PASSWORD, email="tom@example.com")


@pytest.fixture
def staff_client(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def other_staff_client(other_staff_user) -> Client:
    client = Client()
    client.force_login(other_staff_user)
    return client


@pytest.fixture
def administrator(db):
    """An administrator (is_staff): may archive and restore anyone's tasks."""
    return get_user_model().objects.create_user(
        "ada", password=PASSWORD, email="ada@example.com", is_staff=True
    )


@pytest.fixture
def administrator_client(administrator) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


@pytest.fixture
def anonymous_client(db) -> Client:
    return Client()


@pytest.fixture
def simulator(settings) -> Iterator[RunningSimulator]:
    """The bundled simulator on a loopback port, with timings fast enough for tests; the app talks to it."""
    state = SimulatorState(SimulatorConfig(api_key="test-key", queued_seconds=0.3, processing_seconds=0.7))
    running = serve_in_thread(state)
    settings.SOUNDCLONE_BASE_URL = running.base_url
    settings.SOUNDCLONE_API_KEY = "test-key"
    settings.SOUNDCLONE_CONNECT_TIMEOUT = 2.0
    settings.SOUNDCLONE_CREATE_TIMEOUT = 2.0
    settings.SOUNDCLONE_QUERY_TIMEOUT = 2.0
    # The simulator runs on loopback, which the preview copy refuses unless told otherwise.
    settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = [f"127.0.0.1:{running.port}"]
    yield running
    running.stop()


class SimulatorClock:
    """The simulator's injectable clock, moved by hand: no test waits for a task to progress."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def hosted(settings, live_server, simulator):
    """The studio serves clips to the simulator itself, at the live server's address (as in demo mode)."""
    settings.PUBLIC_BASE_URL = live_server.url
    # The simulator downloads and measures the clip before it answers, as the service does: give it time.
    settings.SOUNDCLONE_CREATE_TIMEOUT = 10.0
    return live_server


@pytest.fixture
def sim_clock(simulator) -> SimulatorClock:
    """The running simulator's clock, stopped until a test moves it."""
    clock = SimulatorClock()
    simulator.state.config.clock = clock
    return clock


@pytest.fixture
def form_data():
    """What a staff member types into the form, all of it valid; keyword arguments change fields."""
    return _form_data


def _form_data(**overrides) -> dict:
    data = {
        "name": "Narrator, Li Wei, calm",
        "file_url": "https://media.example.com/clips/li-wei.mp3",
        "content_text": "Hello, this is my cloned voice.",
        "sound_version": "v1",
        "language": "English",
        "notes": "",
        "consent": "on",
        "form_token": str(uuid.uuid4()),
        # The link is to a host that tests cannot reach: sent as before, without the studio's check. Tests of
        # the check (tests/test_clips.py) leave this out.
        "send_unchecked": "on",
    }
    data.update(overrides)
    return data


# --- Browsers: Debian's Chromium through Playwright, shared by every browser test file ----------------------

CHROMIUM = "/usr/bin/chromium"
# Chromium's background services would try to reach the internet, which our machines do not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, live_server) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=live_server.url, permissions=["clipboard-read", "clipboard-write"], locale="en-US"
    )
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, settings) -> Page:
    settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS = 0.3
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def signed_in_page(browser: Browser, live_server, settings) -> Iterator[Callable[..., Page]]:
    """Opens a page signed in as a user, in a browser whose language is `locale` (sign-in is tested apart)."""
    settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS = 0.3
    contexts: list[BrowserContext] = []

    def open_page(
        user, *, locale: str = "en-US", permissions: tuple[str, ...] = (), timezone_id: str | None = None
    ) -> Page:
        client = Client()
        client.force_login(user)
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            permissions=["clipboard-read", "clipboard-write", *permissions],
            timezone_id=timezone_id,
        )
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/tasks/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Voices")).to_be_visible()


def run_poller_until(page: Page, predicate, seconds: float = 10) -> None:
    """Run single poller passes (never the loop) while the page refreshes itself, until predicate() holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        call_command("poll_clones")
        if predicate():
            return
        page.wait_for_timeout(200)
    raise AssertionError("the condition did not come true in time")


def use_a_link(page: Page, url: str, *, send_unchecked: bool = True, seconds: float = 10) -> str:
    """Give the clip as a link, as a person does on the New clone form, and wait for the studio's check.

    Chooses "A link", types the link, waits for the page to send it for checking (the link view answers at
    once: refused, or a clip being checked), and runs worker passes until the check beside the field is the
    answer for this link, not the one of a link typed before. A link the studio cannot reach (every
    https://media.example.com/... link here: DNS fails) gets "Send without checking", which this ticks unless
    told not to. Returns the check's state.
    """
    page.locator("input[name=clip_source][value=link]").check()
    field = page.locator("#id_file_url")
    clip_input = page.locator("input[name=clip]")
    check = page.locator("#clip-check")
    if field.input_value() != url:

        def sent_for_checking(response) -> bool:
            request = response.request
            return (
                request.method == "POST"
                and response.url.endswith("/tasks/clips/link/")
                and parse_qs(request.post_data or "").get("file_url") == [url]
            )

        with page.expect_response(sent_for_checking) as answer:
            field.fill(url)
        token = re.search(r'data-clip-token="([^"]+)"', answer.value.text())
        expected = token.group(1) if token else ""
    else:  # the page sent it itself (a form that came back): its own check is the one
        expected = None

    def answered() -> bool:
        state = check.get_attribute("data-state")
        if expected == "":  # refused by the link view at once: no clip to check
            return state == "refused"
        if expected is not None and clip_input.input_value() != expected:
            return False
        return state not in (None, "empty", "checking")

    run_poller_until(page, answered, seconds=seconds)
    state = check.get_attribute("data-state") or ""
    if send_unchecked and state == "unreachable":
        page.locator("#id_send_unchecked").check()
    return state
