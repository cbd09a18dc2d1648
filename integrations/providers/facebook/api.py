"""Facebook Graph API calls (Send API, page subscription); the page token rides in the query."""

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
    Unavailable,
    WebhookStatus,
)

PLATFORM = "Facebook"
TEXT_LIMIT = 1999  # "< 2000" characters
SUBSCRIBED_FIELDS = "messages,messaging_postbacks,message_deliveries,message_reads"
HUMAN_AGENT = "HUMAN_AGENT"

_RATE_LIMIT_CODES = {4, 613, 32}
_UNAUTHORIZED_CODES = {190, 102}
_UNREACHABLE_CODES = {551}
_TEMPORARY_CODES = {1, 2}


def _call(account, method: str, path: str, *, params=None, json=None, timeout=None, token=None) -> dict[str, Any]:
    params = {**(params or {}), "access_token": token or account.access_token}
    url = f"{account.api_base}/{path.lstrip('/')}"
    response = http.call(method, url, platform=PLATFORM, params=params, json=json, timeout=timeout)
    body = http.json_body(response)
    if response.ok and "error" not in body:
        return body
    raise _error(response, body)


def _error(response, body: dict[str, Any]) -> PlatformError:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = error.get("code") or response.status_code
    subcode = error.get("error_subcode")
    text = error.get("message") or response.reason or "Error"
    kwargs = {"code": f"{code}/{subcode}" if subcode else code, "http_status": response.status_code}
    if code in _RATE_LIMIT_CODES or response.status_code == 429:
        return RateLimited(text, retry_after=http.retry_after(response, 60.0), **kwargs)
    if code in _UNAUTHORIZED_CODES or response.status_code == 401:
        return Unauthorized(text, **kwargs)
    if code in _UNREACHABLE_CODES:
        return RecipientUnreachable(text, **kwargs)
    if code in _TEMPORARY_CODES:
        return Unavailable(text, **kwargs)
    return PlatformRejected(text, **kwargs)


def set_webhook(account, url: str) -> WebhookStatus:
    """Register the app's callback URL and verify token (when the App ID is known; Meta then
    calls our hub.challenge handshake), then subscribe the app to the page. Only fields
    subscribed at both levels arrive."""
    if account.application_id:
        _call(
            account,
            "POST",
            f"{account.application_id}/subscriptions",
            params={
                "object": "page",
                "callback_url": url,
                "verify_token": account.webhook_secret,
                "fields": SUBSCRIBED_FIELDS,
            },
            token=f"{account.application_id}|{account.signing_secret}",  # the app access token
        )
    _call(account, "POST", f"{account.page_id}/subscribed_apps", params={"subscribed_fields": SUBSCRIBED_FIELDS})
    if account.application_id:
        return WebhookStatus(url=url, ok=True, message="Callback URL verified and the page is subscribed")
    return WebhookStatus(
        url=url,
        ok=True,
        message="The page is subscribed; set this Callback URL and the Verify Token in the App Dashboard (Webhooks)",
    )


def webhook_info(account, *, timeout=None) -> WebhookStatus:
    body = _call(account, "GET", f"{account.page_id}/subscribed_apps", timeout=timeout)
    apps = body.get("data") or []
    fields = sorted({field for app in apps for field in app.get("subscribed_fields") or []})
    ok = "messages" in fields
    return WebhookStatus(
        url="",
        ok=ok,
        message="Subscribed: " + ", ".join(fields) if ok else "The page has no app subscribed to messages",
        details={"apps": [app.get("name") or app.get("id") for app in apps]},
    )


def test_connection(account) -> ConnectionResult:
    try:
        me = _call(account, "GET", "me", params={"fields": "id,name"})
    except PlatformError as exc:
        return ConnectionResult(ok=False, message=exc.text)
    page_id = str(me.get("id") or "")
    if page_id != account.page_id:
        return ConnectionResult(
            ok=False, identity=page_id, message=f"The token belongs to page {page_id}, not {account.page_id}."
        )
    return ConnectionResult(ok=True, identity=page_id, message=f"Connected to page {me.get('name', '')} ({page_id}).")


def send_text(
    account, *, to: str, text: str, idempotency_key: str, human_agent: bool = False, **options
) -> SentMessage:
    """Send a text. `human_agent=True` tags a human reply sent 24 h-7 days after the
    customer's last message (needs the app's Human Agent permission)."""
    payload: dict[str, Any] = {"recipient": {"id": to}, "message": {"text": text}}
    if options.get("buttons") is not None:
        payload["message"]["quick_replies"] = quick_replies(options["buttons"])
    if human_agent:
        payload.update(messaging_type="MESSAGE_TAG", tag=HUMAN_AGENT)
    else:
        payload["messaging_type"] = "RESPONSE"
    body = _call(account, "POST", "me/messages", json=payload)
    return SentMessage(platform_message_id=str(body.get("message_id") or ""))


def quick_replies(buttons) -> list[dict[str, str]]:
    """Quick replies (at most 13, titles up to 20 characters); the label comes back as text
    and as `quick_reply.payload`. Messenger lays them out in a row whatever the directive."""
    return [{"content_type": "text", "title": label[:20], "payload": label[:1000]} for label in buttons.labels[:13]]


def send_location(account, *, to: str, location, idempotency_key: str) -> SentMessage:
    # The Send API has no location message any more: the pin goes as a map link.
    return send_text(account, to=to, text=location.describe(), idempotency_key=idempotency_key)


def fetch_profile(account, external_id: str) -> Profile | None:
    try:
        body = _call(account, "GET", external_id, params={"fields": "first_name,last_name,profile_pic"})
    except PlatformRejected:  # no permission for profiles, or an unknown PSID: names stay unknown
        return None
    first, last = body.get("first_name") or "", body.get("last_name") or ""
    return Profile(
        display_name=f"{first} {last}".strip(),
        first_name=first,
        last_name=last,
        avatar_url=body.get("profile_pic") or "",
    )
