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


# When the preview text is left empty, the service reads its own Chinese sentence whatever the language, and
# an English voice's preview then speaks Chinese. These sentences are offered instead, one per language we can
# write correctly; a language missing here gets no sample rather than a doubtful one. Each is written as the
# language is: Cantonese in Traditional characters, with its own words (呢、係、嘅).
SAMPLE_SENTENCES: dict[str, str] = {
    "English": "Hello, this is a preview of my cloned voice. I hope it sounds just like me.",
    "Chinese": "你好，这是我的克隆声音的试听。希望它听起来和我一模一样。",
    "Chinese,Yue": "你好，呢段係我複製聲音嘅試聽。希望聽落同我一模一樣。",
    "Japanese": "こんにちは。これは私のクローン音声の試聴です。私の声にそっくりに聞こえるといいのですが。",
    "Korean": "안녕하세요. 제 복제 목소리의 미리 듣기입니다. 제 목소리와 똑같이 들리면 좋겠습니다.",
    "French": "Bonjour, voici un aperçu de ma voix clonée. J'espère qu'elle me ressemble vraiment.",
    "German": "Hallo, das ist eine Hörprobe meiner geklonten Stimme. Ich hoffe, sie klingt genau wie ich.",
    "Spanish": "Hola, esta es una muestra de mi voz clonada. Espero que suene igual que yo.",
    "Italian": "Ciao, questa è un'anteprima della mia voce clonata. Spero che suoni proprio come me.",
    "Portuguese": "Olá, esta é uma amostra da minha voz clonada. Espero que soe exatamente como eu.",
    "Russian": "Здравствуйте, это образец моего клонированного голоса. Надеюсь, он звучит точно как я.",
    "Dutch": "Hallo, dit is een voorbeeld van mijn gekloonde stem. Ik hoop dat hij precies zo klinkt als ik.",
    "Polish": "Dzień dobry, to jest próbka mojego sklonowanego głosu. Mam nadzieję, że brzmi jak ja.",
    "Swedish": "Hej, det här är ett smakprov på min klonade röst. Jag hoppas att den låter precis som jag.",
    "Danish": "Hej, dette er en prøve på min klonede stemme. Jeg håber, at den lyder præcis som mig.",
    "Ukrainian": "Вітаю, це зразок мого клонованого голосу. Сподіваюся, він звучить точно як я.",
    "Indonesian": "Halo, ini adalah contoh suara kloning saya. Semoga terdengar persis seperti suara saya.",
    "Catalan": "Hola, aquesta és una mostra de la meva veu clonada. Espero que soni igual que jo.",
}


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
