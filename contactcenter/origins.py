"""WebSocket origin check by exact origin: scheme, host and port.

Channels' `AllowedHostsOriginValidator` compares only the host name with ALLOWED_HOSTS, so
a page on another port (or plain http) of an allowed host could open an agent's socket with
the agent's cookie. Here the Origin must equal one of:

- this site as the socket was reached: `http(s)://<Host header>` (ws -> http, wss -> https),
  when that host is in ALLOWED_HOSTS;
- the origin of PUBLIC_BASE_URL (the proxy's public https address);
- an entry of CSRF_TRUSTED_ORIGINS.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """`scheme://host:port` in lower case with the port always written, or None if unusable."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


def allowed_origins(scope) -> set[str]:
    headers = dict(scope.get("headers", ()))
    origins = {normalize_origin(settings.PUBLIC_BASE_URL)}
    origins.update(normalize_origin(origin) for origin in settings.CSRF_TRUSTED_ORIGINS)
    host = headers.get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    if host and domain and validate_host(domain, settings.ALLOWED_HOSTS):
        scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        origins.add(normalize_origin(f"{scheme}://{host}"))
    origins.discard(None)
    return origins


def origin_allowed(scope) -> bool:
    origin = dict(scope.get("headers", ())).get(b"origin")
    if not origin:
        return False
    return normalize_origin(origin.decode("latin-1")) in allowed_origins(scope)


class ExactOriginValidator:
    """ASGI middleware for WebSockets: a connection whose Origin is not exactly ours is closed."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            logger.warning("websocket refused: origin %r not allowed", dict(scope.get("headers", ())).get(b"origin"))
            # Same as Channels' validator: refuse the handshake.
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
