"""The only code that speaks HTTP to the SoundClone service (contract and decisions: docs/upstream-api.md).

One function per remote operation, each bounded by a total deadline from settings (connect, headers and body
together, not just each read), small frozen dataclasses out, and one exception type, `UpstreamError`, whose
`kind` says what went wrong and `service_said` what the service itself answered. Answers are read up to
MAX_ANSWER_BYTES; everything kept from one (the stored copy, the status, the error, the messages) is free of
NUL characters, has our key redacted and is length-capped. The API key goes into the Authorization header and
nowhere else. Links from the service (the preview audio) are fetched through the guard in clones/fetch.py.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, NewConnectionError, ReadTimeoutError

from clones import fetch
from clones.models import CloneTask
from soundclone_site.logging import redact

logger = logging.getLogger(__name__)

CREATE_PATH = "/v1/soundCloning/clones"
SPEECH_PATH = "/v1/soundCloning/audios"
RESULT_PATH = "/v1/result/{id}"
MAX_ID_LENGTH = 128
WRAPPER_OK_CODE = 20000
# A task answer is a few hundred bytes; 1 MB is generous, and more is not a task answer (one of 50 MB was
# once stored on every poll).
MAX_ANSWER_BYTES = 1024 * 1024
# What we keep of an answer for staff to read (`last_response`): beyond this, a truncated text copy.
MAX_STORED_ANSWER_BYTES = 16 * 1024
# A task answer is flat; nesting deeper than this is not one (and deep nesting breaks recursive code).
MAX_NESTING = 32
MAX_MESSAGE_LENGTH = 500
MAX_ERROR_LENGTH = 1000
MAX_STATUS_LENGTH = 64
MAX_SERVICE_SAID_LENGTH = 200
MAX_AUDIO_URL_LENGTH = 2048

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


class UpstreamError(Exception):
    """Whatever went wrong talking to the service: a readable message, and what the service itself said."""

    def __init__(
        self, kind: ErrorKind, message: str, *, status_code: int | None = None, service_said: str = ""
    ) -> None:
        message = safe_text(message, MAX_MESSAGE_LENGTH)
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        # A short excerpt of the service's own answer (its message, or "HTTP 503", "not JSON", "no answer"),
        # for staff to read while status checks keep failing.
        self.service_said = safe_text(service_said, MAX_SERVICE_SAID_LENGTH)

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
    raw: dict[str, Any]  # the safe stored copy of the answer (see safe_stored_copy)
    http_status: int
    duration_ms: int
    # Speech tasks with subtitles: the subtitle file's link (http(s) only), once completed.
    subtitle_url: str = ""


def create_clone(*, file_url: str, content_text: str, sound_version: str, language: str) -> RemoteTask:
    """Ask the service to clone the voice in `file_url`; returns the new task (usually queued)."""
    body: dict[str, Any] = {"fileUrl": file_url, "soundVersion": sound_version, "language": language}
    if content_text:
        body["contentText"] = content_text
    answer = _request(
        "POST",
        CREATE_PATH,
        json_body=body,
        read_timeout=settings.SOUNDCLONE_CREATE_TIMEOUT,
        deadline=settings.SOUNDCLONE_CREATE_DEADLINE,
    )
    return _parse_task(answer)


def create_speech(
    *,
    model_id: str,
    text: str,
    sound_version: str,
    language: str,
    emotion: str,
    speed: float | Decimal,
    vol: float | Decimal,
    pitch: int,
    subtitle_enable: bool,
    subtitle_type: str = "",
) -> RemoteTask:
    """Ask the service to speak `text` in the cloned voice `model_id`; returns the new task (usually queued).

    The voice's version and language are always sent (the service's defaults need not match the voice).
    `subtitle_type` "word" asks for word timings; anything else with `subtitle_enable` gives sentences.
    """
    body: dict[str, Any] = {
        "modelId": model_id,
        "contentText": text,
        "soundVersion": sound_version,
        "language": language,
        "emotion": emotion,
        "speed": float(speed),
        "vol": float(vol),
        "pitch": int(pitch),
        "subtitleEnable": bool(subtitle_enable),
    }
    if subtitle_enable and subtitle_type == "word":
        body["subtitleType"] = "word"
    answer = _request(
        "POST",
        SPEECH_PATH,
        json_body=body,
        read_timeout=settings.SOUNDCLONE_CREATE_TIMEOUT,
        deadline=settings.SOUNDCLONE_CREATE_DEADLINE,
    )
    return _parse_task(answer)


def get_task(task_id: str) -> RemoteTask:
    """Query one task by the id the service gave it."""
    if not task_id or len(task_id) > MAX_ID_LENGTH or "/" in task_id:
        raise UpstreamError(ErrorKind.NOT_FOUND, "This task has no valid service id.")
    path = RESULT_PATH.format(id=quote(task_id, safe=""))
    answer = _request(
        "GET",
        path,
        read_timeout=settings.SOUNDCLONE_QUERY_TIMEOUT,
        deadline=settings.SOUNDCLONE_QUERY_DEADLINE,
    )
    return _parse_task(answer)


# --- Safe copies of what the service says ------------------------------------------------------------------


def safe_text(value: str, limit: int) -> str:
    """The text without NULs or lone surrogates (PostgreSQL refuses both), our key redacted, capped."""
    cleaned = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    # Redacted before it is cut, so that no prefix of a key survives.
    return redact(cleaned).strip()[:limit]


def safe_stored_copy(data: dict[str, Any]) -> dict[str, Any]:
    """An answer fit to store and show: clean strings (keys too), and a truncated text beyond 16 KB."""
    copy = _clean(data)
    text = json.dumps(copy, ensure_ascii=False)
    encoded = text.encode("utf-8")
    if len(encoded) <= MAX_STORED_ANSWER_BYTES:
        return copy
    return {"truncated": True, "text": encoded[:MAX_STORED_ANSWER_BYTES].decode("utf-8", "ignore")}


def _clean(value: Any) -> Any:
    # Answers are at most MAX_NESTING deep (checked when read), so this recursion is bounded.
    if isinstance(value, dict):
        return {_clean_string(str(key)): _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, str):
        return _clean_string(value)
    return value


def _clean_string(value: str) -> str:
    return redact(value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8"))


# --- The request -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status_code: int
    payload: dict[str, Any]
    duration_ms: int


def _request(
    method: str, path: str, *, read_timeout: float, deadline: float, json_body: dict | None = None
) -> _Answer:
    url = settings.SOUNDCLONE_BASE_URL + path
    headers = {"Authorization": f"Bearer {settings.SOUNDCLONE_API_KEY}", "Accept": "application/json"}
    started = time.monotonic()
    with requests.Session() as session, fetch.deadline_after(deadline):
        session.mount("http://", fetch.DeadlineAdapter())
        session.mount("https://", fetch.DeadlineAdapter())
        try:
            response = session.request(
                method,
                url,
                json=json_body,
                headers=headers,
                timeout=(settings.SOUNDCLONE_CONNECT_TIMEOUT, read_timeout),
                allow_redirects=False,
                stream=True,
            )
            with response:
                body = _read_bounded(response)
        except UpstreamError:
            raise
        except requests.exceptions.ConnectTimeout as exc:
            raise _failure(method, path, started, "connect timeout", ErrorKind.NOT_SENT) from exc
        except requests.exceptions.ConnectionError as exc:
            if _failed_before_sending(exc):
                raise _failure(method, path, started, "connection refused", ErrorKind.NOT_SENT) from exc
            if _timed_out(exc):
                raise _failure(method, path, started, "read timeout", ErrorKind.UNCERTAIN) from exc
            raise _failure(method, path, started, "connection dropped", ErrorKind.UNCERTAIN) from exc
        except (requests.exceptions.Timeout, ReadTimeoutError, TimeoutError) as exc:
            raise _failure(method, path, started, "read timeout", ErrorKind.UNCERTAIN) from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise _failure(method, path, started, "connection dropped", ErrorKind.UNCERTAIN) from exc
        except requests.exceptions.RequestException as exc:
            # requests refused to build or send it (a bad URL or header): nothing left.
            raise _failure(method, path, started, type(exc).__name__, ErrorKind.NOT_SENT) from exc
        except (Urllib3Error, OSError) as exc:
            # While reading the body: urllib3's own errors (a broken chunk, a connection reset).
            raise _failure(method, path, started, "connection dropped", ErrorKind.UNCERTAIN) from exc

    duration_ms = int((time.monotonic() - started) * 1000)
    status_code = response.status_code
    logger.info("upstream %s %s status=%s duration_ms=%s", method, path, status_code, duration_ms)
    payload = _decode_json(body)
    if status_code >= 400:
        raise _error_for_status(status_code, response.reason, payload)
    if payload is _NOT_JSON:
        raise _bad_response("The voice service sent an answer we could not read.", status_code, "not JSON")
    if payload is _TOO_DEEP:
        raise _bad_response("The voice service sent an answer we could not read.", status_code, "deep JSON")
    return _Answer(status_code, _unwrap(payload, status_code), duration_ms)


_FAILURE_MESSAGES = {
    "connect timeout": "The voice service could not be reached.",
    "connection refused": "The voice service could not be reached.",
    "read timeout": "The voice service did not answer in time.",
    "connection dropped": "The connection to the voice service broke before it answered.",
}
_FAILURE_SAID = {
    "connect timeout": "no connection",
    "connection refused": "no connection",
    "read timeout": "no answer in time",
    "connection dropped": "connection broken",
}


def _failure(method: str, path: str, started: float, what: str, kind: ErrorKind) -> UpstreamError:
    duration_ms = int((time.monotonic() - started) * 1000)
    logger.warning("upstream %s %s failed=%s duration_ms=%s", method, path, what, duration_ms)
    return UpstreamError(
        kind,
        _FAILURE_MESSAGES.get(what, "The request to the voice service could not be made."),
        service_said=_FAILURE_SAID.get(what, "no request made"),
    )


def _failed_before_sending(exc: requests.exceptions.ConnectionError) -> bool:
    """A refused connection or a failed DNS lookup happens before any byte of the request is sent."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _timed_out(exc: requests.exceptions.ConnectionError) -> bool:
    """requests reports a read timeout in the body as a ConnectionError around urllib3's ReadTimeoutError."""
    return bool(exc.args) and isinstance(exc.args[0], ReadTimeoutError)


def _read_bounded(response: requests.Response) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise _too_large(response.status_code)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.raw.stream(64 * 1024, decode_content=True):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise _too_large(response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(status_code: int) -> UpstreamError:
    return _bad_response("The voice service sent an answer larger than we accept.", status_code, "over 1 MB")


def _bad_response(message: str, status_code: int, what: str) -> UpstreamError:
    return UpstreamError(
        ErrorKind.BAD_RESPONSE, message, status_code=status_code, service_said=_said(status_code, what)
    )


def _said(status_code: int, excerpt: str) -> str:
    """What the service answered, for staff: "HTTP 401: Invalid API key", "HTTP 200: not JSON", "HTTP 503"."""
    return f"HTTP {status_code}: {excerpt}" if excerpt else f"HTTP {status_code}"


_NOT_JSON = object()
_TOO_DEEP = object()


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL refuses them in a JSON column.
    raise ValueError(f"{name} is not JSON")


def _decode_json(body: bytes) -> Any:
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        return _TOO_DEEP
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON
    return _TOO_DEEP if _nesting(payload) > MAX_NESTING else payload


def _nesting(payload: Any) -> int:
    """How deeply lists and objects nest in the answer (counted without recursion)."""
    deepest = 0
    pending = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _unwrap(payload: Any, status_code: int) -> dict[str, Any]:
    """Accept a bare task object, or one reseller's `{"code": 20000, "msg": ..., "data": {...}}` wrapper."""
    if not isinstance(payload, dict):
        raise _bad_response(
            "The voice service sent an answer we could not read.", status_code, "not an object"
        )
    if "code" in payload and "data" in payload and "id" not in payload:
        code = safe_text(str(payload["code"]), MAX_STATUS_LENGTH)
        if code != str(WRAPPER_OK_CODE):
            said = _message_from(payload)
            message = said or f"The voice service reported error {code}."
            kind = _kind_for_wrapped_code(code)
            if kind == ErrorKind.CREDENTIALS:
                logger.error("upstream refused our API key: wrapped code=%s", code)
                message = CREDENTIALS_MESSAGE
            service_said = f"code {code}: {said}" if said else f"code {code}"
            raise UpstreamError(kind, message, status_code=status_code, service_said=service_said)
        data = payload["data"]
        if not isinstance(data, dict):
            raise _bad_response("The voice service sent an empty answer.", status_code, "no data")
        return data
    return payload


def _kind_for_wrapped_code(code: str) -> ErrorKind:
    # The wrapper's codes are undocumented; those shaped like HTTP statuses are read as such.
    if code.startswith(("401", "403")):
        return ErrorKind.CREDENTIALS
    if code.startswith(("429", "5")):
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
        if isinstance(value, str):
            text = safe_text(value, MAX_MESSAGE_LENGTH)
            if text:
                return text
    return ""


CREDENTIALS_MESSAGE = "The voice service rejected our credentials: tell your administrator."
BUSY_MESSAGE = "The voice service is busy; we will try again."


def _error_for_status(code: int, reason: str | None, payload: Any) -> UpstreamError:
    said = _message_from(payload)
    service_said = _said(code, said)
    message = said or f"{code} {reason or ''}".strip()
    if code in (401, 403):
        logger.error("upstream refused our API key: status=%s", code)
        return UpstreamError(
            ErrorKind.CREDENTIALS, CREDENTIALS_MESSAGE, status_code=code, service_said=service_said
        )
    if code in (400, 422):
        return UpstreamError(ErrorKind.REJECTED, message, status_code=code, service_said=service_said)
    if code == 404:
        return UpstreamError(ErrorKind.NOT_FOUND, message, status_code=code, service_said=service_said)
    if code == 429 or code >= 500:
        return UpstreamError(ErrorKind.BUSY, BUSY_MESSAGE, status_code=code, service_said=service_said)
    return UpstreamError(ErrorKind.BAD_RESPONSE, message, status_code=code, service_said=service_said)


def _parse_task(answer: _Answer) -> RemoteTask:
    data = answer.payload
    task_id = _opaque_id(data.get("id"))
    if not task_id:
        raise _bad_response("The voice service's answer had no task id.", answer.status_code, "no task id")
    raw_status = data.get("status")
    raw_status = safe_text(raw_status, MAX_STATUS_LENGTH) if isinstance(raw_status, str) else ""
    status = STATUS_MAP.get(raw_status.lower())
    return RemoteTask(
        id=task_id,
        # An unknown status is still running as far as we can tell: keep polling.
        status=status or CloneTask.Status.PROCESSING,
        raw_status=raw_status,
        is_known_status=status is not None,
        model_id=_opaque_id(data.get("modelId")),
        audio_url=_web_url(data.get("audioUrl")),
        subtitle_url=_web_url(data.get("subtitleFile")),
        error=_error_text(data.get("error")),
        raw=safe_stored_copy(data),
        http_status=answer.status_code,
        duration_ms=answer.duration_ms,
    )


def _opaque_id(value: Any) -> str:
    """An id is kept as given, up to 128 printable characters; anything else is no id at all."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if 0 < len(value) <= MAX_ID_LENGTH and value.isprintable():
        return value
    return ""


def _web_url(value: Any) -> str:
    """Only an http(s) URL with a host is ever kept: nothing else may end up in a page's `src`."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > MAX_AUDIO_URL_LENGTH or not value.isprintable() or " " in value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return value


def _error_text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("message")
    if isinstance(value, str):
        return safe_text(value, MAX_ERROR_LENGTH)
    return ""


# --- Preview audio -----------------------------------------------------------------------------------------


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

# How each refusal of the guard reads for a preview copy, and what kind of failure it is.
_DOWNLOAD_FAILURES: dict[fetch.FetchFailure, tuple[ErrorKind, str]] = {
    fetch.FetchFailure.REFUSED: (ErrorKind.BAD_RESPONSE, "The preview link points at a private address."),
    fetch.FetchFailure.NOT_FOUND_HOST: (ErrorKind.NOT_SENT, "The preview's host could not be found."),
    fetch.FetchFailure.UNREACHABLE: (ErrorKind.NOT_SENT, "The preview could not be downloaded."),
    fetch.FetchFailure.TIMED_OUT: (ErrorKind.BUSY, "The preview did not download in time."),
    fetch.FetchFailure.BROKEN: (ErrorKind.BUSY, "The preview download broke off."),
    fetch.FetchFailure.STATUS: (ErrorKind.BUSY, "The preview could not be downloaded."),
    fetch.FetchFailure.WRONG_TYPE: (ErrorKind.BAD_RESPONSE, "The preview link did not return audio."),
    fetch.FetchFailure.TOO_LARGE: (ErrorKind.BAD_RESPONSE, "The preview is larger than we accept."),
    fetch.FetchFailure.TOO_MANY_REDIRECTS: (
        ErrorKind.BAD_RESPONSE,
        "The preview link redirected too many times.",
    ),
}


def download_preview(url: str) -> DownloadedAudio:
    """Fetch a preview's audio through the URL guard: public addresses only, size-capped, audio only."""
    try:
        fetched = fetch.fetch_public(
            url,
            max_bytes=settings.SOUNDCLONE_ARCHIVE_MAX_BYTES,
            deadline=settings.SOUNDCLONE_ARCHIVE_DEADLINE,
            read_timeout=settings.SOUNDCLONE_ARCHIVE_TIMEOUT,
            accept=AUDIO_CONTENT_TYPES,
            headers={"Accept": "audio/*"},
        )
    except fetch.FetchError as exc:
        message = _DOWNLOAD_FAILURES[exc.kind][1]
        if exc.kind == fetch.FetchFailure.REFUSED and exc.message == fetch.NOT_A_WEB_ADDRESS:
            message = "The preview link is not a web address."
        raise _download_error(exc, message, gone="The preview is no longer available.") from exc
    return DownloadedAudio(fetched.content, fetched.content_type)


def _download_error(exc: fetch.FetchError, message: str, *, gone: str) -> UpstreamError:
    """A failed download of the service's file as an UpstreamError: a 404 means the file is gone (`gone`),
    anything else keeps the kind _DOWNLOAD_FAILURES gives it, with `message`."""
    said = f"HTTP {exc.status_code}" if exc.status_code else ""
    if exc.status_code == 404:
        return UpstreamError(ErrorKind.NOT_FOUND, gone, status_code=404, service_said=said)
    kind, _default_message = _DOWNLOAD_FAILURES[exc.kind]
    return UpstreamError(kind, message, status_code=exc.status_code, service_said=said)


# --- Subtitle files (speech tasks) -------------------------------------------------------------------------

# A subtitle file is timings for at most 10,000 characters of text: a few hundred KB at most as JSON.
MAX_SUBTITLE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class DownloadedFile:
    """A file fetched from the service's storage (a subtitle file)."""

    content: bytes
    content_type: str


def download_subtitles(url: str) -> DownloadedFile:
    """Fetch a speech task's subtitle file through the URL guard: public addresses only, at most 2 MB.

    Its format is undocumented, so any content type is taken and the file is kept as the service gave it.
    """
    try:
        fetched = fetch.fetch_public(
            url,
            max_bytes=MAX_SUBTITLE_BYTES,
            deadline=settings.SOUNDCLONE_ARCHIVE_DEADLINE,
            read_timeout=settings.SOUNDCLONE_ARCHIVE_TIMEOUT,
            accept=None,
            headers={"Accept": "application/json, text/*;q=0.9, */*;q=0.5"},
        )
    except fetch.FetchError as exc:
        raise _download_error(
            exc,
            "The subtitle file could not be downloaded.",
            gone="The subtitle file is no longer available.",
        ) from exc
    return DownloadedFile(fetched.content, fetched.content_type)
