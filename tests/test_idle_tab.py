"""An open list tab stays light while it waits: the page says which version of each unfinished row it shows,
and the refresh answers 204 No Content, with no header meant for a body, when none changed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from clones.models import CloneTask
from clones.rows import row_version
from tests.factories import completed_task, make_task
from tests.html import task_row

Status = CloneTask.Status


def shown_versions(client) -> list[str]:
    """The `id` values the list page's refresh sends: "pk:version" of each unfinished row."""
    return re.findall(r'class="pending-id" name="id" value="([^"]+)"', client.get("/tasks/").content.decode())


def refresh(client, values: list[str]):
    return client.get("/tasks/refresh/", {"id": values})


def test_the_list_gives_each_unfinished_row_its_version(staff_client):
    waiting = make_task(status=Status.PROCESSING)
    completed_task()
    assert shown_versions(staff_client) == [f"{waiting.pk}:{row_version(waiting)}"]


def test_the_refresh_answers_204_with_no_body_when_no_row_changed(staff_client, django_assert_num_queries):
    make_task(status=Status.QUEUED)
    make_task(status=Status.PROCESSING)
    values = shown_versions(staff_client)
    with django_assert_num_queries(3):  # session, user, the rows: the same as an answer with rows
        response = refresh(staff_client, values)
    assert response.status_code == 204
    assert response.content == b""


def test_the_refresh_sends_only_the_rows_that_changed(staff_client):
    changing = make_task(name="Changing", status=Status.QUEUED)
    still = make_task(name="Still queued", status=Status.QUEUED)
    values = shown_versions(staff_client)
    CloneTask.objects.filter(pk=changing.pk).update(status=Status.PROCESSING)
    response = refresh(staff_client, values)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-status="processing"' in task_row(content, changing)
    assert f'id="task-{still.pk}"' not in content


def test_a_row_the_page_shows_in_an_older_version_is_sent(staff_client):
    task = make_task(status=Status.PROCESSING)
    response = refresh(staff_client, [f"{task.pk}:000000000000"])
    assert response.status_code == 200
    assert 'hx-swap-oob="true"' in task_row(response.content.decode(), task)


def test_a_page_from_before_versions_still_gets_its_rows(staff_client):
    task = make_task(status=Status.PROCESSING)
    response = refresh(staff_client, [str(task.pk)])
    assert f'id="task-{task.pk}"' in response.content.decode()


def test_a_finished_row_is_sent_once_with_its_player_and_then_never_asked_about(staff_client):
    task = make_task(status=Status.PROCESSING)
    values = shown_versions(staff_client)
    CloneTask.objects.filter(pk=task.pk).update(
        status=Status.COMPLETED, model_id="voice_abc", audio_url="https://cdn.example.com/a.wav",
        finished_at=timezone.now(),
    )  # fmt: skip
    row = task_row(refresh(staff_client, values).content.decode(), task)
    assert "voice_abc" in row and "<audio" in row
    assert "pending-id" not in row


def test_a_status_query_that_learns_nothing_new_sends_nothing(staff_client, simulator, form_data):
    """The worker saves a task on every query (updated_at, poll count, last answer): none of that is on the
    row, so a tab asking after such a query hears 204."""
    simulator.state.config.queued_seconds = 600.0  # the service keeps it queued through the test
    staff_client.post("/tasks/new/", form_data())
    call_command("poll_clones")  # the worker sends it: queued
    task = CloneTask.objects.get()
    assert task.status == Status.QUEUED
    values = shown_versions(staff_client)
    CloneTask.objects.update(next_poll_at=timezone.now())
    call_command("poll_clones")  # a status query: still queued
    task.refresh_from_db()
    assert (task.status, task.poll_count) == (Status.QUEUED, 1)
    assert refresh(staff_client, values).status_code == 204


def test_a_row_that_starts_taking_longer_than_usual_is_sent(staff_client, settings):
    task = make_task(status=Status.PROCESSING)
    values = shown_versions(staff_client)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SOUNDCLONE_TASK_SLOW_AFTER + 1)):
        response = refresh(staff_client, values)
    assert "Taking longer than usual" in task_row(response.content.decode(), task)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Renamed"},
        {"archived_at": timezone.now()},
        {
            "checks_failing_since": timezone.now(),
            "check_problem": "The voice service did not answer in time.",
        },
        {"error": "Something went wrong."},
    ],
    ids=["name", "archived", "checks failing", "error"],
)
def test_every_change_the_row_shows_gives_it_a_new_version(db, change):
    task = make_task(status=Status.PROCESSING)
    before = row_version(task)
    for field, value in change.items():
        setattr(task, field, value)
    assert row_version(task) != before


def test_the_workers_bookkeeping_keeps_the_version(db):
    task = make_task(status=Status.PROCESSING)
    before = row_version(task)
    task.updated_at = task.last_polled_at = task.next_poll_at = timezone.now() + timedelta(seconds=5)
    task.poll_count += 1
    task.last_response = {"id": "audio_1", "status": "processing", "progress": 40}
    assert row_version(task) == before


def test_a_204_carries_no_header_meant_for_a_body(staff_client):
    task = make_task(status=Status.PROCESSING)
    response = refresh(staff_client, shown_versions(staff_client))
    assert response.status_code == 204
    assert dict(response.headers) == {"Cache-Control": "no-store"}
    # A page with a body keeps every protection.
    response = refresh(staff_client, [str(task.pk)])
    assert "Content-Security-Policy" in response and response["X-Frame-Options"] == "DENY"


def test_a_204_still_renews_the_session(staff_client, settings):
    make_task(status=Status.PROCESSING)
    values = shown_versions(staff_client)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        response = refresh(staff_client, values)
    assert response.status_code == 204
    assert settings.SESSION_COOKIE_NAME in response.cookies


def test_an_idle_minute_costs_under_4_kb_at_the_default_pace(staff_client, settings):
    """The headers a 204 leaves with, plus what the web server adds (status line, Date, Server), at the
    default pace (SOUNDCLONE_BROWSER_REFRESH_SECONDS, no faster than the worker asks about a young task)."""
    make_task(status=Status.PROCESSING)
    response = refresh(staff_client, shown_versions(staff_client))
    headers = sum(len(f"{name}: {value}\r\n") for name, value in response.headers.items())
    server_lines = len(
        "HTTP/1.1 204 No Content\r\nServer: gunicorn\r\nDate: Thu, 26 Nov 2026 10:36:00 GMT\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    assert settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS == settings.SOUNDCLONE_POLL_INTERVAL == 5
    per_minute = 60 / settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS * (headers + server_lines)
    assert per_minute < 4000 / 2, per_minute  # half the budget: room for a row that does change


def test_the_refresh_is_refused_to_a_stranger(anonymous_client):
    response = anonymous_client.get("/tasks/refresh/?id=1:abc")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
