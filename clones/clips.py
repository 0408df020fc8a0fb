"""Clips from a file, a recording or a link: kept, checked by the worker, and handed to the service by link.

The only code that writes Clip rows and a task's clip file. The web request only stores what it was given
(an upload is already on disk, streamed by clones/uploads.py); the worker (poll_clones) downloads a link
through the URL guard and measures the clip with clones/media.py, so no web thread waits on another site or
on decoding. Just before a task is sent, the worker cuts or converts the clip when needed and gives the
service a link that works for CLIP_LINK_LIFETIME: presigned by S3, or signed by the studio under
PUBLIC_BASE_URL.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from clones.fetch import FetchError, FetchFailure, fetch_public
from clones.models import MAX_SPEECH_SECONDS, MIN_SPEECH_SECONDS, Clip, CloneTask

logger = logging.getLogger(__name__)

# The service's own formats (docs/upstream-api.md): a clip in one of these, sent whole, goes as it came.
SERVICE_AUDIO_FORMATS = frozenset({"mp3", "ogg", "wav", "m4a", "aac"})
SIGNING_SALT = "clones.clip-link"
# A check that crashed this many times is given up: the person is told, the worker moves on.
MAX_CHECK_ATTEMPTS = 3


class ClipUnavailable(Exception):
    """The studio cannot give the service a link to this clip (no S3 and no PUBLIC_BASE_URL)."""


def can_host_clips() -> bool:
    """Whether the studio can give the service a link to a file it keeps: S3, or a public address."""
    return is_s3_storage() or bool(settings.PUBLIC_BASE_URL)


def is_s3_storage() -> bool:
    """Whether files are kept in an S3 bucket (which presigns links) rather than on this server's disk."""
    return settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"


def hosting_missing_message() -> str:
    return _(
        "Files and recordings cannot be sent yet: the voice service needs a link to reach them, and this "
        "studio has neither S3 storage nor a public address set up. Ask your administrator to set "
        "PUBLIC_BASE_URL or S3_BUCKET. A link to the clip still works."
    )


def clips_for(user) -> QuerySet[Clip]:
    """The clips a person may use and see: their own, and those the team's voices were made from."""
    return Clip.objects.filter(Q(owner=user) | Q(pk__in=CloneTask.objects.exclude(clip=None).values("clip")))


def clip_by_token(user, token: object) -> Clip | None:
    """The clip a form or a page names by its token, if the person may use it."""
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        return None
    return clips_for(user).filter(token=token).first()


# --- Making clips ------------------------------------------------------------------------------------------


def clip_from_upload(*, user, upload: UploadedFile, source: str) -> Clip:
    """Keep an uploaded file (or recording) and queue its check; the upload is already on our disk."""
    token = uuid.uuid4()
    original_name = (upload.name or "clip")[:200]
    if source == Clip.Source.RECORDING:
        original_name = _("Recording")
    clip = Clip(token=token, source=source, owner=user, name=original_name, size=upload.size)
    clip.file.save(_stored_name(token, upload.name or "clip"), upload, save=False)
    clip.next_check_at = timezone.now()
    clip.save()
    logger.info("clip stored clip=%s source=%s bytes=%s", clip.pk, source, upload.size)
    return clip


def clip_from_link(*, user, link: str) -> Clip:
    """Queue the check of a link: the worker downloads it through the URL guard."""
    clip = Clip.objects.create(
        source=Clip.Source.LINK, owner=user, name=link, link=link, next_check_at=timezone.now()
    )
    logger.info("clip link queued for checking clip=%s", clip.pk)
    return clip


def _stored_name(token: uuid.UUID, original_name: str) -> str:
    extension = PurePosixPath(original_name).suffix.lower()[:10]
    safe_extension = get_valid_filename(extension) if extension else ""
    return f"{token}/clip{safe_extension}"


# --- Checking clips (the worker) ---------------------------------------------------------------------------


def clip_check_next(*, now: datetime | None = None) -> Clip | None:
    """Claim the oldest due check and do it; None when none is due. Several workers may run side by side."""
    now = now or timezone.now()
    for pk in (
        Clip.objects.filter(state=Clip.State.CHECKING, next_check_at__lte=now)
        .order_by("next_check_at", "pk")
        .values_list("pk", flat=True)[:5]
    ):
        claimed = Clip.objects.filter(pk=pk, state=Clip.State.CHECKING, next_check_at__lte=now).update(
            next_check_at=now + timedelta(seconds=settings.SOUNDCLONE_CHECK_LEASE_SECONDS)
        )
        if claimed:
            clip = Clip.objects.get(pk=pk)
            clip.check_attempts += 1
            Clip.objects.filter(pk=pk).update(check_attempts=clip.check_attempts)
            _check_safely(clip)
            return clip
    return None


def _check_safely(clip: Clip) -> None:
    try:
        clip_check(clip=clip)
    except Exception:
        # One bad clip never becomes a crash loop: after a few tries the person is told to choose another.
        logger.exception("clip check crashed clip=%s attempt=%s", clip.pk, clip.check_attempts)
        if clip.check_attempts >= MAX_CHECK_ATTEMPTS:
            _finish(clip, Clip.State.UNUSABLE, problem="corrupt")


def clip_check(*, clip: Clip) -> None:
    """Download (a link) and measure the clip; record whether it can be sent, and why not."""
    # Imported here, not at the top: PyAV, NumPy and Silero cost a web worker 60 MB, and only the worker
    # measures clips.
    from clones import media

    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR, prefix="check-") as folder:
        work = Path(folder)
        if clip.source == Clip.Source.LINK:
            local = work / "download"
            failure = _download(clip, local)
            if failure:
                return
        else:
            local = _local_copy(clip.file.name, work / "original")
        with local.open("rb") as handle:
            head = handle.read(media.HEAD_BYTES)
        if problem := media.sniff(head):
            _finish(clip, Clip.State.UNUSABLE, problem=str(problem))
            return
        preview = work / "preview.wav"
        try:
            check = media.check_media(local, preview_path=preview)
        except media.MediaError as exc:
            _finish(clip, Clip.State.UNUSABLE, problem=str(exc.problem))
            return
        if clip.source == Clip.Source.LINK:
            with local.open("rb") as handle:
                clip.file.save(_stored_name(clip.token, _link_file_name(clip.link)), File(handle), save=False)
        with preview.open("rb") as handle:
            clip.preview.save(f"{clip.token}.wav", File(handle), save=False)
    clip.kind = check.kind
    clip.format_name = check.format_name
    clip.seconds = round(check.seconds, 2)
    clip.speech_seconds = round(check.speech_seconds, 2)
    clip.speech = [[round(start, 2), round(end, 2)] for start, end in check.speech]
    clip.peaks = [round(value, 3) for value in check.peaks]
    if check.speech_seconds <= MIN_SPEECH_SECONDS:
        _finish(clip, Clip.State.UNUSABLE, problem=Clip.TOO_LITTLE_SPEECH)
    else:
        _finish(clip, Clip.State.USABLE)


def _download(clip: Clip, target: Path) -> bool:
    """Fetch the link into `target` through the guard; on failure record it on the clip and return True."""
    try:
        with target.open("wb") as handle:
            fetched = fetch_public(
                clip.link,
                max_bytes=settings.CLIP_MAX_BYTES,
                deadline=settings.SOUNDCLONE_LINK_DEADLINE,
                allowed_hosts=settings.SOUNDCLONE_LINK_ALLOWED_HOSTS,
                into=handle,
            )
    except FetchError as exc:
        logger.info("clip link could not be fetched clip=%s kind=%s", clip.pk, exc.kind)
        if exc.kind == FetchFailure.TOO_LARGE:
            _finish(clip, Clip.State.UNUSABLE, problem=Clip.TOO_LARGE)
        elif exc.kind == FetchFailure.REFUSED:
            # Not a public address: sending it "without checking" would not help, the service cannot reach it.
            _finish(clip, Clip.State.UNUSABLE, problem="private-address")
        else:
            detail = f"{exc.kind}:{exc.status_code}" if exc.status_code else str(exc.kind)
            _finish(clip, Clip.State.UNREACHABLE, problem=Clip.UNREACHABLE, detail=detail)
        return True
    clip.size = target.stat().st_size
    clip.content_type = fetched.content_type[:100]
    if fetched.content_type in ("text/html", "application/xhtml+xml"):
        _finish(clip, Clip.State.UNUSABLE, problem="web-page")
        return True
    return False


def _link_file_name(link: str) -> str:
    return PurePosixPath(unquote(urlsplit(link).path)).name or "clip"


def _finish(clip: Clip, state: str, *, problem: str = "", detail: str = "") -> None:
    clip.state = state
    clip.problem = problem
    clip.problem_detail = detail[:300]
    clip.checked_at = timezone.now()
    clip.next_check_at = None
    clip.save()
    logger.info("clip checked clip=%s state=%s problem=%s", clip.pk, state, problem or "-")


@contextlib.contextmanager
def local_file(name: str) -> Iterator[Path]:
    """A stored file as a path on this machine: the file itself on disk storage, else a temporary copy."""
    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR, prefix="clip-") as folder:
        yield _local_copy(name, Path(folder) / "copy")


def _local_copy(name: str, target: Path) -> Path:
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:  # S3: no local path
        with default_storage.open(name, "rb") as source, target.open("wb") as handle:
            shutil.copyfileobj(source, handle, 1024 * 1024)
        return target


# --- Sending clips ----------------------------------------------------------------------------------------


def window_of(clip: Clip, start: float | None, end: float | None) -> tuple[float | None, float | None]:
    """The part to send: the chosen window when there is more speech than the service takes, else all."""
    if not clip.needs_window:
        return None, None
    return start, end


def speech_in(clip: Clip, start: float | None, end: float | None) -> float:
    """Seconds of speech between start and end (the whole clip when not given)."""
    if start is None or end is None:
        return clip.speech_seconds or 0.0
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in clip.speech)


def window_problem(clip: Clip, start: float | None, end: float | None) -> str:
    """Why a chosen window cannot be sent, in plain words; "" when it can."""
    if not clip.needs_window:
        return ""
    if start is None or end is None:
        return _("This clip has more than 60 s of speech: choose the part to send on the waveform.")
    if start < 0 or end > (clip.seconds or 0) + 0.05 or end <= start:
        return _("The chosen part is not inside the clip: choose it again on the waveform.")
    speech = speech_in(clip, start, end)
    if not MIN_SPEECH_SECONDS < speech < MAX_SPEECH_SECONDS:
        return _(
            "The chosen part has about %(speech)d s of speech; the service needs between 15 and 60 s. "
            "Make it longer or shorter on the waveform."
        ) % {"speech": round(speech)}
    return ""


def needs_hosting(task: CloneTask) -> bool:
    """Whether the studio must give the service a file of its own rather than the person's link."""
    clip = task.clip
    if clip is None:
        return False
    if clip.source != Clip.Source.LINK:
        return True
    return task.clip_start is not None or not _sendable_as_is(clip)


def _sendable_as_is(clip: Clip) -> bool:
    return clip.kind == "audio" and clip.format_name in SERVICE_AUDIO_FORMATS


def service_link(task: CloneTask) -> str:
    """The link the service fetches the clip from; prepares the file to send first when the studio hosts it.

    Raises ClipUnavailable when the studio cannot host it. Called by the worker just before sending.
    """
    if not needs_hosting(task):
        return task.file_url
    if not can_host_clips():
        raise ClipUnavailable(hosting_missing_message())
    if not task.clip_file:
        _prepare(task)
    return hosted_url(task.clip_file.name)


def _prepare(task: CloneTask) -> None:
    """Write the file to send: the original when the service takes it whole, else the window as WAV."""
    from clones import media  # the worker's alone (see clip_check)

    clip = task.clip
    if task.clip_start is None and _sendable_as_is(clip):
        task.clip_file.name = clip.file.name
    else:
        with (
            local_file(clip.file.name) as source,
            tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR, prefix="cut-") as folder,
        ):
            target = Path(folder) / "clip.wav"
            media.write_clip(source, target, start=task.clip_start or 0.0, end=task.clip_end)
            with target.open("rb") as handle:
                task.clip_file.save(f"{clip.token}-{task.pk}.wav", File(handle), save=False)
    with transaction.atomic():
        CloneTask.objects.filter(pk=task.pk).update(clip_file=task.clip_file.name)
    logger.info("clip prepared for sending task=%s clip=%s", task.pk, clip.pk)


def hosted_url(name: str) -> str:
    """A link to a stored file that works without signing in for CLIP_LINK_LIFETIME seconds."""
    if is_s3_storage():
        return default_storage.url(name, expire=settings.CLIP_LINK_LIFETIME)
    signed = signing.TimestampSigner(salt=SIGNING_SALT).sign_object({"n": name}, compress=True)
    extension = PurePosixPath(name).suffix or ".wav"
    path = reverse("clip-public", args=[signed, f"clip{extension}"])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def name_from_signed(signed: str) -> str | None:
    """The stored file a signed link names, if the signature holds and has not expired."""
    try:
        value = signing.TimestampSigner(salt=SIGNING_SALT).unsign_object(
            signed, max_age=settings.CLIP_LINK_LIFETIME
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    name = value.get("n") if isinstance(value, dict) else None
    if not isinstance(name, str) or not name.startswith("clips/") or ".." in name:
        return None
    return name
