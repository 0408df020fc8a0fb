"""`make run` as a newcomer uses it: one command serves the app, the poller and the demo simulator."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_studio(
    tmp_path: Path, *, port: int | None = None, log_name: str = "run.log"
) -> tuple[subprocess.Popen, int, int, Path]:
    """`manage.py run_studio` in demo mode, answering sign-in pages when this returns.

    Without `port`, on free ports for the web server and the simulator; with `port`, as `PORT=… make run`
    starts it, the simulator's port left for the studio to choose.
    """
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("SOUNDCLONE_", "DATABASE_URL"))
    }
    if port is None:
        port, simulator_port = free_port(), free_port()
        environment["SOUNDCLONE_SIMULATOR_PORT"] = str(simulator_port)
    else:
        simulator_port = port + 765
    # Static files collected into a folder of its own: tests running side by side must not rewrite the
    # checkout's while another reads it.
    # One gunicorn worker: a second only boots Django once more, which these tests never need.
    environment.update(
        {
            "PORT": str(port),
            "DATA_DIR": str(tmp_path),
            "STATIC_ROOT": str(tmp_path / "static"),
            "WEB_CONCURRENCY": "1",
        }
    )
    log = tmp_path / log_name
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "run_studio"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            # Not listening yet, or a worker still booting on a busy machine.
            time.sleep(0.3)
    return process, port, simulator_port, log


def test_run_studio_serves_the_demo_on_the_printed_address_and_stops_cleanly(tmp_path):
    process, port, simulator_port, log = start_studio(tmp_path)
    try:
        session = requests.Session()
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


def children_of(parent: int) -> dict[int, str]:
    """The live child processes of `parent` and their command lines, read from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in parentheses may hold spaces: the parent's pid is the 2nd field after it.
            parent_pid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if parent_pid == parent and command:
            children[int(entry.name)] = command
    return children


def child_running(
    parent: int, command_part: str, *, other_than: int | None = None, timeout: float = 15
) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid, command in children_of(parent).items():
            if command_part in command and pid != other_than:
                return pid
        time.sleep(0.05)
    raise AssertionError(f"no {command_part} process started within {timeout} s")


def test_run_studio_restarts_a_poller_that_died_while_the_web_server_keeps_answering(tmp_path):
    process, port, _simulator_port, log = start_studio(tmp_path)
    answers: list[int | str] = []
    stop_asking = threading.Event()

    def keep_asking() -> None:
        while not stop_asking.is_set():
            try:
                answers.append(
                    requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).status_code
                )
            except requests.RequestException as error:
                answers.append(repr(error))
            stop_asking.wait(0.2)

    asker = threading.Thread(target=keep_asking)
    try:
        web_server = child_running(process.pid, "gunicorn")
        first_poller = child_running(process.pid, "poll_clones")
        asker.start()

        os.kill(first_poller, signal.SIGKILL)
        second_poller = child_running(process.pid, "poll_clones", other_than=first_poller)
        # Dying again soon after a restart doubles the wait.
        os.kill(second_poller, signal.SIGKILL)
        third_poller = child_running(process.pid, "poll_clones", other_than=second_poller)
        time.sleep(0.5)

        stop_asking.set()
        asker.join()
        output = log.read_text()
        assert "The poller stopped (killed by signal 9); starting it again in 1 s." in output
        assert "The poller stopped (killed by signal 9); starting it again in 2 s." in output
        assert child_running(process.pid, "gunicorn") == web_server
        assert len(answers) >= 10
        assert set(answers) == {200}, answers
    finally:
        stop_asking.set()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    # Ctrl-C stops everything it started, the restarted poller included.
    assert not Path(f"/proc/{third_poller}").exists()
    assert not Path(f"/proc/{web_server}").exists()


# --- The demo account does not survive into production ------------------------------------------------

DEMO_PASSWORD_REFUSAL = (
    'The demo account "demo" still has its demo password. Set a new one with '
    "`python manage.py changepassword demo`, or delete it, then start again."
)


def _environment(data_dir: Path, **extra: str) -> dict[str, str]:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {**keep, "DATA_DIR": str(data_dir), "STATIC_ROOT": str(data_dir / "static"), **extra}


def _production(data_dir: Path, **extra: str) -> dict[str, str]:
    """The same data folder with the API key set: no longer demo mode."""
    return _environment(data_dir, SOUNDCLONE_API_KEY="sk-made-up-for-this-test", SECRET_KEY="s" * 50, **extra)


def _manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def data_left_by_demo_mode(tmp_path) -> Path:
    """A data folder as `make run` in demo mode leaves it: migrated, with the demo administrator."""
    demo = _environment(tmp_path)
    assert _manage("migrate", "--noinput", env=demo).returncode == 0
    created = _manage(
        "shell", "-c", "from clones.demo_account import ensure_demo_user; ensure_demo_user()", env=demo,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return tmp_path


def _set_password(data_dir: Path, username: str, password: str) -> None:
    result = _manage(
        "shell", "-c",
        "from django.contrib.auth import get_user_model\n"
        f"user = get_user_model().objects.get(username={username!r})\n"
        f"user.set_password({password!r}); user.save()",
        env=_environment(data_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_run_studio_with_the_key_set_refuses_to_start_while_demo_keeps_its_demo_password(
    data_left_by_demo_mode,
):
    result = _manage("run_studio", "--port", str(free_port()), env=_production(data_left_by_demo_mode))
    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: {DEMO_PASSWORD_REFUSAL}"
    assert "running at" not in result.stdout


def test_a_renamed_demo_administrator_is_refused_too(data_left_by_demo_mode):
    rename = _manage(
        "shell", "-c",
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.filter(username='demo').update(username='lead')",
        env=_environment(data_left_by_demo_mode),
    )  # fmt: skip
    assert rename.returncode == 0, rename.stderr
    result = _manage("run_studio", "--port", str(free_port()), env=_production(data_left_by_demo_mode))
    assert result.returncode == 1
    assert 'The account "lead" still has its demo password.' in result.stderr
    assert "`python manage.py changepassword lead`" in result.stderr


def _gunicorn(data_dir: Path, port: int) -> subprocess.Popen:
    """The web server as the image and the Procfile start it: gunicorn directly, not run_studio."""
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "soundclone_site.wsgi:application", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=_production(data_dir, PORT=str(port), WEB_CONCURRENCY="1"),
        stdout=(data_dir / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def test_the_web_server_of_the_image_refuses_to_start_while_demo_keeps_its_demo_password(
    data_left_by_demo_mode,
):
    server = _gunicorn(data_left_by_demo_mode, free_port())
    assert server.wait(timeout=60) == 1
    assert f"Error: {DEMO_PASSWORD_REFUSAL}" in (data_left_by_demo_mode / "gunicorn.log").read_text()


def test_with_a_new_password_the_web_server_of_the_image_starts(data_left_by_demo_mode):
    _set_password(data_left_by_demo_mode, "demo", "a new password nobody printed")
    port = free_port()
    server = _gunicorn(data_left_by_demo_mode, port)
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        # 503: it answers, and says that no poller runs (none was started here).
        assert answer == 503, (data_left_by_demo_mode / "gunicorn.log").read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_demo_mode_keeps_its_account_and_says_how_to_sign_in(db):
    from django.contrib.auth import get_user_model

    from clones.demo_account import DEMO_PASSWORD, accounts_with_demo_password, ensure_demo_user

    ensure_demo_user()
    ensure_demo_user()  # a second start changes nothing
    demo = get_user_model().objects.get(username="demo")
    assert demo.is_superuser and demo.check_password(DEMO_PASSWORD)
    assert accounts_with_demo_password() == ["demo"]
    demo.is_active = False
    demo.save()
    assert accounts_with_demo_password() == []  # a deactivated account cannot sign in


# --- Two copies side by side, and a port that is taken ------------------------------------------------

BUSY_PORT = (
    "Port {port} is already in use, perhaps by another copy of the studio. "
    "Start it on another port: PORT={next_port} make run"
)


def free_port_with_its_simulator_port() -> int:
    """A free port whose simulator port (765 above) is free too."""
    while True:
        port = free_port()
        if port + 765 <= 65535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 765))
                except OSError:
                    continue
            return port


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def wait_for_text(log: Path, text: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_two_copies_on_different_ports_each_serve_with_a_simulator_of_their_own(tmp_path):
    first_port = free_port_with_its_simulator_port()
    first, _, first_simulator, first_log = start_studio(tmp_path, port=first_port, log_name="first.log")
    try:
        second_port = free_port_with_its_simulator_port()
        second, _, second_simulator, second_log = start_studio(
            tmp_path, port=second_port, log_name="second.log"
        )
        try:
            for port, simulator_port, log in (
                (first_port, first_simulator, first_log),
                (second_port, second_simulator, second_log),
            ):
                # The simulator says where it serves in its own time, maybe just after the web server answers.
                wait_for_text(log, f"SoundClone simulator serving http://127.0.0.1:{simulator_port}/")
                output = log.read_text()
                assert f"running at http://localhost:{port}/" in output
                assert f"SoundClone simulator serving http://127.0.0.1:{simulator_port}/" in output
                assert "Traceback" not in output and "Address already in use" not in output
                assert requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).status_code == 200
                assert requests.get(f"http://127.0.0.1:{simulator_port}/", timeout=5).status_code == 404
            assert first_simulator == first_port + 765
            assert second_simulator == second_port + 765
        finally:
            assert stop(second) == 0
    finally:
        assert stop(first) == 0


def test_set_up_says_what_it_is_doing_before_it_says_where_the_studio_runs(tmp_path):
    process, port, _simulator_port, log = start_studio(tmp_path)
    try:
        output = log.read_text()
        preparing = output.index("Preparing the database …")
        collecting = output.index("Collecting static files …")
        assert preparing < collecting < output.index(f"running at http://localhost:{port}/")
    finally:
        assert stop(process) == 0


def test_a_port_already_in_use_is_one_plain_sentence_and_exit_code_1(tmp_path):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        result = _manage("run_studio", env=_environment(tmp_path, PORT=str(port)), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == BUSY_PORT.format(port=port, next_port=port + 1)
    # Nothing about an address that nothing serves, nor the account for it.
    assert "running at" not in result.stdout
    assert "Sign in as" not in result.stdout
    assert "Traceback" not in result.stderr


def test_a_second_copy_on_the_same_port_stops_with_the_sentence_while_the_first_keeps_serving(tmp_path):
    port = free_port_with_its_simulator_port()
    first, _, _, _ = start_studio(tmp_path, port=port)
    try:
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SOUNDCLONE_", "DATABASE_URL"))
        }
        environment.update(
            {"PORT": str(port), "DATA_DIR": str(tmp_path), "STATIC_ROOT": str(tmp_path / "static")}
        )
        second = _manage("run_studio", env=environment, timeout=60)
        assert second.returncode == 1
        assert second.stderr.strip() == BUSY_PORT.format(port=port, next_port=port + 1)
        assert "running at" not in second.stdout
        assert requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).status_code == 200
    finally:
        assert stop(first) == 0


def test_a_taken_simulator_port_is_replaced_by_a_free_one_unless_it_was_chosen(monkeypatch, tmp_path):
    from django.core.management.base import OutputWrapper

    from clones.management.commands.run_studio import Command

    command = Command()
    command.stderr = OutputWrapper(open(tmp_path / "stderr", "w"))  # noqa: SIM115
    monkeypatch.delenv("SOUNDCLONE_SIMULATOR_PORT", raising=False)
    port = free_port_with_its_simulator_port()
    assert command._simulator_port(port) == port + 765
    assert 0 < command._simulator_port(65000) <= 65535  # 65765 does not exist
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", port + 765))
        other_program.listen()
        replacement = command._simulator_port(port)
        assert replacement != port + 765
        # A port chosen on purpose is never changed behind one's back: say so and stop.
        monkeypatch.setenv("SOUNDCLONE_SIMULATOR_PORT", str(port + 765))
        with pytest.raises(SystemExit) as exit_:
            command._simulator_port(port)
    assert exit_.value.code == 1
    command.stderr.flush()
    assert (tmp_path / "stderr").read_text().strip() == (
        f"Port {port + 765} (SOUNDCLONE_SIMULATOR_PORT, for the demo's simulated voice service) is "
        "already in use. Choose another, or unset it to let the studio choose."
    )


def test_the_simulator_on_a_taken_port_says_so_in_one_sentence(tmp_path):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        result = _manage("run_simulator", "--port", str(port), env=_environment(tmp_path), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Port {port} is already in use, perhaps by another copy of the studio's simulator. "
        "Start it on another port: --port or SOUNDCLONE_SIMULATOR_PORT."
    )
