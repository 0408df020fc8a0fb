"""The catalogue of model versions and their languages: the one source for the form, the templates and the JS.

Values are the language *names* the service expects (not codes). `Chinese,Yue` is one value that contains a
comma: never split a language on commas.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

AUTO = "auto"


@dataclass(frozen=True)
class Language:
    value: str
    label: Promise


# Languages both versions know (24).
SHARED_LANGUAGES: tuple[Language, ...] = (
    Language("Chinese", _("Chinese (Mandarin)")),
    Language("Chinese,Yue", _("Cantonese")),
    Language("English", _("English")),
    Language("Arabic", _("Arabic")),
    Language("Russian", _("Russian")),
    Language("Spanish", _("Spanish")),
    Language("French", _("French")),
    Language("Portuguese", _("Portuguese")),
    Language("German", _("German")),
    Language("Turkish", _("Turkish")),
    Language("Dutch", _("Dutch")),
    Language("Ukrainian", _("Ukrainian")),
    Language("Vietnamese", _("Vietnamese")),
    Language("Indonesian", _("Indonesian")),
    Language("Japanese", _("Japanese")),
    Language("Italian", _("Italian")),
    Language("Korean", _("Korean")),
    Language("Thai", _("Thai")),
    Language("Polish", _("Polish")),
    Language("Romanian", _("Romanian")),
    Language("Greek", _("Greek")),
    Language("Czech", _("Czech")),
    Language("Finnish", _("Finnish")),
    Language("Hindi", _("Hindi")),
)

# Languages only model v2 knows (16), plus auto-detection, which the service offers only with v2.
V2_ONLY_LANGUAGES: tuple[Language, ...] = (
    Language("Bulgarian", _("Bulgarian")),
    Language("Danish", _("Danish")),
    Language("Hebrew", _("Hebrew")),
    Language("Malay", _("Malay")),
    Language("Persian", _("Persian")),
    Language("Slovak", _("Slovak")),
    Language("Swedish", _("Swedish")),
    Language("Croatian", _("Croatian")),
    Language("Filipino", _("Filipino")),
    Language("Hungarian", _("Hungarian")),
    Language("Norwegian", _("Norwegian")),
    Language("Slovenian", _("Slovenian")),
    Language("Catalan", _("Catalan")),
    Language("Nynorsk", _("Norwegian Nynorsk")),
    Language("Tamil", _("Tamil")),
    Language("Afrikaans", _("Afrikaans")),
    Language(AUTO, _("Auto-detect")),
)

VERSION_LABELS: dict[str, Promise] = {"v1": _("Model v1 (24 languages)"), "v2": _("Model v2 (40 languages)")}
DEFAULT_VERSION = "v1"

LANGUAGES_BY_VERSION: dict[str, tuple[Language, ...]] = {
    "v1": SHARED_LANGUAGES,
    "v2": SHARED_LANGUAGES + V2_ONLY_LANGUAGES,
}

ALL_LANGUAGES: tuple[Language, ...] = LANGUAGES_BY_VERSION["v2"]


def versions_of(language: str) -> list[str]:
    """The model versions that accept this language name."""
    return [version for version, languages in LANGUAGES_BY_VERSION.items() if language in _values(languages)]


def is_supported(version: str, language: str) -> bool:
    """Whether the service accepts this version and language together."""
    return language in _values(LANGUAGES_BY_VERSION.get(version, ()))


def label_of(language: str) -> str:
    """The human label of a language name, or the name itself when it is unknown."""
    for item in ALL_LANGUAGES:
        if item.value == language:
            return str(item.label)
    return language


def labels() -> dict[str, str]:
    """Every language name with its label in the active language: {"Chinese,Yue": "Cantonese", …}."""
    return {item.value: str(item.label) for item in ALL_LANGUAGES}


def _values(languages: tuple[Language, ...]) -> set[str]:
    return {item.value for item in languages}
