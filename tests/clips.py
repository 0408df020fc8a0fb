"""The test clips, made when the tests run (never downloaded) and kept for the session.

Speech comes from espeak-ng in English and Chinese: each sentence is spoken on its own, its own leading and
trailing silence trimmed, and the sentences are laid end to end with silences of known length between them, so
the length of the speech in a clip is known exactly (`SPEECH_SECONDS`, the sum of the trimmed sentences). The
other clips are what users send by mistake or in other formats: tones and noise (no speech), an mp4 with a
sound track and one without, a flac and a webm, a damaged mp3, a zip and a web page named `.mp3`.

The clips live in one folder under the system's temporary folder, named after a hash of this file, so a change
here makes new clips. Several test processes (pytest-xdist) may ask at once: one makes them under a lock, in a
folder of its own that is renamed into place when complete; the others wait for the lock and find them made.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import wave
import zipfile
from collections.abc import Iterator, Mapping
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np

ESPEAK = "/usr/bin/espeak-ng"
ESPEAK_RATE = 22050  # espeak-ng's output: 22.05 kHz mono 16-bit

SENTENCES = {
    "en": [
        "The quick brown fox jumps over the lazy dog near the quiet river bank.",
        "Every morning she walks to the small bakery at the end of our street.",
        "We cloned the voice from a short recording made in a quiet room.",
        "Please read this paragraph aloud in your normal speaking voice.",
        "The weather was cold and grey but the children played outside all afternoon.",
        "A good microphone and a calm room make the best recordings.",
        "He opened the old book and found a letter written by his grandmother.",
        "The train to the city leaves at half past seven every weekday.",
        "Music filled the hall as the orchestra began the second movement.",
        "Our studio checks each clip before it is sent to the service.",
    ],
    "zh": [
        "今天早上我去公园散步，看到很多人在锻炼身体。",
        "这家小店的面条非常好吃，我每个星期都来一次。",
        "请用平常说话的声音把这段文字清楚地读出来。",
        "我们在安静的房间里录了一段很短的声音。",
        "天气虽然很冷，但是孩子们还是在外面玩了一个下午。",
        "他打开那本旧书，发现了一封奶奶写的信。",
        "去城里的火车每天早上七点半出发。",
        "音乐响起的时候，大家都安静了下来。",
    ],
}
ESPEAK_VOICE = {"en": "en", "zh": "cmn"}
SPEECH_TARGETS = (9, 20, 45, 75)
# Silences laid between sentences, in turn: all longer than the pause a sentence has inside it, so each is a
# pause a listener (and the speech measure) hears as the end of a sentence.
GAPS = (0.8, 1.3, 0.7, 2.0, 1.0, 1.6)
# A faint room noise under everything (about -54 dBFS), so the silences are not digital zeros.
ROOM_NOISE = 0.002

SPOKEN = [f"speech-{language}-{seconds}" for language in ("en", "zh") for seconds in SPEECH_TARGETS]
NAMES = (
    *SPOKEN,
    "tones",
    "noise",
    "video-with-sound.mp4",
    "video-without-sound.mp4",
    "speech-en-45.flac",
    "speech-en-20.webm",
    "damaged-middle.mp3",
    "corrupt.mp3",
    "zip.mp3",
    "page.mp3",
)


class _Truth(Mapping[str, float]):
    """Seconds of speech in each clip, read when first asked (which makes the clips if need be)."""

    def _seconds(self) -> dict[str, float]:
        return _read_truth(_clip_folder())

    def __getitem__(self, name: str) -> float:
        return self._seconds()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._seconds())

    def __len__(self) -> int:
        return len(self._seconds())


# The truth the speech measure is held to; a clip of no speech has 0.
SPEECH_SECONDS: Mapping[str, float] = _Truth()


def clip_path(name: str) -> Path:
    """The path of the test clip `name` (see NAMES); a name without an extension is a WAV file."""
    if name not in NAMES:
        raise KeyError(f"no test clip named {name!r}; the names are {', '.join(NAMES)}")
    return _clip_folder() / (name if "." in name else f"{name}.wav")


def speech_seconds(name: str) -> float:
    return SPEECH_SECONDS[name]


@cache
def _clip_folder() -> Path:
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    parent = Path(tempfile.gettempdir())
    folder = parent / f"soundclone-test-clips-{digest}"
    if (folder / "truth.txt").exists():
        return folder
    with open(parent / f"soundclone-test-clips-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "truth.txt").exists():
            building = Path(tempfile.mkdtemp(prefix=f"soundclone-test-clips-{digest}-", dir=parent))
            building.chmod(0o755)  # read by the browser and servers the tests start, too
            try:
                _make_clips(building)
                os.rename(building, folder)
            finally:
                shutil.rmtree(building, ignore_errors=True)
    return folder


@cache
def _read_truth(folder: Path) -> dict[str, float]:
    lines = (folder / "truth.txt").read_text().splitlines()
    return {name: float(seconds) for name, seconds in (line.split() for line in lines)}


def _make_clips(folder: Path) -> None:
    if not os.access(ESPEAK, os.X_OK):
        raise RuntimeError(
            "The test clips need espeak-ng: `make test` installs it, or run `sudo apt-get install espeak-ng`."
        )
    rng = np.random.default_rng(11)
    truth: dict[str, float] = {}
    spoken = _spoken_sentences()
    for language, sentences in spoken.items():
        for target in SPEECH_TARGETS:
            samples, seconds = _assemble(sentences, target, rng)
            name = f"speech-{language}-{target}"
            _write_wav(folder / f"{name}.wav", samples, ESPEAK_RATE)
            truth[name] = seconds
    seconds = np.arange(20 * ESPEAK_RATE) / ESPEAK_RATE
    _write_wav(folder / "tones.wav", _tones(seconds), ESPEAK_RATE)
    truth["tones"] = 0.0
    _write_wav(folder / "noise.wav", _noise(seconds, rng), ESPEAK_RATE)
    truth["noise"] = 0.0

    speech_20 = _read_wav(folder / "speech-en-20.wav")
    _encode(folder / "video-with-sound.mp4", speech_20, audio_codec="aac", with_video=True)
    truth["video-with-sound.mp4"] = truth["speech-en-20"]
    _encode(folder / "video-without-sound.mp4", None, audio_codec=None, with_video=True, video_seconds=5)
    truth["video-without-sound.mp4"] = 0.0
    _encode(folder / "speech-en-45.flac", _read_wav(folder / "speech-en-45.wav"), audio_codec="flac")
    truth["speech-en-45.flac"] = truth["speech-en-45"]
    _encode(folder / "speech-en-20.webm", speech_20, audio_codec="libopus", rate=48000)
    truth["speech-en-20.webm"] = truth["speech-en-20"]

    # An mp3 with a stretch of garbage in the middle of its frames: what decodes still counts.
    mp3 = io.BytesIO()
    _encode(mp3, speech_20, audio_codec="libmp3lame", container_format="mp3")
    data = bytearray(mp3.getvalue())
    middle = len(data) // 2
    data[middle : middle + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    (folder / "damaged-middle.mp3").write_bytes(bytes(data))
    truth["damaged-middle.mp3"] = truth["speech-en-20"]
    # A valid MPEG audio frame header, then nothing but garbage.
    garbage = rng.integers(0, 256, 64_000, dtype=np.uint8).tobytes()
    (folder / "corrupt.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + garbage)
    truth["corrupt.mp3"] = 0.0
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("voice.mp3", garbage)
    (folder / "zip.mp3").write_bytes(archive.getvalue())
    truth["zip.mp3"] = 0.0
    (folder / "page.mp3").write_text(
        "\ufeff\n  <!DOCTYPE html>\n<html lang=en><head><title>My voice - YouTube</title></head>"
        "<body><video src='blob:x'></video></body></html>\n",
        encoding="utf-8",
    )
    truth["page.mp3"] = 0.0
    (folder / "truth.txt").write_text("".join(f"{name} {seconds:.4f}\n" for name, seconds in truth.items()))


def _spoken_sentences() -> dict[str, list[np.ndarray]]:
    """Every sentence spoken by espeak-ng (all at once: a few processes side by side), each trimmed."""
    runs = {}
    for language, sentences in SENTENCES.items():
        for index, sentence in enumerate(sentences):
            command = [ESPEAK, "-v", ESPEAK_VOICE[language], "-s", "165", "--stdout", sentence]
            runs[language, index] = subprocess.Popen(command, stdout=subprocess.PIPE)  # noqa: S603
    spoken: dict[str, list[np.ndarray]] = {language: [] for language in SENTENCES}
    for (language, _), run in runs.items():
        output, _ = run.communicate()
        if run.returncode:
            raise RuntimeError(f"espeak-ng failed ({run.returncode}) for {language}")
        with wave.open(io.BytesIO(output)) as sound:
            assert sound.getframerate() == ESPEAK_RATE
            samples = np.frombuffer(sound.readframes(sound.getnframes()), dtype="<i2")
        spoken[language].append(_trim(samples))
    return spoken


def _trim(samples: np.ndarray) -> np.ndarray:
    """The sentence without espeak's own silence before and after it (to the 5 ms frame above -50 dBFS)."""
    frame = ESPEAK_RATE // 200
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 100)
    if not len(loud):
        return samples[:0]
    start = (loud[0] // frame) * frame
    end = min(len(samples), (loud[-1] // frame + 1) * frame)
    return samples[start:end]


def _assemble(sentences: list[np.ndarray], target: float, rng) -> tuple[np.ndarray, float]:
    """Sentences in turn, GAPS between them, to `target` seconds of speech; the last one is cut short."""
    parts = [np.zeros(int(0.6 * ESPEAK_RATE), dtype=np.int16)]
    speech = 0
    wanted = int(target * ESPEAK_RATE)
    index = 0
    while speech < wanted:
        sentence = sentences[index % len(sentences)]
        if speech + len(sentence) > wanted:
            sentence = _trim(sentence[: wanted - speech])
        if index:
            parts.append(np.zeros(int(GAPS[(index - 1) % len(GAPS)] * ESPEAK_RATE), dtype=np.int16))
        # Speakers are not all equally loud.
        gain = (0.55, 1.0, 0.75, 0.9)[index % 4]
        parts.append((sentence * gain).astype(np.int16))
        speech += len(sentence)
        index += 1
        if len(sentence) < ESPEAK_RATE // 10:
            break
    parts.append(np.zeros(int(0.8 * ESPEAK_RATE), dtype=np.int16))
    samples = np.concatenate(parts).astype(np.float64)
    samples += rng.normal(0, ROOM_NOISE * 32767, len(samples))
    return np.clip(samples, -32768, 32767).astype(np.int16), speech / ESPEAK_RATE


def _tones(seconds: np.ndarray) -> np.ndarray:
    """A steady tone, beeps, a chord and a sweep: sounds that are not speech."""
    sound = np.zeros_like(seconds)
    parts = (
        (0, 5, lambda t: np.sin(2 * np.pi * 440 * t)),
        (5, 10, lambda t: np.sin(2 * np.pi * 1000 * t) * (np.floor(t * 4) % 2)),
        (10, 15, lambda t: (np.sin(2 * np.pi * 261.6 * t) + np.sin(2 * np.pi * 329.6 * t)) / 2),
        (15, 20, lambda t: np.sin(2 * np.pi * (200 + 60 * (t - 15)) * t)),
    )
    for start, end, wave_of in parts:
        inside = (seconds >= start) & (seconds < end)
        sound[inside] = wave_of(seconds[inside])
    return (sound * 0.5 * 32767).astype(np.int16)


def _noise(seconds: np.ndarray, rng) -> np.ndarray:
    """White noise, then brown (integrated) noise, then white noise that swells and fades."""
    count = len(seconds)
    white = rng.normal(0, 0.15, count)
    brown = np.cumsum(rng.normal(0, 1, count))
    brown -= np.convolve(brown, np.ones(2205) / 2205, mode="same")
    brown *= 0.15 / (brown.std() or 1)
    swell = white * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * seconds))
    sound = np.where(seconds < 7, white, np.where(seconds < 14, brown, swell))
    return (np.clip(sound, -1, 1) * 32767).astype(np.int16)


def _encode(
    target,
    samples: np.ndarray | None,
    *,
    audio_codec: str | None,
    with_video: bool = False,
    video_seconds: float | None = None,
    rate: int = ESPEAK_RATE,
    container_format: str | None = None,
) -> None:
    """Write `samples` (22.05 kHz mono) with `audio_codec`, and a small moving picture when `with_video`."""
    output = av.open(target, "w", format=container_format)
    audio = None
    if audio_codec:
        audio = output.add_stream(audio_codec, rate=rate, layout="mono")
    video = None
    if with_video:
        video = output.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    if audio is not None and samples is not None:
        resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=rate)
        for start in range(0, len(samples), ESPEAK_RATE):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + ESPEAK_RATE], format="s16", layout="mono"
            )
            frame.sample_rate = ESPEAK_RATE
            frame.pts = start
            frame.time_base = Fraction(1, ESPEAK_RATE)
            for converted in resampler.resample(frame):
                output.mux(audio.encode(converted))
        for converted in resampler.resample(None):
            output.mux(audio.encode(converted))
        output.mux(audio.encode(None))
    if video is not None:
        length = video_seconds if video_seconds is not None else len(samples) / ESPEAK_RATE
        for index in range(int(length * 10)):
            picture = np.full((48, 64, 3), (index * 7) % 256, dtype=np.uint8)
            picture[:, (index % 64)] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
    output.close()


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(samples.astype("<i2").tobytes())


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as sound:
        return np.frombuffer(sound.readframes(sound.getnframes()), dtype="<i2")
