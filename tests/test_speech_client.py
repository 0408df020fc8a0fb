"""client.create_speech and the subtitle download, over real HTTP against the simulator (and a stub for body
shapes the simulator does not make): every field sent, every fault mapped as for clones (issue 12)."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import responses

from clones import client
from clones.client import ErrorKind, UpstreamError
from clones.models import CloneTask
from clones.simulator import is_model_id_permanent

Status = CloneTask.Status


@pytest.fixture
def model_id(simulator) -> str:
    """A voice the simulator cloned (its clock moved past the preview, so no test waits)."""
    state = simulator.state
    started = time.time()
    state.config.clock = lambda: started
    task = client.create_clone(
        file_url="https://e.com/a.mp3", content_text="", sound_version="v1", language="English"
    )
    state.config.clock = lambda: started + 5
    return client.get_task(task.id).model_id


def speak(voice: str, **overrides) -> client.RemoteTask:
    arguments = {
        "model_id": voice,
        "text": "Hello there. <#0.5#>How are you?",
        "sound_version": "v1",
        "language": "English",
        "emotion": "sad",
        "speed": Decimal("0.75"),
        "vol": Decimal("3.5"),
        "pitch": 5,
        "subtitle_enable": True,
        "subtitle_type": "word",
    }
    arguments.update(overrides)
    return client.create_speech(**arguments)


def test_it_sends_every_field_and_reads_the_new_task(simulator, model_id):
    task = speak(model_id)
    assert task.status == Status.QUEUED and task.id.startswith("audio_")
    assert task.raw["model"] == "soundCloningAudio"
    assert simulator.state.speech_tasks[task.id].payload == {
        "modelId": model_id,
        "contentText": "Hello there. <#0.5#>How are you?",
        "soundVersion": "v1",
        "language": "English",
        "emotion": "sad",
        "speed": 0.75,
        "vol": 3.5,
        "pitch": 5,
        "subtitleEnable": True,
        "subtitleType": "word",
    }
    assert simulator.state.request_log[-1] == ("POST", "/v1/soundCloning/audios")


def test_a_completed_task_carries_playable_audio_and_a_subtitle_link(simulator, model_id, settings):
    task = speak(model_id)
    clock = simulator.state.config.clock
    simulator.state.config.clock = lambda: clock() + 5
    done = client.get_task(task.id)
    assert done.status == Status.COMPLETED
    assert done.audio_url.startswith(simulator.base_url + "/files/speech/")
    assert done.subtitle_url.startswith(simulator.base_url + "/files/speech/")
    audio = client.download_preview(done.audio_url)
    assert audio.content_type == "audio/wav" and audio.content.startswith(b"RIFF")
    subtitles = json.loads(client.download_subtitles(done.subtitle_url).content)
    assert [word["text"] for word in subtitles["words"]] == ["Hello", "there.", "How", "are", "you?"]
    assert is_model_id_permanent(simulator.state, model_id)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", "a" * 10_000, "contentText must be fewer than 10000 characters"),
        ("text", "Wait <#0#>", "pause <#0#> must be from 0.01 to 99.99 seconds"),
        ("emotion", "bored", "emotion must be one of"),
        ("speed", 2.5, "speed must be a number from 0.5 to 2"),
        ("vol", 0, "vol must be a number above 0 and at most 10"),
        ("pitch", 13, "pitch must be a whole number from -12 to 12"),
        ("language", "Danish", "language Danish is not supported by soundVersion v1"),
        ("model_id", "voice_unknown", "modelId not found"),
    ],
)
def test_a_field_the_service_refuses_is_a_rejection_with_its_message(
    simulator, model_id, field, value, message
):
    with pytest.raises(UpstreamError) as error:
        speak(model_id, **{field: value})
    assert error.value.kind == ErrorKind.REJECTED and error.value.status_code == 400
    assert message in error.value.message


def test_an_expired_model_id_is_refused_as_expired(simulator, model_id):
    clock = simulator.state.config.clock
    simulator.state.config.clock = lambda: clock() + 3 * 24 * 3600 + 1
    with pytest.raises(UpstreamError) as error:
        speak(model_id)
    assert error.value.kind == ErrorKind.REJECTED and "expired" in error.value.message


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
def test_each_fault_on_create_maps_to_the_same_kind_as_for_clones(simulator, model_id, marker, kind):
    with pytest.raises(UpstreamError) as error:
        speak(model_id, text=f"Hello [sim:{marker}]")
    assert error.value.kind == kind


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
def test_each_fault_on_query_maps_to_the_same_kind_as_for_clones(simulator, model_id, marker, kind):
    task = speak(model_id, text=f"Hello [sim:{marker}]")
    with pytest.raises(UpstreamError) as error:
        client.get_task(task.id)
    assert error.value.kind == kind


def test_a_slow_create_times_out_as_uncertain(simulator, model_id, settings):
    settings.SOUNDCLONE_CREATE_TIMEOUT = 0.3
    simulator.state.config.slow_seconds = 1.0
    with pytest.raises(UpstreamError) as error:
        speak(model_id, text="Hello [sim:create-slow]")
    assert error.value.kind == ErrorKind.UNCERTAIN


def test_wrapped_answers_are_read(simulator, model_id):
    assert speak(model_id, text="Hello [sim:wrapped-str]").status == Status.QUEUED


def test_sentences_leave_the_type_out_and_no_subtitles_say_so(simulator, model_id):
    by_sentence = speak(model_id, subtitle_type="sentence")
    without = speak(model_id, subtitle_enable=False, subtitle_type="word")
    assert "subtitleType" not in simulator.state.speech_tasks[by_sentence.id].payload
    assert simulator.state.speech_tasks[without.id].payload["subtitleEnable"] is False
    assert "subtitleType" not in simulator.state.speech_tasks[without.id].payload


@pytest.fixture
def upstream(settings):
    settings.SOUNDCLONE_BASE_URL = "http://upstream.test/kyyReactApiServer"
    settings.SOUNDCLONE_API_KEY = "sk-test-secret"
    with responses.RequestsMock() as mock:
        yield mock


@pytest.mark.parametrize("link", ["ftp://x/s.json", "javascript:alert(1)", "/relative.json", 7])
def test_a_subtitle_link_that_is_not_http_is_dropped(upstream, link):
    upstream.get(
        "http://upstream.test/kyyReactApiServer/v1/result/audio_1",
        json={
            "id": "audio_1",
            "status": "completed",
            "audioUrl": "https://c.example/a.wav",
            "subtitleFile": link,
        },
    )
    assert client.get_task("audio_1").subtitle_url == ""


def test_a_subtitle_file_too_large_is_refused(settings, simulator, model_id, monkeypatch):
    monkeypatch.setattr(client, "MAX_SUBTITLE_BYTES", 10)
    task = speak(model_id)
    clock = simulator.state.config.clock
    simulator.state.config.clock = lambda: clock() + 5
    with pytest.raises(UpstreamError) as error:
        client.download_subtitles(client.get_task(task.id).subtitle_url)
    assert error.value.kind == ErrorKind.BAD_RESPONSE
