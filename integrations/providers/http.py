"""Shared HTTP for the provider clients: one requests session, timeouts from settings,
network failures and 5xx mapped to `base.Unavailable`.

Messages never contain the URL: a Telegram URL carries the bot token in its path.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from integrations.providers.base import MediaDownload, MediaGone, MediaTooLarge, RateLimited, Unavailable

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


CHUNK = 64 * 1024


def download(
    url: str, *, platform: str, max_bytes: int, headers: dict[str, str] | None = None, what: str = "file"
) -> MediaDownload:
    """Stream a platform's file (never read whole): 403/404/410 mean the link expired or the
    file is gone, a declared size over `max_bytes` is refused before any byte is read."""
    response = call("GET", url, platform=platform, headers=headers, stream=True)
    if response.status_code in (401, 403, 404, 410):
        response.close()
        words = error_text(response) if response.headers.get("Content-Type", "").startswith("application/json") else ""
        raise MediaGone(
            f"{platform} no longer serves this {what}: its link expired or the file was deleted "
            f"(HTTP {response.status_code}{': ' + words if words else ''}).",
            code=response.status_code,
            http_status=response.status_code,
        )
    if not response.ok:
        response.close()
        raise MediaGone(
            f"{platform} refused the {what} download (HTTP {response.status_code}).", code=response.status_code
        )
    size = _declared_size(response)
    if size is not None and size > max_bytes:
        response.close()
        raise MediaTooLarge(f"The {what} is {size} bytes; at most {max_bytes} bytes are fetched.", code="too_large")
    return MediaDownload(chunks=response.iter_content(CHUNK), size=size, close=response.close)


def _declared_size(response: requests.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


class MultipartUpload:
    """A multipart/form-data body that streams its one file from an open handle.

    requests sends a body with `read` and a known length block by block (Content-Length
    set, no chunked encoding), so the file is never held whole in memory; requests' own
    `files=` would build the whole body first.
    """

    def __init__(self, fields: dict[str, str], *, field: str, file_name: str, content_type: str, handle, size: int):
        self.boundary = f"cc{secrets.token_hex(16)}"
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
            for name, value in fields.items()
        )
        safe_name = file_name.replace('"', "").replace("\r", "").replace("\n", "")
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._parts = [head, handle, f"\r\n--{self.boundary}--\r\n".encode()]
        self._length = len(head) + size + len(self._parts[2])
        self._index = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        out = b""
        while self._index < len(self._parts) and (size < 0 or len(out) < size):
            part = self._parts[self._index]
            want = -1 if size < 0 else size - len(out)
            if isinstance(part, bytes):
                chunk, rest = (part, b"") if want < 0 else (part[:want], part[want:])
                out += chunk
                if rest:
                    self._parts[self._index] = rest
                else:
                    self._index += 1
            else:
                chunk = part.read(CHUNK if want < 0 else min(want, CHUNK))
                if not chunk:
                    self._index += 1
                out += chunk
        return out
