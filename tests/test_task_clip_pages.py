"""A voice's page, the list, the CSV and the admin say where the clip came from and play what was sent."""

from __future__ import annotations

import csv
import html
import io
import re
import wave

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import translation

from clones import clips
from clones.models import Clip, CloneTask, duration_text
from tests import factories
from tests.clips import clip_path

pytestmark = pytest.mark.django_db

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9,en;q=0.5"}
CHINESE_CHARACTER = re.compile(r"[\u4e00-\u9fff]")
HOSTILE_NAME = "<img src=x onerror=alert(1)>.wav"


def clone_from_upload(client, form_data, clip_name: str, *, filename: str, source: str = "file", **window):
    """Upload a test clip as the form does, let the worker check it, and submit the form with it."""
    upload = SimpleUploadedFile(filename, clip_path(clip_name).read_bytes())
    response = client.post("/tasks/clips/", {"file": upload, "source": source})
    assert response.status_code == 201, response.content.decode()[:500]
    call_command("poll_clones")
    clip = Clip.objects.order_by("-pk").first()
    assert clip.is_usable, clip.problem
    data = form_data(
        name=f"Voice from {filename}", clip_source=source, file_url="", clip=str(clip.token), **window
    )
    del data["send_unchecked"]
    assert client.post("/tasks/new/", data).status_code == 302
    return CloneTask.objects.order_by("-pk").first()


def sent_for_the_service(task: CloneTask, settings) -> CloneTask:
    """What the worker does before sending: prepare the file the service gets a link to."""
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    assert clips.service_link(task).startswith("https://studio.example.com/clips/")
    task.refresh_from_db()
    assert task.clip_file
    return task


def page_of(client, task: CloneTask, **headers) -> str:
    response = client.get(f"/tasks/{task.pk}/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def player_src(page: str) -> str | None:
    match = re.search(
        r'<audio controls preload="none" src="([^"]+)" aria-labelledby="sent-clip-label">', page
    )
    return match.group(1) if match else None


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- The voice's page ---------------------------------------------------------------------------------------


def test_the_page_says_the_clip_came_from_a_file_its_length_and_speech_and_plays_what_was_sent(
    staff_client, form_data, settings
):
    task = sent_for_the_service(
        clone_from_upload(staff_client, form_data, "speech-en-20", filename="interview.wav"), settings
    )
    page = page_of(staff_client, task)
    assert "A file: interview.wav" in page
    length, speech = duration_text(task.clip_seconds), duration_text(task.clip_speech_seconds)
    assert f"{length}, about {speech} of speech" in html.unescape(page)
    assert "the part from" not in page  # the whole clip was sent
    assert "The clip that was sent" in page
    assert player_src(page) == f"/tasks/{task.pk}/clip/"
    played = body_of(staff_client.get(player_src(page)))
    with default_storage.open(task.clip_file.name, "rb") as sent:
        assert played == sent.read() == clip_path("speech-en-20").read_bytes()


def test_the_page_names_the_chosen_part_and_plays_the_cut_not_the_whole_clip(
    staff_client, form_data, settings
):
    upload = SimpleUploadedFile("long-interview.wav", clip_path("speech-en-75").read_bytes())
    staff_client.post("/tasks/clips/", {"file": upload, "source": "file"})
    call_command("poll_clones")
    clip = Clip.objects.get()
    start = clip.speech[0][0] + 12
    end = start + 40
    data = form_data(
        clip_source="file",
        file_url="",
        clip=str(clip.token),
        clip_start=f"{start:.2f}",
        clip_end=f"{end:.2f}",
    )
    del data["send_unchecked"]
    assert staff_client.post("/tasks/new/", data).status_code == 302
    task = sent_for_the_service(CloneTask.objects.get(), settings)
    page = html.unescape(page_of(staff_client, task))
    position = f"{round(start) // 60}:{round(start) % 60:02d}"
    until = f"{round(end) // 60}:{round(end) % 60:02d}"
    assert f"the part from {position} to {until} of the clip" in page
    assert f"40 s, about {duration_text(task.clip_speech_seconds)} of speech" in page
    played = body_of(staff_client.get(player_src(page)))
    with wave.open(io.BytesIO(played)) as sound:
        assert sound.getnframes() / sound.getframerate() == pytest.approx(40, abs=0.05)


def test_a_recording_is_called_a_recording_made_in_the_studio(staff_client, form_data):
    task = clone_from_upload(
        staff_client, form_data, "speech-en-20", filename="recording.wav", source="recording"
    )
    page = page_of(staff_client, task)
    assert "A recording made in the studio" in page
    assert "A file:" not in page
    assert player_src(page) == f"/tasks/{task.pk}/clip/"  # the studio keeps it, even before it is sent


def test_an_old_link_task_shows_its_link_as_before_and_no_player(staff_client):
    task = factories.completed_task(file_url="https://media.example.com/clips/li-wei.mp3")
    page = page_of(staff_client, task)
    assert "Media URL" in page
    assert "https://media.example.com/clips/li-wei.mp3" in page
    assert "<audio" not in page.split('id="inputs-heading"')[1]
    assert "The clip that was sent" not in page
    assert "of speech" not in page
    assert staff_client.get(f"/tasks/{task.pk}/clip/").status_code == 404


def test_a_link_that_was_checked_shows_the_link_and_what_the_check_measured(staff_client):
    task = factories.completed_task(
        file_url="https://media.example.com/a.mp3",
        clip_source="link",
        clip_name="https://media.example.com/a.mp3",
        clip_seconds=48.2,
        clip_speech_seconds=41.4,
    )
    page = html.unescape(page_of(staff_client, task))
    assert "https://media.example.com/a.mp3" in page
    assert "48 s, about 41 s of speech" in page
    assert "A file:" not in page


def test_nothing_from_a_clip_file_name_is_rendered_as_html(staff_client, form_data):
    task = clone_from_upload(staff_client, form_data, "speech-en-20", filename=HOSTILE_NAME)
    assert task.clip_name == HOSTILE_NAME
    escaped = html.escape(HOSTILE_NAME, quote=False)
    detail = page_of(staff_client, task)
    found = staff_client.get("/tasks/", {"q": "onerror"}).content.decode()
    compare = staff_client.get("/tasks/compare/", {"ids": str(task.pk)}).content.decode()
    for page in (detail, compare):
        assert "<img src=x" not in page
        assert escaped in page
    assert "<img src=x" not in found
    assert f"Voice from {escaped}" in found


def test_the_compare_page_says_where_each_clip_came_from(staff_client):
    uploaded = factories.completed_task(
        name="From a file", file_url="", clip_source="file", clip_name="a.m4a"
    )
    linked = factories.completed_task(name="From a link", file_url="https://media.example.com/b.mp3")
    page = staff_client.get("/tasks/compare/", {"ids": f"{uploaded.pk},{linked.pk}"}).content.decode()
    assert "A file: a.m4a" in page
    assert "https://media.example.com/b.mp3" in page


def test_the_list_search_finds_a_voice_by_its_clips_file_name(staff_client):
    factories.completed_task(
        name="Interview voice", file_url="", clip_source="file", clip_name="interview.m4a"
    )
    factories.completed_task(name="Other voice", file_url="https://media.example.com/b.mp3")
    page = staff_client.get("/tasks/", {"q": "interview.m4a"}).content.decode()
    assert "Interview voice" in page
    assert "Other voice" not in page


def test_the_voice_pages_send_a_stranger_to_sign_in(anonymous_client):
    task = factories.completed_task(file_url="", clip_source="file", clip_name="a.wav")
    for url in (f"/tasks/{task.pk}/", f"/tasks/{task.pk}/clip/"):
        response = anonymous_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# --- CSV ----------------------------------------------------------------------------------------------------


def csv_of(client, **headers) -> list[list[str]]:
    body = b"".join(client.get("/tasks/export/?sort=oldest", **headers).streaming_content)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_export_says_where_each_clip_came_from_and_its_seconds(staff_client):
    factories.completed_task(name="Old link", file_url="https://media.example.com/a.mp3")
    factories.completed_task(
        name="Upload", file_url="", clip_source="file", clip_name="interview.m4a",
        clip_seconds=48.24, clip_speech_seconds=41.06,
    )  # fmt: skip
    factories.completed_task(
        name="Recorded", file_url="", clip_source="recording", clip_name="Recording",
        clip_seconds=30, clip_speech_seconds=25.5,
    )  # fmt: skip
    rows = csv_of(staff_client)
    assert rows[0][-4:] == ["Clip source", "Clip name", "Clip seconds", "Speech seconds"]
    assert [row[-4:] for row in rows[1:]] == [
        ["A link", "https://media.example.com/a.mp3", "", ""],
        ["A file", "interview.m4a", "48.2", "41.1"],
        ["A recording", "Recording", "30.0", "25.5"],
    ]


def test_the_export_defuses_a_clip_name_a_spreadsheet_would_run(staff_client):
    factories.completed_task(file_url="", clip_source="file", clip_name="=HYPERLINK(1).wav")
    assert csv_of(staff_client)[1][-3] == "'=HYPERLINK(1).wav"


# --- Admin --------------------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(db, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20))
    return client


def test_the_admin_lists_clips_and_shows_a_voices_clip_for_reading_only(superuser_client, staff_user):
    clip = Clip.objects.create(
        source="file", state="usable", owner=staff_user, name="interview.m4a", seconds=48, speech_seconds=41
    )
    task = factories.completed_task(
        file_url="",
        clip=clip,
        clip_source="file",
        clip_name="interview.m4a",
        clip_seconds=48,
        clip_speech_seconds=41,
    )
    listing = superuser_client.get("/admin/clones/clip/").content.decode()
    assert "interview.m4a" in listing and "41.0" in listing
    page = superuser_client.get(f"/admin/clones/clip/{clip.pk}/change/").content.decode()
    assert "interview.m4a" in page and 'name="_save"' not in page
    assert superuser_client.post(f"/admin/clones/clip/{clip.pk}/change/", {"name": "x"}).status_code == 403
    assert superuser_client.get(f"/admin/clones/clip/{clip.pk}/delete/").status_code == 403
    task_page = superuser_client.get(f"/admin/clones/clonetask/{task.pk}/change/").content.decode()
    assert "Clip source" in task_page and "interview.m4a" in task_page


# --- In Chinese ---------------------------------------------------------------------------------------------


def test_a_clips_summary_and_an_unusable_clips_message_are_written_in_chinese():
    with translation.override("zh-hans"):
        summary = Clip(kind="audio", seconds=48, speech_seconds=41).summary
        too_short = Clip(problem=Clip.TOO_LITTLE_SPEECH, speech_seconds=9).message
        unreachable = Clip(problem=Clip.UNREACHABLE, problem_detail="status:403").message
        web_page = Clip(problem="web-page").message
    assert summary == "音频，48 秒，约 41 秒说话"
    assert too_short.startswith("只有 9 秒说话：")
    assert "网站返回了错误 403。" in unreachable
    for text in (too_short, unreachable, web_page):
        assert len(CHINESE_CHARACTER.findall(text)) > 15, text


def test_the_voice_page_says_where_the_clip_came_from_in_chinese(staff_client):
    task = factories.completed_task(
        file_url="", clip_source="file", clip_name="interview.m4a", clip_seconds=53, clip_speech_seconds=41,
        clip_start=12, clip_end=65,
    )  # fmt: skip
    page = page_of(staff_client, task, **CHINESE)
    assert "A file:" not in page and "of speech" not in page and "the part from" not in page
    dl = page.split('id="inputs-heading"')[1].split("</dl>")[0]
    assert "文件：interview.m4a" in dl
    assert "53 秒，约 41 秒说话" in dl
    assert "音频中从 0:12 到 1:05 的部分" in dl


def test_the_forms_check_of_a_clip_reads_in_chinese(staff_client):
    for name in ("speech-en-9", "speech-en-20"):
        upload = SimpleUploadedFile(f"{name}.wav", clip_path(name).read_bytes())
        assert staff_client.post("/tasks/clips/", {"file": upload, "source": "file"}).status_code == 201
    call_command("poll_clones")
    call_command("poll_clones")
    too_short, usable = Clip.objects.order_by("pk")
    assert too_short.is_unusable and usable.is_usable
    refused = staff_client.get(f"/tasks/clips/{too_short.token}/", **CHINESE).content.decode()
    assert "只有 9 秒说话：服务需要超过 15 秒。请录制或选择一段更长的音频。" in refused
    checked = staff_client.get(f"/tasks/clips/{usable.token}/", **CHINESE).content.decode()
    assert f"音频，{duration_text(usable.seconds).replace(' s', ' 秒')}，约" in checked
