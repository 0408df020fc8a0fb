"""The clone form follows the contract's input rules and speaks plainly when it refuses something."""

import pytest

from clones.forms import CloneForm


def make_form(form_data, **overrides) -> CloneForm:
    form = CloneForm(data=form_data(**overrides))
    form.is_valid()
    return form


def test_a_complete_form_is_valid(form_data):
    form = make_form(form_data)
    assert form.errors == {}
    assert form.cleaned_data["file_url"] == "https://media.example.com/clips/li-wei.mp3"
    assert form.notices == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://media.example.com/a.mp3",
        "C:\\Users\\mei\\voice.mp3",
        "/home/mei/voice.mp3",
        "file:///tmp/a.mp3",
    ],
)
def test_it_refuses_links_that_are_not_http_or_https(form_data, url):
    form = make_form(form_data, file_url=url)
    assert "must start with http:// or https://" in form.errors["file_url"][0]


def test_it_refuses_a_link_without_a_host(form_data):
    form = make_form(form_data, file_url="https:///clip.mp3")
    assert "no website address" in form.errors["file_url"][0]


def test_it_refuses_a_link_with_credentials(form_data):
    form = make_form(form_data, file_url="https://mei:secret@media.example.com/a.mp3")
    assert "user name or password" in form.errors["file_url"][0]


@pytest.mark.parametrize(
    "extension", ["mp3", "ogg", "wav", "m4a", "aac", "mp4", "avi", "mov", "mkv", "flv", "MP3"]
)
def test_it_accepts_every_listed_audio_and_video_type(form_data, extension):
    form = make_form(form_data, file_url=f"https://media.example.com/clip.{extension}")
    assert "file_url" not in form.errors


@pytest.mark.parametrize("extension", ["flac", "webm", "txt"])
def test_it_refuses_an_unlisted_type_and_lists_what_works(form_data, extension):
    form = make_form(form_data, file_url=f"https://media.example.com/clip.{extension}")
    message = form.errors["file_url"][0]
    assert f".{extension} are not supported" in message
    assert "mp3, ogg, wav, m4a, aac" in message and "mp4, avi, mov, mkv, flv" in message


def test_it_judges_the_type_by_the_path_and_ignores_the_query_string(form_data):
    form = make_form(form_data, file_url="https://cdn.example.com/clip.mp3?token=abc.flac")
    assert "file_url" not in form.errors
    form = make_form(form_data, file_url="https://cdn.example.com/clip.flac?format=mp3")
    assert "file_url" in form.errors


def test_a_link_without_an_extension_passes_with_a_warning(form_data):
    form = make_form(form_data, file_url="https://cdn.example.com/media/12345")
    assert form.errors == {}
    assert any("could not tell the file type" in str(notice) for notice in form.notices)


def test_it_percent_encodes_chinese_characters_and_says_so(form_data):
    form = make_form(form_data, file_url="https://media.example.com/声音/李伟.mp3")
    assert form.errors == {}
    assert form.cleaned_data["file_url"] == (
        "https://media.example.com/%E5%A3%B0%E9%9F%B3/%E6%9D%8E%E4%BC%9F.mp3"
    )
    assert any("non-English characters" in str(notice) for notice in form.notices)


def test_it_turns_a_chinese_host_name_into_its_ascii_form(form_data):
    form = make_form(form_data, file_url="https://例子.测试/clip.mp3")
    assert form.errors == {}
    assert form.cleaned_data["file_url"] == "https://xn--fsqu00a.xn--0zwm56d/clip.mp3"


def test_it_accepts_269_characters_of_preview_text_counted_in_code_points(form_data):
    # Emoji outside the Basic Multilingual Plane are one code point each (two UTF-16 units).
    form = make_form(form_data, content_text="😀" * 269)
    assert "content_text" not in form.errors


def test_it_refuses_270_characters_of_preview_text(form_data):
    form = make_form(form_data, content_text="声" * 270)
    assert "270 characters; the limit is 269" in form.errors["content_text"][0]


def test_it_trims_the_preview_text_before_counting(form_data):
    form = make_form(form_data, content_text="   " + "a" * 269 + "   ")
    assert form.errors == {}
    assert form.cleaned_data["content_text"] == "a" * 269


def test_the_preview_text_is_optional(form_data):
    form = make_form(form_data, content_text="")
    assert form.errors == {}


def test_it_never_allows_auto_detect_with_model_v1(form_data):
    form = make_form(form_data, sound_version="v1", language="auto")
    assert "Auto-detect only works with model v2" in form.errors["language"][0]


def test_it_allows_auto_detect_with_model_v2(form_data):
    assert make_form(form_data, sound_version="v2", language="auto").errors == {}


def test_it_refuses_a_v2_only_language_with_model_v1(form_data):
    form = make_form(form_data, sound_version="v1", language="Danish")
    assert "Danish is not available in model v1" in form.errors["language"][0]


def test_cantonese_is_one_language_despite_its_comma(form_data):
    assert make_form(form_data, sound_version="v1", language="Chinese,Yue").errors == {}


def test_a_language_is_required(form_data):
    form = make_form(form_data, language="")
    assert form.errors["language"] == ["Please choose a language."]


def test_consent_is_required(form_data):
    data = form_data()
    del data["consent"]
    form = CloneForm(data=data)
    assert not form.is_valid()
    assert "permission" in form.errors["consent"][0]


def test_every_language_option_says_which_versions_offer_it():
    html = str(CloneForm()["language"])
    assert 'value="Danish" data-versions="v2"' in html
    assert 'value="Chinese,Yue" data-versions="v1 v2"' in html
    assert 'value="auto" data-versions="v2"' in html
