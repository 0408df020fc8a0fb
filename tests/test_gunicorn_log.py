"""gunicorn's access log never holds a clip link's signature (gunicorn.conf.py, access_log.py).

A studio-hosted clip is served without sign-in to whoever holds its link: the signature in its path is
the key. These start gunicorn as the image does, with the access log on, fetch a real signed link as the
voice service would, and read what gunicorn wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from clones import clips
from soundclone_site.access_log import redact_clip_links

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = secrets.token_urlsafe(50)
CLIP_BYTES = b"RIFF" + bytes(range(256)) * 16


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """Production settings (an API key: no demo mode) in a folder of the test's own, static files included."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {
        **keep,
        "SOUNDCLONE_API_KEY": "sk-made-up-for-this-test",
        "SECRET_KEY": SECRET_KEY,
        "DATA_DIR": str(data_dir),
        "STATIC_ROOT": str(data_dir / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
        **extra,
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A migrated data folder holding one stored clip, shared by this file's servers."""
    folder = tmp_path_factory.mktemp("gunicorn-log")
    migrated = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=_environment(folder),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    (folder / "media" / "clips").mkdir(parents=True)
    (folder / "media" / "clips" / "interview.wav").write_bytes(CLIP_BYTES)
    return folder


def _serve_and_fetch(data_dir: Path, paths: list[str], **extra: str) -> tuple[list[int], str]:
    """Start gunicorn with the access log on, GET each path, stop it; the statuses and everything it wrote."""
    port = free_port()
    output = data_dir / f"gunicorn-{port}.log"
    environment = _environment(
        data_dir,
        GUNICORN_ACCESS_LOG="1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **extra,
    )
    with output.open("wb") as log_file:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter, gunicorn and its config
            [sys.executable, "-m", "gunicorn", "soundclone_site.wsgi:application", "-c", "gunicorn.conf.py"],
            cwd=BASE_DIR,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    statuses = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, output.read_text()
                time.sleep(0.2)
        for path in paths:
            answer = requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)
            statuses.append(answer.status_code)
            if answer.status_code == 200:
                assert answer.content == CLIP_BYTES
    finally:
        server.terminate()
        server.wait(timeout=30)
    return statuses, output.read_text(encoding="utf-8")


def _signed_path(settings) -> tuple[str, str]:
    """A signed link to the stored clip, made with the server's key: (its path, its signature)."""
    settings.SECRET_KEY = SECRET_KEY
    settings.PUBLIC_BASE_URL = ""
    path = clips.hosted_url("clips/interview.wav")
    signature = path.split("/")[2]
    assert path == f"/clips/{signature}/clip.wav" and len(signature) > 20
    return path, signature


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_the_access_log_records_a_clip_download_without_its_signature(data_dir, settings, log_format):
    path, signature = _signed_path(settings)
    tampered = f"/clips/{signature[:-4]}AAAA/clip.wav"

    statuses, output = _serve_and_fetch(data_dir, [path, tampered], LOG_FORMAT=log_format)

    assert statuses == [200, 404]
    assert signature not in output
    assert signature[:-4] not in output
    access_lines = [line for line in output.splitlines() if "/clips/" in line]
    if log_format == "json":
        access_lines = [json.loads(line)["message"] for line in access_lines]
    assert len(access_lines) == 2, output
    # gunicorn's threads write their lines as each answer ends: the second request's may come first.
    assert any('"GET /clips/.../clip.wav HTTP/1.1" 200' in line for line in access_lines), access_lines
    assert any('"GET /clips/.../clip.wav HTTP/1.1" 404' in line for line in access_lines), access_lines


def test_other_paths_are_logged_as_they_were_asked_for(data_dir):
    statuses, output = _serve_and_fetch(
        data_dir, ["/healthz", "/tasks/clips/0b0f3c5e-0000-4000-8000-000000000000/"]
    )

    assert statuses[0] == 503  # no poller runs here
    assert '"GET /tasks/clips/0b0f3c5e-0000-4000-8000-000000000000/ HTTP/1.1" 302' in output


def test_a_clip_link_anywhere_in_a_line_loses_its_signature():
    assert redact_clip_links("https://studio.example.com/clips/eyJuIjoiY2xpcHMvYSJ9:1v:abc/clip.mp3?x=1") == (
        "https://studio.example.com/clips/.../clip.mp3?x=1"
    )
    assert (
        redact_clip_links('"GET //clips/abc:def/clip.wav HTTP/1.1"') == '"GET //clips/.../clip.wav HTTP/1.1"'
    )
    assert redact_clip_links("/tasks/clips/link/") == "/tasks/clips/link/"
