"""Input a hostile tester crafts: every one gets an ordinary answer, never a server error (500).

Ids come from URLs in four places (the refresh of rows, the comparison, "Clone again" and the task's own
address); each accepts only a positive id in ASCII digits within the 64-bit key. "²" and "①" pass
str.isdigit() but not int(); 25 digits make SQLite raise OverflowError; 5,000 digits pass neither int()'s
limit on long strings nor any file's size.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.base import ContentFile

from clones.forms import MAX_NOTES_LENGTH
from clones.models import CloneTask
from clones.views import MAX_DATABASE_ID, database_id
from tests.factories import completed_task, make_task

SUPERSCRIPT_TWO = "²"
CIRCLED_ONE = "①"
TOO_LONG = "9" * 25  # past 2**63 - 1, the largest key SQLite and PostgreSQL store
HUGE = "9" * 5000  # int() refuses strings of more than 4,300 digits


@pytest.fixture
def crafting_client(staff_client):
    """A signed-in client that gets the 500 page a browser would, instead of the exception."""
    staff_client.raise_request_exception = False
    return staff_client


# --- Ids from the URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["1", "42", "007", str(MAX_DATABASE_ID), "0" * 30 + "5"],
)
def test_a_database_id_is_read_from_ascii_digits(text):
    assert database_id(text) == int(text)


@pytest.mark.parametrize(
    "text",
    ["", "0", "000", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1", SUPERSCRIPT_TWO, CIRCLED_ONE, "١٢",
     "１２", str(MAX_DATABASE_ID + 1), TOO_LONG, HUGE],
)  # fmt: skip
def test_anything_else_is_not_a_database_id(text):
    assert database_id(text) is None


@pytest.mark.parametrize("crafted", [SUPERSCRIPT_TWO, CIRCLED_ONE, TOO_LONG, HUGE, "0", "-3"])
def test_the_refresh_of_rows_ignores_an_id_that_is_not_one(crafting_client, crafted):
    task = make_task(name="Still waiting")
    response = crafting_client.get("/tasks/refresh/", {"id": [crafted, str(task.pk)]})
    assert response.status_code == 200
    assert f'id="task-{task.pk}"' in response.content.decode()


@pytest.mark.parametrize("crafted", [SUPERSCRIPT_TWO, CIRCLED_ONE, TOO_LONG, HUGE])
def test_the_comparison_ignores_an_id_that_is_not_one(crafting_client, crafted):
    task = make_task(name="Only one")
    response = crafting_client.get("/tasks/compare/", {"ids": f"{crafted},{task.pk}"})
    assert response.status_code == 200
    assert "Only one" in response.content.decode()
    assert crafting_client.get("/tasks/compare/", {"ids": crafted}).status_code == 404


@pytest.mark.parametrize("crafted", [SUPERSCRIPT_TWO, CIRCLED_ONE, TOO_LONG, HUGE])
def test_clone_again_from_an_id_that_is_not_one_opens_an_empty_form(crafting_client, crafted):
    make_task(name="Not this one")
    response = crafting_client.get("/tasks/new/", {"from": crafted})
    assert response.status_code == 200
    assert "Not this one" not in response.content.decode()


@pytest.mark.parametrize("path", ["/tasks/{}/", "/tasks/{}/audio/"])
def test_a_task_address_with_a_number_past_the_key_is_not_found(crafting_client, path):
    assert crafting_client.get(path.format(TOO_LONG)).status_code == 404


# --- The Range header of a preview ---------------------------------------------------------------------

PREVIEW = bytes(range(256)) * 4  # 1,024 bytes


@pytest.fixture
def preview(db):
    task = completed_task()
    task.audio_file.save("previews/hostile.wav", ContentFile(PREVIEW))
    return task


@pytest.mark.parametrize(
    ("header", "status", "body"),
    [
        (f"bytes={HUGE}-", 416, b""),  # starts past the end of any file
        (f"bytes=0-{HUGE}", 206, PREVIEW),  # ends past the end: up to the end
        (f"bytes=-{HUGE}", 206, PREVIEW),  # the last 10**4999 bytes: all of them
        (f"bytes={'0' * 5000}1-2", 206, PREVIEW[1:3]),  # leading zeros are still the number 1
        (f"bytes={SUPERSCRIPT_TWO}-", 200, PREVIEW),  # not a range we understand: the whole file
        (f"bytes=0-{CIRCLED_ONE}", 200, PREVIEW),
    ],
)
def test_a_crafted_range_gets_the_file_a_part_of_it_or_416(crafting_client, preview, header, status, body):
    response = crafting_client.get(f"/tasks/{preview.pk}/audio/", HTTP_RANGE=header)
    assert response.status_code == status
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content == body
    if status == 416:
        assert response["Content-Range"] == f"bytes */{len(PREVIEW)}"


# --- The form ------------------------------------------------------------------------------------------


def test_a_link_with_an_unclosed_bracket_is_refused_beside_the_field_and_nothing_typed_is_lost(
    crafting_client, form_data
):
    data = form_data(file_url="http://[::1/a.mp3", notes="From the Tuesday session")
    response = crafting_client.post("/tasks/new/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["file_url"] == ["The website address in the link is not valid."]
    content = response.content.decode()
    assert 'value="http://[::1/a.mp3"' in content
    assert 'value="Narrator, Li Wei, calm"' in content
    assert "From the Tuesday session" in content
    assert "Hello, this is my cloned voice." in content


@pytest.mark.parametrize("file_url", ["http://a.example/%00.mp3", "\x00", "https://a.example/a\x00b.mp3"])
def test_a_nul_in_the_duplicate_check_answers_without_a_warning(crafting_client, file_url):
    make_task(file_url="https://a.example/ab.mp3")
    response = crafting_client.get("/tasks/check-url/", {"file_url": file_url})
    assert response.status_code == 200
    assert "cloned before" not in response.content.decode()


# --- Notes have a limit ---------------------------------------------------------------------------------


def test_the_notes_fields_say_their_limit_to_the_browser(staff_client, staff_user):
    task = make_task(submitted_by=staff_user)
    for url in ("/tasks/new/", f"/tasks/{task.pk}/"):
        content = staff_client.get(url).content.decode()
        assert f'maxlength="{MAX_NOTES_LENGTH}"' in content.split('name="notes"')[1].split(">")[0], url


def test_notes_over_the_limit_are_refused_on_the_form_with_a_plain_message(staff_client, form_data):
    notes = "n" * (MAX_NOTES_LENGTH + 1)
    response = staff_client.post("/tasks/new/", form_data(notes=notes))
    assert response.status_code == 400
    assert response.context["form"].errors["notes"] == [
        f"The notes have {MAX_NOTES_LENGTH + 1} characters; the limit is {MAX_NOTES_LENGTH}."
    ]
    assert notes in response.content.decode()


def test_notes_over_the_limit_are_refused_on_the_task_page_and_the_notes_kept(staff_client, staff_user):
    task = make_task(notes="before", submitted_by=staff_user)
    notes = "n" * (MAX_NOTES_LENGTH + 1)
    response = staff_client.post(f"/tasks/{task.pk}/edit/", {"name": task.name, "notes": notes})
    assert response.status_code == 400
    assert "the limit is 2000" in response.content.decode()
    task.refresh_from_db()
    assert task.notes == "before"


def test_notes_at_the_limit_with_line_breaks_are_accepted_as_the_browser_counted_them(
    staff_client, staff_user
):
    task = make_task(submitted_by=staff_user)
    # The browser counts each line break once and sends it as "\r\n".
    notes = "\r\n".join(["n" * 9] * (MAX_NOTES_LENGTH // 10))
    assert len(notes.replace("\r\n", "\n")) == MAX_NOTES_LENGTH - 1
    response = staff_client.post(f"/tasks/{task.pk}/edit/", {"name": task.name, "notes": notes})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.notes == notes.replace("\r\n", "\n")


# --- The CSV export -------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("https://evil.example.com","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)",
            "\t=1", "\r=1"]  # fmt: skip


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_cell_of_the_export_that_can_come_from_outside_is_shown_not_run(staff_client, formula):
    from django.contrib.auth import get_user_model

    submitter = get_user_model().objects.create_user(username=formula[:150], password="x" * 20)
    # Every column a person or the service can put text into; the form and the service are not the only
    # way in (the admin, an import, a future field), so none is trusted to be "only a version".
    columns = ["name", "model_id", "sound_version", "language", "status", "submitted_by", "file_url"]
    # As much of the formula as each column holds (the version holds two characters: "=H" is still one).
    written = {
        column: formula[: CloneTask._meta.get_field(column).max_length or len(formula)] for column in columns
    }
    written["submitted_by"] = submitter.get_username()
    make_task(**{**written, "submitted_by": submitter})  # an unknown status is written as it is stored
    body = b"".join(staff_client.get("/tasks/export/").streaming_content)
    header, row = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    # Timestamps, the clip's source label and its measured seconds are ours.
    ours = ("Submitted at", "modelId expires at", "Clip source", "Clip seconds", "Speech seconds")
    written_from_outside = [cell for name, cell in zip(header, row, strict=True) if name not in ours]
    # The clip's name column repeats the link for a task from before clips were checked.
    expected = ["'" + written[column] for column in columns] + ["'" + written["file_url"]]
    assert written_from_outside == expected
