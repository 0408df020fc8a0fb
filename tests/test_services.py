"""The write path: storing, sending, resending and following tasks against the simulator over real HTTP."""

import errno
import time
import uuid
from datetime import timedelta

import pytest
import responses
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from clones import client, services
from clones.models import CloneTask, TaskChange, TaskEvent
from tests.factories import completed_task, make_task, worker_thread

Status = CloneTask.Status


def submit(
    user=None, *, file_url="https://media.example.com/a.mp3", form_token=None, **overrides
) -> CloneTask:
    arguments = {
        "user": user,
        "name": "Narrator",
        "file_url": file_url,
        "sound_version": "v1",
        "language": "English",
        "form_token": form_token or uuid.uuid4(),
    }
    arguments.update(overrides)
    return services.task_submit(**arguments)


def work(task: CloneTask) -> CloneTask:
    """What the worker does with a task it claimed: send it, or check its status."""
    task.refresh_from_db()
    services.task_sync(task=task)
    task.refresh_from_db()
    return task


def submit_and_send(**arguments) -> CloneTask:
    return work(submit(**arguments))


# --- Storing and sending ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_submitting_stores_the_task_for_the_worker_without_calling_the_service(simulator, staff_user):
    task = submit(staff_user, content_text="Hello there.", notes="for the intro")
    assert simulator.state.request_log == []
    task.refresh_from_db()
    assert (task.status, task.upstream_id, task.submitted_by) == (Status.SUBMITTING, "", staff_user)
    assert (task.name, task.content_text, task.notes) == ("Narrator", "Hello there.", "for the intro")
    assert task.next_poll_at <= timezone.now()
    assert services.task_claim_next() == task


@pytest.mark.django_db
def test_the_worker_sends_every_field_and_stores_every_field_of_the_answer(simulator, sim_clock):
    task = submit_and_send(
        file_url="https://media.example.com/li-wei.mp3",
        content_text="Hello, this is my cloned voice.",
        sound_version="v2",
        language="Chinese,Yue",
    )
    sent = simulator.state.tasks[task.upstream_id].payload
    assert sent == {
        "fileUrl": "https://media.example.com/li-wei.mp3",
        "contentText": "Hello, this is my cloned voice.",
        "soundVersion": "v2",
        "language": "Chinese,Yue",
    }
    assert task.status == Status.QUEUED
    assert task.upstream_id.startswith("audio_")
    assert task.upstream_status == "queued"
    assert task.last_response["id"] == task.upstream_id
    assert task.last_response["status"] == "queued"
    assert task.sent_at is not None and task.send_attempts == 1 and task.send_started_at is None
    assert task.next_poll_at > timezone.now()
    assert list(task.events.values_list("kind", "http_status")) == [(TaskEvent.Kind.SEND, 200)]


@pytest.mark.django_db
def test_an_empty_preview_text_is_not_sent(simulator):
    task = submit_and_send(content_text="")
    assert "contentText" not in simulator.state.tasks[task.upstream_id].payload


@pytest.mark.django_db
def test_a_task_is_followed_to_completion_with_its_model_id_and_preview(simulator, sim_clock):
    task = submit_and_send()
    sim_clock.advance(5)
    task = work(task)
    remote = simulator.state.tasks[task.upstream_id]
    assert task.status == Status.COMPLETED
    assert task.model_id == remote.model_id
    assert task.audio_url.startswith(simulator.base_url + "/files/")
    assert task.last_response["modelId"] == remote.model_id
    assert task.last_response["audioUrl"] == task.audio_url
    assert task.upstream_status == "completed"
    assert task.finished_at is not None
    assert task.model_id_expires_at == task.finished_at + timedelta(days=3)
    assert task.poll_count == 1 and task.last_polled_at is not None
    assert task.audio_file.name == f"previews/task-{task.pk}.wav"
    assert set(task.events.values_list("kind", flat=True)) == {"send", "poll", "copy"}


@pytest.mark.django_db
def test_a_failed_task_keeps_the_services_reason(simulator, sim_clock):
    task = submit_and_send(file_url="https://media.example.com/a.mp3?sim=fail")
    sim_clock.advance(5)
    task = work(task)
    assert task.status == Status.FAILED
    assert task.error == "The audio does not contain enough clear speech"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ("create-400", "The audio must contain 15 to 60 seconds of speech"),
        ("create-422", "fileUrl could not be downloaded"),
    ],
)
def test_a_task_refused_by_the_service_shows_its_reason_and_waits_for_a_fix(simulator, marker, reason):
    task = submit_and_send(file_url=f"https://media.example.com/a.mp3?sim={marker}")
    assert (task.status, task.error, task.upstream_id) == (Status.REFUSED, reason, "")
    assert task.is_finished and task.next_poll_at is None
    assert services.task_claim_next(now=timezone.now() + timedelta(days=1)) is None


@pytest.mark.django_db
def test_fixing_a_refused_task_replaces_its_inputs_and_sends_it_again(simulator, staff_user):
    task = submit_and_send(user=staff_user, file_url="https://media.example.com/a.mp3?sim=create-400")
    assert services.task_fix_and_resend(
        task=task,
        user=staff_user,
        name="Narrator, fixed",
        notes="longer clip",
        file_url="https://media.example.com/longer.mp3",
        content_text="Read this.",
        sound_version="v2",
        language="Swedish",
    )
    task.refresh_from_db()
    assert (task.status, task.error, task.finished_at) == (Status.SUBMITTING, "", None)
    assert (task.name, task.notes, task.file_url) == (
        "Narrator, fixed",
        "longer clip",
        "https://media.example.com/longer.mp3",
    )
    task = work(task)
    assert task.status == Status.QUEUED
    assert simulator.state.tasks[task.upstream_id].payload["soundVersion"] == "v2"
    change = TaskChange.objects.get(task=task)
    assert (change.action, change.by, change.detail) == (
        TaskChange.Action.FIXED,
        staff_user,
        "https://media.example.com/a.mp3?sim=create-400",
    )


@pytest.mark.django_db
def test_only_a_refused_task_can_be_fixed(simulator, staff_user):
    task = submit_and_send()
    fixed = services.task_fix_and_resend(
        task=task,
        user=staff_user,
        name="x",
        file_url="https://e.com/b.mp3",
        sound_version="v1",
        language="English",
    )
    assert not fixed
    task.refresh_from_db()
    assert (task.status, task.file_url) == (Status.QUEUED, "https://media.example.com/a.mp3")


@pytest.mark.django_db
def test_the_same_form_token_creates_one_task(simulator):
    token = uuid.uuid4()
    first = submit(form_token=token)
    with pytest.raises(services.DuplicateSubmission) as duplicate:
        submit(form_token=token)
    assert duplicate.value.task == first
    assert CloneTask.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_connection_leaves_the_task_not_sent_and_resendable(settings, simulator, staff_user):
    good_url = settings.SOUNDCLONE_BASE_URL
    settings.SOUNDCLONE_BASE_URL = "http://127.0.0.1:9/kyyReactApiServer"
    task = submit_and_send(user=staff_user)
    assert task.status == Status.NOT_SENT
    assert "could not reach the voice service" in task.error
    settings.SOUNDCLONE_BASE_URL = good_url
    assert services.task_resend(task=task, user=staff_user)
    task.refresh_from_db()
    assert (task.status, task.error, task.send_attempts) == (Status.SUBMITTING, "", 0)
    assert work(task).status == Status.QUEUED
    assert TaskChange.objects.get(task=task).action == TaskChange.Action.RESENT


@pytest.mark.django_db
def test_a_timeout_after_sending_is_uncertain_and_never_resent_by_itself(simulator, settings):
    settings.SOUNDCLONE_CREATE_TIMEOUT = 0.3
    simulator.state.config.slow_seconds = 1.0
    task = submit_and_send(file_url="https://media.example.com/a.mp3?sim=create-slow")
    assert task.status == Status.UNCERTAIN
    assert "may or may not be running" in task.error
    assert services.task_claim_next(now=timezone.now() + timedelta(hours=1)) is None


@pytest.mark.django_db
def test_a_send_interrupted_by_a_dying_worker_becomes_uncertain_instead_of_being_sent_twice(simulator):
    task = submit()
    # A worker marked the send as started, then died before it could record the outcome.
    CloneTask.objects.filter(pk=task.pk).update(send_started_at=timezone.now(), send_attempts=1)
    claimed = services.task_claim_next(now=timezone.now() + timedelta(minutes=2))
    assert claimed == task
    task = work(claimed)
    assert task.status == Status.UNCERTAIN
    assert simulator.state.request_log == []


@pytest.mark.django_db
def test_a_busy_service_is_retried_with_backoff_then_given_up(simulator):
    task = submit_and_send(file_url="https://media.example.com/a.mp3?sim=create-429")
    assert task.status == Status.RETRYING
    for _attempt in range(services.MAX_SEND_ATTEMPTS - 1):
        assert task.next_poll_at > timezone.now()
        task = work(task)
    assert task.status == Status.NOT_SENT
    assert task.error == services.MESSAGE_BUSY_GAVE_UP
    assert len(simulator.state.request_log) == services.MAX_SEND_ATTEMPTS


@pytest.mark.django_db
def test_a_refused_key_on_submit_keeps_the_task_and_tells_staff_to_ask_the_administrator(simulator):
    task = submit_and_send(file_url="https://media.example.com/a.mp3?sim=create-401")
    assert task.status == Status.NOT_SENT
    assert task.error == services.MESSAGE_CREDENTIALS


@pytest.mark.django_db
def test_a_task_the_service_forgot_is_recorded_as_no_longer_known(simulator):
    task = submit_and_send()
    simulator.state.forget_task(task.upstream_id)
    task = work(task)
    assert task.status == Status.FAILED
    assert task.error == "No longer known to the service."


# --- Status checks that fail --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("marker", "problem", "said"),
    [
        ("poll-500", "The voice service is busy or having trouble.", "Internal error"),
        ("poll-429", "The voice service is busy or having trouble.", "Too many requests"),
        ("poll-401", "The voice service refused our credentials: tell your administrator.", "HTTP 401"),
        ("poll-notjson", "The voice service sent an answer we could not read.", "HTTP 200"),
    ],
)
def test_failing_status_checks_back_off_and_say_since_when_and_what_the_service_answers(
    simulator, marker, problem, said
):
    task = submit_and_send(file_url=f"https://media.example.com/a.mp3?sim={marker}")
    before = timezone.now()
    task = work(task)
    first_failure = task.checks_failing_since
    task = work(task)
    assert task.status == Status.QUEUED
    assert task.failed_polls == 2
    assert task.next_poll_at - before >= timedelta(seconds=20)
    assert first_failure is not None and task.checks_failing_since == first_failure
    assert task.are_checks_failing
    assert task.check_problem == problem
    assert said in task.check_problem_detail


@pytest.mark.django_db
def test_a_successful_check_clears_the_failing_checks_note(simulator):
    task = submit_and_send(file_url="https://media.example.com/a.mp3?sim=poll-500-once")
    task = work(task)
    assert task.are_checks_failing
    task = work(task)
    assert (task.checks_failing_since, task.check_problem, task.check_problem_detail) == (None, "", "")
    assert task.failed_polls == 0


@pytest.mark.django_db
@pytest.mark.parametrize("marker", ["poll-500", "poll-429", "poll-401", "poll-notjson"])
def test_a_task_whose_every_check_fails_is_still_given_up_at_the_hard_limit(simulator, settings, marker):
    task = submit_and_send(file_url=f"https://media.example.com/a.mp3?sim={marker}")
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT + 1)):
        task = work(task)
    assert task.status == Status.FAILED
    assert task.error == services.MESSAGE_TOO_LONG
    assert task.next_poll_at is None and task.finished_at is not None
    assert not task.are_checks_failing


@pytest.mark.django_db
def test_the_hard_limit_counts_from_when_the_service_accepted_the_task(simulator, settings, sim_clock):
    task = submit_and_send()
    limit = timedelta(seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT)
    assert task.gives_up_at == task.sent_at + limit
    with time_machine.travel(task.sent_at + limit - timedelta(seconds=5)):
        assert work(task).status == Status.QUEUED
    with time_machine.travel(task.sent_at + limit + timedelta(seconds=1)):
        assert work(task).status == Status.FAILED


@pytest.mark.django_db
def test_an_answer_with_nul_characters_is_stored_without_them(simulator, settings):
    """PostgreSQL refuses NUL in text and JSON: a service answer carrying one must not stop the task."""
    task = submit_and_send()
    url = f"{settings.SOUNDCLONE_BASE_URL}/v1/result/{task.upstream_id}"
    with responses.RequestsMock() as mocked:
        mocked.get(url, json={"id": task.upstream_id, "status": "fail\u0000ed", "error": "bad\u0000 clip"})
        task = work(task)
    assert "\x00" not in task.upstream_status
    assert "\x00" not in str(task.last_response)


@pytest.mark.django_db
def test_an_unknown_status_is_treated_as_running(simulator, sim_clock):
    task = submit_and_send(file_url="https://media.example.com/a.mp3?sim=unknown-status")
    sim_clock.advance(0.5)
    task = work(task)
    assert task.status == Status.PROCESSING
    assert task.upstream_status == "training"


@pytest.mark.django_db
def test_completed_without_a_preview_is_polled_a_few_times_then_failed(simulator, sim_clock):
    task = submit_and_send(file_url="https://media.example.com/a.mp3?sim=no-audio")
    sim_clock.advance(5)
    for _poll in range(services.MAX_INCOMPLETE_RESULTS - 1):
        assert work(task).status == Status.PROCESSING
    task = work(task)
    assert task.status == Status.FAILED
    assert task.error == services.MESSAGE_NO_PREVIEW


@pytest.mark.django_db
def test_young_tasks_are_polled_every_five_seconds_and_older_ones_less_often(simulator, sim_clock):
    task = submit_and_send()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = work(task)
        assert task.next_poll_at - timezone.now() == timedelta(seconds=5)
        clock.shift(timedelta(minutes=30))
        task = work(task)
        assert task.next_poll_at - timezone.now() == timedelta(seconds=30)


@pytest.mark.django_db
def test_a_claimed_task_is_not_claimed_again_until_its_lease_runs_out(simulator):
    task = submit()
    now = timezone.now() + timedelta(seconds=10)
    assert services.task_claim_next(now=now) == task
    assert services.task_claim_next(now=now) is None
    assert services.task_claim_next(now=now + timedelta(seconds=60)) == task


# --- Nothing lost: staff edits made while the worker waits on the service -------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_rename_and_archive_made_while_a_slow_status_query_is_in_flight_are_kept(
    simulator, staff_user, sim_clock
):
    simulator.state.config.slow_seconds = 1.5
    task = submit_and_send(user=staff_user, file_url="https://media.example.com/a.mp3?sim=poll-slow")
    sim_clock.advance(5)
    worker = worker_thread(task)
    worker.start()
    time.sleep(0.5)  # the worker has loaded the row and is waiting on the service
    services.task_update_details(task=task, user=staff_user, name="Renamed meanwhile", notes="new notes")
    services.task_archive(task=task, user=staff_user)
    worker.join(timeout=10)
    task.refresh_from_db()
    assert task.status == Status.COMPLETED  # the worker's own fields were written...
    assert (task.name, task.notes) == ("Renamed meanwhile", "new notes")  # ...and not the staff's
    assert task.archived_at is not None and task.archived_by == staff_user


@pytest.mark.django_db(transaction=True)
def test_a_restore_made_while_a_slow_send_is_in_flight_is_kept(simulator, staff_user):
    simulator.state.config.slow_seconds = 1.5
    task = submit(user=staff_user, file_url="https://media.example.com/a.mp3?sim=create-slow")
    services.task_archive(task=task, user=staff_user)
    worker = worker_thread(task)
    worker.start()
    time.sleep(0.5)
    services.task_restore(task=task, user=staff_user)
    worker.join(timeout=10)
    task.refresh_from_db()
    assert task.status == Status.QUEUED
    assert task.archived_at is None


# --- A task whose work raises -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_task_whose_work_raises_is_put_aside_for_an_hour_not_retried_every_lease(simulator, monkeypatch):
    task = submit_and_send()

    def explode(task_id):
        raise RuntimeError("a bug in our code")

    monkeypatch.setattr(client, "get_task", explode)
    with time_machine.travel(timezone.now() + timedelta(seconds=10), tick=False):
        call_command("poll_clones")
        task.refresh_from_db()
        assert task.next_poll_at == timezone.now() + services.CRASH_RETRY_DELAY
        assert task.status == Status.QUEUED
        assert task.check_problem == services.MESSAGE_INTERNAL_ERROR
        assert task.checks_failing_since == timezone.now()
        assert services.task_claim_next(now=timezone.now() + timedelta(minutes=59)) is None


@pytest.mark.django_db
def test_a_task_that_keeps_raising_is_still_given_up_at_the_hard_limit(simulator, monkeypatch, settings):
    task = submit_and_send()

    def explode(task_id):
        raise RuntimeError("a bug in our code")

    monkeypatch.setattr(client, "get_task", explode)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT + 1)):
        call_command("poll_clones")
    task.refresh_from_db()
    assert task.status == Status.FAILED
    assert task.error == services.MESSAGE_TOO_LONG


# --- Previews: whole or not at all ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_full_disk_leaves_no_truncated_preview_behind_and_tries_again_later(
    simulator, monkeypatch, media_root
):
    task = completed_task(audio_url="https://cdn.example.com/a.wav")
    written = []

    def fail_halfway(name, content):
        written.append(name)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(
        client, "download_preview", lambda url: client.DownloadedAudio(b"RIFF" + b"\0" * 4096, "audio/wav")
    )
    real_fdopen = services.os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.file = real_fdopen(handle, "wb")

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.file.close()

        def write(self, data):
            self.file.write(data[:100])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(services.os, "fdopen", lambda handle, mode: FullDisk(handle))
    assert not services.task_copy_preview(task=task)
    task.refresh_from_db()
    assert task.audio_file.name == ""
    assert task.audio_copy_next_at > timezone.now()
    previews = media_root / "previews"
    assert not previews.exists() or list(previews.iterdir()) == []


@pytest.mark.django_db
def test_a_preview_is_written_whole_under_its_final_name(simulator, monkeypatch, media_root):
    task = completed_task(audio_url="https://cdn.example.com/a.wav")
    content = b"RIFF" + bytes(range(256)) * 64
    monkeypatch.setattr(client, "download_preview", lambda url: client.DownloadedAudio(content, "audio/wav"))
    assert services.task_copy_preview(task=task)
    task.refresh_from_db()
    assert task.audio_file.name == f"previews/task-{task.pk}.wav"
    assert (media_root / task.audio_file.name).read_bytes() == content
    assert [path.name for path in (media_root / "previews").iterdir()] == [f"task-{task.pk}.wav"]


@pytest.mark.django_db
def test_a_missing_preview_copy_is_copied_again(simulator, media_root):
    task = completed_task(audio_url="https://cdn.example.com/a.wav")
    name = default_storage.save(f"previews/task-{task.pk}.wav", ContentFile(b"RIFF"))
    CloneTask.objects.filter(pk=task.pk).update(audio_file=name, audio_copy_attempts=3)
    task.refresh_from_db()
    services.task_preview_missing(task=task)
    task.refresh_from_db()
    assert (task.audio_file.name, task.audio_copy_attempts) == ("", 0)
    assert services.task_claim_next_copy() == task


# --- Changes by staff are recorded -----------------------------------------------------------------------


@pytest.mark.django_db
def test_every_change_to_a_voice_is_recorded_with_who_and_what_it_was(staff_user):
    task = make_task(name="Old name", notes="old notes", submitted_by=staff_user)
    services.task_update_details(task=task, user=staff_user, name="New name", notes="new notes")
    services.task_archive(task=task, user=staff_user)
    services.task_restore(task=task, user=staff_user)
    recorded = list(TaskChange.objects.filter(task=task).order_by("pk").values_list("action", "by", "detail"))
    assert recorded == [
        ("renamed", staff_user.pk, "Old name"),
        ("notes", staff_user.pk, "old notes"),
        ("archived", staff_user.pk, ""),
        ("restored", staff_user.pk, ""),
    ]


@pytest.mark.django_db
def test_a_change_that_changes_nothing_records_nothing(staff_user):
    task = make_task(name="Same", notes="", submitted_by=staff_user)
    assert not services.task_update_details(task=task, user=staff_user, name="Same", notes="")
    services.task_archive(task=task, user=staff_user)
    assert not services.task_archive(task=task, user=staff_user)
    assert TaskChange.objects.filter(task=task).count() == 1


@pytest.mark.django_db
def test_a_deeply_nested_answer_to_a_submission_leaves_the_task_uncertain_not_sending(simulator, settings):
    task = submit()
    nested = "[" * 100_000 + "]" * 100_000
    with responses.RequestsMock() as mocked:
        mocked.post(f"{settings.SOUNDCLONE_BASE_URL}/v1/soundCloning/clones", body=nested)
        task = work(task)
    assert task.status == Status.UNCERTAIN
    assert task.send_started_at is None


@pytest.mark.django_db
def test_a_huge_status_answer_is_not_stored_whole(simulator, settings):
    task = submit_and_send()
    huge = {"id": task.upstream_id, "status": "processing", "padding": "x" * 200_000}
    with responses.RequestsMock() as mocked:
        mocked.get(f"{settings.SOUNDCLONE_BASE_URL}/v1/result/{task.upstream_id}", json=huge)
        task = work(task)
    assert task.status == Status.PROCESSING
    assert task.last_response["truncated"] is True
    assert len(task.last_response["text"]) <= 16 * 1024
