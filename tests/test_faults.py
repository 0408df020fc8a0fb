"""Every fault in the contract, on submit and on poll, as staff see it: a plain message, never a 500 page,
and never a task lost or duplicated."""

import socket
from datetime import timedelta
from html import unescape

import pytest
from django.core.management import call_command
from django.utils import timezone

from clones.models import CloneTask
from tests.html import task_row

Status = CloneTask.Status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def submit(staff_client, form_data, marker: str):
    """Post the form, then let the worker send what it stored (one pass, never the loop)."""
    staff_client.post("/tasks/new/", form_data(file_url=f"https://e.com/a.mp3?sim={marker}"))
    call_command("poll_clones")
    return CloneTask.objects.get()


def row_of(staff_client, task) -> str:
    return task_row(staff_client.get("/tasks/").content.decode(), task)


@pytest.mark.parametrize(
    ("marker", "status", "message"),
    [
        (
            "create-401",
            Status.NOT_SENT,
            "The voice service rejected our credentials: tell your administrator.",
        ),
        (
            "create-403",
            Status.NOT_SENT,
            "The voice service rejected our credentials: tell your administrator.",
        ),
        ("create-429", Status.RETRYING, ">Not sent, the service is busy</span>"),
        ("create-500", Status.RETRYING, ">Not sent, the service is busy</span>"),
        ("create-503", Status.RETRYING, ">Not sent, the service is busy</span>"),
        ("create-notjson", Status.UNCERTAIN, "It may or may not be running there."),
    ],
)
def test_a_fault_on_submit_keeps_one_task_and_explains_it_on_its_row(
    staff_client, simulator, form_data, marker, status, message
):
    task = submit(staff_client, form_data, marker)
    assert task.status == status
    assert message in row_of(staff_client, task)


@pytest.mark.parametrize(
    ("marker", "reason", "shown"),
    [
        (
            "create-400",
            "The audio must contain 15 to 60 seconds of speech",
            "The voice service refused this clip. The clip must hold 15 to 60 seconds of speech.",
        ),
        (
            "create-422",
            "fileUrl could not be downloaded",
            "The voice service refused this clip. The voice service could not download the clip",
        ),
        (
            "create-wrapped-error",
            "Insufficient balance",
            "The team's SoundClone account has no balance left. Tell your administrator;",
        ),
    ],
)
def test_input_the_service_refuses_is_kept_with_the_reason_and_a_way_to_fix_it(
    staff_client, simulator, form_data, marker, reason, shown
):
    task = submit(staff_client, form_data, marker)
    assert (task.status, task.error) == (Status.REFUSED, reason)  # stored as the service said it
    row = row_of(staff_client, task)
    assert shown in unescape(row)
    assert f'href="/tasks/{task.pk}/fix/"' in row


def test_a_timeout_after_sending_is_marked_uncertain_and_offered_for_a_deliberate_resend(
    staff_client, simulator, form_data, settings
):
    settings.SOUNDCLONE_CREATE_TIMEOUT = 0.3
    simulator.state.config.slow_seconds = 1.0
    task = submit(staff_client, form_data, "create-slow")
    assert task.status == Status.UNCERTAIN
    row = row_of(staff_client, task)
    assert "Sending it again could create a second task." in row
    assert "Send again anyway" in row


def test_a_refused_connection_is_marked_not_sent_and_offered_for_resending(staff_client, form_data, settings):
    settings.SOUNDCLONE_BASE_URL = f"http://127.0.0.1:{free_port()}/kyyReactApiServer"
    staff_client.post("/tasks/new/", form_data())
    call_command("poll_clones")
    task = CloneTask.objects.get()
    assert task.status == Status.NOT_SENT
    row = row_of(staff_client, task)
    assert "We could not reach the voice service, so nothing was sent. You can send it again." in row
    assert ">Send again</button>" in row


def poll_passes(count: int) -> None:
    for _pass in range(count):
        CloneTask.objects.filter(next_poll_at__isnull=False).update(
            next_poll_at=timezone.now() - timedelta(seconds=1)
        )
        call_command("poll_clones")


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("poll-404", "No longer known to the service."),
        ("no-audio", "The voice service reported the clone as finished but sent no preview or modelId."),
    ],
)
def test_a_task_the_service_cannot_finish_fails_with_the_reason_on_its_row_and_page(
    staff_client, simulator, form_data, marker, message
):
    submit(staff_client, form_data, marker)
    simulator.state.config.clock = lambda: 10**10  # long past processing: the task would be completed
    poll_passes(3)
    task = CloneTask.objects.get()
    assert (task.status, task.error) == (Status.FAILED, message)
    for url in ["/tasks/", f"/tasks/refresh/?id={task.pk}"]:
        row = task_row(staff_client.get(url).content.decode(), task)
        assert ">Failed</span>" in row and message in row, url
    response = staff_client.get(f"/tasks/{task.pk}/")
    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        ("poll-401", "The voice service refused our credentials: tell your administrator."),
        ("poll-429", "The voice service is busy or having trouble."),
        ("poll-500", "The voice service is busy or having trouble."),
        ("poll-notjson", "The voice service sent an answer we could not read."),
    ],
)
def test_a_status_query_that_keeps_failing_never_loses_the_task_and_says_so_in_plain_words(
    staff_client, simulator, form_data, marker, problem
):
    submit(staff_client, form_data, marker)
    simulator.state.config.clock = lambda: 10**10  # long past processing: the task would be completed
    poll_passes(3)
    task = CloneTask.objects.get()
    queries = [path for method, path in simulator.state.request_log if method == "GET"]
    assert queries == [f"/v1/result/{task.upstream_id}"] * 3
    assert (task.status, task.failed_polls) == (Status.QUEUED, 3)
    assert task.next_poll_at > timezone.now()
    for url in ["/tasks/", f"/tasks/refresh/?id={task.pk}"]:
        row = task_row(staff_client.get(url).content.decode(), task)
        assert ">Queued</span>" in row, url
        assert "We cannot check this task with the voice service since" in row, url
        assert problem in row, url
        assert "We keep trying until" in row, url
        assert "None" not in row, url
    page = staff_client.get(f"/tasks/{task.pk}/").content.decode()
    assert problem in page and "We keep trying until" in page


def test_a_transient_fault_while_polling_heals_by_itself(staff_client, simulator, form_data):
    submit(staff_client, form_data, "poll-500-once")
    simulator.state.config.clock = lambda: 10**10
    poll_passes(2)
    assert CloneTask.objects.get().status == Status.COMPLETED


def test_an_unknown_status_keeps_the_task_running(staff_client, simulator, form_data):
    submit(staff_client, form_data, "unknown-status")
    task = CloneTask.objects.get()
    # Half-way through processing, where this marker answers "training", a status our contract does not know.
    config = simulator.state.config
    halfway = simulator.state.tasks[task.upstream_id].created_at + config.queued_seconds
    config.clock = lambda: halfway + config.processing_seconds / 2
    poll_passes(1)
    task.refresh_from_db()
    assert (task.status, task.upstream_status) == (Status.PROCESSING, "training")
    assert task.next_poll_at is not None
    assert ">Processing</span>" in task_row(staff_client.get("/tasks/").content.decode(), task)


def test_administrators_see_a_banner_when_the_service_refuses_our_key(
    staff_client, staff_user, other_staff_client, simulator, form_data
):
    staff_user.is_staff = True
    staff_user.save()
    submit(staff_client, form_data, "poll-401")
    poll_passes(1)
    assert "refusing our API key" in staff_client.get("/tasks/").content.decode()
    assert "refusing our API key" not in other_staff_client.get("/tasks/").content.decode()
    # An accepted request clears it.
    staff_client.post("/tasks/new/", form_data())
    call_command("poll_clones")
    assert "refusing our API key" not in staff_client.get("/tasks/").content.decode()


def test_a_task_running_for_long_is_flagged_taking_longer_than_usual(
    staff_client, simulator, form_data, settings
):
    submit(staff_client, form_data, "poll-500")
    CloneTask.objects.update(
        created_at=timezone.now() - timedelta(seconds=settings.SOUNDCLONE_TASK_SLOW_AFTER + 60)
    )
    assert "Taking longer than usual" in staff_client.get("/tasks/").content.decode()
