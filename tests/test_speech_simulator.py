"""The simulator's speech endpoint: its handlers on a fake clock, then over loopback HTTP (issue 12)."""

from __future__ import annotations

import io
import json
import wave

import pytest
import requests

from clones import simulator
from clones.models import MAX_SPEECH_TEXT, SPEECH_EMOTIONS
from clones.simulator import (
    SimulatorConfig,
    SimulatorState,
    handle_create,
    handle_result,
    handle_speech,
    handle_speech_file,
    is_model_id_permanent,
    serve_in_thread,
    speech_timeline,
)

BASE_URL = "http://sim.test/kyyReactApiServer"
AUTH = "Bearer test-key"
DAY = 24 * 3600


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_781_777_280.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock) -> SimulatorState:
    return SimulatorState(SimulatorConfig(clock=clock, queued_seconds=1, processing_seconds=1))


@pytest.fixture
def model_id(state, clock) -> str:
    body = {"fileUrl": "https://e.com/a.mp3", "soundVersion": "v2", "language": "Chinese"}
    created = json.loads(
        handle_create(state, authorization=AUTH, body=json.dumps(body).encode(), base_url=BASE_URL).body
    )
    clock.now += 3
    return json.loads(
        handle_result(state, authorization=AUTH, task_id=created["id"], base_url=BASE_URL).body
    )["modelId"]


def speak(state, model_id, **fields):
    body = {
        "modelId": model_id,
        "contentText": "你好。<#1#>Hello world.",
        "soundVersion": "v2",
        "language": "Chinese",
    }
    body.update(fields)
    body = {key: value for key, value in body.items() if value is not None}
    return handle_speech(state, authorization=AUTH, body=json.dumps(body).encode(), base_url=BASE_URL)


def message_of(response) -> str:
    return json.loads(response.body)["message"]


def test_a_speech_task_moves_to_completed_with_audio_and_subtitle_links(state, clock, model_id):
    created = speak(state, model_id, subtitleEnable=True)
    task = json.loads(created.body)
    assert (created.status, task["model"], task["status"]) == (200, "soundCloningAudio", "queued")
    clock.now += 3
    done = json.loads(handle_result(state, authorization=AUTH, task_id=task["id"], base_url=BASE_URL).body)
    assert done["status"] == "completed" and done["modelId"] == model_id
    assert done["audioUrl"].startswith(BASE_URL + "/files/speech/") and ".wav?Expires=" in done["audioUrl"]
    assert (
        done["subtitleFile"].startswith(BASE_URL + "/files/speech/")
        and ".json?Expires=" in done["subtitleFile"]
    )


def test_without_subtitles_there_is_no_subtitle_file(state, clock, model_id):
    task = json.loads(speak(state, model_id).body)
    clock.now += 3
    done = json.loads(handle_result(state, authorization=AUTH, task_id=task["id"], base_url=BASE_URL).body)
    assert done["subtitleFile"] is None
    assert handle_speech_file(state, task_id=task["id"], extension="json").status == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"contentText": None}, "contentText is required"),
        ({"contentText": "a" * (MAX_SPEECH_TEXT + 1)}, "contentText must be fewer than 10000 characters"),
        ({"contentText": "Wait <#0#> now"}, "pause <#0#> must be from 0.01 to 99.99"),
        ({"contentText": "Wait <#100#> now"}, "pause <#100#> must be from 0.01 to 99.99"),
        ({"contentText": "Wait <#1.255#> now"}, "pause <#1.255#> must be from 0.01 to 99.99"),
        ({"contentText": "Wait <#x#> now"}, "pause <#x#> must be from 0.01 to 99.99"),
        ({"contentText": "Wait <#1 now"}, "a pause marker is not closed"),
        ({"contentText": "<#1#> <#2#>"}, "contentText has nothing to say besides pauses"),
        ({"emotion": "bored"}, "emotion must be one of"),
        ({"speed": 0.49}, "speed must be a number from 0.5 to 2"),
        ({"speed": 2.01}, "speed must be a number from 0.5 to 2"),
        ({"speed": "1"}, "speed must be a number from 0.5 to 2"),
        ({"vol": 0}, "vol must be a number above 0 and at most 10"),
        ({"vol": 10.01}, "vol must be a number above 0 and at most 10"),
        ({"pitch": 13}, "pitch must be a whole number from -12 to 12"),
        ({"pitch": -13}, "pitch must be a whole number from -12 to 12"),
        ({"pitch": 1.5}, "pitch must be a whole number from -12 to 12"),
        ({"pitch": True}, "pitch must be a whole number from -12 to 12"),
        ({"subtitleEnable": "yes"}, "subtitleEnable must be true or false"),
        ({"subtitleType": "line"}, "subtitleType must be word"),
        ({"soundVersion": "v3"}, "soundVersion must be v1 or v2"),
        ({"soundVersion": "v1", "language": "auto"}, "language auto is not supported by soundVersion v1"),
        ({"modelId": None}, "modelId is required"),
        ({"modelId": "voice_nobody"}, "modelId not found"),
        ({"contentText": "Hi [sim:typo]"}, "Unknown simulator marker: typo"),
    ],
)
def test_every_field_is_checked_with_a_400_and_a_message(state, model_id, fields, message):
    response = speak(state, model_id, **fields)
    assert response.status == 400
    assert message in message_of(response)


@pytest.mark.parametrize(
    "fields",
    [
        {"contentText": "a" * MAX_SPEECH_TEXT},
        {"contentText": "Wait <#0.01#> and <#99.99#>."},
        *({"emotion": emotion} for emotion in SPEECH_EMOTIONS),
        {"speed": 0.5},
        {"speed": 2},
        {"vol": 0.01},
        {"vol": 10},
        {"pitch": -12},
        {"pitch": 12},
        {"subtitleEnable": True, "subtitleType": "word"},
    ],
)
def test_the_limits_themselves_are_accepted(state, model_id, fields):
    assert speak(state, model_id, **fields).status == 200


def test_an_unused_voice_lapses_three_days_after_its_preview(state, clock, model_id):
    clock.now += 3 * DAY - 10
    assert speak(state, model_id).status == 200
    clock.now += 20
    # The one sent just before the end completes afterwards, and that first completed use keeps the voice.
    assert is_model_id_permanent(state, model_id)
    assert speak(state, model_id).status == 200


def test_a_voice_never_used_is_refused_as_expired(state, clock, model_id):
    clock.now += 3 * DAY + 1
    response = speak(state, model_id)
    assert response.status == 400 and "expired" in message_of(response)


def test_the_first_completed_use_makes_the_voice_permanent_not_the_request(state, clock, model_id):
    speak(state, model_id)
    assert not is_model_id_permanent(state, model_id)
    clock.now += 3
    assert is_model_id_permanent(state, model_id)
    clock.now += 30 * DAY
    assert speak(state, model_id).status == 200


def test_a_failed_use_does_not_make_it_permanent(state, clock, model_id):
    speak(state, model_id, contentText="Hello [sim:fail]")
    clock.now += 3
    assert not is_model_id_permanent(state, model_id)


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_the_audio_is_playable_wav_whose_length_follows_the_text_and_its_pauses(state, clock, model_id):
    short = json.loads(speak(state, model_id, contentText="Hi.").body)
    long = json.loads(speak(state, model_id, contentText="Hi. <#2.5#>This is a longer sentence.").body)
    clock.now += 3
    short_audio = handle_speech_file(state, task_id=short["id"], extension="wav")
    long_audio = handle_speech_file(state, task_id=long["id"], extension="wav")
    assert short_audio.content_type == "audio/wav"
    assert wav_seconds(short_audio.body) == pytest.approx(3 * 0.06)
    assert wav_seconds(long_audio.body) == pytest.approx(30 * 0.06 + 2.5)


def test_the_audio_answers_a_byte_range(state, clock, model_id):
    task = json.loads(speak(state, model_id).body)
    clock.now += 3
    response = handle_speech_file(state, task_id=task["id"], extension="wav", range_header="bytes=0-99")
    assert response.status == 206 and len(response.body) == 100


@pytest.mark.parametrize("kind", ["sentence", "word"])
def test_subtitle_timings_are_in_milliseconds_and_add_up_to_the_audios_length(state, clock, model_id, kind):
    fields = {"subtitleEnable": True, "subtitleType": "word" if kind == "word" else None}
    task = json.loads(speak(state, model_id, contentText="你好。<#1#>Hello world. Bye!", **fields).body)
    clock.now += 3
    subtitles = json.loads(handle_speech_file(state, task_id=task["id"], extension="json").body)
    entries = subtitles["words" if kind == "word" else "sentences"]
    audio = handle_speech_file(state, task_id=task["id"], extension="wav").body
    assert entries[0]["start"] == 0
    assert all(a["end"] == b["start"] for a, b in zip(entries, entries[1:], strict=False))
    assert entries[-1]["end"] == round(wav_seconds(audio) * 1000)
    texts = [entry["text"] for entry in entries]
    if kind == "word":
        assert texts == ["你", "好。", "Hello", "world.", "Bye!"]
    else:
        assert texts == ["你好。", "Hello world.", "Bye!"]


def test_speed_shortens_the_audio(state, clock, model_id):
    assert speech_timeline("Hello", speed=2.0) == [("Hello", 150)]
    assert speech_timeline("Hello", speed=0.5) == [("Hello", 600)]


def test_no_audio_marker_completes_without_files(state, clock, model_id):
    task = json.loads(speak(state, model_id, contentText="Hi [sim:no-audio]", subtitleEnable=True).body)
    clock.now += 3
    done = json.loads(handle_result(state, authorization=AUTH, task_id=task["id"], base_url=BASE_URL).body)
    assert (done["status"], done["audioUrl"], done["subtitleFile"]) == ("completed", None, None)


def test_a_wrong_key_is_refused(state, model_id):
    response = handle_speech(state, authorization="Bearer x y", body=b"{}", base_url=BASE_URL)
    assert response.status == 401


def test_over_loopback_http_speech_is_created_queried_and_served(model_id, state, clock):
    state.config.api_key = "test-key"
    with serve_in_thread(state) as running:
        body = {
            "modelId": model_id,
            "contentText": "Hello.",
            "soundVersion": "v2",
            "language": "Chinese",
            "subtitleEnable": True,
        }
        headers = {"Authorization": AUTH}
        created = requests.post(
            running.base_url + "/v1/soundCloning/audios", json=body, headers=headers, timeout=5
        )
        assert created.status_code == 200
        clock.now += 3
        done = requests.get(
            running.base_url + f"/v1/result/{created.json()['id']}", headers=headers, timeout=5
        ).json()
        audio = requests.get(done["audioUrl"], timeout=5)
        subtitles = requests.get(done["subtitleFile"], timeout=5)
        assert audio.headers["Content-Type"] == "audio/wav" and wav_seconds(audio.content) > 0
        assert subtitles.json() == {"sentences": [{"text": "Hello.", "start": 0, "end": 360}]}
        refused = requests.post(
            running.base_url + "/v1/soundCloning/audios",
            json={**body, "pitch": 20},
            headers=headers,
            timeout=5,
        )
        assert refused.status_code == 400 and "pitch" in refused.json()["message"]


def test_the_simulators_copies_of_the_speech_rules_match_the_apps():
    assert simulator.SPEECH_TEXT_LIMIT == MAX_SPEECH_TEXT + 1
    assert set(simulator.SPEECH_EMOTIONS) == set(SPEECH_EMOTIONS)
