"""A stand-in for the SoundClone service, for development, demos and tests.

It follows docs/upstream-api.md (our account of the contract): the same routes under the same
``/kyyReactApiServer`` prefix, the same bearer-token auth, the same validation, and tasks that move ``queued``
-> ``processing`` -> ``completed`` on a clock. The logic lives in plain functions (``handle_create``,
``handle_result``, ``handle_audio``) over a ``SimulatorState`` with an injectable clock; ``make_wsgi_app`` and
``serve_in_thread`` are a thin WSGI wrapper that only routes, sleeps ``SimResponse.delay_seconds`` and writes
the response. Standard library only (but for measuring a downloaded clip, below), so it imports without Django
settings.

Routes (relative to the server root)::

    POST /kyyReactApiServer/v1/soundCloning/clones   create a clone preview task (bearer auth)
    POST /kyyReactApiServer/v1/soundCloning/audios   generate speech with a cloned voice (bearer auth)
    GET  /kyyReactApiServer/v1/result/<id>           query a task (bearer auth)
    GET  /kyyReactApiServer/files/<id>.wav           the preview audio: a "signed" public link, no auth,
                                                     honours one ``Range: bytes=a-b`` (206, for seeking)
    GET  /kyyReactApiServer/files/speech/<id>.wav    a speech task's audio, signed the same way
    GET  /kyyReactApiServer/files/speech/<id>.json   its subtitle file, when asked for, signed the same way
    anything else                                    404 ``{"message": "Not Found"}``

Auth: ``Authorization: Bearer <key>``. Missing, malformed, or different from ``SimulatorConfig.api_key`` (when
that is set; ``""`` accepts any non-empty token) -> 401 ``{"message": "Invalid API key"}``.

``SimulatorState.request_log`` records ``(method, path)`` of every API request (create and result, refused
ones too; never audio downloads), with the path relative to the base URL, e.g.
``("GET", "/v1/result/audio_…")``.

Failures are deterministic: they are asked for with the ``sim`` query parameter of the task's ``fileUrl``, a
comma-separated list of markers, e.g. ``https://example.com/clip.mp3?sim=fail`` or
``https://example.com/clip.mp3?sim=wrapped,poll-500-once``. An unknown marker is refused with a 400, so that a
typo never silently turns into the happy path.

====================  =============  ======================================================================
marker                applies to     effect
====================  =============  ======================================================================
create-400            create         400 ``{"message": "The audio must contain 15 to 60 seconds of speech"}``
create-401            create         401 ``{"message": "Invalid API key"}``
create-403            create         403 ``{"message": "This API key may not use soundCloning"}``
create-422            create         422 ``{"detail": "fileUrl could not be downloaded"}``
create-429            create         429 ``{"msg": "Too many requests"}``
create-500            create         500 ``{"error": {"message": "Internal error"}}``
create-503            create         503 with an HTML body (a proxy's error page)
create-slow           create         answers normally after ``slow_seconds``; the task IS created
create-hang           create         answers normally only after ``hang_seconds`` (300 s), as a hung
                                     service would; the task IS created
create-notjson        create         200 ``<html>oops</html>`` as text/html; the task IS created
create-wrapped-error  create         200 ``{"code": 40001, "msg": "Insufficient balance", "data": null}``;
                                     no task is created
wrapped               create, query  success bodies as ``{"code": 20000, "msg": "ok", "data": <task>}``
wrapped-str           create, query  the same with ``"code": "20000"`` (a string)
fail                  query          when processing would end: status ``failed``, error
                                     ``"The audio does not contain enough clear speech"``, no audio
poll-401              query          every query: 401 ``{"message": "Invalid API key"}``
poll-404              query          every query: 404 ``{"message": "Task not found"}``
poll-429              query          every query: 429 ``{"msg": "Too many requests"}``
poll-500              query          every query: 500 ``{"error": {"message": "Internal error"}}``
poll-notjson          query          every query: 200 ``<html>oops</html>`` as text/html
poll-slow             query          every query answers normally after ``slow_seconds``
poll-429-once         query          only the first query of the task: as poll-429
poll-500-once         query          only the first query of the task: as poll-500
unknown-status        query          while it would be processing, status ``training`` instead
no-audio              query          completed, but ``modelId`` and ``audioUrl`` are null
====================  =============  ======================================================================

Speech (``handle_speech``) validates every field as docs/upstream-api.md section 3 says (400 with a message):
``modelId`` must be a completed preview's, still within 3 days of that preview (``MODEL_ID_LIFETIME_SECONDS``,
on ``SimulatorConfig.clock``) unless an earlier generation with it has completed, which makes it permanent.
The audio lasts 0.06 s a character (divided by ``speed``) plus the pauses (at most ``MAX_SPEECH_SECONDS``, all
scaled down beyond that); the subtitle file is JSON ``{"sentences"|"words": [{"text", "start", "end"}]}`` in
milliseconds, contiguous from 0 to the audio's length. Speech markers go in the text itself, as
``[sim:marker,marker]`` (the same create and query markers as above; ``no-audio`` drops audio and subtitles).

Studio-hosted clips: when the ``fileUrl``'s host is one of ``SimulatorConfig.download_hosts`` (loopback:
``127.0.0.1``, ``localhost``, ``::1``; where the studio serves its clips in demo mode and tests), create
downloads the clip as the real service would, before it takes the lock: redirects followed among those hosts
only, a total deadline (``download_deadline_seconds``, 10 s, headers included), a size cap
(``download_max_bytes``, 200 MB), the body streamed to a temporary file that is always removed. It then
measures the file with ``clones.media.measure_speech`` (imported only then: PyAV; everything else here is the
standard library). The task records ``received_clip`` (the exact bytes, when at most 20 MB),
``received_sha256``, ``received_seconds``, ``received_speech_seconds`` and ``download_error`` (why, in the
simulator's words), and when processing would end it fails, as the ``fail`` marker does, with the error
``"fileUrl could not be downloaded"`` (not status 200, over the cap, past the deadline, or not decodable
media, e.g. a web page) or ``"The audio must contain 15 to 60 seconds of speech"`` (speech not strictly
between 15 and 60 s). Links to any other host are never fetched (the outside world cannot be reached here):
they behave as before.

Markers on create are applied after auth and validation (a refused request never reaches them). Error bodies
are never wrapped. Test helpers: ``SimulatorState.forget_audio(id)`` makes the task's audio URL answer 404 (to
test our archived copy), ``forget_task(id)`` makes ``GET /v1/result/{id}`` answer 404, ``reset()`` drops every
task and the request log.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http
import http.client
import json
import math
import os
import re
import secrets
import socket
import socketserver
import sys
import tempfile
import threading
import time
import traceback
import uuid
import wave
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urljoin, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

# Copies of the app's rules (clones/forms.py, clones/languages.py), because the simulator must import without
# Django; tests/test_simulator.py fails the moment a copy differs from the app's.
DEFAULT_CONTENT_TEXT = "在森林的深处,阳光透过树梢洒落,鸟儿的歌声交织成一曲美妙的乐章,诉说着大自然无尽的美丽。"

API_PREFIX = "/kyyReactApiServer"
CONTENT_TEXT_LIMIT = 270  # the service wants "fewer than 270 characters": 269 code points pass
AUDIO_URL_LIFETIME_SECONDS = 24 * 60 * 60
FAILURE_MESSAGE = "The audio does not contain enough clear speech"
SPEECH_LENGTH_MESSAGE = "The audio must contain 15 to 60 seconds of speech"
DOWNLOAD_FAILED_MESSAGE = "fileUrl could not be downloaded"
MIN_SPEECH_SECONDS = 15.0  # a downloaded clip's speech must be strictly between these two
MAX_SPEECH_SECONDS_OF_CLIP = 60.0
KEPT_CLIP_BYTES = 20 * 1024 * 1024  # SimTask.received_clip keeps a clip up to this size (else only its hash)
MAX_REDIRECTS = 5

V1_LANGUAGES = (
    "Chinese",
    "Chinese,Yue",
    "English",
    "Arabic",
    "Russian",
    "Spanish",
    "French",
    "Portuguese",
    "German",
    "Turkish",
    "Dutch",
    "Ukrainian",
    "Vietnamese",
    "Indonesian",
    "Japanese",
    "Italian",
    "Korean",
    "Thai",
    "Polish",
    "Romanian",
    "Greek",
    "Czech",
    "Finnish",
    "Hindi",
)
V2_ONLY_LANGUAGES = (
    "Bulgarian",
    "Danish",
    "Hebrew",
    "Malay",
    "Persian",
    "Slovak",
    "Swedish",
    "Croatian",
    "Filipino",
    "Hungarian",
    "Norwegian",
    "Slovenian",
    "Catalan",
    "Nynorsk",
    "Tamil",
    "Afrikaans",
)
LANGUAGES_BY_VERSION: dict[str, frozenset[str]] = {
    "v1": frozenset(V1_LANGUAGES),
    "v2": frozenset((*V1_LANGUAGES, *V2_ONLY_LANGUAGES, "auto")),
}

CREATE_MARKERS = frozenset(
    {
        "create-400",
        "create-401",
        "create-403",
        "create-422",
        "create-429",
        "create-500",
        "create-503",
        "create-slow",
        "create-hang",
        "create-notjson",
        "create-wrapped-error",
    }
)
QUERY_MARKERS = frozenset(
    {
        "fail",
        "poll-401",
        "poll-404",
        "poll-429",
        "poll-500",
        "poll-notjson",
        "poll-slow",
        "poll-429-once",
        "poll-500-once",
        "unknown-status",
        "no-audio",
    }
)
BOTH_MARKERS = frozenset({"wrapped", "wrapped-str"})
KNOWN_MARKERS = CREATE_MARKERS | QUERY_MARKERS | BOTH_MARKERS

NOT_JSON_BODY = b"<html>oops</html>"
SERVICE_UNAVAILABLE_HTML = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
    b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class SimulatorConfig:
    api_key: str = ""  # "" = accept any non-empty bearer token
    queued_seconds: float = 2.0  # time a task stays queued
    processing_seconds: float = 6.0  # time it then stays processing
    slow_seconds: float = 3.0  # how long the "slow" markers sleep before answering
    hang_seconds: float = 300.0  # how long "create-hang" sleeps: longer than any deadline of ours
    clock: Callable[[], float] = time.time  # injectable clock (Unix seconds)
    sleep: Callable[[float], None] = time.sleep
    audio_seconds: float = 3.0  # length of the generated preview audio
    # Clips on these hosts ("studio-hosted" in demo mode and tests) are downloaded and measured on create.
    download_hosts: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})
    download_deadline_seconds: float = 10.0  # the whole download, from connecting to the last byte
    download_max_bytes: int = 200 * 1024 * 1024


@dataclass(frozen=True)
class SimResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    delay_seconds: float = 0.0  # the WSGI wrapper sleeps this long before answering ("slow" markers)
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class SimTask:
    id: str
    created_at: float  # the precise clock reading; the API shows int(created_at)
    model_id: str  # handed out once completed; fixed at creation so it is stable per task
    payload: dict[str, Any]  # the create body exactly as received, for tests to inspect
    file_url: str
    content_text: str  # the effective line: DEFAULT_CONTENT_TEXT when none was sent
    sound_version: str
    language: str
    markers: frozenset[str]
    query_count: int = 0
    is_audio_forgotten: bool = False
    is_task_forgotten: bool = False
    audio: bytes | None = field(default=None, repr=False)  # generated on the first download
    # A studio-hosted clip, as the simulator downloaded it (all None for links it does not download):
    received_clip: bytes | None = field(default=None, repr=False)  # the exact bytes, up to KEPT_CLIP_BYTES
    received_sha256: str | None = None
    received_seconds: float | None = None
    received_speech_seconds: float | None = None
    download_error: str | None = None  # why the download or the decoding failed, in the simulator's words
    failure: str | None = None  # the error the task fails with when processing would end


class SimulatorState:
    """The simulator's tasks and configuration; every handler holds the lock while it reads or writes."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.tasks: dict[str, SimTask] = {}
        self.speech_tasks: dict[str, SimSpeechTask] = {}
        self.request_log: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        # Signs audio URLs; random per run, like a real signed link it means nothing outside this process.
        self.signing_key = secrets.token_bytes(16)

    def forget_audio(self, task_id: str) -> None:
        """The audio URL of that task answers 404 from now on."""
        with self.lock:
            self._task_or_key_error(task_id).is_audio_forgotten = True

    def forget_task(self, task_id: str) -> None:
        """``GET /v1/result/{task_id}`` answers 404 from now on."""
        with self.lock:
            if task_id in self.speech_tasks:
                self.speech_tasks[task_id].is_task_forgotten = True
                return
            self._task_or_key_error(task_id).is_task_forgotten = True

    def reset(self) -> None:
        """Drop every task and the request log (for a simulator shared by several tests)."""
        with self.lock:
            self.tasks.clear()
            self.speech_tasks.clear()
            self.request_log.clear()

    def _task_or_key_error(self, task_id: str) -> SimTask:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise KeyError(f"the simulator has no task {task_id!r}") from None


# --- the pure handlers ----------------------------------------------------------------------------


def _authorized_json(
    state: SimulatorState, path: str, authorization: str | None, body: bytes
) -> dict[str, Any] | SimResponse:
    """Log a create request, check its bearer token and read its JSON object; or the refusal to answer."""
    state.request_log.append(("POST", path))
    if not _is_authorized(state, authorization):
        return _json_response(401, {"message": "Invalid API key"})
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        payload = None
    if not isinstance(payload, dict):
        return _json_response(400, {"message": "Request body must be JSON"})
    return payload


@dataclass(frozen=True)
class _CreateRequest:
    """A create request that passed auth, validation and the create markers."""

    payload: dict[str, Any]
    file_url: str
    content_text: str | None
    sound_version: str
    language: str
    markers: frozenset[str]


def handle_create(
    state: SimulatorState, *, authorization: str | None, body: bytes, base_url: str
) -> SimResponse:
    """``POST /v1/soundCloning/clones``.

    A clip on one of ``SimulatorConfig.download_hosts`` is downloaded and measured between two holds of the
    lock (never over the network while holding it); see "Studio-hosted clips" in the module's docstring.
    """
    with state.lock:
        request = _checked_create(state, authorization, body)
    if isinstance(request, SimResponse):
        return request
    received = (
        receive_clip(request.file_url, state.config)
        if is_downloaded(state.config, request.file_url)
        else None
    )

    with state.lock:
        task = SimTask(
            id=f"audio_{uuid.uuid4()}",
            created_at=state.config.clock(),
            model_id=f"voice_{secrets.token_hex(12)}",
            payload=request.payload,
            file_url=request.file_url,
            content_text=request.content_text or DEFAULT_CONTENT_TEXT,
            sound_version=request.sound_version,
            language=request.language,
            markers=request.markers,
        )
        if received is not None:
            task.received_clip = received.data
            task.received_sha256 = received.sha256
            task.received_seconds = received.seconds
            task.received_speech_seconds = received.speech_seconds
            task.download_error = received.error
            task.failure = received.failure
        state.tasks[task.id] = task
        markers = request.markers
        delay = state.config.slow_seconds if "create-slow" in markers else 0.0
        if "create-hang" in markers:
            delay = state.config.hang_seconds
        if "create-notjson" in markers:
            return SimResponse(200, NOT_JSON_BODY, content_type="text/html", delay_seconds=delay)
        return _task_response(state, task, base_url=base_url, delay_seconds=delay)


def _checked_create(
    state: SimulatorState, authorization: str | None, body: bytes
) -> _CreateRequest | SimResponse:
    """Log, authorise and validate a create request, and apply its create markers: the request to carry
    out, or the answer that refuses it. The caller holds the lock."""
    payload = _authorized_json(state, "/v1/soundCloning/clones", authorization, body)
    if isinstance(payload, SimResponse):
        return payload

    file_url = payload.get("fileUrl")
    error = _file_url_error(file_url)
    if error or not isinstance(file_url, str):
        return _json_response(400, {"message": error or "fileUrl is required"})
    markers = _markers_of(file_url)
    unknown = sorted(markers - KNOWN_MARKERS)
    if unknown:
        return _json_response(400, {"message": f"Unknown simulator marker: {', '.join(unknown)}"})

    content_text = payload.get("contentText")
    if content_text is not None and not isinstance(content_text, str):
        return _json_response(400, {"message": "contentText must be a string"})
    if content_text is not None and len(content_text) >= CONTENT_TEXT_LIMIT:
        return _json_response(
            400, {"message": f"contentText must be fewer than {CONTENT_TEXT_LIMIT} characters"}
        )
    sound_version = payload.get("soundVersion", "v1")
    if sound_version is None:
        sound_version = "v1"
    if not isinstance(sound_version, str) or sound_version not in LANGUAGES_BY_VERSION:
        return _json_response(400, {"message": "soundVersion must be v1 or v2"})
    language = payload.get("language", "auto")
    if language is None:
        language = "auto"
    if not isinstance(language, str):
        return _json_response(400, {"message": "language must be a string"})
    if language not in LANGUAGES_BY_VERSION[sound_version]:
        return _json_response(
            400, {"message": f"language {language} is not supported by soundVersion {sound_version}"}
        )

    refusal = _create_marker_response(
        markers, refused=SPEECH_LENGTH_MESSAGE, unprocessable=DOWNLOAD_FAILED_MESSAGE
    )
    if refusal is not None:
        return refusal
    return _CreateRequest(payload, file_url, content_text, sound_version, language, markers)


def handle_result(
    state: SimulatorState, *, authorization: str | None, task_id: str, base_url: str
) -> SimResponse:
    """``GET /v1/result/{task_id}``."""
    with state.lock:
        state.request_log.append(("GET", f"/v1/result/{task_id}"))
        if not _is_authorized(state, authorization):
            return _json_response(401, {"message": "Invalid API key"})
        if task_id in state.speech_tasks:
            return _speech_result(state, state.speech_tasks[task_id], base_url=base_url)
        task = state.tasks.get(task_id)
        if task is None or task.is_task_forgotten:
            return _json_response(404, {"message": "Task not found"})
        task.query_count += 1
        fault = _query_fault(state, task.markers, is_first_query=task.query_count == 1)
        if isinstance(fault, SimResponse):
            return fault
        return _task_response(state, task, base_url=base_url, delay_seconds=fault)


def handle_audio(state: SimulatorState, *, task_id: str, range_header: str | None = None) -> SimResponse:
    """``GET /files/{task_id}.wav``: the preview audio of a completed task, whole or one byte range."""
    with state.lock:
        task = state.tasks.get(task_id)
        if (
            task is None
            or task.is_audio_forgotten
            or "no-audio" in task.markers
            or _status_of(state, task) != "completed"
        ):
            return _json_response(404, {"message": "Not Found"})
        if task.audio is None:
            task.audio = generate_wav(state.config.audio_seconds, seed=task.id)
        audio = task.audio

    size = len(audio)
    byte_range = _parse_range(range_header, size)
    if byte_range is None:
        return SimResponse(200, audio, content_type="audio/wav", headers=(("Accept-Ranges", "bytes"),))
    if byte_range == "unsatisfiable":
        return SimResponse(
            416,
            json.dumps({"message": "Range Not Satisfiable"}).encode(),
            headers=(("Content-Range", f"bytes */{size}"), ("Accept-Ranges", "bytes")),
        )
    start, end = byte_range
    return SimResponse(
        206,
        audio[start : end + 1],
        content_type="audio/wav",
        headers=(("Content-Range", f"bytes {start}-{end}/{size}"), ("Accept-Ranges", "bytes")),
    )


# --- helpers of the handlers ----------------------------------------------------------------------


def _json_response(status: int, data: Any, *, delay_seconds: float = 0.0) -> SimResponse:
    return SimResponse(
        status, json.dumps(data, ensure_ascii=False).encode("utf-8"), delay_seconds=delay_seconds
    )


def _is_authorized(state: SimulatorState, authorization: str | None) -> bool:
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return False
    expected = state.config.api_key
    return not expected or hmac.compare_digest(token.encode(), expected.encode())


def _file_url_error(file_url: Any) -> str | None:
    if not isinstance(file_url, str) or not file_url.strip():
        return "fileUrl is required"
    if not file_url.isascii():
        return "fileUrl must not contain non-ASCII characters"
    if any(character.isspace() or ord(character) < 0x20 for character in file_url):
        return "fileUrl must not contain spaces"
    try:
        parts = urlsplit(file_url)
        host = parts.hostname
    except ValueError:
        return "fileUrl must be a public http(s) URL"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "fileUrl must be a public http(s) URL"
    return None


def _markers_of(file_url: str) -> frozenset[str]:
    values = parse_qs(urlsplit(file_url).query).get("sim", [])
    return frozenset(marker.strip() for value in values for marker in value.split(",") if marker.strip())


def _status_of(state: SimulatorState, task: SimTask) -> str:
    elapsed = state.config.clock() - task.created_at
    if elapsed < state.config.queued_seconds:
        return "queued"
    if elapsed < state.config.queued_seconds + state.config.processing_seconds:
        return "training" if "unknown-status" in task.markers else "processing"
    return "failed" if "fail" in task.markers or task.failure else "completed"


def _task_object(state: SimulatorState, task: SimTask, *, base_url: str) -> dict[str, Any]:
    status = _status_of(state, task)
    model_id = audio_url = error = None
    if status == "completed" and "no-audio" not in task.markers:
        model_id = task.model_id
        audio_url = _signed_audio_url(state, task, base_url=base_url)
    if status == "failed":
        error = task.failure or FAILURE_MESSAGE
    return {
        "id": task.id,
        "object": "audio",
        "created": int(task.created_at),
        "model": "soundCloningClone",
        "status": status,
        "modelId": model_id,
        "audioUrl": audio_url,
        "subtitleFile": None,
        "error": error,
    }


def _task_response(
    state: SimulatorState, task: SimTask, *, base_url: str, delay_seconds: float = 0.0
) -> SimResponse:
    data: Any = _task_object(state, task, base_url=base_url)
    if "wrapped-str" in task.markers:
        data = {"code": "20000", "msg": "ok", "data": data}
    elif "wrapped" in task.markers:
        data = {"code": 20000, "msg": "ok", "data": data}
    return _json_response(200, data, delay_seconds=delay_seconds)


def _signed_audio_url(state: SimulatorState, task: SimTask, *, base_url: str) -> str:
    # Expires counts from the moment the task completed, so the URL is the same on every query.
    completed_at = task.created_at + state.config.queued_seconds + state.config.processing_seconds
    expires = int(completed_at) + AUDIO_URL_LIFETIME_SECONDS
    message = f"{task.id}:{expires}".encode()
    signature = hmac.new(state.signing_key, message, hashlib.sha256).hexdigest()
    return f"{base_url.rstrip('/')}/files/{task.id}.wav?Expires={expires}&Signature={signature}"


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive, "unsatisfiable", or None when the header is absent or to be ignored.

    Only a single range is honoured; several ranges or a malformed header are ignored (RFC 9110 allows a
    server to answer those with the whole file).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    match = re.fullmatch(r"\s*(\d*)\s*-\s*(\d*)\s*", spec)
    if unit.strip().lower() != "bytes" or match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last) if last else size - 1, size - 1)


# --- studio-hosted clips: downloaded and measured as the service would ---------------------------------


@dataclass(frozen=True)
class ReceivedClip:
    """What the simulator made of a clip it downloaded."""

    data: bytes | None  # the exact bytes when at most KEPT_CLIP_BYTES, else None
    sha256: str | None  # None when nothing was received
    seconds: float | None  # None unless it decoded
    speech_seconds: float | None
    error: str | None  # why it could not be downloaded or decoded
    failure: str | None  # the task's error: DOWNLOAD_FAILED_MESSAGE, SPEECH_LENGTH_MESSAGE, or None


class _DownloadError(Exception):
    pass


def is_downloaded(config: SimulatorConfig, file_url: str) -> bool:
    """Whether the simulator downloads this link (its host is one of ``config.download_hosts``)."""
    try:
        host = urlsplit(file_url).hostname
    except ValueError:
        return False
    return host is not None and host.lower() in config.download_hosts


def receive_clip(file_url: str, config: SimulatorConfig) -> ReceivedClip:
    """Download the clip to a temporary file (deadline, size cap), measure its speech, remove the file.

    Never call it holding ``SimulatorState.lock``.
    """
    handle, name = tempfile.mkstemp(prefix="simulator-clip-", suffix=Path(urlsplit(file_url).path).suffix[:8])
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as target:
            try:
                data, sha256 = _download(file_url, target, config)
            except _DownloadError as error:
                return ReceivedClip(None, None, None, None, str(error), DOWNLOAD_FAILED_MESSAGE)
        from clones.media import MediaError, measure_speech  # PyAV: only once a clip was downloaded

        try:
            seconds, speech_seconds = (float(value) for value in measure_speech(path))
        except MediaError as error:
            return ReceivedClip(data, sha256, None, None, f"not decodable: {error}", DOWNLOAD_FAILED_MESSAGE)
        failure = None
        if not MIN_SPEECH_SECONDS < speech_seconds < MAX_SPEECH_SECONDS_OF_CLIP:
            failure = SPEECH_LENGTH_MESSAGE
        return ReceivedClip(data, sha256, seconds, speech_seconds, None, failure)
    finally:
        path.unlink(missing_ok=True)


def _download(file_url: str, target: BinaryIO, config: SimulatorConfig) -> tuple[bytes | None, str]:
    """Write the body of the link to target, following redirects among the download hosts; return the
    bytes (when at most KEPT_CLIP_BYTES) and their SHA-256. A timer shuts the socket at the deadline, so a
    server that trickles bytes (or headers) cannot hold the request past it."""
    deadline = time.monotonic() + config.download_deadline_seconds
    url = file_url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not is_downloaded(config, url):
            raise _DownloadError(f"not a link the simulator can reach: {parts.scheme}://{parts.netloc}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _DownloadError("deadline passed")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname or "", parts.port, timeout=remaining)
        expired = threading.Event()
        sockets: list[socket.socket] = []  # the connection forgets its socket once the response owns it
        timer = threading.Timer(remaining, _shut, (sockets, expired))
        timer.daemon = True
        timer.start()
        try:
            connection.connect()
            if connection.sock is not None:
                sockets.append(connection.sock)
            if expired.is_set():
                raise _DownloadError("deadline passed")
            target_path = parts.path or "/"
            if parts.query:
                target_path += "?" + parts.query
            connection.request(
                "GET", target_path, headers={"Accept": "*/*", "User-Agent": "soundclone-simulator"}
            )
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                continue
            if response.status != 200:
                raise _DownloadError(f"HTTP {response.status}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > config.download_max_bytes:
                raise _DownloadError(f"larger than {config.download_max_bytes} bytes")
            return _read_body_to(response, target, config.download_max_bytes, expired)
        except (OSError, http.client.HTTPException) as error:
            if expired.is_set():
                raise _DownloadError("deadline passed") from error
            raise _DownloadError(f"{type(error).__name__}: {error}") from error
        finally:
            timer.cancel()
            connection.close()
    raise _DownloadError("too many redirects")


def _read_body_to(
    response: http.client.HTTPResponse, target: BinaryIO, max_bytes: int, expired: threading.Event
) -> tuple[bytes | None, str]:
    digest = hashlib.sha256()
    kept: bytearray | None = bytearray()
    size = 0
    while chunk := response.read1(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise _DownloadError(f"larger than {max_bytes} bytes")
        digest.update(chunk)
        target.write(chunk)
        if kept is not None:
            kept += chunk
            if len(kept) > KEPT_CLIP_BYTES:
                kept = None
    if expired.is_set():  # the timer shut the socket: what came is only the start of the file
        raise _DownloadError("deadline passed")
    if size == 0:
        raise _DownloadError("empty body")
    return (bytes(kept) if kept is not None else None), digest.hexdigest()


def _shut(sockets: list[socket.socket], expired: threading.Event) -> None:
    expired.set()
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# --- audio ----------------------------------------------------------------------------------------

SAMPLE_RATE = 16000
_PENTATONIC_STEPS = (0, 2, 4, 7, 9, 12)  # semitones of a major pentatonic scale: any sequence sounds pleasant


def generate_wav(seconds: float = 3.0, seed: str = "") -> bytes:
    """A short, playable melody as 16-bit mono PCM WAV at 16000 Hz; the seed picks the key and the notes."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    base_frequency = 196.0 * 2 ** ((digest[0] % 12) / 12)  # somewhere between G3 and F#4
    total_samples = max(1, round(seconds * SAMPLE_RATE))
    note_samples = int(0.375 * SAMPLE_RATE)
    attack_samples = int(0.01 * SAMPLE_RATE)
    amplitude = 0.3 * 32767
    samples = array("h")
    note_index = 0
    while len(samples) < total_samples:
        step = _PENTATONIC_STEPS[digest[1 + note_index % 31] % len(_PENTATONIC_STEPS)]
        frequency = base_frequency * 2 ** (step / 12)
        count = min(note_samples, total_samples - len(samples))
        omega = 2 * math.pi * frequency / SAMPLE_RATE
        for n in range(count):
            # A quick attack and an exponential decay, faded to zero at the end of the note to avoid clicks.
            envelope = (
                min(1.0, n / attack_samples) * math.exp(-3.0 * n / note_samples) * min(1.0, (count - n) / 80)
            )
            value = math.sin(omega * n) + 0.3 * math.sin(2 * omega * n) + 0.1 * math.sin(3 * omega * n)
            samples.append(int(amplitude * envelope * value / 1.4))
        note_index += 1
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian
    buffer = BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return buffer.getvalue()


# --- speech generation (docs/upstream-api.md section 3) ----------------------------------------------

MODEL_ID_LIFETIME_SECONDS = 3 * 24 * 60 * 60
SPEECH_TEXT_LIMIT = 10_000  # "fewer than 10,000 characters", <#x#> markers included: 9,999 pass
SPEECH_EMOTIONS = ("happy", "sad", "angry", "fearful", "disgusted", "surprised", "neutral")
SPEECH_SAMPLE_RATE = 8000  # 8 samples a millisecond: every timing below is a whole number of milliseconds
SPEECH_MS_PER_CHARACTER = 60
MAX_SPEECH_SECONDS = 15 * 60  # longer audio (thousands of pauses) is scaled down to this
_PAUSE_MARKER = re.compile(r"<#(.*?)#>", re.DOTALL)
_PAUSE_VALUE = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2})?")
_SPEECH_SIM_MARKER = re.compile(r"\[sim:([^\]]*)\]")
_SPEECH_TOKEN = re.compile(r"<#(.*?)#>|(.)", re.DOTALL)
_SENTENCE_ENDS = frozenset(".!?。！？…\n")
_WIDE_CHARACTER = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
EXPIRED_MESSAGE = "modelId has expired: it was not used within 3 days of its preview"


@dataclass
class SimSpeechTask:
    id: str
    created_at: float
    model_id: str
    payload: dict[str, Any]  # the body exactly as received, for tests to inspect
    text: str
    emotion: str
    speed: float
    vol: float
    pitch: int
    subtitle_type: str  # "" (none), "sentence" or "word"
    markers: frozenset[str]
    query_count: int = 0
    is_task_forgotten: bool = False
    audio: bytes | None = field(default=None, repr=False)
    subtitles: list[dict[str, Any]] | None = field(default=None, repr=False)


def handle_speech(
    state: SimulatorState, *, authorization: str | None, body: bytes, base_url: str
) -> SimResponse:
    """``POST /v1/soundCloning/audios``."""
    with state.lock:
        payload = _authorized_json(state, "/v1/soundCloning/audios", authorization, body)
        if isinstance(payload, SimResponse):
            return payload
        error, fields = _speech_fields(payload)
        if error:
            return _json_response(400, {"message": error})
        text = fields["text"]
        markers = frozenset(
            marker.strip()
            for group in _SPEECH_SIM_MARKER.findall(text)
            for marker in group.split(",")
            if marker.strip()
        )
        unknown = sorted(markers - KNOWN_MARKERS)
        if unknown:
            return _json_response(400, {"message": f"Unknown simulator marker: {', '.join(unknown)}"})
        voice = _voice_of(state, fields["model_id"])
        if voice is None:
            return _json_response(400, {"message": "modelId not found"})
        now = state.config.clock()
        if now >= _voice_expires_at(state, voice) and _voice_permanent_at(state, voice.model_id, now) is None:
            return _json_response(400, {"message": EXPIRED_MESSAGE})
        refusal = _create_marker_response(markers)
        if refusal is not None:
            return refusal
        task = SimSpeechTask(
            id=f"audio_{uuid.uuid4()}",
            created_at=now,
            model_id=voice.model_id,
            payload=payload,
            text=text,
            emotion=fields["emotion"],
            speed=fields["speed"],
            vol=fields["vol"],
            pitch=fields["pitch"],
            subtitle_type=fields["subtitle_type"],
            markers=markers,
        )
        state.speech_tasks[task.id] = task
        delay = state.config.slow_seconds if "create-slow" in markers else 0.0
        if "create-hang" in markers:
            delay = state.config.hang_seconds
        if "create-notjson" in markers:
            return SimResponse(200, NOT_JSON_BODY, content_type="text/html", delay_seconds=delay)
        return _wrapped_response(_speech_object(state, task, base_url=base_url), task.markers, delay)


def is_model_id_permanent(state: SimulatorState, model_id: str) -> bool:
    """Whether a completed generation has made this voice permanent (by the simulator's clock)."""
    with state.lock:
        return _voice_permanent_at(state, model_id, state.config.clock()) is not None


def handle_speech_file(
    state: SimulatorState, *, task_id: str, extension: str, query: str = "", range_header: str | None = None
) -> SimResponse:
    """``GET /files/speech/{id}.wav`` or ``.json``: a completed speech task's audio or subtitle file."""
    with state.lock:
        task = state.speech_tasks.get(task_id)
        if (
            task is None
            or "no-audio" in task.markers
            or _speech_status_of(state, task) != "completed"
            or (extension == "json" and not task.subtitle_type)
        ):
            return _json_response(404, {"message": "Not Found"})
        audio, subtitles = _speech_rendering(task)
    if extension == "json":
        key = "words" if task.subtitle_type == "word" else "sentences"
        return _json_response(200, {key: subtitles})
    size = len(audio)
    byte_range = _parse_range(range_header, size)
    if byte_range is None:
        return SimResponse(200, audio, content_type="audio/wav", headers=(("Accept-Ranges", "bytes"),))
    if byte_range == "unsatisfiable":
        return SimResponse(416, b"", headers=(("Content-Range", f"bytes */{size}"),))
    start, end = byte_range
    return SimResponse(
        206,
        audio[start : end + 1],
        content_type="audio/wav",
        headers=(("Content-Range", f"bytes {start}-{end}/{size}"), ("Accept-Ranges", "bytes")),
    )


def speech_timeline(
    text: str, *, speed: float = 1.0, subtitle_type: str = "sentence"
) -> list[tuple[str, int]]:
    """The text as subtitle units and their lengths in ms: sentences, or words (each CJK character one word).

    Every character lasts 60 ms (divided by the speed) and every pause its length; a space or a pause counts
    towards the unit before it (the first unit takes what comes before it), so the units follow each other
    without gaps and their lengths add up to the audio's.
    """
    per_character = max(1, round(SPEECH_MS_PER_CHARACTER / speed))
    units: list[list[Any]] = []  # [text, ms]
    is_open = False  # whether the last unit still takes characters
    is_ended = False  # sentences: the last unit has seen its full stop
    leading = 0

    def add_time(ms: int) -> None:
        nonlocal leading
        if units:
            units[-1][1] += ms
        else:
            leading += ms

    def add_character(character: str) -> None:
        nonlocal is_open, leading
        if not is_open:
            units.append(["", leading])
            leading = 0
            is_open = True
        units[-1][0] += character
        units[-1][1] += per_character

    previous = ""  # the character before this one (pauses do not count)
    for token in _SPEECH_TOKEN.finditer(_SPEECH_SIM_MARKER.sub("", text)):
        pause, character = token.groups()
        after, previous = previous, character if character is not None else previous
        if pause is not None:
            add_time(round(float(pause) * 1000))
        elif subtitle_type == "word":
            if character.isspace():
                is_open = False
                add_time(per_character)
            elif units and not character.isalnum() and after and not after.isspace():
                # Punctuation belongs to the word before it ("好。", "world.").
                units[-1][0] += character
                units[-1][1] += per_character
            elif _WIDE_CHARACTER.match(character):
                is_open = False
                add_character(character)
                is_open = False
            else:
                add_character(character)
        else:
            if is_ended and not character.isspace() and character not in _SENTENCE_ENDS:
                is_open = is_ended = False
            if character.isspace() and not is_open:
                add_time(per_character)
            else:
                add_character(character)
            if character in _SENTENCE_ENDS:
                is_ended = True
    return [(unit_text.strip(), length) for unit_text, length in units]


def _speech_fields(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The request's fields, checked one by one: (the first problem, or "", and the values)."""
    model_id = payload.get("modelId")
    if not isinstance(model_id, str) or not model_id.strip():
        return "modelId is required", {}
    text = payload.get("contentText")
    if not isinstance(text, str) or not text.strip():
        return "contentText is required", {}
    if len(text) >= SPEECH_TEXT_LIMIT:
        return f"contentText must be fewer than {SPEECH_TEXT_LIMIT} characters", {}
    for marker in _PAUSE_MARKER.finditer(text):
        value = marker.group(1)
        if not _PAUSE_VALUE.fullmatch(value) or not 0.01 <= float(value) <= 99.99:
            return f"pause <#{value}#> must be from 0.01 to 99.99 seconds, with at most two decimals", {}
    if "<#" in _PAUSE_MARKER.sub("", text):
        return "a pause marker is not closed: write <#x#>", {}
    if not _SPEECH_SIM_MARKER.sub("", _PAUSE_MARKER.sub("", text)).strip():
        return "contentText has nothing to say besides pauses", {}
    sound_version = payload.get("soundVersion", "v1")
    if sound_version is None:
        sound_version = "v1"
    if not isinstance(sound_version, str) or sound_version not in LANGUAGES_BY_VERSION:
        return "soundVersion must be v1 or v2", {}
    language = payload.get("language", "auto")
    if language is None:
        language = "auto"
    if not isinstance(language, str) or language not in LANGUAGES_BY_VERSION[sound_version]:
        return f"language {language} is not supported by soundVersion {sound_version}", {}
    emotion = payload.get("emotion", "neutral")
    if emotion not in SPEECH_EMOTIONS:
        return f"emotion must be one of {', '.join(SPEECH_EMOTIONS)}", {}
    speed = payload.get("speed", 1.0)
    if not _is_number(speed) or not 0.5 <= speed <= 2:
        return "speed must be a number from 0.5 to 2", {}
    vol = payload.get("vol", 1.0)
    if not _is_number(vol) or not 0 < vol <= 10:
        return "vol must be a number above 0 and at most 10", {}
    pitch = payload.get("pitch", 0)
    if isinstance(pitch, bool) or not isinstance(pitch, int) or not -12 <= pitch <= 12:
        return "pitch must be a whole number from -12 to 12", {}
    subtitle_enable = payload.get("subtitleEnable", False)
    if not isinstance(subtitle_enable, bool):
        return "subtitleEnable must be true or false", {}
    subtitle_type = payload.get("subtitleType")
    if subtitle_type not in (None, "word", "sentence"):
        return "subtitleType must be word (or omitted for sentences)", {}
    return "", {
        "model_id": model_id,
        "text": text,
        "emotion": emotion,
        "speed": float(speed),
        "vol": float(vol),
        "pitch": pitch,
        "subtitle_type": (subtitle_type or "sentence") if subtitle_enable else "",
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _create_marker_response(
    markers: frozenset[str],
    *,
    refused: str = "The text could not be spoken",
    unprocessable: str = "contentText could not be processed",
) -> SimResponse | None:
    """The create markers' answers (clones and speech alike; each says its own 400 and 422)."""
    if "create-400" in markers:
        return _json_response(400, {"message": refused})
    if "create-401" in markers:
        return _json_response(401, {"message": "Invalid API key"})
    if "create-403" in markers:
        return _json_response(403, {"message": "This API key may not use soundCloning"})
    if "create-422" in markers:
        return _json_response(422, {"detail": unprocessable})
    if "create-429" in markers:
        return _json_response(429, {"msg": "Too many requests"})
    if "create-500" in markers:
        return _json_response(500, {"error": {"message": "Internal error"}})
    if "create-503" in markers:
        return SimResponse(503, SERVICE_UNAVAILABLE_HTML, content_type="text/html")
    if "create-wrapped-error" in markers:
        return _json_response(200, {"code": 40001, "msg": "Insufficient balance", "data": None})
    return None


def _voice_of(state: SimulatorState, model_id: str) -> SimTask | None:
    for task in state.tasks.values():
        if (
            task.model_id == model_id
            and "no-audio" not in task.markers
            and _status_of(state, task) == "completed"
        ):
            return task
    return None


def _completed_at(state: SimulatorState, created_at: float) -> float:
    return created_at + state.config.queued_seconds + state.config.processing_seconds


def _voice_expires_at(state: SimulatorState, voice: SimTask) -> float:
    return _completed_at(state, voice.created_at) + MODEL_ID_LIFETIME_SECONDS


def _voice_permanent_at(state: SimulatorState, model_id: str, now: float) -> float | None:
    """When the first generation with this voice completed (None if none has): from then on it is kept."""
    finished = [
        _completed_at(state, task.created_at)
        for task in state.speech_tasks.values()
        if task.model_id == model_id and not task.markers & {"fail", "no-audio"}
    ]
    done = [moment for moment in finished if moment <= now]
    return min(done) if done else None


def _speech_status_of(state: SimulatorState, task: SimSpeechTask) -> str:
    elapsed = state.config.clock() - task.created_at
    if elapsed < state.config.queued_seconds:
        return "queued"
    if elapsed < state.config.queued_seconds + state.config.processing_seconds:
        return "training" if "unknown-status" in task.markers else "processing"
    return "failed" if "fail" in task.markers else "completed"


def _speech_object(state: SimulatorState, task: SimSpeechTask, *, base_url: str) -> dict[str, Any]:
    status = _speech_status_of(state, task)
    audio_url = subtitle_url = error = None
    if status == "completed" and "no-audio" not in task.markers:
        audio_url = _signed_speech_url(state, task, "wav", base_url=base_url)
        if task.subtitle_type:
            subtitle_url = _signed_speech_url(state, task, "json", base_url=base_url)
    if status == "failed":
        error = "The voice could not speak this text"
    return {
        "id": task.id,
        "object": "audio",
        "created": int(task.created_at),
        "model": "soundCloningAudio",
        "status": status,
        "modelId": task.model_id,
        "audioUrl": audio_url,
        "subtitleFile": subtitle_url,
        "error": error,
    }


def _speech_result(state: SimulatorState, task: SimSpeechTask, *, base_url: str) -> SimResponse:
    if task.is_task_forgotten:
        return _json_response(404, {"message": "Task not found"})
    task.query_count += 1
    fault = _query_fault(state, task.markers, is_first_query=task.query_count == 1)
    if isinstance(fault, SimResponse):
        return fault
    return _wrapped_response(_speech_object(state, task, base_url=base_url), task.markers, fault)


def _query_fault(
    state: SimulatorState, markers: frozenset[str], *, is_first_query: bool
) -> SimResponse | float:
    """The fault a status query's markers ask for (clone and speech tasks alike), or else how long the
    answer waits ("poll-slow")."""
    if "poll-401" in markers:
        return _json_response(401, {"message": "Invalid API key"})
    if "poll-404" in markers:
        return _json_response(404, {"message": "Task not found"})
    if "poll-429" in markers or ("poll-429-once" in markers and is_first_query):
        return _json_response(429, {"msg": "Too many requests"})
    if "poll-500" in markers or ("poll-500-once" in markers and is_first_query):
        return _json_response(500, {"error": {"message": "Internal error"}})
    delay = state.config.slow_seconds if "poll-slow" in markers else 0.0
    if "poll-notjson" in markers:
        return SimResponse(200, NOT_JSON_BODY, content_type="text/html", delay_seconds=delay)
    return delay


def _wrapped_response(data: Any, markers: frozenset[str], delay: float) -> SimResponse:
    if "wrapped-str" in markers:
        data = {"code": "20000", "msg": "ok", "data": data}
    elif "wrapped" in markers:
        data = {"code": 20000, "msg": "ok", "data": data}
    return _json_response(200, data, delay_seconds=delay)


def _signed_speech_url(state: SimulatorState, task: SimSpeechTask, extension: str, *, base_url: str) -> str:
    expires = int(_completed_at(state, task.created_at)) + AUDIO_URL_LIFETIME_SECONDS
    message = f"speech:{task.id}.{extension}:{expires}".encode()
    signature = hmac.new(state.signing_key, message, hashlib.sha256).hexdigest()
    return (
        f"{base_url.rstrip('/')}/files/speech/{task.id}.{extension}?Expires={expires}&Signature={signature}"
    )


def _speech_rendering(task: SimSpeechTask) -> tuple[bytes, list[dict[str, Any]]]:
    """The task's audio and subtitle timings, made once: the units in order, each a stretch of tones."""
    if task.audio is not None and task.subtitles is not None:
        return task.audio, task.subtitles
    units = speech_timeline(task.text, speed=task.speed, subtitle_type=task.subtitle_type or "sentence")
    total_ms = sum(length for _text, length in units)
    if total_ms > MAX_SPEECH_SECONDS * 1000:
        factor = MAX_SPEECH_SECONDS * 1000 / total_ms
        units = [(text, max(1, int(length * factor))) for text, length in units]
    subtitles: list[dict[str, Any]] = []
    start = 0
    for text, length in units:
        subtitles.append({"text": text, "start": start, "end": start + length})
        start += length
    task.subtitles = subtitles
    task.audio = speech_wav(units, seed=task.id, pitch=task.pitch, vol=task.vol)
    return task.audio, subtitles


def speech_wav(units: list[tuple[str, int]], *, seed: str = "", pitch: int = 0, vol: float = 1.0) -> bytes:
    """Playable 16-bit mono WAV at 8000 Hz: each unit a run of short tones (one a character), then silence."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    base_frequency = 220.0 * 2 ** (pitch / 12)
    amplitude = min(0.6, 0.2 + 0.04 * vol) * 32767
    blocks: dict[tuple[int, int], bytes] = {}

    def tone(step: int, count: int) -> bytes:
        key = (step, count)
        if key not in blocks:
            frequency = base_frequency * 2 ** (_PENTATONIC_STEPS[step] / 12)
            omega = 2 * math.pi * frequency / SPEECH_SAMPLE_RATE
            samples = array(
                "h",
                (
                    int(amplitude * math.sin(omega * n) * min(1.0, n / 40, (count - n) / 40))
                    for n in range(count)
                ),
            )
            if sys.byteorder == "big":
                samples.byteswap()
            blocks[key] = samples.tobytes()
        return blocks[key]

    frames = bytearray()
    for index, (text, length) in enumerate(units):
        samples_left = length * SPEECH_SAMPLE_RATE // 1000
        voiced = min(samples_left, len(text) * SPEECH_MS_PER_CHARACTER * SPEECH_SAMPLE_RATE // 1000)
        note = SPEECH_MS_PER_CHARACTER * SPEECH_SAMPLE_RATE // 1000
        position = 0
        while position < voiced:
            count = min(note, voiced - position)
            step = digest[(index + position // note) % 32] % len(_PENTATONIC_STEPS)
            frames += tone(step, count)
            position += count
        frames += bytes(2 * (samples_left - voiced))  # the rest of the unit (pauses) is silence
    buffer = BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SPEECH_SAMPLE_RATE)
        wav.writeframes(bytes(frames))
    return buffer.getvalue()


# --- the WSGI wrapper -----------------------------------------------------------------------------

_CREATE_PATH = f"{API_PREFIX}/v1/soundCloning/clones"
_RESULT_PATH = re.compile(rf"{re.escape(API_PREFIX)}/v1/result/([^/]+)")
_AUDIO_PATH = re.compile(rf"{re.escape(API_PREFIX)}/files/([^/]+)\.wav")
_SPEECH_PATH = f"{API_PREFIX}/v1/soundCloning/audios"
_SPEECH_FILE_PATH = re.compile(rf"{re.escape(API_PREFIX)}/files/speech/([^/]+)\.(wav|json)")
_MAX_BODY_BYTES = 1024 * 1024


def make_wsgi_app(state: SimulatorState) -> WSGIApplication:
    """A WSGI application that routes to the handlers, sleeps ``delay_seconds`` and writes the response."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            response = _route(state, environ, method)
        except Exception:
            # Never the request's headers: they carry the API key.
            traceback.print_exc(file=sys.stderr)
            response = _json_response(500, {"message": "Simulator error"})
        if response.delay_seconds > 0:
            state.config.sleep(response.delay_seconds)
        reason = _reason_phrase(response.status)
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            *response.headers,
        ]
        start_response(f"{response.status} {reason}", headers)
        return [b""] if method == "HEAD" else [response.body]

    return application


def _route(state: SimulatorState, environ: dict[str, Any], method: str) -> SimResponse:
    path = environ.get("PATH_INFO", "")
    base_url = _base_url_of(environ)
    authorization = environ.get("HTTP_AUTHORIZATION")
    if path == _CREATE_PATH and method == "POST":
        return handle_create(state, authorization=authorization, body=_read_body(environ), base_url=base_url)
    if path == _SPEECH_PATH and method == "POST":
        return handle_speech(state, authorization=authorization, body=_read_body(environ), base_url=base_url)
    match = _SPEECH_FILE_PATH.fullmatch(path)
    if match and method in ("GET", "HEAD"):
        return handle_speech_file(
            state,
            task_id=match.group(1),
            extension=match.group(2),
            query=environ.get("QUERY_STRING", ""),
            range_header=environ.get("HTTP_RANGE"),
        )
    match = _RESULT_PATH.fullmatch(path)
    if match and method == "GET":
        return handle_result(state, authorization=authorization, task_id=match.group(1), base_url=base_url)
    match = _AUDIO_PATH.fullmatch(path)
    if match and method in ("GET", "HEAD"):
        return handle_audio(state, task_id=match.group(1), range_header=environ.get("HTTP_RANGE"))
    return _json_response(404, {"message": "Not Found"})


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    return environ["wsgi.input"].read(min(length, _MAX_BODY_BYTES))


def _base_url_of(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "127.0.0.1")
        port = environ.get("SERVER_PORT", "")
        if port and port != {"http": "80", "https": "443"}.get(scheme):
            host = f"{host}:{port}"
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '').rstrip('/')}{API_PREFIX}"


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a hung client never keeps the process alive
    allow_reuse_address = True
    verbose = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can stall on a reverse DNS lookup; the name
        # only fills SERVER_NAME, and clients send Host anyway.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = port
        self.setup_environ()


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs nothing unless the server is verbose, and then only the request line and status."""

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


@dataclass
class RunningSimulator:
    server: _ThreadingWSGIServer
    thread: threading.Thread
    state: SimulatorState
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - only a display name for the wildcard address
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{API_PREFIX}"

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the serving thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_in_thread(
    state: SimulatorState, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
) -> RunningSimulator:
    """Serve the simulator from a daemon thread; port 0 picks a free port (see ``.port``, ``.base_url``)."""
    server_class = _ThreadingWSGIServer
    if ":" in host:
        server_class = type(
            "_ThreadingWSGIServer6", (_ThreadingWSGIServer,), {"address_family": socket.AF_INET6}
        )
    server = server_class((host, port), _QuietRequestHandler)
    server.verbose = verbose
    server.set_app(make_wsgi_app(state))
    # A short poll interval lets stop() return within 50 ms instead of the default half second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="soundclone-simulator", daemon=True
    )
    thread.start()
    return RunningSimulator(
        server=server, thread=thread, state=state, host=host, port=server.server_address[1]
    )
