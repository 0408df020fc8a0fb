"""Log lines: one per event, JSON on request, and never a secret in them."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from soundclone_site.logging import JsonFormatter, PlainFormatter, RedactSecretsFilter

BASE_DIR = Path(__file__).resolve().parent.parent
FAKE_KEY = "sk-FAKE-0123456789abcdef"


@pytest.fixture
def stream(settings) -> Iterator[io.StringIO]:
    """A logger writing through the redaction filter and the JSON formatter into a string."""
    settings.SOUNDCLONE_API_KEY = FAKE_KEY
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield output
    logger.removeHandler(handler)
    logger.propagate = True


def _events(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_the_extra_fields(stream):
    logging.getLogger("tests.logging").info(
        "task finished task=%s", 7, extra={"task_id": 7, "duration_ms": 812, "http_status": 200}
    )
    (event,) = _events(stream)
    assert event["level"] == "INFO"
    assert event["logger"] == "tests.logging"
    assert event["message"] == "task finished task=7"
    assert event["timestamp"].endswith("+00:00")
    assert (event["task_id"], event["duration_ms"], event["http_status"]) == (7, 812, 200)


def test_a_traceback_stays_on_its_event_line(stream):
    try:
        raise RuntimeError("first line\nsecond line")
    except RuntimeError:
        logging.getLogger("tests.logging").exception("it broke")
    (event,) = _events(stream)
    assert "RuntimeError: first line\nsecond line" in event["exception"]


@pytest.mark.parametrize(
    "log",
    [
        lambda logger: logger.warning("key %s", FAKE_KEY),
        lambda logger: logger.warning(f"key {FAKE_KEY}"),
        lambda logger: logger.warning("headers %r", {"Authorization": f"Bearer {FAKE_KEY}"}),
        lambda logger: logger.warning("call", extra={"authorization": f"Bearer {FAKE_KEY}"}),
    ],
    ids=["argument", "message", "nested-argument", "extra"],
)
def test_the_api_key_is_redacted_wherever_it_hides(stream, log):
    log(logging.getLogger("tests.logging"))
    assert FAKE_KEY not in stream.getvalue()
    assert "[redacted]" in stream.getvalue()


def test_the_api_key_is_redacted_from_a_traceback(stream):
    try:
        raise ValueError(f"refused token {FAKE_KEY}")
    except ValueError:
        logging.getLogger("tests.logging").exception("upstream call failed")
    assert FAKE_KEY not in stream.getvalue()
    assert "refused token [redacted]" in _events(stream)[0]["exception"]


def test_any_bearer_token_is_redacted_even_if_it_is_not_our_key(stream):
    logging.getLogger("tests.logging").warning("sent Authorization: Bearer someone-elses-token")
    assert "someone-elses-token" not in stream.getvalue()


def test_the_plain_format_is_one_readable_line_with_the_extras():
    record = logging.LogRecord("clones.poller", logging.INFO, __file__, 1, "poll done", None, None)
    record.task_id = 3
    line = PlainFormatter().format(record)
    assert " INFO clones.poller poll done task_id=3" in line
    assert "\n" not in line


def test_log_format_json_makes_the_app_write_json_lines(tmp_path):
    code = "import logging; logging.getLogger('clones.poller').warning('poll slow', extra={'task_id': 5})"
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], "LOG_FORMAT": "json", "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (event,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert (event["logger"], event["message"], event["task_id"]) == ("clones.poller", "poll slow", 5)
