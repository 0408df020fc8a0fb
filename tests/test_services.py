"""The write path: submitting, resending and refreshing tasks against the simulator over real HTTP."""

import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clones import services
from clones.models import CloneTask, TaskEvent

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


def poll_until_finished(task: CloneTask, seconds: float = 5) -> CloneTask:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        task.refresh_from_db()
        if task.is_finished:
            return task
        services.task_refresh(task=task)
        time.sleep(0.1)
    task.refresh_from_db()
    return task


@pytest.mark.django_db
def test_a_submitted_task_is_stored_queued_with_the_services_id(simulator, staff_user):
    task = submit(staff_user)
    assert task.status == Status.QUEUED
    assert task.upstream_id.startswith("audio_")
    assert task.submitted_by == staff_user
    assert task.next_poll_at is not None
    assert [(method, path.rsplit("/v1/", 1)[1]) for method, path in simulator.state.request_log] == [
        ("POST", "soundCloning/clones")
    ]


@pytest.mark.django_db
def test_a_task_is_followed_to_completion_with_its_model_id_and_preview(simulator):
    task = poll_until_finished(submit())
    assert task.status == Status.COMPLETED
    assert task.model_id.startswith("voice_")
    assert task.audio_url.startswith(simulator.base_url + "/files/")
    assert task.finished_at is not None
    assert task.model_id_expires_at == task.finished_at + timedelta(days=3)
    assert task.events.filter(kind=TaskEvent.Kind.POLL).exists()


@pytest.mark.django_db
def test_a_failed_task_keeps_the_services_reason(simulator):
    task = poll_until_finished(submit(file_url="https://media.example.com/a.mp3?sim=fail"))
    assert task.status == Status.FAILED
    assert task.error == "The audio does not contain enough clear speech"


@pytest.mark.django_db
def test_a_task_refused_by_the_service_is_not_stored(simulator):
    with pytest.raises(services.SubmissionRejected) as error:
        submit(file_url="https://media.example.com/a.mp3?sim=create-400")
    assert "15 to 60 seconds" in error.value.message
    assert CloneTask.objects.count() == 0


@pytest.mark.django_db
def test_the_same_form_token_creates_one_task(simulator):
    token = uuid.uuid4()
    first = submit(form_token=token)
    with pytest.raises(services.DuplicateSubmission) as duplicate:
        submit(form_token=token)
    assert duplicate.value.task == first
    assert CloneTask.objects.count() == 1
    assert len(simulator.state.request_log) == 1


@pytest.mark.django_db
def test_a_refused_connection_leaves_the_task_not_sent_and_resendable(settings, simulator):
    good_url = settings.SOUNDCLONE_BASE_URL
    settings.SOUNDCLONE_BASE_URL = "http://127.0.0.1:9/kyyReactApiServer"
    task = submit()
    assert task.status == Status.NOT_SENT
    assert "could not reach the voice service" in task.error
    settings.SOUNDCLONE_BASE_URL = good_url
    assert services.task_resend(task=task)
    task.refresh_from_db()
    assert task.status == Status.QUEUED


@pytest.mark.django_db
def test_a_timeout_after_sending_is_uncertain_and_never_resent_by_itself(simulator, settings):
    settings.SOUNDCLONE_CREATE_TIMEOUT = 0.3
    simulator.state.config.slow_seconds = 1.0
    task = submit(file_url="https://media.example.com/a.mp3?sim=create-slow")
    assert task.status == Status.UNCERTAIN
    assert services.task_claim_next(now=timezone.now() + timedelta(hours=1)) is None


@pytest.mark.django_db
def test_a_busy_service_is_retried_with_backoff_then_given_up(simulator):
    task = submit(file_url="https://media.example.com/a.mp3?sim=create-429")
    assert task.status == Status.RETRYING
    for _attempt in range(services.MAX_SEND_ATTEMPTS - 1):
        assert task.next_poll_at > timezone.now()
        services.task_refresh(task=task)
        task.refresh_from_db()
    assert task.status == Status.NOT_SENT
    assert "busy" in task.error
    assert len(simulator.state.request_log) == services.MAX_SEND_ATTEMPTS


@pytest.mark.django_db
def test_a_refused_key_on_submit_keeps_the_task_and_tells_staff_to_ask_the_administrator(simulator):
    task = submit(file_url="https://media.example.com/a.mp3?sim=create-401")
    assert task.status == Status.NOT_SENT
    assert "tell your administrator" in task.error


@pytest.mark.django_db
def test_a_task_the_service_forgot_is_recorded_as_no_longer_known(simulator):
    task = submit()
    simulator.state.forget_task(task.upstream_id)
    services.task_refresh(task=task)
    task.refresh_from_db()
    assert task.status == Status.FAILED
    assert task.error == "No longer known to the service."


@pytest.mark.django_db
@pytest.mark.parametrize("marker", ["poll-500", "poll-429", "poll-notjson"])
def test_a_temporary_fault_while_polling_backs_off_and_keeps_the_task(simulator, marker):
    task = submit(file_url=f"https://media.example.com/a.mp3?sim={marker}")
    before = timezone.now()
    services.task_refresh(task=task)
    services.task_refresh(task=task)
    task.refresh_from_db()
    assert task.status == Status.QUEUED
    assert task.failed_polls == 2
    assert task.next_poll_at - before >= timedelta(seconds=20)


@pytest.mark.django_db
def test_an_unknown_status_is_treated_as_running(simulator):
    task = submit(file_url="https://media.example.com/a.mp3?sim=unknown-status")
    time.sleep(0.4)
    services.task_refresh(task=task)
    task.refresh_from_db()
    assert task.status == Status.PROCESSING
    assert task.upstream_status == "training"


@pytest.mark.django_db
def test_completed_without_a_preview_is_polled_a_few_times_then_failed(simulator):
    task = submit(file_url="https://media.example.com/a.mp3?sim=no-audio")
    time.sleep(1.1)
    for _poll in range(services.MAX_INCOMPLETE_RESULTS):
        services.task_refresh(task=task)
    task.refresh_from_db()
    assert task.status == Status.FAILED
    assert "no preview" in task.error


@pytest.mark.django_db
def test_young_tasks_are_polled_every_five_seconds_and_older_ones_less_often(simulator):
    task = submit()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.task_refresh(task=task)
        task.refresh_from_db()
        assert task.next_poll_at - timezone.now() == timedelta(seconds=5)
        simulator.state.config.clock = lambda: 0  # keep the task queued upstream while we age it here
        clock.shift(timedelta(minutes=30))
        services.task_refresh(task=task)
        task.refresh_from_db()
        assert task.next_poll_at - timezone.now() == timedelta(seconds=30)


@pytest.mark.django_db
def test_a_task_running_past_the_hard_limit_is_failed_with_a_plain_reason(simulator, settings):
    task = submit()
    simulator.state.config.clock = lambda: 0
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT + 1)):
        services.task_refresh(task=task)
    task.refresh_from_db()
    assert task.status == Status.FAILED
    assert "within the time limit" in task.error


@pytest.mark.django_db
def test_a_claimed_task_is_not_claimed_again_until_its_lease_runs_out(simulator):
    task = submit()
    now = timezone.now() + timedelta(seconds=10)
    assert services.task_claim_next(now=now) == task
    assert services.task_claim_next(now=now) is None
    assert services.task_claim_next(now=now + timedelta(seconds=60)) == task


@pytest.mark.django_db
def test_a_submission_whose_process_died_becomes_uncertain(db):
    task = CloneTask.objects.create(
        name="x", file_url="https://e.com/a.mp3", sound_version="v1", language="English"
    )
    assert task.status == Status.SUBMITTING
    assert services.task_sweep_stale_submissions(now=timezone.now() + timedelta(minutes=3)) == 1
    task.refresh_from_db()
    assert task.status == Status.UNCERTAIN
