from __future__ import annotations

import json
import logging
import mimetypes
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath
from typing import BinaryIO
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.db.models import Q, QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clones import clips, exports, local_time, service_messages, services
from clones.forms import CONSENT_TEXT, MAX_URL_LENGTH, CloneForm, TaskDetailsForm, TaskFilterForm
from clones.models import SEARCHED_FIELDS, Clip, CloneTask, PollerHeartbeat
from clones.pagination import ListPage
from clones.rows import row_version

logger = logging.getLogger(__name__)

TASKS_PER_PAGE = 50
# The duplicate warning names this many earlier tasks and links the list for the rest.
DUPLICATES_SHOWN = 5
# A comparison is of a pair, or a few tries side by side; more would not fit side by side.
MAX_COMPARED = 4
# A page never asks about more rows than it can show.
MAX_REFRESH_IDS = TASKS_PER_PAGE

Status = CloneTask.Status


@dataclass(frozen=True)
class DuplicateMatches:
    """Earlier tasks made from one media URL, for the form's warning."""

    tasks: list[CloneTask]
    has_more: bool
    search_url: str

    def __bool__(self) -> bool:
        return bool(self.tasks)


# ASCII digits only: \d would also match "²", which int() refuses.
RANGE_PATTERN = re.compile(r"bytes=([0-9]*)-([0-9]*)")
# Primary keys are 64-bit signed integers (BigAutoField) on SQLite and PostgreSQL alike.
MAX_DATABASE_ID = 2**63 - 1


@require_GET
@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    """The team's shared list: searched, filtered and ordered from the URL, one page at a time."""
    filters = TaskFilterForm(request.GET)
    page = ListPage(_filtered_tasks(filters, request.user), request.GET.get("page"), per_page=TASKS_PER_PAGE)
    context = {
        "filters": filters,
        "filter_query": filters.query(),
        "page": page,
        "tasks": page.object_list,
    }
    return render(request, "clones/task_list.html", context)


@require_GET
@login_required
def task_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV, streamed row by row: UTF-8 with a BOM, so that Excel reads Chinese right."""
    filters = TaskFilterForm(request.GET)
    tasks = _filtered_tasks(filters, request.user)
    # Worked out now, in the reader's language: the rows are written after this view has returned.
    header = [
        _("Name"),
        _("modelId"),
        _("Model version"),
        _("Language"),
        _("Status"),
        _("Submitted by"),
        _("Submitted at"),
        _("modelId expires at"),
        _("Media URL"),
        *exports.clip_header(),
    ]
    status_labels = {value: str(label) for value, label in Status.choices}
    filename = f"soundclone-voices-{timezone.localtime():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(
        exports.csv_rows(tasks, header=header, status_labels=status_labels),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
@never_cache
def task_rows(request: HttpRequest) -> HttpResponse:
    """The rows the page is still waiting for, read from our database (never from the service): only those
    that changed since the version the page shows ("id=pk:version"), and 204 No Content when none did.

    An open tab asks every few seconds, mostly to hear that nothing changed: that answer has no body.
    """
    shown: dict[int, str] = {}
    for value in request.GET.getlist("id")[:MAX_REFRESH_IDS]:
        text, _colon, version = value.partition(":")
        if pk := database_id(text):
            shown[pk] = version  # a bare "pk" (a page from before versions) never matches: its row is sent
    tasks = CloneTask.objects.filter(pk__in=shown).select_related("submitted_by") if shown else []
    changed = [task for task in tasks if row_version(task) != shown[task.pk]]
    if not changed:
        return HttpResponse(status=204)
    return render(request, "clones/task_list.html#refreshed-rows", {"tasks": changed})


@require_http_methods(["GET", "POST"])
@login_required
def task_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # "Clone again": the form prefilled with another task's inputs (consent is asked afresh).
        source = _clone_source(request.GET.get("from", ""))
        form = CloneForm(initial=_inputs_of(source) if source else None)
        return _render_form(request, form, source=source)
    form = CloneForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_form(request, form, status=400)
    try:
        if form.cleaned_data["both_versions"]:
            return _submit_both_versions(request, form)
        task = services.task_submit(
            user=request.user, sound_version=form.cleaned_data["sound_version"], **_submission_inputs(form)
        )
    except services.DuplicateSubmission as exc:
        messages.info(request, _("This form was already submitted; here is the task it created."))
        return redirect_to_task(exc.task)
    except DatabaseError:
        return _not_saved(request, form)
    for notice in form.notices:
        messages.info(request, notice)
    _announce_stored(request, task)
    return redirect_to_task(task)


@require_http_methods(["GET", "POST"])
@login_required
def task_fix(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Fix and send again": the form filled in with a refused task's inputs, the service's reason beside
    the field; sending it replaces the task's inputs and queues it again (one voice, one row)."""
    task = _task_for_change(request, pk)
    if not task.is_refused:
        messages.info(request, _("Only a clip the voice service refused can be fixed and sent again."))
        return redirect(task)
    if request.method == "GET":
        data = {**_inputs_of(task), "consent": "on", "form_token": uuid.uuid4()}
        if task.clip_id is None and task.file_url:
            data["send_unchecked"] = "on"  # it went unchecked before; a new link is checked as it is typed
        form = CloneForm(data=data, user=request.user)
        form.is_valid()
        _show_refusal(form, task.error)
        return _render_form(request, form, fixing=task)
    form = CloneForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_form(request, form, fixing=task, status=400)
    data = form.cleaned_data
    try:
        fixed = services.task_fix_and_resend(
            task=task,
            user=request.user,
            name=data["name"],
            notes=data["notes"],
            file_url=data["file_url"],
            content_text=data["content_text"],
            sound_version=data["sound_version"],
            language=data["language"],
            clip=form.checked_clip,
            clip_start=data.get("clip_start"),
            clip_end=data.get("clip_end"),
        )
    except DatabaseError:
        return _not_saved(request, form, fixing=task)
    if fixed:
        for notice in form.notices:
            messages.info(request, notice)
        _announce_stored(request, task)
    return redirect_to_task(task)


@require_GET
@login_required
def task_check_url(request: HttpRequest) -> HttpResponse:
    """The form's duplicate warning for the media URL typed so far: a fragment the form swaps in."""
    duplicates = _earlier_tasks(request.GET.get("file_url", ""))
    return render(request, "clones/task_form.html#duplicates", {"duplicates": duplicates})


@require_GET
@login_required
def task_compare(request: HttpRequest) -> HttpResponse:
    """Tasks side by side (a "both versions" pair, usually): /tasks/compare/?ids=12,13."""
    ids = _ids_from(request.GET.get("ids", ""))
    by_pk = CloneTask.objects.select_related("submitted_by").in_bulk(ids)
    tasks = [by_pk[pk] for pk in ids if pk in by_pk]
    if not tasks:
        raise Http404
    # After "Keep this one": which voice was kept and which it archived ("Undo" puts those back).
    kept = by_pk.get(database_id(request.GET.get("kept", "")) or 0)
    archived = [by_pk[pk] for pk in _ids_from(request.GET.get("archived", "")) if pk in by_pk]
    choices = [(task, _others_to_archive(task, tasks, request.user)) for task in tasks]
    context = {
        "tasks": tasks,
        "ids_text": ",".join(str(task.pk) for task in tasks),
        "choices": choices,
        "has_keep": any(others for _task, others in choices),
        "kept": kept,
        "undo_tasks": [task for task in archived if task.is_archived and task != kept] if kept else [],
    }
    return render(request, "clones/task_compare.html", context)


def _others_to_archive(kept: CloneTask, tasks: list[CloneTask], user: AbstractBaseUser) -> str:
    """The ids "Keep this one" on `kept` would archive (comma-separated), or "" when it is not offered:
    nothing else is on the list, or this person may not archive every other one (CloneTask.can_be_changed_by).
    """
    others = [task for task in tasks if task.pk != kept.pk and not task.is_archived]
    if not others or kept.is_archived or not all(task.can_be_changed_by(user) for task in others):
        return ""
    return ",".join(str(task.pk) for task in others)


@require_POST
@login_required
def task_compare_keep(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Keep this one" on the compare page: archive the other voices compared, or (with `undo`) put back
    the ones it archived. Both go through services (task_archive, task_restore), which record who did it."""
    kept = get_object_or_404(CloneTask, pk=pk)
    is_undo = bool(request.POST.get("undo"))
    others = [
        task
        for task in CloneTask.objects.select_related("submitted_by").filter(
            pk__in=_ids_from(request.POST.get("others", ""))
        )
        if task.pk != kept.pk
    ]
    if not all(task.can_be_changed_by(request.user) for task in others):
        raise PermissionDenied
    compare_ids = _ids_from(request.POST.get("ids", "")) or [kept.pk]
    compare_url = reverse("clones:task-compare") + "?" + urlencode({"ids": ",".join(map(str, compare_ids))})
    if is_undo:
        restored = [task for task in others if services.task_restore(task=task, user=request.user)]
        if restored:
            messages.success(request, _("Undone. Back in the list: %(names)s.") % {"names": _names(restored)})
        return redirect(compare_url)
    archived = [task for task in others if services.task_archive(task=task, user=request.user)]
    if not archived:
        messages.info(request, _("The other voices were already archived."))
        return redirect(compare_url)
    return redirect(
        compare_url
        + "&"
        + urlencode({"kept": kept.pk, "archived": ",".join(str(task.pk) for task in archived)})
    )


def _names(tasks: list[CloneTask]) -> str:
    return ", ".join(
        _("“%(name)s” (%(version)s)") % {"name": task.name, "version": task.sound_version} for task in tasks
    )


@require_POST
@login_required
def task_resend(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    if services.task_resend(task=task, user=request.user):
        _announce_stored(request, task)
    else:
        messages.info(request, _("This task cannot be sent again."))
    return redirect_to_task(task)


@require_GET
@login_required
def task_audio(request: HttpRequest, pk: int) -> HttpResponse:
    """Our archived copy of a preview, with byte ranges so that players can seek; `?download=1` saves it."""
    task = get_object_or_404(CloneTask, pk=pk, status=Status.COMPLETED)
    if task.audio_file:
        try:
            handle = task.audio_file.open("rb")
            size = task.audio_file.size
        except OSError:
            # Our copy vanished: play the service's link meanwhile, and have the worker copy it again.
            services.task_preview_missing(task=task)
    if not task.audio_file:
        if task.player_url:
            # Not copied (yet): the service's own link still works for a while.
            return redirect(task.player_url)
        raise Http404
    content_type = mimetypes.guess_type(task.audio_file.name)[0] or "application/octet-stream"
    if request.GET.get("download"):
        extension = PurePosixPath(task.audio_file.name).suffix
        filename = (
            f"{slugify(task.name, allow_unicode=True) or 'preview'}-{task.model_id or task.pk}{extension}"
        )
        response: HttpResponse = FileResponse(
            handle, as_attachment=True, filename=filename, content_type=content_type
        )
    else:
        response = _ranged_response(handle, size, content_type, request.headers.get("Range", ""))
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(CloneTask.objects.select_related("submitted_by", "archived_by"), pk=pk)
    return _render_detail(request, task, TaskDetailsForm(initial={"name": task.name, "notes": task.notes}))


@require_POST
@login_required
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a task's name and notes, the only things that can be changed after submitting."""
    task = _task_for_change(request, pk)
    form = TaskDetailsForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, task, form, status=400)
    if services.task_update_details(
        task=task, user=request.user, name=form.cleaned_data["name"], notes=form.cleaned_data["notes"]
    ):
        messages.success(request, _("Saved the name and notes."))
    return redirect(task)


@require_POST
@login_required
def task_archive(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    if services.task_archive(task=task, user=request.user):
        messages.success(
            request,
            _("“%(name)s” is archived: it no longer shows in the list. You can restore it at any time.")
            % {"name": task.name},
        )
    return _redirect_back(request, task)


@require_POST
@login_required
def task_restore(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    if services.task_restore(task=task, user=request.user):
        messages.success(request, _("“%(name)s” is back in the list.") % {"name": task.name})
    return _redirect_back(request, task)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the database answers and a poller beat within the last minute; 503 with the reason if not.

    Open to anyone (load balancers and the container's HEALTHCHECK do not sign in), so it says nothing else.
    """
    # Pollers beat every ~10 s (poll_clones.HEARTBEAT_SECONDS): a minute of silence means none is running.
    poller_max_silence = timedelta(seconds=60)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        last_beat = PollerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    except Exception:
        logger.exception("health check: database unavailable")
        return JsonResponse({"status": "error", "reason": "database unavailable"}, status=503)
    if last_beat is None or timezone.now() - last_beat > poller_max_silence:
        logger.warning("health check: no poller heartbeat since %s", last_beat)
        return JsonResponse(
            {"status": "error", "reason": "poller has not run in the last minute"}, status=503
        )
    return JsonResponse({"status": "ok"})


def _filtered_tasks(filters: TaskFilterForm, user: AbstractBaseUser) -> QuerySet[CloneTask]:
    """The tasks the list's search and filters select, in the chosen order (the list and the export)."""
    values = filters.values
    tasks = CloneTask.objects.archived() if values.get("archived") else CloneTask.objects.active()
    if values.get("q"):
        tasks = _search(tasks, values["q"])
    if values.get("submitter"):
        tasks = tasks.filter(submitted_by__username=values["submitter"])
    if values.get("attention"):
        tasks = tasks.needs_attention(timezone.now())
    if values.get("status"):
        tasks = tasks.filter(status=values["status"])
    if values.get("version"):
        tasks = tasks.filter(sound_version=values["version"])
    if values.get("language"):
        tasks = tasks.filter(language=values["language"])
    if values.get("expiring"):
        tasks = tasks.expiring_soon(timezone.now())
    if values.get("mine"):
        tasks = tasks.filter(submitted_by=user)
    order = ("created_at", "pk") if filters.is_oldest_first else ("-created_at", "-pk")
    return tasks.select_related("submitted_by").order_by(*order)


def _search(tasks: QuerySet[CloneTask], text: str) -> QuerySet[CloneTask]:
    """Every word must match the task's own fields (CloneTaskQuerySet.search) or who submitted it."""
    for word in text.split():
        matches = Q(submitted_by__username__icontains=word)
        for field in SEARCHED_FIELDS:
            matches |= Q(**{f"{field}__icontains": word})
        tasks = tasks.filter(matches)
    return tasks


def _task_for_change(request: HttpRequest, pk: int) -> CloneTask:
    """The task a person asks to change, if the one rule lets them (CloneTask.can_be_changed_by)."""
    task = get_object_or_404(CloneTask.objects.select_related("submitted_by", "archived_by"), pk=pk)
    if not task.can_be_changed_by(request.user):
        raise PermissionDenied
    return task


def _render_form(
    request: HttpRequest,
    form: CloneForm,
    *,
    source: CloneTask | None = None,
    fixing: CloneTask | None = None,
    status: int = 200,
) -> HttpResponse:
    """The clone form, with the warning about earlier clones of its media URL when there are any."""
    if form.is_bound:
        file_url = getattr(form, "cleaned_data", {}).get("file_url") or form.data.get("file_url", "")
    else:
        file_url = form.initial.get("file_url", "")
    context = {
        "form": form,
        "source": source,
        "fixing": fixing,
        "duplicates": _earlier_tasks(file_url),
        "clip": _form_clip(request, form),
        "can_host_clips": clips.can_host_clips(),
        "hosting_missing_message": clips.hosting_missing_message(),
    }
    return render(request, "clones/task_form.html", context, status=status)


def _form_clip(request: HttpRequest, form: CloneForm) -> Clip | None:
    """The clip the form names (sent back after an error, or "Clone again" and "Fix"), to show its check."""
    if form.checked_clip is not None:
        return form.checked_clip
    token = form.data.get("clip") if form.is_bound else form.initial.get("clip")
    return clips.clip_by_token(request.user, token) if token else None


def _not_saved(request: HttpRequest, form: CloneForm, *, fixing: CloneTask | None = None) -> HttpResponse:
    """The database refused the write (locked, restarting): the form comes back whole, with a plain 503."""
    logger.exception("could not store a submission")
    form.add_error(
        None,
        _(
            "The studio could not save this just now. Nothing was sent and everything you typed is still "
            "here: please try again in a moment."
        ),
    )
    return _render_form(request, form, fixing=fixing, status=503)


def _submission_inputs(form: CloneForm) -> dict:
    """What a submission takes from the form, whichever model versions it goes to."""
    data = form.cleaned_data
    return {
        "name": data["name"],
        "notes": data["notes"],
        "file_url": data["file_url"],
        "content_text": data["content_text"],
        "language": data["language"],
        "form_token": data["form_token"],
        "consent_text": str(CONSENT_TEXT),
        "clip": form.checked_clip,
        "clip_start": data.get("clip_start"),
        "clip_end": data.get("clip_end"),
    }


def _show_refusal(form: CloneForm, reason: str) -> None:
    """The service's reason, in plain words, beside the media URL, with everything the user typed kept.

    A problem of the team's account (no balance, a refused key) is not the clip's: task_form.html says it at
    the top of the form instead, and no field is marked.
    """
    refusal = service_messages.explain(reason)
    if refusal.is_account_problem:
        return
    message = _("The voice service refused this clip. %(reason)s") % {"reason": refusal.text}
    form.add_error("file_url", message)


def _submit_both_versions(request: HttpRequest, form: CloneForm) -> HttpResponse:
    try:
        first, second = services.task_submit_both_versions(user=request.user, **_submission_inputs(form))
    except services.DuplicatePairSubmission as exc:
        messages.info(request, _("This form was already submitted; here are the tasks it created."))
        return redirect(_compare_url(exc.tasks))
    for notice in form.notices:
        messages.info(request, notice)
    for task in (first, second):
        _announce_stored(request, task)
    return redirect(_compare_url((first, second)))


def _render_detail(
    request: HttpRequest, task: CloneTask, details_form: TaskDetailsForm, *, status: int = 200
) -> HttpResponse:
    twins = []
    if task.pair_token:
        twins = list(
            CloneTask.objects.filter(pair_token=task.pair_token).exclude(pk=task.pk).order_by("sound_version")
        )
    context = {
        "task": task,
        "details_form": details_form,
        "can_change": task.can_be_changed_by(request.user),
        "changes": task.changes.select_related("by")[:50],
        "download_url": _download_url(task),
        "last_response": _pretty_json(task.last_response),
        "twins": twins,
        "compare_url": _compare_url((task, *twins)) if twins else "",
    }
    return render(request, "clones/task_detail.html", context, status=status)


def _clone_source(value: str) -> CloneTask | None:
    pk = database_id(value)
    return CloneTask.objects.filter(pk=pk).first() if pk else None


def _inputs_of(task: CloneTask) -> dict:
    """What a staff member typed for a task: the starting point of "Clone again"."""
    inputs = {
        "name": task.name,
        "clip_source": task.clip_source or Clip.Source.LINK,
        "file_url": task.file_url,
        "content_text": task.content_text,
        "sound_version": task.sound_version,
        "language": task.language,
        "notes": task.notes,
    }
    if task.clip_id:
        # The same checked clip (and the same part of it) again, if it is still the person's to use.
        inputs.update(clip=task.clip.token, clip_start=task.clip_start or "", clip_end=task.clip_end or "")
    return inputs


def _earlier_tasks(file_url: str) -> DuplicateMatches:
    """Earlier tasks made from this media URL (as typed, or as we would store it after encoding)."""
    file_url = file_url.strip()
    # A NUL is in no stored link, and PostgreSQL refuses it in a query parameter (an error, not "no match").
    if not file_url or len(file_url) > MAX_URL_LENGTH or "\x00" in file_url:
        return DuplicateMatches([], has_more=False, search_url="")
    candidates = {file_url, iri_to_uri(file_url)}
    matches = list(
        CloneTask.objects.filter(file_url__in=candidates)
        .select_related("submitted_by")
        .order_by("-created_at", "-pk")[: DUPLICATES_SHOWN + 1]
    )
    search_url = reverse("clones:task-list") + "?" + urlencode({"q": iri_to_uri(file_url)})
    return DuplicateMatches(
        matches[:DUPLICATES_SHOWN], has_more=len(matches) > DUPLICATES_SHOWN, search_url=search_url
    )


def database_id(text: str) -> int | None:
    """The positive database id written in `text` (ASCII digits only, within a 64-bit key), or None.

    Every id that comes from a URL goes through here: str.isdigit() also accepts "²" and "①", which int()
    refuses, and a number past the key's range makes SQLite raise OverflowError.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    if not digits or len(digits) > len(str(MAX_DATABASE_ID)):
        return None
    value = int(digits)
    return value if value <= MAX_DATABASE_ID else None


def _ids_from(value: str) -> list[int]:
    ids: list[int] = []
    for part in value.split(","):
        pk = database_id(part.strip())
        if pk and pk not in ids:
            ids.append(pk)
    return ids[:MAX_COMPARED]


def _compare_url(tasks: tuple[CloneTask, ...]) -> str:
    return reverse("clones:task-compare") + "?" + urlencode({"ids": ",".join(str(task.pk) for task in tasks)})


def _download_url(task: CloneTask) -> str:
    """Where the Download button fetches the preview: task_audio sends our copy as an attachment."""
    if not task.has_preview:
        return ""
    return reverse("clones:task-audio", args=[task.pk]) + "?download=1"


def _pretty_json(value: object) -> str:
    """The service's last answer, indented for reading; the template escapes it."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _redirect_back(request: HttpRequest, task: CloneTask) -> HttpResponse:
    """Back to the page the button was on (a list with its filters), or else to the task's page."""
    next_url = _safe_next_url(request, request.POST.get("next", ""))
    if next_url:
        return HttpResponseRedirect(next_url)
    return redirect(task)


def _safe_next_url(request: HttpRequest, next_url: str) -> str:
    """next_url if it is a path on this site, else "". A path only: redirect() takes "abc" for the name of
    a view (NoReverseMatch, a 500), and url_has_allowed_host_and_scheme lets "abc" through."""
    if next_url.startswith("/") and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""


def redirect_to_task(task: CloneTask) -> HttpResponse:
    """Back to the list, where the task shows at the top (the list is newest first).

    No #task-<id> in the address: on a list longer than the screen the browser would scroll the row to the
    top edge, taking the message about it (and the header) off the screen."""
    return redirect(reverse("clones:task-list"))


def _announce_stored(request: HttpRequest, task: CloneTask) -> None:
    messages.success(
        request,
        _("Saved. “%(name)s” is being sent to the voice service; its row shows how it goes.")
        % {"name": task.name},
    )


def _ranged_response(handle: BinaryIO, size: int, content_type: str, range_header: str) -> HttpResponse:
    """The whole file, or the one byte range asked for (RFC 9110 single ranges; multi-range gets the file)."""
    match = RANGE_PATTERN.fullmatch(range_header.strip())
    if not match:
        return FileResponse(handle, content_type=content_type)
    first, last = (_range_number(text) for text in match.groups())
    if first is not None:
        start = first
        end = min(last, size - 1) if last is not None else size - 1
    elif last is not None:
        start = max(size - last, 0)
        end = size - 1
    else:
        start, end = 0, -1
    if start > end or start >= size:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle.seek(start)
    body = handle.read(end - start + 1)
    handle.close()
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _range_number(text: str) -> int | None:
    """A position from a Range header; None when absent. A number longer than any file is "past the end"
    (int() refuses strings of more than 4,300 digits, and no file is 10**19 bytes long)."""
    if not text:
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= len(str(MAX_DATABASE_ID)) else MAX_DATABASE_ID + 1


@require_http_methods(["GET", "POST"])
@login_required
def time_zone_edit(request: HttpRequest) -> HttpResponse:
    """The zone this person reads times in: picked from a list, or reported once by their browser.

    timezone.js posts `detected=1` with the browser's zone when none is stored; that report never overrides a
    zone the person picked, and is answered with JSON (the zone now stored) instead of a page.
    """
    next_url = _safe_next_url(request, request.POST.get("next") or request.GET.get("next") or "")
    next_url = next_url or reverse("clones:task-list")
    current = timezone.get_current_timezone_name()
    if request.method == "GET":
        return _render_time_zone_form(request, selected=current, next_url=next_url)
    name = request.POST.get("time_zone", "")
    is_detected = request.POST.get("detected") == "1"
    if not local_time.is_time_zone_name(name):
        if is_detected:
            return JsonResponse({"error": "unknown time zone"}, status=400)
        return _render_time_zone_form(
            request,
            selected=current,
            next_url=next_url,
            error=_("Please choose a time zone from the list."),
            status=400,
        )
    stored = local_time.time_zone_store(user=request.user, name=name, only_if_unset=is_detected)
    request.session[local_time.SESSION_KEY] = stored
    if is_detected:
        # The page was written in the zone active now; timezone.js reloads it only if its times would change
        # ("Etc/UTC" for "UTC" would not).
        now = timezone.now()
        shown_before = local_time.local_datetime(now)
        with timezone.override(local_time.zone_named(stored)):
            shows_other_times = local_time.local_datetime(now) != shown_before
        return JsonResponse({"time_zone": stored, "shows_other_times": shows_other_times})
    messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": stored})
    return HttpResponseRedirect(next_url)


def _render_time_zone_form(
    request: HttpRequest, *, selected: str, next_url: str, error: str = "", status: int = 200
) -> HttpResponse:
    now = timezone.now()
    choices = [
        (name, f"{name} ({local_time.offset_label(now.astimezone(local_time.zone_named(name)))})")
        for name in local_time.time_zone_names()
    ]
    context = {"choices": choices, "selected": selected, "next_url": next_url, "error": error}
    return render(request, "clones/time_zone.html", context, status=status)
