"""Query the voice service for unfinished tasks: one pass by default, forever with --loop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from clones import services
from clones.models import CloneTask, PollerHeartbeat

logger = logging.getLogger("clones.poller")

# When nothing is due, look again after this long: short enough that a new task's first poll is not late.
IDLE_SLEEP_SECONDS = 1.0
# /healthz wants a beat within the last minute; a few seconds keeps that true with room to spare.
HEARTBEAT_SECONDS = 10.0


class Command(BaseCommand):
    help = "Polls the voice service for unfinished clone tasks (one pass; --loop to keep going)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep polling until stopped (SIGTERM or Ctrl-C)."
        )

    def handle(self, *args, loop: bool = False, **options) -> None:
        self.is_stopping = False
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.last_beat = 0.0
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        logger.info("poller started name=%s loop=%s", self.name, loop)
        while not self.is_stopping:
            if loop:
                # A long-running process must notice a dropped or expired database connection, as a request
                # would; a single pass is short (and may run inside a caller's transaction).
                close_old_connections()
            has_more = self.work_once()
            self.beat_if_due()
            if has_more:
                continue
            if not loop:
                break
            self._sleep(IDLE_SLEEP_SECONDS)
        self.beat_if_due(force=True)
        logger.info("poller stopped name=%s", self.name)

    def work_once(self) -> bool:
        """Handle one due task (status query, resend or preview copy); returns whether more may be due."""
        services.task_sweep_stale_submissions()
        task = services.task_claim_next()
        if task is not None:
            self._handle(task, services.task_refresh)
            return True
        task = services.task_claim_next_copy()
        if task is not None:
            self._handle(task, services.task_copy_preview)
            return True
        return False

    def _handle(self, task: CloneTask, work: Callable[..., object]) -> None:
        started = time.monotonic()
        try:
            work(task=task)
        except Exception:
            # One bad task must not stop the others: its claim stays in place, so it comes back when the
            # lease runs out, and the loop goes on.
            logger.exception("poller could not handle task=%s; it will be tried again later", task.pk)
        else:
            logger.info(
                "poller handled task=%s work=%s status=%s duration_ms=%d",
                task.pk,
                work.__name__,
                task.status,
                (time.monotonic() - started) * 1000,
            )

    def beat_if_due(self, *, force: bool = False) -> None:
        """Record that this poller is alive (read by /healthz), at most every few seconds."""
        if not force and time.monotonic() - self.last_beat < HEARTBEAT_SECONDS:
            return
        PollerHeartbeat.objects.update_or_create(name=self.name, defaults={"last_seen": timezone.now()})
        self.last_beat = time.monotonic()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # The task in hand is finished first: the loop checks this flag only between tasks.
        logger.info("poller received signal %s; finishing the task in hand", signum)
        self.is_stopping = True

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.is_stopping and time.monotonic() < deadline:
            time.sleep(0.1)
