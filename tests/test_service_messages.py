"""What the voice service says, in words staff can act on and in their language: known texts are explained,
an unknown one is shown in the service's own words, and a problem of the team's account is not blamed on the
clip."""

import re
from html import unescape

import pytest
from django.core.management import call_command
from django.utils import translation

from clones import service_messages, services, simulator
from clones.models import CloneTask
from tests import factories
from tests.html import task_row

Status = CloneTask.Status
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9"}
HAN = re.compile("[\u4e00-\u9fff]")

# Everything the simulator says when it refuses or fails a task (clones/simulator.py).
SIMULATOR_TEXTS = [
    "The audio must contain 15 to 60 seconds of speech",
    "fileUrl could not be downloaded",
    "Insufficient balance",
    "Invalid API key",
    "This API key may not use soundCloning",
    "Too many requests",
    "Internal error",
    "Task not found",
    "fileUrl must be a public http(s) URL",
    "fileUrl must not contain spaces",
    simulator.FAILURE_MESSAGE,
]
NO_BALANCE = (
    "The team's SoundClone account has no balance left. Tell your administrator; nothing is wrong with the "
    "clip."
)


@pytest.mark.parametrize("said", SIMULATOR_TEXTS)
def test_every_text_the_service_is_known_to_send_has_a_plain_sentence_in_both_languages(said):
    explanation = service_messages.explain(said)
    assert explanation.is_known
    assert said not in explanation.text and "The voice service said" not in explanation.text
    with translation.override("zh-hans"):
        chinese = service_messages.service_message(said)
    assert HAN.search(chinese) and said not in chinese


def test_a_known_text_is_recognised_whatever_its_case_spacing_or_full_stop():
    assert service_messages.service_message("  insufficient   BALANCE. ") == NO_BALANCE


def test_an_unknown_text_is_shown_in_the_services_own_words():
    said = "Monthly quota used up (plan: basic)"
    assert service_messages.service_message(said) == f"The voice service said: “{said}”"
    with translation.override("zh-hans"):
        assert service_messages.service_message(said) == f"语音服务的原话：“{said}”"
    assert not service_messages.explain(said).is_known


def test_our_own_stored_messages_are_translated_as_they_are():
    assert service_messages.service_message(services.MESSAGE_NOT_FOUND) == "No longer known to the service."
    with translation.override("zh-hans"):
        assert service_messages.service_message(services.MESSAGE_NOT_FOUND) == "服务方已查不到这个任务。"
    assert service_messages.explain(services.MESSAGE_CREDENTIALS).is_account_problem


@pytest.mark.parametrize(
    ("said", "is_account_problem"),
    [
        ("Insufficient balance", True),
        ("Invalid API key", True),
        ("This API key may not use soundCloning", True),
        ("The audio must contain 15 to 60 seconds of speech", False),
        ("fileUrl could not be downloaded", False),
        ("Something new", False),
    ],
)
def test_balance_and_key_problems_are_the_accounts_not_the_clips(said, is_account_problem):
    assert service_messages.explain(said).is_account_problem is is_account_problem


def test_an_empty_text_says_nothing():
    assert service_messages.service_message("") == ""


# --- Where service text is shown -------------------------------------------------------------------------


def row_of(client, task, **headers) -> str:
    return unescape(task_row(client.get("/tasks/", **headers).content.decode(), task))


def refused(said: str, **fields) -> CloneTask:
    return factories.make_task(status=Status.REFUSED, error=said, **fields)


def test_a_refused_row_explains_a_known_reason_in_the_readers_language(staff_client):
    task = refused("The audio must contain 15 to 60 seconds of speech")
    row = row_of(staff_client, task)
    assert "The voice service refused this clip. The clip must hold 15 to 60 seconds of speech. Trim" in row
    chinese = row_of(staff_client, task, **CHINESE)
    assert "语音服务拒绝了这段音频。音频中的说话时长必须在 15 到 60 秒之间。" in chinese
    assert "The audio must contain" not in chinese


def test_a_refused_row_shows_an_unknown_reason_in_the_services_words(staff_client):
    task = refused("Clip is music only")
    assert "The voice service refused this clip. The voice service said: “Clip is music only”" in row_of(
        staff_client, task
    )


def test_a_failed_task_says_why_in_chinese_on_its_row_and_its_page(staff_client):
    task = factories.make_task(status=Status.FAILED, error=simulator.FAILURE_MESSAGE)
    sentence = "语音服务在这段音频中没有找到足够清晰的人声。"
    assert sentence in row_of(staff_client, task, **CHINESE)
    page = staff_client.get(f"/tasks/{task.pk}/", **CHINESE).content.decode()
    assert sentence in page and simulator.FAILURE_MESSAGE not in page


def test_the_stored_text_stays_as_the_service_gave_it(staff_client, simulator, form_data):
    staff_client.post("/tasks/new/", form_data(file_url="https://e.com/a.mp3?sim=create-wrapped-error"))
    call_command("poll_clones")
    task = CloneTask.objects.get()
    assert (task.status, task.error) == (Status.REFUSED, "Insufficient balance")


def test_no_balance_is_said_plainly_on_the_row_and_not_blamed_on_the_clip(staff_client, simulator, form_data):
    staff_client.post("/tasks/new/", form_data(file_url="https://e.com/a.mp3?sim=create-wrapped-error"))
    call_command("poll_clones")
    task = CloneTask.objects.get()
    row = row_of(staff_client, task)
    assert f'<p class="task-error account-problem"><strong>{NO_BALANCE}</strong></p>' in row
    assert "refused this clip" not in row
    assert "团队的 SoundClone 账户余额不足。请告知管理员；这段音频本身没有问题。" in row_of(
        staff_client, task, **CHINESE
    )


def test_the_fix_form_says_an_account_problem_at_the_top_and_marks_no_field(staff_client, staff_user):
    task = refused("Insufficient balance", submitted_by=staff_user)
    content = unescape(staff_client.get(f"/tasks/{task.pk}/fix/").content.decode())
    top, form = content.split('<form method="post"', 1)
    assert NO_BALANCE in top and 'class="form-errors account-problem" role="alert"' in top
    assert "Its reason is beside the field" not in top
    assert 'id="id_file_url_error"' not in form and "aria-invalid" not in form


def test_the_fix_form_explains_a_clip_problem_beside_the_media_url_in_chinese(staff_client, staff_user):
    task = refused("fileUrl could not be downloaded", submitted_by=staff_user)
    content = staff_client.get(f"/tasks/{task.pk}/fix/", **CHINESE).content.decode()
    assert re.search(
        r'id="id_file_url_error".*语音服务拒绝了这段音频。语音服务无法从这个链接下载音频。', content, re.S
    )
    assert "fileUrl could not be downloaded" not in content.split('<form method="post"', 1)[1]


# --- The service's status on a voice's page --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "english", "chinese"),
    [
        ("queued", "Queued", "排队中"),
        ("processing", "Processing", "处理中"),
        ("completed", "Completed", "已完成"),
    ],
)
def test_the_voice_page_names_the_services_status_with_its_code_in_small_text(
    staff_client, raw, english, chinese
):
    task = factories.make_task(status=Status.QUEUED, upstream_id="audio_1", upstream_status=raw)
    expected = '{} <small class="muted"><code>{}</code></small>'
    assert expected.format(english, raw) in staff_client.get(f"/tasks/{task.pk}/").content.decode()
    assert expected.format(chinese, raw) in staff_client.get(f"/tasks/{task.pk}/", **CHINESE).content.decode()


def test_a_status_we_do_not_know_is_shown_as_the_service_gave_it(staff_client):
    task = factories.make_task(status=Status.PROCESSING, upstream_id="audio_1", upstream_status="training")
    content = staff_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "<dd><code>training</code></dd>" in content
