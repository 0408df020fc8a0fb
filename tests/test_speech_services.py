"""Speech with a cloned voice, through the real services and worker against the simulator over HTTP: storing,
sending, following, archiving its files, the voice made permanent, and keeping voices (issue 12)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from clones import services
from clones.models import CloneTask, SpeechTask, TaskChange, TaskEvent
from tests.factories import completed_task

Status = CloneTask.Status


@pytest.fixture
def voice(simulator, sim_clock, staff_user) -> CloneTask:
    """A voice the simulator cloned a moment ago (its modelId is one the simulator knows)."""
    task = services.task_submit(
        user=staff_user,
        name="Narrator",
        file_url="https://media.example.com/a.mp3",
        sound_version="v2",
        language="Chinese,Yue",
        form_token=uuid.uuid4(),
    )
    services.task_sync(task=task)
    sim_clock.advance(5)
    task.refresh_from_db()
    services.task_sync(task=task)
    task.refresh_from_db()
    assert task.is_completed
    return task


def speak(voice: CloneTask, text: str = "Hello there. <#0.5#>How are you?", **overrides) -> SpeechTask:
    arguments = {
        "user": voice.submitted_by,
        "voice": voice,
        "text": text,
        "sound_version": voice.sound_version,
        "language": voice.language,
        "emotion": "happy",
        "speed": Decimal("1.25"),
        "volume": Decimal("2.5"),
        "pitch": -3,
        "subtitles": "word",
        "form_token": uuid.uuid4(),
    }
    arguments.update(overrides)
    return services.speech_submit(**arguments)


def work(task: SpeechTask) -> SpeechTask:
    task.refresh_from_db()
    services.task_sync(task=task)
    task.refresh_from_db()
    return task


@pytest.mark.django_db
def test_submitting_speech_stores_it_for_the_worker_without_calling_the_service(simulator, voice):
    requests_before = len(simulator.state.request_log)
    speech = speak(voice)
    assert len(simulator.state.request_log) == requests_before
    assert speech.status == Status.SUBMITTING
    assert services.speech_claim_next() == speech


@pytest.mark.django_db
def test_the_worker_sends_every_field_with_the_voices_model_id_version_and_language(simulator, voice):
    speech = work(speak(voice))
    assert speech.status == Status.QUEUED and speech.upstream_id.startswith("audio_")
    assert simulator.state.speech_tasks[speech.upstream_id].payload == {
        "modelId": voice.model_id,
        "contentText": "Hello there. <#0.5#>How are you?",
        "soundVersion": "v2",
        "language": "Chinese,Yue",
        "emotion": "happy",
        "speed": 1.25,
        "vol": 2.5,
        "pitch": -3,
        "subtitleEnable": True,
        "subtitleType": "word",
    }
    # Recorded in the voice's history, so a refused key on speech raises the administrators' banner too.
    assert voice.events.filter(kind=TaskEvent.Kind.SEND, outcome__startswith=f"speech #{speech.pk}").exists()


@pytest.mark.django_db
def test_sentence_subtitles_leave_the_type_out_and_no_subtitles_disable_them(simulator, voice):
    by_sentence = work(speak(voice, subtitles="sentence"))
    without = work(speak(voice, subtitles=""))
    sent = simulator.state.speech_tasks
    assert sent[by_sentence.upstream_id].payload["subtitleEnable"] is True
    assert "subtitleType" not in sent[by_sentence.upstream_id].payload
    assert sent[without.upstream_id].payload["subtitleEnable"] is False


@pytest.mark.django_db
def test_a_completed_speech_is_archived_with_its_subtitles_and_makes_the_voice_permanent(
    simulator, sim_clock, voice
):
    assert voice.model_id_expires_at is not None
    speech = work(speak(voice))
    voice.refresh_from_db()
    assert voice.permanent_at is None  # sent is not enough: the first *completed* use counts
    sim_clock.advance(5)
    speech = work(speech)
    assert speech.status == Status.COMPLETED
    assert speech.audio_file.name == f"speech/speech-{speech.pk}.wav"
    assert speech.subtitle_file.name == f"speech/speech-{speech.pk}.json"
    subtitles = json.loads(speech.subtitle_file.read())
    assert [word["text"] for word in subtitles["words"]] == ["Hello", "there.", "How", "are", "you?"]
    voice.refresh_from_db()
    assert voice.permanent_at is not None and voice.is_kept
    assert voice.model_id_expires_at is None  # no countdown any more
    assert CloneTask.objects.expiring_soon(timezone.now() + timedelta(days=2, hours=12)).count() == 0


@pytest.mark.django_db
def test_a_later_completion_keeps_the_first_permanent_date(simulator, sim_clock, voice):
    first = work(speak(voice))
    sim_clock.advance(5)
    work(first)
    voice.refresh_from_db()
    permanent_at = voice.permanent_at
    second = work(speak(voice))
    sim_clock.advance(5)
    work(second)
    voice.refresh_from_db()
    assert voice.permanent_at == permanent_at


@pytest.mark.django_db
def test_a_failed_speech_keeps_the_services_reason_and_leaves_the_voice_counting_down(
    simulator, sim_clock, voice
):
    speech = work(speak(voice, text="Say this [sim:fail]"))
    sim_clock.advance(5)
    speech = work(speech)
    assert (speech.status, speech.error) == (Status.FAILED, "The voice could not speak this text")
    voice.refresh_from_db()
    assert voice.permanent_at is None


@pytest.mark.django_db
def test_a_refused_text_is_refused_with_the_services_message(simulator, voice):
    speech = work(speak(voice, text="Wait <#100#> here"))
    assert speech.status == Status.REFUSED
    assert "0.01 to 99.99" in speech.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("marker", "status"),
    [
        ("create-500", Status.RETRYING),
        ("create-429", Status.RETRYING),
        ("create-401", Status.NOT_SENT),
        ("create-notjson", Status.UNCERTAIN),
        ("create-400", Status.REFUSED),
        ("create-wrapped-error", Status.REFUSED),
    ],
)
def test_each_fault_on_sending_speech_ends_as_it_does_for_clones(simulator, voice, marker, status):
    speech = work(speak(voice, text=f"Hello [sim:{marker}]"))
    assert speech.status == status


@pytest.mark.django_db
def test_an_expired_model_id_is_refused_by_the_service_as_expired(simulator, sim_clock, voice):
    speech = speak(voice)
    sim_clock.advance(4 * 24 * 3600)
    speech = work(speech)
    assert speech.status == Status.REFUSED
    assert "expired" in speech.error


@pytest.mark.django_db
@pytest.mark.parametrize("marker", ["poll-500", "poll-notjson"])
def test_failing_status_checks_are_recorded_and_retried(simulator, voice, marker):
    speech = work(speak(voice, text=f"Hello [sim:{marker}]"))
    speech = work(speech)
    assert speech.status == Status.QUEUED
    assert speech.checks_failing_since is not None and speech.failed_polls == 1


@pytest.mark.django_db
def test_a_speech_forgotten_by_the_service_is_failed_plainly(simulator, voice):
    speech = work(speak(voice, text="Hello [sim:poll-404]"))
    speech = work(speech)
    assert (speech.status, speech.error) == (Status.FAILED, services.MESSAGE_NOT_FOUND)


@pytest.mark.django_db
def test_completed_without_audio_is_asked_again_then_failed(simulator, sim_clock, voice):
    speech = work(speak(voice, text="Hello [sim:no-audio]"))
    sim_clock.advance(5)
    for _attempt in range(services.MAX_INCOMPLETE_RESULTS):
        speech = work(speech)
    assert (speech.status, speech.error) == (Status.FAILED, services.MESSAGE_NO_SPEECH_AUDIO)


@pytest.mark.django_db
def test_the_worker_command_sends_polls_and_copies_speech(simulator, sim_clock, voice):
    speech = speak(voice)
    call_command("poll_clones")
    speech.refresh_from_db()
    assert speech.status == Status.QUEUED
    sim_clock.advance(5)
    SpeechTask.objects.filter(pk=speech.pk).update(next_poll_at=timezone.now())
    call_command("poll_clones")
    speech.refresh_from_db()
    assert speech.status == Status.COMPLETED and speech.audio_file and speech.subtitle_file


@pytest.mark.django_db
def test_a_failed_copy_is_tried_again_by_the_worker(simulator, sim_clock, voice, monkeypatch):
    speech = work(speak(voice))
    sim_clock.advance(5)
    real_download = services.client.download_subtitles

    def broken(url):
        raise services.UpstreamError(services.ErrorKind.BUSY, "down")

    monkeypatch.setattr(services.client, "download_subtitles", broken)
    speech = work(speech)
    assert speech.status == Status.COMPLETED
    assert speech.audio_file and not speech.subtitle_file and speech.audio_copy_next_at is not None
    monkeypatch.setattr(services.client, "download_subtitles", real_download)
    SpeechTask.objects.filter(pk=speech.pk).update(audio_copy_next_at=timezone.now())
    claimed = services.speech_claim_next_copy()
    assert claimed == speech
    assert services.speech_copy_files(task=claimed)
    speech.refresh_from_db()
    assert speech.subtitle_file and speech.audio_copy_next_at is None


@pytest.mark.django_db
def test_a_worker_save_never_undoes_a_staff_edit_of_the_voice(simulator, sim_clock, voice):
    speech = work(speak(voice))
    sim_clock.advance(5)
    speech.refresh_from_db()
    CloneTask.objects.filter(pk=voice.pk).update(name="Renamed meanwhile")
    services.task_sync(task=speech)
    voice.refresh_from_db()
    assert voice.name == "Renamed meanwhile" and voice.permanent_at is not None


@pytest.mark.django_db
def test_a_voice_that_lapsed_cannot_speak(staff_user):
    lapsed = completed_task(finished_at=timezone.now() - timedelta(days=3, minutes=1))
    with pytest.raises(services.VoiceUnavailable):
        speak(lapsed)


@pytest.mark.django_db
def test_a_resent_speech_form_makes_one_task(voice):
    token = uuid.uuid4()
    first = speak(voice, form_token=token)
    with pytest.raises(services.DuplicateSpeechSubmission) as duplicate:
        speak(voice, form_token=token)
    assert duplicate.value.task == first


# --- Keeping a voice ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_keep_this_voice_speaks_one_short_sentence_in_the_voices_language_once(simulator, voice, staff_user):
    speech = services.voice_keep_alive(voice=voice, user=staff_user)
    again = services.voice_keep_alive(voice=voice, user=staff_user)
    assert again == speech and voice.speech_tasks.count() == 1
    assert speech.is_keep_alive
    assert speech.content_text == services.KEEP_ALIVE_SENTENCES["Chinese,Yue"]
    assert (speech.sound_version, speech.language) == ("v2", "Chinese,Yue")
    speech = work(speech)
    assert simulator.state.speech_tasks[speech.upstream_id].payload["language"] == "Chinese,Yue"


@pytest.mark.django_db
def test_marking_a_voice_in_use_records_who_and_when_and_stops_the_countdown(staff_user):
    voice = completed_task(submitted_by=staff_user, finished_at=timezone.now() - timedelta(days=2, hours=12))
    assert CloneTask.objects.expiring_soon(timezone.now()).count() == 1
    assert services.voice_mark_in_use(voice=voice, user=staff_user)
    assert not services.voice_mark_in_use(voice=voice, user=staff_user)
    voice.refresh_from_db()
    assert voice.marked_in_use_by == staff_user and voice.marked_in_use_at is not None
    assert voice.is_kept and voice.model_id_expires_at is None and not voice.is_model_id_expiring_soon
    assert CloneTask.objects.expiring_soon(timezone.now()).count() == 0
    assert list(voice.changes.values_list("action", "by")) == [
        (TaskChange.Action.MARKED_IN_USE, staff_user.pk)
    ]


@pytest.mark.django_db
def test_a_lapsed_voice_cannot_be_marked_in_use(staff_user):
    voice = completed_task(finished_at=timezone.now() - timedelta(days=4))
    assert not services.voice_mark_in_use(voice=voice, user=staff_user)


# --- Reminders ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_submitter_of_an_unused_voice_gets_one_reminder_a_day_before_it_lapses(staff_user, settings):
    settings.EMAIL_CONFIGURED = True
    voice = completed_task(name="Narrator", submitted_by=staff_user)
    completed_task(name="Fresh", submitted_by=staff_user, finished_at=timezone.now() + timedelta(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=2, hours=1)):
        assert services.voice_send_reminders() == 1
        call_command("poll_clones")
        assert services.voice_send_reminders() == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mei@example.com"]
    assert "Narrator" in message.subject
    assert f"/tasks/{voice.pk}/" in message.body
    voice.refresh_from_db()
    assert voice.reminder_sent_at is not None


@pytest.mark.django_db
def test_no_reminder_for_a_kept_voice_or_without_email(staff_user, settings):
    settings.EMAIL_CONFIGURED = True
    almost = timezone.now() - timedelta(days=2, hours=1)
    completed_task(submitted_by=staff_user, finished_at=almost, permanent_at=timezone.now())
    completed_task(submitted_by=staff_user, finished_at=almost, marked_in_use_at=timezone.now())
    settings.EMAIL_CONFIGURED = False
    completed_task(submitted_by=staff_user, finished_at=almost)
    assert services.voice_send_reminders() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_speech_whose_subtitles_never_come_completes_with_its_audio_and_says_so(simulator, voice, settings):
    speech = work(speak(voice, subtitles="word"))
    answer = {
        "id": speech.upstream_id,
        "status": "completed",
        "model": "soundCloningAudio",
        "audioUrl": "https://cdn.example.com/speech.wav",
        "subtitleFile": None,
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(f"{settings.SOUNDCLONE_BASE_URL}/v1/result/{speech.upstream_id}", json=answer)
        for _attempt in range(services.MAX_INCOMPLETE_RESULTS - 1):
            speech = work(speech)
            assert speech.status == Status.PROCESSING  # asked again: the subtitles may still come
        speech = work(speech)
    assert speech.status == Status.COMPLETED
    assert speech.audio_url == "https://cdn.example.com/speech.wav"
    assert speech.error == services.MESSAGE_NO_SUBTITLES
    voice.refresh_from_db()
    assert voice.is_permanent
