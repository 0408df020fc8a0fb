"""In Chromium: an open list tab stays light while it waits (nothing asked when nothing is unfinished,
bodiless answers when nothing changed), its layout does not shift as it loads, and a refreshed row keeps the
keyboard's focus where it was."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

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
