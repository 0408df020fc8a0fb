"""The one guard for every URL we fetch from elsewhere (clones/fetch.py): no way into our own network.

A canary server on loopback records every request it gets: each refusal below must happen before any
connection to it, which "no hits" proves.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time

import pytest

from clones import client
from clones.client import ErrorKind, UpstreamError
from clones.fetch import Fetched, FetchError, FetchFailure, fetch_public
from tests.local_http import LocalServer, answer, drip_body, drip_headers, redirect_to

WAV = b"RIFF" + b"\x00" * 60
AUDIO = {"audio/wav"}


@pytest.fixture
def canary():
    """A loopback server that would hand out audio to anyone who reaches it, and remembers who did."""
    with LocalServer(answer(200, WAV, content_type="audio/wav")) as server:
        yield server


def guarded_fetch(url: str, *, allowed_hosts=(), deadline: float = 5.0) -> Fetched:
    return fetch_public(url, max_bytes=10_000, deadline=deadline, accept=AUDIO, allowed_hosts=allowed_hosts)


def private_forms(port: int) -> list[str]:
    """Links that lead to our own machine or network, however they are spelt."""
    return [
        f"http://127.0.0.1:{port}/a.wav",
        f"http://localhost:{port}/a.wav",
        # Backslash and user-info tricks: one parser reads 1.1.1.1, another connects to loopback.
        f"http://127.0.0.1:{port}\\@1.1.1.1/a.wav",
        f"http://127.0.0.1:{port}\\\\@1.1.1.1/a.wav",
        f"http://1.1.1.1@127.0.0.1:{port}/a.wav",
        f"http://1.1.1.1:80@127.0.0.1:{port}/a.wav",
        f"http://user:pass@localhost:{port}/a.wav",
        # Numbers that inet_aton and browsers read as 127.0.0.1.
        f"http://2130706433:{port}/a.wav",
        f"http://0x7f000001:{port}/a.wav",
        f"http://0x7f.0.0.1:{port}/a.wav",
        f"http://0177.0.0.1:{port}/a.wav",
        f"http://127.1:{port}/a.wav",
        f"http://127.0.1:{port}/a.wav",
        f"http://0:{port}/a.wav",
        f"http://0.0.0.0:{port}/a.wav",
        f"http://127.0.0.1.:{port}/a.wav",
        # IPv6 spellings of loopback and of IPv4 loopback.
        f"http://[::1]:{port}/a.wav",
        f"http://[::]:{port}/a.wav",
        f"http://[::ffff:127.0.0.1]:{port}/a.wav",
        f"http://[::ffff:7f00:1]:{port}/a.wav",
        f"http://[::127.0.0.1]:{port}/a.wav",
        f"http://[64:ff9b::7f00:1]:{port}/a.wav",
        f"http://[64:ff9b::a00:1]:{port}/a.wav",
        f"http://[2002:7f00:1::]:{port}/a.wav",
        f"http://[2002:c0a8:101::1]:{port}/a.wav",
        f"http://[fe80::1%25lo]:{port}/a.wav",
        f"http://[fc00::1]:{port}/a.wav",
        # Cloud metadata, private ranges, multicast, reserved.
        f"http://169.254.169.254:{port}/latest/meta-data",
        "http://169.254.169.254/latest/meta-data",
        f"http://10.0.0.8:{port}/a.wav",
        f"http://172.16.0.1:{port}/a.wav",
        f"http://192.168.1.20:{port}/a.wav",
        f"http://100.64.0.1:{port}/a.wav",
        f"http://224.0.0.1:{port}/a.wav",
        f"http://240.0.0.1:{port}/a.wav",
        f"http://255.255.255.255:{port}/a.wav",
    ]


def not_web_addresses(port: int) -> list[str]:
    return [
        f"ftp://127.0.0.1:{port}/a.wav",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{port}/_GET",
        "http:///a.wav",
        "http://:80/a.wav",
        f"http://127.0.0.1:{port} /a.wav",
        f"http://127.0.0.1:{port}/a.wav\r\nX-Injected: 1",
        f"http://127.0.0.1:{port}/\x00a.wav",
        "http://例子.测试/a.wav",
        f"http://127.0.0.1:{port}:{port}/a.wav",
        "http://cdn.example.com:99999/a.wav",
        "http://cdn.example.com:0/a.wav",
        "http://[::1/a.wav",
        "https://cdn.example.com/" + "a" * 2048 + ".wav",
    ]


@pytest.mark.parametrize("index", range(len(private_forms(1))))
def test_a_link_to_a_private_address_is_refused_before_any_connection(canary, index):
    url = private_forms(canary.port)[index]
    with pytest.raises(FetchError) as error:
        guarded_fetch(url)
    assert error.value.kind == FetchFailure.REFUSED, url
    assert canary.hits == []


@pytest.mark.parametrize("index", range(len(not_web_addresses(1))))
def test_a_link_that_is_not_a_plain_web_address_is_refused(canary, index):
    url = not_web_addresses(canary.port)[index]
    with pytest.raises(FetchError) as error:
        guarded_fetch(url, allowed_hosts=[f"127.0.0.1:{canary.port}"])
    assert error.value.kind == FetchFailure.REFUSED, url
    assert canary.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433:{port}/a.wav",
        "http://127.1:{port}/a.wav",
        "http://0:{port}/a.wav",
        "http://[::ffff:127.0.0.1]:{port}/a.wav",
        "http://127.0.0.1:{port}\\@1.1.1.1/a.wav",
        "http://x@127.0.0.1:{port}/a.wav",
    ],
)
def test_an_allowed_host_is_matched_on_its_parsed_host_and_port_only(canary, url):
    with pytest.raises(FetchError):
        guarded_fetch(url.format(port=canary.port), allowed_hosts=[f"127.0.0.1:{canary.port}"])
    assert canary.hits == []
    with LocalServer(answer(200, WAV, content_type="audio/wav")) as other:
        with pytest.raises(FetchError, match="private address"):
            guarded_fetch(f"{other.url}/a.wav", allowed_hosts=[f"127.0.0.1:{canary.port}"])
        assert other.hits == []


def test_an_allowed_loopback_host_and_port_is_fetched(canary):
    fetched = guarded_fetch(
        f"http://127.0.0.1:{canary.port}/a.wav?x=1", allowed_hosts=[f"127.0.0.1:{canary.port}"]
    )
    assert fetched == Fetched(WAV, "audio/wav", f"http://127.0.0.1:{canary.port}/a.wav?x=1")
    assert canary.hits == ["/a.wav?x=1"]


@pytest.mark.parametrize("index", range(len(private_forms(1))))
def test_a_redirect_to_a_private_address_is_refused_before_any_connection(canary, index):
    target = private_forms(canary.port)[index]
    with LocalServer(redirect_to(target)) as redirector:
        with pytest.raises(FetchError) as error:
            guarded_fetch(f"{redirector.url}/a.wav", allowed_hosts=[f"127.0.0.1:{redirector.port}"])
        assert redirector.hits == ["/a.wav"]
    assert error.value.kind == FetchFailure.REFUSED, target
    assert canary.hits == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_an_allowed_address_is_followed_and_checked_again(canary, status):
    allowed = [f"127.0.0.1:{canary.port}"]
    with LocalServer(redirect_to(f"http://127.0.0.1:{canary.port}/b.wav", status)) as redirector:
        fetched = guarded_fetch(
            f"{redirector.url}/a.wav", allowed_hosts=[*allowed, f"127.0.0.1:{redirector.port}"]
        )
    assert fetched.content == WAV
    assert fetched.final_url == f"http://127.0.0.1:{canary.port}/b.wav"


def test_more_than_three_redirects_are_refused():
    with LocalServer(redirect_to("/again")) as redirector:
        with pytest.raises(FetchError) as error:
            guarded_fetch(f"{redirector.url}/a.wav", allowed_hosts=[f"127.0.0.1:{redirector.port}"])
    assert error.value.kind == FetchFailure.TOO_MANY_REDIRECTS
    assert len(redirector.hits) == 4


class FakeNames:
    """socket.getaddrinfo answering each lookup with the next list of addresses, counting lookups."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    def __call__(self, host, port, *args, **kwargs):
        self.lookups += 1
        addresses = self.answers[min(self.lookups, len(self.answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]


def test_a_name_is_resolved_once_and_the_connection_goes_to_the_checked_address(canary, monkeypatch):
    # DNS rebinding: the first answer is public, any later one is our loopback canary.
    names = FakeNames(["93.184.216.34"], ["127.0.0.1"])
    connections: list[tuple] = []

    def connect(address, *args, **kwargs):
        connections.append(address)
        raise ConnectionRefusedError("no internet in tests")

    monkeypatch.setattr(socket, "getaddrinfo", names)
    monkeypatch.setattr(socket, "create_connection", connect)
    with pytest.raises(FetchError) as error:
        guarded_fetch(f"http://media.example.com:{canary.port}/a.wav")
    assert error.value.kind == FetchFailure.UNREACHABLE
    assert names.lookups == 1
    assert connections == [("93.184.216.34", canary.port)]
    assert canary.hits == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(canary, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", FakeNames(["93.184.216.34", "127.0.0.1"]))
    with pytest.raises(FetchError) as error:
        guarded_fetch(f"http://media.example.com:{canary.port}/a.wav")
    assert error.value.kind == FetchFailure.REFUSED
    assert canary.hits == []


def test_a_pinned_connection_still_sends_the_name_as_host(canary, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", FakeNames(["127.0.0.1"]))

    def respond(handler):
        seen.append(handler.headers["Host"])
        answer(200, WAV, content_type="audio/wav")(handler)

    with LocalServer(respond) as server:
        fetched = guarded_fetch(
            f"http://media.test:{server.port}/a.wav", allowed_hosts=[f"media.test:{server.port}"]
        )
    assert fetched.content == WAV
    assert seen == [f"media.test:{server.port}"]


def test_an_unknown_host_is_reported_as_not_found():
    with pytest.raises(FetchError) as error:
        guarded_fetch("http://no-such-host.invalid/a.wav")
    assert error.value.kind == FetchFailure.NOT_FOUND_HOST


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for media.test: no certificate authority we trust signed it."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(  # noqa: S603 - a fixed command line
        [  # noqa: S607 - openssl from the PATH, as make test's machine has it
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=media.test", "-addext", "subjectAltName=DNS:media.test",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem", folder / "key.pem"


def test_https_sends_the_name_for_sni_and_checks_the_certificate(certificate, monkeypatch):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    names_seen: list[str | None] = []
    context.sni_callback = lambda _sock, name, _context: names_seen.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one():
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client refuses our self-signed certificate, as it must

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    monkeypatch.setattr(socket, "getaddrinfo", FakeNames(["127.0.0.1"]))
    with pytest.raises(FetchError) as error:
        guarded_fetch(f"https://media.test:{port}/a.wav", allowed_hosts=[f"media.test:{port}"])
    thread.join(timeout=5)
    listener.close()
    assert names_seen == ["media.test"]
    assert error.value.kind == FetchFailure.BROKEN


# --- Bounds ------------------------------------------------------------------------------------------------


def test_a_server_dripping_its_headers_is_cut_off_at_the_deadline():
    with LocalServer(drip_headers()) as server:
        started = time.monotonic()
        with pytest.raises(FetchError) as error:
            guarded_fetch(f"{server.url}/a.wav", allowed_hosts=[f"127.0.0.1:{server.port}"], deadline=1.0)
        elapsed = time.monotonic() - started
    assert error.value.kind == FetchFailure.TIMED_OUT
    assert elapsed < 1.0 + 2


def test_a_server_dripping_its_body_is_cut_off_at_the_deadline():
    with LocalServer(drip_body(WAV * 10, content_type="audio/wav")) as server:
        started = time.monotonic()
        with pytest.raises(FetchError) as error:
            guarded_fetch(f"{server.url}/a.wav", allowed_hosts=[f"127.0.0.1:{server.port}"], deadline=1.0)
        elapsed = time.monotonic() - started
    assert error.value.kind == FetchFailure.TIMED_OUT
    assert elapsed < 1.0 + 2


def test_an_announced_answer_larger_than_the_cap_is_refused_unread(canary):
    with pytest.raises(FetchError) as error:
        fetch_public(canary.url, max_bytes=10, deadline=5, allowed_hosts=[f"127.0.0.1:{canary.port}"])
    assert error.value.kind == FetchFailure.TOO_LARGE


def test_an_unannounced_answer_larger_than_the_cap_is_refused():
    def unannounced(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nConnection: close\r\n\r\n")
        handler.wfile.write(WAV * 100)

    with LocalServer(unannounced) as server:
        with pytest.raises(FetchError) as error:
            fetch_public(server.url, max_bytes=100, deadline=5, allowed_hosts=[f"127.0.0.1:{server.port}"])
    assert error.value.kind == FetchFailure.TOO_LARGE


def test_a_content_type_outside_accept_is_refused():
    with LocalServer(answer(200, b"<html>login</html>", content_type="text/html")) as server:
        with pytest.raises(FetchError) as error:
            guarded_fetch(server.url, allowed_hosts=[f"127.0.0.1:{server.port}"])
    assert error.value.kind == FetchFailure.WRONG_TYPE


def test_a_status_other_than_200_is_reported_with_its_code():
    with LocalServer(answer(503, b"busy", content_type="text/plain")) as server:
        with pytest.raises(FetchError) as error:
            guarded_fetch(server.url, allowed_hosts=[f"127.0.0.1:{server.port}"])
    assert error.value.kind == FetchFailure.STATUS
    assert error.value.status_code == 503


# --- The preview copy goes through the guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:{port}\\@1.1.1.1/a.wav", "The preview link is not a web address."),
        ("http://2130706433:{port}/a.wav", "The preview link points at a private address."),
        ("http://[::ffff:127.0.0.1]:{port}/a.wav", "The preview link points at a private address."),
        ("http://169.254.169.254/latest/meta-data", "The preview link points at a private address."),
    ],
)
def test_the_preview_copy_refuses_private_links_as_a_bad_response(canary, settings, url, message):
    settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = []
    with pytest.raises(UpstreamError) as error:
        client.download_preview(url.format(port=canary.port))
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.message == message
    assert canary.hits == []


def test_the_preview_copy_follows_a_redirect_only_through_the_guard(canary, settings):
    with LocalServer(redirect_to(f"http://[::ffff:127.0.0.1]:{canary.port}/a.wav")) as redirector:
        settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = [f"127.0.0.1:{redirector.port}"]
        with pytest.raises(UpstreamError, match="private address"):
            client.download_preview(f"{redirector.url}/a.wav")
    assert canary.hits == []
