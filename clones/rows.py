"""The version of a voice's row on the list: the page sends the versions it shows, and the refresh answers
only for rows whose version moved (204 No Content when none did)."""

from __future__ import annotations

import hashlib

from clones.models import CloneTask

# The worker's bookkeeping, which changes on every status query but never on screen. Not `updated_at`
# either: the worker saves it on every query (every 5 s for a young task), so a version built on it would
# resend an identical row each time. Every other field counts, so that a field added to the row later can only
# cost an extra answer, never a stale row.
UNSHOWN_FIELDS = frozenset(
    {
        "updated_at",
        "next_poll_at",
        "last_polled_at",
        "poll_count",
        "failed_polls",
        "last_response",
        "incomplete_results",
        "send_started_at",
        "audio_copy_attempts",
        "audio_copy_next_at",
    }
)


def row_version(task: CloneTask) -> str:
    """A short digest of what the task's row shows: equal versions mean the page's row is still right.

    The running time is left out (the page counts it itself); the "taking longer than usual" badge, which
    appears with time alone, is in.
    """
    # As text, the form a value is stored in: a status set to Status.QUEUED and one read back as "queued"
    # are the same row.
    shown = [
        (field.attname, field.value_to_string(task))
        for field in task._meta.concrete_fields
        if field.attname not in UNSHOWN_FIELDS
    ]
    shown.append(("is_taking_long", str(task.is_taking_long)))
    return hashlib.blake2b(repr(shown).encode(), digest_size=6).hexdigest()
