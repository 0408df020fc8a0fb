"""Pages for speech with a cloned voice, and for keeping voices (issue 12).

A module of their own beside views.py, so that the voice pages' views stay readable; they follow the same
shape (authorise -> call a service or query -> render) and reuse its helpers.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import uuid
from pathlib import PurePosixPath
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clones import services
from clones.models import MAX_SPEECH_TEXT, CloneTask, SpeechTask
from clones.pagination import ListPage
from clones.speech_forms import SpeechForm, initial_for
from clones.views import _ranged_response, _task_for_change, database_id

logger = logging.getLogger(__name__)

SPEECH_PER_PAGE = 50
# A voice's page shows its latest generations; the list of generated speech has the rest.
SPEECH_ON_VOICE_PAGE = 10
# Subtitles shown beside the player: a 9,999-character text has at most that many words.
MAX_SUBTITLE_LINES = 10_000


@require_http_methods(["GET", "POST"])
@login_required
def speech_create(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Generate speech" with a voice: the form, or (posted) a stored speech task the worker sends.

    Every signed-in staff member may generate speech with any voice; it changes nothing of the voice itself.
    """
    voice = get_object_or_404(CloneTask.objects.select_related("submitted_by"), pk=pk)
    if not voice.can_generate_speech:
        return render(request, "clones/speech_unavailable.html", {"voice": voice}, status=409)
    if request.method == "GET":
        source = _speech_source(request.GET.get("from", ""), voice)
        form = SpeechForm(initial={**initial_for(voice, source), "form_token": uuid.uuid4()})
        return _render_form(request, form, voice, source=source)
    form = SpeechForm(request.POST)
    if not form.is_valid():
        return _render_form(request, form, voice, status=400)
    data = form.cleaned_data
    try:
        speech = services.speech_submit(
            user=request.user,
            voice=voice,
            text=data["text"],
            sound_version=data["sound_version"],
            language=data["language"],
            emotion=data["emotion"],
            speed=data["speed"],
            volume=data["volume"],
            pitch=data["pitch"],
            subtitles=data["subtitles"] or "",
            form_token=data["form_token"],
        )
    except services.DuplicateSpeechSubmission as exc:
        messages.info(request, _("This form was already submitted; here is the speech it made."))
        return redirect(_on_voice_page(exc.task))
    except services.VoiceUnavailable:
        return render(request, "clones/speech_unavailable.html", {"voice": voice}, status=409)
    except DatabaseError:
        logger.exception("could not store a speech submission")
        form.add_error(
            None,
            _(
                "The studio could not save this just now. Nothing was sent and everything you typed is still "
                "here: please try again in a moment."
            ),
        )
        return _render_form(request, form, voice, status=503)
    messages.success(
        request, _("Saved. The speech is being sent to the voice service; it shows below when ready.")
    )
    return redirect(_on_voice_page(speech))


@require_GET
@login_required
def speech_list(request: HttpRequest) -> HttpResponse:
    """Every generation, newest first, one page at a time."""
    speech = SpeechTask.objects.select_related("voice", "submitted_by").order_by("-created_at", "-pk")
    page = ListPage(speech, request.GET.get("page"), per_page=SPEECH_PER_PAGE)
    return render(request, "clones/speech_list.html", {"page": page, "speech_tasks": page.object_list})


@require_GET
@login_required
def speech_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One generation: the player with its subtitles, downloads, and the text and settings it used."""
    speech = get_object_or_404(SpeechTask.objects.select_related("voice", "submitted_by"), pk=pk)
    context = {"speech": speech, "subtitle_lines": subtitle_lines(speech)}
    return render(request, "clones/speech_detail.html", context)


@require_GET
@login_required
@never_cache
def speech_rows(request: HttpRequest) -> HttpResponse:
    """The speech rows a page is still waiting for, read from our database (never from the service)."""
    ids = [pk for value in request.GET.getlist("speech")[:SPEECH_PER_PAGE] if (pk := database_id(value))]
    speech = SpeechTask.objects.filter(pk__in=ids).select_related("voice", "submitted_by") if ids else []
    return render(request, "clones/speech_list.html#refreshed-speech-rows", {"speech_tasks": speech})


@require_GET
@login_required
def speech_audio(request: HttpRequest, pk: int) -> HttpResponse:
    """Our archived copy of a generation's audio, with byte ranges for seeking; `?download=1` saves it."""
    speech = get_object_or_404(
        SpeechTask.objects.select_related("voice"), pk=pk, status=SpeechTask.Status.COMPLETED
    )
    handle = _open_archived(speech, "audio_file")
    if handle is None:
        if speech.audio_url.lower().startswith(("https://", "http://")):
            return redirect(speech.audio_url)
        raise Http404
    content_type = mimetypes.guess_type(speech.audio_file.name)[0] or "application/octet-stream"
    if request.GET.get("download"):
        response: HttpResponse = FileResponse(
            handle,
            as_attachment=True,
            filename=_filename(speech, speech.audio_file.name),
            content_type=content_type,
        )
    else:
        response = _ranged_response(
            handle, speech.audio_file.size, content_type, request.headers.get("Range", "")
        )
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
@login_required
def speech_subtitles(request: HttpRequest, pk: int) -> HttpResponse:
    """The subtitle file as the service gave it, as a download."""
    speech = get_object_or_404(
        SpeechTask.objects.select_related("voice"), pk=pk, status=SpeechTask.Status.COMPLETED
    )
    handle = _open_archived(speech, "subtitle_file")
    if handle is None:
        if speech.subtitle_url.lower().startswith(("https://", "http://")):
            return redirect(speech.subtitle_url)
        raise Http404
    content_type = mimetypes.guess_type(speech.subtitle_file.name)[0] or "application/octet-stream"
    return FileResponse(
        handle,
        as_attachment=True,
        filename=_filename(speech, speech.subtitle_file.name),
        content_type=content_type,
    )


@require_POST
@login_required
def voice_keep(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Keep this voice": one short, normal (paid) generation that makes the voice permanent."""
    voice = get_object_or_404(CloneTask, pk=pk)
    if not voice.can_generate_speech or voice.is_kept:
        messages.info(request, _("This voice does not need keeping: it is kept already, or it has lapsed."))
        return redirect(voice)
    if not voice.is_model_id_expiring_soon:
        # Offered only on a voice lapsing within a day (its row and page show it then): a form posted from a
        # stale page, or crafted, must not spend a paid generation the person was never offered.
        messages.info(
            request,
            _(
                "This voice does not need keeping yet: “Keep this voice” is offered in the last 24 hours "
                "before it lapses. Generating any speech with it keeps it too."
            ),
        )
        return redirect(voice)
    try:
        services.voice_keep_alive(voice=voice, user=request.user)
    except services.VoiceUnavailable:
        messages.info(request, _("This voice does not need keeping: it is kept already, or it has lapsed."))
        return redirect(voice)
    messages.success(
        request,
        _("A short sentence is being generated with “%(name)s”. Once it is done, the voice is kept for good.")
        % {"name": voice.name},
    )
    return redirect(voice.get_absolute_url() + "#speech-heading")


@require_POST
@login_required
def voice_mark_in_use(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Mark as in use": the voice is used in another tool; who says so and when is recorded."""
    voice = _task_for_change(request, pk)
    if services.voice_mark_in_use(voice=voice, user=request.user):
        messages.success(
            request, _("Marked as in use in another tool: the studio no longer counts down its expiry.")
        )
    else:
        messages.info(
            request, _("This voice cannot be marked as in use: it is kept already, or it has lapsed.")
        )
    return redirect(voice)


def voice_speech_context(voice: CloneTask) -> dict[str, Any]:
    """What the voice's page shows about its speech: the latest generations and whether reminders go out."""
    from django.conf import settings

    return {
        "speech_tasks": list(
            voice.speech_tasks.select_related("voice", "submitted_by")[:SPEECH_ON_VOICE_PAGE]
        ),
        "speech_count": voice.speech_tasks.count(),
        "is_email_configured": settings.EMAIL_CONFIGURED,
    }


def subtitle_lines(speech: SpeechTask) -> list[dict[str, Any]]:
    """The archived subtitle file as timed lines ({"text", "start", "end"} in seconds), or [] when it is not
    there or does not read as timings (its format is undocumented: the file is still offered as it is)."""
    if not speech.is_completed or not speech.subtitle_file:
        return []
    try:
        with speech.subtitle_file.open("rb") as handle:
            data = json.loads(handle.read(services.client.MAX_SUBTITLE_BYTES + 1))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    entries = data.get("words") if isinstance(data.get("words"), list) else data.get("sentences")
    if not isinstance(entries, list):
        return []
    lines = []
    for entry in entries[:MAX_SUBTITLE_LINES]:
        if not isinstance(entry, dict):
            return []
        text, start, end = entry.get("text"), entry.get("start"), entry.get("end")
        if not isinstance(text, str) or not _is_milliseconds(start) or not _is_milliseconds(end):
            return []
        lines.append({"text": text, "start": start / 1000, "end": end / 1000})
    return lines


def _is_milliseconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 10**9


def _render_form(
    request: HttpRequest,
    form: SpeechForm,
    voice: CloneTask,
    *,
    source: SpeechTask | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, "voice": voice, "source": source, "speech_text_limit": MAX_SPEECH_TEXT}
    return render(request, "clones/speech_form.html", context, status=status)


def _speech_source(value: str, voice: CloneTask) -> SpeechTask | None:
    pk = database_id(value)
    return SpeechTask.objects.filter(pk=pk, voice=voice).first() if pk else None


def _on_voice_page(speech: SpeechTask) -> str:
    return speech.voice.get_absolute_url() + f"#speech-{speech.pk}"


def _open_archived(speech: SpeechTask, field_name: str):
    file = getattr(speech, field_name)
    if not file:
        return None
    try:
        handle = file.open("rb")
        file.size  # noqa: B018 - raises OSError when the file is gone
    except OSError:
        services.speech_file_missing(task=speech, field_name=field_name)
        return None
    return handle


def _filename(speech: SpeechTask, stored_name: str) -> str:
    extension = PurePosixPath(stored_name).suffix
    return f"{slugify(speech.voice.name, allow_unicode=True) or 'speech'}-speech-{speech.pk}{extension}"
