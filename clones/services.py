"""The one write path for clone tasks: views and the poller call these, and only these call the client."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from clones import client, languages
from clones.client import ErrorKind, RemoteTask, UpstreamError
from clones.models import CloneTask, TaskEvent

logger = logging.getLogger(__name__)

Status = CloneTask.Status

# A busy service (429/5xx) gets this many tries in all before the task is left for a person to resend.
MAX_SEND_ATTEMPTS = 4
# A task found "completed" without its preview or modelId this many times is given up on.
MAX_INCOMPLETE_RESULTS = 3
# A preview copy that keeps failing is tried this many times (over about a day) before we give up on it.
MAX_COPY_ATTEMPTS = 12
# A request in flight for longer than this means the process sending it died: we cannot know the outcome.
STALE_SUBMISSION_AFTER = timedelta(minutes=2)
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
MESSAGE_TOO_LONG = gettext_noop(
    "The voice service did not finish this task within the time limit, so we stopped waiting."
)


class SubmissionRejected(Exception):
    """The service refused the input (400/422); its message belongs beside the form. Nothing was stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DuplicateSubmission(Exception):
    """This form was already submitted: the task it created is attached."""

    def __init__(self, task: CloneTask) -> None:
        super().__init__(f"form already submitted as task {task.pk}")
        self.task = task


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
) -> CloneTask:
    """Store a new task and send it to the service; raises SubmissionRejected or DuplicateSubmission."""
    now = timezone.now()
    try:
        # Stored before sending, so that a crash or timeout mid-request never loses the user's task.
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
                status=Status.SUBMITTING,
            )
    except IntegrityError as exc:
        existing = CloneTask.objects.filter(form_token=form_token).first()
        if existing is None:
            raise
        raise DuplicateSubmission(existing) from exc
    logger.info("task submitted task=%s version=%s language=%s", task.pk, sound_version, language)
    failure = _send(task)
    if failure is not None and failure.kind == ErrorKind.REJECTED:
        # The service certainly made nothing of it: the user corrects the form and the token can be reused.
        task.delete()
        raise SubmissionRejected(failure.message)
    return task


def task_resend(*, task: CloneTask) -> bool:
    """Send again a task a person chose to resend (not sent, or uncertain); False if it cannot be."""
    updated = CloneTask.objects.filter(pk=task.pk, status__in=CloneTask.ATTENTION_STATUSES).update(
        status=Status.SUBMITTING, error="", send_attempts=0, updated_at=timezone.now()
    )
    if not updated:
        return False
    task.refresh_from_db()
    logger.info("task resend requested task=%s", task.pk)
    failure = _send(task)
    if failure is not None and failure.kind == ErrorKind.REJECTED:
        _finish(task, Status.FAILED, error=failure.message)
        task.save()
    return True


def task_refresh(*, task: CloneTask) -> None:
    """Do the task's due upstream work: query its status, or resend it after the service was busy."""
    now = timezone.now()
    if task.status == Status.RETRYING:
        failure = _send(task)
        if failure is not None and failure.kind == ErrorKind.REJECTED:
            _finish(task, Status.FAILED, error=failure.message)
            task.save()
        return
    if task.status not in (Status.QUEUED, Status.PROCESSING):
        return
    task.last_polled_at = now
    task.poll_count += 1
    try:
        remote = client.get_task(task.upstream_id)
    except UpstreamError as exc:
        _record_event(task, TaskEvent.Kind.POLL, exc.status_code, str(exc.kind), 0)
        _record_poll_failure(task, exc, now)
        task.save()
        return
    _record_event(task, TaskEvent.Kind.POLL, remote.http_status, remote.raw_status, remote.duration_ms)
    task.failed_polls = 0
    _apply_remote(task, remote, now)
    if not task.is_finished and now - _started_at(task) > timedelta(
        seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT
    ):
        logger.warning("task given up after the hard limit task=%s", task.pk)
        _finish(task, Status.FAILED, error=MESSAGE_TOO_LONG)
    task.save()
    if task.status == Status.COMPLETED:
        # The service's link may expire within a day: keep our own copy from the first moment.
        task_copy_preview(task=task)


def task_claim_next(*, now: datetime | None = None) -> CloneTask | None:
    """Claim the most overdue task for this poller, or return None when nothing is due."""
    due = CloneTask.objects.filter(status__in=CloneTask.POLLED_STATUSES)
    return _claim(due, "next_poll_at", now or timezone.now())


def task_copy_preview(*, task: CloneTask) -> bool:
    """Copy a completed task's preview audio into our storage; on failure, schedule another try."""
    if task.status != Status.COMPLETED or task.audio_file or not task.audio_url:
        return False
    task.audio_copy_attempts += 1
    started = time.monotonic()
    try:
        audio = client.download_preview(task.audio_url)
        extension = client.AUDIO_CONTENT_TYPES[audio.content_type]
        name = default_storage.save(f"previews/task-{task.pk}.{extension}", ContentFile(audio.content))
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


def task_claim_next_copy(*, now: datetime | None = None) -> CloneTask | None:
    """Claim the completed task whose preview copy is most overdue, or return None."""
    return _claim(CloneTask.objects.all(), "audio_copy_next_at", now or timezone.now())


def _claim(candidates: QuerySet[CloneTask], due_field: str, now: datetime) -> CloneTask | None:
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
        # Two pollers racing for one row run the same conditional UPDATE; the database applies them one
        # after the other and the second matches no row, so it tries the next candidate. A poller killed
        # mid-task leaves a lease that simply runs out, and the row is due again.
        claimed = CloneTask.objects.filter(pk=pk, **{due_field: due_at}).update(
            **{due_field: now + _claim_lease()}
        )
        if claimed:
            return CloneTask.objects.get(pk=pk)
    return None


def task_sweep_stale_submissions(*, now: datetime | None = None) -> int:
    """Mark as uncertain the submissions whose sending process died mid-request; returns how many."""
    now = now or timezone.now()
    return CloneTask.objects.filter(
        status=Status.SUBMITTING, updated_at__lt=now - STALE_SUBMISSION_AFTER
    ).update(status=Status.UNCERTAIN, error=MESSAGE_UNCERTAIN, updated_at=now)


def _send(task: CloneTask) -> UpstreamError | None:
    """Send the task's create request and record the outcome on it; returns the failure, if any."""
    now = timezone.now()
    task.send_attempts += 1
    try:
        remote = client.create_clone(
            file_url=task.file_url,
            content_text=task.content_text,
            sound_version=task.sound_version,
            language=task.language,
        )
    except UpstreamError as exc:
        logger.warning("task send failed task=%s kind=%s status=%s", task.pk, exc.kind, exc.status_code)
        if exc.kind != ErrorKind.REJECTED:
            _record_send_failure(task, exc, now)
            task.save()
            _record_event(task, TaskEvent.Kind.SEND, exc.status_code, str(exc.kind), 0)
        return exc
    task.upstream_id = remote.id
    task.sent_at = now
    task.error = ""
    _apply_remote(task, remote, now)
    task.save()
    _record_event(task, TaskEvent.Kind.SEND, remote.http_status, remote.raw_status, remote.duration_ms)
    logger.info("task accepted task=%s upstream_id=%s status=%s", task.pk, remote.id, remote.raw_status)
    return None


def _record_send_failure(task: CloneTask, exc: UpstreamError, now: datetime) -> None:
    if exc.kind == ErrorKind.BUSY and task.send_attempts < MAX_SEND_ATTEMPTS:
        task.status = Status.RETRYING
        task.error = ""
        task.next_poll_at = now + _backoff(task.send_attempts)
    elif exc.kind in (ErrorKind.UNCERTAIN, ErrorKind.BAD_RESPONSE):
        # The request reached the service; with no idempotency key we must not resend it on our own.
        task.status = Status.UNCERTAIN
        task.error = MESSAGE_UNCERTAIN
    elif exc.kind == ErrorKind.CREDENTIALS:
        task.status = Status.NOT_SENT
        task.error = MESSAGE_CREDENTIALS
    elif exc.kind == ErrorKind.BUSY:
        task.status = Status.NOT_SENT
        task.error = MESSAGE_BUSY_GAVE_UP
    else:
        task.status = Status.NOT_SENT
        task.error = MESSAGE_NOT_SENT


def _record_copy_failure(task: CloneTask, exc: Exception, duration_ms: int) -> None:
    status_code = exc.status_code if isinstance(exc, UpstreamError) else None
    _record_event(task, TaskEvent.Kind.COPY, status_code, str(getattr(exc, "message", exc)), duration_ms)
    if task.audio_copy_attempts >= MAX_COPY_ATTEMPTS:
        # The player keeps using the service's link for as long as that works.
        logger.error("preview copy given up task=%s attempts=%s", task.pk, task.audio_copy_attempts)
        task.audio_copy_next_at = None
    else:
        task.audio_copy_next_at = timezone.now() + _copy_backoff(task.audio_copy_attempts)
        logger.warning("preview copy failed task=%s error=%s; will try again", task.pk, exc)
    CloneTask.objects.filter(pk=task.pk).update(
        audio_copy_attempts=task.audio_copy_attempts, audio_copy_next_at=task.audio_copy_next_at
    )


def _record_poll_failure(task: CloneTask, exc: UpstreamError, now: datetime) -> None:
    if exc.kind == ErrorKind.NOT_FOUND:
        logger.warning("task unknown to the service task=%s upstream_id=%s", task.pk, task.upstream_id)
        _finish(task, Status.FAILED, error=MESSAGE_NOT_FOUND)
        return
    task.failed_polls += 1
    task.next_poll_at = now + _backoff(task.failed_polls)
    logger.warning("task poll failed task=%s kind=%s status=%s", task.pk, exc.kind, exc.status_code)


def _apply_remote(task: CloneTask, remote: RemoteTask, now: datetime) -> None:
    """Record what the service said about the task."""
    if not remote.is_known_status and remote.raw_status != task.upstream_status:
        logger.warning(
            "unknown service status %r task=%s: treated as still running", remote.raw_status, task.pk
        )
    task.upstream_status = remote.raw_status
    task.last_response = remote.raw
    if remote.status == Status.COMPLETED:
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
        _finish(task, Status.FAILED, error=remote.error or MESSAGE_NO_REASON)
        return
    else:
        task.status = remote.status
    task.next_poll_at = now + _poll_delay(task, now)


def _finish(task: CloneTask, status: CloneTask.Status, *, error: str = "") -> None:
    task.status = status
    task.error = error
    task.finished_at = timezone.now()
    task.next_poll_at = None
    logger.info("task finished task=%s status=%s", task.pk, status)


def _started_at(task: CloneTask) -> datetime:
    return task.sent_at or task.created_at


def _poll_delay(task: CloneTask, now: datetime) -> timedelta:
    """Every 5 s while a task is young (the contract's pace), then less often as it ages."""
    base = settings.SOUNDCLONE_POLL_INTERVAL
    age = now - _started_at(task)
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
    task: CloneTask, kind: str, http_status: int | None, outcome: str, duration_ms: int
) -> None:
    TaskEvent.objects.create(
        task=task, kind=kind, http_status=http_status, outcome=outcome[:200], duration_ms=duration_ms
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


class SecondVersionRejected(Exception):
    """The service accepted the v1 task of a pair but refused the v2 one; the v1 task is attached."""

    def __init__(self, task: CloneTask, message: str) -> None:
        super().__init__(message)
        self.task = task
        self.message = message


def task_update_details(*, task: CloneTask, name: str, notes: str) -> bool:
    """Rename a task and replace its notes (nothing else is editable); False when nothing changed."""
    name = name.strip()
    if not name:
        raise ValueError("a task needs a name")
    if task.name == name and task.notes == notes:
        return False
    task.name = name
    task.notes = notes
    task.save(update_fields=["name", "notes", "updated_at"])
    logger.info("task details edited task=%s", task.pk)
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
        logger.info("task restored task=%s by=%s", task.pk, user.pk)
    return bool(restored)


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
) -> tuple[CloneTask, CloneTask]:
    """Submit one clip to model v1 and model v2 as a pair of tasks; returns (v1 task, v2 task).

    Raises SubmissionRejected when the service refuses the clip (nothing stored), SecondVersionRejected when
    only the v2 task was refused, and DuplicatePairSubmission when this form made both tasks already.
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
    }
    tasks: list[CloneTask] = []
    duplicates = 0
    for version, token in (("v1", form_token), ("v2", second_version_token(form_token))):
        try:
            task = task_submit(sound_version=version, form_token=token, **common)
        except DuplicateSubmission as exc:
            task = exc.task
            duplicates += 1
        except SubmissionRejected as exc:
            if not tasks:
                raise
            raise SecondVersionRejected(tasks[0], exc.message) from exc
        tasks.append(task)
    first, second = tasks
    CloneTask.objects.filter(pk__in=[first.pk, second.pk]).update(pair_token=form_token)
    first.pair_token = second.pair_token = form_token
    if duplicates == 2:
        raise DuplicatePairSubmission((first, second))
    return first, second
