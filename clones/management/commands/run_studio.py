"""Start SoundClone Studio: the web server, the poller and, in demo mode, the simulator, together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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


class Command(BaseCommand):
    help = "Runs the web server (gunicorn) and the poller; with no API key, also the simulator (demo mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, host: str, port: int, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        python = sys.executable
        commands: list[tuple[str, list[str]]] = []
        if settings.DEMO_MODE:
            self._ensure_demo_user()
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
        self._supervise(processes)

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
