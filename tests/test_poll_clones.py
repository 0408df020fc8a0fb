"""The poller: one pass or a loop, several side by side, and nothing lost when one of them dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

from clones import services
from clones.models import CloneTask, PollerHeartbeat, SpeechTask, TaskEvent

ROOT = Path(__file__).resolve().parent.parent
Status = CloneTask.Status


def submit_many(count: int) -> list[CloneTask]:
    """Tasks submitted through the form's service, then sent by one worker pass: accepted by the service.

    (A long pass on a busy machine may already have polled the first ones it sent, even to completion.)"""
    tasks = [
        services.task_submit(
            user=None,
            name=f"Voice {index}",
            file_url=f"https://media.example.com/{index}.mp3",
            sound_version="v2",
            language="auto",
            form_token=uuid.uuid4(),
        )
        for index in range(count)
    ]
    call_command("poll_clones")
    accepted = {*CloneTask.SENT_STATUSES, Status.COMPLETED}
    assert not CloneTask.objects.exclude(status__in=accepted).exists()
    assert not CloneTask.objects.filter(upstream_id="").exists()
    return tasks


def make_due(tasks: list[CloneTask]) -> None:
    CloneTask.objects.filter(pk__in=[task.pk for task in tasks]).update(
        next_poll_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_one_pass_polls_every_due_task_once_and_records_a_heartbeat(simulator):
    tasks = submit_many(3)
    make_due(tasks)
    call_command("poll_clones")
    assert TaskEvent.objects.filter(kind=TaskEvent.Kind.POLL).count() == 3
    assert all(task.next_poll_at > timezone.now() for task in CloneTask.objects.all())
    assert PollerHeartbeat.objects.get().last_seen > timezone.now() - timedelta(seconds=5)


@pytest.mark.django_db
def test_a_task_whose_handling_raises_is_put_aside_for_an_hour_and_the_others_go_on(
    simulator, monkeypatch, caplog
):
    tasks = submit_many(3)
    make_due(tasks)
    broken = tasks[1]
    real_sync = services.task_sync

    def sync(*, task):
        if task.pk == broken.pk:
            raise RuntimeError("unexpected")
        real_sync(task=task)

    monkeypatch.setattr(services, "task_sync", sync)
    call_command("poll_clones")
    assert caplog.text.count(f"could not handle task={broken.pk}") == 1
    broken.refresh_from_db()
    # Not back every lease with another traceback: an hour from now.
    assert broken.next_poll_at > timezone.now() + timedelta(minutes=59)
    assert TaskEvent.objects.filter(kind=TaskEvent.Kind.POLL).count() == 2


@pytest.mark.django_db
def test_a_new_submission_is_sent_by_the_next_worker_pass(simulator):
    task = services.task_submit(
        user=None,
        name="Voice",
        file_url="https://media.example.com/a.mp3",
        sound_version="v1",
        language="English",
        form_token=uuid.uuid4(),
    )
    assert simulator.state.request_log == []
    call_command("poll_clones")
    task.refresh_from_db()
    assert task.status == Status.QUEUED
    assert [method for method, _path in simulator.state.request_log] == ["POST"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_survives_database_errors_and_goes_on_when_the_database_is_back(
    simulator, monkeypatch, caplog
):
    from clones.management.commands.poll_clones import Command

    (task,) = submit_many(1)
    make_due([task])
    real_claim = services.task_claim_next
    failures = {"left": 2}

    def flaky_claim(**kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("database is locked")
        return real_claim(**kwargs)

    monkeypatch.setattr(services, "task_claim_next", flaky_claim)
    monkeypatch.setattr("clones.management.commands.poll_clones.MAX_DATABASE_BACKOFF_SECONDS", 0.2)
    command = Command()
    command.is_stopping = False
    command.last_good_pass = 0.0
    worker = threading.Thread(target=command._work_forever)
    try:
        worker.start()
        deadline = time.monotonic() + 10
        while TaskEvent.objects.filter(kind=TaskEvent.Kind.POLL).count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        command.is_stopping = True
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert caplog.text.count("database unavailable") == 2
    assert TaskEvent.objects.filter(task=task, kind=TaskEvent.Kind.POLL).count() == 1
    assert command.last_good_pass > 0


@pytest.mark.django_db
def test_the_heartbeat_is_not_written_while_the_workers_cannot_reach_the_database(settings):
    from clones.management.commands.poll_clones import Command

    command = Command()
    command.name = "test-poller"
    command.last_beat = 0.0
    command.last_good_pass = time.monotonic() - settings.SOUNDCLONE_POLL_LEASE_SECONDS - 1
    command._beat_safely(force=True)
    assert not PollerHeartbeat.objects.exists()
    command.last_good_pass = time.monotonic()
    command._beat_safely(force=True)
    assert PollerHeartbeat.objects.get().name == "test-poller"


def poller_environment(simulator, tmp_path: Path, *, lease_seconds: float = 2) -> dict[str, str]:
    """What a poller on another machine would have: the same database and service, in its own process."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{database['NAME']}"
    else:
        credentials = f"{database['USER']}:{database['PASSWORD'] or ''}"
        database_url = f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "poller-test-" + "x" * 40,
        "SOUNDCLONE_API_KEY": "test-key",
        "SOUNDCLONE_BASE_URL": simulator.base_url,
        "SOUNDCLONE_POLL_INTERVAL": "1",
        "SOUNDCLONE_POLL_LEASE_SECONDS": str(lease_seconds),
        "SOUNDCLONE_WORKERS": "2",
        # Every call's deadline is shorter than the lease, or the settings refuse to load.
        "SOUNDCLONE_CREATE_DEADLINE": "1.5",
        "SOUNDCLONE_QUERY_DEADLINE": "1.5",
        "SOUNDCLONE_ARCHIVE_DEADLINE": "1.5",
        "SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS": f"127.0.0.1:{simulator.port}",
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }


def start_pollers(
    count: int, environment: dict[str, str], tmp_path: Path
) -> list[tuple[subprocess.Popen, Path]]:
    pollers = []
    for index in range(count):
        log = tmp_path / f"poller-{index}-{uuid.uuid4().hex[:6]}.log"
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "poll_clones", "--loop"],
            cwd=ROOT,
            env=environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        pollers.append((process, log))
    return pollers


def wait_until_started(pollers: list[tuple[subprocess.Popen, Path]], seconds: float = 60) -> None:
    """Until every poller has said it started (its signal handlers set): on a busy machine a poller can take
    seconds to start, and the others would do all the work, or be stopped, before it began."""
    deadline = time.monotonic() + seconds
    while not all("poller started" in log.read_text() for _process, log in pollers):
        assert time.monotonic() < deadline, "a poller did not start:\n" + pollers[-1][1].read_text()[-3000:]
        assert all(process.poll() is None for process, _log in pollers), "a poller stopped while starting"
        time.sleep(0.1)


def wait_until_all_finished(seconds: float, pollers: list[tuple[subprocess.Popen, Path]]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not CloneTask.objects.exclude(status__in=CloneTask.FINISHED_STATUSES).exists():
            return
        if all(process.poll() is not None for process, _log in pollers):
            raise AssertionError("every poller stopped:\n" + pollers[-1][1].read_text()[-3000:])
        time.sleep(0.25)
    left = CloneTask.objects.exclude(status__in=CloneTask.FINISHED_STATUSES).count()
    raise AssertionError(f"{left} tasks were left unfinished")


def stop(pollers: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _log in pollers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _log in pollers:
        process.wait(timeout=20)


@pytest.mark.django_db(transaction=True)
def test_three_pollers_share_200_tasks_without_polling_any_task_twice_within_its_interval(
    simulator, tmp_path, settings
):
    simulator.state.config.queued_seconds = 1.0
    simulator.state.config.processing_seconds = 2.0
    # The pass that sends them polls none (on a busy machine it could outlast the tasks' processing and
    # finish them all), and they are held back until all three pollers run: the first to start would
    # otherwise do the work of the others.
    settings.SOUNDCLONE_POLL_INTERVAL = 3600
    tasks = submit_many(200)
    CloneTask.objects.filter(pk__in=[task.pk for task in tasks]).update(
        next_poll_at=timezone.now() + timedelta(hours=1)
    )
    # A lease well above the deadlines: on a machine busy with other tests a worker thread can wait seconds
    # for the CPU between its claim and its query, and a lease running out under it lets a second poller in.
    pollers = start_pollers(3, poller_environment(simulator, tmp_path, lease_seconds=15), tmp_path)
    try:
        wait_until_started(pollers)
        make_due(tasks)
        wait_until_all_finished(180, pollers)
    finally:
        stop(pollers)

    assert CloneTask.objects.filter(status=Status.COMPLETED).count() == 200
    polls: dict[int, list] = defaultdict(list)
    for task_id, at in TaskEvent.objects.filter(kind=TaskEvent.Kind.POLL).values_list("task_id", "at"):
        polls[task_id].append(at)
    assert set(polls) == {task.pk for task in tasks}
    for times in polls.values():
        times.sort()
        gaps = [(later - earlier).total_seconds() for earlier, later in zip(times, times[1:], strict=False)]
        assert min(gaps, default=1.0) >= 0.9, "a task was polled twice within its interval"
    # Every query the service received is one we recorded: no poll went unaccounted for. (A query cut off by
    # its deadline before it reached the service is recorded too, with no HTTP status.)
    upstream_queries = sum(1 for method, _path in simulator.state.request_log if method == "GET")
    answered = TaskEvent.objects.filter(kind=TaskEvent.Kind.POLL, http_status__isnull=False).count()
    assert answered <= upstream_queries <= sum(len(times) for times in polls.values())
    # The work was shared: every poller handled tasks.
    for process, log in pollers:
        assert process.returncode == 0
        assert "poller handled task=" in log.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_mid_run_loses_nothing_the_others_finish_its_work(simulator, tmp_path):
    simulator.state.config.queued_seconds = 0.5
    simulator.state.config.processing_seconds = 3.0
    tasks = submit_many(60)
    make_due(tasks)
    environment = poller_environment(simulator, tmp_path)
    pollers = start_pollers(3, environment, tmp_path)
    try:
        victim, victim_log = pollers[0]
        deadline = time.monotonic() + 30
        while "poller handled task=" not in victim_log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        wait_until_all_finished(180, pollers[1:])
    finally:
        stop(pollers[1:])
    assert CloneTask.objects.filter(status=Status.COMPLETED).count() == 60


@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_the_poller_finish_and_exit_cleanly(simulator, tmp_path):
    environment = poller_environment(simulator, tmp_path)
    ((process, log),) = start_pollers(1, environment, tmp_path)
    deadline = time.monotonic() + 20
    while "poller started" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert "poller stopped" in log.read_text()


@pytest.mark.parametrize("model", [CloneTask, SpeechTask])
def test_the_due_work_index_covers_exactly_the_statuses_the_worker_claims(model):
    (due_poll,) = [index for index in model._meta.indexes if index.name.endswith("_due_poll_idx")]
    (_lookup, statuses), *_ = due_poll.condition.children
    assert set(statuses) == {status.value for status in model.POLLED_STATUSES}
