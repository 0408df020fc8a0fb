"""The flows staff use, in real Chromium: submit, watch the status change, play, copy the modelId."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clones.models import CloneTask
from tests.conftest import run_poller_until, sign_in, use_a_link

pytestmark = pytest.mark.browser


def test_a_staff_member_clones_a_voice_watches_it_finish_plays_it_and_copies_the_model_id(
    page: Page, staff_user, simulator, settings
):
    # Slow enough that the page has time to show each status; polled often enough to see them all.
    simulator.state.config.queued_seconds = 1.0
    simulator.state.config.processing_seconds = 1.5
    settings.SOUNDCLONE_POLL_INTERVAL = 0.2
    sign_in(page, staff_user.username)
    page.get_by_role("link", name="New clone").first.click()

    page.get_by_label("Name").fill("Narrator, Li Wei, calm")
    # The form starts on a file from the computer; this clip is a link, which the studio cannot reach here:
    # its check says so, and the person sends it without checking.
    expect(page.get_by_label("A file from your computer")).to_be_checked()
    page.get_by_label("A link").check()
    expect(page.get_by_label("Media URL")).to_be_visible()
    assert use_a_link(page, "https://media.example.com/clips/li-wei.mp3") == "unreachable"
    expect(page.get_by_label("Send without checking")).to_be_checked()
    page.get_by_label("Preview text").fill("Hello, this is my cloned voice.")
    expect(page.locator("#content-text-counter")).to_have_text("31 of 269 characters")

    language = page.get_by_label("Language", exact=True)
    # Model v1 is preselected: 24 languages, no auto-detect.
    expect(page.get_by_label("Model v1 (24 languages)")).to_be_checked()
    assert language.locator("option:not([disabled]):not([value=''])").count() == 24
    assert language.locator("option[value=auto]").is_disabled()
    # Model v2 offers 40 languages and auto-detect, at once, without a page load.
    page.get_by_label("Model v2 (40 languages)").check()
    assert language.locator("option:not([disabled]):not([value=''])").count() == 41
    language.select_option("Danish")
    # Back to v1: Danish does not exist there, so it is cleared and the user is told.
    page.get_by_label("Model v1 (24 languages)").check()
    expect(language).to_have_value("")
    expect(page.locator("#language-notice")).to_have_text(
        "Danish is not available in model v1. Please choose another language."
    )
    language.select_option("English")
    page.get_by_label("I have the speaker's permission to clone this voice").check()
    page.get_by_role("button", name="Clone voice").click()

    # Back on the list at once, the new task is at the top: stored, and being sent by the worker.
    row = page.locator("ol.task-list > li").first
    expect(row).to_contain_text("Narrator, Li Wei, calm")
    expect(row.locator(".badge").first).to_have_text("Sending…")
    url_before = page.url

    # The page follows the task to Completed by itself, without a reload.
    # (Seen before the first worker pass, which may send it before the page's next refresh.)
    seen: set[str] = {row.get_attribute("data-status") or ""}

    def completed() -> bool:
        seen.add(row.get_attribute("data-status") or "")
        return "completed" in seen

    run_poller_until(page, completed)
    assert {"submitting", "completed"} <= seen
    expect(row.locator(".badge").first).to_have_text("Completed")
    assert page.url == url_before

    # The preview plays: the element loads real audio with a duration.
    audio = row.locator("audio")
    expect(audio).to_have_count(1)
    duration = audio.evaluate(
        """audio => new Promise((resolve, reject) => {
            audio.addEventListener('error', () => reject(new Error('audio failed to load')));
            audio.play().then(() => resolve(audio.duration), reject);
        })"""
    )
    assert duration > 1
    page.wait_for_function("el => el.currentTime > 0", arg=audio.element_handle())

    # Copy puts the modelId on the clipboard and says so.
    task = CloneTask.objects.get()
    copy = row.get_by_role("button", name="Copy")
    copy.click()
    expect(row.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == task.model_id
    assert task.model_id.startswith("voice_")


def test_a_refused_url_keeps_everything_the_user_typed(page: Page, staff_user, simulator):
    sign_in(page, staff_user.username)
    page.goto("/tasks/new/")
    page.get_by_label("Name").fill("Interview, Chen")
    # The link view refuses the type at once, beside the field; the form refuses it again on submit.
    assert use_a_link(page, "https://media.example.com/clips/chen.flac") == "refused"
    page.get_by_label("Preview text").fill("Keep this sentence.")
    page.get_by_label("Model v2 (40 languages)").check()
    page.get_by_label("Language", exact=True).select_option("Swedish")
    page.get_by_label("Notes").fill("From the March interview")
    page.get_by_label("I have the speaker's permission to clone this voice").check()
    page.get_by_role("button", name="Clone voice").click()

    expect(page.locator("#id_file_url_error")).to_contain_text("Files of type .flac are not supported")
    expect(page.get_by_label("Name")).to_have_value("Interview, Chen")
    expect(page.get_by_label("A link")).to_be_checked()
    expect(page.get_by_label("Media URL")).to_have_value("https://media.example.com/clips/chen.flac")
    expect(page.get_by_label("Preview text")).to_have_value("Keep this sentence.")
    expect(page.get_by_label("Model v2 (40 languages)")).to_be_checked()
    expect(page.get_by_label("Language", exact=True)).to_have_value("Swedish")
    expect(page.get_by_label("Notes")).to_have_value("From the March interview")
    assert CloneTask.objects.count() == 0


def test_a_failed_task_shows_the_services_reason_in_plain_words(page: Page, staff_user, simulator):
    sign_in(page, staff_user.username)
    page.goto("/tasks/new/")
    page.get_by_label("Name").fill("Too quiet")
    use_a_link(page, "https://media.example.com/quiet.mp3?sim=fail")
    page.get_by_label("Language", exact=True).select_option("English")
    page.get_by_label("I have the speaker's permission to clone this voice").check()
    page.get_by_role("button", name="Clone voice").click()
    row = page.locator("ol.task-list > li").first
    run_poller_until(page, lambda: row.get_attribute("data-status") == "failed")
    expect(row.locator(".badge").first).to_have_text("Failed")
    expect(row).to_contain_text("The voice service found too little clear speech in the clip.")
