"""The one write path for clone tasks: views and the poller call these, and only these call the client."""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from clones import client, clips, languages, local_time
from clones.client import ErrorKind, RemoteTask, UpstreamError
from clones.models import (
    DEFAULT_EMOTION,
    DEFAULT_PITCH,
    DEFAULT_SPEED,
    DEFAULT_VOLUME,
    MODEL_ID_LIFETIME,
    Clip,
    CloneTask,
    SpeechTask,
    TaskChange,
    TaskEvent,
)
from clones.templatetags.clones_extras import time_left_words

logger = logging.getLogger(__name__)

Status = CloneTask.Status

# A busy service (429/5xx) gets this many tries in all before the task is left for a person to resend.
MAX_SEND_ATTEMPTS = 4
# A task found "completed" without its preview or modelId this many times is given up on.
MAX_INCOMPLETE_RESULTS = 3
# A preview copy that keeps failing is tried this many times (over about a day) before we give up on it.
MAX_COPY_ATTEMPTS = 12
# A task whose work raised is left alone this long (healthchecks' sendalerts does the same against crash
# loops): a traceback an hour, not one a lease. The time counts towards the hard limit like any other.
CRASH_RETRY_DELAY = timedelta(hours=1)
# Backing off never waits longer than this between two polls of one task.
MAX_POLL_DELAY = timedelta(minutes=5)

# Messages stored on tasks are marked for translation and translated when shown, in the reader's language.
MESSAGE_NOT_SENT = gettext_noop(
    "We could not reach the voice service, so nothing was sent. You can send it again."
)
MESSAGE_BUSY_GAVE_UP = gettext_noop(
    "The voice service was busy and did not accept the task after several tries. You can send it again."
)
MESSAGE_CREDENTIALS = gettext_noop("The voice service rejected our credentials: tell your administrator.")
MESSAGE_UNCERTAIN = gettext_noop(
    "We sent the task but the voice service did not confirm it. It may or may not be running there. "
    "Sending it again could create a second task."
)
MESSAGE_NOT_FOUND = gettext_noop("No longer known to the service.")
MESSAGE_NO_REASON = gettext_noop("The voice service could not clone this voice and gave no reason.")
MESSAGE_NO_PREVIEW = gettext_noop(
    "The voice service reported the clone as finished but sent no preview or modelId."
)
MESSAGE_INTERNAL_ERROR = gettext_noop(
    "The studio ran into an internal error while checking this task; it will try again in an hour."
)
MESSAGE_NO_SPEECH_REASON = gettext_noop(
    "The voice service could not generate this speech and gave no reason."
)
MESSAGE_NO_SPEECH_AUDIO = gettext_noop(
    "The voice service reported the speech as finished but sent no audio (or no subtitles)."
)
MESSAGE_NO_SUBTITLES = gettext_noop(
    "The voice service sent the speech without the subtitles that were asked for. The audio is here."
)
MESSAGE_TOO_LONG = gettext_noop(
    "The voice service did not finish this task within the time limit, so we stopped waiting."
)


class DuplicateSubmission(Exception):
    """This form was already submitted: the task it created is attached."""

    def __init__(self, task: CloneTask) -> None:
        super().__init__(f"form already submitted as task {task.pk}")
        self.task = task


# The fields each write path owns. A worker's save never writes what staff change meanwhile (name, notes,
# archive): it loaded the row seconds ago, and a whole-row save would silently undo their edit.
SEND_FIELDS = (
    "status",
    "error",
    "upstream_id",
    "upstream_status",
    "last_response",
    "sent_at",
    "finished_at",
    "next_poll_at",
    "send_attempts",
    "send_started_at",
    "model_id",
    "audio_url",
    "audio_copy_next_at",
    "incomplete_results",
    "updated_at",
)
POLL_FIELDS = (
    "status",
    "error",
    "upstream_status",
    "last_response",
    "finished_at",
    "next_poll_at",
    "last_polled_at",
    "poll_count",
    "failed_polls",
    "incomplete_results",
    "model_id",
    "audio_url",
    "audio_copy_next_at",
    "checks_failing_since",
    "check_problem",
    "check_problem_detail",
    "updated_at",
)
# A speech task has no modelId of its own (it speaks with its voice's) and may carry a subtitle file.
SPEECH_SEND_FIELDS = tuple(name for name in SEND_FIELDS if name != "model_id") + ("subtitle_url",)
SPEECH_POLL_FIELDS = tuple(name for name in POLL_FIELDS if name != "model_id") + ("subtitle_url",)

# A clone task or a speech task: the worker sends, polls and copies both with the code below.
WorkedTask = CloneTask | SpeechTask


def _send_fields(task: WorkedTask) -> tuple[str, ...]:
    return SPEECH_SEND_FIELDS if isinstance(task, SpeechTask) else SEND_FIELDS


def _poll_fields(task: WorkedTask) -> tuple[str, ...]:
    return SPEECH_POLL_FIELDS if isinstance(task, SpeechTask) else POLL_FIELDS


# The inputs a person fixes after the service refused them ("Fix and send again").
INPUT_FIELDS = ("name", "notes", "file_url", "content_text", "sound_version", "language")


def task_submit(
    *,
    user: AbstractBaseUser | None,
    name: str,
    file_url: str,
    sound_version: str,
    language: str,
    form_token: uuid.UUID,
    content_text: str = "",
    notes: str = "",
    consent_text: str = "",
    pair_token: uuid.UUID | None = None,
    clip: Clip | None = None,
    clip_start: float | None = None,
    clip_end: float | None = None,
) -> CloneTask:
    """Store a new task for the worker to send at once; raises DuplicateSubmission for a resent form.

    The web request never waits on the service: a hung service must not hold a web thread (nor lose the task).
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            task = CloneTask.objects.create(
                name=name,
                notes=notes,
                file_url=file_url,
                content_text=content_text,
                sound_version=sound_version,
                language=language,
                submitted_by=user,
                consent_text=consent_text,
                consent_confirmed_at=now if consent_text else None,
                form_token=form_token,
                pair_token=pair_token,
                status=Status.SUBMITTING,
                next_poll_at=now,
                **clip_fields(clip=clip, file_url=file_url, start=clip_start, end=clip_end),
            )
    except IntegrityError as exc:
        existing = CloneTask.objects.filter(form_token=form_token).first()
        if existing is None:
            raise
        raise DuplicateSubmission(existing) from exc
    logger.info("task stored for sending task=%s version=%s language=%s", task.pk, sound_version, language)
    return task


def clip_fields(*, clip: Clip | None, file_url: str, start: float | None, end: float | None) -> dict:
    """What a task keeps of its clip: where it came from, how long it is and how much of it is speech."""
    if clip is None:
        return {
            "clip": None,
            "clip_source": Clip.Source.LINK if file_url else "",
            "clip_name": file_url[:2048],
            "clip_seconds": None,
            "clip_speech_seconds": None,
            "clip_start": None,
            "clip_end": None,
        }
    has_window = start is not None and end is not None
    return {
        "clip": clip,
        "clip_source": clip.source,
        "clip_name": clip.name,
        "clip_seconds": round(end - start, 2) if has_window else clip.seconds,
        "clip_speech_seconds": round(clips.speech_in(clip, start, end), 2),
        "clip_start": start if has_window else None,
        "clip_end": end if has_window else None,
    }


def task_resend(*, task: CloneTask, user: AbstractBaseUser) -> bool:
    """Queue again a task a person chose to resend (not sent, or uncertain); False if it cannot be."""
    now = timezone.now()
    updated = CloneTask.objects.filter(pk=task.pk, status__in=CloneTask.ATTENTION_STATUSES).update(
        status=Status.SUBMITTING,
        error="",
        send_attempts=0,
        send_started_at=None,
        next_poll_at=now,
        updated_at=now,
    )
    if not updated:
        return False
    _record_change(task, user, TaskChange.Action.RESENT)
    task.refresh_from_db()
    logger.info("task resend requested task=%s by=%s", task.pk, user.pk)
    return True


def task_fix_and_resend(
    *,
    task: CloneTask,
    user: AbstractBaseUser,
    name: str,
    file_url: str,
    sound_version: str,
    language: str,
    content_text: str = "",
    notes: str = "",
    clip: Clip | None = None,
    clip_start: float | None = None,
    clip_end: float | None = None,
) -> bool:
    """Replace a refused task's inputs with the corrected ones and queue it again; False if not refused."""
    now = timezone.now()
    updated = CloneTask.objects.filter(pk=task.pk, status=Status.REFUSED).update(
        **clip_fields(clip=clip, file_url=file_url, start=clip_start, end=clip_end),
        clip_file="",
        name=name.strip(),
        notes=notes,
        file_url=file_url,
        content_text=content_text,
        sound_version=sound_version,
        language=language,
        status=Status.SUBMITTING,
        error="",
        finished_at=None,
        send_attempts=0,
        send_started_at=None,
        next_poll_at=now,
        updated_at=now,
    )
    if not updated:
        return False
    _record_change(task, user, TaskChange.Action.FIXED, detail=task.file_url)
    task.refresh_from_db()
    logger.info("refused task fixed and queued again task=%s by=%s", task.pk, user.pk)
    return True


def task_sync(*, task: WorkedTask) -> None:
    """Do the task's due work with the service: send it (new, or again after the service was busy), or ask
    for its status. Whatever the outcome, a sent task past the hard limit is marked failed."""
    now = timezone.now()
    if task.status in (Status.SUBMITTING, Status.RETRYING):
        if task.send_started_at is not None:
            # The last sender died (or hung past its lease) mid-request: the service may have the task.
            logger.warning("task send was interrupted task=%s: outcome unknown", task.pk)
            task.status = Status.UNCERTAIN
            task.error = MESSAGE_UNCERTAIN
            task.send_started_at = None
            task.next_poll_at = None
            task.save(update_fields=_send_fields(task))
            return
        _send(task)
        return
    if task.status not in CloneTask.SENT_STATUSES:
        return
    task.last_polled_at = now
    task.poll_count += 1
    try:
        remote = client.get_task(task.upstream_id)
    except UpstreamError as exc:
        _record_event(task, TaskEvent.Kind.POLL, exc.status_code, str(exc.kind), 0)
        _record_poll_failure(task, exc, now)
    else:
        _record_event(task, TaskEvent.Kind.POLL, remote.http_status, remote.raw_status, remote.duration_ms)
        task.failed_polls = 0
        task.checks_failing_since = None
        task.check_problem = task.check_problem_detail = ""
        _apply_remote(task, remote, now)
    _apply_hard_limit(task, now)
    task.save(update_fields=_poll_fields(task))
    if task.is_completed:
        # The service's link may expire within a day: keep our own copy from the first moment.
        _copy_files(task)


def task_defer_after_crash(*, task: WorkedTask, due_field: str) -> None:
    """Push a task whose work raised out of the way for a while, so that one bad task never becomes a
    crash loop (a traceback every lease); the hard limit still applies to it."""
    now = timezone.now()
    fields = {due_field: now + CRASH_RETRY_DELAY, "updated_at": now}
    rows = type(task)._default_manager.filter(pk=task.pk)
    if due_field == "next_poll_at":
        fields.update(check_problem=MESSAGE_INTERNAL_ERROR, check_problem_detail="")
        rows.filter(checks_failing_since__isnull=True).update(checks_failing_since=now)
    rows.update(**fields)
    task.refresh_from_db()
    if _apply_hard_limit(task, now):
        task.save(update_fields=_poll_fields(task))


def task_claim_next(*, now: datetime | None = None) -> CloneTask | None:
    """Claim the most overdue send or status query for this worker, or return None when nothing is due."""
    due = CloneTask.objects.filter(status__in=CloneTask.POLLED_STATUSES)
    return _claim(due, "next_poll_at", now or timezone.now())


def task_copy_preview(*, task: CloneTask) -> bool:
    """Copy a completed task's preview audio into our storage; on failure, schedule another try."""
    if not task.is_completed or task.audio_file or not task.audio_url:
        return False
    task.audio_copy_attempts += 1
    started = time.monotonic()
    try:
        audio = client.download_preview(task.audio_url)
        extension = client.AUDIO_CONTENT_TYPES[audio.content_type]
        name = _store_whole(f"previews/task-{task.pk}.{extension}", audio.content)
    except (UpstreamError, OSError) as exc:
        _record_copy_failure(task, exc, int((time.monotonic() - started) * 1000))
        return False
    task.audio_file.name = name
    task.audio_copy_next_at = None
    CloneTask.objects.filter(pk=task.pk).update(
        audio_file=name, audio_copy_attempts=task.audio_copy_attempts, audio_copy_next_at=None
    )
    duration_ms = int((time.monotonic() - started) * 1000)
    _record_event(task, TaskEvent.Kind.COPY, 200, f"{len(audio.content)} bytes", duration_ms)
    logger.info("preview copied task=%s bytes=%s duration_ms=%s", task.pk, len(audio.content), duration_ms)
    return True


def task_preview_missing(*, task: CloneTask) -> None:
    """Our copy of a preview is gone (a restored backup, a cleaned disk): copy it again from the service."""
    logger.error("archived preview missing task=%s file=%s; copying it again", task.pk, task.audio_file.name)
    CloneTask.objects.filter(pk=task.pk, audio_file=task.audio_file.name).update(
        audio_file="", audio_copy_attempts=0, audio_copy_next_at=timezone.now()
    )
    task.audio_file.name = ""


def _store_whole(name: str, content: bytes) -> str:
    """Save a file so that it is either there whole or not at all; returns the name it was stored under.

    On local disk the bytes go to a temporary file in the same folder, which is renamed only once written
    (a full disk leaves no truncated preview behind). Object storage uploads are whole by nature.
    """
    if not isinstance(default_storage, FileSystemStorage):
        return default_storage.save(name, ContentFile(content))
    final_name = default_storage.get_available_name(name)
    final_path = Path(default_storage.path(final_name))
    final_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=final_path.parent, prefix=".partial-", suffix=final_path.suffix)
    try:
        with os.fdopen(handle, "wb") as temporary_file:
            temporary_file.write(content)
            temporary_file.flush()
            os.fsync(temporary_file.fileno())
        os.replace(temporary, final_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return final_name


def task_claim_next_copy(*, now: datetime | None = None) -> CloneTask | None:
    """Claim the completed task whose preview copy is most overdue, or return None."""
    return _claim(CloneTask.objects.all(), "audio_copy_next_at", now or timezone.now())


def _claim(candidates: QuerySet, due_field: str, now: datetime) -> WorkedTask | None:
    """Claim the row of `candidates` whose `due_field` is oldest and past, by moving it past the lease."""
    for _attempt in range(5):
        candidate = (
            candidates.filter(**{f"{due_field}__lte": now})
            .order_by(due_field, "pk")
            .values_list("pk", due_field)
            .first()
        )
        if candidate is None:
            return None
        pk, due_at = candidate
        # Two workers racing for one row run the same conditional UPDATE; the database applies them one
        # after the other and the second matches no row, so it tries the next candidate. A worker killed
        # mid-task leaves a lease that simply runs out, and the row is due again. Every call to the service
        # has a total deadline shorter than the lease, so a live worker always finishes before it runs out.
        rows = candidates.model._default_manager
        claimed = rows.filter(pk=pk, **{due_field: due_at}).update(**{due_field: now + _claim_lease()})
        if claimed:
            return rows.get(pk=pk)
    return None


def _send(task: WorkedTask) -> UpstreamError | None:
    """Send the task's create request and record the outcome on it; returns the failure, if any."""
    now = timezone.now()
    file_url = ""
    if isinstance(task, CloneTask):
        try:
            # A file the studio keeps is cut or converted now if needed, and linked for the service.
            file_url = clips.service_link(task)
        except clips.ClipUnavailable as exc:
            logger.warning(
                "task not sent: the studio cannot give the service a link to its clip task=%s", task.pk
            )
            task.status = Status.NOT_SENT
            task.error = str(exc)
            task.next_poll_at = None
            task.save(update_fields=_send_fields(task))
            return None
    task.send_attempts += 1
    task.send_started_at = now
    # Written before the request: if this process dies mid-request, the next worker knows (see task_sync).
    task.save(update_fields=["send_attempts", "send_started_at", "updated_at"])
    try:
        remote = _create_remotely(task, file_url)
    except UpstreamError as exc:
        logger.warning("task send failed task=%s kind=%s status=%s", task.pk, exc.kind, exc.status_code)
        task.send_started_at = None
        _record_send_failure(task, exc, now)
        task.save(update_fields=_send_fields(task))
        _record_event(task, TaskEvent.Kind.SEND, exc.status_code, str(exc.kind), 0)
        return exc
    task.send_started_at = None
    task.upstream_id = remote.id
    task.sent_at = now
    task.error = ""
    _apply_remote(task, remote, now)
    task.save(update_fields=_send_fields(task))
    _record_event(task, TaskEvent.Kind.SEND, remote.http_status, remote.raw_status, remote.duration_ms)
    logger.info("task accepted task=%s upstream_id=%s status=%s", task.pk, remote.id, remote.raw_status)
    return None


def _create_remotely(task: WorkedTask, file_url: str) -> RemoteTask:
    """The create request of the task's kind: a clone preview, or speech with its voice."""
    if isinstance(task, SpeechTask):
        return client.create_speech(
            model_id=task.voice.model_id,
            text=task.content_text,
            sound_version=task.sound_version,
            language=task.language,
            emotion=task.emotion,
            speed=task.speed,
            vol=task.volume,
            pitch=task.pitch,
            subtitle_enable=task.wants_subtitles,
            subtitle_type=task.subtitles,
        )
    return client.create_clone(
        file_url=file_url,
        content_text=task.content_text,
        sound_version=task.sound_version,
        language=task.language,
    )


def _record_send_failure(task: WorkedTask, exc: UpstreamError, now: datetime) -> None:
    if exc.kind == ErrorKind.REJECTED:
        # The service certainly made nothing of it: the person fixes the input and sends it again.
        _finish(task, Status.REFUSED, error=exc.message)
    elif exc.kind == ErrorKind.BUSY and task.send_attempts < MAX_SEND_ATTEMPTS:
        task.status = Status.RETRYING
        task.error = ""
        task.next_poll_at = now + _backoff(task.send_attempts)
    elif exc.kind in (ErrorKind.UNCERTAIN, ErrorKind.BAD_RESPONSE):
        # The request reached the service; with no idempotency key we must not resend it on our own.
        task.status = Status.UNCERTAIN
        task.error = MESSAGE_UNCERTAIN
        task.next_poll_at = None
    elif exc.kind == ErrorKind.CREDENTIALS:
        task.status = Status.NOT_SENT
        task.error = MESSAGE_CREDENTIALS
        task.next_poll_at = None
    elif exc.kind == ErrorKind.BUSY:
        task.status = Status.NOT_SENT
        task.error = MESSAGE_BUSY_GAVE_UP
        task.next_poll_at = None
    else:
        task.status = Status.NOT_SENT
        task.error = MESSAGE_NOT_SENT
        task.next_poll_at = None


def _record_copy_failure(task: WorkedTask, exc: Exception, duration_ms: int) -> None:
    status_code = exc.status_code if isinstance(exc, UpstreamError) else None
    _record_event(task, TaskEvent.Kind.COPY, status_code, str(getattr(exc, "message", exc)), duration_ms)
    if task.audio_copy_attempts >= MAX_COPY_ATTEMPTS:
        # The player keeps using the service's link for as long as that works.
        logger.error("preview copy given up task=%s attempts=%s", task.pk, task.audio_copy_attempts)
        task.audio_copy_next_at = None
    else:
        task.audio_copy_next_at = timezone.now() + _copy_backoff(task.audio_copy_attempts)
        logger.warning("preview copy failed task=%s error=%s; will try again", task.pk, exc)
    type(task)._default_manager.filter(pk=task.pk).update(
        audio_copy_attempts=task.audio_copy_attempts, audio_copy_next_at=task.audio_copy_next_at
    )


# What staff are told while status checks keep failing, by what went wrong (the service's own words follow).
CHECK_PROBLEMS = {
    ErrorKind.BUSY: gettext_noop("The voice service is busy or having trouble."),
    ErrorKind.CREDENTIALS: gettext_noop(
        "The voice service refused our credentials: tell your administrator."
    ),
    ErrorKind.BAD_RESPONSE: gettext_noop("The voice service sent an answer we could not read."),
    ErrorKind.NOT_SENT: gettext_noop("We could not reach the voice service."),
    ErrorKind.UNCERTAIN: gettext_noop("The voice service did not answer in time."),
    ErrorKind.REJECTED: gettext_noop("The voice service refused the status check."),
}


def _record_poll_failure(task: WorkedTask, exc: UpstreamError, now: datetime) -> None:
    if exc.kind == ErrorKind.NOT_FOUND:
        logger.warning("task unknown to the service task=%s upstream_id=%s", task.pk, task.upstream_id)
        _finish(task, Status.FAILED, error=MESSAGE_NOT_FOUND)
        return
    task.failed_polls += 1
    task.checks_failing_since = task.checks_failing_since or now
    task.check_problem = CHECK_PROBLEMS.get(exc.kind, CHECK_PROBLEMS[ErrorKind.BAD_RESPONSE])
    said = getattr(exc, "service_said", "") or (f"HTTP {exc.status_code}" if exc.status_code else "")
    task.check_problem_detail = said[:300]
    task.next_poll_at = now + _backoff(task.failed_polls)
    logger.warning("task poll failed task=%s kind=%s status=%s", task.pk, exc.kind, exc.status_code)


def _apply_hard_limit(task: WorkedTask, now: datetime) -> bool:
    """Mark a sent task failed once it has run past the hard limit, whatever its last check said."""
    if task.status not in CloneTask.SENT_STATUSES or now < task.gives_up_at:
        return False
    logger.warning("task given up after the hard limit task=%s", task.pk)
    _finish(task, Status.FAILED, error=MESSAGE_TOO_LONG)
    task.checks_failing_since = None
    return True


def _apply_remote(task: WorkedTask, remote: RemoteTask, now: datetime) -> None:
    """Record what the service said about the task."""
    if not remote.is_known_status and remote.raw_status != task.upstream_status:
        logger.warning(
            "unknown service status %r task=%s: treated as still running", remote.raw_status, task.pk
        )
    task.upstream_status = remote.raw_status
    task.last_response = remote.raw
    if remote.status == Status.COMPLETED and isinstance(task, SpeechTask):
        has_subtitles = bool(remote.subtitle_url) or not task.wants_subtitles
        # Subtitles that never come must not cost the audio (a paid generation that made the voice permanent):
        # after a few more asks, the speech completes without them and says so.
        gives_up_on_subtitles = task.incomplete_results + 1 >= MAX_INCOMPLETE_RESULTS
        if remote.audio_url and (has_subtitles or gives_up_on_subtitles):
            task.audio_url = remote.audio_url
            task.subtitle_url = remote.subtitle_url
            task.audio_copy_next_at = now
            _finish(task, Status.COMPLETED, error="" if has_subtitles else MESSAGE_NO_SUBTITLES)
            _make_voice_permanent(task, now)
            return
        task.incomplete_results += 1
        if task.incomplete_results >= MAX_INCOMPLETE_RESULTS:
            _finish(task, Status.FAILED, error=MESSAGE_NO_SPEECH_AUDIO)
            return
        task.status = Status.PROCESSING
    elif remote.status == Status.COMPLETED:
        if remote.model_id and remote.audio_url:
            task.model_id = remote.model_id
            task.audio_url = remote.audio_url
            task.audio_copy_next_at = now
            _finish(task, Status.COMPLETED)
            return
        task.incomplete_results += 1
        if task.incomplete_results >= MAX_INCOMPLETE_RESULTS:
            _finish(task, Status.FAILED, error=MESSAGE_NO_PREVIEW)
            return
        task.status = Status.PROCESSING
    elif remote.status == Status.FAILED:
        no_reason = MESSAGE_NO_SPEECH_REASON if isinstance(task, SpeechTask) else MESSAGE_NO_REASON
        _finish(task, Status.FAILED, error=remote.error or no_reason)
        return
    else:
        task.status = remote.status
    task.next_poll_at = now + _poll_delay(task, now)


def _finish(task: WorkedTask, status: CloneTask.Status, *, error: str = "") -> None:
    task.status = status
    task.error = error
    task.finished_at = timezone.now()
    task.next_poll_at = None
    logger.info("task finished task=%s status=%s", task.pk, status)


def _poll_delay(task: WorkedTask, now: datetime) -> timedelta:
    """Every 5 s while a task is young (the contract's pace), then less often as it ages."""
    base = settings.SOUNDCLONE_POLL_INTERVAL
    age = now - (task.sent_at or task.created_at)
    if age < timedelta(minutes=2):
        factor = 1
    elif age < timedelta(minutes=10):
        factor = 2
    elif age < timedelta(hours=1):
        factor = 6
    else:
        factor = 12
    return timedelta(seconds=base * factor)


def _claim_lease() -> timedelta:
    """While a poller works on a task it holds it this long; a poller that dies lets the lease run out."""
    return timedelta(seconds=settings.SOUNDCLONE_POLL_LEASE_SECONDS)


def _copy_backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 6 h: a storage hiccup heals fast, an outage may take hours."""
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), timedelta(hours=6))


def _backoff(failures: int) -> timedelta:
    """Exponential backoff after a busy or unreadable answer, capped at MAX_POLL_DELAY."""
    delay = timedelta(seconds=settings.SOUNDCLONE_POLL_INTERVAL * 2 ** max(failures, 1))
    return min(delay, MAX_POLL_DELAY)


def _record_event(
    task: WorkedTask, kind: str, http_status: int | None, outcome: str, duration_ms: int
) -> None:
    voice = task
    if isinstance(task, SpeechTask):
        # Speech exchanges go in their voice's history (and so count for the refused-key banner).
        voice = task.voice
        outcome = f"speech #{task.pk}: {outcome}"
    TaskEvent.objects.create(
        task=voice, kind=kind, http_status=http_status, outcome=outcome[:200], duration_ms=duration_ms
    )


# --- Staff workflow: details, archive, both versions (issue 4) ----------------------------------------------

# The second task of a "both versions" pair gets a token derived from the form's, so that a resent form finds
# both tasks it made (and makes only the one that is missing).
SECOND_VERSION_NAMESPACE_NAME = "second-version"


class DuplicatePairSubmission(Exception):
    """This "both versions" form was already submitted: the tasks it created are attached."""

    def __init__(self, tasks: tuple[CloneTask, CloneTask]) -> None:
        super().__init__(f"form already submitted as tasks {tasks[0].pk} and {tasks[1].pk}")
        self.tasks = tasks


def task_update_details(*, task: CloneTask, user: AbstractBaseUser, name: str, notes: str) -> bool:
    """Rename a task and replace its notes (nothing else is editable); False when nothing changed."""
    name = name.strip()
    if not name:
        raise ValueError("a task needs a name")
    old_name, old_notes = task.name, task.notes
    if old_name == name and old_notes == notes:
        return False
    task.name = name
    task.notes = notes
    task.save(update_fields=["name", "notes", "updated_at"])
    if old_name != name:
        _record_change(task, user, TaskChange.Action.RENAMED, detail=old_name)
    if old_notes != notes:
        _record_change(task, user, TaskChange.Action.NOTES, detail=old_notes)
    logger.info("task details edited task=%s by=%s", task.pk, user.pk)
    return True


def task_archive(*, task: CloneTask, user: AbstractBaseUser) -> bool:
    """Take a task off the default list (nothing is deleted); False when it was archived already."""
    now = timezone.now()
    # Conditional, so that two clicks (or two people) archive it once and the first archiver is kept.
    archived = CloneTask.objects.filter(pk=task.pk, archived_at__isnull=True).update(
        archived_at=now, archived_by=user, updated_at=now
    )
    task.refresh_from_db(fields=["archived_at", "archived_by", "updated_at"])
    if archived:
        _record_change(task, user, TaskChange.Action.ARCHIVED)
        logger.info("task archived task=%s by=%s", task.pk, user.pk)
    return bool(archived)


def task_restore(*, task: CloneTask, user: AbstractBaseUser) -> bool:
    """Put an archived task back on the list; False when it was not archived."""
    now = timezone.now()
    restored = CloneTask.objects.filter(pk=task.pk, archived_at__isnull=False).update(
        archived_at=None, archived_by=None, updated_at=now
    )
    task.refresh_from_db(fields=["archived_at", "archived_by", "updated_at"])
    if restored:
        _record_change(task, user, TaskChange.Action.RESTORED)
        logger.info("task restored task=%s by=%s", task.pk, user.pk)
    return bool(restored)


def _record_change(task: CloneTask, user: AbstractBaseUser | None, action: str, *, detail: str = "") -> None:
    TaskChange.objects.create(task=task, by=user, action=action, detail=detail)


def second_version_token(form_token: uuid.UUID) -> uuid.UUID:
    """The form token of the v2 task of a pair, derived from the form's own (the v1 task's)."""
    return uuid.uuid5(form_token, SECOND_VERSION_NAMESPACE_NAME)


def task_submit_both_versions(
    *,
    user: AbstractBaseUser | None,
    name: str,
    file_url: str,
    language: str,
    form_token: uuid.UUID,
    content_text: str = "",
    notes: str = "",
    consent_text: str = "",
    clip: Clip | None = None,
    clip_start: float | None = None,
    clip_end: float | None = None,
) -> tuple[CloneTask, CloneTask]:
    """Store one clip for model v1 and model v2 as a pair of tasks; returns (v1 task, v2 task).

    Raises DuplicatePairSubmission when this form made both tasks already.
    """
    if not (languages.is_supported("v1", language) and languages.is_supported("v2", language)):
        raise ValueError(f"{language!r} is not offered by both model versions")
    common = {
        "user": user,
        "name": name,
        "file_url": file_url,
        "language": language,
        "content_text": content_text,
        "notes": notes,
        "consent_text": consent_text,
        "pair_token": form_token,
        "clip": clip,
        "clip_start": clip_start,
        "clip_end": clip_end,
    }
    tasks: list[CloneTask] = []
    duplicates = 0
    for version, token in (("v1", form_token), ("v2", second_version_token(form_token))):
        try:
            task = task_submit(sound_version=version, form_token=token, **common)
        except DuplicateSubmission as exc:
            task = exc.task
            duplicates += 1
        tasks.append(task)
    first, second = tasks
    if duplicates == 2:
        raise DuplicatePairSubmission((first, second))
    return first, second


# --- Speech with a cloned voice, and keeping voices (issue 12) ----------------------------------------------

# "Keep this voice" speaks one short sentence in the voice's own language; others fall back to English.
KEEP_ALIVE_SENTENCES = {
    "Chinese": "你好，这是我的声音。",
    "Chinese,Yue": "你好，呢個係我嘅聲音。",
    "English": "Hello, this is my voice.",
    "Japanese": "こんにちは、これは私の声です。",
    "Korean": "안녕하세요, 제 목소리입니다.",
    "Spanish": "Hola, esta es mi voz.",
    "French": "Bonjour, voici ma voix.",
    "German": "Hallo, das ist meine Stimme.",
    "Portuguese": "Olá, esta é a minha voz.",
    "Italian": "Ciao, questa è la mia voce.",
    "Russian": "Здравствуйте, это мой голос.",
}
# What the reminder is about: a voice lapsing within this long (the list's "expiring soon").
REMINDER_BEFORE = timedelta(hours=24)
# A subtitle file is JSON timings (or whatever the service sends): kept with the extension it reads as.
SUBTITLE_EXTENSIONS = {"application/json": "json", "text/vtt": "vtt", "application/x-subrip": "srt"}


class VoiceUnavailable(Exception):
    """The voice cannot speak: not completed, no modelId, or its modelId has lapsed."""


class DuplicateSpeechSubmission(Exception):
    """This speech form was already submitted: the speech task it created is attached."""

    def __init__(self, task: SpeechTask) -> None:
        super().__init__(f"form already submitted as speech task {task.pk}")
        self.task = task


def speech_submit(
    *,
    user: AbstractBaseUser | None,
    voice: CloneTask,
    text: str,
    sound_version: str,
    language: str,
    emotion: str,
    speed: Decimal,
    volume: Decimal,
    pitch: int,
    subtitles: str,
    form_token: uuid.UUID | None,
    is_keep_alive: bool = False,
) -> SpeechTask:
    """Store a speech task for the worker to send at once (as task_submit does for clones).

    Raises VoiceUnavailable when the voice cannot speak, DuplicateSpeechSubmission for a resent form.
    """
    if not voice.can_generate_speech:
        raise VoiceUnavailable(f"voice {voice.pk} cannot generate speech")
    try:
        with transaction.atomic():
            task = SpeechTask.objects.create(
                voice=voice,
                content_text=text,
                sound_version=sound_version,
                language=language,
                emotion=emotion,
                speed=speed,
                volume=volume,
                pitch=pitch,
                subtitles=subtitles,
                is_keep_alive=is_keep_alive,
                submitted_by=user,
                form_token=form_token,
                status=Status.SUBMITTING,
                next_poll_at=timezone.now(),
            )
    except IntegrityError as exc:
        existing = SpeechTask.objects.filter(form_token=form_token).first() if form_token else None
        if existing is None:
            raise
        raise DuplicateSpeechSubmission(existing) from exc
    logger.info("speech stored for sending speech=%s voice=%s", task.pk, voice.pk)
    return task


def voice_keep_alive(*, voice: CloneTask, user: AbstractBaseUser) -> SpeechTask:
    """ "Keep this voice": one short generation in the voice's language, which makes it permanent once it
    completes. A second click while one is on its way (or done) returns that one: it is paid for once."""
    existing = (
        voice.speech_tasks.filter(is_keep_alive=True)
        .exclude(status__in=[Status.FAILED, Status.REFUSED, Status.NOT_SENT])
        .first()
    )
    if existing is not None:
        return existing
    return speech_submit(
        user=user,
        voice=voice,
        text=KEEP_ALIVE_SENTENCES.get(voice.language, KEEP_ALIVE_SENTENCES["English"]),
        sound_version=voice.sound_version,
        language=voice.language,
        emotion=DEFAULT_EMOTION,
        speed=DEFAULT_SPEED,
        volume=DEFAULT_VOLUME,
        pitch=DEFAULT_PITCH,
        subtitles=SpeechTask.Subtitles.NONE,
        form_token=None,
        is_keep_alive=True,
    )


def voice_mark_in_use(*, voice: CloneTask, user: AbstractBaseUser) -> bool:
    """Record that someone used the voice in another tool: its countdown stops. False if it cannot be
    marked (marked already, kept for good, not completed, or lapsed already)."""
    if not voice.can_generate_speech or voice.is_kept:
        return False
    now = timezone.now()
    marked = CloneTask.objects.filter(
        pk=voice.pk, marked_in_use_at__isnull=True, permanent_at__isnull=True
    ).update(marked_in_use_at=now, marked_in_use_by=user, updated_at=now)
    voice.refresh_from_db(fields=["marked_in_use_at", "marked_in_use_by", "updated_at"])
    if marked:
        _record_change(voice, user, TaskChange.Action.MARKED_IN_USE)
        logger.info("voice marked as in use task=%s by=%s", voice.pk, user.pk)
    return bool(marked)


def _make_voice_permanent(task: SpeechTask, now: datetime) -> None:
    """The first completed generation keeps the voice for good (the service's rule); later ones change
    nothing."""
    if CloneTask.objects.filter(pk=task.voice_id, permanent_at__isnull=True).update(
        permanent_at=now, updated_at=now
    ):
        logger.info("voice made permanent task=%s by speech=%s", task.voice_id, task.pk)


def speech_claim_next(*, now: datetime | None = None) -> SpeechTask | None:
    """Claim the most overdue speech send or status query, or return None when nothing is due."""
    due = SpeechTask.objects.filter(status__in=CloneTask.POLLED_STATUSES)
    return _claim(due, "next_poll_at", now or timezone.now())


def speech_claim_next_copy(*, now: datetime | None = None) -> SpeechTask | None:
    """Claim the completed speech task whose audio copy is most overdue, or return None."""
    return _claim(SpeechTask.objects.all(), "audio_copy_next_at", now or timezone.now())


def _copy_files(task: WorkedTask) -> bool:
    if isinstance(task, SpeechTask):
        return speech_copy_files(task=task)
    return task_copy_preview(task=task)


def speech_copy_files(*, task: SpeechTask) -> bool:
    """Copy a completed speech task's audio (and subtitle file) into our storage; retry later on failure."""
    if not task.is_completed or not task.audio_url:
        return False
    needs_audio = not task.audio_file
    needs_subtitles = bool(task.subtitle_url) and not task.subtitle_file
    if not needs_audio and not needs_subtitles:
        return False
    task.audio_copy_attempts += 1
    started = time.monotonic()
    stored: dict[str, str] = {}
    size = 0
    try:
        if needs_audio:
            audio = client.download_preview(task.audio_url)
            extension = client.AUDIO_CONTENT_TYPES[audio.content_type]
            stored["audio_file"] = _store_whole(f"speech/speech-{task.pk}.{extension}", audio.content)
            size += len(audio.content)
        if needs_subtitles:
            subtitles = client.download_subtitles(task.subtitle_url)
            extension = SUBTITLE_EXTENSIONS.get(subtitles.content_type, "txt")
            stored["subtitle_file"] = _store_whole(f"speech/speech-{task.pk}.{extension}", subtitles.content)
            size += len(subtitles.content)
    except (UpstreamError, OSError) as exc:
        if stored:
            SpeechTask.objects.filter(pk=task.pk).update(**stored)
            for name, value in stored.items():
                getattr(task, name).name = value
        _record_copy_failure(task, exc, int((time.monotonic() - started) * 1000))
        return False
    for name, value in stored.items():
        getattr(task, name).name = value
    task.audio_copy_next_at = None
    SpeechTask.objects.filter(pk=task.pk).update(
        **stored, audio_copy_attempts=task.audio_copy_attempts, audio_copy_next_at=None
    )
    duration_ms = int((time.monotonic() - started) * 1000)
    _record_event(task, TaskEvent.Kind.COPY, 200, f"{size} bytes", duration_ms)
    logger.info("speech copied speech=%s bytes=%s duration_ms=%s", task.pk, size, duration_ms)
    return True


def speech_file_missing(*, task: SpeechTask, field_name: str) -> None:
    """Our copy of a speech file is gone: copy it again from the service."""
    file = getattr(task, field_name)
    logger.error("archived speech file missing speech=%s file=%s; copying it again", task.pk, file.name)
    SpeechTask.objects.filter(pk=task.pk, **{field_name: file.name}).update(
        **{field_name: ""}, audio_copy_attempts=0, audio_copy_next_at=timezone.now()
    )
    file.name = ""


def voice_send_reminders(*, now: datetime | None = None) -> int:
    """Email each submitter whose unused voice lapses within a day, once per voice; returns how many went.

    Does nothing unless email is configured (EMAIL_URL, or the console in demo mode).
    """
    if not settings.EMAIL_CONFIGURED:
        return 0
    now = now or timezone.now()
    due = (
        CloneTask.objects.expiring_soon(now)
        .filter(reminder_sent_at__isnull=True, archived_at__isnull=True, submitted_by__isnull=False)
        .exclude(submitted_by__email="")
        .select_related("submitted_by")
    )
    sent = 0
    for voice in due[:100]:
        # Claimed first, so that two pollers never send the same reminder.
        if not CloneTask.objects.filter(pk=voice.pk, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        ):
            continue
        try:
            _send_reminder(voice)
        except Exception:
            # Not sent after all: the next pass tries again.
            logger.exception("reminder email failed task=%s", voice.pk)
            CloneTask.objects.filter(pk=voice.pk).update(reminder_sent_at=None)
            continue
        sent += 1
        logger.info("reminder sent task=%s to=%s", voice.pk, voice.submitted_by_id)
    return sent


def _send_reminder(voice: CloneTask) -> None:
    user = voice.submitted_by
    # The studio does not know each person's language: the email is in both (the template has each).
    context = {
        "voice": voice,
        "voice_url": settings.STUDIO_BASE_URL.rstrip("/") + voice.get_absolute_url(),
        "expires_at": voice.model_id_expires_at,
    }
    with translation.override("zh-hans"):
        context["lifetime_zh"] = time_left_words(MODEL_ID_LIFETIME)
    # Times in the person's own zone, as on their pages (the site's zone if they stored none).
    with translation.override("en"), timezone.override(local_time.zone_of(user)):
        context["lifetime"] = time_left_words(MODEL_ID_LIFETIME)
        body = render_to_string("clones/speech_reminder_email.txt", context)
    subject = f"SoundClone Studio: “{voice.name}” lapses within a day unless it is used"
    send_mail(" ".join(subject.split())[:200], body, None, [user.email])
