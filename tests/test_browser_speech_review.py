"""Review of issue 12 in Chromium: the speech form by keyboard alone (the counter in code points with the
pauses, Insert pause at the cursor, a bad pause length, the 10,000th character refused beside the field), and
the speech pages in the states the first browser tests did not open (subtitles beside the player, a refused
and a failed generation, an expired voice, permanent and marked voices), in both languages at 1280 and 390 px:
no serious axe fault, nothing scrolls sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import Page, expect

from clones import services
from clones.models import CloneTask, SpeechTask
from tests.factories import completed_task

pytestmark = pytest.mark.browser

Status = CloneTask.Status

WORDS = {
    "en-US": {
        "text": "Text to speak",
        "counter": "{count} of 9,999 characters, pauses included",
        "too_long": "The text has 10,000 characters, pause markers included; the limit is 9,999.",
        "bad_pause": "A pause is from 0.01 to 99.99 seconds, with at most two decimals.",
    },
    "zh-CN": {
        "text": "要朗读的文本",
        "counter": None,  # checked by its number only: the template is translated
        "too_long": None,
        "bad_pause": None,
    },
}


def serious_violations(page: Page) -> list:
    violations = Axe().run(page).response["violations"]
    return [
        (rule["id"], [node["html"][:200] for node in rule["nodes"]][:3])
        for rule in violations
        if rule["impact"] in {"serious", "critical"}
    ]


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollWidth > innerWidth")


@pytest.mark.parametrize(("locale", "width"), [("en-US", 1280), ("zh-CN", 390)])
def test_the_speech_form_works_by_keyboard_alone(signed_in_page, staff_user, locale, width):
    words = WORDS[locale]
    voice = completed_task(name="Narrator", submitted_by=staff_user, sound_version="v1", language="English")
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"/tasks/{voice.pk}/speech/new/")
    counter = page.locator("#speech-text-counter")
    text = page.get_by_label(words["text"])

    # An emoji is one character (one code point), as the service counts it.
    text.focus()
    page.keyboard.type("Hi 😀 there")
    expect(counter).to_contain_text("10")
    # Put the cursor after "Hi " with the keyboard, then reach the pause length and the button by Tab.
    page.keyboard.press("Home")
    for _step in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+a")
    page.keyboard.type("2.25")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(text).to_have_value("Hi <#2.25#>😀 there")
    expect(text).to_be_focused()
    expect(counter).to_contain_text("18")  # the marker's eight characters count too
    if words["counter"]:
        expect(counter).to_have_text(words["counter"].format(count=18))

    # A bad length: a message, the field marked and focused, the text untouched.
    pause = page.locator("#pause-seconds")
    for bad in ("0", "100", "1.234"):
        pause.fill(bad)
        page.locator("#insert-pause").press("Enter")
        expect(page.locator("#pause-message")).not_to_be_empty()
        expect(pause).to_have_attribute("aria-invalid", "true")
        expect(pause).to_be_focused()
        expect(text).to_have_value("Hi <#2.25#>😀 there")
    if words["bad_pause"]:
        expect(page.locator("#pause-message")).to_have_text(words["bad_pause"])
    pause.fill("1")
    page.locator("#insert-pause").press("Enter")
    expect(page.locator("#pause-message")).to_be_empty()
    expect(pause).not_to_have_attribute("aria-invalid", "true")

    # 9,999 characters are fine; the 10,000th is flagged as typed, and refused beside the field on submit.
    text.fill("a" * 9_999)
    expect(counter).not_to_have_class("counter over")
    text.press("End")
    page.keyboard.type("b")
    expect(counter).to_have_class("counter over")
    page.locator("button[type=submit].primary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#id_text_error")).to_be_visible()
    if words["too_long"]:
        expect(page.locator("#id_text_error")).to_contain_text(words["too_long"])
    assert SpeechTask.objects.count() == 0
    assert serious_violations(page) == []
    assert not scrolls_sideways(page)


def speech_states(user) -> dict[str, str]:
    """Speech in the states the first browser tests did not open, and the pages that show them."""
    voice = completed_task(
        name="Narrator, Li Wei, calm", submitted_by=user, permanent_at=timezone.now() - timedelta(hours=1)
    )
    marked = completed_task(
        name="Used elsewhere", submitted_by=user, marked_in_use_at=timezone.now(), marked_in_use_by=user
    )
    lapsing = completed_task(
        name="Lapsing", submitted_by=user, finished_at=timezone.now() - timedelta(days=2, hours=20)
    )
    expired = completed_task(
        name="Expired", submitted_by=user, finished_at=timezone.now() - timedelta(days=3, hours=1)
    )
    completed = SpeechTask.objects.create(
        voice=voice,
        content_text="Hello there. <#1.5#>How are you, on a long line that has to wrap on a phone?",
        sound_version="v1",
        language="English",
        emotion="surprised",
        subtitles="word",
        status=Status.COMPLETED,
        finished_at=timezone.now(),
        audio_url="https://cdn.example.com/s.wav",
        subtitle_url="https://cdn.example.com/s.json",
        submitted_by=user,
    )
    completed.audio_file.save("s.wav", ContentFile(b"RIFF0000WAVE"), save=False)
    completed.subtitle_file.save(
        "s.json",
        ContentFile(
            b'{"words": [{"text": "Hello", "start": 0, "end": 300}, {"text": "there.", "start": 300,'
            b' "end": 2000}, {"text": "Supercalifragilisticexpialidocious", "start": 2000, "end": 2600}]}'
        ),
        save=False,
    )
    completed.save()
    refused = SpeechTask.objects.create(
        voice=expired,
        content_text="Too late",
        sound_version="v1",
        language="English",
        status=Status.REFUSED,
        error="modelId has expired: it was not used within 3 days of its preview",
        finished_at=timezone.now(),
        submitted_by=user,
    )
    SpeechTask.objects.create(
        voice=marked,
        content_text="Could not",
        sound_version="v1",
        language="English",
        status=Status.FAILED,
        error="The voice could not speak this text",
        finished_at=timezone.now(),
        submitted_by=user,
    )
    SpeechTask.objects.create(
        voice=marked,
        content_text="Unsure",
        sound_version="v1",
        language="English",
        status=Status.UNCERTAIN,
        error=services.MESSAGE_UNCERTAIN,
        submitted_by=user,
    )
    return {
        "speech with subtitles": f"/tasks/speech/{completed.pk}/",
        "refused speech": f"/tasks/speech/{refused.pk}/",
        "generated speech": "/tasks/speech/",
        "permanent voice": f"/tasks/{voice.pk}/",
        "marked voice": f"/tasks/{marked.pk}/",
        "lapsing voice": f"/tasks/{lapsing.pk}/",
        "expired voice": f"/tasks/{expired.pk}/",
        "expired voice's form": f"/tasks/{expired.pk}/speech/new/",
        "generate again": f"/tasks/{voice.pk}/speech/new/?from={completed.pk}",
        "list": "/tasks/",
    }


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1280, 390])
def test_every_speech_page_in_every_state_passes_axe_and_fits_a_phone(
    signed_in_page, staff_user, locale, width
):
    pages = speech_states(staff_user)
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 800})
    problems = {}
    for name, url in pages.items():
        page.goto(url)
        found = serious_violations(page)
        if scrolls_sideways(page):
            found.append(f"scrolls sideways: {page.evaluate('document.scrollingElement.scrollWidth')} px")
        if found:
            problems[name] = found
    assert problems == {}
