"""Clips for the New clone form (issue 11): upload, link check, the check's progress, and the players.

Each view only stores what it was given or reads what the worker found; the downloading and decoding happen
in the worker (clones/clips.py). The form's script swaps in the clip-check fragment these answer.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import uuid
from pathlib import PurePosixPath

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clones import clips, reading_texts, uploads
from clones.forms import ClipLinkForm
from clones.models import Clip, CloneTask
from clones.views import _ranged_response

logger = logging.getLogger(__name__)

FRAGMENT = "clones/clip_check.html"


@require_POST
@login_required
def clip_upload(request: HttpRequest) -> HttpResponse:
    """A file or a recording, streamed to disk as it arrives (capped): kept, and queued for checking."""
    upload = request.FILES.get("file")
    if uploads.is_too_large(request):
        return _refused(request, Clip.TOO_LARGE, status=413)
    if upload is None:
        return _fragment(request, error=_("Please choose a file with the speaker's voice."), status=400)
    if not upload.size:
        return _fragment(
            request, error=_("This file is empty. Please choose a file with the speaker's voice."), status=400
        )
    if not clips.can_host_clips():
        return _fragment(request, error=clips.hosting_missing_message(), status=409)
    source = request.POST.get("source", "")
    if source not in (Clip.Source.FILE, Clip.Source.RECORDING):
        source = Clip.Source.FILE
    try:
        clip = clips.clip_from_upload(user=request.user, upload=upload, source=source)
    except (DatabaseError, OSError):
        logger.exception("could not keep an uploaded clip")
        return _fragment(
            request, error=_("The studio could not keep this file just now. Please try again."), status=503
        )
    return _fragment(request, clip=clip, status=201)


@require_POST
@login_required
def clip_link(request: HttpRequest) -> HttpResponse:
    """A link to check: the worker downloads it through the URL guard."""
    form = ClipLinkForm(request.POST)
    if not form.is_valid():
        return _fragment(request, error=" ".join(form.errors.get("file_url", [])), status=400)
    clip = clips.clip_from_link(user=request.user, link=form.cleaned_data["file_url"])
    return _fragment(request, clip=clip, status=201)


@require_GET
@login_required
def clip_check(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """Where the check of one's own clip stands (the form asks every second while it runs)."""
    clip = get_object_or_404(clips.clips_for(request.user), token=token)
    response = _fragment(request, clip=clip)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def clip_reading_texts(request: HttpRequest) -> HttpResponse:
    """The texts to read aloud while recording, per language (fetched when "Record" is first chosen)."""
    response = JsonResponse(json.loads(reading_texts.as_json()), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
@login_required
def clip_audio(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """The checked clip's sound for the form's player, with byte ranges so that it can seek."""
    clip = get_object_or_404(clips.clips_for(request.user), token=token)
    if not clip.preview:
        raise Http404
    return _stored_file(request, clip.preview.name, private=True)


@require_GET
@login_required
def task_clip(request: HttpRequest, pk: int) -> HttpResponse:
    """The clip a voice was made from, as it was sent (the voice page's player)."""
    task = get_object_or_404(CloneTask.objects.select_related("clip"), pk=pk)
    if task.clip_file:
        name = task.clip_file.name
    elif task.clip and task.clip.file:
        name = task.clip.file.name
    else:
        raise Http404
    return _stored_file(request, name, private=True)


@require_GET
def clip_public(request: HttpRequest, signed: str, filename: str) -> HttpResponse:
    """The clip the service downloads: no sign-in, only by its signed, expiring link, only that file."""
    name = clips.name_from_signed(signed)
    if name is None:
        response = HttpResponse(status=404)
        # Django logs every 4xx with its path, which here holds a signature (possibly a real, expired one).
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
    response = _stored_file(request, name, private=False)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _stored_file(request: HttpRequest, name: str, *, private: bool) -> HttpResponse:
    try:
        handle = default_storage.open(name, "rb")
        size = default_storage.size(name)
    except OSError as exc:
        raise Http404 from exc
    content_type = mimetypes.guess_type(PurePosixPath(name).name)[0] or "application/octet-stream"
    response = _ranged_response(handle, size, content_type, request.headers.get("Range", ""))
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600" if private else "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _refused(request: HttpRequest, problem: str, *, status: int) -> HttpResponse:
    response = _fragment(request, error=Clip(problem=problem).message, status=status)
    if request.META.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        # The rest of the upload was not read: gunicorn ends the connection rather than read it to throw it
        # away. (A WSGI server may refuse this hop-by-hop header; gunicorn honours it.)
        response["Connection"] = "close"
    return response


def _fragment(
    request: HttpRequest, *, clip: Clip | None = None, error: str = "", status: int = 200
) -> HttpResponse:
    return render(request, FRAGMENT, {"clip": clip, "clip_error": error}, status=status)
