"""Start SoundClone Studio: the web server, the poller and, in demo mode, the simulator, together."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from typing import NoReturn

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clones.demo_account import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DemoPasswordInUse,
    ensure_demo_user,
    refuse_demo_password,
)

# The demo simulator's port is the web port plus this (8765 for 8000), as in settings.py.
SIMULATOR_PORT_OFFSET = 765
MAX_PORT = 65535
# Gunicorn answers within a few seconds; a busy machine may take longer before it listens.
WEB_START_SECONDS = 60.0


def _can_listen(host: str, port: int) -> bool:
    """Whether no other program listens on host:port (one left in TIME_WAIT by a stopped copy is free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        # As gunicorn does: without it, a copy stopped a moment ago would still count as using the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            # Anything else (a port below 1024, an address not on this machine) gunicorn reports itself.
            return error.errno != errno.EADDRINUSE
    return True


class Command(BaseCommand):
    help = "Runs the web server (gunicorn) and the poller; with no API key, also the simulator (demo mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, host: str, port: int, **options) -> None:
        if not _can_listen(host, port):
            self._give_up(
                f"Port {port} is already in use, perhaps by another copy of the studio. "
                f"Start it on another port: PORT={port + 1} make run"
            )
        # A first start takes a while here: say what it is doing rather than stay silent.
        self.stdout.write("Preparing the database …")
        self.stdout.flush()  # now, even when the output goes to a file or a pipe
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Collecting static files …")
        self.stdout.flush()
        call_command("collectstatic", interactive=False, verbosity=0)
        python = sys.executable
        commands: list[tuple[str, list[str]]] = []
        if settings.DEMO_MODE:
            self._ensure_demo_user()
            # Set in our own environment, not only passed down: the supervisor restarts a process that died
            # with this environment, and each process derives the service's address from it (settings.py).
            os.environ["SOUNDCLONE_SIMULATOR_PORT"] = str(self._simulator_port(port))
            # The simulator downloads uploaded clips from the studio as the service would: on loopback.
            os.environ.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
            commands.append(("simulator", [python, "manage.py", "run_simulator"]))
        else:
            self._refuse_demo_password()
        commands.append(("poller", [python, "manage.py", "poll_clones", "--loop"]))
        commands.append(
            (
                "web",
                [
                    python,
                    "-m",
                    "gunicorn",
                    "soundclone_site.wsgi:application",
                    "-c",
                    "gunicorn.conf.py",
                    "--bind",
                    f"{host}:{port}",
                ],
            )
        )
        processes = [(name, subprocess.Popen(command)) for name, command in commands]  # noqa: S603
        # The address is printed only once it answers: never one that nothing serves.
        if not self._wait_until_listening(host, port, processes):
            self._stop(processes)
            self._give_up(
                f"The web server could not start on port {port} (see its message above). "
                f"Start the studio on another port: PORT={port + 1} make run"
            )
        shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"SoundClone Studio is running at http://{shown_host}:{port}/"))
        if settings.DEMO_MODE:
            self.stdout.write(
                "Demo mode: a simulated voice service answers instead of SoundClone "
                "(set SOUNDCLONE_API_KEY to use the real one)."
            )
            self.stdout.write(f"Sign in as  user: {DEMO_USERNAME}   password: {DEMO_PASSWORD}")
        self.stdout.write("Press Ctrl-C to stop.\n")
        self.stdout.flush()
        self._supervise(processes)

    def _give_up(self, sentence: str) -> NoReturn:
        """Say in one sentence why the studio cannot start, and exit with code 1 (no traceback)."""
        self.stderr.write(sentence)
        raise SystemExit(1)

    def _simulator_port(self, web_port: int) -> int:
        """The demo simulator's port: SOUNDCLONE_SIMULATOR_PORT when set, else 765 above the web port.

        A derived port that is taken (or past 65535) is replaced by a free one: the simulator is ours alone,
        nobody types its address.
        """
        chosen = os.environ.get("SOUNDCLONE_SIMULATOR_PORT")
        if chosen:
            if not _can_listen("127.0.0.1", int(chosen)):
                self._give_up(
                    f"Port {chosen} (SOUNDCLONE_SIMULATOR_PORT, for the demo's simulated voice service) is "
                    "already in use. Choose another, or unset it to let the studio choose."
                )
            return int(chosen)
        derived = web_port + SIMULATOR_PORT_OFFSET
        if derived <= MAX_PORT and _can_listen("127.0.0.1", derived):
            return derived
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def _wait_until_listening(
        self, host: str, port: int, processes: list[tuple[str, subprocess.Popen]]
    ) -> bool:
        """Wait until the web server accepts connections; False if it stopped first (its port was taken).

        Ctrl-C or SIGTERM meanwhile stops everything started so far, as they do later (see _supervise).
        """
        web = dict(processes)["web"]
        address = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104
        deadline = time.monotonic() + WEB_START_SECONDS

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous_handler = signal.signal(signal.SIGTERM, interrupt)
        try:
            while time.monotonic() < deadline:
                if web.poll() is not None:
                    return False
                try:
                    with socket.create_connection((address, port), timeout=1):
                        return True
                except OSError:
                    time.sleep(0.1)
        except KeyboardInterrupt:
            self._stop(processes)
            raise SystemExit(0) from None
        finally:
            signal.signal(signal.SIGTERM, previous_handler)
        return True  # slow, but running: the supervisor looks after it from here

    def _stop(self, processes: list[tuple[str, subprocess.Popen]]) -> None:
        """Stop every process started, waiting for each (killing one that does not stop within 15 s)."""
        for _name, process in processes:
            if process.poll() is None:
                process.terminate()
        for _name, process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def _ensure_demo_user(self) -> None:
        ensure_demo_user()

    def _refuse_demo_password(self) -> None:
        """Outside demo mode, no account may still sign in with the password demo mode printed."""
        try:
            refuse_demo_password()
        except DemoPasswordInUse as exc:
            raise CommandError(str(exc)) from None

    def _supervise(self, processes: list[tuple[str, subprocess.Popen]]) -> None:
        """Keep every process running until Ctrl-C or SIGTERM, then stop them all.

        A process that dies is started again on its own, so one crash (the poller on a database hiccup) never
        takes the web server, and the submissions in flight, down with it. The delay doubles while it keeps
        dying (1 s, 2 s, 4 s … at most 30 s) and starts over at 1 s once it has run for a minute.
        """
        first_delay, longest_delay, healthy_after = 1.0, 30.0, 60.0
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        running = dict(processes)
        started_at = dict.fromkeys(running, time.monotonic())
        delays = dict.fromkeys(running, first_delay)
        restart_at: dict[str, float] = {}
        while not stopping:
            now = time.monotonic()
            for name, process in running.items():
                if name in restart_at:
                    if now >= restart_at[name]:
                        # Popen.args is the very command this process was started with.
                        running[name] = subprocess.Popen(process.args)  # noqa: S603
                        started_at[name] = now
                        del restart_at[name]
                    continue
                if process.poll() is None:
                    continue
                if now - started_at[name] >= healthy_after:
                    delays[name] = first_delay
                delay = delays[name]
                restart_at[name] = now + delay
                delays[name] = min(delay * 2, longest_delay)
                code = process.returncode
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                label = "web server" if name == "web" else name
                self.stderr.write(f"The {label} stopped ({how}); starting it again in {delay:g} s.")
            time.sleep(0.2)
        for process in running.values():
            if process.poll() is None:
                process.terminate()
        for process in running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
