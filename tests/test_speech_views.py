"""The speech pages: the form and its messages, who may do what, and what voice pages say (issue 12)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone, translation

from clones.models import CloneTask, SpeechTask, TaskChange
from tests.factories import completed_task

Status = CloneTask.Status


@pytest.fixture
def voice(staff_user) -> CloneTask:
    return completed_task(
        name="Narrator", submitted_by=staff_user, sound_version="v2", language="Chinese,Yue"
    )


def speech_data(**overrides) -> dict:
    data = {
        "text": "Hello there. <#0.5#>How are you?",
        "emotion": "happy",
        "speed": "1.25",
        "volume": "2",
        "pitch": "-3",
        "subtitles": "word",
        "sound_version": "v2",
        "language": "Chinese,Yue",
        "form_token": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def errors_of(response) -> str:
    return response.content.decode()


# --- The form ----------------------------------------------------------------------------------------------


def test_the_form_is_preset_to_the_voices_version_and_language_and_the_defaults(staff_client, voice):
    page = staff_client.get(f"/tasks/{voice.pk}/speech/new/").content.decode()
    assert 'value="v2" required id="id_sound_version_1" checked' in page
    assert '<option value="Chinese,Yue" selected data-versions="v1 v2">' in page
    assert 'name="speed" value="1.0"' in page and 'name="volume" value="1.0"' in page
    assert 'name="pitch" value="0"' in page
    assert '<option value="neutral" selected>' in page
    assert "Preset to how this voice was cloned: model v2, Cantonese." in page
    assert "Insert pause" in page and 'id="speech-text-counter"' in page


def test_submitting_stores_a_speech_task_for_the_worker_and_shows_it_on_the_voice_page(staff_client, voice):
    response = staff_client.post(f"/tasks/{voice.pk}/speech/new/", speech_data())
    speech = SpeechTask.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tasks/{voice.pk}/#speech-{speech.pk}"
    assert (speech.status, speech.voice, speech.emotion, speech.subtitles) == (
        Status.SUBMITTING,
        voice,
        "happy",
        "word",
    )
    assert (speech.speed, speech.volume, speech.pitch) == (Decimal("1.25"), Decimal("2"), -3)
    page = staff_client.get(f"/tasks/{voice.pk}/").content.decode()
    assert f'id="speech-{speech.pk}"' in page and 'class="pending-speech-id"' in page


def test_a_resent_form_makes_one_speech_task(staff_client, voice):
    data = speech_data()
    staff_client.post(f"/tasks/{voice.pk}/speech/new/", data)
    staff_client.post(f"/tasks/{voice.pk}/speech/new/", data)
    assert SpeechTask.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", "", "Please type the text to speak."),
        ("text", "a" * 10_000, "The text has 10,000 characters, pause markers included; the limit is 9,999."),
        ("text", "Wait <#100#> here", "The pause “&lt;#100#&gt;” cannot be used"),
        ("text", "Wait <#0#> here", "The pause “&lt;#0#&gt;” cannot be used"),
        ("text", "Wait <#0.125#> here", "The pause “&lt;#0.125#&gt;” cannot be used"),
        ("text", "Wait <#1.5 here", "A pause marker is not closed"),
        ("text", "<#1#><#2#>", "Please add something to say besides the pauses."),
        ("emotion", "bored", "Please choose an emotion from the list."),
        ("speed", "0.49", "The speed must be from 0.5 to 2 (1 is normal)."),
        ("speed", "2.01", "The speed must be from 0.5 to 2 (1 is normal)."),
        ("speed", "fast", "The speed must be a number from 0.5 to 2, such as 1.2."),
        ("volume", "0", "The volume must be above 0 and at most 10 (1 is normal)."),
        ("volume", "10.5", "The volume must be above 0 and at most 10 (1 is normal)."),
        ("pitch", "13", "The pitch must be a whole number from −12 to 12."),
        ("pitch", "-13", "The pitch must be a whole number from −12 to 12."),
        ("pitch", "1.5", "The pitch must be a whole number from −12 to 12, such as -2 or 3."),
        ("language", "Danish", "Danish is not available in model v1."),
    ],
)
def test_each_value_out_of_range_gets_a_plain_message_beside_its_field(
    staff_client, voice, field, value, message
):
    data = speech_data(**{field: value})
    if field == "language":
        data["sound_version"] = "v1"
    response = staff_client.post(f"/tasks/{voice.pk}/speech/new/", data)
    assert response.status_code == 400
    page = errors_of(response)
    assert message in page
    assert f'id="id_{field}_error"' in page
    assert SpeechTask.objects.count() == 0
    assert "Hello there. &lt;#0.5#&gt;How are you?</textarea>" in page or field == "text"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", "a" * 9_999),
        ("text", "Wait <#0.01#> and <#99.99#>."),
        ("speed", "0.5"),
        ("speed", "2"),
        ("volume", "0.01"),
        ("volume", "10"),
        ("pitch", "-12"),
        ("pitch", "12"),
        ("subtitles", ""),
        ("subtitles", "sentence"),
    ],
)
def test_the_limits_themselves_are_accepted(staff_client, voice, field, value):
    response = staff_client.post(f"/tasks/{voice.pk}/speech/new/", speech_data(**{field: value}))
    assert response.status_code == 302
    assert SpeechTask.objects.count() == 1


def test_the_messages_are_in_chinese_for_a_chinese_reader(staff_client, voice):
    response = staff_client.post(
        f"/tasks/{voice.pk}/speech/new/", speech_data(pitch="13"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "音调必须是 −12 到 12 之间的整数。" in response.content.decode()


def test_generate_again_opens_the_form_filled_in(staff_client, voice):
    staff_client.post(f"/tasks/{voice.pk}/speech/new/", speech_data(text="Again, please.", pitch="4"))
    speech = SpeechTask.objects.get()
    page = staff_client.get(f"/tasks/{voice.pk}/speech/new/?from={speech.pk}").content.decode()
    assert "Again, please.</textarea>" in page
    assert 'name="pitch" value="4"' in page
    assert '<option value="happy" selected>' in page


def test_an_expired_voice_says_so_and_offers_clone_again(staff_client, staff_user):
    lapsed = completed_task(
        submitted_by=staff_user, finished_at=timezone.now() - timedelta(days=3, minutes=5)
    )
    response = staff_client.get(f"/tasks/{lapsed.pk}/speech/new/")
    assert response.status_code == 409
    page = response.content.decode()
    assert "has expired" in page and f'href="/tasks/new/?from={lapsed.pk}"' in page
    response = staff_client.post(f"/tasks/{lapsed.pk}/speech/new/", speech_data())
    assert response.status_code == 409 and SpeechTask.objects.count() == 0
    detail = staff_client.get(f"/tasks/{lapsed.pk}/").content.decode()
    assert "This voice has expired" in detail and "Generate speech" not in detail


def test_every_signed_in_staff_member_may_generate_speech_with_any_voice(other_staff_client, voice):
    response = other_staff_client.post(f"/tasks/{voice.pk}/speech/new/", speech_data())
    assert response.status_code == 302 and SpeechTask.objects.count() == 1


@pytest.mark.parametrize(
    "url",
    ["/tasks/{pk}/speech/new/", "/tasks/speech/", "/tasks/speech/refresh/", "/tasks/speech/1/"],
)
def test_anonymous_visitors_are_sent_to_sign_in(anonymous_client, voice, url):
    response = anonymous_client.get(url.format(pk=voice.pk))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", ["/tasks/{pk}/speech/new/", "/tasks/{pk}/keep/", "/tasks/{pk}/in-use/"])
def test_anonymous_posts_change_nothing(anonymous_client, voice, url):
    response = anonymous_client.post(url.format(pk=voice.pk), speech_data())
    assert response.status_code == 302
    voice.refresh_from_db()
    assert SpeechTask.objects.count() == 0 and voice.marked_in_use_at is None


# --- Rows, list, detail, files -----------------------------------------------------------------------------


@pytest.fixture
def completed_speech(voice) -> SpeechTask:
    speech = SpeechTask.objects.create(
        voice=voice,
        content_text="Hello there. How are you?",
        sound_version="v2",
        language="Chinese,Yue",
        subtitles="word",
        status=Status.COMPLETED,
        finished_at=timezone.now(),
        audio_url="https://cdn.example.com/s.wav",
        subtitle_url="https://cdn.example.com/s.json",
    )
    speech.audio_file.save("s.wav", ContentFile(b"RIFF0000WAVE"), save=False)
    speech.subtitle_file.save(
        "s.json",
        ContentFile(
            b'{"words": [{"text": "Hello", "start": 0, "end": 300},'
            b' {"text": "there.", "start": 300, "end": 720}]}'
        ),
        save=False,
    )
    speech.save()
    return speech


def test_a_completed_speech_plays_downloads_and_shows_its_subtitles_text_and_settings(
    staff_client, completed_speech
):
    page = staff_client.get(f"/tasks/speech/{completed_speech.pk}/").content.decode()
    assert f'src="/tasks/speech/{completed_speech.pk}/audio/"' in page
    assert f'href="/tasks/speech/{completed_speech.pk}/audio/?download=1"' in page
    assert f'href="/tasks/speech/{completed_speech.pk}/subtitles/"' in page
    assert '<li data-start="0.000" data-end="0.300">Hello</li>' in page
    assert '<li data-start="0.300" data-end="0.720">there.</li>' in page
    assert "Hello there. How are you?" in page and "By word" in page
    assert "Generate again" in page
    audio = staff_client.get(f"/tasks/speech/{completed_speech.pk}/audio/?download=1")
    assert audio.status_code == 200 and b"".join(audio.streaming_content) == b"RIFF0000WAVE"
    subtitles = staff_client.get(f"/tasks/speech/{completed_speech.pk}/subtitles/")
    assert b'"words"' in b"".join(subtitles.streaming_content)
    assert "attachment" in subtitles["Content-Disposition"]


def test_a_subtitle_file_that_is_not_timings_is_offered_but_not_shown(staff_client, completed_speech):
    completed_speech.subtitle_file.save("odd.json", ContentFile(b"[1, 2]"))
    page = staff_client.get(f"/tasks/speech/{completed_speech.pk}/").content.decode()
    assert 'class="subtitles' not in page
    assert "Download subtitles" in page


def test_the_refresh_endpoint_renders_the_asked_rows_from_the_database(
    staff_client, completed_speech, django_assert_max_num_queries
):
    other = SpeechTask.objects.create(voice=completed_speech.voice, content_text="Two", sound_version="v2")
    staff_client.get("/tasks/speech/")  # the session's renewal is not this view's cost
    # Session, user, time zone, and one query for every row asked for (their voices joined in).
    with django_assert_max_num_queries(4):
        response = staff_client.get(
            f"/tasks/speech/refresh/?speech={completed_speech.pk}&speech={other.pk}&speech=x"
        )
    assert f'id="speech-{completed_speech.pk}"' in response.content.decode()
    assert f'id="speech-{other.pk}"' in response.content.decode()
    assert 'hx-swap-oob="true"' in response.content.decode()


def test_the_list_of_generated_speech_shows_every_generation(staff_client, completed_speech):
    page = staff_client.get("/tasks/speech/").content.decode()
    assert f"Speech #{completed_speech.pk} with “Narrator”" in page


def test_a_refused_text_says_why_and_offers_generate_again(staff_client, voice):
    speech = SpeechTask.objects.create(
        voice=voice,
        content_text="x",
        sound_version="v2",
        language="Chinese,Yue",
        status=Status.REFUSED,
        error="modelId has expired",
    )
    page = staff_client.get(f"/tasks/speech/{speech.pk}/").content.decode()
    assert "The voice service refused this text: modelId has expired" in page
    assert f'href="/tasks/{voice.pk}/speech/new/?from={speech.pk}"' in page


# --- Keeping a voice ---------------------------------------------------------------------------------------


def test_a_voice_lapsing_within_a_day_offers_keep_this_voice_on_its_row_and_page(staff_client, staff_user):
    voice = completed_task(submitted_by=staff_user, finished_at=timezone.now() - timedelta(days=2, hours=2))
    row = staff_client.get("/tasks/").content.decode()
    assert f'action="/tasks/{voice.pk}/keep/"' in row
    page = staff_client.get(f"/tasks/{voice.pk}/").content.decode()
    assert "It is a normal, paid generation." in page
    response = staff_client.post(f"/tasks/{voice.pk}/keep/")
    assert response.status_code == 302
    speech = SpeechTask.objects.get()
    assert speech.is_keep_alive and speech.content_text == "Hello, this is my voice."


def test_a_voice_with_days_left_does_not_offer_keep_this_voice(staff_client, voice):
    assert f'action="/tasks/{voice.pk}/keep/"' not in staff_client.get("/tasks/").content.decode()


def test_a_permanent_voice_says_permanent_instead_of_a_countdown(staff_client, voice):
    CloneTask.objects.filter(pk=voice.pk).update(permanent_at=timezone.now())
    row = staff_client.get("/tasks/").content.decode()
    assert "Permanent" in row and "Expires in" not in row
    page = staff_client.get(f"/tasks/{voice.pk}/").content.decode()
    assert "Permanent: the voice service keeps this voice for good" in page
    assert "Mark as in use" not in page


def test_mark_as_in_use_records_who_and_when_and_stops_the_countdown(staff_client, voice, staff_user):
    response = staff_client.post(f"/tasks/{voice.pk}/in-use/")
    assert response.status_code == 302
    voice.refresh_from_db()
    assert voice.marked_in_use_by == staff_user
    assert TaskChange.objects.filter(task=voice, action=TaskChange.Action.MARKED_IN_USE).count() == 1
    page = staff_client.get(f"/tasks/{voice.pk}/").content.decode()
    assert "Used in another tool (marked by mei on " in page
    assert "Marked as in use in another tool" in page  # the change history
    assert "Expires in" not in staff_client.get("/tasks/").content.decode()


def test_only_the_submitter_or_an_administrator_may_mark_a_voice_in_use(
    other_staff_client, administrator_client, voice
):
    assert other_staff_client.post(f"/tasks/{voice.pk}/in-use/").status_code == 403
    assert "Mark as in use" not in other_staff_client.get(f"/tasks/{voice.pk}/").content.decode()
    assert administrator_client.post(f"/tasks/{voice.pk}/in-use/").status_code == 302
    voice.refresh_from_db()
    assert voice.marked_in_use_at is not None


def test_the_voice_page_says_whether_a_reminder_was_sent(staff_client, voice, settings):
    settings.EMAIL_CONFIGURED = True
    assert (
        "mei gets one reminder email 24 hours before it lapses."
        in staff_client.get(f"/tasks/{voice.pk}/").content.decode()
    )
    CloneTask.objects.filter(pk=voice.pk).update(reminder_sent_at=timezone.now())
    assert "A reminder was emailed to mei on " in staff_client.get(f"/tasks/{voice.pk}/").content.decode()
    settings.EMAIL_CONFIGURED = False
    CloneTask.objects.filter(pk=voice.pk).update(reminder_sent_at=None)
    assert "email is not set up" in staff_client.get(f"/tasks/{voice.pk}/").content.decode()


def test_the_voice_page_in_chinese(staff_client, voice):
    with translation.override("zh-hans"):
        page = staff_client.get(f"/tasks/{voice.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "生成语音" in page and "标记为使用中" in page


@pytest.mark.parametrize(
    ("path", "field_name", "service_link"),
    [
        ("audio/", "audio_file", "https://cdn.example.com/s.wav"),
        ("subtitles/", "subtitle_file", "https://cdn.example.com/s.json"),
    ],
)
def test_a_speech_file_that_vanished_is_served_from_the_services_link_and_copied_again(
    staff_client, completed_speech, path, field_name, service_link
):
    Path(getattr(completed_speech, field_name).path).unlink()
    response = staff_client.get(f"/tasks/speech/{completed_speech.pk}/{path}")
    assert response.status_code == 302 and response["Location"] == service_link
    completed_speech.refresh_from_db()
    assert getattr(completed_speech, field_name).name == ""
    assert completed_speech.audio_copy_attempts == 0
    assert completed_speech.audio_copy_next_at <= timezone.now()
