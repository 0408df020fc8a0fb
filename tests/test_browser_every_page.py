"""Every page of the studio as a new staff member meets it (issue 10 review), in Chromium: in English and
Chinese, at 1280×800 and 390×844. On each page nothing scrolls sideways on a phone, axe finds nothing serious,
every time is in the reader's zone with the zone named and in one style, and the Chinese pages put no ASCII
punctuation next to Chinese. Screenshots of each page go to the test's tmp_path."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.urls import path
from django.utils import timezone
from playwright.sync_api import Page, expect

from clones.models import CloneTask, SpeechTask, StaffPreference, TaskChange
from soundclone_site import urls as site_urls
from tests.conftest import PASSWORD, use_a_link
from tests.factories import completed_task, make_task

pytestmark = pytest.mark.browser

Status = CloneTask.Status
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ZONE = "Asia/Shanghai"


def fails_unexpectedly(request):
    raise RuntimeError("a bug nobody expected")


# The site's own addresses plus one page that fails, for the 500 page (pytest.mark.urls points here).
urlpatterns = [path("boom/", fails_unexpectedly), *site_urls.urlpatterns]


def a_working_day(user) -> dict[str, str]:
    """A team's voices in every state, with a change history and generated speech; the pages showing them."""
    other = get_user_model().objects.create_user("tom", password=PASSWORD)
    voice = completed_task(
        name="Narrator, Li Wei, calm",
        submitted_by=user,
        notes="Chapter 1",
        sent_at=timezone.now(),
        last_polled_at=timezone.now(),
        consent_confirmed_at=timezone.now(),
        consent_text="I have the speaker's permission to clone this voice",
    )
    TaskChange.objects.create(task=voice, by=user, action=TaskChange.Action.RENAMED, detail="Narrator")
    lapsing = completed_task(
        name="Lapsing", submitted_by=user, finished_at=timezone.now() - timedelta(days=2, hours=20)
    )
    running = make_task(name="Running", status=Status.PROCESSING, submitted_by=user, sound_version="v2")
    refused = make_task(
        name="Refused", status=Status.REFUSED, submitted_by=user, error="Insufficient balance"
    )
    make_task(
        name="Went wrong", status=Status.FAILED, submitted_by=user, error="No longer known to the service."
    )
    make_task(name="Timed out", status=Status.UNCERTAIN, submitted_by=user)
    make_task(name="Not sent", status=Status.NOT_SENT, submitted_by=user)
    theirs = completed_task(name="Tom's voice", submitted_by=other)
    speech = SpeechTask.objects.create(
        voice=voice,
        content_text="Hello there. How are you?",
        sound_version="v1",
        language="English",
        subtitles="sentence",
        status=Status.COMPLETED,
        finished_at=timezone.now(),
        audio_url="https://cdn.example.com/s.wav",
        submitted_by=user,
    )
    speech.audio_file.save("s.wav", ContentFile(b"RIFF0000WAVE"), save=True)
    SpeechTask.objects.create(
        voice=voice, content_text="Still going", sound_version="v1", language="English", submitted_by=user
    )
    return {
        "list": "/tasks/",
        "needs attention": "/tasks/?attention=1&submitter=mei",
        "new clone": "/tasks/new/",
        "duplicate warning": f"/tasks/new/?from={voice.pk}",
        "fix form": f"/tasks/{refused.pk}/fix/",
        "voice page": f"/tasks/{voice.pk}/",
        "lapsing voice": f"/tasks/{lapsing.pk}/",
        "running voice": f"/tasks/{running.pk}/",
        "someone else's voice": f"/tasks/{theirs.pk}/",
        "compare": f"/tasks/compare/?ids={voice.pk},{running.pk}",
        "generated speech": "/tasks/speech/",
        "speech page": f"/tasks/speech/{speech.pk}/",
        "speech form": f"/tasks/{voice.pk}/speech/new/",
        "time zone": "/tasks/time-zone/",
        "password": "/accounts/password/",
        "not found": "/tasks/no-such-page/",
        "not allowed": f"/tasks/{theirs.pk}/fix/",
    }


# Date-like text that is not in the one style: "11/26/2026", "10:36 a.m.", "Nov. 26", a double full stop.
OTHER_DATE_STYLES = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b[ap]\.m\.|\b[A-Z][a-z]{2}\. \d{1,2}\b|\.\.(?!\.)"
)
ENGLISH_TIME = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}(?: ([A-Z][A-Za-z0-9+:-]*))?")
CHINESE_TIME = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}(?: ([A-Z][A-Za-z0-9+:-]*))?")
# ASCII , : ( ) ; touching a Chinese character on either side.
HAN = r"[\u3400-\u9fff]"
ASCII_BESIDE_CHINESE = re.compile(rf"{HAN}[,:();]|[,:();]{HAN}")

NO_SIDEWAYS_SCROLL = "() => document.scrollingElement.scrollWidth <= innerWidth"
# Text the style sheet adds (a colon after each label) is not in innerText: read it from ::before and ::after.
STYLE_SHEET_TEXT = """() => {
  const found = new Set();
  for (const element of document.body.querySelectorAll("*")) {
    if (!element.checkVisibility()) continue;
    for (const pseudo of ["::before", "::after"]) {
      const content = getComputedStyle(element, pseudo).content;
      if (content && content.startsWith('"')) found.add(content.slice(1, -1));
    }
  }
  return [...found];
}"""


def serious_accessibility_faults(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [
        f"{rule['id']}: {[node['target'] for node in rule['nodes']][:3]}"
        for rule in violations
        if rule["impact"] in {"serious", "critical"}
    ]


def times_out_of_style(text: str, locale: str) -> list[str]:
    """Every time on the page that is not in the reader's zone with the zone named, or in another style."""
    pattern = ENGLISH_TIME if locale == "en-US" else CHINESE_TIME
    wrong = [match.group(0) for match in pattern.finditer(text) if match.group(1) != "CST"]
    return wrong + OTHER_DATE_STYLES.findall(text)


def forms_posted_as_another_person(page: Page, action: str) -> None:
    """Posts a form with the page's own token, as a person who may not change the voice would."""
    page.evaluate(
        """(action) => {
          const form = document.createElement("form");
          form.method = "post";
          form.action = action;
          const token = document.querySelector("input[name=csrfmiddlewaretoken]");
          form.append(token.cloneNode());
          document.body.append(form);
          form.submit();
        }""",
        action,
    )


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_every_page_fits_the_screen_reads_well_and_tells_the_time_in_the_readers_zone(
    signed_in_page, staff_user, tmp_path, locale, viewport
):
    pages = a_working_day(staff_user)
    StaffPreference.objects.create(user=staff_user, time_zone=ZONE)
    page = signed_in_page(staff_user, locale=locale, timezone_id=ZONE)
    page.set_viewport_size(viewport)
    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        found = []
        if not page.evaluate(NO_SIDEWAYS_SCROLL):
            found.append(f"scrolls sideways: {page.evaluate('document.scrollingElement.scrollWidth')} px")
        text = page.locator("body").inner_text()
        found += [f"time: {wrong}" for wrong in times_out_of_style(text, locale)]
        if locale == "zh-CN":
            found += [f"punctuation: {match!r}" for match in ASCII_BESIDE_CHINESE.findall(text)]
            found += [
                f"style sheet adds {added!r}"
                for added in page.evaluate(STYLE_SHEET_TEXT)
                if re.search(r"[,:;()]", added)
            ]
        found += serious_accessibility_faults(page)
        if found:
            # A picture of the page beside the list of what is wrong with it (pytest keeps tmp_path).
            page.screenshot(path=tmp_path / f"{name.replace(' ', '-')}.png", full_page=True)
            problems[name] = found

    for name, url in pages.items():
        page.goto(url)
        expect(page.locator("footer, .site-header").first).to_be_attached()
        check(name)
        if name == "new clone" and (viewport == DESKTOP) == (locale == "en-US"):
            # The clip's other sources (desktop in English, phone in Chinese, as tests/test_browser_clips.py
            # does for uploads): the recorder with its text to read, and a link the studio could not reach,
            # with its check and "Send without checking".
            page.locator("input[name=clip_source][value=recording]").check()
            expect(page.locator("#reading-text")).not_to_be_empty()  # fetched when "Record" is chosen
            check("new clone, recording")
            assert use_a_link(page, "https://media.example.com/clips/brand-new.mp3") == "unreachable"
            expect(page.locator("#id_send_unchecked")).to_be_visible()
            check("new clone, link not reached")
        if name == "new clone":
            page.goto(url)
            # The same form, refused: the error summary on top.
            page.locator("form.clone-form button[type=submit].primary").click()
            expect(page.locator(".form-errors")).to_be_focused()
            check("refused form")
        if name == "someone else's voice":
            forms_posted_as_another_person(page, url + "edit/")
            expect(page.locator("h1")).to_have_text("Not allowed" if locale == "en-US" else "无权操作")
            check("not allowed to save")
        if name == "new clone":
            page.goto(url)
            page.locator("form.clone-form input[name=csrfmiddlewaretoken]").evaluate(
                "(input) => input.value = 'x'.repeat(64)"
            )
            page.locator("form.clone-form button[type=submit].primary").click()
            expect(page.locator("h1")).to_have_text(
                "The page was out of date" if locale == "en-US" else "页面已过期"
            )
            check("stale token")
    page.goto("/boom/")
    expect(page.locator("h1")).to_have_text("Something went wrong" if locale == "en-US" else "出错了")
    check("server error")

    # The CSV the list exports names the zone's offset.
    page.goto("/tasks/")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("CSV")).click()
    assert "+08:00" in download.value.path().read_text(encoding="utf-8-sig")

    # Signed out: the sign-in page too.
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    check("sign in")
    assert problems == {}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_a_new_voice_and_the_message_about_it_are_both_on_the_first_screen(
    signed_in_page, staff_user, tmp_path, locale, viewport
):
    for number in range(8):
        completed_task(name=f"Older voice {number}", submitted_by=staff_user)
    StaffPreference.objects.create(user=staff_user, time_zone=ZONE)
    page = signed_in_page(staff_user, locale=locale, timezone_id=ZONE)
    page.set_viewport_size(viewport)
    page.goto("/tasks/new/")
    page.locator("#id_name").fill("Brand new narrator")
    use_a_link(page, "https://media.example.com/clips/brand-new.mp3")
    page.locator("#id_language").select_option("English")
    page.locator("#id_consent").check()
    page.locator("form.clone-form button[type=submit].primary").click()

    message = page.locator(".messages")
    expect(message).to_be_visible()
    first = page.locator("ol.task-list > li").first
    expect(first).to_contain_text("Brand new narrator")
    page.screenshot(path=tmp_path / "after-submitting.png")
    # The page opens at its top (before: at #task-<id>, which scrolled the header and the message away on a
    # list longer than the screen): the message, and the new voice's name, state and times below it.
    assert page.evaluate("scrollY") == 0
    for shown in (message, first.locator(".task-meta").first):
        box = shown.bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], box
