"""Helpers shared by the providers' inbound modules: constant-time checks and JSON reading.

Everything here works on the raw request bytes; nothing echoes a secret back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
from typing import Any

from integrations.providers.base import MalformedPayload, WebhookRejected


def secret_or_reject(value: str | None, what: str) -> bytes:
    """The account's secret as bytes; a missing secret rejects every request, never accepts."""
    if not value:
        raise WebhookRejected(f"the account has no {what} configured")
    return value.encode()


def same(given: str | None, expected: bytes) -> bool:
    """Constant-time comparison of a header value with the expected bytes."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(errors="surrogateescape"), expected)


def hmac_sha256(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def hmac_sha256_hex(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def hmac_sha256_base64(key: bytes, body: bytes) -> str:
    return base64.b64encode(hmac_sha256(key, body)).decode()


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("non-finite number")
    return value


def _no_constants(literal: str):
    raise ValueError(f"{literal} is not JSON")


def _without_nul(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold NUL: drop it rather than fail the delivery forever."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (strict: no NaN/Infinity; NUL characters dropped), or MalformedPayload."""
    try:
        data = json.loads(body, parse_float=_finite, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise MalformedPayload("body is not a JSON object")
    return _without_nul(data)


def obj(data: Any, key: str, *, required: bool = True) -> dict[str, Any]:
    """`data[key]` as an object; {} when absent and optional."""
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise MalformedPayload(f"'{key}' must be an object")
    return value


def items(data: Any, key: str, *, required: bool = True) -> list[Any]:
    """`data[key]` as a list; [] when absent and optional."""
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"'{key}' must be a list")
    return value


def ident(data: Any, key: str, *, required: bool = True) -> str:
    """An id field (string or integer, never bool/float/object) as a string."""
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise MalformedPayload(f"'{key}' must be a string or integer id")
    text = str(value)
    if len(text) > 255:
        raise MalformedPayload(f"'{key}' is too long")
    return text


def text(data: Any, key: str) -> str:
    """An optional string field ('' when absent)."""
    value = data.get(key) if isinstance(data, dict) else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedPayload(f"'{key}' must be a string")
    return value


def short(value: str, limit: int = 255) -> str:
    """Profile strings cut to the column size: a long name must not fail the whole delivery."""
    return value[:limit]


def event_key(*parts: Any) -> str:
    """A dedupe key built from parts, bounded to the column: long ones become a digest, not a cut,
    so two different events can never share a key."""
    key = ":".join(str(part) for part in parts)
    if len(key) <= 255:
        return key
    return "sha256:" + hashlib.sha256(key.encode(errors="surrogateescape")).hexdigest()


def ids(data: Any, key: str) -> tuple[str, ...]:
    """An optional list of ids (strings or integers), each bounded like `ident`."""
    return tuple(ident({key: value}, key) for value in items(data, key, required=False))


def number(data: Any, key: str, *, required: bool = True) -> float | None:
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedPayload(f"'{key}' must be a number")
    return value


def from_unix(seconds: Any) -> dt.datetime | None:
    """A unix time in seconds as an aware datetime; None when absent or out of range."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_millis(millis: Any) -> dt.datetime | None:
    if isinstance(millis, bool) or not isinstance(millis, (int, float)):
        return None
    return from_unix(millis / 1000)


def from_iso(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
