"""/healthz: 200 while the database answers and a poller ran within the last minute; 503 and why if not."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command
from django.db.utils import OperationalError
from django.utils import timezone

from clones.models import PollerHeartbeat


@pytest.fixture
def poller_beat_now(db) -> PollerHeartbeat:
    return PollerHeartbeat.objects.create(name="poller-1:42", last_seen=timezone.now())


def test_it_is_ok_when_the_database_answers_and_a_poller_beat_just_now(anonymous_client, poller_beat_now):
    response = anonymous_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_needs_no_sign_in_and_reveals_nothing_else(anonymous_client, poller_beat_now):
    response = anonymous_client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert poller_beat_now.name.encode() not in response.content
    assert "no-cache" in response["Cache-Control"]


def test_it_fails_when_no_poller_has_ever_run(anonymous_client, db):
    response = anonymous_client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "reason": "poller has not run in the last minute"}


def test_it_fails_when_the_last_beat_is_more_than_a_minute_old(anonymous_client, poller_beat_now):
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = anonymous_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reason"] == "poller has not run in the last minute"


def test_it_is_still_ok_a_little_under_a_minute_after_the_beat(anonymous_client, poller_beat_now):
    with time_machine.travel(timezone.now() + timedelta(seconds=55)):
        assert anonymous_client.get("/healthz").status_code == 200


def test_the_newest_of_several_pollers_counts(anonymous_client, db):
    PollerHeartbeat.objects.create(name="dead", last_seen=timezone.now() - timedelta(hours=3))
    PollerHeartbeat.objects.create(name="alive", last_seen=timezone.now() - timedelta(seconds=5))
    assert anonymous_client.get("/healthz").status_code == 200


def test_a_pass_of_the_poller_makes_it_healthy(anonymous_client, db):
    assert anonymous_client.get("/healthz").status_code == 503
    call_command("poll_clones")
    assert anonymous_client.get("/healthz").status_code == 200


def test_it_fails_without_details_when_the_database_does_not_answer(
    anonymous_client, poller_beat_now, caplog
):
    secret_detail = "could not connect to server db.internal:5432"
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError(secret_detail)
    ):
        response = anonymous_client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "reason": "database unavailable"}
    assert secret_detail.encode() not in response.content
    # The operator still finds the cause in the log.
    assert secret_detail in caplog.text


def test_it_answers_get_only(anonymous_client, poller_beat_now):
    assert anonymous_client.post("/healthz").status_code == 405
