"""The staff workflow's writes: details, archive and restore, and a clip sent to both model versions."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command

from clones import services
from clones.models import CloneTask
from clones.simulator import LANGUAGES_BY_VERSION
from tests import factories

Status = CloneTask.Status


def make_task(**fields) -> CloneTask:
    return factories.make_task(**{"status": Status.COMPLETED, **fields})


def submit_pair(form_token: uuid.UUID, **overrides) -> tuple[CloneTask, CloneTask]:
    arguments = {
        "user": None,
        "name": "Narrator",
        "file_url": "https://media.example.com/a.mp3",
        "language": "Chinese",
        "form_token": form_token,
    }
    arguments.update(overrides)
    return services.task_submit_both_versions(**arguments)


def test_updating_details_changes_the_name_and_notes_and_says_whether_anything_changed(staff_user):
    task = make_task(notes="old")
    assert services.task_update_details(task=task, user=staff_user, name="  Narrator, calm ", notes="new")
    task.refresh_from_db()
    assert (task.name, task.notes) == ("Narrator, calm", "new")
    assert not services.task_update_details(task=task, user=staff_user, name="Narrator, calm", notes="new")


def test_a_task_cannot_be_renamed_to_nothing(staff_user):
    with pytest.raises(ValueError):
        services.task_update_details(task=make_task(), user=staff_user, name="   ", notes="")


@pytest.mark.django_db
def test_archive_and_restore_each_happen_once(staff_user):
    task = make_task()
    assert services.task_archive(task=task, user=staff_user) is True
    assert task.archived_at is not None and task.archived_by == staff_user
    assert services.task_archive(task=task, user=staff_user) is False
    assert services.task_restore(task=task, user=staff_user) is True
    assert task.archived_at is None
    assert services.task_restore(task=task, user=staff_user) is False
    assert CloneTask.objects.filter(pk=task.pk).exists()


@pytest.mark.django_db
def test_both_versions_stores_a_linked_pair_that_the_worker_sends_to_each_model(simulator):
    token = uuid.uuid4()
    first, second = submit_pair(token)
    assert (first.sound_version, second.sound_version) == ("v1", "v2")
    assert first.form_token == token
    assert second.form_token == services.second_version_token(token) != token
    assert first.pair_token == second.pair_token == token
    assert simulator.state.request_log == []  # stored: the web request never waits on the service
    call_command("poll_clones")
    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.status, second.status} == {Status.QUEUED}
    sent = {task.id: task.payload for task in simulator.state.tasks.values()}
    assert sent[first.upstream_id]["soundVersion"] == "v1"
    assert sent[second.upstream_id]["soundVersion"] == "v2"
    assert sent[first.upstream_id]["language"] == sent[second.upstream_id]["language"] == "Chinese"


@pytest.mark.django_db
def test_both_versions_sent_twice_raises_with_the_pair_it_made(simulator):
    token = uuid.uuid4()
    pair = submit_pair(token)
    with pytest.raises(services.DuplicatePairSubmission) as caught:
        submit_pair(token)
    assert [task.pk for task in caught.value.tasks] == [task.pk for task in pair]
    assert CloneTask.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["Danish", "auto"])
def test_both_versions_refuses_a_language_only_one_version_offers(simulator, language):
    with pytest.raises(ValueError):
        submit_pair(uuid.uuid4(), language=language)
    assert CloneTask.objects.count() == 0


@pytest.mark.django_db
def test_a_refusal_of_only_the_second_version_keeps_the_first(simulator, monkeypatch):
    # The stand-in service stops offering Chinese with model v2; our code runs as it is.
    v2_without_chinese = LANGUAGES_BY_VERSION["v2"] - {"Chinese"}
    monkeypatch.setitem(LANGUAGES_BY_VERSION, "v2", v2_without_chinese)
    first, second = submit_pair(uuid.uuid4())
    call_command("poll_clones")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.QUEUED and first.upstream_id
    assert (second.status, second.error) == (
        Status.REFUSED,
        "language Chinese is not supported by soundVersion v2",
    )
