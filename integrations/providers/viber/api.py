"""Viber REST bot API calls: header X-Viber-Auth-Token; failures are HTTP 200 with a status."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.providers import http
from integrations.providers.base import (
    ConnectionResult,
    PlatformError,
    PlatformRejected,
    Profile,
    RateLimited,
    RecipientUnreachable,
    SentMessage,
    Unauthorized,
    WebhookStatus,
)

PLATFORM = "Viber"
TEXT_LIMIT = 7000


def webhook_target(account) -> str:
    """The URL Set Webhook registers: the host and port the Viber window asks for, if given."""
    host = account.webhook_host.strip().rstrip("/")
    if not host:
        return account.webhook_url
    if "://" not in host:
        scheme = settings.PUBLIC_BASE_URL.split("://", 1)[0]
        host = f"{scheme}://{host}"
    return f"{host}{account.webhook_path}"


SENDER_NAME_LIMIT = 28
EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]

_UNAUTHORIZED = {2, 7, 8, 9, 15}  # invalidAuthToken, publicAccount blocked/not found/suspended/not authorized
_UNREACHABLE = {5, 6, 11}  # receiverNotRegistered, receiverNotSubscribed, receiverNoSuitableDevice
_TOO_MANY_REQUESTS = 12
# 100 messages per user per hour without a reply: waiting a few minutes frees a slot.
_RATE_LIMIT_WAIT = 300.0


def _call(account, method: str, payload: dict[str, Any] | None = None, *, timeout=None) -> dict[str, Any]:
    url = f"{account.api_base}/{method}"
    response = http.call(
        "POST",
        url,
        platform=PLATFORM,
        json=payload or {},
        headers={"X-Viber-Auth-Token": account.access_token},
        timeout=timeout,
    )
    body = http.json_body(response)
    if response.ok and body.get("status") == 0:
        return body
    raise _error(response, body)


def _error(response, body: dict[str, Any]) -> PlatformError:
    status = body.get("status", response.status_code)
    text = body.get("status_message") or response.reason or "Error"
    kwargs = {"code": status, "http_status": response.status_code}
    if status == _TOO_MANY_REQUESTS or response.status_code == 429:
        return RateLimited(text, retry_after=_RATE_LIMIT_WAIT, **kwargs)
    if status in _UNAUTHORIZED or response.status_code == 401:
        return Unauthorized(text, **kwargs)
    if status in _UNREACHABLE:
        return RecipientUnreachable(text, **kwargs)
    return PlatformRejected(text, **kwargs)


def set_webhook(account, url: str) -> WebhookStatus:
    """Viber calls the URL during this request; it fails unless our webhook answers 200."""
    body = _call(
        account, "set_webhook", {"url": url, "event_types": EVENT_TYPES, "send_name": True, "send_photo": True}
    )
    return WebhookStatus(url=url, ok=True, message="Webhook was set", details={"event_types": body.get("event_types")})


def webhook_info(account, *, timeout=None) -> WebhookStatus:
    info = _call(account, "get_account_info", timeout=timeout)
    url = info.get("webhook") or ""
    return WebhookStatus(url=url, ok=bool(url), message="Webhook is set" if url else "No webhook is set")


def test_connection(account) -> ConnectionResult:
    try:
        info = _call(account, "get_account_info")
    except PlatformError as exc:
        return ConnectionResult(ok=False, message=exc.text)
    names = {str(info.get("name") or "").lower(), str(info.get("uri") or "").lower()}
    identity = info.get("name") or info.get("uri") or ""
    if account.username.lower() not in names:
        return ConnectionResult(
            ok=False, identity=identity, message=f"The token belongs to {identity}, not {account.username}."
        )
    return ConnectionResult(ok=True, identity=identity, message=f"Connected to {identity}.")


def send_text(account, *, to: str, text: str, idempotency_key: str, **options) -> SentMessage:
    payload = {
        "receiver": to,
        "type": "text",
        "text": text,
        "sender": {"name": (account.username or account.name)[:SENDER_NAME_LIMIT]},
        "min_api_version": 1,
    }
    if options.get("tracking_data"):
        payload["tracking_data"] = str(options["tracking_data"])
    if options.get("buttons") is not None:
        payload["keyboard"] = keyboard(options["buttons"])
    body = _call(account, "send_message", payload)
    return SentMessage(platform_message_id=str(body.get("message_token") or ""))


def keyboard(buttons) -> dict[str, Any]:
    """A reply keyboard on Viber's 6-column grid: a row shares it, a column takes a row each."""
    columns = 6 if buttons.column else max(1, 6 // max(1, len(buttons.labels)))
    return {
        "Type": "keyboard",
        "DefaultHeight": False,
        "Buttons": [
            {"ActionType": "reply", "ActionBody": label, "Text": label, "Columns": columns, "Rows": 1}
            for label in buttons.labels
        ],
    }


def send_location(account, *, to: str, location, idempotency_key: str) -> SentMessage:
    payload = {
        "receiver": to,
        "type": "location",
        "location": {"lat": location.latitude, "lon": location.longitude},
        "sender": {"name": (account.username or account.name)[:SENDER_NAME_LIMIT]},
        "min_api_version": 1,
    }
    body = _call(account, "send_message", payload)
    return SentMessage(platform_message_id=str(body.get("message_token") or ""))


def fetch_profile(account, external_id: str) -> Profile | None:
    # Names and avatars arrive with every message; get_user_details allows 2 calls per 12 h.
    return None
