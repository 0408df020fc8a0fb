"""Security as a stranger, a careless page or a hostile service would test it.

Every URL of the project is enumerated from the URL configuration, so a new view is covered the day it is
added. Open without signing in, by design: the sign-in pages (ours and the admin's), /healthz (load
balancers do not sign in), the admin's "logged out" page, and i18n's set_language (POST-only, it only
stores a language preference; a GET changes nothing and redirects back). Static files are served by
WhiteNoise ahead of the URL configuration and are public by nature.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import re._constants as sre_constants
import re._parser as sre_parser
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from clones.models import CloneTask, TaskEvent

Status = CloneTask.Status

BASE_DIR = Path(__file__).resolve().parent.parent
FAKE_KEY = "sk-FAKE-0123456789abcdef"
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SIGN_IN_PATHS = ("/accounts/login/", "/admin/login/")
# Open to everyone on purpose (see the module docstring), by "namespace:name".
# "clip-public" is the signed clip link the voice service downloads (tests/test_clips.py tests its signature).
PUBLIC_VIEWS = {"login", "healthz", "set_language", "admin:login", "admin:logout", "clip-public"}


# --- Enumerating the URL configuration ------------------------------------------------------------------


def _sample_route(route: str) -> str:
    """A concrete path for a route such as "tasks/<int:pk>/": every parameter becomes 1 (a UUID, a UUID)."""
    route = re.sub(r"<uuid:\w+>", "00000000-0000-4000-8000-000000000001", route)
    return re.sub(r"<(?:\w+:)?\w+>", "1", route)


def _sample_regex(parsed) -> str:
    """The shortest sensible string matching a parsed regular expression (enough for Django's patterns)."""
    out = []
    for op, value in parsed:
        if op is sre_constants.LITERAL:
            out.append(chr(value))
        elif op is sre_constants.NOT_LITERAL:
            out.append("b" if chr(value) == "a" else "a")
        elif op is sre_constants.ANY:
            out.append("a")
        elif op is sre_constants.IN:
            first_op, first_value = value[0]
            if first_op is sre_constants.NEGATE:
                out.append("a")
            elif first_op is sre_constants.LITERAL:
                out.append(chr(first_value))
            elif first_op is sre_constants.RANGE:
                out.append(chr(first_value[0]))
            else:  # a category such as \d or \w
                out.append("1")
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _high, item = value
            # At least once, so that ".*" in a catch-all is not the empty string another pattern owns.
            out.append(_sample_regex(item) * max(low, 1))
        elif op is sre_constants.SUBPATTERN:
            out.append(_sample_regex(value[-1]))
        elif op is sre_constants.BRANCH:
            out.append(_sample_regex(value[1][0]))
        # AT (^, $) and anything else adds nothing.
    return "".join(out)


def _sample(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _sample_route(str(pattern))
    assert isinstance(pattern, RegexPattern), pattern
    return _sample_regex(sre_parser.parse(pattern.regex.pattern))


def _all_urls(resolver: URLResolver | None = None, prefix: str = "/", namespace: str = "") -> Iterator:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _all_urls(entry, prefix + _sample(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            name = f"{namespace}{entry.name}" if entry.name else f"{namespace}<{entry.pattern}>"
            yield pytest.param(prefix + _sample(entry.pattern), name, entry.callback, id=name)


ALL_URLS = list(_all_urls())


def test_the_enumeration_finds_the_studio_pages_and_the_admin():
    names = {param.values[1] for param in ALL_URLS}
    assert {"clones:task-list", "clones:task-create", "clones:task-rows", "clones:task-detail"} <= names
    assert {"clones:task-resend", "login", "logout", "healthz", "set_language", "admin:index"} <= names
    assert len(ALL_URLS) > 40


# Routing and sign-in, the same on any database: run once (`make test`'s SQLite pass).
@pytest.mark.once
@pytest.mark.parametrize(("url", "name", "callback"), ALL_URLS)
def test_every_url_refuses_a_stranger(anonymous_client, url, name, callback):
    assert resolve(url.split("?")[0]).func == callback, f"{url} does not reach {name}"
    if name in PUBLIC_VIEWS:
        pytest.skip("open to everyone by design")
    response = anonymous_client.get(url)
    if response.status_code == 405:  # POST-only views
        response = anonymous_client.post(url)
    assert "Content-Security-Policy" in response
    # The home page redirects to the list first: follow our own redirects to where they end.
    for _hop in range(3):
        location = response.get("Location", "")
        if response.status_code != 302 or location.startswith(SIGN_IN_PATHS) or not location.startswith("/"):
            break
        response = anonymous_client.get(location)
    if response.status_code == 403:  # a fragment endpoint may refuse outright
        return
    assert response.status_code == 302, f"{url} answered {response.status_code} to a stranger"
    assert response["Location"].startswith(SIGN_IN_PATHS), response["Location"]


def test_htmx_fragments_refuse_a_stranger_too(anonymous_client):
    response = anonymous_client.get("/tasks/refresh/?id=1", headers={"HX-Request": "true"})
    assert response.status_code in (302, 403)
    assert b"task-" not in response.content


@pytest.fixture
def csrf_enforcing_admin_client(db) -> Client:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    return client


# Routing and sign-in, the same on any database: run once (`make test`'s SQLite pass).
@pytest.mark.once
@pytest.mark.parametrize(("url", "name", "callback"), ALL_URLS)
def test_every_post_without_a_csrf_token_is_refused(csrf_enforcing_admin_client, url, name, callback):
    task = CloneTask.objects.create(
        name="Kept",
        file_url="https://a/b.mp3",
        sound_version="v1",
        language="English",
        status=Status.NOT_SENT,
    )
    response = csrf_enforcing_admin_client.post(url, {"name": "changed", "language": "zh-hans"})
    assert response.status_code == 403, f"{url} accepted a POST without a CSRF token"
    task.refresh_from_db()
    assert task.status == Status.NOT_SENT


# --- Content-Security-Policy ----------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, header
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("page", ["list", "form", "task", "login", "lockout"])
def test_every_page_sends_a_strict_policy(staff_client, anonymous_client, settings, page):
    task = CloneTask.objects.create(
        name="A", file_url="https://a/b.mp3", sound_version="v1", language="English"
    )
    if page == "login":
        response = anonymous_client.get("/accounts/login/")
    elif page == "lockout":
        settings.AXES_FAILURE_LIMIT = 1
        response = anonymous_client.post("/accounts/login/", {"username": "mei", "password": "wrong"})
        assert response.status_code == 429
    else:
        response = staff_client.get(
            {"list": "/tasks/", "form": "/tasks/new/", "task": f"/tasks/{task.pk}/"}[page]
        )
        assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    if page == "form":  # the waveform library's one <style>, with this response's nonce (clip-field.js)
        assert policy["style-src"][0] == "'self'"
        assert re.fullmatch(r"'nonce-[A-Za-z0-9+/_=-]{16,}'", policy["style-src"][1])
        assert len(policy["style-src"]) == 2
    else:
        assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_previews_may_play_from_the_service_and_its_signed_https_links(staff_client, simulator):
    media = _policy(staff_client.get("/tasks/"))["media-src"]
    origin = simulator.base_url.split("/kyyReactApiServer")[0]
    assert media == ["'self'", "https:", "blob:", origin]


def test_htmx_is_configured_to_need_neither_eval_nor_inline_styles(staff_client):
    content = staff_client.get("/tasks/").content.decode()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", content).group(1))
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False


TEMPLATE_FILES = sorted((BASE_DIR / "templates").rglob("*.html"))
INLINE_CODE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_no_template_carries_code_the_policy_would_block(template):
    text = template.read_text(encoding="utf-8")
    for kind, pattern in INLINE_CODE.items():
        assert not pattern.search(text), f"{template.name} has an {kind}, which the CSP blocks"


# --- Secrets --------------------------------------------------------------------------------------------


@pytest.fixture
def raw_log_messages() -> Iterator[list[str]]:
    """Every log message as the code wrote it, before any handler's redaction filter could tidy it up."""
    messages: list[str] = []
    make_record = logging.getLogRecordFactory()

    def recording_factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        messages.append(record.getMessage())
        return record

    logging.setLogRecordFactory(recording_factory)
    yield messages
    logging.setLogRecordFactory(make_record)


def test_the_api_key_appears_in_no_page_fragment_log_or_stored_response(
    staff_client, simulator, settings, form_data, caplog, raw_log_messages
):
    settings.SOUNDCLONE_API_KEY = FAKE_KEY
    simulator.state.config.api_key = FAKE_KEY
    settings.SOUNDCLONE_POLL_INTERVAL = 0.05
    caplog.set_level(logging.DEBUG)
    for logger_name in ("clones", "django", "axes"):
        caplog.set_level(logging.DEBUG, logger=logger_name)

    pages = [staff_client.post("/tasks/new/", form_data(), follow=True)]
    task = CloneTask.objects.get()
    deadline = time.monotonic() + 15
    while task.status != Status.COMPLETED and time.monotonic() < deadline:
        call_command("poll_clones")  # sends the task, then queries it
        time.sleep(0.2)
        task.refresh_from_db()
    assert task.upstream_id, "the service did not accept the key: the test would prove nothing"
    assert task.status == Status.COMPLETED

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    admin_client = Client()
    admin_client.force_login(admin)
    pages += [
        staff_client.get("/tasks/"),
        staff_client.get("/tasks/new/"),
        staff_client.get(f"/tasks/{task.pk}/"),
        staff_client.get(f"/tasks/refresh/?id={task.pk}"),
        admin_client.get(f"/admin/clones/clonetask/{task.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert FAKE_KEY.encode() not in page.content
        assert not any(FAKE_KEY in value for _name, value in page.items())
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    assert FAKE_KEY not in caplog.text
    assert raw_log_messages and not [message for message in raw_log_messages if FAKE_KEY in message]
    assert FAKE_KEY not in json.dumps(task.last_response)
    assert FAKE_KEY not in task.error
    assert not TaskEvent.objects.filter(outcome__contains=FAKE_KEY).exists()


def test_the_api_key_is_redacted_from_the_log_even_when_code_logs_it(settings):
    from soundclone_site.logging import RedactSecretsFilter

    settings.SOUNDCLONE_API_KEY = FAKE_KEY
    (console,) = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(item, RedactSecretsFilter) for item in handler.filters)
    ]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        logging.getLogger("clones.anything").warning("calling with Authorization: Bearer %s", FAKE_KEY)
    finally:
        console.setStream(previous)
    assert "calling with Authorization: Bearer [redacted]" in stream.getvalue()
    assert FAKE_KEY not in stream.getvalue()


SERVICE = "https://soundclone.test/kyyReactApiServer"


def _echoing_service(mocked: responses.RequestsMock, scenario: str) -> None:
    """A service that repeats our key in what it says: a refusal, a failed task, a failing status query."""
    create = f"{SERVICE}/v1/soundCloning/clones"
    result = re.compile(re.escape(f"{SERVICE}/v1/result/") + ".*")
    queued = {"id": "audio_k1", "object": "audio", "status": "queued", "error": None}
    if scenario == "refused on submit":
        mocked.post(create, status=422, json={"message": f"fileUrl refused for Bearer {FAKE_KEY}"})
    else:
        mocked.post(create, json=queued)
    if scenario == "failed in a status answer":
        failed = {
            **queued,
            "status": "failed",
            "error": f"No credit left on key {FAKE_KEY}",
            "echo": FAKE_KEY,
        }
        mocked.get(result, json=failed)
    else:
        mocked.get(result, status=500, json={"message": f"auth backend down for {FAKE_KEY}"})


@pytest.mark.parametrize("scenario", ["refused on submit", "failed in a status answer", "status query fails"])
def test_a_key_the_service_echoes_is_never_stored_shown_or_logged(
    staff_client, settings, form_data, caplog, raw_log_messages, scenario
):
    settings.SOUNDCLONE_BASE_URL = SERVICE
    settings.SOUNDCLONE_API_KEY = FAKE_KEY
    settings.SOUNDCLONE_POLL_INTERVAL = 0.01
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        _echoing_service(mocked, scenario)
        pages = [staff_client.post("/tasks/new/", form_data(), follow=True)]
        for _pass in range(4):  # sent, then queried: whatever the flow, the service has answered by now
            call_command("poll_clones")
            time.sleep(0.02)
        # The answer that echoes the key: to the submission when it is refused, else to a status query.
        echoing_method = "POST" if scenario == "refused on submit" else "GET"
        echoed = [call for call in mocked.calls if call.request.method == echoing_method]
    assert echoed, "the service was never asked: the test would prove nothing"
    task = CloneTask.objects.get()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    admin_client = Client()
    admin_client.force_login(admin)
    pages += [
        staff_client.get("/tasks/"),
        staff_client.get(f"/tasks/{task.pk}/"),
        staff_client.get(f"/tasks/refresh/?id={task.pk}"),
        staff_client.get(f"/tasks/new/?from={task.pk}"),
        staff_client.get(f"/tasks/compare/?ids={task.pk}"),
        staff_client.get("/tasks/export/"),
        admin_client.get(f"/admin/clones/clonetask/{task.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200, page.request["PATH_INFO"]
        content = b"".join(page.streaming_content) if page.streaming else page.content
        assert FAKE_KEY.encode() not in content, page.request["PATH_INFO"]
    stored = json.dumps(
        [CloneTask.objects.values().get(pk=task.pk), list(TaskEvent.objects.values())], default=str
    )
    assert FAKE_KEY not in stored
    assert FAKE_KEY not in caplog.text
    assert not [message for message in raw_log_messages if FAKE_KEY in message]


# --- Nothing from the service is trusted ----------------------------------------------------------------


def _pages_showing(client: Client, task: CloneTask) -> list[str]:
    return [
        client.get(url).content.decode()
        for url in ("/tasks/", f"/tasks/{task.pk}/", f"/tasks/refresh/?id={task.pk}")
    ]


def test_an_upstream_error_message_is_shown_as_text(staff_client):
    task = CloneTask.objects.create(
        name="Bad", file_url="https://a/b.mp3", sound_version="v1", language="English",
        status=Status.FAILED, error=SCRIPT, finished_at=timezone.now(),
    )  # fmt: skip
    for content in _pages_showing(staff_client, task):
        assert SCRIPT not in content
        assert ESCAPED_SCRIPT in content


def test_a_model_id_is_shown_as_text(staff_client):
    task = CloneTask.objects.create(
        name="Odd", file_url="https://a/b.mp3", sound_version="v1", language="English",
        status=Status.COMPLETED, model_id=SCRIPT, audio_url="https://x/a.wav", finished_at=timezone.now(),
    )  # fmt: skip
    for content in _pages_showing(staff_client, task):
        assert SCRIPT not in content
        assert ESCAPED_SCRIPT in content


def test_a_javascript_audio_url_is_never_put_in_a_page(staff_client):
    task = CloneTask.objects.create(
        name="Sly", file_url="https://a/b.mp3", sound_version="v1", language="English",
        status=Status.COMPLETED, model_id="voice_1", audio_url="javascript:alert(1)",
        finished_at=timezone.now(),
    )  # fmt: skip
    for content in _pages_showing(staff_client, task):
        assert "javascript:" not in content.lower()


# --- Sign-in throttle -----------------------------------------------------------------------------------


def test_sign_in_locks_after_the_configured_number_of_failures(anonymous_client, staff_user, settings):
    from tests.conftest import PASSWORD

    settings.AXES_FAILURE_LIMIT = 3
    for _attempt in range(2):
        response = anonymous_client.post("/accounts/login/", {"username": "mei", "password": "guess"})
        assert response.status_code == 200  # the form again, with its error
    response = anonymous_client.post("/accounts/login/", {"username": "mei", "password": "guess"})
    assert response.status_code == 429
    assert b"Sign-in locked" in response.content
    # Locked means locked: even the right password is refused until the cool-off ends or an admin unlocks.
    response = anonymous_client.post("/accounts/login/", {"username": "mei", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in anonymous_client.session


def test_a_made_up_name_locked_from_the_office_does_not_lock_a_colleague_at_the_same_address(
    staff_user, settings
):
    from tests.conftest import PASSWORD

    settings.AXES_FAILURE_LIMIT = 5
    office = "203.0.113.10"
    for _attempt in range(5):
        response = Client(REMOTE_ADDR=office).post(
            "/accounts/login/", {"username": "nobody", "password": "guess"}
        )
    assert response.status_code == 429  # the made-up name is paused from here
    colleague = Client(REMOTE_ADDR=office)
    response = colleague.post("/accounts/login/", {"username": "mei", "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in colleague.session


def test_wrong_passwords_from_a_stranger_do_not_lock_the_account_for_its_owner(staff_user, settings):
    from tests.conftest import PASSWORD

    settings.AXES_FAILURE_LIMIT = 2
    for _attempt in range(2):
        Client(REMOTE_ADDR="198.51.100.66").post("/accounts/login/", {"username": "mei", "password": "guess"})
    assert (
        Client(REMOTE_ADDR="198.51.100.66")
        .post("/accounts/login/", {"username": "mei", "password": PASSWORD})
        .status_code
        == 429
    )
    owner = Client(REMOTE_ADDR="203.0.113.10")
    assert owner.post("/accounts/login/", {"username": "mei", "password": PASSWORD}).status_code == 302


def _sign_in_page_after(failures: int, **headers: str) -> str:
    client = Client(REMOTE_ADDR="203.0.113.10", **headers)
    response = None
    for _attempt in range(failures):
        response = client.post("/accounts/login/", {"username": "mei", "password": "guess"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("failures", "warning"),
    [
        (1, None),
        (2, None),
        (3, "2 tries left before sign-in is paused for 15 minutes."),
        (4, "1 try left before sign-in is paused for 15 minutes."),
    ],
)
def test_the_sign_in_page_warns_before_the_last_tries(staff_user, settings, failures, warning):
    settings.AXES_FAILURE_LIMIT = 5
    content = _sign_in_page_after(failures)
    assert "Please enter a correct username and password." in content
    if warning:
        assert warning in content
    else:
        assert "before sign-in is paused" not in content


def test_the_warning_in_chinese(staff_user, settings):
    settings.AXES_FAILURE_LIMIT = 5
    content = _sign_in_page_after(3, HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert "还剩 2 次尝试机会，之后登录将暂停 15 分钟。" in content


def test_the_lock_page_links_back_to_sign_in(anonymous_client, staff_user, settings):
    settings.AXES_FAILURE_LIMIT = 1
    response = anonymous_client.post("/accounts/login/", {"username": "mei", "password": "guess"})
    assert response.status_code == 429
    assert '<a href="/accounts/login/">Back to sign-in</a>' in response.content.decode()
    response = anonymous_client.post(
        "/accounts/login/", {"username": "mei", "password": "guess"}, HTTP_ACCEPT_LANGUAGE="zh-Hans"
    )
    assert '<a href="/accounts/login/">返回登录</a>' in response.content.decode()


def test_an_administrator_unlocks_by_deleting_the_attempts(anonymous_client, staff_user, settings):
    from axes.models import AccessAttempt

    from tests.conftest import PASSWORD

    settings.AXES_FAILURE_LIMIT = 1
    anonymous_client.post("/accounts/login/", {"username": "mei", "password": "guess"})
    AccessAttempt.objects.all().delete()  # what "delete" on the admin's Access attempts page does
    response = anonymous_client.post("/accounts/login/", {"username": "mei", "password": PASSWORD})
    assert response.status_code == 302


def _client_address(rf, remote_address: str, forwarded_for: str) -> str:
    from soundclone_site.security import client_ip_address

    return client_ip_address(rf.get("/", REMOTE_ADDR=remote_address, HTTP_X_FORWARDED_FOR=forwarded_for))


def test_behind_our_proxy_the_client_is_the_address_the_proxy_saw(rf, settings):
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.2"]
    # The client wrote 6.6.6.6 itself; our proxy appended the address it saw.
    assert _client_address(rf, "10.0.0.2", "6.6.6.6, 198.51.100.7") == "198.51.100.7"
    assert _client_address(rf, "::ffff:10.0.0.2", "198.51.100.7") == "198.51.100.7"  # dual-stack socket
    assert _client_address(rf, "10.0.0.2", "") == "10.0.0.2"


def test_the_walk_passes_every_proxy_of_ours_and_stops_at_the_first_other_address(rf, settings):
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.0/8", "fd00::/8"]
    chain = "6.6.6.6, 198.51.100.7, 10.1.2.3, fd00::5"  # client, CDN edge's view, our inner proxies
    assert _client_address(rf, "10.0.0.2", chain) == "198.51.100.7"
    assert _client_address(rf, "10.0.0.2", "10.9.9.9, 10.1.2.3") == "10.9.9.9"  # only our own: the leftmost


def test_a_client_connecting_directly_cannot_choose_its_address(rf, settings):
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.2"]
    assert _client_address(rf, "203.0.113.9", "198.51.100.7") == "203.0.113.9"
    assert _client_address(rf, "203.0.113.9", "10.0.0.2, 198.51.100.7") == "203.0.113.9"
    settings.TRUSTED_PROXY_ADDRESSES = []
    assert _client_address(rf, "10.0.0.2", "198.51.100.7") == "10.0.0.2"


def test_a_direct_client_cannot_dodge_the_sign_in_lock_by_inventing_addresses(staff_user, settings):
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.2"]
    settings.AXES_FAILURE_LIMIT = 3
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    for attempt in range(3):
        response = stranger.post(
            "/accounts/login/",
            {"username": "mei", "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}",
        )
    assert response.status_code == 429


def test_behind_a_tls_proxy_by_default_only_a_proxy_on_this_machine_is_believed(tmp_path):
    """The deployment's default (BEHIND_TLS_PROXY=true, nothing else): the proxy is on 127.0.0.1 or ::1."""
    script = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from soundclone_site.security import client_ip_address as address\n"
        "get = RequestFactory().get\n"
        "print(address(get('/', REMOTE_ADDR='203.0.113.9', HTTP_X_FORWARDED_FOR='198.51.100.7')))\n"
        "print(address(get('/', REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR='6.6.6.6, 198.51.100.7')))\n"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "soundclone_site.settings",
        "DATA_DIR": str(tmp_path),
        "BEHIND_TLS_PROXY": "true",
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["203.0.113.9", "198.51.100.7"]


def test_a_trusted_proxy_that_is_not_an_address_stops_the_start(tmp_path):
    environment = {"PATH": os.environ["PATH"], "DATA_DIR": str(tmp_path), "TRUSTED_PROXY_ADDRESSES": "proxy"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXY_ADDRESSES has 'proxy', which is neither an address nor a network" in result.stderr


# --- Files on disk --------------------------------------------------------------------------------------


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_the_database_and_the_demo_secret_key_are_readable_by_their_owner_only(tmp_path):
    """A fresh start in demo mode, with the default SQLite file, as `make run` makes it (umask 022)."""
    script = (
        "import os; os.umask(0o022)\n"
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.db import connection\n"
        "call_command('migrate', verbosity=0)\n"
        "connection.ensure_connection()\n"
        "connection.cursor().execute('SELECT count(*) FROM auth_user')\n"
        "folder = os.environ['DATA_DIR']\n"
        # Read while the connection is open: SQLite removes the -wal and -shm files when the last one closes.
        "for name in os.listdir(folder):\n"
        "    print(name, oct(os.stat(os.path.join(folder, name)).st_mode & 0o777))\n"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "soundclone_site.settings",
        "DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    modes = dict(line.split() for line in result.stdout.splitlines())
    assert modes == {
        ".demo_secret_key": "0o600",
        "soundclone.sqlite3": "0o600",
        "soundclone.sqlite3-wal": "0o600",
        "soundclone.sqlite3-shm": "0o600",
        "tmp": "0o700",  # uploads on their way in (FILE_UPLOAD_TEMP_DIR)
    }


def test_files_an_earlier_version_left_readable_by_all_are_tightened_at_start(tmp_path):
    for name in (
        ".demo_secret_key",
        "soundclone.sqlite3",
        "soundclone.sqlite3-wal",
        "soundclone.sqlite3-shm",
    ):
        (tmp_path / name).write_bytes(b"secret-made-up-for-this-test" if name.startswith(".") else b"")
        (tmp_path / name).chmod(0o644)
    environment = {"PATH": os.environ["PATH"], "DATA_DIR": str(tmp_path)}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert {path.name: _mode(path) for path in tmp_path.iterdir()} == {
        ".demo_secret_key": "0o600",
        "soundclone.sqlite3": "0o600",
        "soundclone.sqlite3-wal": "0o600",
        "soundclone.sqlite3-shm": "0o600",
        "tmp": "0o700",  # uploads on their way in (FILE_UPLOAD_TEMP_DIR)
    }


# --- The web server -------------------------------------------------------------------------------------


def _gunicorn_config(**environment: str):
    """gunicorn's configuration as gunicorn itself loads gunicorn.conf.py (every name it knows is set)."""
    import runpy
    from unittest import mock

    from gunicorn.config import Config

    config = Config()
    with mock.patch.dict(os.environ, environment):
        namespace = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_gunicorn_opens_no_control_socket_that_another_instance_could_answer_on():
    config = _gunicorn_config()
    assert "control_socket_disable" in config.settings, "not gunicorn 25.1+: the test would prove nothing"
    assert config.control_socket_disable is True
    assert _gunicorn_config(LOG_FORMAT="json").control_socket_disable is True
