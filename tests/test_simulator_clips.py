"""The simulator downloads a studio-hosted clip as the service would, and fails a task it could not use.

Clips are served from a real HTTP server on loopback (where the studio serves them in demo mode and tests);
the simulator's handlers run on a fake clock, so no test waits for a task to finish.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests

from clones import simulator
from clones.simulator import (
    SimResponse,
    SimulatorConfig,
    SimulatorState,
    handle_create,
    handle_result,
    serve_in_thread,
)
from tests.clips import clip_path, speech_seconds
from tests.local_http import LocalServer, answer, drip_body, drip_headers, redirect_to

AUTH = "Bearer test-key"
BASE_URL = "http://sim.test/kyyReactApiServer"
SPEECH_MESSAGE = "The audio must contain 15 to 60 seconds of speech"
DOWNLOAD_MESSAGE = "fileUrl could not be downloaded"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_781_777_280.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ClipHost:
    """Files by path on a loopback HTTP server, as the studio would host them; anything else is a 404."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.server = LocalServer(self._respond)
        self.url = self.server.url

    def add(self, path: str, body: bytes, content_type: str = "audio/wav") -> str:
        self.files[path] = (body, content_type)
        return f"{self.url}{path}"

    def _respond(self, handler: BaseHTTPRequestHandler) -> None:
        body, content_type = self.files.get(handler.path.split("?")[0], (b"Not Found", "text/plain"))
        status = 200 if handler.path.split("?")[0] in self.files else 404
        answer(status, body, content_type=content_type)(handler)


@pytest.fixture
def host() -> Iterator[ClipHost]:
    clip_host = ClipHost()
    yield clip_host
    clip_host.server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> SimulatorState:
    return SimulatorState(SimulatorConfig(queued_seconds=2, processing_seconds=6, clock=clock))


def create(state: SimulatorState, file_url: str) -> SimResponse:
    body = json.dumps({"fileUrl": file_url, "soundVersion": "v1", "language": "English"}).encode()
    return handle_create(state, authorization=AUTH, body=body, base_url=BASE_URL)


def created_id(state: SimulatorState, file_url: str) -> str:
    response = create(state, file_url)
    assert response.status == 200, response.body
    return json.loads(response.body)["id"]


def task_after_processing(state: SimulatorState, clock: FakeClock, task_id: str) -> dict[str, Any]:
    clock.advance(8)
    response = handle_result(state, authorization=AUTH, task_id=task_id, base_url=BASE_URL)
    assert response.status == 200
    return json.loads(response.body)


def hosted(host: ClipHost, name: str) -> tuple[str, bytes]:
    """The link to a test clip on the host, and the clip's bytes."""
    data = clip_path(name).read_bytes()
    return host.add(f"/clips/{name}", data, "audio/wav"), data


# --- clips the service takes and clips it refuses ----------------------------------------------------------


def test_a_hosted_clip_with_20_s_of_speech_is_downloaded_measured_and_its_task_completes(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    link, data = hosted(host, "speech-en-20")

    task_id = created_id(state, link)

    task = state.tasks[task_id]
    assert task.received_clip == data
    assert task.received_sha256 == hashlib.sha256(data).hexdigest()
    assert task.received_speech_seconds == pytest.approx(speech_seconds("speech-en-20"), abs=1.5)
    assert task.received_seconds >= task.received_speech_seconds
    assert task.download_error is None
    result = task_after_processing(state, clock, task_id)
    assert result["status"] == "completed"
    assert result["error"] is None
    assert result["modelId"] and result["audioUrl"]


def test_a_clip_with_9_s_of_speech_fails_when_processing_ends_with_the_services_speech_message(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    link, _ = hosted(host, "speech-en-9")

    task_id = created_id(state, link)

    assert state.tasks[task_id].received_speech_seconds == pytest.approx(
        speech_seconds("speech-en-9"), abs=1.5
    )
    queued = json.loads(handle_result(state, authorization=AUTH, task_id=task_id, base_url=BASE_URL).body)
    assert queued["status"] == "queued"  # the service accepts the task and fails it later, as `fail` does
    result = task_after_processing(state, clock, task_id)
    assert result["status"] == "failed"
    assert result["error"] == SPEECH_MESSAGE
    assert result["modelId"] is None and result["audioUrl"] is None


def test_a_clip_with_75_s_of_speech_fails_with_the_speech_message(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    link, _ = hosted(host, "speech-en-75")

    task_id = created_id(state, link)

    assert state.tasks[task_id].received_speech_seconds == pytest.approx(
        speech_seconds("speech-en-75"), abs=1.5
    )
    result = task_after_processing(state, clock, task_id)
    assert result["status"] == "failed"
    assert result["error"] == SPEECH_MESSAGE


def test_a_link_that_answers_404_fails_as_could_not_be_downloaded(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    task_id = created_id(state, f"{host.url}/clips/gone.wav")

    task = state.tasks[task_id]
    assert task.received_clip is None
    assert task.download_error == "HTTP 404"
    result = task_after_processing(state, clock, task_id)
    assert result["status"] == "failed"
    assert result["error"] == DOWNLOAD_MESSAGE


def test_a_link_to_a_web_page_fails_as_could_not_be_downloaded(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    page = clip_path("page.mp3").read_bytes()
    link = host.add("/watch.mp3", page, "text/html")

    task_id = created_id(state, link)

    task = state.tasks[task_id]
    assert task.received_clip == page  # it was downloaded, but it is not a sound
    assert task.download_error and task.download_error.startswith("not decodable: web-page")
    result = task_after_processing(state, clock, task_id)
    assert result["status"] == "failed"
    assert result["error"] == DOWNLOAD_MESSAGE


def test_a_clip_too_large_to_keep_in_memory_is_kept_as_its_hash_and_still_measured(
    state: SimulatorState, clock: FakeClock, host: ClipHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulator, "KEPT_CLIP_BYTES", 1000)
    link, data = hosted(host, "speech-en-20")

    task_id = created_id(state, link)

    task = state.tasks[task_id]
    assert task.received_clip is None
    assert task.received_sha256 == hashlib.sha256(data).hexdigest()
    assert task.received_speech_seconds == pytest.approx(speech_seconds("speech-en-20"), abs=1.5)
    assert task_after_processing(state, clock, task_id)["status"] == "completed"


def test_a_redirect_to_the_clip_on_loopback_is_followed(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    link, data = hosted(host, "speech-en-20")
    with LocalServer(redirect_to(link)) as redirecting:
        task_id = created_id(state, f"{redirecting.url}/short-link")

    assert state.tasks[task_id].received_clip == data
    assert task_after_processing(state, clock, task_id)["status"] == "completed"


# --- links it does not fetch, and bounds on what it fetches -------------------------------------------------


def test_a_link_to_another_host_is_never_fetched_and_completes_as_before(
    state: SimulatorState, clock: FakeClock
) -> None:
    task_id = created_id(state, "https://media.example.com/clips/li-wei.mp3")

    task = state.tasks[task_id]
    assert (task.received_clip, task.received_sha256, task.download_error) == (None, None, None)
    assert task_after_processing(state, clock, task_id)["status"] == "completed"


def test_only_the_configured_download_hosts_are_fetched(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    state.config.download_hosts = frozenset({"localhost"})  # the clip's 127.0.0.1 is now "another host"
    link = host.add("/clips/nine.wav", b"RIFF....", "audio/wav")

    task_id = created_id(state, link)

    assert host.server.hits == []
    assert state.tasks[task_id].received_sha256 is None
    assert task_after_processing(state, clock, task_id)["status"] == "completed"


def test_a_link_that_trickles_its_body_ends_at_the_deadline(state: SimulatorState, clock: FakeClock) -> None:
    state.config.download_deadline_seconds = 0.5
    with LocalServer(drip_body(b"x" * 1000, chunk=1, every=0.05, content_type="audio/wav")) as trickle:
        started = time.monotonic()
        task_id = created_id(state, f"{trickle.url}/clip.wav")
        took = time.monotonic() - started

    assert took < 1.5
    assert state.tasks[task_id].download_error == "deadline passed"
    assert task_after_processing(state, clock, task_id)["error"] == DOWNLOAD_MESSAGE


def test_a_link_that_trickles_its_headers_ends_at_the_deadline(
    state: SimulatorState, clock: FakeClock
) -> None:
    state.config.download_deadline_seconds = 0.5
    with LocalServer(drip_headers(every=0.05, seconds=5)) as trickle:
        started = time.monotonic()
        task_id = created_id(state, f"{trickle.url}/clip.wav")
        took = time.monotonic() - started

    assert took < 1.5
    assert state.tasks[task_id].download_error == "deadline passed"


def test_a_clip_larger_than_the_cap_is_not_downloaded(
    state: SimulatorState, clock: FakeClock, host: ClipHost
) -> None:
    state.config.download_max_bytes = 1000
    link = host.add("/big.wav", b"\0" * 1001, "audio/wav")

    task_id = created_id(state, link)

    assert state.tasks[task_id].download_error == "larger than 1000 bytes"
    assert task_after_processing(state, clock, task_id)["error"] == DOWNLOAD_MESSAGE


def test_the_downloaded_file_is_removed_whatever_happened(
    state: SimulatorState, host: ClipHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First: the test clips' own cache and its lock live in the temp folder.
    good, _ = hosted(host, "speech-en-20")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    page = host.add("/page.mp3", b"<html><body>not a clip</body></html>", "text/html")

    for link in (good, page, f"{host.url}/missing.wav"):
        created_id(state, link)

    assert list(tmp_path.iterdir()) == []


def test_other_requests_are_answered_while_a_clip_downloads() -> None:
    """The download happens outside the simulator's lock: a slow clip host never stalls the service."""
    state = SimulatorState(SimulatorConfig(api_key="test-key", download_deadline_seconds=3))
    headers = {"Authorization": AUTH}
    fields = {"soundVersion": "v1", "language": "English"}
    with (
        serve_in_thread(state) as running,
        LocalServer(drip_headers(every=0.1, seconds=5)) as trickle,
    ):
        slow = threading.Thread(
            target=requests.post,
            args=(f"{running.base_url}/v1/soundCloning/clones",),
            kwargs={
                "json": {"fileUrl": f"{trickle.url}/clip.wav", **fields},
                "headers": headers,
                "timeout": 10,
            },
        )
        slow.start()
        waited = time.monotonic() + 5
        while not trickle.hits and time.monotonic() < waited:
            time.sleep(0.01)
        assert trickle.hits, "the simulator did not start downloading the clip"
        started = time.monotonic()
        other = requests.post(
            f"{running.base_url}/v1/soundCloning/clones",
            json={"fileUrl": "https://media.example.com/clip.mp3", **fields},
            headers=headers,
            timeout=5,
        )
        task_id = other.json()["id"]
        queried = requests.get(f"{running.base_url}/v1/result/{task_id}", headers=headers, timeout=5)
        took = time.monotonic() - started
        slow.join(timeout=10)

    assert other.status_code == 200 and queried.status_code == 200
    assert took < 1.0
