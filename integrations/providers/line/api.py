"""LINE Messaging API calls, authenticated with the channel access token as a Bearer."""

from __future__ import annotations

import uuid
from typing import Any

from integrations.providers import http
from integrations.providers.base import (
    ConnectionResult,
    PlatformError,
    PlatformRejected,
    Profile,
    SentMessage,
    Unauthorized,
    WebhookStatus,
)

PLATFORM = "LINE"
_RETRY_KEY_NAMESPACE = uuid.UUID("6f1c2b1e-4c55-4a43-9a8e-2f0d3c1e5b7a")
TEXT_LIMIT = 5000  # UTF-16 code units


def text_length(text: str) -> int:
    """LINE counts text in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _call(account, method: str, path: str, *, json=None, headers=None, timeout=None):
    url = f"{account.api_base}/{path.lstrip('/')}"
    headers = {"Authorization": f"Bearer {account.access_token}", **(headers or {})}
    return http.call(method, url, platform=PLATFORM, json=json, headers=headers, timeout=timeout)


def _checked(response) -> dict[str, Any]:
    if response.ok:
        return http.json_body(response)
    raise _error(response)


def _error(response) -> PlatformError:
    body = http.json_body(response)
    text = body.get("message") or response.reason or "Error"
    details = [d.get("message", "") for d in body.get("details") or [] if isinstance(d, dict)]
    if details:
        text = f"{text} ({'; '.join(filter(None, details))})"
    kwargs = {"code": response.status_code, "http_status": response.status_code}
    if response.status_code == 429:
        return http.rate_limited(response, platform=PLATFORM, text=text, default=60.0)
    if response.status_code == 401:
        return Unauthorized(text, **kwargs)
    return PlatformRejected(text, **kwargs)


def set_webhook(account, url: str) -> WebhookStatus:
    """Register the endpoint, then ask LINE to probe it (a signed empty event list)."""
    _checked(_call(account, "PUT", "v2/bot/channel/webhook/endpoint", json={"endpoint": url}))
    probe = _checked(_call(account, "POST", "v2/bot/channel/webhook/test", json={"endpoint": url}))
    if not probe.get("success", False):
        reason = probe.get("detail") or probe.get("reason") or "no answer"
        raise PlatformRejected(
            f"The endpoint was set, but LINE's test call failed: {probe.get('statusCode', '')} {reason}".strip(),
            code=probe.get("statusCode") or "",
        )
    return WebhookStatus(url=url, ok=True, message="Webhook was set and LINE's test call succeeded")


def webhook_info(account, *, timeout=None) -> WebhookStatus:
    body = _checked(_call(account, "GET", "v2/bot/channel/webhook/endpoint", timeout=timeout))
    active = bool(body.get("active"))
    return WebhookStatus(
        url=body.get("endpoint") or "",
        ok=active and bool(body.get("endpoint")),
        message="Webhook is active" if active else "Turn on 'Use webhook' in the LINE Developers console",
    )


def test_connection(account) -> ConnectionResult:
    try:
        info = _checked(_call(account, "GET", "v2/bot/info"))
    except PlatformError as exc:
        return ConnectionResult(ok=False, message=exc.text)
    identity = info.get("basicId") or info.get("userId") or ""
    return ConnectionResult(
        ok=True, identity=identity, message=f"Connected to {info.get('displayName', '')} ({identity})."
    )


def send_text(account, *, to: str, text: str, idempotency_key: str, **options) -> SentMessage:
    """Push one text. The retry key makes a repeat of an accepted request answer 409.
    LINE reports blocks as unfollow events, not as send errors."""
    message: dict[str, Any] = {"type": "text", "text": text}
    if options.get("buttons") is not None:
        message["quickReply"] = quick_reply(options["buttons"])
    return _push(account, to, message, idempotency_key)


def quick_reply(buttons) -> dict[str, Any]:
    """Quick reply items (at most 13, labels up to 20 characters) whose press sends the label."""
    return {
        "items": [
            {"type": "action", "action": {"type": "message", "label": label[:20], "text": label}}
            for label in buttons.labels[:13]
        ]
    }


def send_location(account, *, to: str, location, idempotency_key: str) -> SentMessage:
    message = {
        "type": "location",
        "title": (location.name or "Location")[:100],
        "address": (location.address or f"{location.latitude}, {location.longitude}")[:100],
        "latitude": location.latitude,
        "longitude": location.longitude,
    }
    return _push(account, to, message, idempotency_key)


def _push(account, to: str, message: dict[str, Any], idempotency_key: str) -> SentMessage:
    response = _call(
        account,
        "POST",
        "v2/bot/message/push",
        json={"to": to, "messages": [message]},
        headers={"X-Line-Retry-Key": _retry_key(idempotency_key)},
    )
    if response.status_code == 409:  # already accepted under this key: it was sent
        sent = http.json_body(response).get("sentMessages") or [{}]
        accepted = sent[0].get("id") or response.headers.get("x-line-accepted-request-id", "")
        return SentMessage(platform_message_id=str(accepted))
    body = _checked(response)
    sent = body.get("sentMessages") or [{}]
    return SentMessage(platform_message_id=str(sent[0].get("id") or ""))


def _retry_key(idempotency_key: str) -> str:
    """LINE wants a UUID; any other key maps to the same UUID every time."""
    try:
        return str(uuid.UUID(idempotency_key))
    except ValueError:
        return str(uuid.uuid5(_RETRY_KEY_NAMESPACE, idempotency_key))


def fetch_profile(account, external_id: str) -> Profile | None:
    response = _call(account, "GET", f"v2/bot/profile/{external_id}")
    if response.status_code == 404:  # not a friend, or blocked us
        return None
    try:
        body = _checked(response)
    except PlatformRejected:
        return None
    return Profile(
        display_name=body.get("displayName") or "",
        language=body.get("language") or "",
        avatar_url=body.get("pictureUrl") or "",
    )
