"""Reusing a clip: clone again, clone with both versions, and the warning about earlier clones."""

from __future__ import annotations

import re
import uuid

from django.core.management import call_command

from clones import services
from clones.models import CloneTask
from tests import factories

Status = CloneTask.Status


# A failed clone with every input filled in: the one staff most often clone again.
FAILED_INPUTS = {
    "name": "Narrator, Li Wei, calm",
    "file_url": "https://media.example.com/clips/li-wei.mp3",
    "content_text": "Hello, this is my cloned voice.",
    "notes": "From the March interview",
    "sound_version": "v2",
    "language": "Swedish",
    "status": Status.FAILED,
    "error": "The audio does not contain enough clear speech",
}


def make_task(**fields) -> CloneTask:
    return factories.make_task(**{**FAILED_INPUTS, **fields})


# --- Clone again -----------------------------------------------------------------------------------------


def test_clone_again_opens_the_form_filled_with_the_tasks_inputs(staff_client):
    task = make_task()
    content = staff_client.get(f"/tasks/new/?from={task.pk}").content.decode()
    assert 'name="name" value="Narrator, Li Wei, calm"' in content
    assert 'value="https://media.example.com/clips/li-wei.mp3"' in content
    assert ">\nHello, this is my cloned voice.</textarea>" in content
    assert ">\nFrom the March interview</textarea>" in content
    assert re.search(r'value="v2"[^>]*checked', content)
    assert '<option value="Swedish" selected data-versions="v2">' in content
    assert f'Filled in from <a href="/tasks/{task.pk}/">Narrator, Li Wei, calm</a> (Failed)' in content


def test_clone_again_asks_for_consent_afresh_and_gives_a_new_token(staff_client):
    task = make_task(form_token=uuid.uuid4())
    content = staff_client.get(f"/tasks/new/?from={task.pk}").content.decode()
    assert not re.search(r'name="consent"[^>]*checked', content)
    assert str(task.form_token) not in content


def test_a_failed_row_offers_to_clone_again(staff_client):
    task = make_task()
    content = staff_client.get("/tasks/").content.decode()
    assert f'href="/tasks/new/?from={task.pk}">Clone again' in content
    assert (
        f'href="/tasks/new/?from={task.pk}">Clone again'
        in staff_client.get(f"/tasks/{task.pk}/").content.decode()
    )


def test_clone_again_from_an_unknown_task_opens_an_empty_form(staff_client):
    for value in ("999", "abc", ""):
        response = staff_client.get(f"/tasks/new/?from={value}")
        assert response.status_code == 200
        assert "Filled in from" not in response.content.decode()


# --- Clone with both versions ----------------------------------------------------------------------------


def test_clone_with_both_versions_makes_a_v1_and_a_v2_task_and_shows_them_side_by_side(
    staff_client, simulator, form_data, staff_user
):
    data = form_data(language="Chinese,Yue", both_versions="1")
    response = staff_client.post("/tasks/new/", data)
    first, second = CloneTask.objects.order_by("pk")
    assert (first.sound_version, second.sound_version) == ("v1", "v2")
    assert first.language == second.language == "Chinese,Yue"
    assert first.file_url == second.file_url == data["file_url"]
    assert first.submitted_by == second.submitted_by == staff_user
    assert first.consent_confirmed_at and second.consent_confirmed_at
    assert first.pair_token == second.pair_token == uuid.UUID(data["form_token"])
    assert response["Location"] == f"/tasks/compare/?ids={first.pk}%2C{second.pk}"
    assert simulator.state.request_log == []  # stored: the worker sends both
    call_command("poll_clones")
    sent = sorted(task.payload["soundVersion"] for task in simulator.state.tasks.values())
    assert sent == ["v1", "v2"]

    content = staff_client.get(response["Location"]).content.decode()
    assert "Compare voices</h1>" in content
    assert f'id="task-{first.pk}"' in content and f'id="task-{second.pk}"' in content
    assert content.count('class="pending-id"') == 2  # the comparison follows both until they finish


def test_a_resent_both_versions_form_still_makes_one_pair(staff_client, simulator, form_data):
    data = form_data(both_versions="1")
    staff_client.post("/tasks/new/", data)
    response = staff_client.post("/tasks/new/", data, follow=True)
    assert CloneTask.objects.count() == 2
    assert "already submitted; here are the tasks it created" in response.content.decode()
    call_command("poll_clones")
    assert len(simulator.state.request_log) == 2


def test_a_resent_form_makes_only_the_half_of_the_pair_that_is_missing(staff_client, simulator, form_data):
    data = form_data(both_versions="1")
    services.task_submit(
        user=None,
        name="Narrator",
        file_url=data["file_url"],
        sound_version="v1",
        language="English",
        form_token=uuid.UUID(data["form_token"]),
    )
    staff_client.post("/tasks/new/", data)
    assert sorted(CloneTask.objects.values_list("sound_version", flat=True)) == ["v1", "v2"]


def test_both_versions_refuses_a_v2_only_language_beside_the_field(staff_client, simulator, form_data):
    response = staff_client.post(
        "/tasks/new/", form_data(sound_version="v2", language="Danish", both_versions="1")
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert re.search(r'id="id_language_error".*Danish is only available in model v2', content, re.S)
    assert CloneTask.objects.count() == 0
    assert simulator.state.request_log == []


def test_both_versions_refuses_auto_detect(staff_client, simulator, form_data):
    response = staff_client.post(
        "/tasks/new/", form_data(sound_version="v2", language="auto", both_versions="1")
    )
    assert response.status_code == 400
    assert "Auto-detect only works with model v2, so it cannot be used" in response.content.decode()
    assert CloneTask.objects.count() == 0


def test_when_the_service_refuses_the_clip_both_rows_say_why_and_offer_a_fix(
    staff_client, simulator, form_data
):
    staff_client.post(
        "/tasks/new/", form_data(file_url="https://e.com/a.mp3?sim=create-422", both_versions="1")
    )
    call_command("poll_clones")
    first, second = CloneTask.objects.order_by("pk")
    assert first.status == second.status == CloneTask.Status.REFUSED
    content = staff_client.get(f"/tasks/compare/?ids={first.pk},{second.pk}").content.decode()
    for task in (first, second):
        row = re.search(rf'<li [^>]*id="task-{task.pk}".*?</li>', content, re.S).group(0)
        assert "The voice service refused this clip. The voice service could not download the clip" in row
        assert f'href="/tasks/{task.pk}/fix/"' in row


def test_the_form_has_a_second_button_for_both_versions_explained_beside_it(staff_client):
    content = staff_client.get("/tasks/new/").content.decode()
    assert (
        '<button type="submit" class="button" name="both_versions" value="1" '
        'aria-describedby="both-versions-help">Clone with both versions</button>'
    ) in content
    assert 'id="both-versions-help"' in content


def test_a_task_of_a_pair_links_its_twin_and_the_comparison(staff_client):
    token = uuid.uuid4()
    first = make_task(sound_version="v1", language="English", pair_token=token)
    second = make_task(sound_version="v2", language="English", pair_token=token)
    content = staff_client.get(f"/tasks/{first.pk}/").content.decode()
    assert f'<a href="/tasks/{second.pk}/">Narrator, Li Wei, calm (v2)</a>' in content
    assert f'href="/tasks/compare/?ids={first.pk}%2C{second.pk}">Compare side by side' in content


def test_the_comparison_ignores_junk_and_unknown_ids(staff_client):
    task = make_task()
    response = staff_client.get(f"/tasks/compare/?ids=abc,{task.pk},{task.pk},999")
    assert response.status_code == 200
    assert response.content.decode().count(f'id="task-{task.pk}"') == 1
    assert staff_client.get("/tasks/compare/?ids=999").status_code == 404
    assert staff_client.get("/tasks/compare/").status_code == 404


# --- The duplicate warning -------------------------------------------------------------------------------


def test_the_url_check_lists_earlier_clones_of_the_same_link(staff_client, other_staff_user):
    earlier = make_task(submitted_by=other_staff_user)
    make_task(name="Another clip", file_url="https://media.example.com/other.mp3")
    response = staff_client.get(
        "/tasks/check-url/", {"file_url": " https://media.example.com/clips/li-wei.mp3 "}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert "This link was cloned before:" in content
    assert f'<a href="/tasks/{earlier.pk}/">Narrator, Li Wei, calm</a> · Failed · v2 · Swedish' in content
    assert "· tom" in content
    assert "Another clip" not in content
    assert "You can still clone it again" in content


def test_the_url_check_says_nothing_for_a_new_link(staff_client):
    make_task()
    for url in ("https://media.example.com/new.mp3", "", "x" * 5000):
        response = staff_client.get("/tasks/check-url/", {"file_url": url})
        assert response.status_code == 200
        assert response.content.strip() == b""


def test_the_url_check_matches_a_link_as_it_is_stored_after_encoding(staff_client):
    make_task(file_url="https://e.com/%E5%A3%B0%E9%9F%B3.mp3")
    content = staff_client.get("/tasks/check-url/", {"file_url": "https://e.com/声音.mp3"}).content.decode()
    assert "This link was cloned before" in content


def test_the_url_check_names_five_and_links_the_rest(staff_client):
    for index in range(7):
        make_task(name=f"Try {index}")
    content = staff_client.get(
        "/tasks/check-url/", {"file_url": "https://media.example.com/clips/li-wei.mp3"}
    ).content.decode()
    assert content.count("<li>") == 5
    assert (
        'href="/tasks/?q=https%3A%2F%2Fmedia.example.com%2Fclips%2Fli-wei.mp3">See every voice cloned'
        in content
    )


def test_the_form_asks_for_the_check_when_the_link_changes(staff_client):
    # clone-form.js asks /tasks/check-url/ as the link is typed (tests/test_browser_workflow.py watches it).
    content = staff_client.get("/tasks/new/").content.decode()
    assert re.search(
        r'id="duplicate-warning"[^>]*aria-live="polite"[^>]*data-check-url="/tasks/check-url/"', content
    )
    assert 'src="/static/js/clone-form.js"' in content


def test_a_form_sent_back_with_errors_warns_about_earlier_clones_too(staff_client, form_data):
    make_task()
    response = staff_client.post(
        "/tasks/new/", form_data(file_url="https://media.example.com/clips/li-wei.mp3", consent="")
    )
    assert response.status_code == 400
    assert "This link was cloned before" in response.content.decode()


def test_the_warning_does_not_stop_submitting_the_same_link_again(staff_client, simulator, form_data):
    make_task()
    response = staff_client.post(
        "/tasks/new/", form_data(file_url="https://media.example.com/clips/li-wei.mp3")
    )
    assert response.status_code == 302
    assert CloneTask.objects.count() == 2
