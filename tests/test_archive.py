"""Previews outlive the service's links: the poller keeps a copy, and staff play it with seeking."""

import time
import uuid

import pytest
import requests
from django.core.management import call_command

from clones import client, services
from clones.client import ErrorKind, UpstreamError
from clones.models import CloneTask, TaskEvent
from tests.local_http import LocalServer, answer, redirect_to

pytestmark = pytest.mark.django_db


def completed_task(simulator, **overrides) -> CloneTask:
    task = services.task_submit(
        user=None,
        name="Narrator",
        file_url="https://media.example.com/a.mp3",
        sound_version="v1",
        language="English",
        form_token=uuid.uuid4(),
        **overrides,
    )
    deadline = time.monotonic() + 5
    while task.status != CloneTask.Status.COMPLETED and time.monotonic() < deadline:
        time.sleep(0.2)
        services.task_sync(task=task)
        task.refresh_from_db()
    assert task.status == CloneTask.Status.COMPLETED
    return task


def test_a_completed_preview_is_copied_and_played_from_our_copy_after_the_service_forgets_it(
    simulator, staff_client
):
    task = completed_task(simulator)
    assert task.audio_file.name == f"previews/task-{task.pk}.wav"
    original = requests.get(task.audio_url, timeout=5).content
    simulator.state.forget_audio(task.upstream_id)
    assert requests.get(task.audio_url, timeout=5).status_code == 404

    assert task.player_url == f"/tasks/{task.pk}/audio/"
    assert f'src="/tasks/{task.pk}/audio/"' in staff_client.get("/tasks/").content.decode()
    response = staff_client.get(f"/tasks/{task.pk}/audio/")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/x-wav"
    assert response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == original


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=10-10", 10, 10)],
)
def test_range_requests_return_206_with_the_right_bytes(simulator, staff_client, header, first, last):
    task = completed_task(simulator)
    whole = task.audio_file.open("rb").read()
    expected = whole[first:] if last is None else whole[first : last + 1]
    response = staff_client.get(f"/tasks/{task.pk}/audio/", HTTP_RANGE=header, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 206
    assert "Content-Encoding" not in response  # compressing a range would break seeking
    assert response.content == expected
    start = first if first >= 0 else len(whole) + first
    assert response["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{len(whole)}"


def test_a_range_past_the_end_is_refused_with_416(simulator, staff_client):
    task = completed_task(simulator)
    size = task.audio_file.size
    response = staff_client.get(f"/tasks/{task.pk}/audio/", HTTP_RANGE=f"bytes={size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_download_sends_the_preview_as_an_attachment_named_after_the_voice(simulator, staff_client):
    task = completed_task(simulator)
    response = staff_client.get(f"/tasks/{task.pk}/audio/?download=1")
    assert response["Content-Disposition"].startswith('attachment; filename="narrator-voice_')


def test_the_archived_preview_is_for_signed_in_users_only(simulator, anonymous_client):
    task = completed_task(simulator)
    response = anonymous_client.get(f"/tasks/{task.pk}/audio/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_preview_url_pointing_at_a_private_address_is_refused(settings, simulator, staff_client):
    settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = []
    task = completed_task(simulator)
    assert not task.audio_file
    event = task.events.filter(kind=TaskEvent.Kind.COPY).get()
    assert event.outcome == "The preview link points at a private address."
    # The player falls back to the service's link, and the copy is tried again later.
    assert task.player_url == task.audio_url
    assert task.audio_copy_next_at is not None
    assert staff_client.get(f"/tasks/{task.pk}/audio/")["Location"] == task.audio_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.wav",
        "http://10.0.0.8/a.wav",
        "http://192.168.1.20/a.wav",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/a.wav",
        "http://localhost/a.wav",
        "ftp://cdn.example.com/a.wav",
        "file:///etc/passwd",
    ],
)
def test_the_download_refuses_anything_but_public_web_addresses(url):
    with pytest.raises(UpstreamError) as error:
        client.download_preview(url)
    assert error.value.kind == ErrorKind.BAD_RESPONSE


def test_a_failed_copy_is_retried_by_the_poller_until_it_works(settings, simulator):
    allowed = settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS
    settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = []
    task = completed_task(simulator)
    assert not task.audio_file
    settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = allowed
    CloneTask.objects.filter(pk=task.pk).update(audio_copy_next_at=task.audio_copy_next_at.replace(year=2000))
    call_command("poll_clones")
    task.refresh_from_db()
    assert task.audio_file.name == f"previews/task-{task.pk}.wav"
    assert task.audio_copy_next_at is None
    assert task.audio_copy_attempts == 2


# The copy goes through the URL guard's pinned connections, which a requests mock never sees: real servers.
def test_a_download_that_is_not_audio_is_refused(settings):
    with LocalServer(answer(200, b"<html>login</html>", content_type="text/html")) as server:
        settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
        with pytest.raises(UpstreamError, match="did not return audio"):
            client.download_preview(f"{server.url}/a.wav")


def test_a_redirect_to_a_private_address_is_refused(settings):
    with LocalServer(redirect_to("http://10.1.2.3/a.wav")) as server:
        settings.SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
        with pytest.raises(UpstreamError, match="private address"):
            client.download_preview(f"{server.url}/a.wav")


def test_a_download_larger_than_the_cap_is_refused(settings, simulator):
    task = completed_task(simulator)
    settings.SOUNDCLONE_ARCHIVE_MAX_BYTES = 1000
    with pytest.raises(UpstreamError, match="larger than we accept"):
        client.download_preview(task.audio_url)


def test_a_preview_copy_that_vanished_plays_from_the_services_link_and_is_copied_again(
    simulator, staff_client, media_root
):
    task = completed_task(simulator)
    (media_root / task.audio_file.name).unlink()
    assert f'src="/tasks/{task.pk}/audio/"' in staff_client.get("/tasks/").content.decode()

    response = staff_client.get(f"/tasks/{task.pk}/audio/")
    assert response.status_code == 302
    assert response["Location"] == task.audio_url
    task.refresh_from_db()
    assert task.audio_file.name == ""
    assert task.player_url == task.audio_url

    call_command("poll_clones")
    task.refresh_from_db()
    assert task.audio_file.name == f"previews/task-{task.pk}.wav"
    assert staff_client.get(f"/tasks/{task.pk}/audio/").status_code == 200
