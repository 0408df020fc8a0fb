"""The admin site reads the record of tasks; it cannot rewrite or delete it, even for a superuser.

What was sent to the service and what it answered is the history staff rely on; name and notes are changed
on the studio's pages, where each change is recorded. Nothing is ever deleted (archived instead).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from clones.models import CloneTask, TaskEvent
from tests.factories import completed_task

CHANGE_LIST = "/admin/clones/clonetask/"


@pytest.fixture
def superuser_client(db) -> Client:
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def task(db) -> CloneTask:
    task = completed_task(name="Narrator", notes="As sent")
    TaskEvent.objects.create(task=task, at=timezone.now(), kind="poll", http_status=200, outcome="completed")
    return task


def _as_submitted(task: CloneTask) -> dict:
    return {"name": "Rewritten", "notes": "Rewritten", "file_url": "https://evil.example.com/a.mp3",
            "content_text": "Rewritten", "sound_version": "v2", "language": "Chinese",
            "events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1",
            "events-0-id": str(task.events.get().pk), "events-0-DELETE": "on"}  # fmt: skip


def test_a_superuser_reads_a_task_and_its_history_in_the_admin(superuser_client, task):
    response = superuser_client.get(f"{CHANGE_LIST}{task.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Narrator" in content and "As sent" in content and "completed" in content
    assert 'name="name"' not in content  # shown as text, not as a field
    assert 'name="_save"' not in content
    assert "events-0-DELETE" not in content
    assert f"{CHANGE_LIST}{task.pk}/delete/" not in content


def test_no_field_of_a_task_can_be_changed_in_the_admin(superuser_client, task):
    before = CloneTask.objects.values().get(pk=task.pk)
    response = superuser_client.post(f"{CHANGE_LIST}{task.pk}/change/", _as_submitted(task))
    assert response.status_code == 403
    assert CloneTask.objects.values().get(pk=task.pk) == before
    assert task.events.count() == 1


def test_a_task_cannot_be_added_in_the_admin(superuser_client, task):
    assert superuser_client.get(f"{CHANGE_LIST}add/").status_code == 403
    response = superuser_client.post(f"{CHANGE_LIST}add/", _as_submitted(task))
    assert response.status_code == 403
    assert CloneTask.objects.count() == 1
    assert f'href="{CHANGE_LIST}add/"' not in superuser_client.get(CHANGE_LIST).content.decode()


def test_a_task_cannot_be_deleted_in_the_admin(superuser_client, task):
    assert superuser_client.get(f"{CHANGE_LIST}{task.pk}/delete/").status_code == 403
    assert superuser_client.post(f"{CHANGE_LIST}{task.pk}/delete/", {"post": "yes"}).status_code == 403
    assert CloneTask.objects.filter(pk=task.pk).exists()


def test_the_list_offers_no_bulk_delete_and_refuses_one_asked_for_anyway(superuser_client, task):
    page = superuser_client.get(CHANGE_LIST)
    assert page.status_code == 200
    assert "delete_selected" not in page.content.decode()
    superuser_client.post(
        CHANGE_LIST, {"action": "delete_selected", "_selected_action": [task.pk], "post": "yes", "index": "0"}
    )
    assert CloneTask.objects.filter(pk=task.pk).exists()
    assert task.events.count() == 1


def test_task_events_have_no_admin_page_of_their_own(superuser_client, task):
    assert superuser_client.get("/admin/clones/taskevent/").status_code == 404


@pytest.mark.parametrize("model", ["speechtask", "taskchange"])
def test_speech_tasks_and_the_change_history_are_read_only_too(superuser_client, model):
    assert superuser_client.get(f"/admin/clones/{model}/?q=voice").status_code == 200
    assert superuser_client.get(f"/admin/clones/{model}/add/").status_code == 403
