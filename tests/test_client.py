"""The upstream client: its parsing of every body shape in the contract, and the real thing over HTTP."""

import socket
import time

import pytest
import requests
import responses

from clones import client
from clones.client import ErrorKind, UpstreamError
from clones.models import CloneTask

BASE = "http://upstream.test/kyyReactApiServer"
CREATE_URL = BASE + "/v1/soundCloning/clones"
RESULT_URL = BASE + "/v1/result/audio_1"
TASK = {
    "id": "audio_1",
    "object": "audio",
    "created": 1781777280,
    "model": "soundCloningClone",
    "status": "completed",
    "modelId": "voice_abc",
    "audioUrl": "https://cdn.example.com/a.wav?Expires=1&Signature=x",
    "subtitleFile": None,
    "error": None,
}


@pytest.fixture
def upstream(settings):
    settings.SOUNDCLONE_BASE_URL = BASE
    settings.SOUNDCLONE_API_KEY = "sk-test-secret"
    with responses.RequestsMock() as mock:
        yield mock


def create(**overrides):
    arguments = {
        "file_url": "https://e.com/a.mp3",
        "content_text": "",
        "sound_version": "v1",
        "language": "English",
    }
    arguments.update(overrides)
    return client.create_clone(**arguments)


# --- Parsing (faults the simulator cannot produce, and exact body shapes) -----------------------------------


def test_it_reads_a_bare_task_object(upstream):
    upstream.get(RESULT_URL, json=TASK)
    task = client.get_task("audio_1")
    assert task.status == CloneTask.Status.COMPLETED
    assert task.model_id == "voice_abc"
    assert task.audio_url == TASK["audioUrl"]


@pytest.mark.parametrize("code", [20000, "20000"])
def test_it_reads_a_wrapped_task_object(upstream, code):
    upstream.get(RESULT_URL, json={"code": code, "msg": "ok", "data": TASK})
    assert client.get_task("audio_1").model_id == "voice_abc"


def test_a_wrapper_with_another_code_is_an_error_carrying_its_message(upstream):
    upstream.post(CREATE_URL, json={"code": 40001, "msg": "Insufficient balance", "data": None})
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.REJECTED
    assert error.value.message == "Insufficient balance"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "from message", "msg": "no", "detail": "no"}, "from message"),
        ({"msg": "from msg", "error": "no"}, "from msg"),
        ({"error": "from error string", "detail": "no"}, "from error string"),
        ({"error": {"message": "from error object"}}, "from error object"),
        ({"detail": "from detail"}, "from detail"),
    ],
)
def test_it_reads_an_error_message_in_the_contracts_order(upstream, body, message):
    upstream.post(CREATE_URL, status=400, json=body)
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.REJECTED
    assert error.value.message == message


def test_without_a_message_it_uses_the_status_line(upstream):
    upstream.post(CREATE_URL, status=422, body="<html>nope</html>")
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.message == "422 Unprocessable Entity"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_says_to_tell_the_administrator_and_never_shows_the_key(upstream, status, caplog):
    upstream.get(RESULT_URL, status=status, json={"message": "bad key sk-test-secret"})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.CREDENTIALS
    assert "tell your administrator" in error.value.message
    assert "sk-test-secret" not in str(error.value)
    assert "sk-test-secret" not in caplog.text


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_rate_limits_and_server_errors_are_temporary(upstream, status):
    upstream.get(RESULT_URL, status=status, body="busy")
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BUSY
    assert error.value.message == "The voice service is busy; we will try again."
    assert error.value.service_said == f"HTTP {status}"


def test_a_404_means_the_service_does_not_know_the_task(upstream):
    upstream.get(RESULT_URL, status=404, json={"message": "task not found"})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.NOT_FOUND


@pytest.mark.parametrize("body", ["<html>oops</html>", "[1, 2]", '{"status": "queued"}', '"just a string"'])
def test_a_body_it_cannot_read_is_a_bad_response(upstream, body):
    upstream.get(RESULT_URL, status=200, body=body)
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE


def test_an_unknown_status_is_treated_as_still_running(upstream):
    upstream.get(RESULT_URL, json={**TASK, "status": "training", "modelId": None, "audioUrl": None})
    task = client.get_task("audio_1")
    assert task.status == CloneTask.Status.PROCESSING
    assert task.raw_status == "training"
    assert not task.is_known_status


@pytest.mark.parametrize(
    "audio_url", ["javascript:alert(1)", "data:audio/wav;base64,AAAA", "//cdn.example.com/a", 7]
)
def test_an_audio_url_that_is_not_http_is_dropped(upstream, audio_url):
    upstream.get(RESULT_URL, json={**TASK, "audioUrl": audio_url})
    assert client.get_task("audio_1").audio_url == ""


def test_an_over_long_model_id_is_not_kept(upstream):
    upstream.get(RESULT_URL, json={**TASK, "modelId": "x" * 129})
    assert client.get_task("audio_1").model_id == ""


def test_it_sends_the_key_as_a_bearer_token_and_always_sends_version_and_language(upstream):
    upstream.post(CREATE_URL, json={**TASK, "status": "queued"})
    create(sound_version="v2", language="Chinese,Yue")
    request = upstream.calls[0].request
    assert request.headers["Authorization"] == "Bearer sk-test-secret"
    assert request.headers["Content-Type"] == "application/json"
    assert b'"soundVersion": "v2"' in request.body
    assert b'"language": "Chinese,Yue"' in request.body
    assert b"contentText" not in request.body


def test_a_read_timeout_after_sending_is_uncertain(upstream):
    upstream.post(CREATE_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.UNCERTAIN
    assert error.value.message == "The voice service did not answer in time."


def test_a_dropped_connection_after_sending_is_uncertain(upstream):
    upstream.post(CREATE_URL, body=requests.exceptions.ConnectionError("Connection aborted"))
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.UNCERTAIN


def test_a_connect_timeout_is_certainly_not_sent(upstream):
    upstream.post(CREATE_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.NOT_SENT
    assert error.value.message == "The voice service could not be reached."


# --- Against the simulator, over real HTTP -----------------------------------------------------------------


def test_it_creates_a_task_and_follows_it_to_completion_on_the_simulator(simulator):
    created = create(file_url="https://media.example.com/a.mp3")
    assert created.status == CloneTask.Status.QUEUED
    assert created.id.startswith("audio_")
    seen = [created.status]
    deadline = time.monotonic() + 5
    while seen[-1] != CloneTask.Status.COMPLETED and time.monotonic() < deadline:
        time.sleep(0.1)
        task = client.get_task(created.id)
        if task.status != seen[-1]:
            seen.append(task.status)
    assert seen == [CloneTask.Status.QUEUED, CloneTask.Status.PROCESSING, CloneTask.Status.COMPLETED]
    assert task.model_id.startswith("voice_")
    audio = requests.get(task.audio_url, timeout=5)
    assert audio.headers["Content-Type"].startswith("audio/")


def test_it_reads_the_wrapped_bodies_of_the_simulator(simulator):
    created = create(file_url="https://media.example.com/a.mp3?sim=wrapped")
    assert client.get_task(created.id).id == created.id


def test_a_failed_task_carries_the_services_reason(simulator):
    created = create(file_url="https://media.example.com/a.mp3?sim=fail")
    time.sleep(1.1)
    task = client.get_task(created.id)
    assert task.status == CloneTask.Status.FAILED
    assert task.error == "The audio does not contain enough clear speech"


@pytest.mark.parametrize(
    ("marker", "kind"),
    [
        ("create-400", ErrorKind.REJECTED),
        ("create-401", ErrorKind.CREDENTIALS),
        ("create-403", ErrorKind.CREDENTIALS),
        ("create-422", ErrorKind.REJECTED),
        ("create-429", ErrorKind.BUSY),
        ("create-500", ErrorKind.BUSY),
        ("create-503", ErrorKind.BUSY),
        ("create-notjson", ErrorKind.BAD_RESPONSE),
        ("create-wrapped-error", ErrorKind.REJECTED),
    ],
)
def test_each_fault_of_the_simulator_on_create_maps_to_one_kind(simulator, marker, kind):
    with pytest.raises(UpstreamError) as error:
        create(file_url=f"https://media.example.com/a.mp3?sim={marker}")
    assert error.value.kind == kind


def test_the_simulator_refuses_a_wrong_key(simulator, settings):
    settings.SOUNDCLONE_API_KEY = "wrong"
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.CREDENTIALS


def test_a_slow_answer_times_out_as_uncertain(simulator, settings):
    settings.SOUNDCLONE_CREATE_TIMEOUT = 0.3
    simulator.state.config.slow_seconds = 1.0
    with pytest.raises(UpstreamError) as error:
        create(file_url="https://media.example.com/a.mp3?sim=create-slow")
    assert error.value.kind == ErrorKind.UNCERTAIN


@pytest.mark.parametrize(
    ("marker", "kind"),
    [
        ("poll-401", ErrorKind.CREDENTIALS),
        ("poll-404", ErrorKind.NOT_FOUND),
        ("poll-429", ErrorKind.BUSY),
        ("poll-500", ErrorKind.BUSY),
        ("poll-notjson", ErrorKind.BAD_RESPONSE),
    ],
)
def test_each_fault_of_the_simulator_on_query_maps_to_one_kind(simulator, marker, kind):
    created = create(file_url=f"https://media.example.com/a.mp3?sim={marker}")
    with pytest.raises(UpstreamError) as error:
        client.get_task(created.id)
    assert error.value.kind == kind


def test_a_refused_connection_is_certainly_not_sent(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.SOUNDCLONE_BASE_URL = f"http://127.0.0.1:{port}/kyyReactApiServer"
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.NOT_SENT
