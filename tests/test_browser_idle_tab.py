"""In Chromium: an open list tab stays light while it waits (nothing asked when nothing is unfinished,
bodiless answers when nothing changed), its layout does not shift as it loads, and a refreshed row keeps the
keyboard's focus where it was."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Page, expect

from clones.models import CloneTask
from tests.factories import completed_task, make_task

pytestmark = pytest.mark.browser

Status = CloneTask.Status

# Every layout shift the page reports from its first paint, with the elements that moved (Chromium's
# PerformanceObserver; `buffered` hands over those that happened before the observer was made).
LAYOUT_SHIFTS = """() => new Promise((resolve) => {
  const shifts = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.hadRecentInput) continue;
      shifts.push({
        value: entry.value,
        sources: (entry.sources || []).map((source) => {
          const node = source.node;
          return node ? (node.id ? "#" + node.id : node.nodeName + "." + (node.className || "")) : "?";
        }),
      });
    }
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(shifts), 1500);
})"""


def refresh_requests(page: Page) -> list:
    """Every request the page makes to the refresh endpoint from now on."""
    requests: list = []
    page.on("request", lambda request: "/tasks/refresh/" in request.url and requests.append(request))
    return requests


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_list_does_not_shift_while_it_loads(signed_in_page, staff_user, locale, width):
    completed_task(name="Finished narrator", submitted_by=staff_user)
    make_task(name="Waiting narrator", status=Status.PROCESSING, submitted_by=staff_user)
    completed_task(name="Another finished one", submitted_by=staff_user)
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/tasks/")
    page.wait_for_load_state("load")
    shifts = page.evaluate(LAYOUT_SHIFTS)
    assert sum(shift["value"] for shift in shifts) < 0.01, shifts


# Records the delay of every timer the page's scripts start, before any of them runs.
TIMER_RECORDER = """
window.__timers = [];
for (const name of ["setTimeout", "setInterval"]) {
  const original = window[name];
  window[name] = function (callback, delay, ...rest) {
    window.__timers.push(delay || 0);
    return original.call(window, callback, delay, ...rest);
  };
}
"""


def test_a_list_with_nothing_unfinished_starts_no_timer_and_asks_nothing(signed_in_page, staff_user):
    completed_task(name="Finished narrator")
    make_task(name="Failed one", status=Status.FAILED, error="Too short.", finished_at=timezone.now())
    page = signed_in_page(staff_user)
    page.add_init_script(TIMER_RECORDER)
    requests = refresh_requests(page)
    page.goto("/tasks/")
    page.wait_for_timeout(1500)  # five times the tests' refresh pace (0.3 s)
    assert requests == []
    # htmx settles swaps with timers of a few milliseconds; the refresh and the running-time clock use
    # the refresh pace (300 ms here) and one second.
    assert [delay for delay in page.evaluate("window.__timers") if delay >= 250] == []


def test_an_idle_tab_hears_bodiless_answers_and_counts_the_running_time_itself(signed_in_page, staff_user):
    task = make_task(name="Waiting narrator", status=Status.PROCESSING)
    page = signed_in_page(staff_user)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    answers: dict[str, dict] = {}
    cdp.on(
        "Network.responseReceived",
        lambda event: answers.setdefault(event["requestId"], {}).update(
            url=event["response"]["url"], status=event["response"]["status"]
        ),
    )
    cdp.on(
        "Network.loadingFinished",
        lambda event: answers.setdefault(event["requestId"], {}).update(bytes=event["encodedDataLength"]),
    )
    page.goto("/tasks/")
    running = page.locator(f"#task-{task.pk} .running-time")
    expect(running).to_have_text(re.compile(r"^[01] s$"))
    page.wait_for_timeout(2500)
    refreshes = [answer for answer in answers.values() if "/tasks/refresh/" in answer.get("url", "")]
    assert len(refreshes) >= 4
    assert {answer["status"] for answer in refreshes} == {204}
    # At the default pace (one question every 5 s), a minute of such answers stays far under 4 KB.
    largest = max(answer["bytes"] for answer in refreshes if "bytes" in answer)
    assert 12 * largest < 4000 / 2, largest
    expect(running).to_have_text(re.compile(r"^[2-9] s$"))


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1280, 390])
def test_a_row_that_completes_keeps_the_keyboards_focus(signed_in_page, staff_user, locale, width):
    completed_task(name="Older voice")  # the next row, where focus used to jump
    task = make_task(name="Waiting voice", status=Status.QUEUED)
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/tasks/")
    focused_row = "document.activeElement.closest('.task') && document.activeElement.closest('.task').id"
    link = page.locator(f"#task-{task.pk} .task-name a")
    for _press in range(60):
        page.keyboard.press("Tab")
        if link.evaluate("(element) => element === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the row's link")

    CloneTask.objects.filter(pk=task.pk).update(
        status=Status.COMPLETED, model_id="voice_focus", audio_url="https://cdn.example.com/focus.wav",
        finished_at=timezone.now(),
    )  # fmt: skip
    row = page.locator(f"#task-{task.pk}")
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.locator("code")).to_have_text("voice_focus")
    assert page.evaluate(focused_row) == f"task-{task.pk}"
    assert link.evaluate("(element) => element === document.activeElement"), "focus left the row's link"
    # The next Tab reaches the new player and Copy, in this row, not the next one.
    page.keyboard.press("Tab")
    assert page.evaluate(focused_row) == f"task-{task.pk}"
    violations = [
        rule for rule in Axe().run(page).response["violations"] if rule["impact"] in {"serious", "critical"}
    ]
    assert violations == []
