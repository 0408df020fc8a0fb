"""Security plumbing that settings alone cannot express: the CSP's service origin and the client's address."""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def service_origin() -> str:
    """scheme://host[:port] of the configured voice service, or '' when SOUNDCLONE_BASE_URL has none."""
    parts = urlsplit(settings.SOUNDCLONE_BASE_URL)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the voice service's origin added to media-src.

    Read per request rather than in settings, because the service's address can change under a running
    process: tests start the simulator on a free port and point SOUNDCLONE_BASE_URL at it.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = service_origin()
        if origin and not report_only:
            update = dict(parts.update or {})
            update["media-src"] = [*update.get("media-src", []), origin]
            parts.update = update
        return parts


def client_ip_address(request: HttpRequest) -> str:
    """The address a request came from, for the sign-in throttle; sees through TRUSTED_PROXY_COUNT proxies."""
    remote_address = request.META.get("REMOTE_ADDR", "")
    proxy_count = settings.TRUSTED_PROXY_COUNT
    if proxy_count <= 0:
        return remote_address
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    # Each proxy appends the address it received the request from, so the entry our nearest trusted proxies
    # wrote is counted from the right; anything to its left came from the client and may be forged.
    if len(forwarded) < proxy_count:
        return remote_address
    return forwarded[-proxy_count]
