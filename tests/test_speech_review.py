"""Review of issue 12 (speech and keeping voices): the points the first tests left unproven, each as staff
rely on it. Limits counted in code points with pause markers, the service's faults on speech, the worker's
saves, the filters, the reminder's timing, and Keep this voice offered (and accepted) only in the last day."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from clones import services
from clones.models import MAX_SPEECH_TEXT, CloneTask, SpeechTask
from clones.simulator import SimulatorConfig, SimulatorState, handle_create, handle_result, handle_speech
from tests.factories import completed_task

Status = CloneTask.Status

# Outside the Basic Multilingual Plane: one code point, two UTF-16 units (what a naive JS count would see).
EMOJI = "😀"
BASE_URL = "http://sim.test/kyyReactApiServer"
AUTH = "Bearer test-key"


def speech_data(**overrides) -> dict:
    data = {
        "text": "Hello there.",
        "emotion": "neutral",
        "speed": "1",
        "volume": "1",
        "pitch": "0",
        "subtitles": "",
        "sound_version": "v2",
        "language": "Chinese,Yue",
        "form_token": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


@pytest.fixture
def voice(staff_user) -> CloneTask:
    return completed_task(
        name="Narrator", submitted_by=staff_user, sound_version="v2", language="Chinese,Yue"
    )


def names_on(response) -> list[str]:
    found = re.findall(r'<h2 class="task-name"><a href="/tasks/\d+/">([^<]*)</a>', response.content.decode())
    return [unescape(name) for name in found]


# --- The text's limit: code points, pause markers included ------------------------------------------------

PAUSE = "<#1.5#>"  # seven characters


@pytest.mark.parametrize(
    ("text", "is_accepted"),
    [
        (EMOJI * MAX_SPEECH_TEXT, True),
        (EMOJI * (MAX_SPEECH_TEXT + 1), False),
        ("a" * (MAX_SPEECH_TEXT - len(PAUSE)) + PAUSE, True),
        ("a" * (MAX_SPEECH_TEXT - len(PAUSE) + 1) + PAUSE, False),
    ],
)
def test_the_form_counts_code_points_with_the_pause_markers_and_accepts_9999(
    staff_client, voice, text, is_accepted
):
    response = staff_client.post(f"/tasks/{voice.pk}/speech/new/", speech_data(text=text))
    assert (response.status_code == 302) is is_accepted
    assert SpeechTask.objects.count() == (1 if is_accepted else 0)
    if not is_accepted:
        assert "The text has 10,000 characters, pause markers included; the limit is 9,999." in (
            response.content.decode()
        )


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (EMOJI * MAX_SPEECH_TEXT, 200),
        (EMOJI * (MAX_SPEECH_TEXT + 1), 400),
        ("a" * (MAX_SPEECH_TEXT - len(PAUSE)) + PAUSE, 200),
        ("a" * (MAX_SPEECH_TEXT - len(PAUSE) + 1) + PAUSE, 400),
    ],
)
def test_the_simulator_counts_code_points_with_the_pause_markers_and_accepts_9999(text, status):
    now = [1_781_777_280.0]
    state = SimulatorState(
        SimulatorConfig(api_key="test-key", clock=lambda: now[0], queued_seconds=1, processing_seconds=1)
    )
    clip = {"fileUrl": "https://e.com/a.mp3", "soundVersion": "v1", "language": "English"}
    created = json.loads(
        handle_create(state, authorization=AUTH, body=json.dumps(clip).encode(), base_url=BASE_URL).body
    )
    now[0] += 3
    result = handle_result(state, authorization=AUTH, task_id=created["id"], base_url=BASE_URL)
    model_id = json.loads(result.body)["modelId"]
    # json.dumps escapes the emoji as a surrogate pair, as many clients send it: still one code point each.
    body = json.dumps({"modelId": model_id, "contentText": text, "soundVersion": "v1", "language": "English"})
    response = handle_speech(state, authorization=AUTH, body=body.encode(), base_url=BASE_URL)
    assert response.status == status


# --- Keep this voice: only in the last day, and its note is plain text on the row too ----------------------


def test_keep_this_voice_is_refused_on_a_voice_with_days_left_and_costs_nothing(staff_client, voice):
    response = staff_client.post(f"/tasks/{voice.pk}/keep/", follow=True)
    assert SpeechTask.objects.count() == 0
    assert "“Keep this voice” is offered in the last 24 hours before it lapses." in response.content.decode()


def test_keep_this_voice_on_a_row_says_in_plain_text_that_it_is_a_paid_generation(staff_client, staff_user):
    lapsing = completed_task(
        name="Lapsing", submitted_by=staff_user, finished_at=timezone.now() - timedelta(days=2, hours=2)
    )
    page = staff_client.get("/tasks/").content.decode()
    note = re.search(rf'<p class="helptext keep-note" id="keep-help-{lapsing.pk}">([^<]*)</p>', page)
    assert note and "It is a normal, paid generation." in note.group(1)
    assert f'aria-describedby="keep-help-{lapsing.pk}"' in page


# --- Permanent and marked voices leave the expiring filter and Needs attention -----------------------------


def test_the_expiring_filter_and_needs_attention_leave_out_permanent_and_marked_voices(
    staff_client, staff_user
):
    lapsing = timezone.now() - timedelta(days=2, hours=20)
    completed_task(name="Lapsing, unused", submitted_by=staff_user, finished_at=lapsing)
    completed_task(name="Lapsing, permanent", finished_at=lapsing, permanent_at=timezone.now())
    completed_task(
        name="Lapsing, marked",
        finished_at=lapsing,
        marked_in_use_at=timezone.now(),
        marked_in_use_by=staff_user,
    )
    assert names_on(staff_client.get("/tasks/?expiring=1")) == ["Lapsing, unused"]
    assert names_on(staff_client.get("/tasks/?attention=1")) == ["Lapsing, unused"]
    everything = staff_client.get("/tasks/").content.decode()
    assert everything.count("Permanent") >= 1 and "Used in another tool (marked by mei on " in everything


# --- The reminder: a day before the lapse, not before, once ----------------------------------------------


@pytest.mark.django_db
def test_the_reminder_waits_until_a_day_before_the_lapse_and_goes_once(staff_user, settings):
    settings.EMAIL_CONFIGURED = True
    voice = completed_task(name="Narrator", submitted_by=staff_user)
    lapses_at = voice.model_id_expires_at
    with time_machine.travel(lapses_at - timedelta(hours=24, minutes=5)):
        assert services.voice_send_reminders() == 0
    with time_machine.travel(lapses_at - timedelta(hours=23, minutes=55)):
        assert services.voice_send_reminders() == 1
    with time_machine.travel(lapses_at - timedelta(hours=1)):
        assert services.voice_send_reminders() == 0
    assert len(mail.outbox) == 1


# --- Every service fault on speech: a truthful outcome, no 500, nothing lost --------------------------------


@pytest.fixture
def live_voice(simulator, sim_clock, staff_user) -> CloneTask:
    """A voice the simulator cloned (so it knows the modelId)."""
    task = services.task_submit(
        user=staff_user,
        name="Narrator",
        file_url="https://media.example.com/a.mp3",
        sound_version="v2",
        language="Chinese,Yue",
        form_token=uuid.uuid4(),
    )
    services.task_sync(task=task)
    sim_clock.now += 5
    task.refresh_from_db()
    services.task_sync(task=task)
    task.refresh_from_db()
    assert task.is_completed
    return task


def speak(voice: CloneTask, text: str) -> SpeechTask:
    speech = services.speech_submit(
        user=voice.submitted_by,
        voice=voice,
        text=text,
        sound_version=voice.sound_version,
        language=voice.language,
        emotion="sad",
        speed=Decimal("0.75"),
        volume=Decimal("4"),
        pitch=5,
        subtitles="sentence",
        form_token=uuid.uuid4(),
    )
    services.task_sync(task=speech)
    speech.refresh_from_db()
    return speech


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("marker", "status", "said"),
    [
        ("create-400", Status.REFUSED, "The voice service refused this text: The text could not be spoken"),
        ("create-422", Status.REFUSED, "contentText could not be processed"),
        ("create-401", Status.NOT_SENT, "The voice service rejected our credentials"),
        ("create-403", Status.NOT_SENT, "The voice service rejected our credentials"),
        ("create-429", Status.RETRYING, ""),
        ("create-500", Status.RETRYING, ""),
        ("create-503", Status.RETRYING, ""),
        ("create-notjson", Status.UNCERTAIN, "It may or may not be running there."),
        ("create-hang", Status.UNCERTAIN, "It may or may not be running there."),
    ],
)
def test_every_fault_on_sending_speech_is_told_truthfully_and_keeps_what_was_asked(
    simulator, settings, live_voice, staff_client, marker, status, said
):
    settings.SOUNDCLONE_CREATE_TIMEOUT = 0.5
    settings.SOUNDCLONE_CREATE_DEADLINE = 1.0
    simulator.state.config.hang_seconds = 3
    started = time.monotonic()
    speech = speak(live_voice, f"Please say this. [sim:{marker}]")
    assert time.monotonic() - started < 3  # a hung service never holds the worker past the deadline
    assert speech.status == status
    assert (speech.content_text, speech.emotion, speech.speed, speech.volume, speech.pitch) == (
        f"Please say this. [sim:{marker}]",
        "sad",
        Decimal("0.75"),
        Decimal("4"),
        5,
    )
    live_voice.refresh_from_db()
    assert live_voice.permanent_at is None
    for url in (f"/tasks/{live_voice.pk}/", f"/tasks/speech/{speech.pk}/", "/tasks/speech/"):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert said in unescape(response.content.decode())
    if not speech.is_refreshed:
        page = staff_client.get(f"/tasks/speech/{speech.pk}/").content.decode()
        assert f'href="/tasks/{live_voice.pk}/speech/new/?from={speech.pk}"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("marker", ["poll-401", "poll-429", "poll-500", "poll-notjson", "poll-slow"])
def test_every_fault_on_checking_speech_is_shown_and_retried(
    simulator, settings, live_voice, staff_client, marker
):
    settings.SOUNDCLONE_QUERY_TIMEOUT = 0.5
    settings.SOUNDCLONE_QUERY_DEADLINE = 1.0
    simulator.state.config.slow_seconds = 3
    speech = speak(live_voice, f"Please say this. [sim:{marker}]")
    services.task_sync(task=speech)
    speech.refresh_from_db()
    assert speech.status in CloneTask.SENT_STATUSES and speech.checks_failing_since is not None
    assert speech.next_poll_at is not None  # tried again later, never given up on a first fault
    page = staff_client.get(f"/tasks/{live_voice.pk}/")
    assert page.status_code == 200
    assert "We cannot check this task with the voice service since" in page.content.decode()


# --- The worker never saves a whole speech row -------------------------------------------------------------


@pytest.mark.django_db
def test_every_worker_save_of_a_speech_task_names_its_fields(simulator, sim_clock, live_voice, monkeypatch):
    saves: list[object] = []
    original = SpeechTask.save

    def recording_save(self, *args, **kwargs):
        saves.append(kwargs.get("update_fields"))
        return original(self, *args, **kwargs)

    speech = services.speech_submit(
        user=live_voice.submitted_by,
        voice=live_voice,
        text="Hello there. [sim:poll-500-once]",
        sound_version="v2",
        language="Chinese,Yue",
        emotion="neutral",
        speed=Decimal(1),
        volume=Decimal(1),
        pitch=0,
        subtitles="word",
        form_token=uuid.uuid4(),
    )
    monkeypatch.setattr(SpeechTask, "save", recording_save)
    for _pass in range(4):
        speech.refresh_from_db()
        services.task_sync(task=speech)
        speech.refresh_from_db()
        if speech.is_completed:
            break
        sim_clock.now += 5
    speech.refresh_from_db()
    assert speech.is_completed and speech.audio_file and speech.subtitle_file
    assert saves and None not in saves


def test_keep_this_voice_refused_early_says_why_in_chinese(staff_client, voice):
    response = staff_client.post(f"/tasks/{voice.pk}/keep/", follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "“保留此声音”会在其失效前的最后 24 小时内提供。" in response.content.decode()
