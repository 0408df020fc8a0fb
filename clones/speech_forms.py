"""The speech form: what staff may ask a voice to say, by the rules in docs/upstream-api.md section 3."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clones import languages
from clones.forms import LanguageSelect
from clones.models import (
    DEFAULT_EMOTION,
    DEFAULT_PITCH,
    DEFAULT_SPEED,
    DEFAULT_VOLUME,
    EMOTION_LABELS,
    MAX_PITCH,
    MAX_SPEECH_TEXT,
    MAX_SPEED,
    MAX_VOLUME,
    MIN_PITCH,
    MIN_SPEED,
    SPEECH_EMOTIONS,
    SpeechTask,
)

PAUSE_MARKER = re.compile(r"<#(.*?)#>", re.DOTALL)
# Seconds, 0.01 to 99.99, at most two decimals: "1", "0.5", "12.25".
PAUSE_VALUE = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2})?")
MIN_PAUSE, MAX_PAUSE = Decimal("0.01"), Decimal("99.99")


def pause_problem(text: str) -> str:
    """The first pause marker in `text` that the service would refuse, as the user wrote it; "" if none."""
    for marker in PAUSE_MARKER.finditer(text):
        value = marker.group(1)
        if not PAUSE_VALUE.fullmatch(value) or not MIN_PAUSE <= Decimal(value) <= MAX_PAUSE:
            return marker.group(0)
    return ""


class SpeechForm(forms.Form):
    text = forms.CharField(
        label=_("Text to speak"),
        strip=True,
        help_text=format_lazy(
            _(
                "At most {limit} characters, pause markers included. A pause is written <#x#>, x seconds "
                "from 0.01 to 99.99: use “Insert pause” below."
            ),
            limit=f"{MAX_SPEECH_TEXT:,}",
        ),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    emotion = forms.ChoiceField(
        label=_("Emotion"),
        choices=[(value, EMOTION_LABELS[value]) for value in SPEECH_EMOTIONS],
        initial=DEFAULT_EMOTION,
    )
    speed = forms.DecimalField(
        label=_("Speed"),
        help_text=_("From 0.5 (half as fast) to 2 (twice as fast); 1 is normal."),
        initial=DEFAULT_SPEED,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.05", "min": "0.5", "max": "2"}),
    )
    volume = forms.DecimalField(
        label=_("Volume"),
        help_text=_("Above 0, up to 10; 1 is normal."),
        initial=DEFAULT_VOLUME,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0.01", "max": "10"}),
    )
    pitch = forms.IntegerField(
        label=_("Pitch"),
        help_text=_("A whole number from −12 (lower) to 12 (higher); 0 is the voice's own."),
        initial=DEFAULT_PITCH,
        widget=forms.NumberInput(attrs={"step": "1", "min": "-12", "max": "12"}),
    )
    subtitles = forms.ChoiceField(
        label=_("Subtitles"),
        choices=SpeechTask.Subtitles.choices,
        initial=SpeechTask.Subtitles.NONE,
        required=False,
        widget=forms.RadioSelect,
    )
    sound_version = forms.ChoiceField(
        label=_("Model version"), choices=list(languages.VERSION_LABELS.items()), widget=forms.RadioSelect
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[(item.value, item.label) for item in languages.ALL_LANGUAGES],
        widget=LanguageSelect,
    )
    form_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["text"].error_messages["required"] = _("Please type the text to speak.")
        self.fields["emotion"].error_messages["invalid_choice"] = _("Please choose an emotion from the list.")
        self.fields["language"].error_messages["invalid_choice"] = _(
            "Please choose a language from the list."
        )
        self.fields["speed"].error_messages.update(
            required=_("Please give a speed from 0.5 to 2 (1 is normal)."),
            invalid=_("The speed must be a number from 0.5 to 2, such as 1.2."),
            max_decimal_places=_("The speed can have at most two decimals, such as 1.25."),
        )
        self.fields["volume"].error_messages.update(
            required=_("Please give a volume above 0, up to 10 (1 is normal)."),
            invalid=_("The volume must be a number above 0, up to 10, such as 1.5."),
            max_decimal_places=_("The volume can have at most two decimals, such as 2.25."),
        )
        self.fields["pitch"].error_messages.update(
            required=_("Please give a pitch from −12 to 12 (0 is the voice's own)."),
            invalid=_("The pitch must be a whole number from −12 to 12, such as -2 or 3."),
        )

    def clean_text(self) -> str:
        # Browsers send a line break as "\r\n" but count it as one character: count it as they do.
        text = self.cleaned_data["text"].replace("\r\n", "\n")
        count = len(text)
        if count > MAX_SPEECH_TEXT:
            raise forms.ValidationError(
                _("The text has %(count)s characters, pause markers included; the limit is %(limit)s."),
                params={"count": f"{count:,}", "limit": f"{MAX_SPEECH_TEXT:,}"},
            )
        bad = pause_problem(text)
        if bad:
            raise forms.ValidationError(
                _(
                    "The pause “%(marker)s” cannot be used: a pause is from 0.01 to 99.99 seconds with at "
                    "most two decimals, written like <#1.5#>."
                ),
                params={"marker": bad},
            )
        if "<#" in PAUSE_MARKER.sub("", text):
            raise forms.ValidationError(_("A pause marker is not closed: write it like <#1.5#>."))
        if not PAUSE_MARKER.sub("", text).strip():
            raise forms.ValidationError(_("Please add something to say besides the pauses."))
        return text

    def clean_speed(self) -> Decimal:
        speed = self.cleaned_data["speed"]
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise forms.ValidationError(_("The speed must be from 0.5 to 2 (1 is normal)."))
        return speed

    def clean_volume(self) -> Decimal:
        volume = self.cleaned_data["volume"]
        if not Decimal(0) < volume <= MAX_VOLUME:
            raise forms.ValidationError(_("The volume must be above 0 and at most 10 (1 is normal)."))
        return volume

    def clean_pitch(self) -> int:
        pitch = self.cleaned_data["pitch"]
        if not MIN_PITCH <= pitch <= MAX_PITCH:
            raise forms.ValidationError(_("The pitch must be a whole number from −12 to 12."))
        return pitch

    def clean(self) -> dict:
        data = super().clean()
        version, language = data.get("sound_version"), data.get("language")
        if version and language and not languages.is_supported(version, language):
            self.add_error(
                "language",
                _("%(language)s is not available in model %(version)s. Please choose another language.")
                % {"language": languages.label_of(language), "version": version},
            )
        return data


def initial_for(voice, source: SpeechTask | None = None) -> dict:
    """The form's starting values: the voice's version and language, or everything of an earlier generation
    ("Generate again")."""
    if source is not None:
        return {
            "text": source.content_text,
            "emotion": source.emotion,
            "speed": source.speed,
            "volume": source.volume,
            "pitch": source.pitch,
            "subtitles": source.subtitles,
            "sound_version": source.sound_version,
            "language": source.language,
        }
    return {"sound_version": voice.sound_version, "language": voice.language}
