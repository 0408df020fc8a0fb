"""gunicorn's access log without the signatures of clip links (gunicorn.conf.py's logger_class).

A studio-hosted clip is served without sign-in to whoever holds its link, `/clips/<signature>/clip.wav`, for
CLIP_LINK_LIFETIME: the signature is the key, and a log line that kept it would hand the clip to anyone who
reads the logs. The access log writes such a path as `/clips/.../clip.wav`, wherever it appears in the line
(the request line, the path, a Referer or any other header or WSGI variable a custom format may print).
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

# ASCII: a log written where the locale is not UTF-8 must not fail on it.
REDACTED = "..."
# The link's first segment at the root of a path: after the start, a space, quote or slash (a request line, a
# header), or a scheme and host (an absolute URL). /tasks/clips/<uuid>/ (signed-in, no secret) is not one.
_SIGNED_SEGMENT = re.compile(r"""(^|[\s"'(</]|://[^/\s"'<>]*)/clips/[^/\s?#"'<>]+""")


def redact_clip_links(text: str) -> str:
    """`text` with the signature of every clip link in it replaced by three dots."""
    if "/clips/" not in text:
        return text
    return _SIGNED_SEGMENT.sub(rf"\1/clips/{REDACTED}", text)


class RedactingLogger(Logger):
    """gunicorn's Logger, whose access-log atoms never hold a clip link's signature."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: redact_clip_links(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }
