"""In Chromium (issue 10): the list comes first on a desktop and a phone, in English and Chinese; filters
apply on change (and without JavaScript through Apply) and show as removable chips; "Send again anyway" warns
before it posts; "Keep this one" archives the other voice and can be undone; at 390 px nothing spills out of
its card. Screenshots go to each test's tmp_path."""

from __future__ import annotations

import re
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from clones.models import CloneTask
from tests.factories import completed_task, make_task

pytestmark = pytest.mark.browser

Status = CloneTask.Status
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LONG_MODEL_ID = "voice_" + "0123456789abcdef" * 4
LONG_NAME = "Narrator for the Internationalisation documentary, calm and reassuring"
LONG_URL = "https://media.example.com/clips/2026/interviews/" + "speaker-li-wei-" * 6 + "take3.mp3"


def serious_accessibility_faults(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [rule["id"] for rule in violations if rule["impact"] in {"serious", "critical"}]


def a_team_list(user) -> None:
    """Six voices in the states a team sees on a working day."""
    completed_task(name="Advert, upbeat", submitted_by=user, model_id=LONG_MODEL_ID)
    completed_task(
        name="Lapsing soon",
        submitted_by=user,
        finished_at=timezone.now() - timezone.timedelta(days=2, hours=20),
    )
    make_task(name="Interview, Chen", status=Status.PROCESSING, submitted_by=user)
    make_task(
        name="Too quiet", status=Status.FAILED, submitted_by=user, error="No longer known to the service."
    )
    make_task(name="Timed out", status=Status.UNCERTAIN, submitted_by=user)
    make_task(name="Newest: narrator, calm", status=Status.NOT_SENT, submitted_by=user)


# --- The list comes first -------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_the_first_voice_is_on_the_first_screen(signed_in_page, staff_user, tmp_path, locale, viewport):
    a_team_list(staff_user)
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size(viewport)
    page.goto("/tasks/")
    first = page.locator("ol.task-list > li").first
    expect(first).to_contain_text("Newest: narrator, calm")
    box = first.bounding_box()
    # The whole row is on screen without scrolling (before: 1.5 screens down on a phone), and on a desktop it
    # sits in the upper half (before: at the bottom edge, 597 px down).
    assert 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], box
    if viewport == DESKTOP:
        assert box["y"] <= viewport["height"] / 2, box
    # The filters wait behind their disclosure; the search box is in view.
    expect(page.locator("details.filter-more")).not_to_have_attribute("open", "")
    expect(page.locator("#filter_q")).to_be_in_viewport()
    assert serious_accessibility_faults(page) == []


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_with_filters_and_their_chips_the_first_voice_is_still_on_a_phones_first_screen(
    signed_in_page, staff_user, tmp_path, locale
):
    a_team_list(staff_user)
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size(PHONE)
    page.goto("/tasks/?attention=1&submitter=mei&version=v1&sort=oldest")
    expect(page.locator(".filter-chips .chip")).to_have_count(4)
    first = page.locator("ol.task-list > li").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box["y"] + 48 <= PHONE["height"], box


def test_a_filter_applies_as_soon_as_it_changes_and_its_chip_removes_it(signed_in_page, staff_user, tmp_path):
    a_team_list(staff_user)
    page = signed_in_page(staff_user)
    page.set_viewport_size(PHONE)
    page.goto("/tasks/")
    rows = page.locator("ol.task-list > li")
    expect(rows).to_have_count(6)

    page.locator("details.filter-more > summary").click()
    page.get_by_label("Status").select_option("failed")  # no Apply button pressed
    page.wait_for_url(re.compile(r"/tasks/\?status=failed$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Too quiet")
    # Back where it was: the disclosure open again, focus on the select that changed.
    expect(page.locator("details.filter-more")).to_have_attribute("open", "")
    expect(page.get_by_label("Status")).to_be_focused()

    page.get_by_role("link", name="Remove the filter Status: Failed").click()
    page.wait_for_url(re.compile(r"/tasks/$"))
    expect(rows).to_have_count(6)

    page.get_by_label("Needs attention").check()
    page.wait_for_url(re.compile(r"attention=1"))
    expect(rows).to_have_count(4)  # failed, uncertain, not sent, lapsing within a day
    expect(page.get_by_role("link", name="Remove the filter Needs attention")).to_be_visible()


def test_choosing_with_the_arrow_keys_applies_on_enter_not_at_every_key(signed_in_page, staff_user):
    a_team_list(staff_user)
    page = signed_in_page(staff_user)
    page.goto("/tasks/")
    page.locator("details.filter-more > summary").press("Enter")
    version = page.get_by_label("Model version")
    version.focus()
    version.press("ArrowDown")
    page.wait_for_timeout(500)
    assert page.url.endswith("/tasks/")  # not reloaded under the person's fingers
    version.press("Enter")
    page.wait_for_url(re.compile(r"version=v1"))
    expect(page.get_by_label("Model version")).to_be_focused()


def test_without_javascript_the_apply_button_applies_the_filters(browser, live_server, staff_user):
    a_team_list(staff_user)
    client = Client()
    client.force_login(staff_user)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    try:
        page = context.new_page()
        page.goto("/tasks/")
        page.locator("details.filter-more > summary").click()
        page.get_by_label("Submitted by").select_option("mei")
        page.get_by_label("Status").select_option("processing")
        page.wait_for_timeout(300)
        assert page.url.endswith("/tasks/")  # nothing happens until Apply
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"status=processing&.*submitter=mei"))
        expect(page.locator("ol.task-list > li")).to_have_count(1)
        expect(page.locator(".filter-chips .chip")).to_have_count(2)
    finally:
        context.close()


def test_send_again_anyway_shows_the_warning_first_and_posts_only_from_it_by_keyboard(
    signed_in_page, staff_user, tmp_path
):
    task = make_task(name="Timed out", status=Status.UNCERTAIN, submitted_by=staff_user)
    page = signed_in_page(staff_user)
    page.set_viewport_size(PHONE)
    page.goto("/tasks/")
    row = page.locator(f"#task-{task.pk}")
    expect(row).not_to_contain_text("Running for")
    warning = row.get_by_text("The voice service may already have this task")
    expect(warning).to_be_hidden()

    row.get_by_text("Send again anyway").focus()
    page.keyboard.press("Enter")
    expect(warning).to_be_visible()
    task.refresh_from_db()
    assert task.status == Status.UNCERTAIN  # opening the warning sent nothing

    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Yes, send it again")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f"#task-{task.pk} .badge").first).to_have_text("Sending…")
    task.refresh_from_db()
    assert task.status == Status.SUBMITTING


# --- Compare: keep this one -----------------------------------------------------------------------------


def a_pair(user) -> tuple[CloneTask, CloneTask]:
    token = uuid.uuid4()
    common = {"name": "Narrator", "submitted_by": user, "pair_token": token, "file_url": LONG_URL}
    return (
        completed_task(sound_version="v1", model_id=LONG_MODEL_ID, **common),
        completed_task(sound_version="v2", model_id="voice_short", **common),
    )


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_keep_this_one_archives_the_other_voice_and_undo_brings_it_back(
    signed_in_page, staff_user, tmp_path, locale
):
    first, second = a_pair(staff_user)
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size(PHONE)
    page.goto(f"/tasks/compare/?ids={first.pk},{second.pk}")
    assert serious_accessibility_faults(page) == []
    page.locator(f"form.keep-one[action='/tasks/compare/keep/{second.pk}/'] button").click()

    note = page.locator(".kept-note")
    expect(note).to_be_visible()
    first.refresh_from_db()
    assert first.is_archived and first.archived_by == staff_user
    expect(page.locator(f"#task-{first.pk} .badge-archived")).to_be_visible()
    expect(page.locator("form.keep-one")).to_have_count(0)
    assert serious_accessibility_faults(page) == []

    note.locator("button").click()
    expect(page.locator(".message.success")).to_be_visible()
    first.refresh_from_db()
    assert not first.is_archived
    expect(page.locator("form.keep-one")).to_have_count(2)


# --- Nothing spills out at 390 px -----------------------------------------------------------------------

SPILLS = """
() => {
  const problems = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) problems.push(`page ${page.scrollWidth} > ${page.clientWidth}`);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className.trim().replace(/\\s+/g, ".") : "");
  const skipped = ".visually-hidden, [hidden], details:not([open]) > :not(summary)";
  for (const card of document.querySelectorAll("main .card, main .task")) {
    const box = card.getBoundingClientRect();
    const room = card.clientWidth;
    if (card.scrollWidth > room) problems.push(`${name(card)} scrolls: ${card.scrollWidth} > ${room}`);
    for (const el of card.querySelectorAll("*")) {
      if (el.closest(skipped)) continue;
      const rect = el.getBoundingClientRect();
      // Form fields scroll their own text; a 1 px box is a label kept for screen readers only.
      if (rect.width <= 1 || el.matches("input, textarea, select")) continue;
      if (el.scrollWidth > room) problems.push(`${name(el)} in ${name(card)}: ${el.scrollWidth} > ${room}`);
      if (rect.right > box.right + 0.5 || rect.left < box.left - 0.5) {
        problems.push(`${name(el)} sticks out of ${name(card)}`);
      }
      if (el.scrollWidth > el.clientWidth && el.clientWidth && getComputedStyle(el).overflowX !== "visible") {
        problems.push(`${name(el)} hides ${el.scrollWidth - el.clientWidth}px behind a scroll`);
      }
    }
  }
  return problems;
}
"""

BROKEN_WORDS = """
(element) => {
  const broken = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const match of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}
"""


def assert_nothing_spills(page: Page) -> None:
    assert page.evaluate(SPILLS) == []


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_at_390_px_the_voice_page_keeps_words_whole_and_everything_inside_its_cards(
    signed_in_page, staff_user, tmp_path, locale
):
    task = completed_task(
        name=LONG_NAME,
        submitted_by=staff_user,
        model_id=LONG_MODEL_ID,
        file_url=LONG_URL,
        upstream_id="audio_" + "5b0c77aa" * 6,
        last_polled_at=timezone.now(),
        sent_at=timezone.now(),
        consent_confirmed_at=timezone.now(),
        consent_text="I have the speaker's permission to clone this voice",
    )
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size(PHONE)
    page.goto(f"/tasks/{task.pk}/")
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_text(LONG_NAME)

    assert title.evaluate(BROKEN_WORDS) == []
    assert title.bounding_box()["height"] > 40  # it did wrap, between words
    assert_nothing_spills(page)
    # The modelId wraps instead of being clipped: every character is inside its card.
    for code in page.locator("code", has_text=LONG_MODEL_ID[:20]).all():
        assert code.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1")
    timeline = page.locator("section[aria-labelledby=times-heading]")
    timeline.scroll_into_view_if_needed()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_at_390_px_the_compare_page_shows_every_input_without_hidden_columns(
    signed_in_page, staff_user, tmp_path, locale
):
    first, second = a_pair(staff_user)
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size(PHONE)
    page.goto(f"/tasks/compare/?ids={first.pk},{second.pk}")
    assert_nothing_spills(page)
    # Every input of each voice is on screen when scrolled to, not behind a sideways scroll.
    for made_from in page.locator("section.made-from").all():
        made_from.scroll_into_view_if_needed()
        expect(made_from.locator("dd").first).to_have_text(LONG_URL)
        expect(made_from.locator("dd").first).to_be_in_viewport()


def test_at_390_px_the_list_rows_keep_everything_inside(signed_in_page, staff_user, tmp_path):
    a_team_list(staff_user)
    page = signed_in_page(staff_user)
    page.set_viewport_size(PHONE)
    page.goto("/tasks/")
    assert_nothing_spills(page)
