"""`make bench`, the idle tab: what an open list tab receives while it waits, and how soon it shows a voice
the worker has just learned is completed. Measured in Chromium (Debian's, through Playwright, as the browser
tests drive it) against the bench's gunicorn, poller and simulator (bench/measure.py calls these).

- Bytes a minute: the list page filtered to one unfinished voice (the service keeps it processing, the
  poller queries it every 5 s, its fastest pace), then to one completed voice. The page loads, then every
  response it receives for a window is counted as Chromium's network layer saw it (CDP
  Network.loadingFinished, encodedDataLength: headers and body as they came over the wire), scaled to a
  minute.
- Time to screen: tasks lasting 8 to 28 s on one open list page; for each, from the moment the worker saved
  it completed (finished_at) to the moment the page swapped in its completed row (a listener on htmx's
  oob swap, in the page). Both clocks are this machine's.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any
from urllib.parse import urlencode

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

# In the page: when each row first shows as completed (milliseconds since the epoch, this machine's clock).
SEEN_COMPLETED = """
window.__completedAt = {};
document.addEventListener("htmx:oobAfterSwap", (event) => {
  const row = event.target;
  if (row && row.dataset && row.dataset.status === "completed" && !(row.id in window.__completedAt)) {
    window.__completedAt[row.id] = Date.now();
  }
});
"""


def _browser_page(playwright: Any, base_url: str, cookie: tuple[str, str]) -> tuple[Any, Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    context = browser.new_context(base_url=base_url, locale="en-US")
    context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": base_url}])
    return browser, context.new_page()


def _bytes_received(
    playwright: Any, base_url: str, cookie: tuple[str, str], path: str, seconds: float
) -> dict:
    """Open `path`, let it load, then count what it receives for `seconds`: bytes and requests a minute."""
    browser, page = _browser_page(playwright, base_url, cookie)
    try:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        received: list[tuple[float, float]] = []
        cdp.on(
            "Network.loadingFinished",
            lambda event: received.append((time.monotonic(), event["encodedDataLength"])),
        )
        page.goto(path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(1000)  # the page's own scripts and icon are not the idle tab's cost
        started = time.monotonic()
        page.wait_for_timeout(seconds * 1000)
        ended = time.monotonic()
        window = [size for at, size in received if started <= at <= ended]
        rows = page.locator(".task").count()
        pending = page.locator(".pending-id").count()
    finally:
        browser.close()
    scale = 60 / (ended - started)
    return {
        "bytes_per_minute": sum(window) * scale,
        "requests_per_minute": len(window) * scale,
        "rows": rows,
        "pending": pending,
        "seconds": ended - started,
    }


def measure_idle_tab(stack: Any, *, user: Any, cookie: tuple[str, str], seconds: float) -> dict[str, Any]:
    """Bytes a minute an open list tab receives with one unfinished voice on it, and with none."""
    from django.utils import timezone
    from playwright.sync_api import sync_playwright

    from bench.measure import new_upstream_task
    from clones.models import CloneTask

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM beside Playwright's loop
    stack.state.config.queued_seconds, stack.state.config.processing_seconds = 2.0, 3_600.0
    waiting, _model_id = new_upstream_task(stack, user=user, name="Idle tab, one unfinished voice")
    finished, _model_id = new_upstream_task(stack, user=user, name="Idle tab, nothing unfinished")
    # Idle means nothing changes: the worker has sent it and the service said "processing" (after 2 s).
    deadline = time.monotonic() + 30
    while CloneTask.objects.get(pk=waiting.pk).status != "processing" and time.monotonic() < deadline:
        time.sleep(0.5)
    CloneTask.objects.filter(pk=finished.pk).update(
        status="completed", model_id="voice_idle", audio_url=f"{stack.simulator.base_url}/idle.wav",
        finished_at=timezone.now(), next_poll_at=None,
    )  # fmt: skip
    result: dict[str, Any] = {}
    with sync_playwright() as playwright:
        for key, name in (("one_unfinished", waiting.name), ("none_unfinished", finished.name)):
            path = "/tasks/?" + urlencode({"q": name})
            result[key] = _bytes_received(playwright, stack.base_url, cookie, path, seconds)
    stack.state.forget_task(waiting.upstream_id)  # done with it: the poller marks it failed
    CloneTask.objects.filter(pk=waiting.pk).update(
        status="failed", next_poll_at=None, finished_at=timezone.now()
    )
    return result


def measure_completed_on_screen(
    stack: Any, *, user: Any, cookie: tuple[str, str], count: int
) -> dict[str, Any]:
    """From the worker saving a task completed to an open list page showing it completed: p50 / p95."""
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    from bench.measure import new_upstream_task, percentile
    from clones.models import CloneTask

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    stack.state.config.queued_seconds, stack.state.config.processing_seconds = 2.0, 6.0
    label = f"Completed on screen {random.randrange(10**6)}"
    tasks = [
        # 8 to 28 s: completions fall at every point of the page's and the poller's cycles.
        new_upstream_task(
            stack, user=user, name=f"{label} {number + 1}", extra_seconds=random.uniform(0, 20)
        )[0]
        for number in range(count)
    ]
    ids = [task.pk for task in tasks]
    with sync_playwright() as playwright:
        browser, page = _browser_page(playwright, stack.base_url, cookie)
        try:
            page.add_init_script(SEEN_COMPLETED)
            page.goto("/tasks/?" + urlencode({"q": label}))
            deadline = time.monotonic() + 28 + settings.SOUNDCLONE_POLL_INTERVAL + 30
            while time.monotonic() < deadline:
                if page.evaluate("Object.keys(window.__completedAt).length") >= count:
                    break
                page.wait_for_timeout(500)
            seen = page.evaluate("window.__completedAt")
        finally:
            browser.close()
    delays = []
    for task in CloneTask.objects.filter(pk__in=ids):
        seen_at = seen.get(f"task-{task.pk}")
        if task.status == "completed" and task.finished_at and seen_at:
            delays.append(seen_at / 1000 - task.finished_at.timestamp())
    return {
        "tasks": count,
        "missing": count - len(delays),
        "p50": percentile(delays, 0.5) if delays else None,
        "p95": percentile(delays, 0.95) if delays else None,
        "max": max(delays) if delays else None,
        "refresh_seconds": settings.SOUNDCLONE_BROWSER_REFRESH_SECONDS,
    }


# --- the table's cells (bench/run.py) ----------------------------------------------------------------------

IDLE_TARGET_BYTES = 4_000  # a minute, with one unfinished voice (issue 10)


def idle_tab_cell(result: dict) -> str:
    if "idle_tab" not in result:
        return "(measured on SQLite)"
    one, none = result["idle_tab"]["one_unfinished"], result["idle_tab"]["none_unfinished"]
    is_met = one["bytes_per_minute"] <= IDLE_TARGET_BYTES and none["bytes_per_minute"] == 0
    return (
        f"{one['bytes_per_minute'] / 1000:.1f} kB in {one['requests_per_minute']:.0f} requests / "
        f"{none['bytes_per_minute'] / 1000:.1f} kB in {none['requests_per_minute']:.0f} requests "
        f"{'✓' if is_met else '✗ **missed**'}"
    )


def completed_on_screen_cell(result: dict) -> str:
    if "completed_on_screen" not in result:
        return "(measured on SQLite)"
    figures = result["completed_on_screen"]
    p50, p95 = figures["p50"], figures["p95"]
    text = "—" if p95 is None else f"{p50:.1f} / {p95:.1f} s"
    if figures["missing"]:
        text += f", {figures['missing']} of {figures['tasks']} never shown"
    is_met = p95 is not None and p95 < 10 and not figures["missing"]
    return f"{text} {'✓' if is_met else '✗ **missed**'}"
