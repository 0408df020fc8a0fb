"""The preview text: left empty, the service reads its own Chinese sentence whatever the language. The form
says so, and offers a sample sentence in the chosen language, from one list (clones/languages.py)."""

import json
import re
from html import unescape

import pytest

from clones import forms, languages

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9"}
REQUIRED = [
    "English",
    "Chinese",
    "Chinese,Yue",
    "Japanese",
    "Korean",
    "French",
    "German",
    "Spanish",
    "Italian",
    "Portuguese",
    "Russian",
    "Dutch",
]


def test_the_main_languages_each_have_a_sample_sentence():
    assert [language for language in REQUIRED if not languages.SAMPLE_SENTENCES.get(language)] == []


@pytest.mark.parametrize(("language", "sentence"), languages.SAMPLE_SENTENCES.items())
def test_each_sample_is_for_a_language_the_service_knows_and_within_the_limit(language, sentence):
    assert languages.versions_of(language)
    assert 0 < len(sentence.strip()) <= forms.MAX_CONTENT_TEXT
    assert sentence != forms.DEFAULT_CONTENT_TEXT


def test_cantonese_is_written_in_traditional_characters_and_mandarin_in_simplified():
    cantonese, mandarin = languages.SAMPLE_SENTENCES["Chinese,Yue"], languages.SAMPLE_SENTENCES["Chinese"]
    assert re.search("[係嘅呢]", cantonese) and re.search("[聽樣製試]", cantonese)
    assert not re.search("[这听样制试语们为]", cantonese)
    assert not re.search("[這聽樣製試語們為]", mandarin)
    assert "，" in mandarin and "," not in mandarin  # full-width punctuation in Chinese


def form_page(client, **headers) -> str:
    return client.get("/tasks/new/", **headers).content.decode()


def test_the_form_says_an_empty_preview_text_is_read_as_a_chinese_sentence(staff_client):
    content = unescape(form_page(staff_client))
    assert (
        "Left empty, the voice service reads its own Chinese sentence whatever the language: type a sentence "
        "in the voice's language, or use a sample sentence." in content
    )
    chinese = form_page(staff_client, **CHINESE)
    assert "留空时，无论选择哪种语言，语音服务都会读它自带的一句中文" in chinese
    assert ">使用示例句子</button>" in chinese


def test_the_samples_are_data_in_the_page_and_the_button_has_no_inline_script(staff_client):
    content = form_page(staff_client)
    textarea = re.search(r"<textarea [^>]*>", content).group(0)
    samples = json.loads(unescape(re.search(r'data-samples="([^"]*)"', textarea).group(1)))
    assert samples == languages.SAMPLE_SENTENCES
    assert re.search(r'<button type="button" class="button" id="use-sample-sentence" hidden', content)
    assert ">Use a sample sentence</button>" in content
    inline_scripts = [tag for tag in re.findall(r"<script[^>]*>", content) if "src=" not in tag]
    assert inline_scripts == []
