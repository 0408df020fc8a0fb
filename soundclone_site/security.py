"""Security plumbing that settings alone cannot express: the CSP's service origin and the client's address."""

from __future__ import annotations

import functools
import ipaddress
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
    """The address a request came from, for the sign-in throttle.

    X-Forwarded-For is read only when the connection comes from one of TRUSTED_PROXY_ADDRESSES: each proxy
    appends the address it received the request from, so the entries are walked from the right past our own
    proxies, and the first other address is the client's. Anything further left was written by the client.
    """
    remote_address = request.META.get("REMOTE_ADDR", "")
    proxies = _networks(tuple(settings.TRUSTED_PROXY_ADDRESSES))
    if not _is_among(remote_address, proxies):
        return remote_address
    client = remote_address
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for entry in reversed([entry.strip() for entry in forwarded if entry.strip()]):
        # Written by a proxy we trust (the one to its right), so it is what that proxy saw.
        client = entry
        if not _is_among(entry, proxies):
            break
    return client


@functools.lru_cache(maxsize=8)
def _networks(addresses: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(address, strict=False) for address in addresses)


def _is_among(address: str, networks: tuple) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped  # "::ffff:127.0.0.1" from a dual-stack socket is 127.0.0.1
    return any(parsed in network for network in networks)
