"""Validation and normalisation of what staff type, following the decisions in docs/upstream-api.md."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.utils.encoding import iri_to_uri
from django.utils.functional import cached_property
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clones import clips, languages
from clones.models import Clip, CloneTask

AUDIO_EXTENSIONS = ("mp3", "ogg", "wav", "m4a", "aac")
VIDEO_EXTENSIONS = ("mp4", "avi", "mov", "mkv", "flv")
# "Fewer than 270 characters", counted in Unicode code points after trimming.
MAX_CONTENT_TEXT = 269
MAX_URL_LENGTH = 2048
# Notes are a few lines for the team (who the speaker is, where the clip came from), not documents.
MAX_NOTES_LENGTH = 2000
# What the service says when no preview text is given; shown as the placeholder.
DEFAULT_CONTENT_TEXT = "在森林的深处,阳光透过树梢洒落,鸟儿的歌声交织成一曲美妙的乐章,诉说着大自然无尽的美丽。"
CONSENT_TEXT = _("I have the speaker's permission to clone this voice")


def _supported_types() -> str:
    return _("audio ({audio}) or video ({video})").format(
        audio=", ".join(AUDIO_EXTENSIONS), video=", ".join(VIDEO_EXTENSIONS)
    )


class LanguageSelect(forms.Select):
    """A select whose options say which model versions offer them, so the page can follow the version."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None) -> dict:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value:
            option["attrs"]["data-versions"] = " ".join(languages.versions_of(str(value)))
        return option


class NotesField(forms.CharField):
    """Free notes for the team, up to MAX_NOTES_LENGTH characters (the textarea's maxlength says so too)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", _("Notes"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_NOTES_LENGTH)
        kwargs.setdefault(
            "error_messages",
            {"max_length": _("The notes have %(show_value)d characters; the limit is %(limit_value)d.")},
        )
        super().__init__(**kwargs)

    def to_python(self, value: object) -> str:
        # Browsers count a line break as one character for maxlength but send it as two ("\r\n"): count
        # it as the browser did, so that notes the textarea accepted are never refused.
        return super().to_python(value).replace("\r\n", "\n")


def _sample_sentences_as_data() -> str:
    """clones/languages.py's sample sentences as JSON for a data- attribute: clone-form.js inserts them."""
    return json.dumps(languages.SAMPLE_SENTENCES, ensure_ascii=False)


class CloneForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_('Something your team will recognise, e.g. "Narrator, Li Wei, calm".'),
    )
    clip_source = forms.ChoiceField(
        label=_("Where the clip comes from"),
        choices=[
            (Clip.Source.FILE, _("A file from your computer")),
            (Clip.Source.RECORDING, _("Record")),
            (Clip.Source.LINK, _("A link")),
        ],
        initial=Clip.Source.FILE,
        # A form sent without it (an older page, a script) gives a link, as the form always did.
        required=False,
        widget=forms.RadioSelect,
    )
    file_url = forms.CharField(
        label=_("Media URL"),
        max_length=MAX_URL_LENGTH,
        required=False,
        help_text=_("A public link to an audio or video clip with 15 to 60 seconds of speech."),
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url", "autocomplete": "off"}),
    )
    # The checked clip (clones:clip-upload / clip-link made it) and the part of it chosen to send.
    clip = forms.UUIDField(required=False, widget=forms.HiddenInput)
    clip_start = forms.FloatField(required=False, widget=forms.HiddenInput)
    clip_end = forms.FloatField(required=False, widget=forms.HiddenInput)
    send_unchecked = forms.BooleanField(
        label=_("Send without checking"),
        required=False,
        help_text=_("Only for a link the studio could not open: the voice service will try it itself."),
    )
    content_text = forms.CharField(
        label=_("Preview text"),
        required=False,
        strip=True,
        help_text=format_lazy(
            _(
                "Optional. What the preview says, at most {limit} characters. Left empty, the voice "
                "service reads its own Chinese sentence whatever the language: type a sentence in the "
                "voice's language, or use a sample sentence."
            ),
            limit=MAX_CONTENT_TEXT,
        ),
        widget=forms.Textarea(attrs={"rows": 3, "data-samples": _sample_sentences_as_data()}),
    )
    sound_version = forms.ChoiceField(
        label=_("Model version"),
        choices=list(languages.VERSION_LABELS.items()),
        initial=languages.DEFAULT_VERSION,
        widget=forms.RadioSelect,
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Choose a language…"))]
        + [(item.value, item.label) for item in languages.ALL_LANGUAGES],
        widget=LanguageSelect,
    )
    notes = NotesField(widget=forms.Textarea(attrs={"rows": 2}))
    consent = forms.BooleanField(label=CONSENT_TEXT, required=True)
    form_token = forms.UUIDField(widget=forms.HiddenInput)
    # Sent by the form's second submit button, "Clone with both versions": one v1 and one v2 task.
    both_versions = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # Whose clips this form may use: a clip token is only good for the person who checked it.
        self.user = user
        self.checked_clip: Clip | None = None
        # Plain-words notes about what we changed or could not check; they do not block submission.
        self.notices: list[str] = []
        self.fields["content_text"].widget.attrs["placeholder"] = DEFAULT_CONTENT_TEXT
        self.fields["consent"].error_messages["required"] = _(
            "Please confirm that you have the speaker's permission."
        )
        self.fields["name"].error_messages["required"] = _("Please give the voice a name.")
        self.fields["file_url"].error_messages["required"] = _("Please paste the link to the clip.")
        self.fields["language"].error_messages["required"] = _("Please choose a language.")
        self.fields["language"].error_messages["invalid_choice"] = _(
            "Please choose a language from the list."
        )
        self.fields["sound_version"].error_messages["invalid_choice"] = _("Please choose model v1 or v2.")
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4())

    def clean_file_url(self) -> str:
        raw = self.cleaned_data["file_url"].strip()
        if not raw:
            return ""
        if any(ch.isspace() for ch in raw):
            raise forms.ValidationError(_("The link must not contain spaces."))
        try:
            parts = urlsplit(raw)
        except ValueError as exc:  # an unclosed "[" in the host, as in http://[::1/a.mp3
            raise forms.ValidationError(_("The website address in the link is not valid.")) from exc
        if parts.scheme.lower() not in ("http", "https"):
            raise forms.ValidationError(
                _("The link must start with http:// or https:// (a file on your computer will not work).")
            )
        if not parts.hostname:
            raise forms.ValidationError(_("The link has no website address after http://."))
        if parts.username or parts.password:
            raise forms.ValidationError(
                _("Links with a user name or password in them are not accepted. Use a public link.")
            )
        url = iri_to_uri(raw)
        if url != raw:
            if parts.hostname and not parts.hostname.isascii():
                url = _encode_host(url, parts.hostname)
            self.notices.append(
                _("Your link contained non-English characters; we encoded them so the service can read it.")
            )
        if len(url) > MAX_URL_LENGTH:
            raise forms.ValidationError(_("The link is too long."))
        extension = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower().lstrip(".")
        if not extension:
            self.notices.append(
                _("We could not tell the file type from the link. The service accepts {types}.").format(
                    types=_supported_types()
                )
            )
        elif extension not in AUDIO_EXTENSIONS + VIDEO_EXTENSIONS:
            raise forms.ValidationError(
                _("Files of type .{extension} are not supported. Use {types}.").format(
                    extension=extension, types=_supported_types()
                )
            )
        return url

    def clean_content_text(self) -> str:
        text = self.cleaned_data["content_text"].strip()
        if len(text) > MAX_CONTENT_TEXT:
            raise forms.ValidationError(
                _("The preview text has {count} characters; the limit is {limit}.").format(
                    count=len(text), limit=MAX_CONTENT_TEXT
                )
            )
        return text

    def clean(self) -> dict:
        cleaned = super().clean()
        self._clean_clip(cleaned)
        version = cleaned.get("sound_version")
        language = cleaned.get("language")
        if cleaned.get("both_versions"):
            if language and not all(languages.is_supported(each, language) for each in ("v1", "v2")):
                self.add_error("language", _both_versions_message(language))
            return cleaned
        if version and language and not languages.is_supported(version, language):
            if language == languages.AUTO:
                message = _("Auto-detect only works with model v2. Choose a language for model v1.")
            else:
                message = _(
                    "{language} is not available in model {version}. Choose another language."
                ).format(language=languages.label_of(language), version=version)
            self.add_error("language", message)
        return cleaned

    def _clean_clip(self, cleaned: dict) -> None:
        """The clip must be checked and usable (a link may go unchecked if the person says so)."""
        source = cleaned.get("clip_source") or Clip.Source.LINK
        cleaned["clip_source"] = source
        clip = self._own_clip(cleaned.get("clip"))
        if source == Clip.Source.LINK:
            if "file_url" not in cleaned:
                return  # its own message is already beside the field
            link = cleaned["file_url"]
            if not link:
                self.add_error("file_url", self.fields["file_url"].error_messages["required"])
                return
            if clip is not None and clip.link != link:
                clip = None  # a check of another link the person typed before
            if clip is None or clip.is_unreachable or clip.is_checking:
                if cleaned.get("send_unchecked"):
                    self.checked_clip = None
                    return
            if clip is None:
                self.add_error(
                    "file_url",
                    _(
                        "The link has not been checked yet. Wait for the check beside the field, or tick "
                        "“Send without checking”."
                    ),
                )
                return
        elif clip is None or clip.source == Clip.Source.LINK:
            message = (
                _("Please record the clip, then use the recording.")
                if source == Clip.Source.RECORDING
                else _("Please choose a file with the speaker's voice.")
            )
            self.add_error(None, message)
            return
        field = "file_url" if source == Clip.Source.LINK else None
        if "clip_start" in self.errors or "clip_end" in self.errors:
            # Hidden fields: their own message would show nowhere. (Only a crafted form sends these.)
            self.errors.pop("clip_start", None)
            self.errors.pop("clip_end", None)
            self.add_error(
                field, _("The chosen part is not inside the clip: choose it again on the waveform.")
            )
            return
        if clip.is_checking:
            self.add_error(field, _("The clip is still being checked: wait a few seconds, then send."))
            return
        if not clip.is_usable:
            self.add_error(field, clip.message)
            return
        start, end = clips.window_of(clip, cleaned.get("clip_start"), cleaned.get("clip_end"))
        if problem := clips.window_problem(clip, start, end):
            self.add_error(field, problem)
            return
        cleaned["clip_start"], cleaned["clip_end"] = start, end
        self.checked_clip = clip

    def _own_clip(self, token: uuid.UUID | None) -> Clip | None:
        if token is None or self.user is None:
            return None
        return clips.clip_by_token(self.user, token)


def _both_versions_message(language: str) -> str:
    if language == languages.AUTO:
        return _(
            "Auto-detect only works with model v2, so it cannot be used to clone with both versions. "
            "Choose a language."
        )
    return _(
        "{language} is only available in model v2, so it cannot be cloned with both versions. "
        "Choose a language both models offer, or clone with model v2 alone."
    ).format(language=languages.label_of(language))


class ClipLinkForm(forms.Form):
    """A link to check before it is sent: the same rules as the clone form's link."""

    file_url = CloneForm.base_fields["file_url"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[str] = []
        self.fields["file_url"].required = True
        self.fields["file_url"].error_messages["required"] = _("Please paste the link to the clip.")

    clean_file_url = CloneForm.clean_file_url


class TaskDetailsForm(forms.Form):
    """The only things that can be changed after submitting: the name and the notes."""

    name = forms.CharField(label=_("Name"), max_length=120)
    notes = NotesField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "details_%s")
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = _("Please give the voice a name.")


class TaskFilterForm(forms.Form):
    """The list's search, filters and order, read from the URL so that a filtered list can be bookmarked.

    A value that is not valid (an old bookmark, a hand-edited link) is ignored rather than refused.
    """

    SORT_NEWEST = "newest"
    SORT_OLDEST = "oldest"

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), required=False)
    version = forms.ChoiceField(label=_("Model version"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    sort = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[(SORT_NEWEST, _("Newest first")), (SORT_OLDEST, _("Oldest first"))],
    )
    submitter = forms.ChoiceField(label=_("Submitted by"), required=False)
    attention = forms.BooleanField(label=_("Needs attention"), required=False)
    expiring = forms.BooleanField(label=_("Expiring within 24 hours"), required=False)
    mine = forms.BooleanField(label=_("Only mine"), required=False)
    archived = forms.BooleanField(label=_("Archived voices"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        # Built per form so that the labels come out in the reader's language.
        self.fields["status"].choices = [("", _("Any status")), *CloneTask.Status.choices]
        self.fields["version"].choices = [("", _("Any version")), ("v1", "v1"), ("v2", "v2")]
        self.fields["language"].choices = [("", _("Any language"))] + [
            (item.value, item.label) for item in languages.ALL_LANGUAGES
        ]
        # Read when first needed (validating or rendering), then kept: one query per page, none for the CSV
        # unless it is filtered by submitter.
        self.fields["submitter"].choices = self._submitter_choices
        self.fields["q"].widget = forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name, notes, modelId, link or text"),
                "enterkeyhint": "search",
            }
        )

    def clean(self) -> dict:
        # Keep what is valid and drop the rest: a filter list never shows errors.
        for name in list(self.errors):
            self.cleaned_data.pop(name, None)
        self._errors = ErrorDict()
        return self.cleaned_data

    @cached_property
    def values(self) -> dict:
        """The filters in force, each with a usable value (empty text and unticked boxes left out)."""
        self.is_valid()  # cleans once; clean() has dropped whatever was not valid
        return {name: value for name, value in self.cleaned_data.items() if value}

    def _submitter_choices(self) -> list[tuple[str, str]]:
        if not hasattr(self, "_submitters"):
            self._submitters = [("", _("Anyone"))] + [(name, name) for name in submitter_names()]
        return self._submitters

    @property
    def is_filtered(self) -> bool:
        """Whether the list is narrowed down (the order alone does not count)."""
        return any(name != "sort" for name in self.values)

    @property
    def is_oldest_first(self) -> bool:
        return self.values.get("sort") == self.SORT_OLDEST

    def query(self) -> QueryDict:
        """The filters as a tidy query string (no empty parameters) for links: pages, export, bookmarks."""
        query = QueryDict(mutable=True)
        for name, value in self.values.items():
            if name == "sort" and value == self.SORT_NEWEST:
                continue
            query[name] = "1" if value is True else value
        return query

    def active_filters(self) -> list[ActiveFilter]:
        """The filters in force, each with the query string of the list without it (the removable chips)."""
        query = self.query()
        chips = []
        for name in query:
            field = self.fields[name]
            value = self.values[name]
            if isinstance(field, forms.BooleanField):
                label = str(field.label)
            elif name == "sort":
                label = str(_("Oldest first"))
            else:
                shown = (
                    dict(field.choices).get(value, value) if isinstance(field, forms.ChoiceField) else value
                )
                label = str(_("%(field)s: %(value)s") % {"field": field.label, "value": shown})
            without = query.copy()
            del without[name]
            chips.append(ActiveFilter(name=name, label=label, query_without=without.urlencode()))
        return chips


@dataclass(frozen=True)
class ActiveFilter:
    """One filter in force, as the list shows it: a chip whose link drops just that filter."""

    name: str
    label: str
    query_without: str


def submitter_names() -> list[str]:
    """The user names of everyone who submitted a voice, for the list's "Submitted by" filter.

    One EXISTS per user on the (submitted_by, created_at) index: the cost follows the team, not the tasks.
    """
    users = get_user_model()
    field = users.USERNAME_FIELD
    submitted = CloneTask.objects.filter(submitted_by=OuterRef("pk"))
    return list(users.objects.filter(Exists(submitted)).order_by(field).values_list(field, flat=True))


def _encode_host(url: str, hostname: str) -> str:
    """A non-ASCII host name becomes its IDNA (punycode) form; the rest was already percent-encoded."""
    try:
        ascii_host = hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise forms.ValidationError(_("The website address in the link is not valid.")) from exc
    encoded_host = iri_to_uri(hostname)
    return url.replace(encoded_host, ascii_host, 1)
