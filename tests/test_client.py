"""The upstream client: its parsing of every body shape in the contract, and the real thing over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import responses

from clones import client
from clones.client import ErrorKind, UpstreamError
from clones.models import CloneTask
from tests.local_http import LocalServer, answer, drip_body, drip_headers, endless_body, redirect_to

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


# --- Every field we send, every field we read --------------------------------------------------------------


def test_it_sends_every_field_of_the_form_to_the_simulator(simulator):
    created = create(
        file_url="https://media.example.com/a.mp3",
        content_text="Hello, this is my cloned voice.",
        sound_version="v2",
        language="Chinese,Yue",
    )
    assert simulator.state.tasks[created.id].payload == {
        "fileUrl": "https://media.example.com/a.mp3",
        "contentText": "Hello, this is my cloned voice.",
        "soundVersion": "v2",
        "language": "Chinese,Yue",
    }


def test_without_a_preview_text_it_leaves_content_text_out_so_the_service_speaks_its_default(simulator):
    created = create(content_text="")
    assert "contentText" not in simulator.state.tasks[created.id].payload


def test_it_sends_the_body_as_json_with_the_key_as_a_bearer_token(upstream):
    upstream.post(CREATE_URL, json={**TASK, "status": "queued"})
    create(file_url="https://e.com/b.wav", content_text="Hi", sound_version="v1", language="German")
    request = upstream.calls[0].request
    assert request.headers["Authorization"] == "Bearer sk-test-secret"
    assert request.headers["Accept"] == "application/json"
    assert json.loads(request.body) == {
        "fileUrl": "https://e.com/b.wav",
        "contentText": "Hi",
        "soundVersion": "v1",
        "language": "German",
    }


def test_it_reads_every_field_of_a_completed_task_from_the_simulator(simulator):
    created = create()
    simulator.state.config.clock = lambda: time.time() + 60  # long past processing
    task = client.get_task(created.id)
    sim_task = simulator.state.tasks[created.id]
    assert task.id == created.id
    assert task.status == CloneTask.Status.COMPLETED
    assert task.raw_status == "completed"
    assert task.is_known_status
    assert task.model_id == sim_task.model_id
    assert task.audio_url.startswith(f"{simulator.base_url}/files/{created.id}.wav?")
    assert task.error == ""
    assert task.http_status == 200
    answered = requests.get(
        f"{simulator.base_url}/v1/result/{created.id}",
        headers={"Authorization": "Bearer test-key"},
        timeout=5,
    ).json()
    assert task.raw == {**answered, "audioUrl": task.audio_url}
    assert task.raw["modelId"] == task.model_id


def test_it_reads_every_field_we_keep_from_a_bare_answer(upstream):
    upstream.get(RESULT_URL, json={**TASK, "status": "failed", "error": "  Too quiet  "})
    task = client.get_task("audio_1")
    assert (task.id, task.status, task.raw_status, task.is_known_status) == (
        "audio_1",
        CloneTask.Status.FAILED,
        "failed",
        True,
    )
    assert (task.model_id, task.audio_url, task.error) == ("voice_abc", TASK["audioUrl"], "Too quiet")
    assert task.raw == {**TASK, "status": "failed", "error": "  Too quiet  "}
    assert task.http_status == 200
    assert task.duration_ms >= 0


@pytest.mark.parametrize(
    ("raw_status", "status"),
    [
        ("queued", CloneTask.Status.QUEUED),
        ("processing", CloneTask.Status.PROCESSING),
        ("completed", CloneTask.Status.COMPLETED),
        ("failed", CloneTask.Status.FAILED),
        (" COMPLETED ", CloneTask.Status.COMPLETED),
    ],
)
def test_each_of_the_four_statuses_is_translated(upstream, raw_status, status):
    upstream.get(RESULT_URL, json={**TASK, "status": raw_status})
    task = client.get_task("audio_1")
    assert task.status == status
    assert task.is_known_status
    assert task.raw_status == raw_status.strip()


@pytest.mark.parametrize("raw_status", [None, 3, ["completed"]])
def test_a_status_that_is_not_a_string_is_unknown_and_still_running(upstream, raw_status):
    upstream.get(RESULT_URL, json={**TASK, "status": raw_status})
    task = client.get_task("audio_1")
    assert (task.status, task.raw_status, task.is_known_status) == (CloneTask.Status.PROCESSING, "", False)


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        ({"message": " Bad clip "}, "Bad clip"),
        ({"code": 7}, ""),
        (None, ""),
        (42, ""),
        ("x" * 1001, "x" * 1000),
    ],
)
def test_the_failure_reason_is_read_from_a_string_or_an_object_and_capped(upstream, error, kept):
    upstream.get(RESULT_URL, json={**TASK, "status": "failed", "error": error})
    assert client.get_task("audio_1").error == kept


def test_ids_up_to_128_characters_are_kept_and_longer_ones_are_not(upstream):
    upstream.get(RESULT_URL, json={**TASK, "id": "a" * 128, "modelId": " " + "m" * 128 + " "})
    task = client.get_task("audio_1")
    assert task.id == "a" * 128
    assert task.model_id == "m" * 128


@pytest.mark.parametrize("task_id", ["x" * 129, "", "   ", None, 17, "audio\x00_1", "audio\n1"])
def test_an_answer_without_a_usable_task_id_is_a_bad_response(upstream, task_id):
    upstream.get(RESULT_URL, json={**TASK, "id": task_id})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.message == "The voice service's answer had no task id."
    assert error.value.service_said == "HTTP 200: no task id"


@pytest.mark.parametrize("model_id", ["", "   ", None, 5, "voice\x00abc"])
def test_a_model_id_that_is_not_a_printable_string_is_not_kept(upstream, model_id):
    upstream.get(RESULT_URL, json={**TASK, "modelId": model_id})
    assert client.get_task("audio_1").model_id == ""


@pytest.mark.parametrize(
    "audio_url",
    [
        "https://cdn.example.com/a b.wav",
        "https://cdn.example.com/a.wav\x00",
        "https://cdn.example.com/" + "a" * 2048,
        "https:///a.wav",
        "ftp://cdn.example.com/a.wav",
    ],
)
def test_an_audio_url_with_spaces_controls_no_host_or_over_2048_characters_is_dropped(upstream, audio_url):
    upstream.get(RESULT_URL, json={**TASK, "audioUrl": audio_url})
    assert client.get_task("audio_1").audio_url == ""


@pytest.mark.parametrize("audio_url", ["http://cdn.example.com/a.wav", " https://cdn.example.com/a.wav?s=1 "])
def test_an_http_or_https_audio_url_is_kept(upstream, audio_url):
    upstream.get(RESULT_URL, json={**TASK, "audioUrl": audio_url})
    assert client.get_task("audio_1").audio_url == audio_url.strip()


@pytest.mark.parametrize("task_id", ["", "a/b", "x" * 129])
def test_a_query_for_an_id_the_service_cannot_have_given_is_not_sent(upstream, task_id):
    with pytest.raises(UpstreamError) as error:
        client.get_task(task_id)
    assert error.value.kind == ErrorKind.NOT_FOUND
    assert len(upstream.calls) == 0


def test_the_task_id_is_quoted_into_the_path(upstream):
    upstream.get(BASE + "/v1/result/audio%201%3Fx%23", json={**TASK, "id": "audio 1?x#"})
    assert client.get_task("audio 1?x#").id == "audio 1?x#"


# --- Error mapping: every status family, every message key -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ErrorKind.REJECTED),
        (422, ErrorKind.REJECTED),
        (404, ErrorKind.NOT_FOUND),
        (401, ErrorKind.CREDENTIALS),
        (403, ErrorKind.CREDENTIALS),
        (429, ErrorKind.BUSY),
        (500, ErrorKind.BUSY),
        (599, ErrorKind.BUSY),
        (405, ErrorKind.BAD_RESPONSE),
        (410, ErrorKind.BAD_RESPONSE),
        (418, ErrorKind.BAD_RESPONSE),
        (499, ErrorKind.BAD_RESPONSE),
    ],
)
def test_each_status_family_maps_to_one_kind_with_the_status_code(upstream, status, kind):
    upstream.get(RESULT_URL, status=status, json={"message": "said so"})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == kind
    assert error.value.status_code == status
    assert error.value.service_said == f"HTTP {status}: said so"
    assert str(error.value) == f"{kind}: {error.value.message} (HTTP {status})"


@pytest.mark.parametrize("status", [400, 404, 418])
def test_the_services_own_message_is_shown_for_refusals_and_unknown_statuses(upstream, status):
    upstream.get(RESULT_URL, status=status, json={"message": "  The clip is silent  "})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.message == "The clip is silent"


def test_a_success_status_that_is_not_200_is_still_read(upstream):
    upstream.post(CREATE_URL, status=201, json={**TASK, "status": "queued"})
    assert create().http_status == 201


def test_a_redirect_from_the_service_is_not_followed_and_is_a_bad_response(upstream):
    upstream.get(RESULT_URL, status=302, headers={"Location": "http://169.254.169.254/"}, body="")
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.service_said == "HTTP 302: not JSON"
    assert len(upstream.calls) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "   ", "msg": "from msg"}, "from msg"),
        ({"message": 12, "error": "from error"}, "from error"),
        ({"error": {"code": 1}, "detail": "from detail"}, "from detail"),
        ({"error": {"message": " "}, "detail": "from detail"}, "from detail"),
        ({"msg": "m" * 501}, "m" * 500),
    ],
)
def test_an_empty_or_odd_message_falls_through_to_the_next_key_and_long_ones_are_capped(
    upstream, body, message
):
    upstream.post(CREATE_URL, status=400, json=body)
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.message == message


def test_what_the_service_said_is_capped_at_200_characters(upstream):
    upstream.get(RESULT_URL, status=500, json={"message": "s" * 300})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.service_said == "HTTP 500: " + "s" * 190


@pytest.mark.parametrize(("status", "said"), [(503, "HTTP 503"), (401, "HTTP 401"), (404, "HTTP 404")])
def test_without_a_message_the_service_said_its_status(upstream, status, said):
    upstream.get(RESULT_URL, status=status, body="<html>proxy error</html>")
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.service_said == said


@pytest.mark.parametrize("code", [40100, "401", "40300", "403xx", 40301])
def test_a_wrapped_401_or_403_code_is_a_refused_key(upstream, code, caplog):
    upstream.get(RESULT_URL, json={"code": code, "msg": "token invalid sk-test-secret", "data": None})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.CREDENTIALS
    assert error.value.message == "The voice service rejected our credentials: tell your administrator."
    assert error.value.service_said == f"code {code}: token invalid [redacted]"
    assert error.value.status_code == 200
    assert "refused our API key" in caplog.text


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (42900, ErrorKind.BUSY),
        ("429", ErrorKind.BUSY),
        (50000, ErrorKind.BUSY),
        ("5", ErrorKind.BUSY),
        (40001, ErrorKind.REJECTED),
        (40400, ErrorKind.REJECTED),
        (1, ErrorKind.REJECTED),
    ],
)
def test_other_wrapped_codes_map_by_their_http_shape(upstream, code, kind):
    upstream.get(RESULT_URL, json={"code": code, "msg": "nope", "data": None})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == kind
    assert error.value.message == "nope"


def test_a_wrapped_error_without_a_message_names_its_code(upstream):
    upstream.get(RESULT_URL, json={"code": 40001, "data": None})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.message == "The voice service reported error 40001."
    assert error.value.service_said == "code 40001"


@pytest.mark.parametrize("data", [None, [], "task"])
def test_a_wrapped_success_without_a_task_object_is_a_bad_response(upstream, data):
    upstream.get(RESULT_URL, json={"code": 20000, "msg": "ok", "data": data})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.message == "The voice service sent an empty answer."


def test_a_wrapped_code_with_spaces_is_still_the_success_code(upstream):
    upstream.get(RESULT_URL, json={"code": " 20000 ", "msg": "ok", "data": TASK})
    assert client.get_task("audio_1").id == "audio_1"


def test_a_bare_task_that_happens_to_carry_code_and_data_is_read_as_a_task(upstream):
    upstream.get(RESULT_URL, json={**TASK, "code": 500, "data": None})
    assert client.get_task("audio_1").model_id == "voice_abc"


def test_a_body_that_is_not_json_says_so(upstream):
    upstream.get(RESULT_URL, status=200, body="<html>oops</html>")
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.message == "The voice service sent an answer we could not read."
    assert error.value.service_said == "HTTP 200: not JSON"
    assert error.value.status_code == 200


@pytest.mark.parametrize("body", ['{"id": "audio_1", "status": NaN}', '{"id": "audio_1", "n": Infinity}'])
def test_numbers_json_does_not_have_are_a_bad_response(upstream, body):
    upstream.get(RESULT_URL, body=body)
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # json.loads gives up with RecursionError
        '{"id": "audio_1", "x": ' + "[" * 33 + "]" * 33 + "}",  # readable, but no task answer nests so deep
    ],
)
def test_a_deeply_nested_answer_is_a_bad_response_not_a_crash(upstream, body):
    upstream.get(RESULT_URL, body=body)
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.service_said == "HTTP 200: deep JSON"


def test_nesting_up_to_the_limit_is_read(upstream):
    upstream.get(RESULT_URL, body='{"id": "audio_1", "x": ' + "[" * 31 + "]" * 31 + "}")
    assert client.get_task("audio_1").id == "audio_1"


def test_any_other_request_failure_is_certainly_not_sent(upstream):
    upstream.post(CREATE_URL, body=requests.exceptions.InvalidHeader("bad header"))
    with pytest.raises(UpstreamError) as error:
        create()
    assert error.value.kind == ErrorKind.NOT_SENT
    assert error.value.message == "The request to the voice service could not be made."
    assert error.value.service_said == "no request made"


# --- Safe stored copies ------------------------------------------------------------------------------------


def test_nul_characters_are_removed_from_everything_kept(upstream):
    upstream.get(
        RESULT_URL,
        json={
            **TASK,
            "status": "fail\u0000ed",
            "error": "bad\u0000 clip",
            "note\u0000": ["a\u0000", {"k": "\u0000"}],
        },
    )
    task = client.get_task("audio_1")
    assert task.raw_status == "failed"
    assert task.error == "bad clip"
    assert task.raw["note"] == ["a", {"k": ""}]
    assert "\u0000" not in json.dumps(task.raw, ensure_ascii=False)


def test_a_lone_surrogate_is_replaced_so_the_database_can_store_it(upstream):
    upstream.get(RESULT_URL, body='{"id": "audio_1", "status": "failed", "error": "bad \\ud800 clip"}')
    task = client.get_task("audio_1")
    assert task.error == "bad ? clip"
    assert task.raw["error"] == "bad ? clip"


def test_our_key_echoed_by_the_service_is_redacted_everywhere_it_is_kept(upstream):
    echo = "you sent sk-test-secret"
    upstream.get(
        RESULT_URL,
        json={**TASK, "status": "failed", "error": echo, "sk-test-secret": [echo], "deep": {"x": echo}},
    )
    task = client.get_task("audio_1")
    assert task.error == "you sent [redacted]"
    assert "sk-test-secret" not in json.dumps(task.raw)
    assert task.raw["[redacted]"] == ["you sent [redacted]"]
    assert task.raw["deep"] == {"x": "you sent [redacted]"}


@pytest.mark.parametrize("status", [400, 404, 500])
def test_our_key_echoed_in_an_error_is_redacted_from_the_message_and_what_the_service_said(upstream, status):
    upstream.get(RESULT_URL, status=status, json={"message": "key sk-test-secret is wrong"})
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert "sk-test-secret" not in error.value.message + error.value.service_said + str(error.value)
    assert error.value.service_said == f"HTTP {status}: key [redacted] is wrong"


def test_a_stored_copy_over_16_kb_is_truncated_text(upstream):
    answer = {**TASK, "note": "n" * 20_000}
    upstream.get(RESULT_URL, json=answer)
    task = client.get_task("audio_1")
    assert task.raw["truncated"] is True
    assert set(task.raw) == {"truncated", "text"}
    assert len(task.raw["text"].encode()) == 16 * 1024
    assert json.dumps(answer, ensure_ascii=False).startswith(task.raw["text"])
    assert task.model_id == "voice_abc"  # the fields are read from the whole answer


def test_a_stored_copy_of_16_kb_exactly_is_kept_whole(upstream):
    skeleton = json.dumps({"id": "audio_1", "note": ""})
    answer = {"id": "audio_1", "note": "n" * (16 * 1024 - len(skeleton))}
    upstream.get(RESULT_URL, json=answer)
    assert client.get_task("audio_1").raw == answer


def test_truncation_never_cuts_a_character_in_half(upstream):
    answer = {"id": "audio_1", "note": "声" * 10_000}
    upstream.get(RESULT_URL, json=answer)
    text = client.get_task("audio_1").raw["text"]
    assert 16 * 1024 - 3 < len(text.encode()) <= 16 * 1024
    assert json.dumps(answer, ensure_ascii=False).startswith(text)


def test_an_announced_answer_over_1_mb_is_refused_unread(upstream):
    upstream.get(RESULT_URL, body=b"x" * (1024 * 1024 + 1))
    with pytest.raises(UpstreamError) as error:
        client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.message == "The voice service sent an answer larger than we accept."
    assert error.value.service_said == "HTTP 200: over 1 MB"


def test_an_answer_of_1_mb_exactly_is_read(upstream):
    skeleton = json.dumps({"id": "audio_1", "note": ""})
    upstream.get(RESULT_URL, body=json.dumps({"id": "audio_1", "note": "n" * (1024 * 1024 - len(skeleton))}))
    assert client.get_task("audio_1").raw["truncated"] is True


def test_an_endless_answer_is_cut_off_after_1_mb(settings):
    with LocalServer(endless_body()) as server:
        settings.SOUNDCLONE_BASE_URL = server.url
        with pytest.raises(UpstreamError) as error:
            client.get_task("audio_1")
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.service_said == "HTTP 200: over 1 MB"


# --- Deadlines: the whole call, not each read --------------------------------------------------------------


@pytest.fixture
def deadlines(settings):
    """Per-read timeouts far longer than the deadlines, so only a total deadline can end a dripping call."""
    settings.SOUNDCLONE_API_KEY = "sk-test-secret"
    settings.SOUNDCLONE_CONNECT_TIMEOUT = 5.0
    settings.SOUNDCLONE_CREATE_TIMEOUT = 5.0
    settings.SOUNDCLONE_QUERY_TIMEOUT = 5.0
    settings.SOUNDCLONE_CREATE_DEADLINE = 30.0
    settings.SOUNDCLONE_QUERY_DEADLINE = 30.0
    return settings


@pytest.mark.parametrize("drip", [drip_headers, lambda: drip_body(json.dumps(TASK).encode())])
def test_a_status_query_from_a_dripping_server_ends_at_the_query_deadline(deadlines, drip):
    deadlines.SOUNDCLONE_QUERY_DEADLINE = 1.0
    with LocalServer(drip()) as server:
        deadlines.SOUNDCLONE_BASE_URL = server.url
        started = time.monotonic()
        with pytest.raises(UpstreamError) as error:
            client.get_task("audio_1")
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 2
    assert error.value.kind == ErrorKind.UNCERTAIN
    assert error.value.service_said == "no answer in time"


@pytest.mark.parametrize("drip", [drip_headers, lambda: drip_body(json.dumps(TASK).encode())])
def test_a_create_on_a_dripping_server_ends_uncertain_at_the_create_deadline(deadlines, drip):
    deadlines.SOUNDCLONE_CREATE_DEADLINE = 1.0
    with LocalServer(drip()) as server:
        deadlines.SOUNDCLONE_BASE_URL = server.url
        started = time.monotonic()
        with pytest.raises(UpstreamError) as error:
            create()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 2
    assert error.value.kind == ErrorKind.UNCERTAIN
    assert error.value.message == "The voice service did not answer in time."


def slow_answer():
    """The whole task answer, in ten pieces over about 1.5 seconds."""
    body = json.dumps({**TASK, "status": "queued"}).encode()
    return drip_body(body, chunk=len(body) // 10 + 1, every=0.15)


def test_a_status_query_waits_for_its_own_deadline_not_the_creates(deadlines):
    deadlines.SOUNDCLONE_CREATE_DEADLINE = 0.5
    deadlines.SOUNDCLONE_QUERY_DEADLINE = 10.0
    with LocalServer(slow_answer()) as server:
        deadlines.SOUNDCLONE_BASE_URL = server.url
        assert client.get_task("audio_1").id == "audio_1"


def test_a_create_waits_for_its_own_deadline_not_the_querys(deadlines):
    deadlines.SOUNDCLONE_CREATE_DEADLINE = 10.0
    deadlines.SOUNDCLONE_QUERY_DEADLINE = 0.5
    with LocalServer(slow_answer()) as server:
        deadlines.SOUNDCLONE_BASE_URL = server.url
        assert create().id == "audio_1"


@pytest.mark.parametrize(
    ("query_timeout", "create_timeout", "query_answers", "create_answers"),
    [(0.3, 5.0, False, True), (5.0, 0.3, True, False)],
)
def test_each_call_waits_for_one_read_as_long_as_its_own_timeout(
    simulator, settings, query_timeout, create_timeout, query_answers, create_answers
):
    simulator.state.config.slow_seconds = 1.0
    created = create(file_url="https://media.example.com/a.mp3?sim=poll-slow")
    settings.SOUNDCLONE_QUERY_TIMEOUT = query_timeout
    settings.SOUNDCLONE_CREATE_TIMEOUT = create_timeout
    outcomes = []
    for call in (
        lambda: client.get_task(created.id),
        lambda: create(file_url="https://media.example.com/a.mp3?sim=create-slow"),
    ):
        try:
            call()
            outcomes.append(True)
        except UpstreamError as error:
            assert error.kind == ErrorKind.UNCERTAIN
            outcomes.append(False)
    assert outcomes == [query_answers, create_answers]


@pytest.mark.parametrize(
    "name", ["SOUNDCLONE_CREATE_DEADLINE", "SOUNDCLONE_QUERY_DEADLINE", "SOUNDCLONE_ARCHIVE_DEADLINE"]
)
@pytest.mark.parametrize("seconds", ["60", "75", "0"])
def test_a_deadline_not_shorter_than_the_poll_lease_stops_the_app_from_starting(tmp_path, name, seconds):
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("SOUNDCLONE_", "DJANGO_"))
    }
    environment.update({name: seconds, "DATA_DIR": str(tmp_path), "SOUNDCLONE_POLL_LEASE_SECONDS": "60"})
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed import
        [sys.executable, "-c", "import soundclone_site.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        f"django.core.exceptions.ImproperlyConfigured: {name} is {seconds} seconds; it must be more than 0 "
        "and less than SOUNDCLONE_POLL_LEASE_SECONDS (60)"
    ) in result.stderr


def test_the_default_deadlines_are_shorter_than_the_lease():
    from soundclone_site import settings as defaults

    assert defaults.SOUNDCLONE_CREATE_DEADLINE == 20.0
    assert defaults.SOUNDCLONE_QUERY_DEADLINE == 10.0
    assert defaults.SOUNDCLONE_ARCHIVE_DEADLINE == 30.0
    assert defaults.SOUNDCLONE_POLL_LEASE_SECONDS == 60.0


# --- The preview copy --------------------------------------------------------------------------------------


TOO_LARGE = "The preview is larger than we accept."


@pytest.fixture
def preview_server(settings):
    servers = []

    def serve(respond):
        server = LocalServer(respond)
        servers.append(server)
        settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
        return server

    yield serve
    for server in servers:
        server.stop()


def garbage(handler):
    handler.wfile.write(b"garbage\r\n\r\n")


@pytest.mark.parametrize(
    ("respond", "kind", "message", "status_code"),
    [
        (
            answer(404, content_type="text/plain"),
            ErrorKind.NOT_FOUND,
            "The preview is no longer available.",
            404,
        ),
        (answer(503, content_type="text/plain"), ErrorKind.BUSY, "The preview could not be downloaded.", 503),
        (
            answer(200, content_type="text/html"),
            ErrorKind.BAD_RESPONSE,
            "The preview link did not return audio.",
            None,
        ),
        (answer(200, b"R" * 1001, content_type="audio/wav"), ErrorKind.BAD_RESPONSE, TOO_LARGE, None),
        (redirect_to("/again"), ErrorKind.BAD_RESPONSE, "The preview link redirected too many times.", None),
        (drip_headers(), ErrorKind.BUSY, "The preview did not download in time.", None),
        (garbage, ErrorKind.BUSY, "The preview download broke off.", None),
    ],
)
def test_each_way_a_preview_copy_fails_maps_to_one_kind_and_message(
    preview_server, settings, respond, kind, message, status_code
):
    settings.SOUNDCLONE_ARCHIVE_MAX_BYTES = 1000
    settings.SOUNDCLONE_ARCHIVE_DEADLINE = 1.0
    server = preview_server(respond)
    with pytest.raises(UpstreamError) as error:
        client.download_preview(f"{server.url}/a.wav")
    assert (error.value.kind, error.value.message, error.value.status_code) == (kind, message, status_code)


def test_a_preview_copy_sends_accept_audio_and_returns_the_bytes_and_type(preview_server):
    seen = []

    def respond(handler):
        seen.append(handler.headers["Accept"])
        answer(200, b"ID3 audio", content_type="audio/mpeg; charset=binary")(handler)

    server = preview_server(respond)
    audio = client.download_preview(f"{server.url}/a.mp3")
    assert audio == client.DownloadedAudio(b"ID3 audio", "audio/mpeg")
    assert seen == ["audio/*"]


def test_a_preview_copy_from_an_unknown_host_is_not_sent(settings):
    with pytest.raises(UpstreamError) as error:
        client.download_preview("https://no-such-host.invalid/a.wav")
    assert error.value.kind == ErrorKind.NOT_SENT
    assert error.value.message == "The preview's host could not be found."


def test_a_preview_copy_from_a_closed_port_is_not_sent(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    with pytest.raises(UpstreamError) as error:
        client.download_preview(f"http://127.0.0.1:{port}/a.wav")
    assert error.value.kind == ErrorKind.NOT_SENT
    assert error.value.message == "The preview could not be downloaded."


def test_a_preview_copy_of_a_link_that_is_not_a_web_address_is_a_bad_response():
    with pytest.raises(UpstreamError) as error:
        client.download_preview("file:///etc/passwd")
    assert error.value.kind == ErrorKind.BAD_RESPONSE
    assert error.value.message == "The preview link is not a web address."
