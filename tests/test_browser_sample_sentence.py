"""In Chromium, in English and Chinese, at desktop and phone width: "Use a sample sentence" fills the preview
text with a sentence in the chosen language, and says so when there is none for it."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from clones import languages

pytestmark = pytest.mark.browser

WORDS = {
    "en-US": {
        "button": "Use a sample sentence",
        "preview": "Preview text",
        "no_sample": "There is no sample sentence in Thai: please type one.",
        "no_language": "Choose the language below to get a sample sentence in it.",
    },
    "zh-CN": {
        "button": "使用示例句子",
        "preview": "试听文本",
        "no_sample": "暂无泰语的示例句子：请自己输入一句。",
        "no_language": "请在下方选择语言，即可获得该语言的示例句子。",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1280, 390])
def test_a_sample_sentence_in_the_chosen_language_fills_the_preview_text(
    signed_in_page, staff_user, locale, width
):
    words = WORDS[locale]
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/tasks/new/")
    button = page.get_by_role("button", name=words["button"])
    text = page.locator("#id_content_text")
    note = page.locator("#sample-sentence-note")

    expect(button).to_be_disabled()
    expect(note).to_have_text(words["no_language"])

    page.locator("#id_language").select_option("French")
    expect(button).to_be_enabled()
    button.click()
    expect(text).to_have_value(languages.SAMPLE_SENTENCES["French"])
    expect(text).to_be_focused()
    count = len(languages.SAMPLE_SENTENCES["French"])
    expect(page.locator("#content-text-counter")).to_contain_text(str(count))

    # Another language's sample replaces a sample without asking.
    page.locator("#id_language").select_option("Chinese,Yue")
    button.click()
    expect(text).to_have_value(languages.SAMPLE_SENTENCES["Chinese,Yue"])

    # A language without a sample says so; the button cannot be used.
    page.locator("#id_language").select_option("Thai")
    expect(button).to_be_disabled()
    expect(note).to_have_text(words["no_sample"])

    violations = [
        rule for rule in Axe().run(page).response["violations"] if rule["impact"] in {"serious", "critical"}
    ]
    assert violations == []


def test_a_sentence_the_person_typed_is_replaced_only_when_they_agree(signed_in_page, staff_user):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")
    text = page.locator("#id_content_text")
    text.fill("My own words.")
    page.locator("#id_language").select_option("German")
    answers = iter(["dismiss", "accept"])
    page.on("dialog", lambda dialog: getattr(dialog, next(answers))())
    page.get_by_role("button", name="Use a sample sentence").click()
    expect(text).to_have_value("My own words.")
    page.get_by_role("button", name="Use a sample sentence").click()
    expect(text).to_have_value(languages.SAMPLE_SENTENCES["German"])
