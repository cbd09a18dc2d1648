"""Telegram Bot API calls: every call is `{base}/bot{token}/{method}`, answers `{"ok": ...}`."""

from __future__ import annotations

from typing import Any

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

PLATFORM = "Telegram"
TEXT_LIMIT = 4096
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def _call(account, method: str, payload: dict[str, Any] | None = None, *, timeout=None) -> Any:
    """POST one method; the `result` on success, else the mapped PlatformError."""
    url = f"{account.api_base}/bot{account.access_token}/{method}"
    response = http.call("POST", url, platform=PLATFORM, json=payload or {}, timeout=timeout)
    body = http.json_body(response)
    if response.ok and body.get("ok"):
        return body.get("result")
    raise _error(response, body)


def _error(response, body: dict[str, Any]) -> PlatformError:
    code = body.get("error_code") or response.status_code
    text = body.get("description") or response.reason or "Error"
    kwargs = {"code": code, "http_status": response.status_code}
    if code == 429:
        retry_after = (body.get("parameters") or {}).get("retry_after")
        return RateLimited(text, retry_after=float(retry_after or http.retry_after(response, 1.0)), **kwargs)
    if code in (401, 404):  # a wrong token, or a malformed one (Telegram answers Not Found)
        return Unauthorized(text, **kwargs)
    if code == 403 or "chat not found" in text.lower():
        return RecipientUnreachable(text, **kwargs)
    return PlatformRejected(text, **kwargs)


def set_webhook(account, url: str) -> WebhookStatus:
    _call(
        account,
        "setWebhook",
        {
            "url": url,
            "secret_token": account.webhook_secret,
            "allowed_updates": ALLOWED_UPDATES,
            "drop_pending_updates": False,
        },
    )
    return WebhookStatus(url=url, ok=True, message="Webhook was set")


def webhook_info(account, *, timeout=None) -> WebhookStatus:
    info = _call(account, "getWebhookInfo", timeout=timeout) or {}
    last_error = info.get("last_error_message") or ""
    return WebhookStatus(
        url=info.get("url") or "",
        ok=bool(info.get("url")) and not last_error,
        message=last_error or ("Webhook is set" if info.get("url") else "No webhook is set"),
        pending_update_count=info.get("pending_update_count"),
        last_error_message=last_error,
        details={"allowed_updates": info.get("allowed_updates") or []},
    )


def test_connection(account) -> ConnectionResult:
    try:
        me = _call(account, "getMe") or {}
    except PlatformError as exc:
        return ConnectionResult(ok=False, message=exc.text)
    username = me.get("username") or ""
    if username.lower() != account.username.lower():
        return ConnectionResult(
            ok=False, identity=username, message=f"The token belongs to @{username}, not @{account.username}."
        )
    return ConnectionResult(ok=True, identity=username, message=f"Connected to @{username}.")


def send_text(account, *, to: str, text: str, idempotency_key: str, **options) -> SentMessage:
    # Telegram has no idempotency key; the outbound state machine guards against repeats.
    payload: dict[str, Any] = {"chat_id": to, "text": text}
    if options.get("buttons") is not None:
        payload["reply_markup"] = reply_keyboard(options["buttons"])
    result = _call(account, "sendMessage", payload)
    return SentMessage(platform_message_id=str(result["message_id"]))


def reply_keyboard(buttons) -> dict[str, Any]:
    """A one-time reply keyboard: a press sends the label as the customer's own message."""
    keys = [{"text": label} for label in buttons.labels]
    rows = [[key] for key in keys] if buttons.column else [keys]
    return {"keyboard": rows, "one_time_keyboard": True, "resize_keyboard": True}


def send_location(account, *, to: str, location, idempotency_key: str) -> SentMessage:
    """sendVenue when the pin has a name and address (Telegram needs both), else sendLocation."""
    payload: dict[str, Any] = {"chat_id": to, "latitude": location.latitude, "longitude": location.longitude}
    if location.name and location.address:
        result = _call(account, "sendVenue", {**payload, "title": location.name, "address": location.address})
    else:
        result = _call(account, "sendLocation", payload)
    return SentMessage(platform_message_id=str(result["message_id"]))


def fetch_profile(account, external_id: str) -> Profile | None:
    # The sender's names arrive with every update; there is no profile call for users.
    return None
