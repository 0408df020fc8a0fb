"""Middleware of our own: a session idle timeout without a write per request, page compression, and a plain
503 page when the database cannot be reached."""

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.template import loader
from django.utils import timezone

from clones import local_time

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


class PersonalTimeZoneMiddleware:
    """Shows times in the signed-in person's own zone: stored by them (or by their browser), else TIME_ZONE.

    The stored name is read once per session and kept in it, so that the list's refresh (every few seconds
    from every open tab) costs no query. The view that changes the zone updates the session too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = self._stored_zone_name(request)
        zone = local_time.zone_named(name) if name else None
        # Whether the person's zone is known: if not, timezone.js reports the browser's once.
        request.time_zone_is_stored = zone is not None
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            # Threads serve one request after another: one person's zone must not reach the next request.
            timezone.deactivate()

    @staticmethod
    def _stored_zone_name(request: HttpRequest) -> str:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return ""
        session = request.session
        if local_time.SESSION_KEY in session:
            return session[local_time.SESSION_KEY]
        try:
            name = local_time.stored_time_zone_name(user)
        except DatabaseError:
            return ""  # the page itself will say the database is away; times fall back to TIME_ZONE
        session[local_time.SESSION_KEY] = name
        return name


class BareNoContentMiddleware:
    """A 204 No Content leaves with only the headers an answer without a body can use.

    The list's refresh answers 204 when none of a tab's unfinished rows changed: every open tab gets one every
    few seconds. The headers that describe or guard a body (the CSP, X-Frame-Options, nosniff, Vary,
    Content-Language, Expires…) made up nine tenths of it, and none has anything to act on without a body or
    a document. Listed first in MIDDLEWARE, so it sees the response after every other middleware added to it.
    Cookies (the session's renewal) are kept: Django keeps them apart from these headers.
    """

    KEPT_HEADERS = frozenset({"strict-transport-security", "retry-after", "location"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 204:
            return response
        for name in list(response.headers):
            # htmx reads its instructions (HX-Trigger, HX-Redirect…) from headers: they stay.
            if name.lower() not in self.KEPT_HEADERS and not name.lower().startswith("hx-"):
                del response.headers[name]
        # Never stored by a browser or a proxy: the next question must reach us.
        response.headers["Cache-Control"] = "no-store"
        return response
