"""The pages staff use, as the signed-in staff member and as a stranger sees them."""

import re

import pytest
from django.core.management import call_command

from clones.models import CloneTask
from tests.factories import completed_task, make_task
from tests.html import task_row

Status = CloneTask.Status


@pytest.mark.parametrize("url", ["/tasks/", "/tasks/new/", "/tasks/refresh/?id=1", "/tasks/1/"])
def test_every_page_sends_a_stranger_to_sign_in(anonymous_client, url):
    response = anonymous_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_the_home_page_leads_to_the_task_list(staff_client):
    assert staff_client.get("/")["Location"] == "/tasks/"


def test_the_sign_in_page_is_open_to_everyone(anonymous_client):
    response = anonymous_client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_the_demo_banner_shows_in_demo_mode_only(staff_client, settings):
    settings.DEMO_MODE = True
    assert b"Demo mode: simulated voice service" in staff_client.get("/tasks/").content
    settings.DEMO_MODE = False
    assert b"Demo mode" not in staff_client.get("/tasks/").content


def test_the_list_shows_the_newest_task_first_with_its_status(staff_client):
    older = make_task(name="Older")
    newer = make_task(name="Newer", status=Status.PROCESSING)
    content = staff_client.get("/tasks/").content.decode()
    assert content.index(f'id="task-{newer.pk}"') < content.index(f'id="task-{older.pk}"')
    assert ">Processing</span>" in task_row(content, newer)
    assert ">Queued</span>" in task_row(content, older)


def test_a_completed_row_has_a_player_the_model_id_and_a_copy_button(staff_client):
    task = completed_task()
    content = staff_client.get("/tasks/").content.decode()
    assert f'<audio controls preload="none" src="{task.audio_url}"' in content
    assert 'data-copy="voice_0123456789abcdef"' in content
    assert "Expires in 2 days 23 hours unless it is used." in content


def test_only_unfinished_rows_ask_to_be_refreshed(staff_client):
    waiting = make_task(status=Status.PROCESSING)
    done = completed_task()
    content = staff_client.get("/tasks/").content.decode()
    assert f'class="pending-id" name="id" value="{waiting.pk}:' in content  # "pk:version"
    assert f'name="id" value="{done.pk}:' not in content


def test_the_list_costs_the_same_queries_for_one_task_and_for_many(staff_client, django_assert_num_queries):
    completed_task()
    staff_client.get("/tasks/")  # the first request of a session renews it; later ones within a minute do not
    with django_assert_num_queries(5):  # session, user, count, page of tasks, the "Submitted by" choices
        staff_client.get("/tasks/")
    for _index in range(30):
        completed_task()
        make_task()
    with django_assert_num_queries(5):
        staff_client.get("/tasks/")


def test_the_refresh_returns_the_asked_rows_for_swapping_in_place(staff_client, django_assert_num_queries):
    first = make_task(status=Status.PROCESSING)
    second = completed_task()
    staff_client.get("/tasks/")
    with django_assert_num_queries(3):  # session, user, the rows
        response = staff_client.get(f"/tasks/refresh/?id={first.pk}&id={second.pk}")
    content = response.content.decode()
    assert response.status_code == 200
    assert f'id="task-{first.pk}"' in content and f'id="task-{second.pk}"' in content
    assert content.count('hx-swap-oob="true"') == 2
    assert "<html" not in content
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_refresh_costs_the_same_queries_for_many_rows(staff_client, django_assert_num_queries):
    ids = [make_task(status=Status.PROCESSING).pk for _index in range(40)]
    staff_client.get("/tasks/refresh/")
    with django_assert_num_queries(3):
        staff_client.get("/tasks/refresh/?" + "&".join(f"id={pk}" for pk in ids))


def test_the_refresh_never_calls_the_service(staff_client, simulator):
    task = make_task(status=Status.PROCESSING, upstream_id="audio_x")
    staff_client.get(f"/tasks/refresh/?id={task.pk}")
    assert simulator.state.request_log == []


def test_the_refresh_ignores_junk_ids(staff_client):
    response = staff_client.get("/tasks/refresh/?id=abc&id=-1&id=")
    assert response.status_code == 204  # no row asked about, so none changed
    assert response.content == b""


def test_the_form_starts_with_model_v1_and_a_fresh_token(staff_client):
    content = staff_client.get("/tasks/new/").content.decode()
    assert re.search(r'value="v1"[^>]*checked', content)
    assert re.search(r'name="form_token" value="[0-9a-f-]{36}"', content)
    assert "在森林的深处" in content  # the service's default sentence as the placeholder


def test_submitting_the_form_stores_the_task_lands_on_the_list_and_the_worker_sends_it(
    staff_client, simulator, form_data, staff_user
):
    response = staff_client.post("/tasks/new/", form_data(), follow=True)
    task = CloneTask.objects.get()
    assert response.redirect_chain[-1][0] == "/tasks/"
    assert task.status == Status.SUBMITTING
    assert task.submitted_by == staff_user
    assert task.consent_confirmed_at is not None
    content = response.content.decode()
    assert "is being sent to the voice service" in content
    assert "The studio is sending it to the voice service." in task_row(content, task)
    assert simulator.state.request_log == []  # the web request never waits on the service
    call_command("poll_clones")
    task.refresh_from_db()
    assert task.status == Status.QUEUED
    assert ">Queued</span>" in task_row(staff_client.get("/tasks/").content.decode(), task)


def test_refused_input_comes_back_with_every_value_kept_and_the_message_beside_the_field(
    staff_client, form_data
):
    data = form_data(file_url="ftp://media.example.com/voice.mp3", content_text="Keep me", language="German")
    response = staff_client.post("/tasks/new/", data)
    content = response.content.decode()
    assert response.status_code == 400
    assert 'value="ftp://media.example.com/voice.mp3"' in content
    assert ">\nKeep me</textarea>" in content
    assert '<option value="German" selected' in content
    assert f'value="{data["form_token"]}"' in content
    assert re.search(r'id="id_file_url_error".*must start with http:// or https://', content, re.S)
    assert CloneTask.objects.count() == 0


def test_the_services_refusal_is_shown_on_the_row_with_a_way_to_fix_it(staff_client, simulator, form_data):
    staff_client.post("/tasks/new/", form_data(file_url="https://e.com/a.mp3?sim=create-422"))
    call_command("poll_clones")
    task = CloneTask.objects.get()
    assert task.status == Status.REFUSED
    row = task_row(staff_client.get("/tasks/").content.decode(), task)
    assert "The voice service refused this clip. The voice service could not download the clip" in row
    assert f'href="/tasks/{task.pk}/fix/"' in row


def test_a_resent_form_creates_one_task(staff_client, simulator, form_data):
    data = form_data()
    staff_client.post("/tasks/new/", data)
    response = staff_client.post("/tasks/new/", data, follow=True)
    assert CloneTask.objects.count() == 1
    assert "already submitted" in response.content.decode()
    call_command("poll_clones")
    assert len(simulator.state.request_log) == 1


def test_a_non_english_link_is_encoded_and_the_user_is_told(staff_client, simulator, form_data):
    response = staff_client.post("/tasks/new/", form_data(file_url="https://e.com/声音.mp3"), follow=True)
    assert CloneTask.objects.get().file_url == "https://e.com/%E5%A3%B0%E9%9F%B3.mp3"
    assert "non-English characters" in response.content.decode()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("create-500", ">Not sent, the service is busy</span>"),
        ("create-401", "tell your administrator"),
        ("create-notjson", "did not confirm it"),
    ],
)
def test_upstream_faults_on_submit_show_a_plain_message_on_the_row_and_keep_the_task(
    staff_client, simulator, form_data, marker, message
):
    response = staff_client.post("/tasks/new/", form_data(file_url=f"https://e.com/a.mp3?sim={marker}"))
    assert response.status_code == 302
    call_command("poll_clones")
    task = CloneTask.objects.get()
    assert message in task_row(staff_client.get("/tasks/").content.decode(), task)


def test_a_task_that_was_not_sent_can_be_sent_again(staff_client, staff_user, simulator):
    task = make_task(status=Status.NOT_SENT, error="x", submitted_by=staff_user)
    assert staff_client.get(f"/tasks/{task.pk}/resend/").status_code == 405
    staff_client.post(f"/tasks/{task.pk}/resend/")
    task.refresh_from_db()
    assert task.status == Status.SUBMITTING
    call_command("poll_clones")
    task.refresh_from_db()
    assert task.status == Status.QUEUED
    assert [method for method, _path in simulator.state.request_log] == ["POST"]


def test_a_running_task_cannot_be_sent_twice(staff_client, staff_user, simulator):
    task = make_task(status=Status.PROCESSING, submitted_by=staff_user)
    response = staff_client.post(f"/tasks/{task.pk}/resend/", follow=True)
    assert "cannot be sent again" in response.content.decode()
    assert simulator.state.request_log == []


def test_the_task_page_shows_every_input(staff_client):
    task = completed_task(content_text="Hello there", upstream_id="audio_abc")
    content = staff_client.get(f"/tasks/{task.pk}/").content.decode()
    for expected in ["https://media.example.com/a.mp3", "Hello there", "audio_abc", "voice_0123456789abcdef"]:
        assert expected in content


def test_an_unknown_task_page_is_a_404(staff_client):
    assert staff_client.get("/tasks/999/").status_code == 404


def test_pages_are_sent_compressed_to_browsers_that_accept_it(staff_client):
    completed_task()
    response = staff_client.get("/tasks/", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response["Content-Encoding"] == "gzip"
