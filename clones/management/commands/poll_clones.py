"""Check clips, send clone and speech tasks to the voice service and follow them: one pass by default,
--loop forever."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, DataError, IntegrityError, close_old_connections, connections
from django.utils import timezone

from clones import clips, services
from clones.models import CloneTask, PollerHeartbeat, SpeechTask

logger = logging.getLogger("clones.poller")

# When nothing is due, look again after this long: a new task is sent about a second after it is stored.
IDLE_SLEEP_SECONDS = 1.0
# /healthz wants a beat within the last minute; a few seconds keeps that true with room to spare.
HEARTBEAT_SECONDS = 10.0
# After a database error (a locked SQLite file, a PostgreSQL restart) wait 1 s, 2 s, 4 s … at most this long.
MAX_DATABASE_BACKOFF_SECONDS = 30.0
# Reminders are due a day ahead: looking once a minute is plenty.
REMINDER_SECONDS = 60.0


class Command(BaseCommand):
    help = (
        "Sends new clone and speech tasks to the voice service, checks unfinished ones and emails reminders "
        "before unused voices lapse (one pass; --loop to keep going)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep working until stopped (SIGTERM or Ctrl-C)."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="With --loop: how many tasks are worked on at once (default SOUNDCLONE_WORKERS).",
        )

    def handle(self, *args, loop: bool = False, workers: int | None = None, **options) -> None:
        self.is_stopping = False
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.last_beat = 0.0
        self.last_reminders = 0.0
        # When a worker last finished a pass without a database error: the heartbeat only vouches for that.
        self.last_good_pass = time.monotonic()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        if not loop:
            # One pass, in this thread (tests and cron): everything that is due now, then stop.
            while not self.is_stopping and self.work_once():
                pass
            self.send_reminders_if_due(force=True)
            self.beat_if_due(force=True)
            return
        count = max(1, workers or settings.SOUNDCLONE_WORKERS)
        logger.info("poller started name=%s workers=%s", self.name, count)
        # Several workers, so that one call hanging until its deadline never holds up every other task.
        threads = [
            threading.Thread(target=self._work_forever, name=f"worker-{number}", daemon=True)
            for number in range(count)
        ]
        for thread in threads:
            thread.start()
        while not self.is_stopping:
            self._beat_safely()
            self.send_reminders_if_due()
            self._sleep(1.0)
        for thread in threads:
            # Each worker finishes the task in hand (every call to the service has a deadline) and stops.
            thread.join()
        self._beat_safely(force=True)
        logger.info("poller stopped name=%s", self.name)

    def _work_forever(self) -> None:
        """One worker thread: claim due work and do it, until the command is stopped."""
        backoff = 0.0
        try:
            while not self.is_stopping:
                close_old_connections()
                try:
                    has_more = self.work_once()
                except DatabaseError as exc:
                    # A locked or restarting database must not stop the worker: wait and try again.
                    backoff = min(max(backoff * 2, 1.0), MAX_DATABASE_BACKOFF_SECONDS)
                    logger.warning(
                        "database unavailable (%s); the worker tries again in %.0f s", exc, backoff
                    )
                    connections.close_all()
                    self._sleep(backoff)
                    continue
                backoff = 0.0
                self.last_good_pass = time.monotonic()
                if not has_more:
                    self._sleep(IDLE_SLEEP_SECONDS)
        finally:
            connections.close_all()

    def work_once(self) -> bool:
        """Handle one due task, clone or speech (send, status query or file copy); returns whether more may
        be due. A clip to check comes first: someone is waiting for it at the form."""
        if clips.clip_check_next() is not None:
            return True
        task = services.task_claim_next()
        if task is not None:
            self._handle(task, services.task_sync, "next_poll_at")
            return True
        speech = services.speech_claim_next()
        if speech is not None:
            self._handle(speech, services.task_sync, "next_poll_at")
            return True
        task = services.task_claim_next_copy()
        if task is not None:
            self._handle(task, services.task_copy_preview, "audio_copy_next_at")
            return True
        speech = services.speech_claim_next_copy()
        if speech is not None:
            self._handle(speech, services.speech_copy_files, "audio_copy_next_at")
            return True
        return False

    def send_reminders_if_due(self, *, force: bool = False) -> None:
        """Email the submitters of voices that lapse within a day (each once), at most once a minute."""
        if not force and time.monotonic() - self.last_reminders < REMINDER_SECONDS:
            return
        self.last_reminders = time.monotonic()
        try:
            services.voice_send_reminders()
        except DatabaseError as exc:
            logger.warning("could not send reminders: %s", exc)
            connections.close_all()

    def _handle(self, task: CloneTask | SpeechTask, work: Callable[..., object], due_field: str) -> None:
        started = time.monotonic()
        # The claim just went through the database: the worker is alive, even if this task's call takes until
        # its deadline (always shorter than the lease).
        self.last_good_pass = started
        try:
            work(task=task)
        except (DataError, IntegrityError):
            # The database refused what this task's work tried to write (a value PostgreSQL will not store):
            # this task's fault, and it would fail the same way every lease. Put aside like any bug, below.
            logger.exception("the database refused a write for task=%s; it is put aside for an hour", task.pk)
            services.task_defer_after_crash(task=task, due_field=due_field)
        except DatabaseError:
            # Not this task's fault: the claim's lease runs out and any worker takes it again.
            raise
        except Exception:
            # One bad task must not stop the others, nor come back every lease with a traceback: it is pushed
            # out for an hour (and still given up at the hard limit).
            logger.exception("poller could not handle task=%s; it is put aside for an hour", task.pk)
            services.task_defer_after_crash(task=task, due_field=due_field)
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

    def _beat_safely(self, *, force: bool = False) -> None:
        # Honest: no beat while the workers cannot get through to the database, so /healthz reports it.
        # A worker waiting on the service is alive: its call ends within the deadline, shorter than the lease.
        if time.monotonic() - self.last_good_pass > settings.SOUNDCLONE_POLL_LEASE_SECONDS:
            return
        try:
            self.beat_if_due(force=force)
        except DatabaseError as exc:
            logger.warning("could not record the poller heartbeat: %s", exc)
            connections.close_all()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # The task in hand is finished first: the workers check this flag only between tasks.
        logger.info("poller received signal %s; finishing the task in hand", signum)
        self.is_stopping = True

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.is_stopping and time.monotonic() < deadline:
            time.sleep(0.1)
