"""Template tags of the clip field on the New clone form (clones/task_form.html and clip_check.html)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def peaks_json(peaks: Iterable[float] | None) -> str:
    """A clip's waveform as JSON for data-peaks: three decimals are finer than any screen draws them."""
    return json.dumps([round(float(value), 3) for value in peaks or ()], separators=(",", ":"))


@register.filter
def segments_json(segments: Iterable[Iterable[float]] | None) -> str:
    """Speech segments [[start, end], …] in seconds as JSON for data-speech, to the hundredth of a second."""
    return json.dumps(
        [[round(float(start), 2), round(float(end), 2)] for start, end in segments or ()],
        separators=(",", ":"),
    )


@register.simple_tag
def clip_max_bytes() -> int:
    """The largest file the clip field uploads (CLIP_MAX_BYTES): larger ones are refused before uploading."""
    return settings.CLIP_MAX_BYTES


@register.simple_tag
def clip_too_large_message() -> str:
    """What the upload view says of a file over CLIP_MAX_BYTES: the page says it before uploading."""
    from clones.models import Clip

    return Clip(problem=Clip.TOO_LARGE).message
