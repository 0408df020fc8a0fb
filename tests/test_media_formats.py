"""The common formats the service does not take (wma, aiff, amr, 3gp, opus) are checked and converted."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import pytest

from clones import media
from tests.clips import clip_path, speech_seconds

# (extension, container, codec, sample rate, options): how each is written from the 20 s spoken clip.
FORMATS = [
    ("wma", "asf", "wmav2", 44100, {"bit_rate": 64000}),
    ("aiff", "aiff", "pcm_s16be", 22050, {}),
    ("amr", "amr", "libopencore_amrnb", 8000, {}),
    ("3gp", "3gp", "aac", 22050, {}),
    ("opus", "ogg", "libopus", 48000, {}),
    ("m4a", "ipod", "aac", 22050, {}),
]


def _encode(target: Path, container: str, codec: str, rate: int, options: dict) -> None:
    with (
        av.open(str(clip_path("speech-en-20"))) as source,
        av.open(str(target), "w", format=container) as out,
    ):
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        for name, value in options.items():
            setattr(stream, name, value)
        sample_format = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=sample_format, layout="mono", rate=rate)
        for frame in source.decode(audio=0):
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))


@pytest.mark.parametrize(
    ("extension", "container", "codec", "rate", "options"), FORMATS, ids=[f[0] for f in FORMATS]
)
def test_a_format_the_service_does_not_take_is_measured_and_converted_to_wav(
    tmp_path, extension, container, codec, rate, options
):
    clip = tmp_path / f"clip.{extension}"
    _encode(clip, container, codec, rate, options)
    check = media.check_media(clip)
    assert check.kind == "audio"
    assert check.format_name == extension
    assert abs(check.speech_seconds - speech_seconds("speech-en-20")) <= 1.5
    converted = tmp_path / "sent.wav"
    media.write_clip(clip, converted)
    with wave.open(str(converted)) as reader:
        assert reader.getnchannels() == 1
        assert abs(reader.getnframes() / reader.getframerate() - check.seconds) < 0.1
