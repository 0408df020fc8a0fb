"""Every fault in the contract, on submit and on poll, as staff see it: a plain message, never a 500 page,
and never a task lost or duplicated."""

import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from clones.models import CloneTask

Status = CloneTask.Status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def submit(staff_client, form_data, marker: str):
    return staff_client.post(
        "/tasks/new/", form_data(file_url=f"https://e.com/a.mp3?sim={marker}"), follow=True
    )


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
        ("create-429", Status.RETRYING, "The voice service is busy. We will keep trying to send"),
        ("create-500", Status.RETRYING, "The voice service is busy. We will keep trying to send"),
        ("create-503", Status.RETRYING, "The voice service is busy. We will keep trying to send"),
        ("create-notjson", Status.UNCERTAIN, "It may or may not be running there."),
    ],
)
def test_a_fault_on_submit_keeps_one_task_and_explains_it(
    staff_client, simulator, form_data, marker, status, message
):
    response = submit(staff_client, form_data, marker)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert CloneTask.objects.get().status == status


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "create-400",
            "The voice service refused this clip: The audio must contain 15 to 60 seconds of speech",
        ),
        ("create-422", "The voice service refused this clip: fileUrl could not be downloaded"),
        ("create-wrapped-error", "The voice service refused this clip: Insufficient balance"),
    ],
)
def test_input_the_service_refuses_comes_back_beside_the_field_and_stores_nothing(
    staff_client, simulator, form_data, marker, message
):
    response = submit(staff_client, form_data, marker)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert CloneTask.objects.count() == 0


def test_a_timeout_after_sending_is_marked_uncertain_and_offered_for_a_deliberate_resend(
    staff_client, simulator, form_data, settings
):
    settings.SOUNDCLONE_CREATE_TIMEOUT = 0.3
    simulator.state.config.slow_seconds = 1.0
    content = submit(staff_client, form_data, "create-slow").content.decode()
    assert "Sending it again could create a second task." in content
    assert "Send again anyway" in content
    assert CloneTask.objects.get().status == Status.UNCERTAIN


def test_a_refused_connection_is_marked_not_sent_and_offered_for_resending(staff_client, form_data, settings):
    settings.SOUNDCLONE_BASE_URL = f"http://127.0.0.1:{free_port()}/kyyReactApiServer"
    content = staff_client.post("/tasks/new/", form_data(), follow=True).content.decode()
    assert "We could not reach the voice service, so nothing was sent. You can send it again." in content
    assert ">Send again</button>" in content
    assert CloneTask.objects.get().status == Status.NOT_SENT


def poll_passes(count: int) -> None:
    for _pass in range(count):
        CloneTask.objects.filter(next_poll_at__isnull=False).update(
            next_poll_at=timezone.now() - timedelta(seconds=1)
        )
        call_command("poll_clones")


@pytest.mark.parametrize(
    ("marker", "status", "message"),
    [
        ("poll-401", Status.QUEUED, ""),
        ("poll-404", Status.FAILED, "No longer known to the service."),
        ("poll-429", Status.QUEUED, ""),
        ("poll-500", Status.QUEUED, ""),
        ("poll-notjson", Status.QUEUED, ""),
        ("no-audio", Status.FAILED, "The voice service reported the clone as finished but sent no preview"),
    ],
)
def test_a_fault_while_polling_never_loses_the_task_and_the_list_still_works(
    staff_client, simulator, form_data, marker, status, message
):
    submit(staff_client, form_data, marker)
    simulator.state.config.clock = lambda: 10**10  # long past processing: the task would be completed
    poll_passes(3)
    task = CloneTask.objects.get()
    assert task.status == status
    for url in ["/tasks/", f"/tasks/refresh/?id={task.pk}", f"/tasks/{task.pk}/"]:
        response = staff_client.get(url)
        assert response.status_code == 200
        assert message in response.content.decode()


def test_a_transient_fault_while_polling_heals_by_itself(staff_client, simulator, form_data):
    submit(staff_client, form_data, "poll-500-once")
    simulator.state.config.clock = lambda: 10**10
    poll_passes(2)
    assert CloneTask.objects.get().status == Status.COMPLETED


def test_an_unknown_status_keeps_the_task_running(staff_client, simulator, form_data):
    submit(staff_client, form_data, "unknown-status")
    simulator.state.config.clock = lambda: (
        simulator.state.tasks[CloneTask.objects.get().upstream_id].created + 0.5
    )
    poll_passes(1)
    assert "Processing" in staff_client.get("/tasks/").content.decode()


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
    staff_client.post("/tasks/new/", form_data(), follow=True)
    assert "refusing our API key" not in staff_client.get("/tasks/").content.decode()


def test_a_task_running_for_long_is_flagged_taking_longer_than_usual(
    staff_client, simulator, form_data, settings
):
    submit(staff_client, form_data, "poll-500")
    CloneTask.objects.update(
        created_at=timezone.now() - timedelta(seconds=settings.SOUNDCLONE_TASK_SLOW_AFTER + 60)
    )
    assert "Taking longer than usual" in staff_client.get("/tasks/").content.decode()
