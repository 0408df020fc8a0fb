"""Bounded HTTP: a total deadline for every call, and one guard for every URL we fetch from elsewhere.

Two things live here because both sit at the socket:

- **Deadlines.** ``timeout=(connect, read)`` bounds each socket read, not the call: a server that drips one
  byte a second keeps a call alive for as long as it likes. Inside ``deadline_after(seconds)`` every read and
  write of a connection made here waits at most ``min(per-read timeout, time left)`` and fails with
  ``TimeoutError`` once time is up, so connect, headers and body together end by the deadline.
  ``DeadlineAdapter`` brings this to ``requests`` (the voice service client); ``fetch_public`` uses it
  directly.
- **The URL guard.** ``fetch_public(url, ...)`` fetches a link that came from outside (a preview's
  ``audioUrl``, later a staff member's clip link) without letting it reach our own network: one parser for the
  check and the connection; no backslashes, user info or odd numeric hosts; the name resolved once, every
  address checked (global unicast only), and the connection made to that very address (Host header, SNI and
  certificate still checked against the name). Every redirect goes through the same check.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import io
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_URL_LENGTH = 2048

# --- Deadlines ---------------------------------------------------------------------------------------------

# The monotonic time by which the current call must be over; None outside deadline_after().
_deadline_at: contextvars.ContextVar[float | None] = contextvars.ContextVar("fetch_deadline_at", default=None)


@contextlib.contextmanager
def deadline_after(seconds: float) -> Iterator[None]:
    """Every connection made, read or written inside this block ends within `seconds` from now."""
    token = _deadline_at.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline_at.reset(token)


def _time_left() -> float | None:
    deadline = _deadline_at.get()
    return None if deadline is None else deadline - time.monotonic()


def _bounded(timeout: Any) -> Any:
    """`timeout` shortened to the time left; TimeoutError when none is left."""
    left = _time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise TimeoutError("the call's deadline has passed")
    if isinstance(timeout, int | float):
        return min(timeout, left)
    return left


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose every read and write ends by the current deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout = sock.gettimeout()

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> None:
        self._sock.settimeout(_bounded(self._timeout))

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self._arm()
            sent = self._sock.send(view)
            view = view[sent:]

    def send(self, data: bytes) -> int:
        self._arm()
        return self._sock.send(data)

    def recv(self, size: int) -> bytes:
        self._arm()
        return self._sock.recv(size)

    def recv_into(self, buffer: Any, size: int = 0) -> int:
        self._arm()
        return self._sock.recv_into(buffer, size)

    def makefile(self, mode: str = "rb", buffering: int | None = None, **_: Any) -> io.BufferedReader:
        # The socket's own file keeps the socket open until the response is read (http.client closes the
        # connection before the body when the server says so); reads go through the deadline first.
        raw = self._sock.makefile("rb", buffering=0)
        return io.BufferedReader(_DeadlineReader(raw, self), buffering or io.DEFAULT_BUFFER_SIZE)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, raw: io.RawIOBase, owner: _DeadlineSocket) -> None:
        super().__init__()
        self._raw = raw
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._owner._arm()
        return self._raw.readinto(buffer)

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineConnectionMixin:
    """A urllib3 connection bounded by the current deadline; with `pinned_addresses`, it goes only there."""

    pinned_addresses: tuple[str, ...] = ()

    def _new_conn(self) -> socket.socket:
        try:
            self.timeout = _bounded(self.timeout)
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, "The call's deadline passed before connecting.") from exc
        if not self.pinned_addresses:
            return super()._new_conn()  # type: ignore[misc]
        return self._connect_pinned()

    def _connect_pinned(self) -> socket.socket:
        # Only addresses the guard has checked; never a second lookup of the name (DNS rebinding).
        error: OSError | None = None
        for address in self.pinned_addresses:
            try:
                sock = socket.create_connection((address, self.port), self.timeout)  # type: ignore[attr-defined]
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {address} timed out.") from exc
            except OSError as exc:
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.sock = _DeadlineSocket(self.sock)  # type: ignore[has-type]


class DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    pass


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose connections honour `deadline_after` (mount it on a session)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager


_DEADLINE_POOLS = {"http": _DeadlineHTTPConnectionPool, "https": _DeadlineHTTPSConnectionPool}


# --- The URL guard -----------------------------------------------------------------------------------------


class FetchFailure(enum.StrEnum):
    REFUSED = "refused"  # the guard said no: not a web address, or not a public one; nothing was connected
    NOT_FOUND_HOST = "not_found_host"  # the name does not resolve
    UNREACHABLE = "unreachable"  # no connection could be made
    TIMED_OUT = "timed_out"  # the deadline (or a read timeout) passed
    BROKEN = "broken"  # the connection broke, or the answer was not HTTP
    STATUS = "status"  # an HTTP status other than 200 (`status_code` says which)
    WRONG_TYPE = "wrong_type"  # a Content-Type outside `accept`
    TOO_LARGE = "too_large"  # more than `max_bytes`
    TOO_MANY_REDIRECTS = "too_many_redirects"


class FetchError(Exception):
    """Why a fetch did not return content; `kind` is a FetchFailure, `message` is plain English."""

    def __init__(self, kind: FetchFailure, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class Fetched:
    content: bytes
    content_type: str  # lower case, without parameters
    final_url: str  # after redirects


@dataclass(frozen=True)
class Target:
    """A URL the guard accepted: where to connect, and what to ask for."""

    scheme: str
    host: str
    port: int
    request_target: str  # path and query, as sent on the request line
    addresses: tuple[str, ...]  # every one checked; the connection goes to these and nowhere else


NOT_A_WEB_ADDRESS = "The link is not a web address we can fetch."
PRIVATE_ADDRESS = "The link points at a private address."

# A host made only of numbers (and 0x numbers) is read as an IPv4 address by inet_aton and by browsers, in
# forms ipaddress refuses: 2130706433, 0x7f000001, 0177.0.0.1, 127.1, 0. Only the plain dotted quad is taken.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_HOST_CHARACTERS = re.compile(r"[a-z0-9.\-_:]+")


def check_url(url: str, *, allowed_hosts: Collection[str] = ()) -> Target:
    """The URL's target if it is an http(s) link to public addresses only (or an allowed host:port)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise FetchError(FetchFailure.REFUSED, NOT_A_WEB_ADDRESS)
    # Anything outside printable ASCII (spaces, controls, NUL, backslashes) is read differently by different
    # parsers: `http://127.0.0.1:19011\@1.1.1.1/` is 1.1.1.1 to urlsplit and loopback to others.
    if not url.isascii() or not url.isprintable() or " " in url or "\\" in url:
        raise FetchError(FetchFailure.REFUSED, NOT_A_WEB_ADDRESS)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed "[" in the host
        raise FetchError(FetchFailure.REFUSED, NOT_A_WEB_ADDRESS) from exc
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        raise FetchError(FetchFailure.REFUSED, NOT_A_WEB_ADDRESS)
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(FetchFailure.REFUSED, NOT_A_WEB_ADDRESS) from exc
    if not host or not 0 < port < 65536 or not _HOST_CHARACTERS.fullmatch(host):
        raise FetchError(FetchFailure.REFUSED, NOT_A_WEB_ADDRESS)
    literal = _ip_literal(host)
    if literal is None and ":" in host:
        raise FetchError(FetchFailure.REFUSED, NOT_A_WEB_ADDRESS)
    if literal is None and _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise FetchError(FetchFailure.REFUSED, PRIVATE_ADDRESS)
    request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    is_allowed = _host_port(host, port) in allowed_hosts
    addresses = (str(literal),) if literal is not None else _resolve(host, port)
    if not is_allowed:
        for address in addresses:
            if not is_public_address(ipaddress.ip_address(address)):
                logger.warning("fetch refused: %s resolves to a non-public address %s", host, address)
                raise FetchError(FetchFailure.REFUSED, PRIVATE_ADDRESS)
    return Target(parts.scheme, host, port, request_target, addresses)


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _resolve(host: str, port: int) -> tuple[str, ...]:
    """The name's addresses, looked up once: the connection goes to these, never to a second answer."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(FetchFailure.NOT_FOUND_HOST, "The link's host could not be found.") from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if "%" in address:  # a scoped (link-local) IPv6 address
            raise FetchError(FetchFailure.REFUSED, PRIVATE_ADDRESS)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(FetchFailure.NOT_FOUND_HOST, "The link's host could not be found.")
    return tuple(addresses)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global unicast only; an IPv6 address that carries an IPv4 one is judged by that IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        # fec0::/10 (site-local) is deprecated but routed in some networks; ipaddress deems it global.
        if ip in _LOCAL_NAT64 or ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        server, client = ip.teredo
        return client if is_public_address(server) else server
    return None


def fetch_public(
    url: str,
    *,
    max_bytes: int,
    deadline: float,
    accept: Collection[str] | None = None,
    headers: Mapping[str, str] | None = None,
    read_timeout: float | None = None,
    allowed_hosts: Collection[str] | None = None,
    into: BinaryIO | None = None,
) -> Fetched:
    """GET a link from outside through the guard, within `deadline` seconds in all, at most `max_bytes`.

    `into`: a file the body is written to as it arrives (for large files: `Fetched.content` is then empty).

    `accept`: the content types (lower case, no parameters) taken; None takes any. `read_timeout`: the longest
    wait for one read (default: the deadline). `allowed_hosts`: host:port
    pairs let through to private addresses (default: SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS, the simulator's in demo
    mode and tests). Raises FetchError.
    """
    if allowed_hosts is None:
        allowed_hosts = settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS
    request_headers = {"Accept": "*/*", "Accept-Encoding": "identity", **(headers or {})}
    with deadline_after(deadline):
        for _hop in range(MAX_REDIRECTS + 1):
            target = check_url(url, allowed_hosts=allowed_hosts)
            location = _get(
                target,
                url,
                request_headers,
                max_bytes=max_bytes,
                accept=accept,
                read_timeout=deadline if read_timeout is None else read_timeout,
                into=into,
            )
            if isinstance(location, Fetched):
                return location
            # Each hop is checked again: a public link must not bounce us to a private address.
            url = location
    raise FetchError(FetchFailure.TOO_MANY_REDIRECTS, "The link redirected too many times.")


def _get(
    target: Target,
    url: str,
    headers: Mapping[str, str],
    *,
    max_bytes: int,
    accept: Collection[str] | None,
    read_timeout: float,
    into: BinaryIO | None = None,
) -> Fetched | str:
    """One request to the checked addresses: the content, or the next URL to try."""
    connection_class = DeadlineHTTPSConnection if target.scheme == "https" else DeadlineHTTPConnection
    connection = connection_class(target.host, target.port, timeout=settings.SOUNDCLONE_CONNECT_TIMEOUT)
    connection.pinned_addresses = target.addresses
    started = time.monotonic()
    try:
        connection.connect()
        connection.timeout = read_timeout
        connection.request("GET", target.request_target, headers=headers, preload_content=False)
        response = connection.getresponse()
        try:
            logger.info(
                "fetch host=%s status=%s duration_ms=%d",
                target.host,
                response.status,
                (time.monotonic() - started) * 1000,
            )
            location = response.headers.get("Location")
            if response.status in REDIRECT_STATUSES and location:
                return urljoin(url, location)
            if response.status != 200:
                raise FetchError(
                    FetchFailure.STATUS,
                    f"The link answered HTTP {response.status}.",
                    status_code=response.status,
                )
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if accept is not None and content_type not in accept:
                raise FetchError(FetchFailure.WRONG_TYPE, "The link did not return what we asked for.")
            return Fetched(_read_capped(response, max_bytes, into), content_type, url)
        finally:
            response.release_conn()
            response.close()
    except FetchError:
        raise
    except NewConnectionError as exc:  # before its base class, ConnectTimeoutError
        raise FetchError(FetchFailure.UNREACHABLE, "The link's host could not be reached.") from exc
    except (ConnectTimeoutError, ReadTimeoutError, TimeoutError) as exc:
        raise FetchError(FetchFailure.TIMED_OUT, "The link did not answer in time.") from exc
    except (HTTPError, HTTPException, OSError, ValueError) as exc:
        # HTTPException and ValueError: http.client's answers to what is not HTTP (a bad status line, too
        # many headers, a body shorter than announced).
        raise FetchError(FetchFailure.BROKEN, "The connection broke before the answer was complete.") from exc
    finally:
        connection.close()


def _read_capped(response: Any, max_bytes: int, into: BinaryIO | None = None) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(FetchFailure.TOO_LARGE, "The answer is larger than we accept.")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.stream(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(FetchFailure.TOO_LARGE, "The answer is larger than we accept.")
        if into is not None:
            into.write(chunk)
        else:
            chunks.append(chunk)
    return b"".join(chunks)
