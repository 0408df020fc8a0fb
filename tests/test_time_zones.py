"""Times in each person's own zone: one style on every page with the zone named, remembered per person,
reported once by the browser, changeable, and written to the CSV as ISO 8601 with the offset."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from clones import local_time, services
from clones.models import CloneTask, StaffPreference, TaskChange
from tests.factories import completed_task, make_task

# 10:36 in London is 18:36 in Shanghai and 05:36 in New York (standard time in November).
MOMENT = datetime(2026, 11, 26, 10, 36, tzinfo=UTC)
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9,en;q=0.5"}
SHANGHAI_TIME = '<time datetime="2026-11-26T18:36:00+08:00">26 Nov 2026, 18:36 CST</time>'


def store_zone(user, name: str) -> None:
    StaffPreference.objects.update_or_create(user=user, defaults={"time_zone": name})


def task_made_at(moment: datetime = MOMENT, **fields) -> CloneTask:
    with time_machine.travel(moment, tick=False):
        return completed_task(finished_at=moment, **fields)


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token_of(client: Client) -> str:
    client.get("/tasks/time-zone/")
    return client.cookies["csrftoken"].value


# --- The style: one filter, both languages, any zone --------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "language", "expected"),
    [
        ("Asia/Shanghai", "en", "26 Nov 2026, 18:36 CST"),
        ("Asia/Shanghai", "zh-hans", "2026年11月26日 18:36 CST"),
        ("America/New_York", "en", "26 Nov 2026, 05:36 EST"),
        ("America/New_York", "zh-hans", "2026年11月26日 05:36 EST"),
        ("UTC", "en", "26 Nov 2026, 10:36 UTC"),
    ],
)
def test_a_time_reads_as_date_clock_and_zone_in_the_readers_zone_and_language(zone, language, expected):
    with timezone.override(zone), translation.override(language):
        assert local_time.local_datetime(MOMENT) == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("Asia/Dubai", "UTC+4"), ("Asia/Kathmandu", "UTC+5:45"), ("America/Sao_Paulo", "UTC-3")],
)
def test_a_zone_without_an_abbreviation_is_named_by_its_offset(zone, expected):
    with timezone.override(zone):
        assert local_time.local_datetime(MOMENT).endswith(f" {expected}")


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("Asia/Shanghai", "2026-11-26T18:36:00+08:00"), ("America/New_York", "2026-11-26T05:36:00-05:00")],
)
def test_the_machine_readable_time_is_iso_8601_with_the_readers_offset(zone, expected):
    with timezone.override(zone):
        assert local_time.iso_datetime(MOMENT) == expected


def test_an_empty_time_is_an_empty_text():
    assert local_time.local_datetime(None) == ""
    assert local_time.iso_datetime(None) == ""


# --- Every page shows a time the same way -------------------------------------------------------------------


def test_the_list_the_voice_page_and_the_compare_page_show_a_time_the_same_way(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    first, second = task_made_at(), task_made_at()
    pages = {
        "list": staff_client.get("/tasks/"),
        "voice page": staff_client.get(f"/tasks/{first.pk}/"),
        "compare page": staff_client.get(f"/tasks/compare/?ids={first.pk},{second.pk}"),
        "duplicate warning": staff_client.get("/tasks/check-url/?file_url=https://media.example.com/a.mp3"),
    }
    for page, response in pages.items():
        assert SHANGHAI_TIME in response.content.decode(), page


def test_the_voice_page_shows_every_time_and_the_history_in_the_readers_zone(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    task = task_made_at(submitted_by=staff_user, consent_confirmed_at=MOMENT)
    with time_machine.travel(MOMENT, tick=False):
        TaskChange.objects.create(task=task, by=staff_user, action=TaskChange.Action.RENAMED, detail="Old")
    content = staff_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "confirmed by mei on 26 Nov 2026, 18:36 CST" in content
    assert f"<li>{SHANGHAI_TIME} · mei · Renamed" in content
    assert "a.m." not in content and "p.m." not in content


def test_the_archived_note_names_the_zone_and_ends_with_one_full_stop(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    task = task_made_at(archived_at=MOMENT, archived_by=staff_user)
    content = staff_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "Archived on 26 Nov 2026, 18:36 CST by mei." in content
    assert not re.search(r"\w\.\.(?!\.)", re.sub(r"<[^>]*>", "", content)), "a double full stop"


def test_the_chinese_pages_write_the_date_the_chinese_way(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    task_made_at()
    content = staff_client.get("/tasks/", **CHINESE).content.decode()
    assert '<time datetime="2026-11-26T18:36:00+08:00">2026年11月26日 18:36 CST</time>' in content
    assert "时区：Asia/Shanghai（更改）" in content


# --- Whose zone: stored, else the browser's (reported once), else TIME_ZONE ---------------------------------


def test_a_stored_zone_shows_every_time_in_it_and_names_it_in_the_footer(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    task_made_at()
    content = staff_client.get("/tasks/").content.decode()
    assert SHANGHAI_TIME in content
    assert ">Time zone: Asia/Shanghai (change)</a>" in content
    assert "data-detect-url" not in content  # the browser has nothing to report


def test_without_a_stored_zone_times_are_in_the_sites_zone_and_the_browser_is_asked(staff_client, settings):
    settings.TIME_ZONE = "Europe/Paris"
    task_made_at()
    content = staff_client.get("/tasks/").content.decode()
    assert '<time datetime="2026-11-26T11:36:00+01:00">26 Nov 2026, 11:36 CET</time>' in content
    assert ">Time zone: Europe/Paris (change)</a>" in content
    assert 'data-detect-url="/tasks/time-zone/"' in content


def test_a_stored_name_that_is_no_zone_falls_back_to_the_sites_zone_without_an_error(
    staff_client, staff_user
):
    store_zone(staff_user, "Mars/Olympus_Mons")
    task_made_at()
    response = staff_client.get("/tasks/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "26 Nov 2026, 10:36 UTC" in content
    assert 'data-detect-url="/tasks/time-zone/"' in content  # so the browser's report can replace it


def test_the_zone_is_read_once_per_session_not_on_every_refresh(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    task = task_made_at(status=CloneTask.Status.PROCESSING)
    staff_client.get("/tasks/")  # the session's first request reads and keeps the zone
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(f"/tasks/refresh/?id={task.pk}")
    assert not any("clones_staffpreference" in query["sql"] for query in queries.captured_queries)
    if response.status_code == 200:
        assert "26 Nov 2026, 18:36 CST" in response.content.decode()


def test_one_persons_zone_does_not_reach_the_next_request_or_person(
    staff_client, staff_user, other_staff_client
):
    store_zone(staff_user, "Asia/Shanghai")
    task_made_at()
    staff_client.get("/tasks/")
    assert timezone.get_current_timezone_name() == "UTC"
    assert "26 Nov 2026, 10:36 UTC" in other_staff_client.get("/tasks/").content.decode()


def test_a_database_that_cannot_be_read_leaves_times_in_the_sites_zone(staff_client, staff_user, monkeypatch):
    def unavailable(user):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(local_time, "stored_time_zone_name", unavailable)
    task_made_at()
    response = staff_client.get("/tasks/")
    assert response.status_code == 200
    assert "26 Nov 2026, 10:36 UTC" in response.content.decode()


def test_signed_out_pages_have_no_time_zone_control(anonymous_client):
    content = anonymous_client.get("/accounts/login/").content.decode()
    assert "time-zone-link" not in content and "timezone.js" not in content


# --- The browser's report (timezone.js) ---------------------------------------------------------------------


def test_the_browsers_zone_is_stored_once_and_used_from_the_next_page(staff_client, staff_user):
    task_made_at()
    staff_client.get("/tasks/")
    response = staff_client.post("/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "detected": "1"})
    assert response.status_code == 200
    assert json.loads(response.content) == {"time_zone": "Asia/Shanghai", "shows_other_times": True}
    assert StaffPreference.objects.get(user=staff_user).time_zone == "Asia/Shanghai"
    content = staff_client.get("/tasks/").content.decode()
    assert SHANGHAI_TIME in content and "data-detect-url" not in content


def test_the_browsers_report_never_overrides_a_zone_the_person_chose(staff_client, staff_user):
    store_zone(staff_user, "Europe/Paris")
    response = staff_client.post("/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "detected": "1"})
    assert json.loads(response.content) == {"time_zone": "Europe/Paris", "shows_other_times": False}
    assert StaffPreference.objects.get(user=staff_user).time_zone == "Europe/Paris"


def test_a_browser_zone_that_shows_the_same_times_asks_for_no_reload(staff_client, staff_user):
    response = staff_client.post("/tasks/time-zone/", {"time_zone": "Etc/UTC", "detected": "1"})
    assert json.loads(response.content) == {"time_zone": "Etc/UTC", "shows_other_times": False}
    assert StaffPreference.objects.get(user=staff_user).time_zone == "Etc/UTC"


def test_the_browsers_report_replaces_a_stored_name_that_is_no_zone(staff_client, staff_user):
    store_zone(staff_user, "Mars/Olympus_Mons")
    staff_client.post("/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "detected": "1"})
    assert StaffPreference.objects.get(user=staff_user).time_zone == "Asia/Shanghai"


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Asia/" + "x" * 500, "utc\x00"]
)
def test_a_reported_name_that_is_no_zone_is_refused_and_nothing_is_stored(staff_client, staff_user, name):
    response = staff_client.post("/tasks/time-zone/", {"time_zone": name, "detected": "1"})
    assert response.status_code == 400
    assert not StaffPreference.objects.filter(user=staff_user).exists()


def test_the_report_needs_the_csrf_token(staff_user):
    client = csrf_client(staff_user)
    assert (
        client.post("/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "detected": "1"}).status_code == 403
    )
    assert not StaffPreference.objects.filter(user=staff_user).exists()
    token = csrf_token_of(client)
    response = client.post(
        "/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "detected": "1"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200
    assert StaffPreference.objects.get(user=staff_user).time_zone == "Asia/Shanghai"


def test_the_time_zone_page_and_its_form_need_a_signed_in_person(anonymous_client):
    for response in (
        anonymous_client.get("/tasks/time-zone/"),
        anonymous_client.post("/tasks/time-zone/", {"time_zone": "Asia/Shanghai"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert not StaffPreference.objects.exists()


# --- Changing it --------------------------------------------------------------------------------------------


def test_the_change_page_preselects_the_current_zone_among_every_zone(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    content = staff_client.get("/tasks/time-zone/?next=/tasks/%3Fq%3Dnarr").content.decode()
    assert '<option value="Asia/Shanghai" selected>Asia/Shanghai (UTC+8)</option>' in content
    select = re.search(r'<select name="time_zone".*?</select>', content, re.S).group()
    assert select.count("<option ") == len(local_time.time_zone_names())
    assert '<input type="hidden" name="next" value="/tasks/?q=narr">' in content


def test_the_footer_link_opens_the_change_page_and_comes_back_to_the_same_list(staff_client):
    content = staff_client.get("/tasks/?q=narr").content.decode()
    assert 'href="/tasks/time-zone/?next=/tasks/%3Fq%3Dnarr"' in content


def test_a_chosen_zone_is_saved_for_the_person_and_the_list_comes_back(staff_client, staff_user):
    task_made_at()
    staff_client.get("/tasks/")
    response = staff_client.post(
        "/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "next": "/tasks/?q=narr"}
    )
    assert response.status_code == 302 and response["Location"] == "/tasks/?q=narr"
    assert StaffPreference.objects.get(user=staff_user).time_zone == "Asia/Shanghai"
    content = staff_client.get("/tasks/").content.decode()
    assert "Times are now shown in Asia/Shanghai." in content
    assert SHANGHAI_TIME in content


def test_a_chosen_zone_replaces_the_one_stored_before(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    staff_client.get("/tasks/")
    staff_client.post("/tasks/time-zone/", {"time_zone": "America/New_York"})
    assert StaffPreference.objects.get(user=staff_user).time_zone == "America/New_York"
    task_made_at()
    assert "26 Nov 2026, 05:36 EST" in staff_client.get("/tasks/").content.decode()


def test_the_zone_is_the_persons_own_on_a_new_sign_in(staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    task_made_at()
    another_computer = Client()
    another_computer.force_login(staff_user)
    assert SHANGHAI_TIME in another_computer.get("/tasks/").content.decode()


def test_a_chosen_name_that_is_no_zone_shows_the_form_again_with_the_reason(staff_client, staff_user):
    response = staff_client.post("/tasks/time-zone/", {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    assert "Please choose a time zone from the list." in response.content.decode()
    assert not StaffPreference.objects.filter(user=staff_user).exists()


def test_the_change_goes_back_only_to_our_own_pages(staff_client):
    response = staff_client.post(
        "/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "next": "https://evil.example.com/"}
    )
    assert response["Location"] == "/tasks/"


def test_the_change_page_reads_in_chinese(staff_client):
    content = staff_client.get("/tasks/time-zone/", **CHINESE).content.decode()
    assert "<h1>时区</h1>" in content and ">保存时区</button>" in content


# --- The CSV ------------------------------------------------------------------------------------------------


def csv_rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_writes_times_as_iso_8601_with_the_readers_offset(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    task_made_at()
    rows = csv_rows_of(staff_client.get("/tasks/export/"))
    submitted_at, expires_at = rows[0].index("Submitted at"), rows[0].index("modelId expires at")
    assert rows[1][submitted_at] == "2026-11-26T18:36:00+08:00"
    assert rows[1][expires_at] == "2026-11-29T18:36:00+08:00"


def test_the_csv_of_a_reader_without_a_stored_zone_is_in_the_sites_zone(staff_client, settings):
    settings.TIME_ZONE = "America/New_York"
    task_made_at()
    rows = csv_rows_of(staff_client.get("/tasks/export/"))
    assert rows[1][rows[0].index("Submitted at")] == "2026-11-26T05:36:00-05:00"


def test_the_csv_of_a_task_without_an_expiry_leaves_the_cell_empty(staff_client, staff_user):
    store_zone(staff_user, "Asia/Shanghai")
    with time_machine.travel(MOMENT + timedelta(hours=1), tick=False):
        make_task()
    rows = csv_rows_of(staff_client.get("/tasks/export/"))
    assert rows[1][rows[0].index("Submitted at")] == "2026-11-26T19:36:00+08:00"
    assert rows[1][rows[0].index("modelId expires at")] == ""


# --- Written outside a request ------------------------------------------------------------------------------


def test_the_reminder_email_gives_the_lapse_time_in_the_recipients_zone_in_both_languages(
    staff_user, settings, mailoutbox
):
    settings.EMAIL_CONFIGURED = True
    store_zone(staff_user, "Asia/Shanghai")
    task_made_at(submitted_by=staff_user)
    with time_machine.travel(MOMENT + timedelta(days=2, hours=1)):
        assert services.voice_send_reminders() == 1
    body = mailoutbox[0].body
    assert "this one lapses on 29 Nov 2026, 18:36 CST." in body
    assert "此声音将于 2026年11月29日 18:36 CST 失效" in body
    assert timezone.get_current_timezone_name() == "UTC"
