"""In Chromium, by keyboard: a refused form opens on an error summary that links to each field, on the new
clone form and on the voice page's "Save name and notes" (at the foot of a long page, on a phone)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests import factories

pytestmark = pytest.mark.browser

WORDS = {
    "en-US": {
        "name": "Name",
        "url": "Media URL",
        "link": "A link",
        "submit": "Clone voice",
        "summary": "Please check the highlighted fields. Everything you typed is still here.",
        "save": "Save name and notes",
        "checked": "Please check the highlighted fields.",
    },
    "zh-CN": {
        "name": "名称",
        "url": "媒体链接",
        "link": "链接",
        "submit": "克隆声音",
        "summary": "请检查标出的字段。您填写的内容都还在。",
        "save": "保存名称和备注",
        "checked": "请检查标出的字段。",
    },
}


def focused_summary(page: Page):
    """The element that has focus, which must be the error summary."""
    expect(page.locator("[data-error-summary]")).to_be_focused()
    return page.locator("[data-error-summary]")


def links_of(summary) -> list[str]:
    return [link.get_attribute("href") for link in summary.get_by_role("link").all()]


def serious_violations(page: Page) -> list:
    return [
        rule for rule in Axe().run(page).response["violations"] if rule["impact"] in {"serious", "critical"}
    ]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1280, 390])
def test_a_refused_clone_form_opens_on_a_summary_that_links_to_each_wrong_field(
    signed_in_page, staff_user, locale, width
):
    words = WORDS[locale]
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/tasks/new/")
    page.get_by_label(words["link"], exact=True).check()
    page.get_by_label(words["url"]).fill("ftp://media.example.com/clip.mp3")
    page.locator("#id_language").select_option("English")
    page.locator("#id_consent").check()
    page.get_by_role("button", name=words["submit"]).click()

    summary = focused_summary(page)
    expect(page.get_by_label(words["link"], exact=True)).to_be_checked()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text(words["summary"])
    expect(summary).to_be_in_viewport()
    assert links_of(summary) == ["#id_name", "#id_file_url"]
    # Each link says which field and what is wrong with it, in the page's language.
    name_error = page.locator("#id_name_error").inner_text().strip()
    expect(summary.get_by_role("link").first).to_have_text(
        f"{words['name']}: {name_error}" if locale == "en-US" else f"{words['name']}：{name_error}"
    )

    # Following a link puts the cursor in its field, ready to type.
    summary.get_by_role("link").nth(1).click()
    expect(page.get_by_label(words["url"])).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("https://media.example.com/clip.mp3")
    summary.get_by_role("link").first.press("Enter")
    expect(page.get_by_label(words["name"])).to_be_focused()
    assert serious_violations(page) == []


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_failed_save_of_name_and_notes_brings_its_message_into_view_on_a_phone(
    signed_in_page, staff_user, locale
):
    words = WORDS[locale]
    task = factories.completed_task(submitted_by=staff_user, name="Narrator, calm")
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/tasks/{task.pk}/")
    name = page.locator("#details_name")
    name.fill("")
    page.get_by_role("button", name=words["save"]).click()

    summary = focused_summary(page)
    expect(summary).to_contain_text(words["checked"])
    expect(summary).to_be_in_viewport()
    assert links_of(summary) == ["#details_name"]
    summary.get_by_role("link").first.click()
    expect(name).to_be_focused()
    assert serious_violations(page) == []
    task.refresh_from_db()
    assert task.name == "Narrator, calm"


def test_a_page_without_errors_leaves_focus_alone(signed_in_page, staff_user):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")
    assert page.locator("[data-error-summary]").count() == 0
    assert page.evaluate("document.activeElement === document.body")


def test_a_clone_form_refused_for_its_missing_clip_says_so_beside_the_clip_field(signed_in_page, staff_user):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")
    page.get_by_label("Name").fill("Narrator, no clip yet")
    page.locator("#id_language").select_option("English")
    page.locator("#id_consent").check()
    page.get_by_role("button", name="Clone voice").click()

    summary = focused_summary(page)
    expect(summary).to_contain_text("Please choose a file with the speaker's voice.")
    # "Check the highlighted fields": the clip's field is one of them, with its reason beside the choice.
    beside = page.locator("#clip-sources .errorlist")
    expect(beside).to_have_text("Please choose a file with the speaker's voice.")
    expect(beside).to_be_visible()
    expect(page.get_by_label("A file from your computer")).to_be_checked()
    assert serious_violations(page) == []
