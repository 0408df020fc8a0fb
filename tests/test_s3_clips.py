"""Clips kept in S3-compatible storage: a real server (moto's, started by the tests) and presigned links.

With S3_BUCKET set, the studio keeps a clip in the bucket and gives the service a presigned link to it; the
objects are private, so the link is the only way in. These tests hold the storage and the simulator to that.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from clones.simulator import RunningSimulator
from tests.clips import clip_path, speech_seconds
from tests.s3 import S3Bucket


def test_a_clip_saved_to_s3_has_a_presigned_link_that_plain_http_fetches_exactly(
    s3_storage: S3Bucket,
) -> None:
    data = clip_path("speech-en-20").read_bytes()

    name = default_storage.save("clips/voice.wav", ContentFile(data))
    link = default_storage.url(name, expire=3600)

    assert f"{s3_storage.location}/{name}" in s3_storage.keys()
    assert link.startswith(s3_storage.server.endpoint_url)
    fetched = requests.get(link, timeout=5)
    assert fetched.status_code == 200
    assert fetched.content == data


def test_a_clip_in_s3_cannot_be_fetched_without_its_signature(s3_storage: S3Bucket) -> None:
    name = default_storage.save("clips/private.wav", ContentFile(b"RIFF private clip"))
    parts = urlsplit(default_storage.url(name, expire=3600))

    unsigned = requests.get(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=5)

    assert unsigned.status_code == 403


def test_the_default_storage_is_a_fresh_bucket_in_each_test(s3_storage: S3Bucket) -> None:
    assert default_storage.bucket_name == s3_storage.name
    assert s3_storage.keys() == []


def test_the_simulator_downloads_and_measures_a_clip_from_its_presigned_link(
    s3_storage: S3Bucket, simulator: RunningSimulator
) -> None:
    data = clip_path("speech-en-20").read_bytes()
    name = default_storage.save("clips/voice.wav", ContentFile(data))
    link = default_storage.url(name, expire=3600)
    headers = {"Authorization": "Bearer test-key"}

    created = requests.post(
        f"{simulator.base_url}/v1/soundCloning/clones",
        json={"fileUrl": link, "soundVersion": "v1", "language": "English"},
        headers=headers,
        timeout=10,
    )

    assert created.status_code == 200, created.text
    task = simulator.state.tasks[created.json()["id"]]
    assert task.received_clip == data
    assert task.download_error is None
    assert abs(task.received_speech_seconds - speech_seconds("speech-en-20")) <= 1.5
    deadline = time.monotonic() + 5
    while True:
        result = requests.get(f"{simulator.base_url}/v1/result/{task.id}", headers=headers, timeout=5).json()
        if result["status"] in ("completed", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert result["status"] == "completed"
    assert result["error"] is None
