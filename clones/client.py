"""The only code that speaks HTTP to the SoundClone service (see docs/upstream-api.md).

One function per remote operation, explicit timeouts from settings, small frozen dataclasses out, and one
exception type, `UpstreamError`, whose `kind` says what went wrong and `is_retryable` whether trying again
later can help. The API key goes into the Authorization header and nowhere else.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import NameResolutionError, NewConnectionError

from clones.models import CloneTask

logger = logging.getLogger(__name__)

CREATE_PATH = "/v1/soundCloning/clones"
RESULT_PATH = "/v1/result/{id}"
MAX_ID_LENGTH = 128
WRAPPER_OK_CODE = 20000

# The service's statuses, translated here and nowhere else.
STATUS_MAP: dict[str, CloneTask.Status] = {
    "queued": CloneTask.Status.QUEUED,
    "processing": CloneTask.Status.PROCESSING,
    "completed": CloneTask.Status.COMPLETED,
    "failed": CloneTask.Status.FAILED,
}


class ErrorKind(enum.StrEnum):
    NOT_SENT = "not_sent"  # the request never left: connection refused, DNS failure
    UNCERTAIN = "uncertain"  # sent, but the answer never came: the service may or may not have acted
    CREDENTIALS = "credentials"  # 401/403: our key was refused
    REJECTED = "rejected"  # 400/422: the service refused the input; its message is for the user
    NOT_FOUND = "not_found"  # 404: the service does not know this task (any more)
    BUSY = "busy"  # 429 and 5xx: temporary
    BAD_RESPONSE = "bad_response"  # an answer we cannot read


RETRYABLE_KINDS = frozenset({ErrorKind.NOT_SENT, ErrorKind.BUSY, ErrorKind.BAD_RESPONSE})


class UpstreamError(Exception):
    """Whatever went wrong talking to the service, with a readable message and whether a retry can help."""

    def __init__(self, kind: ErrorKind, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code

    @property
    def is_retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS

    def __str__(self) -> str:
        code = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"{self.kind}: {self.message}{code}"


@dataclass(frozen=True)
class RemoteTask:
    """A task as the service reports it."""

    id: str
    status: CloneTask.Status
    raw_status: str
    is_known_status: bool
    model_id: str
    audio_url: str
    error: str
    created: int | None
    raw: dict[str, Any]
    http_status: int
    duration_ms: int


def create_clone(*, file_url: str, content_text: str, sound_version: str, language: str) -> RemoteTask:
    """Ask the service to clone the voice in `file_url`; returns the new task (usually queued)."""
    body: dict[str, Any] = {"fileUrl": file_url, "soundVersion": sound_version, "language": language}
    if content_text:
        body["contentText"] = content_text
    return _parse_task(
        _request("POST", CREATE_PATH, json_body=body, read_timeout=settings.SOUNDCLONE_CREATE_TIMEOUT)
    )


def get_task(task_id: str) -> RemoteTask:
    """Query one task by the id the service gave it."""
    if not task_id or len(task_id) > MAX_ID_LENGTH or "/" in task_id:
        raise UpstreamError(ErrorKind.NOT_FOUND, "This task has no valid service id.")
    path = RESULT_PATH.format(id=requests.utils.quote(task_id, safe=""))
    return _parse_task(_request("GET", path, read_timeout=settings.SOUNDCLONE_QUERY_TIMEOUT))


@dataclass(frozen=True)
class _Answer:
    status_code: int
    payload: Any
    duration_ms: int


def _request(method: str, path: str, *, read_timeout: float, json_body: dict | None = None) -> _Answer:
    url = settings.SOUNDCLONE_BASE_URL + path
    headers = {"Authorization": f"Bearer {settings.SOUNDCLONE_API_KEY}", "Accept": "application/json"}
    started = time.monotonic()
    try:
        response = requests.request(
            method,
            url,
            json=json_body,
            headers=headers,
            timeout=(settings.SOUNDCLONE_CONNECT_TIMEOUT, read_timeout),
            allow_redirects=False,
        )
    except requests.exceptions.ConnectTimeout as exc:
        _log_failure(method, path, started, "connect timeout")
        raise UpstreamError(ErrorKind.NOT_SENT, "The voice service could not be reached.") from exc
    except requests.exceptions.ConnectionError as exc:
        if _failed_before_sending(exc):
            _log_failure(method, path, started, "connection refused")
            raise UpstreamError(ErrorKind.NOT_SENT, "The voice service could not be reached.") from exc
        _log_failure(method, path, started, "connection dropped")
        raise UpstreamError(
            ErrorKind.UNCERTAIN, "The connection to the voice service broke before it answered."
        ) from exc
    except requests.exceptions.Timeout as exc:
        _log_failure(method, path, started, "read timeout")
        raise UpstreamError(ErrorKind.UNCERTAIN, "The voice service did not answer in time.") from exc
    except requests.exceptions.RequestException as exc:
        _log_failure(method, path, started, type(exc).__name__)
        raise UpstreamError(
            ErrorKind.NOT_SENT, "The request to the voice service could not be made."
        ) from exc

    duration_ms = int((time.monotonic() - started) * 1000)
    logger.info("upstream %s %s status=%s duration_ms=%s", method, path, response.status_code, duration_ms)
    payload = _decode_json(response)
    if response.status_code >= 400:
        raise _error_for_status(response, payload)
    if payload is _NOT_JSON:
        raise UpstreamError(
            ErrorKind.BAD_RESPONSE,
            "The voice service sent an answer we could not read.",
            status_code=response.status_code,
        )
    return _Answer(response.status_code, _unwrap(payload, response.status_code), duration_ms)


def _failed_before_sending(exc: requests.exceptions.ConnectionError) -> bool:
    """A refused connection or a failed DNS lookup happens before any byte of the request is sent."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


_NOT_JSON = object()


def _decode_json(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _unwrap(payload: Any, status_code: int) -> dict[str, Any]:
    """Accept a bare task object, or one reseller's `{"code": 20000, "msg": ..., "data": {...}}` wrapper."""
    if not isinstance(payload, dict):
        raise UpstreamError(
            ErrorKind.BAD_RESPONSE,
            "The voice service sent an answer we could not read.",
            status_code=status_code,
        )
    if "code" in payload and "data" in payload and "id" not in payload:
        if str(payload["code"]).strip() != str(WRAPPER_OK_CODE):
            message = _message_from(payload) or f"The voice service reported error {payload['code']}."
            raise UpstreamError(_kind_for_wrapped_code(payload["code"]), message, status_code=status_code)
        data = payload["data"]
        if not isinstance(data, dict):
            raise UpstreamError(
                ErrorKind.BAD_RESPONSE, "The voice service sent an empty answer.", status_code=status_code
            )
        return data
    return payload


def _kind_for_wrapped_code(code: Any) -> ErrorKind:
    # The wrapper's codes are undocumented; those shaped like HTTP statuses are read as such.
    text = str(code)
    if text.startswith(("401", "403")):
        return ErrorKind.CREDENTIALS
    if text.startswith("429") or text.startswith("5"):
        return ErrorKind.BUSY
    return ErrorKind.REJECTED


def _message_from(payload: Any) -> str:
    """The contract's order: `message`, `msg`, `error` (string or object with `message`), `detail`."""
    if not isinstance(payload, dict):
        return ""
    for key in ("message", "msg", "error", "detail"):
        value = payload.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value.strip()[:500]
    return ""


def _error_for_status(response: requests.Response, payload: Any) -> UpstreamError:
    code = response.status_code
    message = _message_from(payload) or f"{code} {response.reason or ''}".strip()
    if code in (401, 403):
        logger.error("upstream refused our API key: status=%s", code)
        return UpstreamError(
            ErrorKind.CREDENTIALS,
            "The voice service rejected our credentials: tell your administrator.",
            status_code=code,
        )
    if code in (400, 422):
        return UpstreamError(ErrorKind.REJECTED, message, status_code=code)
    if code == 404:
        return UpstreamError(ErrorKind.NOT_FOUND, message, status_code=code)
    if code == 429 or code >= 500:
        return UpstreamError(
            ErrorKind.BUSY, "The voice service is busy; we will try again.", status_code=code
        )
    return UpstreamError(ErrorKind.BAD_RESPONSE, message, status_code=code)


def _parse_task(answer: _Answer) -> RemoteTask:
    data = answer.payload
    task_id = data.get("id")
    raw_status = data.get("status")
    if not isinstance(task_id, str) or not task_id or len(task_id) > MAX_ID_LENGTH:
        raise UpstreamError(
            ErrorKind.BAD_RESPONSE,
            "The voice service's answer had no task id.",
            status_code=answer.status_code,
        )
    if not isinstance(raw_status, str):
        raw_status = ""
    status = STATUS_MAP.get(raw_status.strip().lower())
    created = data.get("created")
    return RemoteTask(
        id=task_id,
        # An unknown status is still running as far as we can tell: keep polling.
        status=status or CloneTask.Status.PROCESSING,
        raw_status=raw_status[:64],
        is_known_status=status is not None,
        model_id=_opaque_id(data.get("modelId")),
        audio_url=_web_url(data.get("audioUrl")),
        error=_error_text(data.get("error")),
        created=created if isinstance(created, int) else None,
        raw=data,
        http_status=answer.status_code,
        duration_ms=answer.duration_ms,
    )


def _opaque_id(value: Any) -> str:
    if isinstance(value, str) and 0 < len(value.strip()) <= MAX_ID_LENGTH:
        return value.strip()
    return ""


def _web_url(value: Any) -> str:
    """Only an http(s) URL with a host is ever kept: nothing else may end up in a page's `src`."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return value


def _error_text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("message")
    if isinstance(value, str):
        return value.strip()[:1000]
    return ""


def _log_failure(method: str, path: str, started: float, what: str) -> None:
    duration_ms = int((time.monotonic() - started) * 1000)
    logger.warning("upstream %s %s failed=%s duration_ms=%s", method, path, what, duration_ms)


@dataclass(frozen=True)
class DownloadedAudio:
    """A preview fetched from the service's storage."""

    content: bytes
    content_type: str


AUDIO_CONTENT_TYPES = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/aac": "aac",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/flac": "flac",
    "audio/webm": "webm",
}
MAX_REDIRECTS = 3


def download_preview(url: str) -> DownloadedAudio:
    """Fetch a preview's audio safely: http(s) only, public addresses only, size-capped, audio only."""
    for _hop in range(MAX_REDIRECTS + 1):
        _check_public_url(url)
        started = time.monotonic()
        try:
            response = requests.get(
                url,
                stream=True,
                timeout=(settings.SOUNDCLONE_CONNECT_TIMEOUT, settings.SOUNDCLONE_ARCHIVE_TIMEOUT),
                allow_redirects=False,
                headers={"Accept": "audio/*"},
            )
        except requests.exceptions.RequestException as exc:
            raise UpstreamError(ErrorKind.NOT_SENT, "The preview could not be downloaded.") from exc
        with response:
            if response.is_redirect and "Location" in response.headers:
                # Each hop is checked again: a public link must not bounce us to a private address.
                url = requests.compat.urljoin(url, response.headers["Location"])
                continue
            logger.info(
                "preview download status=%s duration_ms=%d",
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            if response.status_code == 404:
                raise UpstreamError(
                    ErrorKind.NOT_FOUND, "The preview is no longer available.", status_code=404
                )
            if response.status_code != 200:
                raise UpstreamError(
                    ErrorKind.BUSY, "The preview could not be downloaded.", status_code=response.status_code
                )
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in AUDIO_CONTENT_TYPES:
                raise UpstreamError(ErrorKind.BAD_RESPONSE, "The preview link did not return audio.")
            return DownloadedAudio(_read_capped(response), content_type)
    raise UpstreamError(ErrorKind.BAD_RESPONSE, "The preview link redirected too many times.")


def _read_capped(response: requests.Response) -> bytes:
    limit = settings.SOUNDCLONE_ARCHIVE_MAX_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UpstreamError(ErrorKind.BAD_RESPONSE, "The preview is larger than we accept.")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        size += len(chunk)
        if size > limit:
            raise UpstreamError(ErrorKind.BAD_RESPONSE, "The preview is larger than we accept.")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_public_url(url: str) -> None:
    """Refuse anything but http(s) to a public address (or a host the settings explicitly allow)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamError(ErrorKind.BAD_RESPONSE, "The preview link is not a web address.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UpstreamError(ErrorKind.BAD_RESPONSE, "The preview link is not a web address.") from exc
    if f"{parts.hostname}:{port}" in settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except OSError as exc:
        raise UpstreamError(ErrorKind.NOT_SENT, "The preview's host could not be found.") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            logger.warning("preview download refused: %s resolves to a non-public address", parts.hostname)
            raise UpstreamError(ErrorKind.BAD_RESPONSE, "The preview link points at a private address.")
