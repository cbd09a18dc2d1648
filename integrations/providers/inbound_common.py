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
import re
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


MAX_DEPTH = 32  # platform payloads nest 6-8 levels; anything far deeper is not from them
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean_text(value: str) -> str:
    """PostgreSQL text cannot hold NUL, and UTF-8 cannot hold a lone surrogate ("\\ud800" is
    valid JSON): drop the one, replace the other, rather than fail the delivery forever."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _LONE_SURROGATE.sub("\ufffd", value)
    return value


def sanitize(data: Any, *, max_depth: int = MAX_DEPTH) -> Any:
    """A copy of parsed JSON with every string (keys too) cleaned, refused past `max_depth`.

    Iterative, with an explicit stack: a deeply nested body must not reach Python's
    recursion limit outside the parse error handling.
    """

    def clean(value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return _clean_text(value)
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise MalformedPayload(f"body is nested deeper than {max_depth} levels")
            copy = {} if isinstance(value, dict) else []
            stack.append((value, copy, depth))
            return copy
        return value

    stack: list[tuple[Any, Any, int]] = []
    root = clean(data, 1)
    while stack:
        source, target, depth = stack.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[_clean_text(key)] = clean(item, depth + 1)
        else:
            target.extend(clean(item, depth + 1) for item in source)
    return root


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or MalformedPayload. Strict: no NaN/Infinity, at most
    MAX_DEPTH levels; NUL characters dropped and lone surrogates replaced."""
    try:  # the C parser raises RecursionError past Python's limit; sanitize bounds the rest
        data = json.loads(body, parse_float=_finite, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise MalformedPayload("body is not a JSON object")
    return sanitize(data)


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
