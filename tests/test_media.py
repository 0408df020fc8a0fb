"""The clip check: what a file is, how much of it is speech, and the clip cut or converted for the service."""

from __future__ import annotations

import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from clones import media
from clones.media import MediaError, Problem
from tests.clips import SPOKEN, clip_path, speech_seconds

TOLERANCE_SECONDS = 1.5


def wav_facts(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path)) as sound:
        frames = sound.getnframes()
        return sound.getnchannels(), sound.getsampwidth(), sound.getframerate(), frames / sound.getframerate()


@pytest.mark.parametrize("name", [*SPOKEN, "video-with-sound.mp4", "speech-en-45.flac", "speech-en-20.webm"])
def test_the_speech_measure_is_within_a_second_and_a_half_of_the_truth(name):
    check = media.check_media(clip_path(name))

    assert check.speech_seconds == pytest.approx(speech_seconds(name), abs=TOLERANCE_SECONDS)
    assert check.speech_seconds == pytest.approx(sum(end - start for start, end in check.speech), abs=0.01)


@pytest.mark.parametrize("name", ["speech-en-20", "speech-zh-20"])
def test_the_pauses_between_sentences_are_not_speech(name):
    check = media.check_media(clip_path(name))

    # The clip is several sentences with silences of 0.7 s or more between them; each silence ends a segment.
    sentences = {"speech-en-20": 6, "speech-zh-20": 3}[name]
    assert len(check.speech) == sentences
    assert all(earlier[1] < later[0] for earlier, later in zip(check.speech, check.speech[1:], strict=False))
    assert check.seconds > check.speech_seconds + 0.7 * (sentences - 1)


@pytest.mark.parametrize("name", ["tones", "noise"])
def test_tones_and_noise_have_no_speech(name):
    check = media.check_media(clip_path(name))

    assert check.kind == "audio"
    assert check.seconds == pytest.approx(20, abs=0.05)
    assert check.speech_seconds < 1


def test_a_video_with_a_sound_track_is_a_video_whose_speech_is_measured():
    check = media.check_media(clip_path("video-with-sound.mp4"))

    assert (check.kind, check.format_name) == ("video", "mp4")
    assert check.speech_seconds > 15


def test_a_video_without_a_sound_track_has_no_sound():
    with pytest.raises(MediaError) as refused:
        media.check_media(clip_path("video-without-sound.mp4"))

    assert refused.value.problem == Problem.NO_SOUND


@pytest.mark.parametrize(
    ("name", "format_name"), [("speech-en-45.flac", "flac"), ("speech-en-20.webm", "webm")]
)
def test_formats_the_service_does_not_take_are_still_checked_as_audio(name, format_name):
    check = media.check_media(clip_path(name))

    assert (check.kind, check.format_name) == ("audio", format_name)


def test_a_wav_is_named_wav():
    assert media.check_media(clip_path("speech-en-9")).format_name == "wav"


def test_a_damaged_file_is_corrupt():
    with pytest.raises(MediaError) as refused:
        media.check_media(clip_path("corrupt.mp3"))

    assert refused.value.problem in (Problem.CORRUPT, Problem.NOT_MEDIA)


def test_garbage_in_the_middle_of_an_mp3_loses_only_the_garbage():
    check = media.check_media(clip_path("damaged-middle.mp3"))

    assert check.kind == "audio"
    assert check.seconds > 25
    assert check.speech_seconds == pytest.approx(speech_seconds("damaged-middle.mp3"), abs=TOLERANCE_SECONDS)


def test_a_zip_named_mp3_is_not_media():
    with pytest.raises(MediaError) as refused:
        media.check_media(clip_path("zip.mp3"))

    assert refused.value.problem == Problem.NOT_MEDIA


def test_a_web_page_named_mp3_is_a_web_page():
    with pytest.raises(MediaError) as refused:
        media.check_media(clip_path("page.mp3"))

    assert refused.value.problem == Problem.WEB_PAGE


@pytest.mark.parametrize(
    ("head", "problem"),
    [
        (b"<!DOCTYPE html><html><body>YouTube</body></html>", Problem.WEB_PAGE),
        (b"\xef\xbb\xbf  \r\n<html lang='en'><head><title>Drive</title>", Problem.WEB_PAGE),
        (b"\n\n<!doctype HTML>\n<meta charset=utf-8>", Problem.WEB_PAGE),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", Problem.NOT_MEDIA),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", Problem.NOT_MEDIA),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", Problem.NOT_MEDIA),
        (b'{"error": "not found"}', Problem.NOT_MEDIA),
        (b"#EXTM3U\n#EXTINF:10,\nhttp://169.254.169.254/latest/meta-data\n", Problem.NOT_MEDIA),
        (b"", Problem.NOT_MEDIA),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64", None),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", None),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", None),
        (b"OggS\x00\x02\x00\x00", None),
        (b"fLaC\x00\x00\x00\x22", None),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", None),
    ],
    ids=[
        *("html", "html-after-bom-and-spaces", "html-doctype-after-blank-lines", "zip", "pdf", "png", "json"),
        *("playlist", "empty", "mp3", "wav", "mp4", "ogg", "flac", "matroska"),
    ],
)
def test_sniff_tells_web_pages_and_other_files_from_media_by_their_first_bytes(head, problem):
    assert media.sniff(head) == problem


def test_a_playlist_that_points_elsewhere_is_refused_before_ffmpeg_follows_it(tmp_path):
    playlist = tmp_path / "clip.mp3"
    playlist.write_text(f"#EXTM3U\n#EXTINF:10,\nfile://{clip_path('speech-en-9')}\n")

    with pytest.raises(MediaError) as refused:
        media.check_media(playlist)

    assert refused.value.problem == Problem.NOT_MEDIA


def test_media_longer_than_the_limit_is_too_long(monkeypatch):
    monkeypatch.setattr(media, "MAX_SECONDS", 5)

    with pytest.raises(MediaError) as refused:
        media.check_media(clip_path("speech-en-9"))

    assert refused.value.problem == Problem.TOO_LONG


def test_media_that_does_not_state_its_length_is_stopped_at_the_limit(monkeypatch):
    monkeypatch.setattr(media, "MAX_SECONDS", 5)
    # As if the header stated no length (a recording from a browser often does not).
    monkeypatch.setattr(media, "_stated_seconds", lambda container, stream: 0.0)

    with pytest.raises(MediaError) as refused:
        media.check_media(clip_path("speech-en-9"))

    assert refused.value.problem == Problem.TOO_LONG


def test_the_waveform_has_a_thousand_peaks_between_zero_and_one():
    check = media.check_media(clip_path("speech-en-20"))

    assert len(check.peaks) == media.PEAK_COUNT
    assert all(0 <= peak <= 1 for peak in check.peaks)
    # Loud where the speech is, quiet in the silence before it (the clip opens with 0.6 s of room noise).
    assert max(check.peaks) > 0.5
    assert check.peaks[0] < 0.02


def test_a_clip_shorter_than_the_waveform_still_has_a_thousand_peaks(tmp_path):
    short = tmp_path / "short.wav"
    media.write_clip(clip_path("speech-en-9"), short, start=1.0, end=1.5)

    check = media.check_media(short)

    assert len(check.peaks) == media.PEAK_COUNT
    assert check.seconds == pytest.approx(0.5, abs=0.01)


def test_the_preview_is_the_analysed_sound_as_a_wav(tmp_path):
    preview = tmp_path / "preview.wav"

    check = media.check_media(clip_path("video-with-sound.mp4"), preview_path=preview)

    channels, width, rate, seconds = wav_facts(preview)
    assert (channels, width, rate) == (1, 2, media.ANALYSIS_RATE)
    assert seconds == pytest.approx(check.seconds, abs=0.01)


def test_speech_between_counts_only_the_speech_inside_the_window():
    check = media.MediaCheck(
        kind="audio",
        format_name="wav",
        seconds=30,
        speech_seconds=15,
        speech=((1, 6), (8, 13), (20, 25)),
        peaks=(),
    )

    assert media.speech_between(check, 0, 30) == 15
    assert media.speech_between(check, 4, 10) == 4
    assert media.speech_between(check, 13, 20) == 0


def test_write_clip_cuts_the_window_as_a_mono_wav_at_the_source_rate(tmp_path):
    window = tmp_path / "window.wav"

    media.write_clip(clip_path("speech-en-75"), window, start=12.5, end=72.5)

    channels, width, rate, seconds = wav_facts(window)
    assert (channels, width, rate) == (1, 2, 22050)
    assert seconds == pytest.approx(60, abs=0.05)
    whole = media.check_media(clip_path("speech-en-75"))
    cut = media.check_media(window)
    assert cut.speech_seconds == pytest.approx(media.speech_between(whole, 12.5, 72.5), abs=TOLERANCE_SECONDS)


def test_write_clip_keeps_the_part_the_waveform_showed(tmp_path):
    whole = media.check_media(clip_path("speech-en-20"))
    start, end = whole.speech[1]
    sentence = tmp_path / "sentence.wav"

    media.write_clip(clip_path("speech-en-20"), sentence, start=start, end=end)

    cut = media.check_media(sentence)
    assert cut.seconds == pytest.approx(end - start, abs=0.05)
    # One whole sentence: speech nearly throughout, not the silence around it.
    assert cut.speech_seconds > 0.8 * (end - start)


@pytest.mark.parametrize(
    ("name", "rate"),
    [("speech-en-45.flac", 22050), ("speech-en-20.webm", 48000), ("video-with-sound.mp4", 22050)],
)
def test_write_clip_converts_other_formats_and_video_to_a_wav_of_the_whole_sound(tmp_path, name, rate):
    converted = tmp_path / "converted.wav"

    media.write_clip(clip_path(name), converted)

    channels, width, written_rate, seconds = wav_facts(converted)
    assert (channels, width, written_rate) == (1, 2, rate)
    assert seconds == pytest.approx(media.check_media(clip_path(name)).seconds, abs=0.05)
    assert media.check_media(converted).speech_seconds == pytest.approx(
        speech_seconds(name), abs=TOLERANCE_SECONDS
    )


def test_write_clip_refuses_what_check_media_refuses(tmp_path):
    with pytest.raises(MediaError) as refused:
        media.write_clip(clip_path("page.mp3"), tmp_path / "page.wav")

    assert refused.value.problem == Problem.WEB_PAGE


def test_measure_speech_gives_the_length_and_the_speech():
    seconds, speech = media.measure_speech(clip_path("speech-zh-45"))

    assert seconds > speech
    assert speech == pytest.approx(speech_seconds("speech-zh-45"), abs=TOLERANCE_SECONDS)


def test_checking_a_minute_of_sound_takes_well_under_a_second_of_cpu():
    media.check_media(clip_path("speech-en-9"))  # the detector's model loads once per thread
    started = time.process_time()

    check = media.check_media(clip_path("speech-en-45"))

    spent = time.process_time() - started
    assert check.seconds > 55
    assert spent / check.seconds * 60 < 0.8


def test_the_module_imports_without_django_settings():
    # The simulator imports it in a process of its own, with no settings.
    code = (
        "import sys, clones.media; print(sorted(name for name in sys.modules if name.startswith('django')))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": ""},
        cwd=Path(__file__).resolve().parents[1],
    )

    assert result.stdout.strip() == "[]", result.stderr


def test_short_pauses_inside_speech_are_bridged_and_a_lone_click_is_dropped():
    frame = 0.032
    # 1 s of speech, a 0.2 s pause (a breath), 1 s of speech, 1 s of silence, then a single 32 ms click.
    frames = [True] * 31 + [False] * 6 + [True] * 31 + [False] * 31 + [True] + [False] * 10

    segments = media.speech_segments(frames, frame)

    assert segments == ((0.0, pytest.approx(68 * frame, abs=0.001)),)
