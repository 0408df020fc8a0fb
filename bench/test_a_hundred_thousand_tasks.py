"""The list with 100,000 tasks: served, with the same few queries as with one. Run by `make bench` (seeding
takes about 15 s, too long for `make test`); bench/measure.py times the same pages on the real stack."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clones.models import CloneTask
from tests.test_task_list import names_on

Status = CloneTask.Status


def test_the_first_page_of_a_hundred_thousand_tasks_is_served(staff_client, staff_user):
    batch = [
        CloneTask(
            name=f"Voice {index}",
            file_url=f"https://media.example.com/{index}.mp3",
            sound_version="v1" if index % 2 else "v2",
            language="English",
            status=Status.COMPLETED if index % 3 else Status.FAILED,
            model_id=f"voice_{index:08d}" if index % 3 else "",
            submitted_by=staff_user if index % 5 == 0 else None,
            finished_at=timezone.now(),
        )
        for index in range(100_000)
    ]
    CloneTask.objects.bulk_create(batch, batch_size=5000)
    assert CloneTask.objects.count() == 100_000
    staff_client.get("/tasks/")
    with CaptureQueriesContext(connection) as context:
        response = staff_client.get("/tasks/")
    assert response.status_code == 200
    assert len(names_on(response)) == 50
    assert len(context.captured_queries) <= 4
    assert "of more than 1000 voices" in response.content.decode()
    for url in ("/tasks/?q=voice_00099", "/tasks/?mine=1&sort=oldest", "/tasks/?status=failed&page=300"):
        assert staff_client.get(url).status_code == 200
