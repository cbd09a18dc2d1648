"""Vonage (Nexmo) calls: Messages API for sending, account and application APIs for the admin.

Errors are RFC 7807 JSON (type, title, detail). Sending authenticates with an application
JWT when a private key is configured (as Vonage's SDK does), else with Basic key:secret.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from django.conf import settings

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

PLATFORM = "Vonage"
TEXT_LIMIT = 1000  # SMS via the Messages API
JWT_LIFETIME = 15 * 60


def status_url(inbound_url: str) -> str:
    """Where Vonage posts delivery statuses for the account whose inbound URL this is."""
    return f"{inbound_url.rstrip('/')}/status/"


def extra_webhook_urls(inbound_url: str) -> dict[str, str]:
    """A Vonage application has a second webhook: the status URL."""
    return {"status": status_url(inbound_url)}


def setup_hint(inbound_url: str) -> str:
    """Both webhook URLs and where the Vonage dashboard shows them (after Set Webhook)."""
    return (
        f"{inbound_url} (Inbound URL) and {status_url(inbound_url)} (Status URL); the Vonage "
        "dashboard shows them under Applications > Edit > Messages (HTTP POST)."
    )


def _rest_base(account) -> str:
    # The account API lives on rest.nexmo.com; an override (e.g. the simulator) serves both.
    return account.api_base_url.rstrip("/") if account.api_base_url else settings.VONAGE_REST_BASE.rstrip("/")


def _basic(account) -> tuple[str, str]:
    return (account.api_key, account.api_secret)


def _bearer(account) -> str:
    now = int(time.time())
    claims = {"application_id": account.application_id, "iat": now, "exp": now + JWT_LIFETIME, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, account.private_key, algorithm="RS256")


def _checked(response) -> dict[str, Any]:
    if response.ok:
        return http.json_body(response)
    raise _error(response)


def _error(response) -> PlatformError:
    body = http.json_body(response)
    title, detail = body.get("title") or "", body.get("detail") or ""
    invalid = [p.get("reason", "") for p in body.get("invalid_parameters") or [] if isinstance(p, dict)]
    text = ": ".join(filter(None, [title, detail])) or response.reason or "Error"
    if invalid:
        text = f"{text} ({'; '.join(filter(None, invalid))})"
    kwargs = {"code": body.get("type") or response.status_code, "http_status": response.status_code}
    if response.status_code == 429:
        return http.rate_limited(response, platform=PLATFORM, text=text, default=1.0)
    if response.status_code in (401, 403):
        return Unauthorized(text, **kwargs)
    return PlatformRejected(text, **kwargs)


def _application_url(account) -> str:
    return f"{account.api_base}/v2/applications/{account.application_id}"


def _get_application(account, *, timeout=None) -> dict[str, Any]:
    response = http.call("GET", _application_url(account), platform=PLATFORM, auth=_basic(account), timeout=timeout)
    return _checked(response)


def set_webhook(account, url: str) -> WebhookStatus:
    """Point the application's Messages webhooks at us. PUT replaces the application, so
    the current one is read first and only its messages webhooks are changed."""
    application = _get_application(account)
    application.pop("_links", None)
    messages = application.setdefault("capabilities", {}).setdefault("messages", {})
    messages["version"] = "v1"
    messages["webhooks"] = {
        **(messages.get("webhooks") or {}),
        "inbound_url": {"address": url, "http_method": "POST"},
        "status_url": {"address": status_url(url), "http_method": "POST"},
    }
    response = http.call("PUT", _application_url(account), platform=PLATFORM, auth=_basic(account), json=application)
    _checked(response)
    return WebhookStatus(url=url, ok=True, message=f"Inbound URL {url}, status URL {status_url(url)}")


def webhook_info(account, *, timeout=None) -> WebhookStatus:
    application = _get_application(account, timeout=timeout)
    webhooks = ((application.get("capabilities") or {}).get("messages") or {}).get("webhooks") or {}
    inbound = (webhooks.get("inbound_url") or {}).get("address") or ""
    status = (webhooks.get("status_url") or {}).get("address") or ""
    return WebhookStatus(
        url=inbound,
        ok=bool(inbound and status),
        message=f"Inbound URL {inbound or 'not set'}, status URL {status or 'not set'}",
    )


def test_connection(account) -> ConnectionResult:
    """The key and secret (account balance), then the application ID."""
    try:
        balance = _checked(
            http.call("GET", f"{_rest_base(account)}/account/get-balance", platform=PLATFORM, auth=_basic(account))
        )
        application = _get_application(account)
    except PlatformError as exc:
        return ConnectionResult(ok=False, message=exc.text)
    if str(application.get("id", "")) != account.application_id:
        return ConnectionResult(ok=False, message=f"Application {account.application_id} was not found.")
    name = application.get("name") or account.application_id
    return ConnectionResult(
        ok=True, identity=name, message=f"Connected: application {name}, balance {balance.get('value', '?')}."
    )


def send_text(account, *, to: str, text: str, idempotency_key: str, **options) -> SentMessage:
    if options.get("buttons") is not None:  # SMS has no buttons: a plain list to answer with
        text = f"{text}\n" + "\n".join(f"- {label}" for label in options["buttons"].labels)
    payload = {"message_type": "text", "text": text, "to": to, "from": account.sender_id, "channel": "sms"}
    if account.application_id and account.private_key:
        auth_kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {_bearer(account)}"}}
    else:
        auth_kwargs = {"auth": _basic(account)}
    url = f"{account.api_base}/v1/messages"
    body = _checked(http.call("POST", url, platform=PLATFORM, json=payload, **auth_kwargs))
    return SentMessage(platform_message_id=str(body.get("message_uuid") or ""))


def send_location(account, *, to: str, location, idempotency_key: str) -> SentMessage:
    return send_text(account, to=to, text=location.describe(), idempotency_key=idempotency_key)


def fetch_profile(account, external_id: str) -> Profile | None:
    return None  # SMS carries no names
