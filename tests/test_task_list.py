"""Finding voices in the shared list: search, filters, order, pages, and the CSV export of what was found."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clones.models import CloneTask
from tests.factories import completed_task, make_task

Status = CloneTask.Status
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def names_on(response) -> list[str]:
    return re.findall(r'<h2 class="task-name"><a href="/tasks/\d+/">([^<]*)</a>', response.content.decode())


# --- Search ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "query"),
    [
        ("name", "Narrator, Li Wei, calm", "li wei"),
        ("notes", "From the March interview", "march"),
        ("model_id", "voice_5b0c77aa", "voice_5b0c"),
        ("file_url", "https://media.example.com/clips/chen.mp3", "clips/chen"),
        ("content_text", "在森林的深处", "森林"),
        ("upstream_id", "audio_99f1", "audio_99f1"),
    ],
)
def test_search_finds_a_task_by_any_of_its_words(staff_client, field, value, query):
    make_task(name="Something else entirely")
    wanted = make_task(**{"name": "The one we want", field: value} if field != "name" else {field: value})
    response = staff_client.get("/tasks/", {"q": query})
    assert names_on(response) == [wanted.name]


def test_search_needs_every_word_to_match_somewhere(staff_client):
    make_task(name="Narrator", notes="calm")
    make_task(name="Narrator", notes="angry")
    response = staff_client.get("/tasks/?q=narrator+calm")
    assert len(names_on(response)) == 1
    assert "calm" in CloneTask.objects.get(name="Narrator", notes="calm").notes


def test_a_search_that_finds_nothing_says_so_and_offers_to_clear_it(staff_client):
    make_task()
    content = staff_client.get("/tasks/?q=nobody").content.decode()
    assert "No voices match your search and filters." in content
    assert 'href="/tasks/">Clear all filters</a>' in content


def test_the_search_box_keeps_what_was_typed(staff_client):
    content = staff_client.get("/tasks/?q=li+wei").content.decode()
    assert re.search(r'<input type="search" name="q" value="li wei"', content)


# --- Filters --------------------------------------------------------------------------------------------


def test_the_status_filter_shows_only_that_status(staff_client):
    make_task(name="Still queued")
    completed_task(name="Done already")
    make_task(name="Went wrong", status=Status.FAILED)
    assert names_on(staff_client.get("/tasks/?status=failed")) == ["Went wrong"]
    assert names_on(staff_client.get("/tasks/?status=completed")) == ["Done already"]


def test_the_version_and_language_filters_combine(staff_client):
    make_task(name="English on v1")
    make_task(name="Cantonese on v1", language="Chinese,Yue")
    make_task(name="Cantonese on v2", language="Chinese,Yue", sound_version="v2")
    assert names_on(staff_client.get("/tasks/", {"language": "Chinese,Yue", "version": "v2"})) == [
        "Cantonese on v2"
    ]
    assert sorted(names_on(staff_client.get("/tasks/", {"language": "Chinese,Yue"}))) == [
        "Cantonese on v1",
        "Cantonese on v2",
    ]


def test_mine_shows_only_what_i_submitted_and_the_list_names_every_submitter(
    staff_client, staff_user, other_staff_user
):
    make_task(name="Mei's narrator", submitted_by=staff_user)
    make_task(name="Tom's narrator", submitted_by=other_staff_user)
    everyone = staff_client.get("/tasks/").content.decode()
    assert "Mei&#x27;s narrator" in everyone and "Tom&#x27;s narrator" in everyone
    assert "· mei" in everyone and "· tom" in everyone
    assert names_on(staff_client.get("/tasks/?mine=1")) == ["Mei&#x27;s narrator"]


def test_expiring_soon_shows_completed_voices_whose_model_id_lapses_within_a_day(staff_client):
    with time_machine.travel(NOW, tick=False):
        completed_task(name="Finished an hour ago", finished_at=NOW - timedelta(hours=1))
        completed_task(name="Lapses in 5 hours", finished_at=NOW - timedelta(days=3) + timedelta(hours=5))
        completed_task(name="Lapsed an hour ago", finished_at=NOW - timedelta(days=3, hours=1))
        completed_task(
            name="No modelId", model_id="", finished_at=NOW - timedelta(days=3) + timedelta(hours=5)
        )
        make_task(name="Failed long ago", status=Status.FAILED, finished_at=NOW - timedelta(days=2, hours=20))
        assert names_on(staff_client.get("/tasks/?expiring=1")) == ["Lapses in 5 hours"]


def test_filters_that_make_no_sense_are_ignored_not_refused(staff_client):
    make_task(name="Still here")
    response = staff_client.get("/tasks/?status=bogus&version=v9&language=Klingon&sort=sideways&page=x")
    assert response.status_code == 200
    assert names_on(response) == ["Still here"]


def test_the_filter_form_shows_the_filters_in_force(staff_client):
    content = staff_client.get("/tasks/?status=failed&version=v2&mine=1&sort=oldest").content.decode()
    assert '<option value="failed" selected>' in content
    assert '<option value="v2" selected>' in content
    assert re.search(r'<input type="checkbox" name="mine"[^>]*checked', content)
    assert '<option value="oldest" selected>' in content


def test_every_filter_control_has_a_label(staff_client):
    content = staff_client.get("/tasks/").content.decode()
    form = content[content.index('role="search"') : content.index("</form>", content.index('role="search"'))]
    for control_id in re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', form):
        assert f'for="{control_id}"' in form, control_id


# --- Order and pages ------------------------------------------------------------------------------------


def test_the_list_can_be_ordered_oldest_first(staff_client):
    with time_machine.travel(NOW, tick=False):
        make_task(name="First")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        make_task(name="Second")
    assert names_on(staff_client.get("/tasks/")) == ["Second", "First"]
    assert names_on(staff_client.get("/tasks/?sort=oldest")) == ["First", "Second"]


def test_pages_hold_fifty_tasks_and_their_links_keep_the_filters(staff_client):
    CloneTask.objects.bulk_create(
        CloneTask(
            name=f"Failed voice {index}",
            file_url="https://e.com/a.mp3",
            sound_version="v1",
            language="English",
            status=Status.FAILED,
        )
        for index in range(60)
    )
    make_task(name="Queued and not wanted")
    first = staff_client.get("/tasks/?status=failed&q=voice")
    content = first.content.decode()
    assert len(names_on(first)) == 50
    assert "Showing 1–50 of 60 voices" in content
    assert "Page 1 of 2" in content
    assert 'href="?q=voice&amp;status=failed&amp;page=2" rel="next"' in content
    second = staff_client.get("/tasks/?q=voice&status=failed&page=2")
    assert len(names_on(second)) == 10
    assert 'href="?q=voice&amp;status=failed&amp;page=1" rel="prev"' in second.content.decode()


def test_a_page_past_the_end_says_so_and_links_the_first_page(staff_client):
    make_task()
    content = staff_client.get("/tasks/?page=7&status=queued").content.decode()
    assert "There is nothing on this page." in content
    assert 'href="/tasks/?status=queued">Go to the first page' in content


def test_a_long_list_is_not_counted_beyond_a_thousand(staff_client, settings):
    CloneTask.objects.bulk_create(
        CloneTask(
            name=f"Voice {index}", file_url="https://e.com/a.mp3", sound_version="v1", language="English"
        )
        for index in range(1001)
    )
    content = staff_client.get("/tasks/").content.decode()
    assert "Showing 1–50 of more than 1000 voices" in content
    assert "Page 1</span>" in content


def test_the_list_costs_the_same_queries_for_one_task_as_for_a_hundred(staff_client):
    def queries_for_list() -> int:
        staff_client.get("/tasks/?q=narrator&sort=oldest")  # any session write happens here, not below
        with CaptureQueriesContext(connection) as context:
            response = staff_client.get("/tasks/?q=narrator&sort=oldest")
        assert response.status_code == 200
        return len(context.captured_queries)

    completed_task(name="Narrator 0")
    with_one = queries_for_list()
    for index in range(1, 100):
        (completed_task if index % 2 else make_task)(name=f"Narrator {index}")
    with_a_hundred = queries_for_list()
    assert with_one == with_a_hundred
    # session, user, the capped count, the page of tasks with their submitters, the "Submitted by" choices
    assert with_one <= 5


# The list with 100,000 tasks is bench/test_a_hundred_thousand_tasks.py, run by `make bench`.


# --- CSV export -----------------------------------------------------------------------------------------


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    body = b"".join(response.streaming_content)
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_export_is_utf8_with_a_bom_so_excel_reads_chinese(staff_client, staff_user):
    completed_task(name="旁白,李伟,平静", language="Chinese,Yue", submitted_by=staff_user)
    response = staff_client.get("/tasks/export/")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="soundclone-voices-')
    body, rows = read_csv(response)
    assert body.startswith(b"\xef\xbb\xbf")
    assert "旁白,李伟,平静".encode() in body
    assert rows[0] == [
        "Name",
        "modelId",
        "Model version",
        "Language",
        "Status",
        "Submitted by",
        "Submitted at",
        "modelId expires at",
        "Media URL",
        "Clip source",
        "Clip name",
        "Clip seconds",
        "Speech seconds",
    ]
    assert rows[1][:6] == [
        "旁白,李伟,平静",
        "voice_0123456789abcdef",
        "v1",
        "Cantonese",
        "Completed",
        "mei",
    ]
    assert rows[1][8] == "https://media.example.com/a.mp3"


def test_the_export_holds_the_filtered_list_in_the_same_order(staff_client):
    with time_machine.travel(NOW, tick=False):
        completed_task(name="Old voice", finished_at=NOW)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        completed_task(name="New voice", finished_at=NOW + timedelta(hours=1))
        make_task(name="Queued voice")
        body, rows = read_csv(staff_client.get("/tasks/export/?status=completed&sort=oldest"))
    assert [row[0] for row in rows[1:]] == ["Old voice", "New voice"]
    assert rows[1][6] == "2026-03-02T12:00:00+00:00"
    assert rows[1][7] == "2026-03-05T12:00:00+00:00"


def test_the_export_link_carries_the_filters(staff_client):
    make_task()
    content = staff_client.get("/tasks/?status=queued&q=narr").content.decode()
    assert 'href="/tasks/export/?q=narr&amp;status=queued" download' in content


def test_the_export_defuses_cells_that_a_spreadsheet_would_run_as_formulas(staff_client):
    make_task(name='=HYPERLINK("https://evil.example.com","click")')
    _body, rows = read_csv(staff_client.get("/tasks/export/"))
    assert rows[1][0] == '\'=HYPERLINK("https://evil.example.com","click")'


def test_the_export_streams_and_leaves_archived_tasks_out_unless_asked(staff_client):
    make_task(name="On the list")
    make_task(name="Put away", archived_at=timezone.now())
    response = staff_client.get("/tasks/export/")
    assert response.streaming
    _body, rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == ["On the list"]
    _body, rows = read_csv(staff_client.get("/tasks/export/?archived=1"))
    assert [row[0] for row in rows[1:]] == ["Put away"]


@pytest.mark.parametrize(
    "url", ["/tasks/export/", "/tasks/?q=x", "/tasks/compare/?ids=1", "/tasks/check-url/"]
)
def test_the_new_pages_send_a_stranger_to_sign_in(anonymous_client, url):
    response = anonymous_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
