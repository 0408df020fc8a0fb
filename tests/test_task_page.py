"""A voice's own page: everything about it, its modelId's lifetime, editing its name and notes, archiving."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from clones.models import CloneTask
from tests import factories

Status = CloneTask.Status
FINISHED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


INPUTS = {
    "name": "Narrator, Li Wei, calm",
    "file_url": "https://media.example.com/clips/li-wei.mp3",
    "sound_version": "v2",
    "language": "Chinese,Yue",
}
# Finished at a fixed moment, with every timestamp and a last response the page must show.
RESULT = {
    "model_id": "voice_abc",
    "finished_at": FINISHED,
    "upstream_status": "completed",
    "sent_at": FINISHED - timedelta(minutes=1),
    "last_polled_at": FINISHED,
    "last_response": {"id": "audio_5b0c", "status": "completed", "modelId": "voice_abc", "note": "<b>hi</b>"},
}


def make_task(**fields) -> CloneTask:
    return factories.make_task(**{**INPUTS, **fields})


def completed_task(**fields) -> CloneTask:
    return factories.completed_task(**{**INPUTS, **RESULT, **fields})


def page_of(client, task: CloneTask) -> str:
    response = client.get(f"/tasks/{task.pk}/")
    assert response.status_code == 200
    return response.content.decode()


# --- Everything about the voice --------------------------------------------------------------------------


def test_the_page_shows_every_input_and_who_confirmed_consent_when(staff_client, staff_user):
    task = completed_task(
        submitted_by=staff_user,
        notes="From the March interview",
        content_text="你好,这是我的声音。",
        consent_text="I have the speaker's permission to clone this voice",
        consent_confirmed_at=FINISHED - timedelta(minutes=2),
    )
    content = page_of(staff_client, task)
    for expected in [
        "Narrator, Li Wei, calm",
        "From the March interview",
        "https://media.example.com/clips/li-wei.mp3",
        "你好,这是我的声音。",
        "Cantonese",
        "(Chinese,Yue)",
        "“I have the speaker&#x27;s permission to clone this voice”, confirmed by mei on",
    ]:
        assert expected in content, expected


def test_the_page_shows_every_timestamp_the_service_task_id_and_its_last_response(staff_client):
    task = completed_task()
    content = page_of(staff_client, task)
    for label in [
        "Submitted",
        "Accepted by the service",
        "Last checked with the service",
        "Finished",
        "modelId expires (unless used)",
        "Last changed",
    ]:
        assert f"<dt>{label}</dt>" in content, label
    assert '<time datetime="2026-03-02T12:00:00+00:00">' in content
    assert "<code>audio_5b0c</code>" in content
    # Pretty-printed and escaped: the service's words can never become markup on our page.
    assert "  &quot;modelId&quot;: &quot;voice_abc&quot;,\n" in content
    assert "&lt;b&gt;hi&lt;/b&gt;" in content and "<b>hi</b>" not in content


def test_a_completed_voice_has_a_player_a_download_button_and_two_copy_buttons(staff_client):
    task = completed_task()
    content = page_of(staff_client, task)
    assert "<audio controls" in content
    assert f'href="/tasks/{task.pk}/audio/?download=1" download>Download preview' in content
    assert 'data-copy="voice_abc"' in content
    assert 'data-copy="voice_abc · v2 · Chinese,Yue"' in content
    assert "Copy modelId with version and language" in content
    assert 'aria-describedby="context-help"' in content and 'id="context-help"' in content


def test_an_unfinished_voice_has_nothing_to_download_or_copy(staff_client):
    content = page_of(staff_client, make_task())
    assert "Download preview" not in content
    assert "data-copy=" not in content


# --- The modelId's lifetime ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected", "highlighted"),
    [
        (timedelta(minutes=1), "Expires in 2 days 23 hours unless it is used.", False),
        (timedelta(hours=19, minutes=30), "Expires in 2 days 4 hours unless it is used.", False),
        (timedelta(days=1, hours=23, minutes=59), "Expires in 1 day unless it is used.", False),
        (
            timedelta(days=2, hours=1, minutes=1),
            "Expires in 22 hours 59 minutes: use this modelId soon",
            True,
        ),
        (timedelta(days=2, hours=23, minutes=58), "Expires in 2 minutes: use this modelId soon", True),
        (timedelta(days=2, hours=23, minutes=59, seconds=30), "Expires in less than a minute", True),
    ],
)
def test_the_row_and_the_page_say_when_the_model_id_lapses(staff_client, after, expected, highlighted):
    task = completed_task()
    with time_machine.travel(FINISHED + after, tick=False):
        for content in (staff_client.get("/tasks/").content.decode(), page_of(staff_client, task)):
            assert expected in content
            assert ('class="expiry soon"' in content) is highlighted


def test_an_expired_model_id_says_expired(staff_client):
    task = completed_task()
    with time_machine.travel(FINISHED + timedelta(days=3, seconds=1), tick=False):
        for content in (staff_client.get("/tasks/").content.decode(), page_of(staff_client, task)):
            assert '<p class="expiry expired">' in content
            assert "Expired: unless it was used before" in content
            assert "Expires in" not in content


def test_a_failed_task_has_no_lifetime(staff_client):
    content = page_of(staff_client, make_task(status=Status.FAILED, finished_at=FINISHED))
    assert "Expires in" not in content and "Expired" not in content


# --- Editing the name and notes --------------------------------------------------------------------------


def test_the_submitter_renames_a_voice_and_the_page_records_who_changed_what(staff_client, staff_user):
    task = completed_task(submitted_by=staff_user, notes="old")
    response = staff_client.post(
        f"/tasks/{task.pk}/edit/", {"name": "Narrator, final pick", "notes": "Use this one for chapter 2"}
    )
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    task.refresh_from_db()
    assert (task.name, task.notes) == ("Narrator, final pick", "Use this one for chapter 2")
    content = staff_client.get(response["Location"]).content.decode()
    assert "Saved the name and notes." in content
    history = content[content.index('id="history-heading"') :]
    assert "mei · Renamed" in history and "was “Narrator, Li Wei, calm”" in history
    assert "mei · Changed the notes" in history and "was “old”" in history


def test_editing_changes_only_the_name_and_notes(staff_client, staff_user):
    task = completed_task(submitted_by=staff_user)
    staff_client.post(
        f"/tasks/{task.pk}/edit/",
        {
            "name": "New name",
            "notes": "",
            "file_url": "https://evil.example.com/x.mp3",
            "model_id": "voice_evil",
        },
    )
    task.refresh_from_db()
    assert task.name == "New name"
    assert task.file_url == "https://media.example.com/clips/li-wei.mp3"
    assert task.model_id == "voice_abc"


def test_a_voice_cannot_lose_its_name(staff_client, staff_user):
    task = completed_task(submitted_by=staff_user)
    response = staff_client.post(f"/tasks/{task.pk}/edit/", {"name": "  ", "notes": "kept"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Please give the voice a name." in content
    assert ">\nkept</textarea>" in content
    task.refresh_from_db()
    assert task.name == "Narrator, Li Wei, calm"


def test_editing_needs_a_post_and_a_signed_in_person(staff_client, anonymous_client):
    task = completed_task()
    assert staff_client.get(f"/tasks/{task.pk}/edit/").status_code == 405
    response = anonymous_client.post(f"/tasks/{task.pk}/edit/", {"name": "Hijacked"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    task.refresh_from_db()
    assert task.name == "Narrator, Li Wei, calm"


# --- Archive and restore ---------------------------------------------------------------------------------


def test_the_submitter_archives_a_voice_and_it_leaves_the_list_but_is_not_deleted(staff_client, staff_user):
    task = completed_task(submitted_by=staff_user)
    response = staff_client.post(f"/tasks/{task.pk}/archive/", follow=True)
    task.refresh_from_db()
    assert task.archived_at is not None and task.archived_by == staff_user
    content = response.content.decode()
    assert "is archived: it no longer shows in the list" in content
    assert "Restore to the list" in content
    assert f'id="task-{task.pk}"' not in staff_client.get("/tasks/").content.decode()
    archived_list = staff_client.get("/tasks/?archived=1").content.decode()
    assert f'id="task-{task.pk}"' in archived_list and "Archived voices</h1>" in archived_list
    assert CloneTask.objects.filter(pk=task.pk).exists()


def test_the_submitter_restores_a_voice_from_the_archived_list(staff_client, staff_user):
    task = completed_task(submitted_by=staff_user, archived_at=timezone.now(), archived_by=staff_user)
    content = staff_client.get("/tasks/?archived=1").content.decode()
    assert f'action="/tasks/{task.pk}/restore/"' in content
    response = staff_client.post(f"/tasks/{task.pk}/restore/", {"next": "/tasks/?archived=1"})
    assert response["Location"] == "/tasks/?archived=1"
    task.refresh_from_db()
    assert task.archived_at is None and task.archived_by is None
    assert f'id="task-{task.pk}"' in staff_client.get("/tasks/").content.decode()


def test_an_administrator_may_archive_and_restore_anyones_voice(administrator_client, staff_user):
    task = completed_task(submitted_by=staff_user)
    assert "Archive this voice" in page_of(administrator_client, task)
    administrator_client.post(f"/tasks/{task.pk}/archive/")
    task.refresh_from_db()
    assert task.archived_at is not None
    administrator_client.post(f"/tasks/{task.pk}/restore/")
    task.refresh_from_db()
    assert task.archived_at is None


def test_someone_elses_voice_cannot_be_archived_or_restored_and_shows_no_button(
    other_staff_client, staff_user
):
    task = completed_task(submitted_by=staff_user)
    assert "Archive this voice" not in page_of(other_staff_client, task)
    assert other_staff_client.post(f"/tasks/{task.pk}/archive/").status_code == 403
    task.refresh_from_db()
    assert task.archived_at is None
    task.archived_at = timezone.now()
    task.save()
    assert "Restore to the list" not in page_of(other_staff_client, task)
    assert f"/tasks/{task.pk}/restore/" not in other_staff_client.get("/tasks/?archived=1").content.decode()
    assert other_staff_client.post(f"/tasks/{task.pk}/restore/").status_code == 403
    task.refresh_from_db()
    assert task.archived_at is not None


def test_archive_refuses_strangers_and_get_requests(anonymous_client, staff_client, staff_user):
    task = completed_task(submitted_by=staff_user)
    assert anonymous_client.post(f"/tasks/{task.pk}/archive/").status_code == 302
    assert staff_client.get(f"/tasks/{task.pk}/archive/").status_code == 405
    task.refresh_from_db()
    assert task.archived_at is None


def test_archiving_twice_keeps_the_first_archiver(
    staff_client, administrator_client, staff_user, administrator
):
    task = completed_task(submitted_by=staff_user)
    staff_client.post(f"/tasks/{task.pk}/archive/")
    administrator_client.post(f"/tasks/{task.pk}/archive/")
    task.refresh_from_db()
    assert task.archived_by == staff_user


def test_an_unsafe_next_address_is_ignored(staff_client, staff_user):
    task = completed_task(submitted_by=staff_user)
    response = staff_client.post(f"/tasks/{task.pk}/archive/", {"next": "https://evil.example.com/"})
    assert response["Location"] == f"/tasks/{task.pk}/"


def test_the_archived_page_says_when_and_by_whom(staff_client, staff_user):
    task = completed_task(submitted_by=staff_user, archived_at=FINISHED, archived_by=staff_user)
    content = html.unescape(page_of(staff_client, task))
    assert "by mei. It does not show in the list of voices; nothing was deleted." in content
