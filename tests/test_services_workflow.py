"""The staff workflow's writes: details, archive and restore, and a clip sent to both model versions."""

from __future__ import annotations

import uuid

import pytest

from clones import services
from clones.models import CloneTask
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


@pytest.mark.django_db
def test_updating_details_changes_the_name_and_notes_and_says_whether_anything_changed():
    task = make_task(notes="old")
    assert services.task_update_details(task=task, name="  Narrator, calm ", notes="new") is True
    task.refresh_from_db()
    assert (task.name, task.notes) == ("Narrator, calm", "new")
    assert services.task_update_details(task=task, name="Narrator, calm", notes="new") is False


@pytest.mark.django_db
def test_a_task_cannot_be_renamed_to_nothing():
    with pytest.raises(ValueError):
        services.task_update_details(task=make_task(), name="   ", notes="")


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
def test_both_versions_makes_a_linked_pair_with_two_tokens(simulator):
    token = uuid.uuid4()
    first, second = submit_pair(token)
    assert (first.sound_version, second.sound_version) == ("v1", "v2")
    assert first.form_token == token
    assert second.form_token == services.second_version_token(token) != token
    assert first.pair_token == second.pair_token == token
    assert {first.status, second.status} == {Status.QUEUED}


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
    real_submit = services.task_submit

    def refuse_v2(**arguments):
        if arguments["sound_version"] == "v2":
            raise services.SubmissionRejected("model v2 cannot read this clip")
        return real_submit(**arguments)

    monkeypatch.setattr(services, "task_submit", refuse_v2)
    with pytest.raises(services.SecondVersionRejected) as caught:
        submit_pair(uuid.uuid4())
    assert caught.value.task.sound_version == "v1"
    assert caught.value.message == "model v2 cannot read this clip"
    assert list(CloneTask.objects.values_list("sound_version", flat=True)) == ["v1"]
