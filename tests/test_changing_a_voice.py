"""Changing a voice after it was submitted: one rule for who may, a record of every change, "Fix and send
again" for what the service refused, and a submission that survives a database that cannot write."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from clones import services
from clones.models import CloneTask, TaskChange
from tests import factories

Status = CloneTask.Status
pytestmark = pytest.mark.django_db


def row_of(content: str, task: CloneTask) -> str:
    match = re.search(rf'<li [^>]*id="task-{task.pk}".*?</li>', content, re.S)
    assert match, f"no row for task {task.pk}"
    return match.group(0)


# Every change a person can make to a voice, as (url suffix, form data, a task it applies to).
CHANGES = {
    "rename": ("edit/", {"name": "Taken over", "notes": "mine now"}, {}),
    "archive": ("archive/", {}, {}),
    "restore": ("restore/", {}, {"archived_at": timezone.now()}),
    "resend": ("resend/", {}, {"status": Status.NOT_SENT}),
    "fix": (
        "fix/",
        {
            "name": "Fixed",
            "file_url": "https://media.example.com/b.mp3",
            "sound_version": "v1",
            "language": "English",
            "consent": "on",
            "form_token": "6c1b2f7e-0a4e-4e5c-8d1e-2f3a4b5c6d7e",
            "send_unchecked": "on",
        },
        {"status": Status.REFUSED, "error": "too short"},
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_nobody_but_the_submitter_or_an_administrator_may_change_a_voice(
    other_staff_client, staff_user, change
):
    suffix, data, fields = CHANGES[change]
    task = factories.make_task(submitted_by=staff_user, name="Theirs", **fields)
    before = CloneTask.objects.filter(pk=task.pk).values().get()
    response = other_staff_client.post(f"/tasks/{task.pk}/{suffix}", data)
    assert response.status_code == 403
    assert CloneTask.objects.filter(pk=task.pk).values().get() == before
    assert not TaskChange.objects.exists()


@pytest.mark.parametrize("change", CHANGES)
def test_the_submitter_may_make_each_change_and_it_is_recorded(staff_client, staff_user, simulator, change):
    suffix, data, fields = CHANGES[change]
    task = factories.make_task(submitted_by=staff_user, name="Mine", **fields)
    response = staff_client.post(f"/tasks/{task.pk}/{suffix}", data)
    assert response.status_code == 302
    changes = TaskChange.objects.filter(task=task)
    assert changes.exists()
    assert {(made.by, made.at > timezone.now() - timedelta(minutes=1)) for made in changes} == {
        (staff_user, True)
    }


@pytest.mark.parametrize("change", CHANGES)
def test_an_administrator_may_make_each_change_to_anyones_voice(
    administrator_client, administrator, staff_user, simulator, change
):
    suffix, data, fields = CHANGES[change]
    task = factories.make_task(submitted_by=staff_user, name="Theirs", **fields)
    assert administrator_client.post(f"/tasks/{task.pk}/{suffix}", data).status_code == 302
    assert set(TaskChange.objects.filter(task=task).values_list("by", flat=True)) == {administrator.pk}


def test_a_colleagues_voice_page_offers_no_changes_and_says_who_can(other_staff_client, staff_user):
    task = factories.make_task(submitted_by=staff_user, status=Status.NOT_SENT, error="x")
    content = other_staff_client.get(f"/tasks/{task.pk}/").content.decode()
    assert f'action="/tasks/{task.pk}/edit/"' not in content
    assert f'action="/tasks/{task.pk}/archive/"' not in content
    assert f'action="/tasks/{task.pk}/resend/"' not in content
    assert "Only the person who submitted this voice, or an administrator, can change it." in content


def test_the_voice_page_lists_every_change_with_who_and_when(staff_client, staff_user, administrator):
    task = factories.make_task(submitted_by=staff_user, name="First name")
    services.task_update_details(task=task, user=staff_user, name="Second name", notes="")
    services.task_archive(task=task, user=administrator)
    content = staff_client.get(f"/tasks/{task.pk}/").content.decode()
    history = content[content.index('id="history-heading"') :]
    assert history.index("ada · Archived") < history.index("mei · Renamed")  # newest first
    assert "was “First name”" in history
    assert history.count("<time datetime=") >= 2


# --- Fix and send again ------------------------------------------------------------------------------------


def refused_task(staff_client, simulator, form_data):
    staff_client.post(
        "/tasks/new/",
        form_data(
            file_url="https://media.example.com/short.mp3?sim=create-400",
            content_text="Read this slowly.",
            notes="for chapter 2",
            sound_version="v2",
            language="Swedish",
        ),
    )
    call_command("poll_clones")
    task = CloneTask.objects.get()
    assert task.status == Status.REFUSED
    return task


def test_a_refused_clip_shows_on_its_row_with_the_reason_and_fix_and_send_again(
    staff_client, simulator, form_data
):
    task = refused_task(staff_client, simulator, form_data)
    row = row_of(staff_client.get("/tasks/").content.decode(), task)
    assert "Refused by the service" in row
    assert "The voice service refused this clip. The clip must hold 15 to 60 seconds of speech." in row
    assert f'href="/tasks/{task.pk}/fix/"' in row
    assert 'class="pending-id"' not in row  # nothing more will happen until someone fixes it


def test_fix_and_send_again_opens_the_form_filled_in_with_the_reason_beside_the_field(
    staff_client, simulator, form_data
):
    task = refused_task(staff_client, simulator, form_data)
    content = staff_client.get(f"/tasks/{task.pk}/fix/").content.decode()
    assert 'value="https://media.example.com/short.mp3?sim=create-400"' in content
    assert re.search(
        r'id="id_file_url_error".*The voice service refused this clip. The clip must hold 15 to 60 seconds',
        content,
        re.S,
    )
    assert ">\nRead this slowly.</textarea>" in content and ">\nfor chapter 2</textarea>" in content
    assert 'value="v2" checked' in re.sub(r'\s+id="[^"]+"', "", content) or re.search(
        r'value="v2"[^>]*checked', content
    )
    assert re.search(r'<option value="Swedish"[^>]*selected', content)
    assert f'action="/tasks/{task.pk}/fix/"' in content


def test_sending_the_fixed_form_updates_the_same_voice_and_the_worker_sends_it(
    staff_client, simulator, form_data, staff_user
):
    task = refused_task(staff_client, simulator, form_data)
    response = staff_client.post(
        f"/tasks/{task.pk}/fix/",
        form_data(file_url="https://media.example.com/long.mp3", sound_version="v2", language="Swedish"),
    )
    assert response.status_code == 302
    assert CloneTask.objects.count() == 1
    call_command("poll_clones")
    task.refresh_from_db()
    assert (task.status, task.file_url) == (Status.QUEUED, "https://media.example.com/long.mp3")
    assert simulator.state.tasks[task.upstream_id].payload["fileUrl"] == "https://media.example.com/long.mp3"
    assert TaskChange.objects.get(task=task).action == TaskChange.Action.FIXED


def test_a_fixed_form_with_a_mistake_comes_back_with_everything_kept(staff_client, simulator, form_data):
    task = refused_task(staff_client, simulator, form_data)
    response = staff_client.post(
        f"/tasks/{task.pk}/fix/", form_data(file_url="ftp://nope/a.mp3", notes="still here")
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert 'value="ftp://nope/a.mp3"' in content and ">\nstill here</textarea>" in content
    task.refresh_from_db()
    assert task.status == Status.REFUSED


def test_a_voice_that_was_not_refused_cannot_be_fixed(staff_client, staff_user):
    task = factories.completed_task(submitted_by=staff_user)
    response = staff_client.get(f"/tasks/{task.pk}/fix/", follow=True)
    assert "Only a clip the voice service refused can be fixed and sent again." in response.content.decode()


# --- A submission is stored, not sent, by the web request ----------------------------------------------


def test_submitting_answers_without_waiting_on_the_service_and_the_row_says_sending(
    staff_client, simulator, form_data
):
    response = staff_client.post("/tasks/new/", form_data(), follow=True)
    assert simulator.state.request_log == []
    task = CloneTask.objects.get()
    content = response.content.decode()
    assert f"Saved. “{task.name}” is being sent to the voice service" in content
    row = row_of(content, task)
    assert "Sending…" in row and 'class="pending-id"' in row
    call_command("poll_clones")
    row = row_of(staff_client.get(f"/tasks/refresh/?id={task.pk}").content.decode(), task)
    assert "Queued" in row and "Sending…" not in row


def test_a_database_that_cannot_write_answers_503_with_the_form_kept(staff_client, form_data, monkeypatch):
    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "task_submit", locked)
    response = staff_client.post("/tasks/new/", form_data(name="Keep me", notes="and me"))
    assert response.status_code == 503
    content = response.content.decode()
    assert "The studio could not save this just now. Nothing was sent" in content
    assert 'value="Keep me"' in content and ">\nand me</textarea>" in content


# --- Failing status checks, in plain words ---------------------------------------------------------------


def test_a_voice_whose_checks_keep_failing_says_since_when_what_the_service_answers_and_until_when(
    staff_client, staff_user
):
    since = timezone.now() - timedelta(minutes=12)
    task = factories.make_task(
        submitted_by=staff_user,
        sent_at=since,
        checks_failing_since=since,
        check_problem=services.CHECK_PROBLEMS[services.ErrorKind.BUSY],
        check_problem_detail="Internal error",
    )
    for url in ("/tasks/", f"/tasks/{task.pk}/"):
        row = row_of(staff_client.get(url).content.decode(), task)
        assert "We cannot check this task with the voice service since" in row
        assert "The voice service is busy or having trouble." in row
        assert "The service answers: “Internal error”." in row
        assert "We keep trying until" in row
        assert "None" not in row


def test_any_other_page_whose_write_fails_answers_a_plain_503(staff_client, staff_user, monkeypatch):
    task = factories.make_task(submitted_by=staff_user)

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "task_archive", locked)
    response = staff_client.post(f"/tasks/{task.pk}/archive/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "The studio could not reach its database just now" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (Status.COMPLETED, 'data-outcome="finished"'),
        (Status.FAILED, 'data-outcome="failed"'),
        (Status.REFUSED, 'data-outcome="failed"'),
        (Status.SUBMITTING, None),
        (Status.QUEUED, None),
        (Status.UNCERTAIN, None),
    ],
)
def test_a_row_tells_the_page_whether_and_how_it_finished(staff_client, status, outcome):
    task = factories.make_task(status=status, model_id="voice_1", audio_url="https://cdn.example.com/a.wav")
    row = row_of(staff_client.get("/tasks/").content.decode(), task)
    head = row[: row.index(">")]
    if outcome:
        assert outcome in head
    else:
        assert "data-outcome" not in head


def test_administrators_see_a_banner_while_the_service_refuses_clips_for_the_teams_account(
    staff_client, administrator_client, simulator, form_data
):
    banner = "because of the team's SoundClone account"
    staff_client.post("/tasks/new/", form_data(file_url="https://e.com/a.mp3?sim=create-wrapped-error"))
    call_command("poll_clones")
    assert CloneTask.objects.get().status == Status.REFUSED
    assert banner in administrator_client.get("/tasks/").content.decode()
    assert banner not in staff_client.get("/tasks/").content.decode()  # staff see it on the row instead

    staff_client.post("/tasks/new/", form_data())
    call_command("poll_clones")
    assert banner not in administrator_client.get("/tasks/").content.decode()
