from django import template

from clones.models import CloneTask
from clones.speech_views import voice_speech_context

register = template.Library()


@register.simple_tag
def voice_speech(voice: CloneTask) -> dict:
    """The voice's latest generations and whether reminders go out (for its page)."""
    return voice_speech_context(voice)
