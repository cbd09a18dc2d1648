"""Where an account's "API base URL" override may point: the platform calls carry its token.

Allowed: an address starting with one of `settings.PLATFORM_API_BASE_ALLOWED` (the
simulator's own, where it is served), or an `https://` URL whose host resolves only to
public addresses: never loopback, private, link-local (cloud metadata), reserved or
multicast ones, so the token cannot be sent to another service of this network.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class ApiBaseRefused(ValueError):
    """The URL may not be used as an API base; the message says why and what is allowed."""


def explicitly_allowed(url: str) -> bool:
    candidate = url.rstrip("/") + "/"
    return any(
        candidate.startswith(prefix.rstrip("/") + "/") for prefix in settings.PLATFORM_API_BASE_ALLOWED if prefix
    )


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_api_base_url(url: str, *, resolve: bool = True) -> None:
    """Raise ApiBaseRefused unless `url` is explicitly allowed or a public https address.

    `resolve=False` checks what can be told without DNS (scheme, literal addresses): cheap
    enough for every platform call.
    """
    if not url or explicitly_allowed(url):
        return
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (validates the port)
    except ValueError:
        raise ApiBaseRefused("Enter a valid URL.") from None
    if parts.scheme != "https":
        raise ApiBaseRefused("The API base URL must be an https:// address.")
    if not host or parts.username or parts.password:
        raise ApiBaseRefused("The API base URL must name a host, without user or password.")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            return
        try:
            addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, parts.port or 443)})
        except (OSError, UnicodeError):
            raise ApiBaseRefused(f"The host {host} could not be resolved.") from None
    if not all(_public(address) for address in addresses):
        raise ApiBaseRefused(
            f"{host} is a loopback, private or link-local address; platform credentials are only sent to "
            "public hosts (or to the addresses in PLATFORM_API_BASE_ALLOWED)."
        )
