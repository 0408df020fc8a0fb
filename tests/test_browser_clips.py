"""In Chromium: the New clone form's clip field. A file is uploaded at once and checked, its waveform drawn
with the speech marked; a long clip gets a window to choose the part to send; a recording is made with a
(fake) microphone, played back and used; links and files that cannot be used say why, and only usable clips
reach the voice service."""

from __future__ import annotations

import hashlib
import re
import wave
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from clones import media
from clones.models import Clip, CloneTask
from tests.clips import clip_path
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, run_poller_until
from tests.local_http import LocalServer, answer

pytestmark = pytest.mark.browser

Status = CloneTask.Status


@pytest.fixture
def clip_site(settings):
    """A website on loopback serving test clips at /<name>, let through the link guard for these tests."""
    files = {
        "watch": (b"<!doctype html><html><body><video src='x.mp4'></video></body></html>", "text/html"),
        "speech-en-9.wav": (clip_path("speech-en-9").read_bytes(), "audio/wav"),
    }

    def respond(handler) -> None:
        name = handler.path.lstrip("/").split("?")[0]
        body, content_type = files.get(name, (b"not here", "text/plain"))
        answer(200 if name in files else 404, body, content_type=content_type)(handler)

    with LocalServer(respond) as server:
        settings.SOUNDCLONE_LINK_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
        yield server


def wait_for_checks(page: Page, clips: int = 1) -> None:
    """Worker passes (poll_clones checks clips first) until the page's clips are in and checked."""

    def checked() -> bool:
        return Clip.objects.count() >= clips and not Clip.objects.filter(state=Clip.State.CHECKING).exists()

    run_poller_until(page, checked, seconds=60)


def fill_the_rest(page: Page, name: str) -> None:
    page.locator("#id_name").fill(name)
    page.locator("#id_language").select_option("English")
    page.locator("#id_consent").check()


def serious_violations(page: Page) -> list:
    return [
        rule for rule in Axe().run(page).response["violations"] if rule["impact"] in {"serious", "critical"}
    ]


def remote_of(simulator, task: CloneTask):
    return simulator.state.tasks[task.upstream_id]


@pytest.mark.parametrize(("locale", "width"), [("en-US", 1280), ("zh-CN", 390)])
def test_an_uploaded_clip_is_checked_drawn_and_sent_exactly_as_it_was(
    signed_in_page, staff_user, simulator, hosted, locale, width
):
    page = signed_in_page(staff_user, locale=locale)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/tasks/new/")
    page.locator("#clip-file").set_input_files(str(clip_path("speech-en-45")))

    check = page.locator("#clip-check")
    expect(check).to_have_attribute("data-state", "checking")
    wait_for_checks(page)
    expect(check).to_have_attribute("data-state", "usable")
    if locale == "en-US":
        expect(check).to_contain_text(re.compile(r"Audio, [^,]+, about 4\d s of speech ✓"))
    clip = Clip.objects.get()
    expect(page.locator("input[name=clip]")).to_have_value(str(clip.token))
    # The waveform, drawn from the check's peaks, with each stretch of speech marked on it; no window is
    # needed for 45 s of speech.
    expect(page.locator("#clip-waveform canvas").first).to_be_attached()
    expect(page.locator("#clip-waveform [part~=region]")).to_have_count(len(clip.speech))
    expect(page.locator("#clip-window")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert serious_violations(page) == []

    fill_the_rest(page, "Narrator, uploaded")
    page.locator(".clone-form button[type=submit]").first.click()
    run_poller_until(page, lambda: CloneTask.objects.get().status == Status.COMPLETED, seconds=30)
    remote = remote_of(simulator, CloneTask.objects.get())
    assert remote.received_sha256 == hashlib.sha256(clip_path("speech-en-45").read_bytes()).hexdigest()


def test_a_long_clip_is_cut_to_the_window_moved_over_its_waveform(
    signed_in_page, staff_user, simulator, hosted
):
    page = signed_in_page(staff_user)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/tasks/new/")
    page.locator("#clip-file").set_input_files(str(clip_path("speech-en-75")))
    wait_for_checks(page)

    window = page.locator("#clip-waveform [part~=window]")
    expect(window).to_be_visible()
    start, end = page.locator("#id_clip_start"), page.locator("#id_clip_end")
    first = (float(start.input_value()), float(end.input_value()))
    selected = page.locator("#clip-selected")
    expect(selected).to_have_text(re.compile(r"Selected: 0:00–1:\d\d, about 5\d s of speech"))

    box = window.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 90, box["y"] + box["height"] / 2, steps=10)
    page.mouse.up()
    moved = (float(start.input_value()), float(end.input_value()))
    assert moved[0] > first[0] + 5
    clip = Clip.objects.get()
    speech = sum(max(0, min(e, moved[1]) - max(s, moved[0])) for s, e in clip.speech)
    assert 15 <= speech <= 60
    expect(selected).to_contain_text(f"about {round(speech)} s of speech")

    fill_the_rest(page, "Narrator, the middle part")
    page.locator(".clone-form button[type=submit]").first.click()
    run_poller_until(page, lambda: CloneTask.objects.get().status != Status.SUBMITTING, seconds=30)
    remote = remote_of(simulator, CloneTask.objects.get())
    assert remote.received_seconds == pytest.approx(moved[1] - moved[0], abs=0.05)
    assert 15 < remote.received_speech_seconds < 60


def test_the_window_can_be_set_from_the_keyboard_and_keeps_15_to_60_seconds_of_speech(
    signed_in_page, staff_user, hosted
):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")
    page.locator("#clip-file").set_input_files(str(clip_path("speech-en-75")))
    wait_for_checks(page)
    clip = Clip.objects.get()

    def speech_between(start: float, end: float) -> float:
        return sum(max(0, min(e, end) - max(s, start)) for s, e in clip.speech)

    page.get_by_label("From (seconds)").fill("20")
    page.get_by_label("From (seconds)").press("Tab")
    page.get_by_label("To (seconds)").fill(f"{clip.seconds:.1f}")
    page.get_by_label("To (seconds)").press("Tab")
    start = float(page.locator("#id_clip_start").input_value())
    end = float(page.locator("#id_clip_end").input_value())
    # All the rest would be more than 60 s of speech: the window keeps its end and gives up its start.
    assert speech_between(start, end) == pytest.approx(60, abs=0.1)
    assert speech_between(start, end) <= 60
    assert end == pytest.approx(clip.seconds, abs=0.05)

    page.get_by_label("From (seconds)").fill(f"{end - 3:.1f}")
    page.get_by_label("From (seconds)").press("Tab")
    start = float(page.locator("#id_clip_start").input_value())
    end = float(page.locator("#id_clip_end").input_value())
    assert speech_between(start, end) >= 15


def _dense_speech(target: Path) -> Path:
    """The 20 s spoken clip with its pauses shortened to 0.25 s: any stretch the fake microphone plays is
    nearly all speech, so a recording reaches 15 s of speech in about 17 s (the test waits that long)."""
    source = clip_path("speech-en-20")
    check = media.check_media(source)
    with wave.open(str(source)) as reader:
        rate = reader.getframerate()
        samples = reader.readframes(reader.getnframes())
    width = 2  # 16-bit mono
    gap = b"\0" * int(0.25 * rate) * width
    parts = [samples[int(start * rate) * width : int(end * rate) * width] for start, end in check.speech]
    with wave.open(str(target), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(gap.join(parts))
    return target


@pytest.fixture
def microphone_page(browser, live_server, staff_user, tmp_path):
    """A Chromium whose microphone "hears" a spoken clip (Chromium's fake capture device), signed in."""
    from django.conf import settings as django_settings
    from django.test import Client

    spoken = _dense_speech(tmp_path / "dense-speech.wav")
    recording_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={spoken}",
        ],
    )
    client = Client()
    client.force_login(staff_user)
    context = recording_browser.new_context(base_url=live_server.url, permissions=["microphone"])
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    recording_browser.close()


def test_a_recording_is_made_played_back_checked_and_sent(microphone_page, simulator, hosted):
    page = microphone_page
    page.goto("/tasks/new/")
    page.get_by_role("radio", name="Record").check()
    page.locator("#id_language").select_option("English")
    expect(page.locator("#reading-text")).to_contain_text("Every morning I take the same short walk")

    page.get_by_role("button", name="Start recording").click()
    expect(page.locator("#record-timer")).to_have_text(re.compile(r"0:0[1-9] / 1:00"))
    page.wait_for_function("() => document.getElementById('record-level').value > 0.01")
    page.wait_for_timeout(19_000)  # the fake microphone loops nearly unbroken speech: well over 15 s of it
    page.get_by_role("button", name="Stop").click()

    player = page.get_by_label("Your recording")
    expect(player).to_be_visible()
    page.wait_for_function("() => document.getElementById('record-player').readyState >= 1")
    player.evaluate("audio => audio.play()")
    page.wait_for_function("() => document.getElementById('record-player').currentTime > 0.2")
    player.evaluate("audio => audio.pause()")

    page.get_by_role("button", name="Use this recording").click()
    expect(page.locator("#clip-check")).to_have_attribute("data-state", "checking")
    wait_for_checks(page)
    expect(page.locator("#clip-check")).to_have_attribute("data-state", "usable")
    expect(page.locator("#clip-check")).to_contain_text("Your recording")
    clip = Clip.objects.get()
    assert clip.source == Clip.Source.RECORDING
    assert 15 < clip.speech_seconds < 60

    page.locator("#id_name").fill("Narrator, recorded")
    page.locator("#id_consent").check()
    page.locator(".clone-form button[type=submit]").first.click()
    run_poller_until(page, lambda: CloneTask.objects.get().status == Status.COMPLETED, seconds=30)
    task = CloneTask.objects.get()
    assert task.clip_source == Clip.Source.RECORDING
    assert 15 < remote_of(simulator, task).received_speech_seconds < 60


def test_a_refused_microphone_says_so_plainly(signed_in_page, staff_user):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")
    page.get_by_role("radio", name="Record").check()
    page.get_by_role("button", name="Start recording").click()  # no permission granted: refused

    expect(page.locator("#record-message")).to_have_text(
        re.compile(r"^(The browser was not allowed to use the microphone|No microphone was found)")
    )


def test_links_and_files_that_cannot_be_used_say_why_and_never_reach_the_service(
    signed_in_page, staff_user, simulator, hosted, clip_site
):
    page = signed_in_page(staff_user)
    page.goto("/tasks/new/")
    check = page.locator("#clip-check")

    page.get_by_role("radio", name="A link").check()
    page.get_by_label("Media URL").fill(f"{clip_site.url}/watch")
    expect(check).to_have_attribute("data-state", "checking")
    wait_for_checks(page)
    expect(check).to_contain_text("This link opens a web page, not an audio or video file.")

    page.get_by_label("Media URL").fill(f"{clip_site.url}/speech-en-9.wav")
    expect(check).to_have_attribute("data-state", "checking")
    wait_for_checks(page, clips=2)
    expect(check).to_contain_text(re.compile(r"Only \d+ s of speech: the service needs more than 15 s"))
    expect(page.locator("#send-unchecked")).to_be_hidden()

    fill_the_rest(page, "Narrator, too short")
    page.locator(".clone-form button[type=submit]").first.click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert CloneTask.objects.count() == 0

    page.get_by_role("radio", name="A file from your computer").check()
    page.locator("#clip-file").set_input_files(str(clip_path("video-without-sound.mp4")))
    wait_for_checks(page, clips=3)
    expect(check).to_contain_text("The file has no sound.")

    page.locator("#clip-file").set_input_files(str(clip_path("speech-en-45.flac")))
    wait_for_checks(page, clips=4)
    expect(check).to_have_attribute("data-state", "usable")
    page.locator("#id_consent").check()
    page.locator(".clone-form button[type=submit]").first.click()
    run_poller_until(page, lambda: CloneTask.objects.filter(status=Status.COMPLETED).exists(), seconds=30)

    task = CloneTask.objects.get()
    assert task.clip_source == Clip.Source.FILE
    assert remote_of(simulator, task).received_clip[:4] == b"RIFF"  # the flac was converted to WAV
    assert len(simulator.state.tasks) == 1
