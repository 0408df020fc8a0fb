"""Log output: one line per event (JSON or plain), with secrets redacted from every record written.

Used by LOGGING in settings.py and by gunicorn.conf.py. Nothing here reads Django's settings at import time:
gunicorn's master process loads this module before Django is set up.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"
# Too short a secret would blank out ordinary words; real keys are far longer than this.
MIN_SECRET_LENGTH = 8
# Belt and braces beside the exact secrets: any bearer token, whoever's it is.
BEARER_TOKEN = re.compile(r"(?i)(bearer\s+)[^\s'\",;]+")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is written out.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("name", logging.INFO, "path", 1, "message", None, None))
) | {"message", "asctime", "taskName"}


def _secrets() -> list[str]:
    """The values that must never be written: the voice service's key and Django's secret key."""
    try:
        from django.conf import settings

        if not settings.configured:
            return []
        values = [getattr(settings, "SOUNDCLONE_API_KEY", ""), getattr(settings, "SECRET_KEY", "")]
    except Exception:  # logging must never fail because settings are unavailable
        return []
    # Longest first, so that a secret containing another is replaced whole.
    return sorted({value for value in values if len(value or "") >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """The text with every secret and every bearer token replaced by [redacted]."""
    for secret in _secrets() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    return BEARER_TOKEN.sub(rf"\g<1>{REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    """Replaces the API key (and any bearer token) in a record's message, arguments, extras and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _secrets()
        message = record.getMessage()
        cleaned = redact(message, secrets)
        if cleaned != message:
            # The message is merged with its arguments first: a key could hide in either.
            record.msg, record.args = cleaned, None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, redact(value, secrets))
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the redacted traceback is the one written.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _STANDARD_ATTRIBUTES and not name.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, any `extra` fields, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in _extras(record).items():
            event.setdefault(name, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        # json.dumps escapes newlines, so a traceback stays on its event's line; default=str copes with
        # extras that are not JSON types (UUIDs, datetimes, enums).
        return json.dumps(event, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """`time LEVEL logger message key=value ...`: readable at a terminal, extras included."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{name}={value}" for name, value in extras.items())
        return line
