"""In Chromium set to Shanghai time: the first visit stores the browser's zone, the list shows its times
8 hours ahead of UTC with the zone named, and the footer's control changes the zone, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from clones.models import StaffPreference
from tests.factories import completed_task

pytestmark = pytest.mark.browser

# Earlier today in UTC (the tests' clock is real here): 18:36 in Shanghai, 05:36 in New York.
SUBMITTED = datetime(2026, 11, 26, 10, 36, tzinfo=UTC)

WORDS = {
    "en-US": {
        "utc": "26 Nov 2026, 10:36 UTC",
        "shanghai": "26 Nov 2026, 18:36 CST",
        "new_york": "26 Nov 2026, 05:36 EST",
        "control": "Time zone: {zone} (change)",
        "label": "Time zone",
        "save": "Save time zone",
        "saved": "Times are now shown in America/New_York.",
    },
    "zh-CN": {
        "utc": "2026年11月26日 10:36 UTC",
        "shanghai": "2026年11月26日 18:36 CST",
        "new_york": "2026年11月26日 05:36 EST",
        "control": "时区：{zone}（更改）",
        "label": "时区",
        "save": "保存时区",
        "saved": "现在按 America/New_York 显示时间。",
    },
}


@pytest.mark.parametrize(("locale", "width"), [("en-US", 1280), ("zh-CN", 390)])
def test_the_browsers_zone_is_kept_for_the_person_and_can_be_changed_from_the_footer(
    signed_in_page, staff_user, locale, width
):
    words = WORDS[locale]
    with time_machine.travel(SUBMITTED, tick=False):
        completed_task(name="Narrator", finished_at=SUBMITTED)
    page = signed_in_page(staff_user, locale=locale, timezone_id="Asia/Shanghai")
    page.set_viewport_size({"width": width, "height": 844})

    page.goto("/tasks/")
    control = page.locator("#time-zone-link")
    submitted = page.locator("ol.task-list > li").first.locator("time").first
    # The first page is written in the site's zone; the browser reports its own and the page comes back in it.
    expect(control).to_have_text(words["control"].format(zone="Asia/Shanghai"))
    expect(submitted).to_have_text(words["shanghai"])
    expect(submitted).to_have_attribute("datetime", "2026-11-26T18:36:00+08:00")
    assert StaffPreference.objects.get(user=staff_user).time_zone == "Asia/Shanghai"
    assert words["utc"] not in page.content()

    control.click()
    zone_select = page.get_by_label(words["label"], exact=True)
    expect(zone_select).to_have_value("Asia/Shanghai")
    violations = [
        rule for rule in Axe().run(page).response["violations"] if rule["impact"] in {"serious", "critical"}
    ]
    assert violations == []
    zone_select.select_option("America/New_York")
    page.get_by_role("button", name=words["save"]).click()

    expect(page).to_have_url(f"{page.url.split('/tasks/')[0]}/tasks/")
    expect(page.get_by_text(words["saved"])).to_be_visible()
    expect(control).to_have_text(words["control"].format(zone="America/New_York"))
    expect(submitted).to_have_text(words["new_york"])
    assert StaffPreference.objects.get(user=staff_user).time_zone == "America/New_York"

    # The browser still says Shanghai, but the person chose New York: a new page keeps their choice.
    page.reload()
    expect(submitted).to_have_text(words["new_york"])
    assert StaffPreference.objects.get(user=staff_user).time_zone == "America/New_York"
