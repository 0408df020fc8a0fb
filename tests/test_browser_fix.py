"""In Chromium, at desktop and phone width, in English and Chinese: a clip the service refuses comes back on
its row, and "Fix and send again" opens the form filled in, with the reason beside the field."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from clones.models import CloneTask
from tests.conftest import run_poller_until, use_a_link

pytestmark = pytest.mark.browser

Status = CloneTask.Status

WORDS = {
    "en-US": {
        "name": "Name",
        "url": "Media URL",
        "submit": "Clone voice",
        "sending": "Sending…",
        "refused": "Refused by the service",
        "reason": "The voice service refused this clip. The clip must hold 15 to 60 seconds of speech.",
        "fix": "Fix and send again",
        "send": "Send again",
        "unchecked": "Send without checking",
        "queued": "Queued",
    },
    "zh-CN": {
        "name": "名称",
        "url": "媒体链接",
        "submit": "克隆声音",
        "sending": "发送中…",
        "refused": "被语音服务拒绝",
        "reason": "语音服务拒绝了这段音频。音频中的说话时长必须在 15 到 60 秒之间。",
        "fix": "修改后重新发送",
        "send": "重新发送",
        "unchecked": "不检查直接发送",
        "queued": "排队中",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1280, 390])
def test_a_refused_clip_is_fixed_from_its_row_and_sent_again(
    signed_in_page, staff_user, simulator, locale, width
):
    words = WORDS[locale]
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/tasks/new/")
    page.get_by_label(words["name"]).fill("Narrator, short clip")
    use_a_link(page, "https://media.example.com/short.mp3?sim=create-400")
    page.locator("#id_language").select_option("English")
    page.locator("#id_consent").check()
    page.get_by_role("button", name=words["submit"]).click()

    row = page.locator("ol.task-list > li").first
    expect(row.locator(".badge").first).to_have_text(words["sending"])
    run_poller_until(page, lambda: CloneTask.objects.get().status == Status.REFUSED)
    expect(row.locator(".badge").first).to_have_text(words["refused"])
    expect(row).to_contain_text(words["reason"])

    row.get_by_role("link", name=words["fix"]).click()
    url_field = page.get_by_label(words["url"])
    expect(url_field).to_have_value("https://media.example.com/short.mp3?sim=create-400")
    expect(page.locator("#id_file_url_error")).to_contain_text(words["reason"])
    expect(page.get_by_label(words["name"])).to_have_value("Narrator, short clip")
    # The link went unchecked before: the form checks it again and, the studio still unable to reach it,
    # keeps "Send without checking" ticked for it, as it was.
    check = page.locator("#clip-check")
    run_poller_until(page, lambda: check.get_attribute("data-state") == "unreachable")
    expect(page.get_by_label(words["unchecked"])).to_be_checked()
    violations = [
        rule for rule in Axe().run(page).response["violations"] if rule["impact"] in {"serious", "critical"}
    ]
    assert violations == []

    use_a_link(page, "https://media.example.com/longer.mp3")
    page.get_by_role("button", name=words["send"], exact=True).click()
    row = page.locator("ol.task-list > li").first
    expect(row.locator(".badge").first).to_have_text(words["sending"])
    run_poller_until(page, lambda: CloneTask.objects.get().status != Status.SUBMITTING)
    expect(row.locator(".badge").first).not_to_have_text(words["sending"])
    task = CloneTask.objects.get()
    assert task.file_url == "https://media.example.com/longer.mp3"
    assert task.status in (Status.QUEUED, Status.PROCESSING, Status.COMPLETED)
