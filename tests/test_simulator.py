"""The SoundClone simulator: its pure handlers on a fake clock, then its WSGI wrapper over loopback HTTP."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from clones import forms, languages, simulator
from clones.simulator import (
    DEFAULT_CONTENT_TEXT,
    RunningSimulator,
    SimResponse,
    SimulatorConfig,
    SimulatorState,
    generate_wav,
    handle_audio,
    handle_create,
    handle_result,
    serve_in_thread,
)

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "http://sim.test/kyyReactApiServer"
AUTH = "Bearer test-key"
CLIP = "https://example.com/clip.mp3"


class FakeClock:
    def __init__(self, now: float = 1_781_777_280.5) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def state(clock: FakeClock, sleeps: list[float]) -> SimulatorState:
    config = SimulatorConfig(
        queued_seconds=2, processing_seconds=6, slow_seconds=3, clock=clock, sleep=sleeps.append
    )
    return SimulatorState(config)


def create(state: SimulatorState, authorization: str | None = AUTH, **fields: Any) -> SimResponse:
    payload = {"fileUrl": CLIP, "soundVersion": "v1", "language": "English", **fields}
    body = json.dumps({key: value for key, value in payload.items() if value is not ...}).encode()
    return handle_create(state, authorization=authorization, body=body, base_url=BASE_URL)


def query(state: SimulatorState, task_id: str, authorization: str | None = AUTH) -> SimResponse:
    return handle_result(state, authorization=authorization, task_id=task_id, base_url=BASE_URL)


def body_of(response: SimResponse) -> Any:
    assert response.content_type == "application/json"
    return json.loads(response.body)


def created_id(state: SimulatorState, **fields: Any) -> str:
    response = create(state, **fields)
    assert response.status == 200, response.body
    data = body_of(response)
    return data["data"]["id"] if "code" in data else data["id"]


# --- the lifecycle --------------------------------------------------------------------------------


def test_a_created_task_is_a_bare_queued_task_object(state: SimulatorState, clock: FakeClock) -> None:
    response = create(state)

    assert response.status == 200
    task = body_of(response)
    assert re.fullmatch(r"audio_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", task["id"])
    assert task == {
        "id": task["id"],
        "object": "audio",
        "created": 1_781_777_280,
        "model": "soundCloningClone",
        "status": "queued",
        "modelId": None,
        "audioUrl": None,
        "subtitleFile": None,
        "error": None,
    }
    assert state.tasks[task["id"]].payload == {"fileUrl": CLIP, "soundVersion": "v1", "language": "English"}


def test_a_task_moves_from_queued_to_processing_to_completed(state: SimulatorState, clock: FakeClock) -> None:
    task_id = created_id(state)

    clock.advance(1.9)
    assert body_of(query(state, task_id))["status"] == "queued"
    clock.advance(0.2)
    assert body_of(query(state, task_id))["status"] == "processing"
    clock.advance(5.8)
    assert body_of(query(state, task_id))["status"] == "processing"
    clock.advance(0.2)
    task = body_of(query(state, task_id))

    assert task["status"] == "completed"
    assert task["error"] is None
    assert task["subtitleFile"] is None
    assert re.fullmatch(r"voice_[0-9a-f]{24}", task["modelId"])
    assert re.fullmatch(
        rf"{BASE_URL}/files/{task_id}\.wav\?Expires=\d+&Signature=[0-9a-f]{{64}}", task["audioUrl"]
    )


def test_a_completed_task_keeps_the_same_model_id_and_audio_url(
    state: SimulatorState, clock: FakeClock
) -> None:
    task_id = created_id(state)
    clock.advance(9)
    first = body_of(query(state, task_id))
    clock.advance(100)

    assert body_of(query(state, task_id)) == first


def test_the_audio_url_uses_the_base_url_the_query_came_in_on(
    state: SimulatorState, clock: FakeClock
) -> None:
    task_id = created_id(state)
    clock.advance(9)

    response = handle_result(
        state, authorization=AUTH, task_id=task_id, base_url="http://127.0.0.1:9999/kyyReactApiServer"
    )

    assert body_of(response)["audioUrl"].startswith(
        f"http://127.0.0.1:9999/kyyReactApiServer/files/{task_id}.wav?"
    )


def test_the_default_line_is_recorded_when_no_content_text_is_sent(state: SimulatorState) -> None:
    task_id = created_id(state)

    assert state.tasks[task_id].content_text == DEFAULT_CONTENT_TEXT


def test_every_api_request_is_logged_even_a_refused_one(state: SimulatorState) -> None:
    task_id = created_id(state)
    create(state, authorization=None)
    query(state, task_id)
    query(state, "audio_unknown")
    handle_audio(state, task_id=task_id)

    assert state.request_log == [
        ("POST", "/v1/soundCloning/clones"),
        ("POST", "/v1/soundCloning/clones"),
        ("GET", f"/v1/result/{task_id}"),
        ("GET", "/v1/result/audio_unknown"),
    ]


def test_an_unknown_task_answers_404(state: SimulatorState) -> None:
    response = query(state, "audio_nope")

    assert response.status == 404
    assert body_of(response) == {"message": "Task not found"}


def test_a_forgotten_task_answers_404(state: SimulatorState) -> None:
    task_id = created_id(state)
    state.forget_task(task_id)

    assert query(state, task_id).status == 404


def test_reset_drops_every_task_and_the_log(state: SimulatorState) -> None:
    created_id(state)
    state.reset()

    assert state.tasks == {}
    assert state.request_log == []


# --- auth -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer ", "Basic abc", "test-key", "Bearer a b"]
)
def test_a_missing_or_malformed_authorization_is_refused(
    state: SimulatorState, authorization: str | None
) -> None:
    response = create(state, authorization=authorization)

    assert response.status == 401
    assert body_of(response) == {"message": "Invalid API key"}
    assert state.tasks == {}


def test_any_bearer_token_is_accepted_when_no_key_is_configured(state: SimulatorState) -> None:
    assert create(state, authorization="Bearer whatever").status == 200


def test_a_different_key_is_refused_when_a_key_is_configured(state: SimulatorState) -> None:
    state.config.api_key = "the-right-key"

    assert create(state, authorization="Bearer the-wrong-key").status == 401
    assert create(state, authorization="Bearer the-right-key").status == 200


def test_a_query_without_the_key_is_refused(state: SimulatorState) -> None:
    task_id = created_id(state)
    state.config.api_key = "the-right-key"

    assert query(state, task_id, authorization="Bearer the-wrong-key").status == 401
    assert query(state, task_id, authorization=None).status == 401


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_refused(state: SimulatorState, body: bytes) -> None:
    response = handle_create(state, authorization=AUTH, body=body, base_url=BASE_URL)

    assert response.status == 400
    assert body_of(response) == {"message": "Request body must be JSON"}


@pytest.mark.parametrize(
    ("file_url", "message"),
    [
        (..., "fileUrl is required"),
        ("", "fileUrl is required"),
        (42, "fileUrl is required"),
        ("/home/me/clip.mp3", "fileUrl must be a public http(s) URL"),
        ("ftp://example.com/clip.mp3", "fileUrl must be a public http(s) URL"),
        ("https:///clip.mp3", "fileUrl must be a public http(s) URL"),
        ("https://example.com/声音.mp3", "fileUrl must not contain non-ASCII characters"),
        ("https://example.com/my clip.mp3", "fileUrl must not contain spaces"),
    ],
)
def test_a_bad_file_url_is_refused(state: SimulatorState, file_url: Any, message: str) -> None:
    response = create(state, fileUrl=file_url)

    assert response.status == 400
    assert body_of(response) == {"message": message}


def test_a_percent_encoded_file_url_is_accepted(state: SimulatorState) -> None:
    assert create(state, fileUrl="https://example.com/%E5%A3%B0%E9%9F%B3.mp3").status == 200


def test_v1_with_auto_is_refused(state: SimulatorState) -> None:
    response = create(state, soundVersion="v1", language="auto")

    assert response.status == 400
    assert body_of(response) == {"message": "language auto is not supported by soundVersion v1"}


def test_v1_without_a_language_is_refused_because_the_language_defaults_to_auto(
    state: SimulatorState,
) -> None:
    response = create(state, soundVersion=..., language=...)

    assert body_of(response) == {"message": "language auto is not supported by soundVersion v1"}


def test_v2_accepts_auto(state: SimulatorState) -> None:
    assert create(state, soundVersion="v2", language="auto").status == 200


def test_chinese_yue_is_one_language_accepted_by_v1(state: SimulatorState) -> None:
    task_id = created_id(state, soundVersion="v1", language="Chinese,Yue")

    assert state.tasks[task_id].language == "Chinese,Yue"


def test_a_v2_only_language_is_refused_by_v1_and_accepted_by_v2(state: SimulatorState) -> None:
    response = create(state, soundVersion="v1", language="Nynorsk")

    assert body_of(response) == {"message": "language Nynorsk is not supported by soundVersion v1"}
    assert create(state, soundVersion="v2", language="Nynorsk").status == 200


def test_a_language_code_is_refused(state: SimulatorState) -> None:
    assert create(state, soundVersion="v2", language="en").status == 400


@pytest.mark.parametrize("sound_version", ["v3", "V1", 1, ["v1"]])
def test_an_unknown_sound_version_is_refused(state: SimulatorState, sound_version: Any) -> None:
    response = create(state, soundVersion=sound_version)

    assert body_of(response) == {"message": "soundVersion must be v1 or v2"}


def test_269_characters_of_content_text_are_accepted(state: SimulatorState) -> None:
    task_id = created_id(state, contentText="声" * 269)

    assert state.tasks[task_id].content_text == "声" * 269


def test_270_characters_of_content_text_are_refused(state: SimulatorState) -> None:
    response = create(state, contentText="声" * 270)

    assert response.status == 400
    assert body_of(response) == {"message": "contentText must be fewer than 270 characters"}


# --- the simulator's copies of the app's rules ---------------------------------------------------


def test_the_simulator_imports_without_django_which_is_why_it_keeps_copies() -> None:
    script = "import sys, clones.simulator; sys.exit('django' in sys.modules)"
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}

    assert subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment).returncode == 0  # noqa: S603


def test_the_simulator_accepts_exactly_the_languages_the_form_offers_for_each_version() -> None:
    offered = {
        version: frozenset(item.value for item in items)
        for version, items in languages.LANGUAGES_BY_VERSION.items()
    }

    assert simulator.LANGUAGES_BY_VERSION == offered


def test_the_simulator_speaks_the_default_sentence_the_form_shows_as_its_placeholder() -> None:
    assert simulator.DEFAULT_CONTENT_TEXT == forms.DEFAULT_CONTENT_TEXT
    assert (
        forms.CloneForm().fields["content_text"].widget.attrs["placeholder"] == simulator.DEFAULT_CONTENT_TEXT
    )


def test_the_simulator_accepts_the_longest_preview_text_the_form_accepts_and_no_longer(
    state: SimulatorState,
) -> None:
    assert create(state, contentText="声" * forms.MAX_CONTENT_TEXT).status == 200
    assert create(state, contentText="声" * (forms.MAX_CONTENT_TEXT + 1)).status == 400


# --- markers on create ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "status", "data"),
    [
        ("create-400", 400, {"message": "The audio must contain 15 to 60 seconds of speech"}),
        ("create-401", 401, {"message": "Invalid API key"}),
        ("create-403", 403, {"message": "This API key may not use soundCloning"}),
        ("create-422", 422, {"detail": "fileUrl could not be downloaded"}),
        ("create-429", 429, {"msg": "Too many requests"}),
        ("create-500", 500, {"error": {"message": "Internal error"}}),
        ("create-wrapped-error", 200, {"code": 40001, "msg": "Insufficient balance", "data": None}),
    ],
)
def test_a_create_error_marker_answers_its_error_and_creates_no_task(
    state: SimulatorState, marker: str, status: int, data: Any
) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim={marker}")

    assert response.status == status
    assert body_of(response) == data
    assert state.tasks == {}


def test_create_503_answers_an_html_page(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim=create-503")

    assert response.status == 503
    assert response.content_type == "text/html"
    assert b"503" in response.body
    assert state.tasks == {}


def test_create_slow_answers_late_but_creates_the_task(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim=create-slow")

    assert response.status == 200
    assert response.delay_seconds == 3
    assert list(state.tasks) == [body_of(response)["id"]]


def test_create_hang_answers_only_after_five_minutes_like_a_hung_service(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim=create-hang")

    assert response.status == 200
    assert response.delay_seconds == 300
    assert list(state.tasks) == [body_of(response)["id"]]


def test_create_notjson_answers_html_but_creates_the_task(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim=create-notjson")

    assert (response.status, response.content_type, response.body) == (200, "text/html", b"<html>oops</html>")
    assert len(state.tasks) == 1


def test_a_marker_is_read_among_other_query_parameters(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?token=abc&sim=create-429&x=1")

    assert response.status == 429


def test_an_unknown_marker_is_refused_so_a_typo_is_noticed(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim=fial")

    assert response.status == 400
    assert body_of(response) == {"message": "Unknown simulator marker: fial"}


def test_validation_comes_before_the_markers(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim=create-500", language="auto")

    assert response.status == 400


# --- markers on create and query ------------------------------------------------------------------


def test_wrapped_wraps_the_create_and_every_query(state: SimulatorState, clock: FakeClock) -> None:
    created = body_of(create(state, fileUrl=f"{CLIP}?sim=wrapped"))
    task_id = created["data"]["id"]
    clock.advance(9)
    queried = body_of(query(state, task_id))

    assert (created["code"], created["msg"], created["data"]["status"]) == (20000, "ok", "queued")
    assert (queried["code"], queried["msg"], queried["data"]["status"]) == (20000, "ok", "completed")


def test_wrapped_str_wraps_with_a_string_code(state: SimulatorState) -> None:
    created = body_of(create(state, fileUrl=f"{CLIP}?sim=wrapped-str"))

    assert created["code"] == "20000"
    assert created["data"]["object"] == "audio"


def test_wrapped_leaves_error_bodies_bare(state: SimulatorState) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim=wrapped,poll-500-once")

    assert body_of(query(state, task_id)) == {"error": {"message": "Internal error"}}
    assert body_of(query(state, task_id))["code"] == 20000


# --- markers on query -----------------------------------------------------------------------------


def test_fail_fails_the_task_when_processing_would_end(state: SimulatorState, clock: FakeClock) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim=fail")
    clock.advance(3)
    assert body_of(query(state, task_id))["status"] == "processing"
    clock.advance(6)
    task = body_of(query(state, task_id))

    assert task["status"] == "failed"
    assert task["error"] == "The audio does not contain enough clear speech"
    assert (task["modelId"], task["audioUrl"]) == (None, None)
    assert handle_audio(state, task_id=task_id).status == 404


@pytest.mark.parametrize(
    ("marker", "status", "data"),
    [
        ("poll-401", 401, {"message": "Invalid API key"}),
        ("poll-404", 404, {"message": "Task not found"}),
        ("poll-429", 429, {"msg": "Too many requests"}),
        ("poll-500", 500, {"error": {"message": "Internal error"}}),
    ],
)
def test_a_poll_error_marker_answers_every_query_with_its_error(
    state: SimulatorState, clock: FakeClock, marker: str, status: int, data: Any
) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim={marker}")

    for _ in range(3):
        clock.advance(5)
        response = query(state, task_id)
        assert response.status == status
        assert body_of(response) == data


def test_poll_notjson_answers_every_query_with_html(state: SimulatorState) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim=poll-notjson")

    for _ in range(2):
        response = query(state, task_id)
        assert (response.status, response.content_type, response.body) == (
            200,
            "text/html",
            b"<html>oops</html>",
        )


def test_poll_slow_answers_every_query_late(state: SimulatorState) -> None:
    response = create(state, fileUrl=f"{CLIP}?sim=poll-slow")
    task_id = body_of(response)["id"]

    assert response.delay_seconds == 0
    assert query(state, task_id).delay_seconds == 3
    assert query(state, task_id).delay_seconds == 3


@pytest.mark.parametrize(("marker", "status"), [("poll-429-once", 429), ("poll-500-once", 500)])
def test_a_once_marker_fails_only_the_first_query(state: SimulatorState, marker: str, status: int) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim={marker}")

    assert query(state, task_id).status == status
    assert query(state, task_id).status == 200
    assert query(state, task_id).status == 200


def test_a_refused_query_does_not_use_up_a_once_marker(state: SimulatorState) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim=poll-500-once")

    assert query(state, task_id, authorization=None).status == 401
    assert query(state, task_id).status == 500


def test_unknown_status_reports_training_while_processing(state: SimulatorState, clock: FakeClock) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim=unknown-status")
    statuses = []
    for _ in range(3):
        statuses.append(body_of(query(state, task_id))["status"])
        clock.advance(4)

    assert statuses == ["queued", "training", "completed"]


def test_no_audio_completes_without_model_id_or_audio_url(state: SimulatorState, clock: FakeClock) -> None:
    task_id = created_id(state, fileUrl=f"{CLIP}?sim=no-audio")
    clock.advance(9)
    task = body_of(query(state, task_id))

    assert (task["status"], task["modelId"], task["audioUrl"]) == ("completed", None, None)
    assert handle_audio(state, task_id=task_id).status == 404


# --- audio ----------------------------------------------------------------------------------------


def test_the_audio_answers_404_until_the_task_completes(state: SimulatorState, clock: FakeClock) -> None:
    task_id = created_id(state)
    clock.advance(5)

    assert handle_audio(state, task_id=task_id).status == 404
    clock.advance(5)
    assert handle_audio(state, task_id=task_id).status == 200


def test_forgotten_audio_answers_404(state: SimulatorState, clock: FakeClock) -> None:
    task_id = created_id(state)
    clock.advance(9)
    state.forget_audio(task_id)

    assert handle_audio(state, task_id=task_id).status == 404
    assert body_of(query(state, task_id))["status"] == "completed"


def test_forgetting_an_unknown_task_is_a_key_error(state: SimulatorState) -> None:
    with pytest.raises(KeyError):
        state.forget_audio("audio_nope")


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, None),
        ("bytes=-10", -10, None),
        ("bytes=50-999999", 50, None),
    ],
)
def test_a_single_byte_range_answers_206(
    state: SimulatorState, clock: FakeClock, range_header: str, start: int, end: int | None
) -> None:
    task_id = created_id(state)
    clock.advance(9)
    whole = handle_audio(state, task_id=task_id).body

    response = handle_audio(state, task_id=task_id, range_header=range_header)

    expected = whole[start : None if end is None else end + 1]
    first = start % len(whole)
    assert response.status == 206
    assert response.body == expected
    assert (
        dict(response.headers)["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(whole)}"
    )


@pytest.mark.parametrize("range_header", ["bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=abc"])
def test_a_range_it_does_not_honour_answers_the_whole_file(
    state: SimulatorState, clock: FakeClock, range_header: str
) -> None:
    task_id = created_id(state)
    clock.advance(9)

    response = handle_audio(state, task_id=task_id, range_header=range_header)

    assert response.status == 200
    assert ("Accept-Ranges", "bytes") in response.headers


def test_a_range_past_the_end_answers_416(state: SimulatorState, clock: FakeClock) -> None:
    task_id = created_id(state)
    clock.advance(9)
    size = len(handle_audio(state, task_id=task_id).body)

    response = handle_audio(state, task_id=task_id, range_header=f"bytes={size}-")

    assert response.status == 416
    assert dict(response.headers)["Content-Range"] == f"bytes */{size}"


def test_generate_wav_makes_a_playable_mono_16_bit_wav() -> None:
    with wave.open(io.BytesIO(generate_wav(2.0, seed="a")), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.getnframes() == 32000
        frames = wav.readframes(wav.getnframes())
    assert (
        max(abs(int.from_bytes(frames[i : i + 2], "little", signed=True)) for i in range(0, 4000, 2)) > 1000
    )


def test_generate_wav_varies_with_the_seed_and_is_deterministic() -> None:
    assert generate_wav(1.0, seed="a") == generate_wav(1.0, seed="a")
    assert generate_wav(1.0, seed="a") != generate_wav(1.0, seed="b")


# --- over real HTTP -------------------------------------------------------------------------------


@pytest.fixture
def live(clock: FakeClock, sleeps: list[float]) -> Iterator[RunningSimulator]:
    config = SimulatorConfig(
        api_key="live-key", queued_seconds=1, processing_seconds=1, clock=clock, sleep=sleeps.append
    )
    simulator = serve_in_thread(SimulatorState(config), port=0)
    try:
        yield simulator
    finally:
        simulator.stop()


LIVE_HEADERS = {"Authorization": "Bearer live-key"}


def live_create(live: RunningSimulator, file_url: str = CLIP) -> requests.Response:
    return requests.post(
        f"{live.base_url}/v1/soundCloning/clones",
        json={"fileUrl": file_url, "soundVersion": "v2", "language": "auto"},
        headers=LIVE_HEADERS,
        timeout=5,
    )


def live_query(live: RunningSimulator, task_id: str) -> requests.Response:
    return requests.get(f"{live.base_url}/v1/result/{task_id}", headers=LIVE_HEADERS, timeout=5)


def test_the_live_simulator_serves_on_the_loopback_port_it_picked(live: RunningSimulator) -> None:
    assert live.port > 0
    assert live.base_url == f"http://127.0.0.1:{live.port}/kyyReactApiServer"


def test_a_task_created_over_http_completes_and_its_audio_downloads(
    live: RunningSimulator, clock: FakeClock
) -> None:
    created = live_create(live)
    assert created.status_code == 200
    assert created.headers["Content-Type"] == "application/json"
    task_id = created.json()["id"]

    statuses = []
    for _ in range(4):
        task = live_query(live, task_id).json()
        statuses.append(task["status"])
        clock.advance(0.75)
    audio = requests.get(task["audioUrl"], timeout=5)

    assert statuses == ["queued", "queued", "processing", "completed"]
    assert task["audioUrl"].startswith(f"{live.base_url}/files/{task_id}.wav?Expires=")
    assert audio.status_code == 200
    assert audio.headers["Content-Type"] == "audio/wav"
    assert audio.headers["Accept-Ranges"] == "bytes"
    with wave.open(io.BytesIO(audio.content), "rb") as wav:
        assert wav.getnframes() / wav.getframerate() > 1
    assert (
        live.state.request_log
        == [("POST", "/v1/soundCloning/clones")] + [("GET", f"/v1/result/{task_id}")] * 4
    )


def test_a_range_request_over_http_answers_206_with_those_bytes(
    live: RunningSimulator, clock: FakeClock
) -> None:
    task_id = live_create(live).json()["id"]
    clock.advance(3)
    audio_url = live_query(live, task_id).json()["audioUrl"]
    whole = requests.get(audio_url, timeout=5).content

    part = requests.get(audio_url, headers={"Range": "bytes=1000-1999"}, timeout=5)

    assert part.status_code == 206
    assert part.content == whole[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(whole)}"
    assert part.headers["Content-Length"] == "1000"


def test_forgotten_audio_and_a_forgotten_task_answer_404_over_http(
    live: RunningSimulator, clock: FakeClock
) -> None:
    task_id = live_create(live).json()["id"]
    clock.advance(3)
    audio_url = live_query(live, task_id).json()["audioUrl"]

    live.state.forget_audio(task_id)
    live.state.forget_task(task_id)

    assert requests.get(audio_url, timeout=5).status_code == 404
    assert live_query(live, task_id).status_code == 404


def test_a_hung_create_leaves_the_client_without_an_answer_over_http(clock: FakeClock) -> None:
    released = threading.Event()
    config = SimulatorConfig(api_key="live-key", clock=clock, sleep=released.wait)
    with serve_in_thread(SimulatorState(config), port=0) as hung:
        try:
            with pytest.raises(requests.ReadTimeout):
                requests.post(
                    f"{hung.base_url}/v1/soundCloning/clones",
                    json={"fileUrl": f"{CLIP}?sim=create-hang", "soundVersion": "v2", "language": "auto"},
                    headers=LIVE_HEADERS,
                    timeout=(2, 0.5),
                )
            other = live_create(hung)
        finally:
            released.set()

    assert other.status_code == 200
    assert len(hung.state.tasks) == 2


def test_a_wrong_key_is_refused_over_http(live: RunningSimulator) -> None:
    response = requests.post(
        f"{live.base_url}/v1/soundCloning/clones",
        json={"fileUrl": CLIP},
        headers={"Authorization": "Bearer wrong"},
        timeout=5,
    )

    assert response.status_code == 401
    assert response.json() == {"message": "Invalid API key"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/kyyReactApiServer/v1/soundCloning/clones"),
        ("POST", "/kyyReactApiServer/v1/result/audio_x"),
        ("GET", "/v1/result/audio_x"),
        ("GET", "/kyyReactApiServer/v1/result/"),
        ("GET", "/kyyReactApiServer/files/audio_x.mp3"),
        ("GET", "/"),
    ],
)
def test_any_other_route_answers_404_over_http(live: RunningSimulator, method: str, path: str) -> None:
    response = requests.request(
        method, f"http://127.0.0.1:{live.port}{path}", headers=LIVE_HEADERS, timeout=5
    )

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
    assert live.state.request_log == []


def test_the_wrapper_sleeps_for_a_slow_marker_over_http(live: RunningSimulator, sleeps: list[float]) -> None:
    response = live_create(live, file_url=f"{CLIP}?sim=create-slow")

    assert response.status_code == 200
    assert sleeps == [3.0]


def test_create_notjson_is_served_as_html_over_http(live: RunningSimulator) -> None:
    response = live_create(live, file_url=f"{CLIP}?sim=create-notjson")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"
    assert response.text == "<html>oops</html>"


def test_the_live_simulator_runs_on_the_real_clock_with_short_timings() -> None:
    state = SimulatorState(SimulatorConfig(queued_seconds=0, processing_seconds=0.05))
    with serve_in_thread(state, port=0) as live:
        task_id = requests.post(
            f"{live.base_url}/v1/soundCloning/clones",
            json={"fileUrl": CLIP, "soundVersion": "v1", "language": "Chinese,Yue"},
            headers={"Authorization": "Bearer any"},
            timeout=5,
        ).json()["id"]
        for _ in range(50):
            task = requests.get(
                f"{live.base_url}/v1/result/{task_id}", headers={"Authorization": "Bearer any"}, timeout=5
            ).json()
            if task["status"] == "completed":
                break
            time.sleep(0.02)
        assert task["status"] == "completed"
