"""In Chromium, in English and Chinese, at desktop and phone width (issue 12): generate speech with a voice
(an emotion, a pause, word subtitles), see it complete without a reload, play and download it, and the voice
says Permanent; keep a voice that lapses within a day; mark one as in use; the reminder goes out once."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from clones import services
from clones.models import CloneTask, SpeechTask
from tests.conftest import run_poller_until

pytestmark = pytest.mark.browser

Status = CloneTask.Status

WORDS = {
    "en-US": {
        "generate": "Generate speech",
        "text": "Text to speak",
        "pause": "Pause length (seconds)",
        "insert": "Insert pause",
        "emotion": "Emotion",
        "by_word": "By word",
        "sending": "Sending…",
        "completed": "Completed",
        "download_audio": "Download audio",
        "download_subtitles": "Download subtitles",
        "permanent": "Permanent",
        "keep": "Keep this voice",
        "in_use": "Mark as in use",
        "marked": "Used in another tool (marked by mei on",
        "reminded": "A reminder was emailed to mei on",
    },
    "zh-CN": {
        "generate": "生成语音",
        "text": "要朗读的文本",
        "pause": "停顿时长（秒）",
        "insert": "插入停顿",
        "emotion": "情绪",
        "by_word": "按词",
        "sending": "发送中…",
        "completed": "已完成",
        "download_audio": "下载音频",
        "download_subtitles": "下载字幕",
        "permanent": "永久",
        "keep": "保留此声音",
        "in_use": "标记为使用中",
        "marked": "已在其他工具中使用（由 mei 于",
        "reminded": "向 mei 发送提醒邮件",
    },
}


@pytest.fixture
def fast_polls(settings):
    settings.SOUNDCLONE_POLL_INTERVAL = 0.2


def cloned_voice(user, page, **fields) -> CloneTask:
    """A voice the simulator really cloned (so it knows the modelId), followed by the worker."""
    voice = services.task_submit(
        user=user,
        name="Narrator",
        file_url="https://media.example.com/a.mp3",
        sound_version="v1",
        language="English",
        form_token=uuid.uuid4(),
    )
    run_poller_until(page, lambda: CloneTask.objects.get(pk=voice.pk).status == Status.COMPLETED)
    if fields:
        CloneTask.objects.filter(pk=voice.pk).update(**fields)
    voice.refresh_from_db()
    return voice


def serious_violations(page) -> list:
    violations = Axe().run(page).response["violations"]
    return [
        (rule["id"], [node["html"][:300] for node in rule["nodes"]])
        for rule in violations
        if rule["impact"] in {"serious", "critical"}
    ]


@pytest.mark.parametrize(("locale", "width"), [("en-US", 1280), ("zh-CN", 390)])
def test_speech_is_generated_played_downloaded_and_makes_the_voice_permanent(
    signed_in_page, staff_user, simulator, fast_polls, locale, width, tmp_path
):
    words = WORDS[locale]
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    voice = cloned_voice(staff_user, page)

    page.goto(f"/tasks/{voice.pk}/")
    page.get_by_role("link", name=words["generate"], exact=True).first.click()
    text = page.get_by_label(words["text"])
    text.fill("Hello there. ")
    text.press("End")
    page.get_by_label(words["pause"]).fill("1.5")
    page.get_by_role("button", name=words["insert"]).click()
    text.press("End")
    page.keyboard.type("How are you?")
    expect(text).to_have_value("Hello there. <#1.5#>How are you?")
    expect(page.locator("#speech-text-counter")).to_contain_text("32")
    page.get_by_label(words["emotion"]).select_option("happy")
    page.get_by_label(words["by_word"]).check()
    assert serious_violations(page) == []
    page.get_by_role("button", name=words["generate"]).click()

    speech = SpeechTask.objects.get()
    row = page.locator(f"#speech-{speech.pk}")
    expect(row.locator(".badge").first).to_have_text(words["sending"])
    run_poller_until(page, lambda: SpeechTask.objects.get().status == Status.COMPLETED)
    expect(row.locator(".badge").first).to_have_text(words["completed"])  # no reload
    expect(row.locator("audio")).to_have_count(1)
    speech.refresh_from_db()
    assert (speech.emotion, speech.subtitles, speech.content_text) == (
        "happy",
        "word",
        "Hello there. <#1.5#>How are you?",
    )
    run_poller_until(page, lambda: bool(SpeechTask.objects.get().subtitle_file))

    page.goto(f"/tasks/speech/{speech.pk}/")
    audio = page.locator(".speech-player audio")
    duration = audio.evaluate(
        "a => new Promise(done => {"
        " a.addEventListener('loadedmetadata', () => done(a.duration)); a.load(); })"
    )
    assert duration > 1.5
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    expect(page.locator(".subtitles li.current")).to_have_count(1)
    expect(page.locator(".subtitles li").first).to_have_text("Hello")
    assert serious_violations(page) == []

    with page.expect_download() as audio_download:
        page.get_by_role("link", name=words["download_audio"]).first.click()
    assert Path(audio_download.value.path()).read_bytes().startswith(b"RIFF")
    with page.expect_download() as subtitle_download:
        page.get_by_role("link", name=words["download_subtitles"]).first.click()
    subtitles = json.loads(Path(subtitle_download.value.path()).read_text())
    assert [word["text"] for word in subtitles["words"]] == ["Hello", "there.", "How", "are", "you?"]

    page.goto(f"/tasks/{voice.pk}/")
    expect(page.locator(f"#task-{voice.pk} .kept-voice")).to_contain_text(words["permanent"])
    page.goto("/tasks/")
    expect(page.locator(f"#task-{voice.pk}")).to_contain_text(words["permanent"])


@pytest.mark.parametrize(("locale", "width"), [("en-US", 390), ("zh-CN", 1280)])
def test_a_voice_lapsing_within_a_day_is_reminded_once_and_kept_with_one_click(
    signed_in_page, staff_user, simulator, fast_polls, locale, width
):
    words = WORDS[locale]
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    voice = cloned_voice(staff_user, page, finished_at=timezone.now() - timedelta(days=2, hours=2))

    call_command("poll_clones")
    call_command("poll_clones")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mei@example.com"]
    page.goto(f"/tasks/{voice.pk}/")
    expect(page.locator("#reminder-state")).to_contain_text(words["reminded"])

    page.goto("/tasks/")
    page.locator(f"#task-{voice.pk}").get_by_role("button", name=words["keep"]).click()
    expect(page.locator("#speech-heading")).to_be_visible()
    assert serious_violations(page) == []
    run_poller_until(page, lambda: CloneTask.objects.get(pk=voice.pk).permanent_at is not None)
    assert SpeechTask.objects.get().is_keep_alive
    page.reload()
    expect(page.locator(f"#task-{voice.pk} .kept-voice")).to_contain_text(words["permanent"])
    assert len(mail.outbox) == 1


def test_mark_as_in_use_stops_the_countdown_and_says_who(signed_in_page, staff_user, simulator, fast_polls):
    words = WORDS["en-US"]
    page = signed_in_page(staff_user)
    voice = cloned_voice(staff_user, page)
    page.goto(f"/tasks/{voice.pk}/")
    expect(page.locator(f"#task-{voice.pk} .expiry")).to_contain_text("Expires in")
    page.locator("#speech-heading").locator("..").get_by_role("button", name=words["in_use"]).click()
    expect(page.locator(f"#task-{voice.pk} .kept-voice")).to_contain_text(words["marked"])
    expect(page.locator(f"#task-{voice.pk}")).not_to_contain_text("Expires in")
    assert serious_violations(page) == []
