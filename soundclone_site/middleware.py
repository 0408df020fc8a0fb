"""Middleware of our own: a session idle timeout without a write per request, page compression, and a plain
503 page when the database cannot be reached."""

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.template import loader

logger = logging.getLogger(__name__)

# Renewing the session at most this often keeps the idle timeout accurate to a minute while sparing the
# database a write for every status refresh (each browser tab asks every few seconds).
RENEW_EVERY_SECONDS = 60
SESSION_KEY = "_renewed_at"


class SessionIdleRenewalMiddleware:
    """Pushes an active user's session expiry forward, so SESSION_COOKIE_AGE acts as an idle timeout."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty() and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get(SESSION_KEY, 0) >= RENEW_EVERY_SECONDS:
                session[SESSION_KEY] = now  # marks the session modified: saved with a fresh expiry
        return response


class CompressPagesMiddleware(GZipMiddleware):
    """Django's gzip for our pages and fragments only: audio is already compact, and compressing a byte-range
    answer would break the ranges a player seeks with."""

    COMPRESSED_TYPES = ("text/html", "text/csv", "application/json")

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not response.get("Content-Type", "").startswith(self.COMPRESSED_TYPES):
            return response
        return super().process_response(request, response)


class DatabaseUnavailableMiddleware:
    """A database that is locked or restarting answers a plain 503 page ("try again soon"), never a 500.

    The page is rendered without the context processors, which would ask the same database again. The clone
    form catches this itself, so that it comes back with everything typed (views._not_saved).
    """

    RETRY_AFTER_SECONDS = 10

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DatabaseError):
            return None
        logger.error("database unavailable during %s %s: %s", request.method, request.path, exception)
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
