"""`make run` as a newcomer uses it: one command serves the app, the poller and the demo simulator."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_studio_serves_the_demo_on_the_printed_address_and_stops_cleanly(tmp_path):
    port, simulator_port = free_port(), free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("SOUNDCLONE_", "DATABASE_URL"))
    }
    environment.update(
        {"PORT": str(port), "SOUNDCLONE_SIMULATOR_PORT": str(simulator_port), "DATA_DIR": str(tmp_path)}
    )
    log = tmp_path / "run.log"
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "run_studio"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        session = requests.Session()
        while time.monotonic() < deadline:
            try:
                if session.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        output = log.read_text()
        assert f"running at http://localhost:{port}/" in output
        username, password = re.search(r"user: (\S+)\s+password: (\S+)", output).groups()

        login_page = session.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        response = session.post(
            f"http://127.0.0.1:{port}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"http://127.0.0.1:{port}/accounts/login/"},
            timeout=5,
        )
        assert response.url.endswith("/tasks/")
        assert "Demo mode: simulated voice service" in response.text
        # Static files come from WhiteNoise with DEBUG off.
        stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', response.text).group(1)
        assert session.get(f"http://127.0.0.1:{port}{stylesheet}", timeout=5).status_code == 200
        # The simulator answers on its own port.
        assert requests.get(f"http://127.0.0.1:{simulator_port}/", timeout=5).status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
