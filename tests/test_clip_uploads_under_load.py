"""Uploads over real HTTP: a 2 GB upload is refused as it streams, and 20 uploads at once are all kept."""

from __future__ import annotations

import re
import resource
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from clones.models import Clip
from tests.clips import clip_path

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "----studio-test-boundary"


def _signed_in_session(live_server, user) -> tuple[requests.Session, str]:
    django_client = Client()
    django_client.force_login(user)
    session = requests.Session()
    session.cookies.set(
        django_settings.SESSION_COOKIE_NAME, django_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    )
    page = session.get(live_server.url + "/tasks/new/", timeout=10).text
    csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return session, csrf_token


@pytest.fixture
def upload_temp_dir(settings, tmp_path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def _is_complete(answer: bytearray) -> bool:
    """Whether an HTTP answer's headers and its Content-Length of body have arrived."""
    head, separator, body = bytes(answer).partition(b"\r\n\r\n")
    if not separator:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return length is not None and len(body) >= int(length.group(1))


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_2_gb_upload_is_refused_as_it_streams_without_filling_memory_or_disk(
    live_server, staff_user, upload_temp_dir
):
    session, csrf_token = _signed_in_session(live_server, staff_user)
    declared = 2 * 1024**3
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{csrf_token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="huge.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    host = urlsplit(live_server.url)
    cookies = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    request = (
        f"POST /tasks/clips/ HTTP/1.1\r\nHost: {host.netloc}\r\nCookie: {cookies}\r\n"
        f"X-CSRFToken: {csrf_token}\r\nReferer: {live_server.url}/tasks/new/\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode() + head
    rss_before = _max_rss_mb()
    sent = 0
    received = bytearray()

    def read_the_answer(connection: socket.socket) -> None:
        # Read as the bytes go out: once the studio has answered and closed, the bytes still on their way
        # make the connection reset, and an answer left unread would be lost with it.
        try:
            while not _is_complete(received) and (piece := connection.recv(65536)):
                received.extend(piece)
        except OSError:
            pass

    with socket.create_connection((host.hostname, host.port), timeout=20) as connection:
        reader = threading.Thread(target=read_the_answer, args=(connection,))
        reader.start()
        connection.sendall(request)
        chunk = b"\0" * (1024 * 1024)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sent < declared and not received:
            try:
                connection.sendall(chunk)
                sent += len(chunk)
            except OSError:  # the studio closed the connection: refused
                break
        reader.join(timeout=20)
    answer = bytes(received)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"The file is larger than 200 MB" in answer
    assert sent < 300 * 1024 * 1024  # refused long before 2 GB (the limit is 200 MB)
    assert _max_rss_mb() - rss_before < 100  # nothing of the upload was held in memory
    assert list(upload_temp_dir.iterdir()) == []  # nor left on disk
    assert not Clip.objects.exists()


def test_an_upload_that_passes_the_limit_as_it_streams_is_stopped(staff_client, settings, upload_temp_dir):
    # Small enough for the request's length to pass the first look, larger than the limit once read.
    content = clip_path("speech-en-20").read_bytes()
    settings.CLIP_MAX_BYTES = len(content) - 1000
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = staff_client.post("/tasks/clips/", {"file": SimpleUploadedFile("a.wav", content)})
    assert response.status_code == 413
    assert not Clip.objects.exists()
    assert list(upload_temp_dir.iterdir()) == []


def test_twenty_uploads_at_once_are_all_kept_and_checked(live_server, staff_user, upload_temp_dir):
    session, csrf_token = _signed_in_session(live_server, staff_user)
    content = clip_path("speech-en-20").read_bytes()
    start_together = Barrier(20)

    def upload(index: int) -> int:
        start_together.wait()
        response = session.post(
            live_server.url + "/tasks/clips/",
            files={"file": (f"clip-{index}.wav", content, "audio/wav")},
            data={"source": "file"},
            headers={"X-CSRFToken": csrf_token, "Referer": live_server.url + "/tasks/new/"},
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(upload, range(20)))

    assert statuses == [201] * 20
    assert sorted(Clip.objects.values_list("name", flat=True)) == sorted(f"clip-{i}.wav" for i in range(20))
    call_command("poll_clones")
    assert Clip.objects.filter(state=Clip.State.USABLE).count() == 20
    assert list(upload_temp_dir.iterdir()) == []
