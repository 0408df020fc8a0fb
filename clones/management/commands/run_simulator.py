"""``manage.py run_simulator``: serve the stand-in for the SoundClone service until SIGTERM or SIGINT."""

from __future__ import annotations

import errno
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from clones.simulator import SimulatorConfig, SimulatorState, serve_in_thread


class Command(BaseCommand):
    help = (
        "Serve the SoundClone simulator (see clones/simulator.py for its routes and failure markers). "
        "Point SOUNDCLONE_BASE_URL at the URL it prints."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options; port and key default to the SOUNDCLONE_* settings."""
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="Port to listen on (default: SOUNDCLONE_SIMULATOR_PORT, else PORT+765; 0 picks a free one).",
        )
        parser.add_argument(
            "--queued-seconds", type=float, default=2.0, help="How long a task stays queued (default 2)."
        )
        parser.add_argument(
            "--processing-seconds",
            type=float,
            default=6.0,
            help="How long a task then stays processing (default 6).",
        )
        parser.add_argument(
            "--slow-seconds",
            type=float,
            default=3.0,
            help="How long the create-slow and poll-slow markers wait before answering (default 3).",
        )
        parser.add_argument(
            "--api-key",
            default=None,
            help="The bearer token to accept (default: SOUNDCLONE_API_KEY; empty accepts any token).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Serve until SIGTERM or SIGINT, then stop cleanly."""
        port = options["port"]
        if port is None:
            port = settings.SOUNDCLONE_SIMULATOR_PORT
        api_key = options["api_key"]
        if api_key is None:
            api_key = getattr(settings, "SOUNDCLONE_API_KEY", "") or ""
        config = SimulatorConfig(
            api_key=api_key,
            queued_seconds=options["queued_seconds"],
            processing_seconds=options["processing_seconds"],
            slow_seconds=options["slow_seconds"],
        )
        stop_requested = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop_requested.set()

        previous_handlers = {}
        if threading.current_thread() is threading.main_thread():
            # Signal handlers can only be installed from the main thread (call_command may run elsewhere).
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous_handlers[signum] = signal.signal(signum, request_stop)

        try:
            simulator = serve_in_thread(
                SimulatorState(config), host=options["host"], port=port, verbose=options["verbosity"] >= 2
            )
        except OSError as error:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            if error.errno != errno.EADDRINUSE:
                raise
            # One sentence, not a traceback: this is what a second copy of the demo on the same port meets.
            self.stderr.write(
                f"Port {port} is already in use, perhaps by another copy of the studio's simulator. "
                "Start it on another port: --port or SOUNDCLONE_SIMULATOR_PORT."
            )
            raise SystemExit(1) from None
        try:
            # The key itself is a secret: say only whether one is enforced.
            key_note = "a fixed API key" if api_key else "any bearer token"
            self.stdout.write(f"SoundClone simulator serving {simulator.base_url} (accepting {key_note})")
            self.stdout.flush()
            # Waiting with a timeout keeps the main thread responsive to signals on every platform.
            while not stop_requested.wait(timeout=0.5):
                pass
        finally:
            simulator.stop()
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        self.stdout.write("SoundClone simulator stopped")
