"""Issue 9 ("Trust") as a hostile tester tried it again after it was built: the cases the first pass did not
try. Each failed (or could not fail) before the fix that came with it."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
import time_machine
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import DataError
from django.utils import timezone

from clones import services
from clones.fetch import FetchError, FetchFailure, fetch_public
from clones.models import CloneTask, SpeechTask
from tests.factories import completed_task, make_task, worker_thread
from tests.local_http import LocalServer, answer

Status = CloneTask.Status
DEEP_JSON = "[" * 100_000 + "]" * 100_000  # json.loads gives up with RecursionError


@pytest.fixture
def crafting_client(staff_client):
    """A signed-in client that gets the 500 page a browser would, instead of the exception."""
    staff_client.raise_request_exception = False
    return staff_client


# --- Where a button sends you back ("next") -----------------------------------------------------------------

# url_has_allowed_host_and_scheme accepts each of these; redirect() then took "abc" for a view's name
# (NoReverseMatch: a 500) and "admin:index" for a route.
CRAFTED_NEXT = ["abc", "a\x00", "admin:index", "clones:task-list", "//evil.example", "http://evil.example/"]


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["archive", "restore"])
@pytest.mark.parametrize("next_url", CRAFTED_NEXT)
def test_a_crafted_next_after_archive_or_restore_goes_back_to_the_voice_page(
    crafting_client, staff_user, action, next_url
):
    task = make_task(submitted_by=staff_user, archived_at=timezone.now() if action == "restore" else None)
    response = crafting_client.post(f"/tasks/{task.pk}/{action}/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{task.pk}/"


@pytest.mark.django_db
def test_a_next_that_is_a_path_on_this_site_is_followed(staff_client, staff_user):
    task = make_task(submitted_by=staff_user)
    response = staff_client.post(f"/tasks/{task.pk}/archive/", {"next": "/tasks/?q=narrator"})
    assert response["Location"] == "/tasks/?q=narrator"


@pytest.mark.django_db
@pytest.mark.parametrize("next_url", CRAFTED_NEXT)
def test_a_crafted_next_after_choosing_a_time_zone_goes_to_the_list(crafting_client, next_url):
    response = crafting_client.post("/tasks/time-zone/", {"time_zone": "Asia/Shanghai", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"


# --- More ranges ------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["bytes=-0", "bytes=5-2", "bytes=-", f"bytes={'9' * 30}-"])
def test_a_range_no_byte_of_the_file_satisfies_answers_416(crafting_client, header):
    task = completed_task()
    task.audio_file.save("previews/review.wav", ContentFile(b"RIFF" + b"\x00" * 60))
    response = crafting_client.get(f"/tasks/{task.pk}/audio/", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */64"


# --- More ways around the URL guard -----------------------------------------------------------------------


@pytest.fixture
def canary():
    """A loopback server that would hand out audio to anyone who reaches it, and remembers who did."""
    with LocalServer(answer(200, b"RIFF" + b"\x00" * 60, content_type="audio/wav")) as server:
        yield server


def guarded_fetch(url: str) -> None:
    fetch_public(url, max_bytes=10_000, deadline=5.0, accept={"audio/wav"})


@pytest.mark.parametrize(
    "url",
    [
        "http://0x7f.1:{port}/a.wav",
        "http://0X7F.1:{port}/a.wav",
        "http://0177.1:{port}/a.wav",
        "http://127.000.000.001:{port}/a.wav",
        "http://[0:0:0:0:0:ffff:7f00:1]:{port}/a.wav",
        "http://[::ffff:0:7f00:1]:{port}/a.wav",
        "http://[0::1]:{port}/a.wav",
        "http://[::ffff:169.254.169.254]:{port}/a.wav",
        "http://[fec0::1]:{port}/a.wav",  # site-local: ipaddress calls it global
        "HTTP://127.0.0.1:{port}/a.wav",
        "HtTp://LOCALHOST:{port}/a.wav",
        "http://127.0.0.1\t:{port}/a.wav",  # urlsplit drops tabs and newlines: another parser might not
        "http://127.0.0.1:{port}/a\n.wav",
        "http://local\nhost:{port}/a.wav",
        "http://localhost.:{port}/a.wav",
        "http://localhost..:{port}/a.wav",
        "http://ｌｏｃａｌｈｏｓｔ:{port}/a.wav",  # full-width letters, which IDNA folds to "localhost"
        "http://127.0.0.1:{port}#@1.1.1.1/a.wav",
        "http://1.1.1.1%2f@127.0.0.1:{port}/a.wav",
    ],
)
def test_another_spelling_of_a_private_address_is_refused_before_any_connection(canary, url):
    with pytest.raises(FetchError) as error:
        guarded_fetch(url.format(port=canary.port))
    assert error.value.kind == FetchFailure.REFUSED
    assert canary.hits == []


@pytest.mark.parametrize("host", ["xn--lcalhost-q8a.example", "xn--80ak6aa92e.com", "cdn.example.com"])
def test_a_name_that_resolves_to_loopback_is_refused_whatever_it_looks_like(canary, monkeypatch, host):
    """An IDN homograph (punycode of "lоcalhost" with a Cyrillic о, "аррӏе") resolving to our machine."""
    real_getaddrinfo = socket.getaddrinfo

    def resolve_to_loopback(name, port, *args, **kwargs):
        if name == host:
            return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        return real_getaddrinfo(name, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve_to_loopback)
    with pytest.raises(FetchError) as error:
        guarded_fetch(f"http://{host}:{canary.port}/a.wav")
    assert error.value.kind == FetchFailure.REFUSED
    assert canary.hits == []


# --- Speech tasks ride the same worker: the same guarantees -------------------------------------------------


def work(task):
    task.refresh_from_db()
    services.task_sync(task=task)
    task.refresh_from_db()
    return task


@pytest.fixture
def voice(simulator, sim_clock, staff_user) -> CloneTask:
    """A voice the simulator cloned a moment ago (its modelId is one the simulator knows)."""
    task = services.task_submit(
        user=staff_user,
        name="Narrator",
        file_url="https://media.example.com/a.mp3",
        sound_version="v2",
        language="English",
        form_token=uuid.uuid4(),
    )
    work(task)
    sim_clock.advance(5)
    task = work(task)
    assert task.is_completed
    return task


def speak(voice: CloneTask, text: str = "Hello there.") -> SpeechTask:
    return services.speech_submit(
        user=voice.submitted_by,
        voice=voice,
        text=text,
        sound_version=voice.sound_version,
        language=voice.language,
        emotion="happy",
        speed=Decimal("1"),
        volume=Decimal("1"),
        pitch=0,
        subtitles=SpeechTask.Subtitles.NONE,
        form_token=uuid.uuid4(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("marker", ["poll-500", "poll-429", "poll-401", "poll-notjson"])
def test_a_speech_task_whose_every_check_fails_is_still_given_up_at_the_hard_limit(voice, settings, marker):
    speech = work(speak(voice, text=f"Hello [sim:{marker}]"))
    assert speech.status == Status.QUEUED
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT + 1)):
        speech = work(speech)
    assert (speech.status, speech.error) == (Status.FAILED, services.MESSAGE_TOO_LONG)
    assert speech.next_poll_at is None


@pytest.mark.django_db
def test_a_deeply_nested_answer_to_a_speech_request_leaves_it_uncertain_not_sending(voice, settings):
    speech = speak(voice)
    with responses.RequestsMock() as mocked:
        mocked.post(f"{settings.SOUNDCLONE_BASE_URL}/v1/soundCloning/audios", body=DEEP_JSON)
        speech = work(speech)
    assert speech.status == Status.UNCERTAIN
    assert speech.send_started_at is None


@pytest.mark.django_db
def test_a_deeply_nested_answer_to_a_speech_status_query_is_a_failing_check_not_a_crash(voice, settings):
    speech = work(speak(voice))
    with responses.RequestsMock() as mocked:
        mocked.get(f"{settings.SOUNDCLONE_BASE_URL}/v1/result/{speech.upstream_id}", body=DEEP_JSON)
        speech = work(speech)
    assert speech.status == Status.QUEUED
    assert speech.checks_failing_since is not None
    assert "deep JSON" in speech.check_problem_detail


@pytest.mark.django_db
def test_a_deeply_nested_answer_to_a_clone_status_query_is_a_failing_check_not_a_crash(simulator, settings):
    task = work(
        services.task_submit(
            user=None,
            name="Narrator",
            file_url="https://media.example.com/a.mp3",
            sound_version="v1",
            language="English",
            form_token=uuid.uuid4(),
        )
    )
    with responses.RequestsMock() as mocked:
        mocked.get(f"{settings.SOUNDCLONE_BASE_URL}/v1/result/{task.upstream_id}", body=DEEP_JSON)
        task = work(task)
    assert task.status == Status.QUEUED
    assert task.checks_failing_since is not None
    assert "deep JSON" in task.check_problem_detail


@pytest.mark.django_db(transaction=True)
def test_a_rename_archive_and_mark_in_use_made_while_a_slow_speech_query_is_in_flight_are_kept(
    simulator, voice, staff_user, sim_clock
):
    simulator.state.config.slow_seconds = 1.5
    speech = work(speak(voice, text="Hello [sim:poll-slow]"))
    sim_clock.advance(30)
    worker = worker_thread(speech)
    worker.start()
    time.sleep(0.5)  # the worker has loaded the speech task and waits on the service
    services.task_update_details(task=voice, user=staff_user, name="Renamed meanwhile", notes="new notes")
    services.voice_mark_in_use(voice=voice, user=staff_user)
    services.task_archive(task=voice, user=staff_user)
    worker.join(timeout=10)
    speech.refresh_from_db()
    voice.refresh_from_db()
    assert speech.status == Status.COMPLETED  # the worker's own fields were written...
    assert (voice.name, voice.notes) == ("Renamed meanwhile", "new notes")  # ...and not the staff's
    assert voice.archived_at is not None and voice.archived_by == staff_user
    assert voice.marked_in_use_by == staff_user and voice.permanent_at is not None


# --- The one rule, on undo too --------------------------------------------------------------------------


@pytest.mark.django_db
def test_undo_of_keep_this_one_is_refused_to_someone_who_may_not_change_the_other_voice(
    other_staff_client, staff_user
):
    first = completed_task(submitted_by=staff_user, sound_version="v1")
    second = completed_task(submitted_by=staff_user, sound_version="v2", archived_at=timezone.now())
    response = other_staff_client.post(
        f"/tasks/compare/keep/{first.pk}/", {"others": str(second.pk), "undo": "1"}
    )
    assert response.status_code == 403
    second.refresh_from_db()
    assert second.archived_at is not None


# --- A write the database refuses is this task's fault, not the database's ------------------------------


def refusing_sync_for(broken: CloneTask, real_sync):
    def sync(*, task):
        if task.pk == broken.pk:
            raise DataError('invalid input syntax for type json: "\\u0000"')  # what PostgreSQL says
        real_sync(task=task)

    return sync


@pytest.mark.django_db
def test_a_task_whose_write_the_database_refuses_is_put_aside_for_an_hour_and_the_others_go_on(
    simulator, monkeypatch
):
    tasks = [
        make_task(status=Status.QUEUED, upstream_id=f"audio_{n}", sent_at=timezone.now()) for n in range(2)
    ]
    broken, other = tasks
    CloneTask.objects.update(next_poll_at=timezone.now() - timedelta(seconds=1))
    monkeypatch.setattr(services, "task_sync", refusing_sync_for(broken, services.task_sync))
    call_command("poll_clones")  # one pass: it must not stop at the refused write
    broken.refresh_from_db()
    other.refresh_from_db()
    assert broken.next_poll_at > timezone.now() + timedelta(minutes=59)
    assert broken.check_problem == services.MESSAGE_INTERNAL_ERROR
    assert other.last_polled_at is not None


@pytest.mark.django_db
def test_a_task_whose_write_the_database_keeps_refusing_is_given_up_at_the_hard_limit(
    simulator, monkeypatch, settings
):
    broken = make_task(status=Status.QUEUED, upstream_id="audio_1", sent_at=timezone.now())
    CloneTask.objects.update(next_poll_at=timezone.now())
    monkeypatch.setattr(services, "task_sync", refusing_sync_for(broken, services.task_sync))
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SOUNDCLONE_TASK_HARD_LIMIT + 1)):
        call_command("poll_clones")
    broken.refresh_from_db()
    assert (broken.status, broken.error) == (Status.FAILED, services.MESSAGE_TOO_LONG)


# --- Our key, echoed by the service, is never kept nor shown ----------------------------------------------

KEY = "sk-review-echo-7f3a9c"


def everything_stored() -> str:
    from django.core import serializers

    from clones.models import TaskChange, TaskEvent

    rows = [
        *CloneTask.objects.all(),
        *SpeechTask.objects.all(),
        *TaskEvent.objects.all(),
        *TaskChange.objects.all(),
    ]
    return serializers.serialize("json", rows)


@pytest.mark.django_db
def test_our_key_echoed_in_every_answer_is_in_no_page_log_or_stored_row(
    settings, staff_client, staff_user, caplog
):
    settings.SOUNDCLONE_API_KEY = KEY
    base = settings.SOUNDCLONE_BASE_URL
    echo = f"you sent {KEY}"
    refused = services.task_submit(
        user=staff_user,
        name="Refused",
        file_url="https://media.example.com/a.mp3",
        sound_version="v1",
        language="English",
        form_token=uuid.uuid4(),
    )
    failing = services.task_submit(
        user=staff_user,
        name="Failing",
        file_url="https://media.example.com/b.mp3",
        sound_version="v1",
        language="English",
        form_token=uuid.uuid4(),
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.post(f"{base}/v1/soundCloning/clones", status=400, json={"message": echo})
        refused = work(refused)
        mocked.replace(
            responses.POST,
            f"{base}/v1/soundCloning/clones",
            json={"id": "audio_k", "status": "queued", "x": echo},
        )
        failing = work(failing)
        mocked.get(f"{base}/v1/result/audio_k", status=500, json={"message": echo, echo: [echo]})
        failing = work(failing)
        mocked.replace(
            responses.GET,
            f"{base}/v1/result/audio_k",
            json={"id": "audio_k", "status": "failed", "error": echo, "detail": {"key": KEY}},
        )
        CloneTask.objects.filter(pk=failing.pk).update(next_poll_at=timezone.now())
        failing = work(failing)
    assert refused.status == Status.REFUSED and failing.status == Status.FAILED
    pages = [
        staff_client.get(url).content.decode()
        for url in ["/tasks/", f"/tasks/{refused.pk}/", f"/tasks/{failing.pk}/", f"/tasks/{refused.pk}/fix/"]
    ]
    pages.append(staff_client.get("/tasks/export/").getvalue().decode())
    assert "[redacted]" in pages[1] + pages[2]
    for text in [*pages, everything_stored(), caplog.text]:
        assert KEY not in text


# --- NUL in every field of every form (PostgreSQL refuses it in text; the PostgreSQL pass runs this) ---

NUL = "a\x00b"
CLONE_FIELDS = [
    "name",
    "file_url",
    "content_text",
    "sound_version",
    "language",
    "notes",
    "consent",
    "form_token",
]
SPEECH_FIELDS = {
    "text": "Hello there.",
    "emotion": "happy",
    "speed": "1",
    "volume": "1",
    "pitch": "0",
    "subtitles": "none",
    "sound_version": "v1",
    "language": "English",
    "form_token": "6c1b2f7e-0a4e-4e5c-8d1e-2f3a4b5c6d7e",
}


def nothing_stored_has_a_nul() -> None:
    assert "\\u0000" not in everything_stored()


@pytest.mark.django_db
@pytest.mark.parametrize("field", CLONE_FIELDS)
def test_a_nul_in_any_field_of_the_clone_form_is_refused_plainly(crafting_client, form_data, field):
    response = crafting_client.post("/tasks/new/", form_data(**{field: NUL}))
    assert response.status_code in (200, 302, 400)
    nothing_stored_has_a_nul()


@pytest.mark.django_db
@pytest.mark.parametrize("field", CLONE_FIELDS)
def test_a_nul_in_any_field_of_fix_and_send_again_is_refused_plainly(
    crafting_client, staff_user, form_data, field
):
    task = make_task(submitted_by=staff_user, status=Status.REFUSED, error="too short")
    response = crafting_client.post(f"/tasks/{task.pk}/fix/", form_data(**{field: NUL}))
    assert response.status_code in (200, 302, 400)
    nothing_stored_has_a_nul()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["name", "notes", "next"])
def test_a_nul_in_the_name_notes_or_next_of_a_voice_is_refused_plainly(crafting_client, staff_user, field):
    task = make_task(submitted_by=staff_user)
    data = {"name": "Renamed", "notes": "", "next": "/tasks/"}
    response = crafting_client.post(f"/tasks/{task.pk}/edit/", {**data, field: NUL})
    assert response.status_code in (200, 302, 400)
    nothing_stored_has_a_nul()


@pytest.mark.django_db
@pytest.mark.parametrize("field", SPEECH_FIELDS)
def test_a_nul_in_any_field_of_the_speech_form_is_refused_plainly(crafting_client, staff_user, field):
    voice = completed_task(submitted_by=staff_user)
    response = crafting_client.post(f"/tasks/{voice.pk}/speech/new/", {**SPEECH_FIELDS, field: NUL})
    assert response.status_code in (200, 302, 400)
    nothing_stored_has_a_nul()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/tasks/time-zone/", {"time_zone": NUL}),
        ("/tasks/time-zone/", {"time_zone": NUL, "detected": "1"}),
        ("/accounts/password/", {"old_password": NUL, "new_password1": NUL, "new_password2": NUL}),
        ("/tasks/compare/keep/1/", {"others": NUL, "ids": NUL}),
        ("/tasks/check-url/?file_url=a%00b", None),
        ("/tasks/?q=a%00b&submitter=a%00b&status=a%00b", None),
        ("/tasks/speech/?q=a%00b", None),
    ],
)
def test_a_nul_in_the_other_forms_is_refused_plainly(crafting_client, staff_user, url, data):
    completed_task(submitted_by=staff_user)
    response = crafting_client.get(url) if data is None else crafting_client.post(url, data)
    assert response.status_code in (200, 302, 400, 404)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["username", "password"])
def test_a_nul_in_the_sign_in_form_is_refused_plainly(anonymous_client, staff_user, field):
    anonymous_client.raise_request_exception = False
    response = anonymous_client.post("/accounts/login/", {"username": "mei", "password": "x", field: NUL})
    assert response.status_code == 200
