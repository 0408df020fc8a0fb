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
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    self.stderr.write(f"{name} stopped (exit code {process.returncode}); stopping the rest.")
                    exit_code = process.returncode or 1
                    stopping = True
            time.sleep(0.5)
        for _name, process in processes:
            if process.poll() is None:
                process.terminate()
        for _name, process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if exit_code:
            sys.exit(exit_code)
