"""One database's part of `make bench`: seed, start the stack on 127.0.0.1, measure, write JSON.

bench/run.py runs this once per database, in a process of its own (Django reads its settings once per
process), with the environment already production-like (DEBUG off, a throwaway SECRET_KEY, an API key,
DATABASE_URL, DATA_DIR in a temporary folder). Here the simulator is served from a thread of this process, so
that its request log can be read; gunicorn and the poller are real processes pointed at it.

    python -m bench.measure --label SQLite --out results.json [--with-poller-figures] [--quick]
                            [--hung-service-only]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from bench import clips
from bench.idle_tab import measure_completed_on_screen, measure_idle_tab
from bench.processes import (
    BenchAborted,
    child_pids,
    free_port,
    raise_on_stop_signals,
    rss_mb,
    stop_process,
    wait_for_http,
)
from clones.simulator import SimulatorConfig, SimulatorState, handle_create, serve_in_thread

BASE_DIR = Path(__file__).resolve().parent.parent
SIZES = (10, 1_000, 100_000)
# What a page shows (clones.views.TASKS_PER_PAGE): the refresh asks about the unfinished rows among these.
PAGE_SIZE = 50
API_KEY = os.environ.get("SOUNDCLONE_API_KEY", "bench-key")
DEMO_USERNAME = "bench-demo"


def log(message: str) -> None:
    print(f"[bench {os.environ.get('BENCH_LABEL', '')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values fall (linear interpolation, like numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over several runs."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


# --- seeding ---------------------------------------------------------------------------------------------


def seeded_status(index: int) -> str:
    """Mostly completed, one in twenty failed, one in ten unfinished (spread so every page has some)."""
    position = index % 20
    if position == 3:
        return "processing"
    if position == 11:
        return "queued"
    if position == 17:
        return "failed"
    return "completed"


def seed_tasks(*, user: Any, start: int, stop: int, simulator_url: str) -> None:
    """Add tasks start..stop-1 (and their service history) with bulk_create: 100,000 take seconds."""
    from django.utils import timezone

    from clones.models import CloneTask, TaskEvent

    now = timezone.now()
    tasks = []
    for index in range(start, stop):
        status = seeded_status(index)
        upstream_id = f"audio_{index:08d}-5eed-4b1d-9c1a-{secrets.token_hex(6)}"
        task = CloneTask(
            name=f"Voice {index + 1}",
            notes="Seeded by make bench." if index % 7 == 0 else "",
            file_url=f"https://media.example.com/clips/{index}.mp3",
            content_text="Hello, this is a preview of my cloned voice." if index % 3 else "",
            sound_version="v2" if index % 2 else "v1",
            language="English" if index % 4 else "Chinese",
            submitted_by=user,
            consent_text="I confirm that the speaker agreed to have their voice cloned.",
            consent_confirmed_at=now,
            status=status,
            upstream_id=upstream_id,
            upstream_status=status,
            sent_at=now,
            poll_count=2,
            send_attempts=1,
        )
        if status == "completed":
            expires = int(now.timestamp()) + 86_400
            task.model_id = f"voice_{secrets.token_hex(12)}"
            task.audio_url = (
                f"{simulator_url}/files/{upstream_id}.wav?Expires={expires}&Signature={secrets.token_hex(32)}"
            )
            # The poller archives every preview as it completes: a settled list plays our own copies.
            task.audio_file = f"previews/{upstream_id}.wav"
            task.finished_at = now
            task.last_response = {
                "id": upstream_id,
                "object": "audio",
                "status": "completed",
                "modelId": task.model_id,
                "audioUrl": task.audio_url,
            }
        elif status == "failed":
            task.error = "The audio does not contain enough clear speech"
            task.finished_at = now
        else:
            # Out of the poller's way: only the bench's own tasks, known to the simulator, are polled.
            task.next_poll_at = now + timedelta(days=1)
        tasks.append(task)
    created = CloneTask.objects.bulk_create(tasks, batch_size=2_000)
    events = []
    for task in created:
        events.append(TaskEvent(task=task, kind="send", http_status=200, outcome="queued", duration_ms=180))
        events.append(TaskEvent(task=task, kind="poll", http_status=200, outcome=task.status, duration_ms=40))
    TaskEvent.objects.bulk_create(events, batch_size=5_000)


def first_page_ids() -> tuple[list[int], int]:
    """The unfinished rows on the first page (what a browser refreshes) and the newest completed task."""
    from clones.models import CloneTask

    rows = CloneTask.objects.filter(archived_at__isnull=True).values_list("pk", "status")[:PAGE_SIZE]
    pending = [pk for pk, status in rows if status in CloneTask.REFRESHED_STATUSES]
    completed = CloneTask.objects.filter(status="completed").values_list("pk", flat=True).first()
    return pending, completed


def refresh_path(ids: list[int]) -> str:
    return "/tasks/refresh/?" + "&".join(f"id={pk}" for pk in ids)


def count_queries(client: Any, path: str, runs: int) -> dict[str, Any]:
    """Queries one request makes, counted in-process on the same database (median of the runs)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm up: the first request after signing in may renew the session
    counts = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code} in-process")
        counts.append(len(captured.captured_queries))
    return {"count": statistics.median(counts), "sql": [query["sql"] for query in captured.captured_queries]}


# --- HTTP helpers ----------------------------------------------------------------------------------------


def signed_in_session(base_url: str, username: str, password: str) -> requests.Session:
    """Sign in as a person does: the login form's CSRF cookie, then the POST."""
    session = requests.Session()
    page = session.get(f"{base_url}/accounts/login/", timeout=10)
    page.raise_for_status()
    token = session.cookies.get("csrftoken", "")
    answer = session.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"signing in failed: HTTP {answer.status_code}")
    return session


def cookie_session(cookie_name: str, session_id: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set(cookie_name, session_id)
    return session


def timed_get(session: requests.Session, url: str) -> float:
    """Milliseconds from sending the request to reading the whole body; raises unless 200."""
    started = time.perf_counter()
    response = session.get(url, timeout=30, allow_redirects=False)
    response.content  # noqa: B018 - the body is part of the time
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return elapsed


class _ResourceParser(HTMLParser):
    """What a browser fetches on its own while loading a page: stylesheets, icons, scripts, media."""

    def __init__(self) -> None:
        super().__init__()
        self.resources: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link":
            rel = values.get("rel", "").lower().split()
            if {"stylesheet", "icon", "preload", "modulepreload", "manifest"} & set(rel) and values.get(
                "href"
            ):
                self.resources.append(("css" if "stylesheet" in rel else "other", values["href"]))
        elif tag == "script" and values.get("src"):
            self.resources.append(("js", values["src"]))
        elif tag in ("img", "iframe", "embed", "track") and values.get("src"):
            self.resources.append(("other", values["src"]))
        elif tag in ("audio", "video", "source") and values.get("src"):
            # preload="none" is the only way a media element fetches nothing before a click.
            if values.get("preload", "").lower() != "none":
                self.resources.append(("media", values["src"]))


def fetch_as_sent(session: requests.Session, url: str, accept_encoding: str) -> tuple[int, bytes]:
    """The body's size as it crossed the wire (still compressed), and the body itself, decoded."""
    response = session.get(
        url, headers={"Accept-Encoding": accept_encoding}, stream=True, timeout=30, allow_redirects=False
    )
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    sent = response.raw.read(decode_content=False)
    encoding = response.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return len(sent), gzip.decompress(sent)
    if encoding:  # br: only the size matters (assets are not parsed)
        return len(sent), b""
    return len(sent), sent


def page_weight(base_url: str, cookie_name: str, session_id: str, path: str) -> dict[str, Any]:
    """A cold load: the document and every static asset it links, as sent; what it loads from other hosts."""
    origin = urlsplit(base_url)[:2]
    page_url = f"{base_url}{path}"
    results: dict[str, Any] = {}
    for label, accept in (("bytes", "gzip, br"), ("bytes_gzip", "gzip")):
        session = cookie_session(cookie_name, session_id)  # a fresh one: nothing cached
        document_bytes, html = fetch_as_sent(session, page_url, accept)
        parser = _ResourceParser()
        parser.feed(html.decode("utf-8", errors="replace"))
        total = document_bytes
        requests_made = 1
        media_requests = 0
        other_hosts: list[str] = []
        seen: set[str] = set()
        for kind, reference in parser.resources:
            url = urljoin(page_url, reference)
            if url in seen:
                continue
            seen.add(url)
            if urlsplit(url)[:2] != origin:
                other_hosts.append(url)
                continue
            if kind == "media":
                # A browser asks for the start of every preloaded preview; its bytes are not HTML, CSS or JS.
                media_requests += 1
                continue
            requests_made += 1
            size, _body = fetch_as_sent(session, url, accept)
            if kind in ("css", "js"):
                total += size
        results[label] = total
        results["requests"] = requests_made
        results["media_requests"] = media_requests
        results["other_hosts"] = len(other_hosts)
        results["other_host_kinds"] = sorted({urlsplit(url).netloc for url in other_hosts})
        results["document_bytes"] = document_bytes
    return results


# --- the stack -------------------------------------------------------------------------------------------


class Stack:
    """gunicorn and the poller as the production image runs them, plus the simulator in a thread here."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.state = SimulatorState(SimulatorConfig(api_key=API_KEY))
        self.simulator = serve_in_thread(self.state)
        self.web: subprocess.Popen | None = None
        self.poller: subprocess.Popen | None = None
        self.locust: subprocess.Popen | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_web(self) -> None:
        self.port = free_port()
        log_path = self.work_dir / "gunicorn.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "soundclone_site.wsgi:application",
            "-c",
            "gunicorn.conf.py",
        ]
        command += ["--bind", f"127.0.0.1:{self.port}"]
        with log_path.open("ab") as log_file:
            self.web = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command,
                cwd=BASE_DIR,
                # Where the service would fetch hosted clips: without it, uploads are refused (409).
                env={**os.environ, "PUBLIC_BASE_URL": self.base_url},
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        wait_for_http(f"{self.base_url}/accounts/login/", process=self.web, log_path=log_path)

    def start_poller(self, *, workers: int | None = None, env: dict[str, str] | None = None) -> None:
        """Start the poller (stopping the one running first); `workers` as `--workers`, `env` on top."""
        stop_process(self.poller)
        command = [sys.executable, "manage.py", "poll_clones", "--loop"]
        command += ["--workers", str(workers)] if workers else []
        with (self.work_dir / "poller.log").open("ab") as log_file:
            self.poller = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command,
                cwd=BASE_DIR,
                env={**os.environ, **(env or {})},
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        for process in (self.locust, self.poller, self.web):
            stop_process(process)
        self.simulator.stop()


@contextmanager
def running_stack(work_dir: Path) -> Iterator[Stack]:
    stack = Stack(work_dir)
    try:
        yield stack
    finally:
        stack.stop()


def new_upstream_task(stack: Stack, *, user: Any, name: str, extra_seconds: float = 0.0) -> tuple[Any, str]:
    """A task just accepted by the simulator, stored as task_submit leaves it: queued, first poll in 5 s."""
    from django.conf import settings
    from django.utils import timezone

    from clones.models import CloneTask

    body = json.dumps(
        {
            "fileUrl": "https://media.example.com/clips/bench.mp3",
            "contentText": "Hello, this is a preview of my cloned voice.",
            "soundVersion": "v2",
            "language": "English",
        }
    ).encode()
    answer = handle_create(
        stack.state, authorization=f"Bearer {API_KEY}", body=body, base_url=stack.simulator.base_url
    )
    upstream_id = json.loads(answer.body)["id"]
    with stack.state.lock:
        sim_task = stack.state.tasks[upstream_id]
        # A later start stands for a longer job: real jobs do not all take the same time.
        sim_task.created_at += extra_seconds
        model_id = sim_task.model_id
    now = timezone.now()
    task = CloneTask.objects.create(
        name=name,
        file_url="https://media.example.com/clips/bench.mp3",
        sound_version="v2",
        language="English",
        submitted_by=user,
        status="queued",
        upstream_id=upstream_id,
        upstream_status="queued",
        sent_at=now,
        send_attempts=1,
        next_poll_at=now + timedelta(seconds=settings.SOUNDCLONE_POLL_INTERVAL),
    )
    return task, model_id


def completed_at(stack: Stack, upstream_id: str) -> float:
    config = stack.state.config
    with stack.state.lock:
        return stack.state.tasks[upstream_id].created_at + config.queued_seconds + config.processing_seconds


def run_every(interval: float, stop: threading.Event, action: Callable[[], None]) -> None:
    """Call `action` every `interval` seconds from a random phase (browsers do not tick together)."""
    if stop.wait(random.uniform(0, interval)):
        return
    next_at = time.monotonic()
    while not stop.is_set():
        action()
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


# --- the measurements ------------------------------------------------------------------------------------


def measure_time_to_screen(stack: Stack, *, user: Any, cookie: tuple[str, str], count: int) -> dict[str, Any]:
    """From the simulator completing a task to the refresh endpoint serving it completed."""
    from django.conf import settings

    config = stack.state.config
    config.queued_seconds, config.processing_seconds = 2.0, 6.0
    poll_interval = settings.SOUNDCLONE_POLL_INTERVAL
    browser_interval = settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS
    records: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()
    stop = threading.Event()
    errors = [0]

    def watch(key: str) -> Callable[[], None]:
        session = cookie_session(*cookie)

        def look() -> None:
            with lock:
                waiting = {pk: record["model_id"] for pk, record in records.items() if record[key] is None}
            if not waiting:
                return
            try:
                response = session.get(stack.base_url + refresh_path(list(waiting)), timeout=10)
            except requests.RequestException:
                errors[0] += 1
                return
            seen_at = time.time()
            if response.status_code != 200:
                errors[0] += 1
                return
            with lock:
                for pk, model_id in waiting.items():
                    # The modelId is on the row only once it is completed, whatever the markup around it.
                    if model_id in response.text:
                        records[pk][key] = seen_at

        return look

    watchers = [
        threading.Thread(target=run_every, args=(0.2, stop, watch("tight")), daemon=True),
        threading.Thread(target=run_every, args=(browser_interval, stop, watch("browser")), daemon=True),
    ]
    for thread in watchers:
        thread.start()
    try:
        for number in range(count):
            # Jobs of 8 to 8 + one poll interval: completions land at every point of the poller's cycle.
            task, model_id = new_upstream_task(
                stack,
                user=user,
                name=f"Time to screen {number + 1}",
                extra_seconds=random.uniform(0, poll_interval),
            )
            with lock:
                records[task.pk] = {
                    "model_id": model_id,
                    "done": completed_at(stack, task.upstream_id),
                    "tight": None,
                    "browser": None,
                }
            time.sleep(random.uniform(0.3, 0.9))
        deadline = time.time() + 8 + poll_interval + 45
        while time.time() < deadline:
            with lock:
                if all(record["tight"] and record["browser"] for record in records.values()):
                    break
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in watchers:
            thread.join(timeout=15)
    result: dict[str, Any] = {"tasks": count, "errors": errors[0], "browser_interval": browser_interval}
    for key in ("tight", "browser"):
        delays = [record[key] - record["done"] for record in records.values() if record[key]]
        missing = sum(1 for record in records.values() if not record[key])
        result[key] = {
            "p50": percentile(delays, 0.5) if delays else None,
            "p95": percentile(delays, 0.95) if delays else None,
            "missing": missing,
        }
    return result


def measure_upstream_economy(
    stack: Stack, *, user: Any, cookies: list[tuple[str, str]], browsers: int, seconds: float, tasks: int
) -> dict[str, Any]:
    """Status queries the simulator receives per unfinished task per minute while `browsers` watch."""
    from django.conf import settings
    from django.utils import timezone

    from clones.models import CloneTask

    # Tasks that stay processing for the whole window, so that every one of them is polled throughout.
    stack.state.config.queued_seconds, stack.state.config.processing_seconds = 2.0, 3_600.0
    created = [new_upstream_task(stack, user=user, name=f"Economy {browsers}-{n}")[0] for n in range(tasks)]
    ids = [task.pk for task in created]
    upstream = {f"/v1/result/{task.upstream_id}": task.pk for task in created}
    started = time.monotonic()
    stop = threading.Event()
    counters = {"requests": 0, "errors": 0}
    counter_lock = threading.Lock()

    def browser(cookie: tuple[str, str]) -> Callable[[], None]:
        session = cookie_session(*cookie)

        def refresh() -> None:
            try:
                status = session.get(stack.base_url + refresh_path(ids), timeout=10).status_code
            except requests.RequestException:
                status = 0
            with counter_lock:
                counters["requests"] += 1
                counters["errors"] += status != 200

        return refresh

    interval = settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS
    threads = [
        threading.Thread(
            target=run_every, args=(interval, stop, browser(cookies[n % len(cookies)])), daemon=True
        )
        for n in range(browsers)
    ]
    for thread in threads:
        thread.start()
    try:
        stop.wait(max(0.0, seconds - (time.monotonic() - started)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    elapsed = time.monotonic() - started
    with stack.state.lock:
        log_entries = list(stack.state.request_log)
        per_task = dict.fromkeys(ids, 0)
        for method, path in log_entries:
            if method == "GET" and path in upstream:
                per_task[upstream[path]] += 1
        # Done with these: the service forgets them and the poller marks them failed on its next query.
        for task in created:
            stack.state.forget_task(task.upstream_id)
    CloneTask.objects.filter(pk__in=ids).update(
        status="failed", next_poll_at=None, finished_at=timezone.now()
    )
    rates = [count * 60 / elapsed for count in per_task.values()]
    return {
        "per_task_per_minute": statistics.median(rates),
        "max_per_task_per_minute": max(rates),
        "browser_requests": counters["requests"],
        "browser_errors": counters["errors"],
        "seconds": elapsed,
        "tasks": tasks,
    }


# --- a hung service --------------------------------------------------------------------------------------

# The create deadline the hung-service figures run with (SOUNDCLONE_CREATE_DEADLINE, 20 s in production): the
# figures scale with it, and 5 s keeps this part of the bench under two minutes.
HUNG_CREATE_DEADLINE = 5.0
HUNG_URL = "https://media.example.com/clips/hung-{number}.mp3?sim=create-hang"
NORMAL_URL = "https://media.example.com/clips/normal-{number}.mp3"
_TASK_IN_LOCATION = re.compile(r"task-(\d+)$")


class _FormInputs(HTMLParser):
    """The values of a page's <input> elements (the CSRF token and the form's one-time token)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "input" and values.get("name"):
            self.values.setdefault(values["name"], values.get("value", ""))


class Submitter:
    """A signed-in person with the new-clone form open in a browser tab: posting it is one click."""

    def __init__(self, base_url: str, cookie: tuple[str, str]) -> None:
        self.base_url = base_url
        self.session = cookie_session(*cookie)
        page = self.session.get(f"{base_url}/tasks/new/", timeout=30)
        if page.status_code != 200:
            raise RuntimeError(f"GET /tasks/new/ answered {page.status_code}")
        parser = _FormInputs()
        parser.feed(page.text)
        self.csrf_token = parser.values["csrfmiddlewaretoken"]
        self.form_token = parser.values["form_token"]

    def submit(self, *, name: str, file_url: str) -> tuple[float, int, int | None]:
        """Post the form: milliseconds to the answer, its HTTP status, and the id of the task it stored."""
        started = time.perf_counter()
        response = self.session.post(
            f"{self.base_url}/tasks/new/",
            data={
                "csrfmiddlewaretoken": self.csrf_token,
                "form_token": self.form_token,
                "name": name,
                "file_url": file_url,
                # A link to a host this machine cannot reach, never checked: sent as the form allows it.
                "clip_source": "link",
                "send_unchecked": "on",
                "content_text": "",
                "sound_version": "v2",
                "language": "English",
                "notes": "",
                "consent": "on",
            },
            headers={"Referer": f"{self.base_url}/tasks/new/"},
            allow_redirects=False,
            timeout=180,
        )
        elapsed = (time.perf_counter() - started) * 1000
        match = _TASK_IN_LOCATION.search(response.headers.get("Location", ""))
        if match:
            return elapsed, response.status_code, int(match.group(1))
        if response.status_code != 302:
            return elapsed, response.status_code, None
        # The answer leads back to the list without the task's id: the task stored under this (unique) name.
        from clones.models import CloneTask

        stored = CloneTask.objects.filter(name=name).order_by("-pk").values_list("pk", flat=True).first()
        return elapsed, response.status_code, stored


def submit_at_once(stack: Stack, cookies: list[tuple[str, str]], forms: list[tuple[str, str]]) -> list[Any]:
    """Each (name, file_url) posted by its own signed-in person, all at the same moment; their answers."""
    submitters = [Submitter(stack.base_url, cookies[n % len(cookies)]) for n in range(len(forms))]
    barrier = threading.Barrier(len(forms))
    answers: list[Any] = [None] * len(forms)

    def post(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = submitters[index].submit(name=forms[index][0], file_url=forms[index][1])
        except requests.RequestException as exc:
            answers[index] = (None, 0, None)
            log(f"a submission had no answer: {exc}")

    threads = [threading.Thread(target=post, args=(n,), daemon=True) for n in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=200)
    return answers


def pending_count(ids: list[int]) -> int:
    """How many of these tasks still wait to be sent (or are being sent right now)."""
    from clones.models import CloneTask

    return CloneTask.objects.filter(
        pk__in=ids, status__in=(CloneTask.Status.SUBMITTING, CloneTask.Status.RETRYING)
    ).count()


def restart_poller(stack: Stack, *, workers: int | None) -> None:
    """A fresh poller with the short create deadline; returns once it has recorded its first heartbeat."""
    from clones.models import PollerHeartbeat

    stack.start_poller(workers=workers, env={"SOUNDCLONE_CREATE_DEADLINE": f"{HUNG_CREATE_DEADLINE:g}"})
    assert stack.poller is not None
    deadline = time.monotonic() + 60
    while not PollerHeartbeat.objects.filter(name__endswith=f":{stack.poller.pid}").exists():
        if stack.poller.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the poller did not start (exit code {stack.poller.poll()})")
        time.sleep(0.2)


def measure_hung_submissions(stack: Stack, *, cookies: list[tuple[str, str]], count: int) -> dict[str, Any]:
    """`count` people submit at once while the service hangs on every create: how fast each gets its answer,
    how the list page and /healthz answer everyone else until the worker has given up on every one."""
    from clones.models import CloneTask

    restart_poller(stack, workers=None)
    with stack.state.lock:
        creates_before = sum(1 for entry in stack.state.request_log if entry[0] == "POST")
    stop = threading.Event()
    list_times: list[float] = []
    list_errors = [0]
    health = {"ok": 0, "total": 0}
    lock = threading.Lock()

    def look_at_list(cookie: tuple[str, str]) -> Callable[[], None]:
        session = cookie_session(*cookie)

        def look() -> None:
            try:
                elapsed = timed_get(session, f"{stack.base_url}/tasks/")
            except (requests.RequestException, RuntimeError):
                with lock:
                    list_errors[0] += 1
                return
            with lock:
                list_times.append(elapsed)

        return look

    def check_health() -> None:
        try:
            response = requests.get(f"{stack.base_url}/healthz", timeout=10)
            is_ok = response.status_code == 200 and response.json().get("status") == "ok"
        except (requests.RequestException, ValueError):
            is_ok = False
        with lock:
            health["total"] += 1
            health["ok"] += is_ok

    # Three colleagues keep the list open (one load every 0.5 s each); a load balancer checks every second.
    watchers = [
        threading.Thread(target=run_every, args=(0.5, stop, look_at_list(cookies[-1 - n])), daemon=True)
        for n in range(3)
    ]
    watchers.append(threading.Thread(target=run_every, args=(1.0, stop, check_health), daemon=True))
    started = time.monotonic()
    for thread in watchers:
        thread.start()
    try:
        answers = submit_at_once(
            stack,
            cookies[:count],
            [(f"Hung {n + 1}", HUNG_URL.format(number=n + 1)) for n in range(count)],
        )
        ids = [pk for _elapsed, _status, pk in answers if pk]
        # Until the worker has given up on every one: rounds of (workers at once) × the deadline.
        give_up_at = time.monotonic() + count * HUNG_CREATE_DEADLINE + 60
        while time.monotonic() < give_up_at and (time.monotonic() - started < 10 or pending_count(ids)):
            time.sleep(0.5)
        pending_window = time.monotonic() - started
    finally:
        stop.set()
        for thread in watchers:
            thread.join(timeout=15)
    with stack.state.lock:
        creates = sum(1 for entry in stack.state.request_log if entry[0] == "POST") - creates_before
    outcomes = dict.fromkeys(CloneTask.Status.values, 0)
    for status in CloneTask.objects.filter(pk__in=ids).values_list("status", flat=True):
        outcomes[status] += 1
    answered = [elapsed for elapsed, status, pk in answers if status == 302 and pk]
    return {
        "submissions": count,
        "redirected": len(answered),
        "answer_p50": percentile(answered, 0.5) if answered else None,
        "answer_p95": percentile(answered, 0.95) if answered else None,
        "answer_max": max(answered) if answered else None,
        "list_p50": percentile(list_times, 0.5) if list_times else None,
        "list_p95": percentile(list_times, 0.95) if list_times else None,
        "list_loads": len(list_times),
        "list_errors": list_errors[0],
        "healthz_ok": health["ok"],
        "healthz_total": health["total"],
        "seconds": pending_window,
        "creates_received": creates,
        "outcomes": {status: number for status, number in outcomes.items() if number},
        "deadline": HUNG_CREATE_DEADLINE,
    }


def measure_delay_behind_hung(
    stack: Stack, *, cookies: list[tuple[str, str]], workers: int | None, hung: int, run: int
) -> dict[str, Any]:
    """Submit `hung` tasks the service hangs on, then one normal task: seconds until the normal one is
    queued (accepted by the service), with the poller running `workers` workers (None: its default)."""
    from django.conf import settings

    from clones.models import CloneTask

    restart_poller(stack, workers=workers)
    hung_answers = submit_at_once(
        stack,
        cookies[:hung],
        [(f"Hung {run}-{n + 1}", HUNG_URL.format(number=f"{run}-{n + 1}")) for n in range(hung)],
    )
    hung_ids = [pk for _elapsed, _status, pk in hung_answers if pk]
    submitter = Submitter(stack.base_url, cookies[hung % len(cookies)])
    submitted_at = time.monotonic()
    _elapsed, status, normal_id = submitter.submit(
        name=f"Normal {run}", file_url=NORMAL_URL.format(number=run)
    )
    if status != 302 or normal_id is None:
        raise RuntimeError(f"the normal task's submission answered {status}")
    delay = None
    give_up_at = submitted_at + (hung + 1) * HUNG_CREATE_DEADLINE + 60
    while time.monotonic() < give_up_at:
        task_status = CloneTask.objects.filter(pk=normal_id).values_list("status", flat=True).get()
        if task_status not in (CloneTask.Status.SUBMITTING, CloneTask.Status.RETRYING):
            delay = time.monotonic() - submitted_at
            break
        time.sleep(0.05)
    final_status = CloneTask.objects.filter(pk=normal_id).values_list("status", flat=True).get()
    # The next case starts from a quiet worker: nothing of this one left to send.
    quiet_by = time.monotonic() + (hung + 1) * HUNG_CREATE_DEADLINE + 60
    while pending_count(hung_ids) and time.monotonic() < quiet_by:
        time.sleep(0.5)
    return {
        "workers": workers or settings.SOUNDCLONE_WORKERS,
        "hung": len(hung_ids),
        "seconds": delay,
        "status": final_status,
        "deadline": HUNG_CREATE_DEADLINE,
    }


def measure_hung_service(stack: Stack, *, cookies: list[tuple[str, str]]) -> dict[str, Any]:
    """The hung-service figures: 20 submissions at once, then a normal task behind 10 hung ones."""
    log("hung service: 20 submissions at once")
    result: dict[str, Any] = {"submissions": measure_hung_submissions(stack, cookies=cookies, count=20)}
    delays = []
    for run, workers in enumerate((None, 1), start=1):
        log(f"hung service: a normal task behind 10 hung ones, {workers or 'default'} worker(s)")
        delays.append(measure_delay_behind_hung(stack, cookies=cookies, workers=workers, hung=10, run=run))
    result["behind_hung"] = delays
    # Back to the poller the other figures ran with.
    stack.start_poller()
    return result


def run_locust(
    stack: Stack, *, sessions: list[str], ids: list[int], seconds: int, run: int
) -> dict[str, float]:
    """20 browsers refreshing without pause for `seconds`, driven by locust headless."""
    from django.conf import settings

    prefix = stack.work_dir / f"locust-{run}"
    env = {
        **os.environ,
        "BENCH_SESSIONS": ",".join(sessions),
        "BENCH_REFRESH_IDS": ",".join(str(pk) for pk in ids),
        "BENCH_SESSION_COOKIE_NAME": settings.SESSION_COOKIE_NAME,
    }
    command = [sys.executable, "-m", "locust", "-f", str(BASE_DIR / "bench" / "locustfile.py"), "--headless"]
    command += ["-u", "20", "-r", "20", "-t", f"{seconds}s", "--host", stack.base_url, "--csv", str(prefix)]
    command += ["--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"]
    with (stack.work_dir / "locust.log").open("ab") as log_file:
        stack.locust = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            stack.locust.wait(timeout=seconds + 60)
        finally:
            stop_process(stack.locust)
            stack.locust = None
    with Path(f"{prefix}_stats.csv").open(newline="") as stats_file:
        row = next(row for row in csv.DictReader(stats_file) if row["Name"] == "Aggregated")
    return {
        "rps": float(row["Requests/s"]),
        "requests": float(row["Request Count"]),
        "errors": float(row["Failure Count"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--with-poller-figures", action="store_true")
    parser.add_argument("--quick", action="store_true", help="Shorter runs, to try the bench itself.")
    parser.add_argument(
        "--hung-service-only",
        action="store_true",
        help="Seed 100,000 tasks and measure only the hung-service figures.",
    )
    args = parser.parse_args()
    raise_on_stop_signals()
    os.environ["BENCH_LABEL"] = args.label
    runs = 1 if args.quick else 3
    work_dir = args.out.parent

    with running_stack(work_dir) as stack:
        # Django reads these once: the simulator must be listening before the setup. gunicorn and the poller
        # inherit them. The archive copy refuses loopback addresses unless told (the simulator is one).
        os.environ["SOUNDCLONE_BASE_URL"] = stack.simulator.base_url
        os.environ["SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS"] = f"127.0.0.1:{stack.simulator.port}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soundclone_site.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        result: dict[str, Any] = {"label": args.label, "vendor": connection.vendor}
        log("migrating")
        call_command("migrate", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(16)
        user = get_user_model().objects.create_user(
            DEMO_USERNAME, password=password, is_staff=True, is_superuser=True
        )
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)

        queries: dict[str, dict[str, Any]] = {"list": {}, "refresh": {}, "detail": {}}
        seeded = 0
        for size in SIZES[-1:] if args.hung_service_only else SIZES:
            started = time.monotonic()
            seed_tasks(user=user, start=seeded, stop=size, simulator_url=stack.simulator.base_url)
            if connection.vendor == "postgresql":
                # A database that grew over months has been vacuumed and analysed by now; without this the
                # planner guesses, and autovacuum would catch up in the middle of the measurements.
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
            log(f"seeded {size:,} tasks in {time.monotonic() - started:.1f} s")
            seeded = size
            pending, completed = first_page_ids()
            if args.hung_service_only:
                continue
            for name, path in (
                ("list", "/tasks/"),
                ("refresh", refresh_path(pending)),
                ("detail", f"/tasks/{completed}/"),
            ):
                measured = count_queries(client, path, runs)
                queries[name][str(size)] = measured["count"]
                queries[name][f"sql_{size}"] = measured["sql"]
        result["queries"] = queries
        result["refresh_ids"] = len(pending)

        # Browsers' sessions, made without hashing a password 50 times (each takes ~0.5 s on purpose).
        browser_sessions = []
        for _ in range(50):
            browser_client = Client(SERVER_NAME="127.0.0.1")
            browser_client.force_login(user)
            browser_sessions.append(browser_client.cookies[settings.SESSION_COOKIE_NAME].value)
        cookie_name = settings.SESSION_COOKIE_NAME
        connection.close()

        log("starting gunicorn and the poller")
        stack.start_web()
        stack.start_poller()
        session = signed_in_session(stack.base_url, DEMO_USERNAME, password)
        session_id = session.cookies[cookie_name]
        cookies = [(cookie_name, value) for value in browser_sessions]

        if args.hung_service_only:
            result["hung_service"] = measure_hung_service(stack, cookies=cookies)
            args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
            log("done")
            return

        log("page weight")
        result["weight"] = {
            name: page_weight(stack.base_url, cookie_name, session_id, path)
            for name, path in (("list", "/tasks/"), ("form", "/tasks/new/"))
        }

        if args.with_poller_figures:
            # bench/clips.py: none of these depends on the database.
            log("clips: checking a 60 s clip, the form's cold load, a 200 MB upload")
            result["clips"] = {
                "check_cpu": clips.measure_check_cpu(runs=3 if args.quick else clips.CHECK_RUNS),
                "form_weight": clips.measure_form_weight(stack.base_url, cookie_name, session_id),
                "upload": clips.measure_upload_memory(stack.base_url, stack.web.pid, session),
            }

        log(f"server time at {seeded:,} tasks")
        latency: dict[str, dict[str, float]] = {}
        for name, path in (("list", "/tasks/"), ("refresh", refresh_path(pending))):
            for _ in range(5):
                timed_get(session, stack.base_url + path)  # warm up: templates, connections
            rounds = []
            for _ in range(runs):
                samples = [timed_get(session, stack.base_url + path) for _ in range(100)]
                rounds.append({"p50": percentile(samples, 0.5), "p95": percentile(samples, 0.95)})
            latency[name] = median_of(rounds)
        result["latency"] = latency

        seconds = 10 if args.quick else 30
        log(f"throughput: 20 clients for {seconds} s, {runs} run(s)")
        locust_runs = [
            run_locust(stack, sessions=browser_sessions[:20], ids=pending, seconds=seconds, run=run)
            for run in range(runs)
        ]
        result["throughput"] = median_of(locust_runs) | {
            "errors_total": sum(run["errors"] for run in locust_runs),
            "cores": len(os.sched_getaffinity(0)),
        }

        if args.with_poller_figures:
            log("time to screen")
            result["time_to_screen"] = measure_time_to_screen(
                stack, user=user, cookie=(cookie_name, session_id), count=8 if args.quick else 24
            )
            window = 20 if args.quick else 60
            economy = {}
            for browsers in (1, 50):
                log(f"upstream economy: {browsers} browser(s) for {window} s")
                economy[str(browsers)] = measure_upstream_economy(
                    stack, user=user, cookies=cookies, browsers=browsers, seconds=window, tasks=20
                )
            result["economy"] = economy
            # bench/idle_tab.py: an open list tab in Chromium.
            log("idle list tab in Chromium: bytes a minute, then completed voices on screen")
            result["idle_tab"] = measure_idle_tab(
                stack, user=user, cookie=(cookie_name, session_id), seconds=window
            )
            result["completed_on_screen"] = measure_completed_on_screen(
                stack, user=user, cookie=(cookie_name, session_id), count=8 if args.quick else 24
            )

        workers = child_pids(stack.web.pid) if stack.web else []
        result["memory"] = {
            "web_worker_mb": max((rss_mb(pid) or 0 for pid in workers), default=None),
            "web_workers": len(workers),
            "poller_mb": rss_mb(stack.poller.pid) if stack.poller else None,
        }

        if args.with_poller_figures:
            # Last, after the memory figure: it restarts the poller (a short create deadline, one worker).
            result["hung_service"] = measure_hung_service(stack, cookies=cookies)
        for name, process in (("gunicorn", stack.web), ("poller", stack.poller)):
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited during the run ({process.returncode}): see {work_dir}")

    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    log("done")


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BenchAborted):
        log("stopped: every process it started is stopped")
        sys.exit(130)
