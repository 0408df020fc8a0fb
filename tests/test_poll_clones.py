"""The poller: one pass or a loop, several side by side, and nothing lost when one of them dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from clones import services
from clones.models import CloneTask, PollerHeartbeat, TaskEvent

ROOT = Path(__file__).resolve().parent.parent
Status = CloneTask.Status


def submit_many(count: int) -> list[CloneTask]:
    return [
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
def test_a_task_whose_handling_raises_is_pushed_back_and_logged_and_the_others_go_on(
    simulator, monkeypatch, caplog
):
    tasks = submit_many(3)
    make_due(tasks)
    broken = tasks[1]
    real_refresh = services.task_refresh

    def refresh(*, task):
        if task.pk == broken.pk:
            raise RuntimeError("unexpected")
        real_refresh(task=task)

    monkeypatch.setattr(services, "task_refresh", refresh)
    call_command("poll_clones")
    assert f"could not handle task={broken.pk}" in caplog.text
    broken.refresh_from_db()
    # Its claim holds it back for the lease, then it is due again.
    assert broken.next_poll_at > timezone.now() + timedelta(seconds=30)
    assert TaskEvent.objects.filter(kind=TaskEvent.Kind.POLL).count() == 2


def poller_environment(simulator, tmp_path: Path) -> dict[str, str]:
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
        "SOUNDCLONE_POLL_LEASE_SECONDS": "2",
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
    simulator, tmp_path
):
    simulator.state.config.queued_seconds = 1.0
    simulator.state.config.processing_seconds = 2.0
    tasks = submit_many(200)
    make_due(tasks)
    pollers = start_pollers(3, poller_environment(simulator, tmp_path), tmp_path)
    try:
        wait_until_all_finished(90, pollers)
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
    # Every query the service received is one we recorded: no poll went unaccounted for.
    upstream_queries = sum(1 for method, _path in simulator.state.request_log if method == "GET")
    assert upstream_queries == sum(len(times) for times in polls.values())
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
        wait_until_all_finished(60, pollers[1:])
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
