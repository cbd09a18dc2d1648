"""Shared HTTP for the provider clients: one requests session, timeouts from settings,
network failures and 5xx mapped to `base.Unavailable`.

Messages never contain the URL: a Telegram URL carries the bot token in its path.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from integrations.providers.base import RateLimited, Unavailable

_local = threading.local()

USER_AGENT = "contactcenter/0.1 (+https://github.com/)"


def session() -> requests.Session:
    """A requests session per thread (pooled connections; Session is not thread-safe)."""
    current = getattr(_local, "session", None)
    if current is None:
        current = requests.Session()
        current.headers["User-Agent"] = USER_AGENT
        _local.session = current
    return current


def call(
    method: str,
    url: str,
    *,
    platform: str,
    timeout: float | tuple[float, float] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Make one platform call. Raises Unavailable for network errors, timeouts and 5xx;
    any other response is returned for the provider to read."""
    host = urlsplit(url).netloc
    try:
        response = session().request(method, url, timeout=timeout or settings.PLATFORM_HTTP_TIMEOUT, **kwargs)
    except requests.Timeout:
        raise Unavailable(f"{platform} did not answer in time ({host})") from None
    except requests.RequestException as exc:
        raise Unavailable(f"Could not reach {platform} at {host}: {type(exc).__name__}") from None
    if response.status_code >= 500:
        text = error_text(response) or response.reason or "Server error"
        raise Unavailable(f"{platform} answered {response.status_code}: {text}", http_status=response.status_code)
    return response


def json_body(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a response, or {} when the body is not a JSON object."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_text(response: requests.Response) -> str:
    """The platform's own words in an error body, whichever of the usual shapes it uses."""
    body = json_body(response)
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):  # Graph API
        return _one_line(error["message"])
    for key in ("description", "message", "status_message", "detail", "title"):  # Telegram, LINE, Viber, Vonage
        if body.get(key):
            return _one_line(body[key])
    # A body in no known shape is not echoed: it could be anything the host chose to say.
    return ""


def _one_line(value: Any, limit: int = 160) -> str:
    """A platform's error words as one bounded line of text."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after(response: requests.Response, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds form), else the default."""
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return default


def rate_limited(response: requests.Response, *, platform: str, text: str = "", default: float = 1.0) -> RateLimited:
    return RateLimited(
        text or error_text(response) or f"{platform}: too many requests",
        retry_after=retry_after(response, default),
        code=response.status_code,
        http_status=response.status_code,
    )
