"""Tasks as the tests need them, written straight to the database (no service calls)."""

from __future__ import annotations

import threading

from django.db import connections
from django.utils import timezone

from clones import services
from clones.models import CloneTask


def make_task(**fields) -> CloneTask:
    """A queued task with plausible inputs; keyword arguments change any field."""
    values = {
        "name": "Narrator",
        "file_url": "https://media.example.com/a.mp3",
        "sound_version": "v1",
        "language": "English",
        "status": CloneTask.Status.QUEUED,
    }
    values.update(fields)
    return CloneTask.objects.create(**values)


def completed_task(**fields) -> CloneTask:
    """A task the service finished just now, with its modelId, preview link and last response."""
    values = {
        "status": CloneTask.Status.COMPLETED,
        "model_id": "voice_0123456789abcdef",
        "audio_url": "https://cdn.example.com/a.wav?sig=1",
        "finished_at": timezone.now(),
        "upstream_id": "audio_5b0c",
        "last_response": {"id": "audio_5b0c", "status": "completed", "modelId": "voice_0123456789abcdef"},
    }
    values.update(fields)
    return make_task(**values)


def worker_thread(task) -> threading.Thread:
    """The worker's task_sync on `task` in another thread, as a second process would run it; the thread
    closes its own database connection when done (PostgreSQL will not drop a test database still in use)."""

    def sync() -> None:
        try:
            services.task_sync(task=type(task).objects.get(pk=task.pk))
        finally:
            connections.close_all()

    return threading.Thread(target=sync)
