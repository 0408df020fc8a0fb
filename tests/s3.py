"""A real S3-compatible server for the tests: moto's standalone server, started once per test process.

`moto_server` (session) runs ``python -m moto.server`` on a free loopback port as a subprocess, waits until it
answers and stops it at the end; under xdist each worker starts its own. `s3_storage` (per test) makes a fresh
bucket in it and points Django's default storage at it with the options our settings use for S3_BUCKET
(django-storages' S3Storage, private objects, presigned links), so `default_storage.url(name)` is a presigned
link that plain HTTP (and the simulator) can fetch. Registered in tests/conftest.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests

ACCESS_KEY = "testing-access-key"  # moto accepts any credentials; these only need to look like some
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"
START_SECONDS = 30.0


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str  # e.g. http://127.0.0.1:54321
    port: int

    def client(self):
        """A boto3 S3 client for this server (to make buckets and look inside them)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )


@dataclass(frozen=True)
class S3Bucket:
    server: MotoServer
    name: str
    location: str  # the key prefix of the storage, as S3_PREFIX sets it

    def keys(self) -> list[str]:
        listing = self.server.client().list_objects_v2(Bucket=self.name)
        return [item["Key"] for item in listing.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.server.client().get_object(Bucket=self.name, Key=key)["Body"].read()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto_server() -> tuple[subprocess.Popen[bytes], MotoServer]:
    """Start moto's server on a free port and wait until it answers S3 requests."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = MotoServer(endpoint_url=f"http://127.0.0.1:{port}", port=port)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"moto's server stopped at start (exit {process.returncode}): {error[-2000:]}")
        try:
            if requests.get(f"{server.endpoint_url}/moto-api/", timeout=1).ok:
                return process, server
        except requests.RequestException:
            pass
        time.sleep(0.05)
    stop_moto_server(process)
    raise RuntimeError(f"moto's server did not answer within {START_SECONDS:.0f} s")


def stop_moto_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    if process.stderr:
        process.stderr.close()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's standalone S3 server on loopback, one per test process (xdist worker)."""
    process, server = start_moto_server()
    try:
        yield server
    finally:
        stop_moto_server(process)


@pytest.fixture
def s3_storage(settings, moto_server: MotoServer) -> S3Bucket:
    """Django's default storage is a fresh, empty bucket in moto's server, set up as S3_BUCKET would set it.

    Changing settings.STORAGES sends setting_changed, which makes Django drop its cached storages, so
    `default_storage` is the S3 one for this test and the previous one again after it.
    """
    name = f"clips-{uuid.uuid4().hex[:16]}"
    moto_server.client().create_bucket(Bucket=name)
    location = "soundclone"
    settings.S3_BUCKET = name
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": moto_server.endpoint_url,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "location": location,
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return S3Bucket(server=moto_server, name=name, location=location)
