"""Uploads streamed to disk and capped: a 2 GB upload never fills memory or the disk.

Django hands every upload to these handlers chunk by chunk as it reads the request. Ours writes to a temporary
file (Django's own handler) and stops reading the moment the clip is known to be larger than CLIP_MAX_BYTES:
at once when the request says so, else when the bytes received pass the cap. The request is marked so that the
view answers "too large" in plain words.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

# Room for the form's other fields and the multipart boundaries around the file.
ENVELOPE_BYTES = 64 * 1024


def is_too_large(request) -> bool:
    """Whether the upload in this request was stopped for being larger than CLIP_MAX_BYTES."""
    return bool(getattr(request, "upload_too_large", False))


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams each file to a temporary file; stops the upload once it is larger than CLIP_MAX_BYTES."""

    def new_file(self, *args, **kwargs) -> None:
        if self.content_length and self.content_length > settings.CLIP_MAX_BYTES + ENVELOPE_BYTES:
            self._refuse()
        self.received = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.CLIP_MAX_BYTES:
            self._refuse()
        return super().receive_data_chunk(raw_data, start)

    def _refuse(self) -> None:
        if self.request is not None:
            self.request.upload_too_large = True
        # connection_reset: Django stops reading the body instead of reading the rest to throw it away; the
        # view's answer closes the connection (uploads.py's callers set "Connection: close").
        raise StopUpload(connection_reset=True)
