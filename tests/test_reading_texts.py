"""The texts offered for reading aloud while recording a clip: one for every language the form offers, long
enough for the service's 15 to 60 seconds of speech, and written as the language is."""

from __future__ import annotations

import json
import re

import pytest

from clones import languages, reading_texts

# Easy reading pace: about 2.5 words a second in languages written with spaces, about 4.5 characters a second
# in Chinese and Japanese, 4 syllables (Hangul blocks) a second in Korean.
WORDS_PER_SECOND = 2.5
CJK_CHARACTERS_PER_SECOND = 4.5
HANGUL_PER_SECOND = 4.0
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def estimated_seconds(text: str) -> float:
    if HANGUL.search(text):
        return len(HANGUL.findall(text)) / HANGUL_PER_SECOND
    if CJK.search(text):
        return len(CJK.findall(text)) / CJK_CHARACTERS_PER_SECOND
    return len(text.split()) / WORDS_PER_SECOND


@pytest.mark.parametrize("language", [item.value for item in languages.ALL_LANGUAGES])
def test_every_language_of_the_form_is_offered_a_text_its_own_or_english(language):
    text, written_in = reading_texts.text_for(language)

    assert text
    if language in reading_texts.READING_TEXTS:
        assert (text, written_in) == (reading_texts.READING_TEXTS[language], language)
    else:
        assert (text, written_in) == (reading_texts.READING_TEXTS["English"], "English")


@pytest.mark.parametrize("language", sorted(reading_texts.READING_TEXTS))
def test_each_text_takes_well_over_15_and_well_under_60_seconds_to_read(language):
    seconds = estimated_seconds(reading_texts.READING_TEXTS[language])

    # Room on both sides: a slow reader who pauses stays under the 60 s stop, a fast one over 15 s.
    assert 30 <= seconds <= 50, f"{language}: about {seconds:.0f} s"


def test_only_languages_of_the_form_have_texts_and_each_has_its_language_tag():
    assert set(reading_texts.READING_TEXTS) <= {item.value for item in languages.ALL_LANGUAGES}
    assert set(reading_texts.LANGUAGE_TAGS) == set(reading_texts.READING_TEXTS)


@pytest.mark.parametrize("language", ["Chinese", "Chinese,Yue", "Japanese"])
def test_chinese_and_japanese_texts_use_full_width_punctuation(language):
    text = reading_texts.READING_TEXTS[language]

    assert "，" in text or "、" in text
    assert "。" in text
    assert not re.search(r"[,.;:!?()]", text)


def test_cantonese_is_written_as_spoken_in_traditional_characters():
    text = reading_texts.READING_TEXTS["Chinese,Yue"]

    assert {"嘅", "係", "喺"} <= set(text)
    assert "这" not in text and "们" not in text


def test_the_page_gets_every_text_once_with_its_language_tag_keeping_the_characters():
    data = json.loads(reading_texts.as_json())

    assert {language: item["text"] for language, item in data.items()} == reading_texts.READING_TEXTS
    assert data["Chinese"]["lang"] == "zh-Hans"
    assert data["Chinese,Yue"]["lang"] == "yue-Hant"
    assert "每天早上" in reading_texts.as_json()  # not \\u escapes, which would weigh six times more
