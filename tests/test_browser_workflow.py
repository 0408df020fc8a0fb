"""The staff workflow in Chromium: find, clone again, both versions, keyboard only, notifications, axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Page, expect

from clones.models import CloneTask
from tests.conftest import run_poller_until, use_a_link
from tests.factories import completed_task, make_task

pytestmark = pytest.mark.browser

Status = CloneTask.Status
BLOCKING_IMPACTS = {"serious", "critical"}


def test_a_staff_member_finds_a_voice_by_searching_and_the_filters_stay_in_the_address(
    signed_in_page, staff_user
):
    make_task(name="Interview, Chen", notes="Recorded in March")
    make_task(name="Narrator, Li Wei, calm")
    completed_task(name="Advert, upbeat", model_id="voice_5b0c77aa")
    page = signed_in_page(staff_user)
    page.goto("/tasks/")
    expect(page.locator("ol.task-list > li")).to_have_count(3)

    page.get_by_role("searchbox", name="Search").fill("march")
    page.get_by_role("searchbox", name="Search").press("Enter")
    expect(page.locator("ol.task-list > li")).to_have_count(1)
    expect(page.locator("ol.task-list > li").first).to_contain_text("Interview, Chen")
    assert "q=march" in page.url

    # A modelId pasted from another tool finds its voice too; the filters combine with it.
    page.get_by_role("searchbox", name="Search").fill("voice_5b0c")
    page.locator("details.filter-more > summary").click()  # the filters wait behind their disclosure
    page.get_by_label("Status").select_option("completed")  # and apply as soon as one changes
    expect(page.locator("ol.task-list > li")).to_have_count(1)
    expect(page.locator("ol.task-list > li").first).to_contain_text("Advert, upbeat")

    # The address is the bookmark: opened afresh, it shows the same list with the same filters.
    bookmarked = page.url
    page.goto("/tasks/")
    page.goto(bookmarked)
    expect(page.get_by_label("Status")).to_have_value("completed")
    expect(page.locator("ol.task-list > li")).to_have_count(1)
    page.get_by_role("link", name="Clear all filters").first.click()
    expect(page.locator("ol.task-list > li")).to_have_count(3)


def test_clone_again_from_a_failed_task_with_the_earlier_clone_pointed_out(
    signed_in_page, staff_user, simulator
):
    failed = make_task(
        name="Too quiet",
        file_url="https://media.example.com/quiet.mp3?sim=fail",
        content_text="Read this slowly.",
        sound_version="v2",
        language="Swedish",
        status=Status.FAILED,
        error="The audio does not contain enough clear speech",
        finished_at=timezone.now(),
    )
    page = signed_in_page(staff_user)
    page.goto("/tasks/")
    row = page.locator(f"#task-{failed.pk}")
    row.get_by_role("link", name="Clone again").click()

    expect(page.get_by_role("heading", name="New clone")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Too quiet")
    # Its clip was a link: the form opens on "A link", with the link in it.
    expect(page.get_by_label("A link")).to_be_checked()
    expect(page.get_by_label("Media URL")).to_have_value("https://media.example.com/quiet.mp3?sim=fail")
    expect(page.get_by_label("Preview text")).to_have_value("Read this slowly.")
    expect(page.get_by_label("Model v2 (40 languages)")).to_be_checked()
    expect(page.get_by_label("Language", exact=True)).to_have_value("Swedish")
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text("This link was cloned before")
    expect(warning.get_by_role("link", name="Too quiet")).to_have_attribute("href", f"/tasks/{failed.pk}/")

    # A better recording of the same speaker: the warning follows the link as it is typed.
    use_a_link(page, "https://media.example.com/quiet-louder.mp3")
    expect(warning).to_be_empty()
    page.get_by_label("Name").fill("Too quiet, second try")
    page.get_by_label("I have the speaker's permission to clone this voice").check()
    page.get_by_role("button", name="Clone voice", exact=True).click()

    row = page.locator("ol.task-list > li").first
    expect(row).to_contain_text("Too quiet, second try")
    retry = CloneTask.objects.exclude(pk=failed.pk).get()
    assert (retry.sound_version, retry.language, retry.content_text) == ("v2", "Swedish", "Read this slowly.")
    run_poller_until(page, lambda: row.get_attribute("data-status") == "completed")


def test_clone_with_both_versions_shows_the_two_voices_side_by_side(signed_in_page, staff_user, simulator):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")
    page.get_by_label("Name").fill("Narrator, Li Wei, calm")
    use_a_link(page, "https://media.example.com/clips/li-wei.mp3")
    page.get_by_label("Model v2 (40 languages)").check()
    page.get_by_label("Language", exact=True).select_option("Danish")
    page.get_by_label("I have the speaker's permission to clone this voice").check()
    page.get_by_role("button", name="Clone with both versions").click()

    # Danish exists only in model v2: refused beside the field, nothing sent, everything kept.
    expect(page.locator("#id_language_error")).to_contain_text("Danish is only available in model v2")
    expect(page.get_by_label("Name")).to_have_value("Narrator, Li Wei, calm")
    expect(page.get_by_label("A link")).to_be_checked()
    expect(page.get_by_label("Send without checking")).to_be_checked()
    assert CloneTask.objects.count() == 0

    page.get_by_label("Language", exact=True).select_option("Chinese,Yue")
    page.get_by_label("I have the speaker's permission to clone this voice").check()
    page.get_by_role("button", name="Clone with both versions").click()

    expect(page.get_by_role("heading", name="Compare voices")).to_be_visible()
    rows = page.locator("ol.task-list.compare > li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("v1 · Cantonese")
    expect(rows.nth(1)).to_contain_text("v2 · Cantonese")
    # Side by side: the second voice sits to the right of the first, not under it.
    first_box, second_box = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
    assert second_box["x"] > first_box["x"] and abs(second_box["y"] - first_box["y"]) < 5

    run_poller_until(page, lambda: all(row.get_attribute("data-status") == "completed" for row in rows.all()))
    expect(rows.nth(0).locator("audio")).to_have_count(1)
    expect(rows.nth(1).locator("audio")).to_have_count(1)
    first, second = CloneTask.objects.order_by("pk")
    assert first.pair_token == second.pair_token


def test_a_voice_is_cloned_with_the_keyboard_alone(signed_in_page, staff_user, simulator):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")

    def tab_to(selector: str, limit: int = 40) -> None:
        for _press in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
                return
        raise AssertionError(f"{selector} cannot be reached with Tab")

    def focused(selector: str) -> None:
        assert page.evaluate("(selector) => document.activeElement.matches(selector)", selector), selector

    tab_to("#id_name")
    page.keyboard.type("Keyboard narrator")
    # The clip's source comes next, on a file from the computer; the arrows move the choice to "A link".
    page.keyboard.press("Tab")
    focused("input[name=clip_source][value=file]:checked")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Record", exact=True)).to_be_checked()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("A link")).to_be_checked()
    page.keyboard.press("Tab")
    focused("#id_file_url")
    page.keyboard.type("https://media.example.com/clips/keys.mp3")
    # The studio cannot reach the link: the check says so, and "Send without checking" is the next stop.
    check = page.locator("#clip-check")
    run_poller_until(page, lambda: check.get_attribute("data-state") == "unreachable")
    page.keyboard.press("Tab")
    focused("#id_send_unchecked")
    page.keyboard.press("Space")
    expect(page.get_by_label("Send without checking")).to_be_checked()
    page.keyboard.press("Tab")
    focused("#id_content_text")
    page.keyboard.type("Typed without a mouse.")
    tab_to("input[name=sound_version]:checked")
    page.keyboard.press("ArrowDown")  # the radio group moves to model v2
    expect(page.get_by_label("Model v2 (40 languages)")).to_be_checked()
    tab_to("#id_language")
    page.keyboard.type("English")
    expect(page.get_by_label("Language", exact=True)).to_have_value("English")
    tab_to("#id_consent")
    page.keyboard.press("Space")
    expect(page.get_by_label("I have the speaker's permission to clone this voice")).to_be_checked()
    tab_to("button.primary[type=submit]")
    page.keyboard.press("Enter")

    expect(page.locator("ol.task-list > li").first).to_contain_text("Keyboard narrator")
    task = CloneTask.objects.get()
    assert (task.sound_version, task.language, task.content_text, task.file_url) == (
        "v2",
        "English",
        "Typed without a mouse.",
        "https://media.example.com/clips/keys.mp3",
    )


def test_the_task_page_copies_the_model_id_with_its_version_and_language(signed_in_page, staff_user):
    task = completed_task(language="Chinese,Yue", sound_version="v2")
    page = signed_in_page(staff_user)
    page.goto(f"/tasks/{task.pk}/")
    page.get_by_role("button", name="Copy modelId with version and language").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "voice_0123456789abcdef · v2 · Chinese,Yue"
    download = page.get_by_role("link", name=re.compile("Download preview"))
    expect(download).to_have_attribute("download", "")


# JavaScript run before the page's own: records notifications instead of showing them, and lets the test
# hide the tab (headless Chromium's tab is always "visible").
NOTIFICATION_RECORDER = """
    window.__notifications = [];
    window.__hidden = false;
    Object.defineProperty(document, "visibilityState", { get: () => window.__hidden ? "hidden" : "visible" });
    Object.defineProperty(document, "hidden", { get: () => window.__hidden });
    const Original = window.Notification;
    class RecordedNotification {
      constructor(title, options) { window.__notifications.push({ title, body: options.body }); }
      addEventListener() {}
      close() {}
      static get permission() { return Original.permission; }
      static requestPermission() { return Original.requestPermission(); }
    }
    window.Notification = RecordedNotification;
"""


def set_tab_hidden(page: Page, hidden: bool) -> None:
    page.evaluate(
        "(hidden) => { window.__hidden = hidden; document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def test_a_hidden_tab_is_told_in_its_title_and_by_a_notification_when_a_voice_finishes(
    signed_in_page, staff_user, simulator, settings
):
    settings.SOUNDCLONE_POLL_INTERVAL = 0.2
    page = signed_in_page(staff_user, permissions=("notifications",))
    page.add_init_script(NOTIFICATION_RECORDER)
    page.goto("/tasks/new/")
    page.get_by_label("Name").fill("Narrator")
    use_a_link(page, "https://media.example.com/clips/narrator.mp3")
    page.get_by_label("Language", exact=True).select_option("English")
    page.get_by_label("I have the speaker's permission to clone this voice").check()
    page.get_by_role("button", name="Clone voice", exact=True).click()
    expect(page).to_have_title("Voices · SoundClone Studio")

    # Nothing is asked on page load; the button asks, and then says what it will do.
    assert page.evaluate("window.__notifications.length") == 0
    page.get_by_role("button", name="Notify me when voices finish").click()
    expect(page.locator(".notify-state")).to_have_text("You will be notified when voices finish.")
    expect(page.get_by_role("button", name="Stop notifying me")).to_be_visible()

    set_tab_hidden(page, True)
    row = page.locator("ol.task-list > li").first
    run_poller_until(page, lambda: row.get_attribute("data-status") == "completed")
    expect(page).to_have_title("✓ Narrator finished — SoundClone Studio")
    assert page.evaluate("window.__notifications") == [
        {"title": "✓ Narrator finished", "body": "The voice clone is ready to play and copy."}
    ]
    expect(page.locator("#status-announcer")).to_have_text("Narrator: Completed")

    set_tab_hidden(page, False)
    expect(page).to_have_title("Voices · SoundClone Studio")


def test_without_permission_the_title_still_tells_and_nothing_pops_up(signed_in_page, staff_user, simulator):
    task = make_task(name="Quiet one", status=Status.PROCESSING, upstream_id="audio_x")
    page = signed_in_page(staff_user)
    page.add_init_script(NOTIFICATION_RECORDER)
    page.goto("/tasks/")
    set_tab_hidden(page, True)
    CloneTask.objects.filter(pk=task.pk).update(
        status=Status.FAILED, error="No longer known to the service.", finished_at=timezone.now()
    )
    expect(page).to_have_title("✕ Quiet one failed — SoundClone Studio")
    assert page.evaluate("window.__notifications") == []


def test_the_language_switcher_turns_every_page_to_chinese(signed_in_page, staff_user):
    task = completed_task(name="旁白")
    page = signed_in_page(staff_user)
    page.goto(f"/tasks/{task.pk}/")
    page.get_by_label("Page language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="旁白", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="复制 modelId、版本和语言")).to_be_visible()
    page.goto("/tasks/")
    expect(page.get_by_role("heading", name="声音", exact=True)).to_be_visible()
    page.goto("/tasks/new/")
    expect(page.get_by_role("heading", name="新建克隆")).to_be_visible()


def a_page_of_each_kind(staff_user) -> list[str]:
    running = make_task(name="Running", status=Status.PROCESSING, submitted_by=staff_user)
    completed = completed_task(name="Narrator, Li Wei, calm", submitted_by=staff_user, notes="Chapter 1")
    make_task(name="Went wrong", status=Status.FAILED, error="No longer known to the service.")
    completed_task(name="Lapsing", finished_at=timezone.now() - timezone.timedelta(days=2, hours=20))
    return [
        "/tasks/",
        "/tasks/?q=narrator&status=completed",
        "/tasks/new/",
        f"/tasks/new/?from={completed.pk}",
        f"/tasks/{completed.pk}/",
        f"/tasks/{running.pk}/",
        f"/tasks/compare/?ids={running.pk},{completed.pk}",
    ]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_pages_have_no_serious_accessibility_faults(signed_in_page, staff_user, locale):
    urls = a_page_of_each_kind(staff_user)
    page = signed_in_page(staff_user, locale=locale)
    axe = Axe()
    faults = {}
    for url in urls:
        page.goto(url)
        expected_language = "en" if locale == "en-US" else "zh-hans"
        expect(page.locator("html")).to_have_attribute("lang", expected_language)
        violations = axe.run(page).response["violations"]
        blocking = [
            f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
            for violation in violations
            if violation["impact"] in BLOCKING_IMPACTS
        ]
        if blocking:
            faults[url] = blocking
    assert faults == {}
    # The form with its errors shown is a page of its own.
    page.goto("/tasks/new/")
    page.locator("form.clone-form button[type=submit].primary").click()
    expect(page.locator(".form-errors")).to_be_visible()
    violations = axe.run(page).response["violations"]
    assert [violation["id"] for violation in violations if violation["impact"] in BLOCKING_IMPACTS] == []
