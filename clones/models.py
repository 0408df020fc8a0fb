from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clones import languages

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# The service keeps an unused voice for 3 days after its preview; the first use makes it permanent.
MODEL_ID_LIFETIME = timedelta(days=3)
# A modelId this close to lapsing is highlighted and found by the "expiring soon" filter.
EXPIRING_SOON_WITHIN = timedelta(hours=24)
# Fields the list's search looks in: what staff remember a voice by, and what they paste from other tools.
SEARCHED_FIELDS = ("name", "notes", "model_id", "file_url", "clip_name", "content_text", "upstream_id")


class CloneTaskQuerySet(models.QuerySet):
    """The ways staff narrow the shared list down; the list page and the CSV export compose these."""

    def active(self) -> CloneTaskQuerySet:
        return self.filter(archived_at__isnull=True)

    def archived(self) -> CloneTaskQuerySet:
        return self.filter(archived_at__isnull=False)

    def search(self, text: str) -> CloneTaskQuerySet:
        """Every word must appear somewhere: name, notes, modelId, media URL, the clip's file name,
        preview text or service id."""
        queryset = self
        for word in text.split():
            matches = Q()
            for field in SEARCHED_FIELDS:
                matches |= Q(**{f"{field}__icontains": word})
            queryset = queryset.filter(matches)
        return queryset

    def expiring_soon(self, now: datetime) -> CloneTaskQuerySet:
        """Completed voices whose modelId lapses within EXPIRING_SOON_WITHIN and has not lapsed yet."""
        return (
            self.filter(
                status=CloneTask.Status.COMPLETED,
                finished_at__gt=now - MODEL_ID_LIFETIME,
                finished_at__lte=now - MODEL_ID_LIFETIME + EXPIRING_SOON_WITHIN,
            )
            .exclude(model_id="")
            .unkept()
        )

    def unkept(self) -> CloneTaskQuerySet:
        """Voices still counting down: not made permanent by a generation, not marked as used elsewhere.

        The query form of CloneTask.is_kept; the two must agree.
        """
        return self.filter(permanent_at__isnull=True, marked_in_use_at__isnull=True)

    def needs_attention(self, now: datetime) -> CloneTaskQuerySet:
        """Voices someone should look at: failed, refused, not sent, uncertain, checks failing, expiring soon.

        Nothing else will move these forward: each waits for someone to fix, resend, use or archive it.
        """
        Status = CloneTask.Status
        stuck = Q(status__in=[Status.FAILED, Status.REFUSED, *CloneTask.ATTENTION_STATUSES]) | Q(
            checks_failing_since__isnull=False, status__in=CloneTask.SENT_STATUSES
        )
        return self.filter(stuck) | self.expiring_soon(now)


def worker_indexes(prefix: str) -> list[models.Index]:
    """The two lookups poll_clones makes on a ServiceTask table, as partial indexes that stay small however
    many finished tasks pile up: due sends and status queries (`status IN (...) AND next_poll_at <= now`),
    and due copies of finished audio into our storage. (The statuses are ServiceTask.POLLED_STATUSES, written
    out in a fixed order for the migrations; a test checks that they agree.)"""
    return [
        models.Index(
            fields=["next_poll_at"],
            condition=Q(status__in=["submitting", "retrying", "queued", "processing"]),
            name=f"{prefix}_due_poll_idx",
        ),
        models.Index(
            fields=["audio_copy_next_at"],
            condition=Q(audio_copy_next_at__isnull=False),
            name=f"{prefix}_due_copy_idx",
        ),
    ]


class ServiceTask(models.Model):
    """What every task the worker carries to the service has: its status, the service's answer and the
    worker's bookkeeping. Voices (CloneTask) and speech (SpeechTask) share it, so that the worker claims,
    sends, polls and copies both with one code path (clones/services.py) and each status rule has one home.
    """

    class Status(models.TextChoices):
        # Ours: the request is stored and the worker is sending it, or it did not make it.
        SUBMITTING = "submitting", _("Sending…")
        RETRYING = "retrying", _("Not sent, the service is busy")
        NOT_SENT = "not_sent", _("Not sent")
        UNCERTAIN = "uncertain", _("Submission uncertain")
        # The service's four.
        QUEUED = "queued", _("Queued")
        PROCESSING = "processing", _("Processing")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        # Ours: the service refused the input (400/422); staff fix it and send it again.
        REFUSED = "refused", _("Refused by the service")

    # Nothing will change these on its own any more: browsers stop refreshing them and the worker leaves them
    # alone (a refused task changes again only when a person fixes and resends it).
    FINISHED_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.REFUSED})
    # The worker works on these: sending new tasks, resending after the service was busy, status queries.
    POLLED_STATUSES = frozenset({Status.SUBMITTING, Status.RETRYING, Status.QUEUED, Status.PROCESSING})
    # The service has the task: status queries are due, and the hard limit runs.
    SENT_STATUSES = frozenset({Status.QUEUED, Status.PROCESSING})
    # A person must decide what happens next (send again, or let it be).
    ATTENTION_STATUSES = frozenset({Status.NOT_SENT, Status.UNCERTAIN})
    # Rows a browser keeps refreshing from our database: exactly those the worker may still change.
    REFRESHED_STATUSES = POLLED_STATUSES

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTING)
    upstream_id = models.CharField(_("service task id"), max_length=128, blank=True, db_index=True)
    upstream_status = models.CharField(_("service status"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    last_response = models.JSONField(_("last service response"), null=True, blank=True)

    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("accepted by the service at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Worker bookkeeping.
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # Set while a create request is in flight. A worker that finds it set on a task it claims knows the
    # previous sender died mid-request, so the outcome is unknown: the task becomes "uncertain", never resent.
    send_started_at = models.DateTimeField(null=True, blank=True)
    # While status checks keep failing: since when, what went wrong (a message id, translated when shown) and
    # what the service itself answered (its own words, sanitised by the client).
    checks_failing_since = models.DateTimeField(null=True, blank=True)
    check_problem = models.CharField(max_length=200, blank=True)
    check_problem_detail = models.CharField(max_length=300, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    send_attempts = models.PositiveIntegerField(default=0)
    failed_polls = models.PositiveIntegerField(default=0)
    incomplete_results = models.PositiveIntegerField(default=0)
    audio_copy_attempts = models.PositiveIntegerField(default=0)
    audio_copy_next_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @property
    def is_refreshed(self) -> bool:
        return self.status in self.REFRESHED_STATUSES

    @property
    def needs_attention(self) -> bool:
        return self.status in self.ATTENTION_STATUSES

    @property
    def is_completed(self) -> bool:
        return self.status == self.Status.COMPLETED

    @property
    def is_sending(self) -> bool:
        return self.status == self.Status.SUBMITTING

    @property
    def is_uncertain(self) -> bool:
        return self.status == self.Status.UNCERTAIN

    @property
    def is_refused(self) -> bool:
        return self.status == self.Status.REFUSED

    @property
    def are_checks_failing(self) -> bool:
        return self.checks_failing_since is not None and self.status in self.SENT_STATUSES

    @property
    def gives_up_at(self) -> datetime:
        """When the worker stops waiting for the service and marks the task failed (the hard limit)."""
        return (self.sent_at or self.created_at) + timedelta(seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT)

    @property
    def run_time(self) -> timedelta:
        end = self.finished_at or timezone.now()
        return max(end - self.created_at, timedelta(0))

    @property
    def language_label(self) -> str:
        return languages.label_of(self.language)

    def _player_url(self, our_copy_route: str) -> str:
        """Our copy once archived (served to signed-in users: the service's link may have expired), else the
        service's link while it works. Only an http(s) link is ever given out: it ends up in a page's src."""
        if not self.is_completed:
            return ""
        if self.audio_file:
            return reverse(our_copy_route, args=[self.pk])
        if not self.audio_url.lower().startswith(("https://", "http://")):
            return ""
        return self.audio_url


class CloneTask(ServiceTask):
    """One voice-clone preview: what a staff member asked for, and what the service made of it."""

    name = models.CharField(_("name"), max_length=120)
    notes = models.TextField(_("notes"), blank=True)
    # The link staff gave; empty when the clip came from a file or a recording (see `clip`).
    file_url = models.CharField(_("media URL"), max_length=2048, blank=True)
    content_text = models.TextField(_("preview text"), blank=True)
    sound_version = models.CharField(_("model version"), max_length=2)
    language = models.CharField(_("language"), max_length=32)

    # The clip as checked before sending (issue 11): where it came from and what the check measured. A task
    # from before checks, or a link sent without checking, has no Clip and empty figures.
    clip = models.ForeignKey(
        "Clip", verbose_name=_("clip"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    clip_source = models.CharField(_("clip source"), max_length=16, blank=True)
    clip_name = models.CharField(_("clip"), max_length=2048, blank=True)
    clip_seconds = models.FloatField(_("clip length (s)"), null=True, blank=True)
    clip_speech_seconds = models.FloatField(_("speech in the clip (s)"), null=True, blank=True)
    # The part of the clip chosen to send, in seconds from its start (None: all of it).
    clip_start = models.FloatField(null=True, blank=True)
    clip_end = models.FloatField(null=True, blank=True)
    # The file the service was given a link to, when the studio hosts it (an upload, a recording, a cut or
    # converted clip); written by the worker just before it sends.
    clip_file = models.FileField(_("clip sent"), upload_to="clips/sent/", blank=True, max_length=300)

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clone_tasks",
    )
    consent_text = models.TextField(_("consent confirmed"), blank=True)
    consent_confirmed_at = models.DateTimeField(_("consent confirmed at"), null=True, blank=True)
    # One per rendered form: the unique constraint turns a double click or a resent form into one task.
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    model_id = models.CharField(_("modelId"), max_length=128, blank=True)
    audio_url = models.TextField(_("service preview URL"), blank=True)
    audio_file = models.FileField(_("archived preview"), upload_to="previews/", blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("archived by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # "Clone with both versions" makes two tasks from one form: both carry that form's token here, so
    # either task can find its twin for the side-by-side comparison.
    pair_token = models.UUIDField(null=True, blank=True, editable=False)

    # Keeping the voice (issue 12). The service keeps a modelId for good once it is used to generate speech:
    # set when the first speech task with it completes (not when one is sent: it could still fail).
    permanent_at = models.DateTimeField(_("permanent since"), null=True, blank=True)
    # "Mark as in use": someone says another tool used the voice; the studio cannot check it.
    marked_in_use_at = models.DateTimeField(_("marked as in use at"), null=True, blank=True)
    marked_in_use_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked as in use by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # When the submitter was emailed that the voice lapses within a day (sent once).
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)

    objects = CloneTaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("clone task")
        verbose_name_plural = _("clone tasks")
        indexes = [
            *worker_indexes("clonetask"),
            # The list's default view (not archived, newest or oldest first) reads a page straight off this
            # index, however many tasks there are; SQLite and PostgreSQL both walk it in either direction.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(archived_at__isnull=True),
                name="clonetask_active_list_idx",
            ),
            # The list's "Mine" and status filters, still in date order.
            models.Index(fields=["submitted_by", "created_at"], name="clonetask_submitter_list_idx"),
            models.Index(fields=["status", "created_at"], name="clonetask_status_list_idx"),
            # The "expiring soon" filter: completed tasks by when they finished.
            models.Index(
                fields=["finished_at"],
                condition=Q(status="completed"),
                name="clonetask_completed_idx",
            ),
            # The form's duplicate warning looks up earlier tasks by their exact media URL.
            models.Index(fields=["file_url"], name="clonetask_file_url_idx"),
            models.Index(fields=["pair_token"], name="clonetask_pair_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.upstream_id or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("clones:task-detail", args=[self.pk])

    @property
    def is_sent(self) -> bool:
        """The service has (or had) the task: it gave us an id for it."""
        return bool(self.upstream_id)

    @property
    def can_clone_again(self) -> bool:
        """Whether "Clone again" is offered (list and voice page alike): once a task stops moving."""
        return not self.is_refreshed

    @property
    def has_preview(self) -> bool:
        return self.is_completed and bool(self.audio_file or self.audio_url)

    @property
    def player_url(self) -> str:
        """Where the page's audio player loads the preview from."""
        return self._player_url("clones:task-audio")

    @property
    def has_clip_player(self) -> bool:
        """Whether the voice page can play the clip that was sent (the studio keeps it)."""
        return bool(self.clip_file) or bool(self.clip_id and self.clip and self.clip.file)

    @property
    def clip_player_url(self) -> str:
        return reverse("clones:task-clip", args=[self.pk])

    @property
    def clip_label(self) -> str:
        """Where the clip came from, for the voice page: the file's name, "A recording", or the link."""
        if self.clip_source == Clip.Source.RECORDING:
            return str(_("A recording made in the studio"))
        return self.clip_name or self.file_url

    @property
    def is_taking_long(self) -> bool:
        if not self.is_refreshed:
            return False
        return self.run_time > timedelta(seconds=settings.SOUNDCLONE_TASK_SLOW_AFTER)

    @property
    def is_kept(self) -> bool:
        """The voice no longer lapses: a generation made it permanent, or someone marked it as in use
        elsewhere. The one home of that rule (CloneTaskQuerySet.unkept is its query form)."""
        return self.permanent_at is not None or self.marked_in_use_at is not None

    @property
    def is_permanent(self) -> bool:
        return self.permanent_at is not None

    @property
    def is_marked_in_use(self) -> bool:
        return self.marked_in_use_at is not None

    @property
    def can_generate_speech(self) -> bool:
        """A completed voice with a modelId that has not lapsed (or is kept for good)."""
        return self.is_completed and bool(self.model_id) and not self.is_model_id_expired

    @property
    def model_id_lapses_at(self) -> datetime | None:
        """When an unused modelId lapses by the service's rule, kept or not (None without a modelId)."""
        if not self.is_completed or not self.model_id or not self.finished_at:
            return None
        return self.finished_at + MODEL_ID_LIFETIME

    @property
    def model_id_expires_at(self) -> datetime | None:
        """When the modelId lapses; None when there is none, or when the voice is kept (no countdown)."""
        if self.is_kept:
            return None
        return self.model_id_lapses_at

    @property
    def model_id_time_left(self) -> timedelta | None:
        """How long until the modelId lapses (negative once it has), or None when there is none."""
        expires_at = self.model_id_expires_at
        if expires_at is None:
            return None
        return expires_at - timezone.now()

    @property
    def is_model_id_expired(self) -> bool:
        time_left = self.model_id_time_left
        return time_left is not None and time_left <= timedelta(0)

    @property
    def is_model_id_expiring_soon(self) -> bool:
        time_left = self.model_id_time_left
        return time_left is not None and timedelta(0) < time_left <= EXPIRING_SOON_WITHIN

    @property
    def model_id_with_context(self) -> str:
        """The modelId with the version and language it must be used with: "voice_abc · v2 · Chinese,Yue".

        The language is the service's own name for it (what another tool must send), not our label.
        """
        if not self.model_id:
            return ""
        return f"{self.model_id} · {self.sound_version} · {self.language}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def can_be_changed_by(self, user: AbstractBaseUser | AnonymousUser) -> bool:
        """The one rule for changing a voice (rename, notes, archive, restore, send again, fix and send
        again): the staff member who submitted it, or an administrator. Everyone signed in may see and use it.
        """
        if not user.is_authenticated or not user.is_active:
            return False
        return user.is_staff or (self.submitted_by_id is not None and self.submitted_by_id == user.pk)


class TaskEvent(models.Model):
    """One exchange with the service about a task (send, poll, audio copy): the history the admin shows."""

    class Kind(models.TextChoices):
        SEND = "send", _("Send")
        POLL = "poll", _("Status query")
        COPY = "copy", _("Preview copy")

    task = models.ForeignKey(CloneTask, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.http_status or '-'} {self.outcome}"


class TaskChange(models.Model):
    """A change a person made to a voice after submitting it: who, when, what. Shown on the voice's page."""

    class Action(models.TextChoices):
        RENAMED = "renamed", _("Renamed")
        NOTES = "notes", _("Changed the notes")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored to the list")
        RESENT = "resent", _("Sent again")
        FIXED = "fixed", _("Fixed and sent again")
        MARKED_IN_USE = "in_use", _("Marked as in use in another tool")

    task = models.ForeignKey(CloneTask, on_delete=models.PROTECT, related_name="changes")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    # What it was before, in the person's own words (an old name), for the record; may be empty.
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} task={self.task_id} by={self.by_id}"


# Speech generation (issue 12): the service's rules, as docs/upstream-api.md section 3 records them.
# "Fewer than 10,000 characters", counted in code points with the <#x#> pause markers included.
MAX_SPEECH_TEXT = 9999
SPEECH_EMOTIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
DEFAULT_EMOTION = "neutral"
MIN_SPEED, MAX_SPEED, DEFAULT_SPEED = Decimal("0.5"), Decimal("2"), Decimal("1.0")
MAX_VOLUME, DEFAULT_VOLUME = Decimal("10"), Decimal("1.0")  # above 0, up to 10
MIN_PITCH, MAX_PITCH, DEFAULT_PITCH = -12, 12, 0


class SpeechTask(ServiceTask):
    """One generation of speech with a cloned voice: the text and settings asked for, and the result.

    Its own model, not a kind of CloneTask: the voice list, its filters, search, CSV and expiry all read one
    row as one voice. It reuses CloneTask's statuses and the worker's bookkeeping field names, so that the
    worker claims, sends, polls and copies both with one code path (clones/services.py).
    """

    class Subtitles(models.TextChoices):
        NONE = "", _("No subtitles")
        SENTENCE = "sentence", _("By sentence")
        WORD = "word", _("By word")

    voice = models.ForeignKey(
        CloneTask, verbose_name=_("voice"), on_delete=models.PROTECT, related_name="speech_tasks"
    )
    content_text = models.TextField(_("text"))
    sound_version = models.CharField(_("model version"), max_length=2)
    language = models.CharField(_("language"), max_length=32)
    emotion = models.CharField(_("emotion"), max_length=16, default=DEFAULT_EMOTION)
    speed = models.DecimalField(_("speed"), max_digits=4, decimal_places=2, default=DEFAULT_SPEED)
    volume = models.DecimalField(_("volume"), max_digits=4, decimal_places=2, default=DEFAULT_VOLUME)
    pitch = models.SmallIntegerField(_("pitch"), default=DEFAULT_PITCH)
    subtitles = models.CharField(
        _("subtitles"), max_length=8, choices=Subtitles.choices, default=Subtitles.NONE, blank=True
    )
    # Made by "Keep this voice" (one short sentence to make the voice permanent), not typed by a person.
    is_keep_alive = models.BooleanField(default=False)

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="speech_tasks",
    )
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    audio_url = models.TextField(_("service audio URL"), blank=True)
    subtitle_url = models.TextField(_("service subtitle URL"), blank=True)
    audio_file = models.FileField(_("archived audio"), upload_to="speech/", blank=True)
    subtitle_file = models.FileField(_("archived subtitles"), upload_to="speech/", blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("speech task")
        verbose_name_plural = _("speech tasks")
        indexes = [
            *worker_indexes("speechtask"),
            # A voice's page lists its generations, newest first.
            models.Index(fields=["voice", "created_at"], name="speechtask_voice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.voice} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("clones:speech-detail", args=[self.pk])

    @property
    def name(self) -> str:
        """What rows and notifications call it: the voice's name."""
        return self.voice.name

    @property
    def model_id(self) -> str:
        """The voice it speaks with (the worker sends it as modelId)."""
        return self.voice.model_id

    @property
    def wants_subtitles(self) -> bool:
        return bool(self.subtitles)

    @property
    def player_url(self) -> str:
        """Where the page's audio player loads the speech from."""
        return self._player_url("clones:speech-audio")

    @property
    def has_subtitle_file(self) -> bool:
        return self.is_completed and bool(self.subtitle_file or self.subtitle_url)

    @property
    def emotion_label(self) -> str:
        return str(EMOTION_LABELS.get(self.emotion, self.emotion))


EMOTION_LABELS = {
    "neutral": _("Neutral"),
    "happy": _("Happy"),
    "sad": _("Sad"),
    "angry": _("Angry"),
    "fearful": _("Fearful"),
    "disgusted": _("Disgusted"),
    "surprised": _("Surprised"),
}


# A clip with more speech than this needs a window chosen over its waveform; the service takes 15 to 60 s.
MIN_SPEECH_SECONDS = 15.0
MAX_SPEECH_SECONDS = 60.0


class Clip(models.Model):
    """A clip someone gave the form (a file, a recording or a link) and what checking it found.

    Made as soon as the clip is chosen; the worker downloads or reads it and measures it (poll_clones), the
    form shows the result, and the task made from the form keeps a reference to it.
    """

    class Source(models.TextChoices):
        FILE = "file", _("A file")
        RECORDING = "recording", _("A recording")
        LINK = "link", _("A link")

    class State(models.TextChoices):
        CHECKING = "checking", _("Checking…")
        USABLE = "usable", _("Ready to send")
        UNUSABLE = "unusable", _("Cannot be used")
        UNREACHABLE = "unreachable", _("Could not be checked")

    # Problems (Clip.problem): the media check's own (clones/media.py Problem values) and these.
    TOO_LITTLE_SPEECH = "too-little-speech"
    TOO_LARGE = "too-large"
    UNREACHABLE = "unreachable"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.CHECKING)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="clips"
    )
    # The file's name as it was on the person's computer, "recording.webm", or the link.
    name = models.CharField(_("name"), max_length=2048)
    link = models.CharField(_("link"), max_length=2048, blank=True)
    # The clip as it came (uploaded, or downloaded from the link), and the sound the player plays.
    file = models.FileField(_("file"), upload_to="clips/original/", blank=True, max_length=300)
    preview = models.FileField(_("preview"), upload_to="clips/preview/", blank=True, max_length=300)
    size = models.BigIntegerField(_("size in bytes"), null=True, blank=True)

    kind = models.CharField(_("kind"), max_length=8, blank=True)  # "audio" or "video"
    format_name = models.CharField(_("format"), max_length=32, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    seconds = models.FloatField(_("length (s)"), null=True, blank=True)
    speech_seconds = models.FloatField(_("speech (s)"), null=True, blank=True)
    speech = models.JSONField(_("speech segments"), default=list, blank=True)
    peaks = models.JSONField(_("waveform"), default=list, blank=True)
    problem = models.CharField(_("problem"), max_length=32, blank=True)
    problem_detail = models.CharField(_("problem detail"), max_length=300, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # Worker bookkeeping, as for tasks: due when set and past; claimed by moving it a lease ahead.
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("clip")
        verbose_name_plural = _("clips")
        indexes = [
            # poll_clones looks for due checks first (someone is waiting at the form): a small partial index.
            models.Index(fields=["next_check_at"], condition=Q(state="checking"), name="clip_due_check_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_checking(self) -> bool:
        return self.state == self.State.CHECKING

    @property
    def is_usable(self) -> bool:
        return self.state == self.State.USABLE

    @property
    def is_unusable(self) -> bool:
        return self.state == self.State.UNUSABLE

    @property
    def is_unreachable(self) -> bool:
        return self.state == self.State.UNREACHABLE

    @property
    def needs_window(self) -> bool:
        """More speech than the service takes: the person chooses the part to send."""
        return self.is_usable and (self.speech_seconds or 0) > MAX_SPEECH_SECONDS

    @property
    def is_hosted(self) -> bool:
        """Whether the studio keeps the file (an upload, a recording, or a link it downloaded)."""
        return bool(self.file)

    @property
    def summary(self) -> str:
        """What the clip is, in a line: "Audio, 48 s, about 41 s of speech"."""
        if self.seconds is None:
            return ""
        kind = _("Video (its sound is sent)") if self.kind == "video" else _("Audio")
        return _("%(kind)s, %(length)s, about %(speech)s of speech") % {
            "kind": kind,
            "length": duration_text(self.seconds),
            "speech": duration_text(self.speech_seconds or 0),
        }

    @property
    def message(self) -> str:
        """Why the clip cannot be used, or could not be checked, and what to do: in plain words."""
        return clip_problem_message(self.problem, self.speech_seconds, self.problem_detail)


def duration_text(seconds: float) -> str:
    """18 s, 1 min 05 s: how long a clip is, for the form's summary."""
    whole = round(seconds)
    if whole < 60:
        return _("%(seconds)d s") % {"seconds": whole}
    return _("%(minutes)d min %(seconds)02d s") % {"minutes": whole // 60, "seconds": whole % 60}


def clip_problem_message(problem: str, speech_seconds: float | None = None, detail: str = "") -> str:
    """The plain-words message for a Clip.problem code."""
    if problem == "web-page":
        return str(
            _(
                "This link opens a web page, not an audio or video file. Open the page, find the link of the "
                "file itself and paste that."
            )
        )
    if problem == "no-sound":
        return str(_("The file has no sound. Choose a clip in which the speaker can be heard."))
    if problem in ("not-media", "corrupt"):
        return str(
            _(
                "This is not an audio or video file we can read (it may be damaged, or another kind of "
                "file). Choose an audio or video file."
            )
        )
    if problem == "too-long":
        return str(_("The clip is longer than 30 minutes. Choose or cut a shorter clip."))
    if problem == Clip.TOO_LITTLE_SPEECH:
        return str(
            _("Only %(speech)s of speech: the service needs more than 15 s. Record or choose a longer clip.")
            % {"speech": duration_text(speech_seconds or 0)}
        )
    if problem == Clip.TOO_LARGE:
        return str(_("The file is larger than 200 MB. Choose a shorter clip, or cut it first."))
    if problem == "private-address":
        return str(
            _(
                "This link points to a private or local address that the voice service cannot reach. Use a "
                "public link, or upload the file."
            )
        )
    if problem == Clip.UNREACHABLE:
        return str(
            _(
                "The link could not be reached: %(reason)s Check the link, or send it without checking if "
                "you are sure it works."
            )
            % {"reason": _unreachable_reason(detail)}
        )
    return ""


def _unreachable_reason(detail: str) -> str:
    """Why a link could not be fetched (clones/fetch.py FetchFailure, and the HTTP status), in plain words."""
    kind, _colon, status = detail.partition(":")
    if kind == "status":
        return str(_("the website answered with error %(status)s.") % {"status": status or "?"})
    reasons = {
        "not_found_host": _("the website's address does not exist."),
        "unreachable": _("the website did not accept the connection."),
        "timed_out": _("the website took too long to send the file."),
        "broken": _("the connection broke before the file was complete."),
        "too_many_redirects": _("the link redirected too many times."),
    }
    return str(reasons.get(kind, _("the website did not send the file.")))


class PollerHeartbeat(models.Model):
    """When each poller last finished a pass: /healthz reads it to tell whether polling is alive."""

    name = models.CharField(max_length=200, primary_key=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class StaffPreference(models.Model):
    """What one person chose for themselves: today, the time zone every page and CSV shows times in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_preference"
    )
    # An IANA name ("Asia/Shanghai"); empty until the browser reports its zone or the person picks one.
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.time_zone or '-'}"
