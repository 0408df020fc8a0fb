"""The list comes first (issue 10): one compact bar for search and filters with removable chips, a "Needs
attention" view, a "Submitted by" filter, rows that say what happened, a confirmed "Send again anyway", and
"Keep this one" on the compare page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine

from clones.models import CloneTask, TaskChange
from tests.factories import completed_task, make_task

Status = CloneTask.Status
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def names_on(response) -> list[str]:
    found = re.findall(r'<h2 class="task-name"><a href="/tasks/\d+/">([^<]*)</a>', response.content.decode())
    return [unescape(name) for name in found]


def filter_form(response) -> str:
    content = response.content.decode()
    start = content.index('<form method="get" action="/tasks/" class="filters')
    return content[start : content.index("</form>", start)]


def row_of(response, task: CloneTask) -> str:
    content = response.content.decode()
    return re.search(rf'<li [^>]*id="task-{task.pk}".*?\n</li>', content, re.S).group(0)


# --- One compact bar ------------------------------------------------------------------------------------


def test_the_search_box_stays_in_view_and_the_other_filters_are_behind_a_filters_disclosure(staff_client):
    form = filter_form(staff_client.get("/tasks/"))
    disclosure = form[form.index('<details class="filter-more">') : form.index("</details>")]
    assert "<summary>Filters</summary>" in disclosure
    for name in ("status", "version", "language", "submitter", "sort", "expiring", "mine", "archived"):
        assert f'name="{name}"' in disclosure, name
    before = form[: form.index("<details")]
    assert 'type="search" name="q"' in before
    assert 'name="attention"' in before  # "Needs attention" is one click away, disclosure closed or not
    assert '<button type="submit" class="button">Apply filters</button>' in disclosure  # works without JS


def test_the_filters_apply_on_change_through_a_small_script(staff_client):
    content = staff_client.get("/tasks/").content.decode()
    assert 'role="search" aria-label="Find voices" data-apply-on-change>' in content
    assert '<script src="/static/js/filters.js" defer></script>' in content


def test_without_filters_there_are_no_chips(staff_client):
    form = filter_form(staff_client.get("/tasks/"))
    assert "filter-chips" not in form
    assert "<summary>Filters</summary>" in form


def test_each_filter_in_force_is_a_chip_whose_link_removes_just_that_filter(staff_client, other_staff_user):
    make_task(submitted_by=other_staff_user)
    response = staff_client.get(
        "/tasks/",
        {"q": "narr", "status": "failed", "language": "Chinese,Yue", "submitter": "tom", "mine": "1"},
    )
    form = filter_form(response)
    assert '<summary>Filters <span class="filter-count">(5)</span></summary>' in form
    chips = dict(
        (unescape(label).strip(), unescape(href))
        for href, label in re.findall(
            r'<a class="chip" href="([^"]*)"><span class="visually-hidden">Remove the filter </span>([^<]*)<',
            form,
        )
    )
    assert chips == {
        "Search: narr": "/tasks/?status=failed&language=Chinese%2CYue&submitter=tom&mine=1",
        "Status: Failed": "/tasks/?q=narr&language=Chinese%2CYue&submitter=tom&mine=1",
        "Language: Cantonese": "/tasks/?q=narr&status=failed&submitter=tom&mine=1",
        "Submitted by: tom": "/tasks/?q=narr&status=failed&language=Chinese%2CYue&mine=1",
        "Only mine": "/tasks/?q=narr&status=failed&language=Chinese%2CYue&submitter=tom",
    }
    assert '<li><a href="/tasks/">Clear all filters</a></li>' in form


def test_the_last_chip_leads_back_to_the_whole_list(staff_client):
    form = filter_form(staff_client.get("/tasks/?sort=oldest"))
    assert (
        '<a class="chip" href="/tasks/"><span class="visually-hidden">Remove the filter </span>Oldest first'
        in form
    )


# --- Needs attention ------------------------------------------------------------------------------------


def test_needs_attention_lists_what_a_person_must_act_on_and_nothing_else(staff_client):
    with time_machine.travel(NOW, tick=False):
        for status in (Status.FAILED, Status.NOT_SENT, Status.UNCERTAIN, Status.REFUSED):
            make_task(name=f"Wanted: {status.label}", status=status)
        make_task(name="Wanted: checks failing, queued", checks_failing_since=NOW - timedelta(minutes=5))
        make_task(
            name="Wanted: checks failing, processing",
            status=Status.PROCESSING,
            checks_failing_since=NOW - timedelta(minutes=5),
        )
        completed_task(
            name="Wanted: lapses in 5 hours", finished_at=NOW - timedelta(days=3) + timedelta(hours=5)
        )

        make_task(name="Queued and checked fine")
        make_task(name="Sending", status=Status.SUBMITTING)
        make_task(name="Service busy, the worker retries", status=Status.RETRYING)
        completed_task(name="Finished an hour ago", finished_at=NOW - timedelta(hours=1))
        completed_task(
            name="Lapsing but kept for good",
            finished_at=NOW - timedelta(days=3) + timedelta(hours=5),
            permanent_at=NOW - timedelta(hours=1),
        )
        completed_task(name="Finished after a check failed", checks_failing_since=NOW - timedelta(hours=1))
        make_task(name="Failed and archived", status=Status.FAILED, archived_at=NOW)

        shown = names_on(staff_client.get("/tasks/?attention=1"))
    assert sorted(shown) == [
        "Wanted: Failed",
        "Wanted: Not sent",
        "Wanted: Refused by the service",
        "Wanted: Submission uncertain",
        "Wanted: checks failing, processing",
        "Wanted: checks failing, queued",
        "Wanted: lapses in 5 hours",
    ]


def test_needs_attention_combines_with_the_other_filters_and_the_export(staff_client, staff_user):
    make_task(name="Mine, failed", status=Status.FAILED, submitted_by=staff_user)
    make_task(name="Someone else's, failed", status=Status.FAILED)
    make_task(name="Mine, fine", submitted_by=staff_user)
    assert names_on(staff_client.get("/tasks/?attention=1&mine=1")) == ["Mine, failed"]
    body = b"".join(staff_client.get("/tasks/export/?attention=1&mine=1").streaming_content).decode(
        "utf-8-sig"
    )
    assert "Mine, failed" in body and "Mine, fine" not in body and "Someone else" not in body


# --- Who submitted --------------------------------------------------------------------------------------


def test_the_submitted_by_filter_offers_everyone_who_submitted_a_voice_and_shows_only_theirs(
    staff_client, staff_user, other_staff_user, administrator
):
    make_task(name="Mei's narrator", submitted_by=staff_user)
    make_task(name="Tom's narrator", submitted_by=other_staff_user)
    make_task(name="Tom's advert", submitted_by=other_staff_user)
    form = filter_form(staff_client.get("/tasks/"))
    select = form[
        form.index('<select name="submitter"') : form.index("</select>", form.index('name="submitter"'))
    ]
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "mei", "tom"]  # ada submitted nothing
    assert '<label for="filter_submitter">Submitted by</label>' in form
    assert sorted(names_on(staff_client.get("/tasks/?submitter=tom"))) == ["Tom's advert", "Tom's narrator"]


def test_a_submitter_who_never_submitted_is_ignored_like_any_stale_filter(staff_client, staff_user):
    make_task(name="Still listed", submitted_by=staff_user)
    assert names_on(staff_client.get("/tasks/?submitter=nobody")) == ["Still listed"]


def test_search_finds_the_submitters_user_name_and_still_needs_every_word(
    staff_client, staff_user, other_staff_user
):
    make_task(name="Narrator", submitted_by=other_staff_user)
    make_task(name="Advert", submitted_by=other_staff_user)
    make_task(name="Narrator", submitted_by=staff_user)
    make_task(name="Nobody's", submitted_by=None)
    assert sorted(names_on(staff_client.get("/tasks/?q=TOM"))) == ["Advert", "Narrator"]
    assert names_on(staff_client.get("/tasks/?q=tom+advert")) == ["Advert"]


# --- Rows that say what happened ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.NOT_SENT, Status.UNCERTAIN, Status.REFUSED])
def test_a_row_that_nothing_is_moving_does_not_say_it_is_running(staff_client, staff_user, status):
    with time_machine.travel(NOW, tick=False):
        task = make_task(
            status=status, submitted_by=staff_user, error="We could not reach the voice service."
        )
    with time_machine.travel(NOW + timedelta(minutes=2, seconds=41), tick=False):
        row = row_of(staff_client.get("/tasks/"), task)
    assert "Running for" not in row and "2 min 41 s" not in row
    assert "Took" not in row
    assert "<dt>Submitted</dt>" in row and "· mei" in row
    assert f'badge-{status}">{status.label}<' in row


def test_moving_and_finished_rows_still_say_how_long(staff_client):
    with time_machine.travel(NOW, tick=False):
        running = make_task(status=Status.PROCESSING)
        done = completed_task(finished_at=NOW + timedelta(seconds=75))
        failed = make_task(status=Status.FAILED, finished_at=NOW + timedelta(seconds=30))
    with time_machine.travel(NOW + timedelta(minutes=2, seconds=41), tick=False):
        response = staff_client.get("/tasks/")
    assert re.search(r"<dt>Running for</dt><dd[^>]*>2 min 41 s</dd>", row_of(response, running))
    assert re.search(r"<dt>Took</dt><dd[^>]*>1 min 15 s</dd>", row_of(response, done))
    assert re.search(r"<dt>Took</dt><dd[^>]*>30 s</dd>", row_of(response, failed))


def test_send_again_anyway_asks_for_confirmation_before_anything_is_posted(staff_client, staff_user):
    task = make_task(status=Status.UNCERTAIN, submitted_by=staff_user)
    row = row_of(staff_client.get("/tasks/"), task)
    confirm = re.search(r'<details class="confirm-resend">.*?</details>', row, re.S).group(0)
    # The first click only opens the warning; the button that posts is inside it, after the warning.
    assert '<summary class="button">Send again anyway</summary>' in confirm
    warning = confirm.index("The voice service may already have this task")
    form = confirm.index(f'<form method="post" action="/tasks/{task.pk}/resend/"')
    assert warning < form
    assert '<button type="submit" class="button primary">Yes, send it again</button>' in confirm
    assert row.count("<form") == confirm.count("<form")  # no other way to post it from the row


def test_a_not_sent_row_sends_again_in_one_step(staff_client, staff_user):
    task = make_task(status=Status.NOT_SENT, submitted_by=staff_user)
    row = row_of(staff_client.get("/tasks/"), task)
    assert "confirm-resend" not in row
    assert re.search(
        rf'<form method="post" action="/tasks/{task.pk}/resend/" class="resend">.*?'
        r'<button type="submit" class="button">Send again</button>',
        row,
        re.S,
    )


# --- Compare: keep this one -----------------------------------------------------------------------------


@pytest.fixture
def pair(staff_user):
    token = uuid.uuid4()
    first = completed_task(name="Narrator", sound_version="v1", submitted_by=staff_user, pair_token=token)
    second = completed_task(name="Narrator", sound_version="v2", submitted_by=staff_user, pair_token=token)
    return first, second


def keep_forms(content: str) -> dict[int, str]:
    return {
        int(pk): others
        for pk, others in re.findall(
            r'<form method="post" action="/tasks/compare/keep/(\d+)/" class="keep-one">.*?'
            r'name="others" value="([^"]*)"',
            content,
            re.S,
        )
    }


def test_the_compare_page_offers_keep_this_one_on_each_voice(staff_client, pair):
    first, second = pair
    content = staff_client.get(f"/tasks/compare/?ids={first.pk},{second.pk}").content.decode()
    assert keep_forms(content) == {first.pk: str(second.pk), second.pk: str(first.pk)}
    assert content.count(">Keep this one<span") == 2
    assert "Keeping one voice archives the others compared here." in content


def test_keep_this_one_archives_the_other_voice_records_it_and_offers_undo(staff_client, staff_user, pair):
    first, second = pair
    response = staff_client.post(
        f"/tasks/compare/keep/{second.pk}/", {"others": str(first.pk), "ids": f"{first.pk},{second.pk}"}
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"/tasks/compare/?ids={first.pk}%2C{second.pk}&kept={second.pk}&archived={first.pk}"
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_archived and first.archived_by == staff_user
    assert not second.is_archived
    assert list(first.changes.values_list("action", "by")) == [(TaskChange.Action.ARCHIVED, staff_user.pk)]

    content = staff_client.get(response["Location"]).content.decode()
    assert "You kept “Narrator” (v2). The other voice is archived: it no longer shows in the list." in content
    undo = re.search(
        rf'<form method="post" action="/tasks/compare/keep/{second.pk}/">.*?</form>', content, re.S
    )
    assert 'name="undo" value="1"' in undo.group(0)
    assert f'name="others" value="{first.pk}"' in undo.group(0)
    assert ">Undo</button>" in undo.group(0)
    assert keep_forms(content) == {}  # nothing else left on the list to archive
    assert names_on(staff_client.get("/tasks/")) == ["Narrator"]


def test_undo_puts_the_archived_voice_back_on_the_list(staff_client, staff_user, pair):
    first, second = pair
    staff_client.post(
        f"/tasks/compare/keep/{first.pk}/", {"others": str(second.pk), "ids": f"{first.pk},{second.pk}"}
    )
    response = staff_client.post(
        f"/tasks/compare/keep/{first.pk}/",
        {"undo": "1", "others": str(second.pk), "ids": f"{first.pk},{second.pk}"},
        follow=True,
    )
    second.refresh_from_db()
    assert not second.is_archived
    assert [action for (action,) in second.changes.order_by("at", "pk").values_list("action")] == [
        TaskChange.Action.ARCHIVED,
        TaskChange.Action.RESTORED,
    ]
    assert "Undone. Back in the list: “Narrator” (v2)." in response.content.decode()
    assert len(names_on(staff_client.get("/tasks/"))) == 2


def test_keep_this_one_is_refused_to_someone_who_may_not_change_the_other_voice(other_staff_client, pair):
    first, second = pair
    content = other_staff_client.get(f"/tasks/compare/?ids={first.pk},{second.pk}").content.decode()
    assert keep_forms(content) == {}
    response = other_staff_client.post(f"/tasks/compare/keep/{first.pk}/", {"others": str(second.pk)})
    assert response.status_code == 403
    second.refresh_from_db()
    assert not second.is_archived and not second.changes.exists()


def test_an_administrator_may_keep_one_of_anyones_voices(administrator_client, pair):
    first, second = pair
    content = administrator_client.get(f"/tasks/compare/?ids={first.pk},{second.pk}").content.decode()
    assert keep_forms(content) == {first.pk: str(second.pk), second.pk: str(first.pk)}
    administrator_client.post(f"/tasks/compare/keep/{first.pk}/", {"others": str(second.pk)})
    second.refresh_from_db()
    assert second.is_archived


def test_keep_this_one_only_posts_and_only_for_people_signed_in(staff_client, anonymous_client, pair):
    first, second = pair
    assert staff_client.get(f"/tasks/compare/keep/{first.pk}/").status_code == 405
    response = anonymous_client.post(f"/tasks/compare/keep/{first.pk}/", {"others": str(second.pk)})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    second.refresh_from_db()
    assert not second.is_archived


def test_keeping_twice_archives_once(staff_client, pair):
    first, second = pair
    for _attempt in range(2):
        response = staff_client.post(
            f"/tasks/compare/keep/{first.pk}/", {"others": str(second.pk)}, follow=True
        )
    assert second.changes.count() == 1
    assert "The other voices were already archived." in response.content.decode()
