"""The clone form follows the contract's input rules and speaks plainly when it refuses something."""

from urllib.parse import urlencode

import pytest
from django.http import QueryDict

from clones.forms import CloneForm, TaskDetailsForm, TaskFilterForm


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


# --- Every refusal, in the words staff read ----------------------------------------------------------------

NOT_HTTP = "The link must start with http:// or https:// (a file on your computer will not work)."
NOT_VALID = "The website address in the link is not valid."
SUPPORTED = "audio (mp3, ogg, wav, m4a, aac) or video (mp4, avi, mov, mkv, flv)"


def url_errors(form_data, url: str) -> list[str]:
    return make_form(form_data, file_url=url).errors.get("file_url", [])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://media.example.com/my clip.mp3", "The link must not contain spaces."),
        ("https://media.example.com/a.mp3 extra", "The link must not contain spaces."),
        ("https://media.example.com/a\t.mp3", "The link must not contain spaces."),
        ("http://[::1/a.mp3", NOT_VALID),
        ("ftp://media.example.com/a.mp3", NOT_HTTP),
        ("mailto:mei@example.com", NOT_HTTP),
        ("https:///clip.mp3", "The link has no website address after http://."),
        (
            "http://user@media.example.com/a.mp3",
            "Links with a user name or password in them are not accepted. Use a public link.",
        ),
        (
            "http://:secret@media.example.com/a.mp3",
            "Links with a user name or password in them are not accepted. Use a public link.",
        ),
        ("https://例子..测试/clip.mp3", NOT_VALID),
        ("https://media.example.com/clip.flac", f"Files of type .flac are not supported. Use {SUPPORTED}."),
    ],
)
def test_every_refused_link_gets_its_own_plain_message(form_data, url, message):
    assert url_errors(form_data, url) == [message]


def test_the_link_is_trimmed_before_it_is_checked(form_data):
    form = make_form(form_data, file_url="  https://media.example.com/a.mp3\n")
    assert form.errors == {}
    assert form.cleaned_data["file_url"] == "https://media.example.com/a.mp3"


def test_the_scheme_may_be_in_capitals(form_data):
    assert url_errors(form_data, "HTTPS://media.example.com/a.mp3") == []


def link_of_length(length: int) -> str:
    start = "https://media.example.com/"
    return start + "a" * (length - len(start) - len(".mp3")) + ".mp3"


def test_a_link_of_2048_characters_is_accepted_and_one_of_2049_is_refused(form_data):
    assert url_errors(form_data, link_of_length(2048)) == []
    assert url_errors(form_data, link_of_length(2049)) == [
        "Ensure this value has at most 2048 characters (it has 2049)."
    ]


def test_a_link_that_grows_past_2048_characters_when_encoded_is_refused(form_data):
    # 600 Chinese characters are 600 typed, but 5,400 once percent-encoded for the service.
    url = "https://media.example.com/" + "声" * 600 + ".mp3"
    assert url_errors(form_data, url) == ["The link is too long."]
    assert url_errors(form_data, link_of_length(2048 - 9) + "?q=" + "声") == ["The link is too long."]
    assert url_errors(form_data, link_of_length(2048 - 12) + "?q=" + "声") == []


def test_an_encoded_link_says_so_and_a_plain_one_does_not(form_data):
    form = make_form(form_data, file_url="https://media.example.com/声音.mp3")
    assert [str(notice) for notice in form.notices] == [
        "Your link contained non-English characters; we encoded them so the service can read it."
    ]
    assert make_form(form_data, file_url="https://media.example.com/a.mp3").notices == []


def test_a_chinese_host_and_path_are_both_encoded_for_the_service(form_data):
    form = make_form(form_data, file_url="https://例子.测试/声.mp3?q=声")
    assert form.cleaned_data["file_url"] == "https://xn--fsqu00a.xn--0zwm56d/%E5%A3%B0.mp3?q=%E5%A3%B0"


def test_a_link_without_a_type_names_every_type_the_service_accepts(form_data):
    form = make_form(form_data, file_url="https://cdn.example.com/media/12345")
    assert [str(notice) for notice in form.notices] == [
        f"We could not tell the file type from the link. The service accepts {SUPPORTED}."
    ]


def test_the_type_is_read_from_the_decoded_path(form_data):
    assert url_errors(form_data, "https://cdn.example.com/clip%2Emp3") == []
    assert url_errors(form_data, "https://cdn.example.com/clip.Mp4") == []


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("name", "Please give the voice a name."),
        ("file_url", "Please paste the link to the clip."),
        ("language", "Please choose a language."),
        ("consent", "Please confirm that you have the speaker's permission."),
    ],
)
def test_every_required_field_says_what_to_do(form_data, field, message):
    assert make_form(form_data, **{field: ""}).errors[field] == [message]


def test_a_language_or_version_not_on_the_lists_is_refused_in_plain_words(form_data):
    assert make_form(form_data, language="Klingon").errors["language"] == [
        "Please choose a language from the list."
    ]
    assert make_form(form_data, sound_version="v3").errors["sound_version"] == [
        "Please choose model v1 or v2."
    ]


def test_a_name_of_121_characters_is_refused(form_data):
    assert "name" not in make_form(form_data, name="n" * 120).errors
    assert "name" in make_form(form_data, name="n" * 121).errors


def test_the_preview_text_limit_is_269_characters_with_the_count_in_the_message(form_data):
    assert make_form(form_data, content_text="a" * 269).errors == {}
    assert make_form(form_data, content_text="a" * 270).errors["content_text"] == [
        "The preview text has 270 characters; the limit is 269."
    ]


def test_the_preview_text_is_kept_as_typed_inside_its_trimmed_ends(form_data):
    form = make_form(form_data, content_text="  Hello,  world.\n")
    assert form.cleaned_data["content_text"] == "Hello,  world."


def test_model_v1_refuses_a_v2_language_naming_it_and_the_version(form_data):
    assert make_form(form_data, sound_version="v1", language="Nynorsk").errors["language"] == [
        "Norwegian Nynorsk is not available in model v1. Choose another language."
    ]
    assert make_form(form_data, sound_version="v1", language="auto").errors["language"] == [
        "Auto-detect only works with model v2. Choose a language for model v1."
    ]


def test_model_v2_accepts_every_language_of_model_v1_and_its_own(form_data):
    for language in ("Chinese", "Chinese,Yue", "Hindi", "Danish", "Afrikaans", "auto"):
        assert make_form(form_data, sound_version="v2", language=language).errors == {}, language


@pytest.mark.parametrize("language", ["Chinese", "Chinese,Yue", "English", "Hindi"])
def test_both_versions_accepts_a_language_both_models_offer_whatever_version_is_ticked(form_data, language):
    for version in ("v1", "v2"):
        form = make_form(form_data, sound_version=version, language=language, both_versions="1")
        assert form.errors == {}
        assert form.cleaned_data["both_versions"] is True


def test_both_versions_refuses_a_v2_language_and_auto_detect_with_their_own_messages(form_data):
    form = make_form(form_data, sound_version="v2", language="Danish", both_versions="1")
    assert form.errors["language"] == [
        "Danish is only available in model v2, so it cannot be cloned with both versions. "
        "Choose a language both models offer, or clone with model v2 alone."
    ]
    form = make_form(form_data, sound_version="v2", language="auto", both_versions="1")
    assert form.errors["language"] == [
        "Auto-detect only works with model v2, so it cannot be used to clone with both versions. "
        "Choose a language."
    ]


def test_one_version_is_the_default_and_both_versions_is_off_unless_asked(form_data):
    form = make_form(form_data)
    assert form.cleaned_data["both_versions"] is False
    assert CloneForm().initial.get("sound_version", CloneForm().fields["sound_version"].initial) == "v1"


def test_a_new_form_has_a_fresh_token_and_the_services_default_sentence_as_placeholder():
    first, second = CloneForm(), CloneForm()
    assert first.initial["form_token"] != second.initial["form_token"]
    assert first.fields["content_text"].widget.attrs["placeholder"].startswith("在森林的深处")
    assert "form_token" not in CloneForm(data={}).initial


def test_the_form_token_must_be_a_uuid(form_data):
    assert "form_token" in make_form(form_data, form_token="not-a-token").errors


# --- Notes and the details form ----------------------------------------------------------------------------


def test_notes_are_optional_and_limited_to_2000_characters_with_the_count_in_the_message(form_data):
    assert make_form(form_data, notes="").errors == {}
    assert make_form(form_data, notes="n" * 2000).errors == {}
    assert make_form(form_data, notes="n" * 2001).errors["notes"] == [
        "The notes have 2001 characters; the limit is 2000."
    ]


def test_a_line_break_in_the_notes_counts_as_one_character_as_in_the_browser(form_data):
    form = make_form(form_data, notes="a\r\n" * 999 + "a")  # 2,998 characters sent, 1,999 typed
    assert form.errors == {}
    assert form.cleaned_data["notes"] == "a\n" * 999 + "a"


def test_the_details_form_changes_only_the_name_and_notes_and_needs_a_name():
    form = TaskDetailsForm(data={"name": "", "notes": "x"})
    assert form.errors == {"name": ["Please give the voice a name."]}
    form = TaskDetailsForm(data={"name": "Narrator", "notes": "a\r\nb", "file_url": "https://evil.example/"})
    assert form.is_valid()
    assert form.cleaned_data == {"name": "Narrator", "notes": "a\nb"}
    assert 'id="details_name"' in str(form["name"])


# --- The list's filter form ------------------------------------------------------------------------------


def filters(**query) -> TaskFilterForm:
    return TaskFilterForm(data=QueryDict(urlencode(query)))


def test_the_filters_keep_what_is_valid_and_drop_the_rest_without_errors():
    form = filters(q="narrator", status="nonsense", version="v3", language="Chinese,Yue", sort="sideways")
    assert form.values == {"q": "narrator", "language": "Chinese,Yue"}
    assert form.errors == {}


def test_every_filter_is_read_from_the_address():
    form = filters(
        q="li wei", status="completed", version="v2", language="Danish", sort="oldest", expiring="1",
        mine="1", archived="1",
    )  # fmt: skip
    assert form.values == {
        "q": "li wei",
        "status": "completed",
        "version": "v2",
        "language": "Danish",
        "sort": "oldest",
        "expiring": True,
        "mine": True,
        "archived": True,
    }
    assert form.is_filtered and form.is_oldest_first


def test_an_empty_list_address_has_no_filters_and_is_newest_first():
    form = filters()
    assert form.values == {}
    assert not form.is_filtered and not form.is_oldest_first
    assert form.query().urlencode() == ""


def test_the_order_alone_is_not_a_filter():
    assert not filters(sort="oldest").is_filtered
    assert filters(sort="oldest").is_oldest_first
    assert not filters(sort="newest").is_oldest_first
    assert filters(mine="1").is_filtered


def test_the_query_for_links_leaves_out_empty_values_and_the_default_order():
    assert (
        filters(q="", status="failed", sort="newest", mine="1").query().urlencode() == "status=failed&mine=1"
    )
    assert filters(sort="oldest", archived="on").query().urlencode() == "sort=oldest&archived=1"


def test_a_search_longer_than_200_characters_is_dropped():
    assert filters(q="a" * 200).values == {"q": "a" * 200}
    assert filters(q="a" * 201).values == {}


def test_the_filter_choices_start_with_any_and_follow_the_catalogue():
    form = TaskFilterForm()
    assert form.fields["status"].choices[0] == ("", "Any status")
    assert ("completed", "Completed") in form.fields["status"].choices
    assert form.fields["version"].choices == [("", "Any version"), ("v1", "v1"), ("v2", "v2")]
    assert form.fields["language"].choices[0] == ("", "Any language")
    assert len(form.fields["language"].choices) == 1 + 41
    assert 'type="search"' in str(form["q"]) and 'id="filter_q"' in str(form["q"])


def test_a_chinese_host_is_encoded_where_it_is_the_host_and_left_percent_encoded_in_the_path(form_data):
    form = make_form(form_data, file_url="https://例子.测试/例子.测试.mp3")
    assert form.cleaned_data["file_url"] == (
        "https://xn--fsqu00a.xn--0zwm56d/%E4%BE%8B%E5%AD%90.%E6%B5%8B%E8%AF%95.mp3"
    )


def test_the_labels_read_plainly_without_a_colon():
    form, details = CloneForm(), TaskDetailsForm()
    assert form["notes"].label_tag() == '<label for="id_notes">Notes</label>'
    assert form["file_url"].label_tag() == '<label for="id_file_url">Media URL</label>'
    assert details["notes"].label_tag() == '<label for="details_notes">Notes</label>'
    assert details["name"].label_tag() == '<label for="details_name">Name</label>'
    assert TaskFilterForm()["q"].label_tag() == '<label for="filter_q">Search</label>'
