from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clones import services
from clones.forms import CONSENT_TEXT, CloneForm
from clones.models import CloneTask

logger = logging.getLogger(__name__)

TASKS_PER_PAGE = 50
# A page never asks about more rows than it can show.
MAX_REFRESH_IDS = TASKS_PER_PAGE

Status = CloneTask.Status


@require_GET
@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    tasks = CloneTask.objects.filter(archived_at__isnull=True).select_related("submitted_by")
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "clones/task_list.html", {"page": page, "tasks": page.object_list})


@require_GET
@login_required
@never_cache
def task_refresh(request: HttpRequest) -> HttpResponse:
    """The rows the page is still waiting for, read from our database (never from the service)."""
    ids = [int(value) for value in request.GET.getlist("id")[:MAX_REFRESH_IDS] if value.isdigit()]
    tasks = CloneTask.objects.filter(pk__in=ids).select_related("submitted_by") if ids else []
    return render(request, "clones/task_list.html#refreshed-rows", {"tasks": tasks})


@require_http_methods(["GET", "POST"])
@login_required
def task_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "clones/task_form.html", {"form": CloneForm()})
    form = CloneForm(request.POST)
    if not form.is_valid():
        return render(request, "clones/task_form.html", {"form": form}, status=400)
    data = form.cleaned_data
    try:
        task = services.task_submit(
            user=request.user,
            name=data["name"],
            notes=data["notes"],
            file_url=data["file_url"],
            content_text=data["content_text"],
            sound_version=data["sound_version"],
            language=data["language"],
            form_token=data["form_token"],
            consent_text=str(CONSENT_TEXT),
        )
    except services.SubmissionRejected as exc:
        form.add_error(
            "file_url", _("The voice service refused this clip: %(reason)s") % {"reason": exc.message}
        )
        return render(request, "clones/task_form.html", {"form": form}, status=400)
    except services.DuplicateSubmission as exc:
        messages.info(request, _("This form was already submitted; here is the task it created."))
        return redirect_to_task(exc.task)
    for notice in form.notices:
        messages.info(request, notice)
    _announce_outcome(request, task)
    return redirect_to_task(task)


@require_POST
@login_required
def task_resend(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(CloneTask, pk=pk)
    if not services.task_resend(task=task):
        messages.info(request, _("This task cannot be sent again."))
    else:
        task.refresh_from_db()
        _announce_outcome(request, task)
    return redirect_to_task(task)


@require_GET
@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(CloneTask.objects.select_related("submitted_by"), pk=pk)
    return render(request, "clones/task_detail.html", {"task": task})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the database answers and a poller beat within the last minute; 503 with the reason if not.

    Open to anyone (load balancers and the container's HEALTHCHECK do not sign in), so it says nothing else.
    """
    # Local imports: this function is the only user of them in this module.
    from datetime import timedelta

    from django.utils import timezone

    from clones.models import PollerHeartbeat

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


def redirect_to_task(task: CloneTask) -> HttpResponse:
    """Back to the list, where the task shows at the top (the list is newest first)."""
    return redirect(reverse("clones:task-list") + f"#task-{task.pk}")


def _announce_outcome(request: HttpRequest, task: CloneTask) -> None:
    if task.status in (Status.QUEUED, Status.PROCESSING, Status.COMPLETED):
        messages.success(request, _("Sent. The voice service is cloning “%(name)s”.") % {"name": task.name})
    elif task.status == Status.RETRYING:
        messages.warning(
            request,
            _("The voice service is busy. We will keep trying to send “%(name)s”.") % {"name": task.name},
        )
    elif task.status == Status.UNCERTAIN:
        messages.warning(request, _(task.error))
    else:
        messages.error(request, _(task.error) if task.error else _("The task was not sent."))
