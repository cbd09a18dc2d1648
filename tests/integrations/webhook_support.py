"""Helpers of the webhook tests: accounts with known secrets, platform signing, posting.

The signing here is written from messenger-apis.md independently of the provider code
and of the simulator, so a shared mistake cannot make both sides agree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
from django.test import TestCase

from conversations.models import Customer, Interaction, Message
from integrations.models import InboxEvent, IntegrationAccount
from tests import factories

FIXTURES = Path(__file__).parent / "fixtures"
FACEBOOK_PAGE_ID = "1000000000001"
SECRETS = {
    "telegram": {"access_token": "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "webhook_secret": "tg-secret_7-abc"},
    "facebook": {
        "access_token": "EAAGm0PX4ZCpsBAFakePageToken",
        "signing_secret": "test_app_secret_key",
        "webhook_secret": "verify-token-123456",
        "page_id": FACEBOOK_PAGE_ID,
    },
    "line": {"access_token": "line-channel-access-token", "signing_secret": "channel_secret"},
    "viber": {"access_token": "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"},
    "nexmo": {
        "api_key": "abcd1234",
        "api_secret": "vonage-api-secret",
        "signing_secret": "qwertyuiopasdfghjklzxcvbnm123456",
        "application_id": "aaaaaaaa-0000-1111-2222-333333333333",
        "sender_id": "447700900000",
    },
}
MESSENGERS = tuple(SECRETS)


def webhook_account(messenger: str, **overrides) -> IntegrationAccount:
    """An account with the webhook secrets these tests sign with."""
    return factories.account(messenger, **{"name": f"Hooks {messenger}", **SECRETS[messenger], **overrides})


def fixture_body(messenger: str, name: str) -> bytes:
    return (FIXTURES / messenger / f"{name}.json").read_bytes()


def fixture_names(messenger: str) -> list[str]:
    return sorted(path.stem for path in (FIXTURES / messenger).glob("*.json"))


def signature_headers(account: IntegrationAccount, body: bytes, *, issued_at: float | None = None) -> dict[str, str]:
    """The headers the platform would send with `body` for `account` (test-client form)."""
    messenger = account.messenger
    if messenger == "telegram":
        return {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": account.webhook_secret}
    if messenger == "facebook":
        digest = hmac.new(account.signing_secret.encode(), body, hashlib.sha256).hexdigest()
        return {"HTTP_X_HUB_SIGNATURE_256": f"sha256={digest}"}
    if messenger == "line":
        digest = hmac.new(account.signing_secret.encode(), body, hashlib.sha256).digest()
        return {"HTTP_X_LINE_SIGNATURE": base64.b64encode(digest).decode()}
    if messenger == "viber":
        digest = hmac.new(account.access_token.encode(), body, hashlib.sha256).hexdigest()
        return {"HTTP_X_VIBER_CONTENT_SIGNATURE": digest}
    claims = {
        "iat": int(time.time() if issued_at is None else issued_at),
        "jti": f"jti-{time.monotonic_ns()}",
        "iss": "Vonage",
        "api_key": account.api_key,
        "application_id": account.application_id,
        "payload_hash": hashlib.sha256(body).hexdigest(),
    }
    return {"HTTP_AUTHORIZATION": "Bearer " + jwt.encode(claims, account.signing_secret, algorithm="HS256")}


def as_http_headers(test_client_headers: dict[str, str]) -> dict[str, str]:
    """HTTP_X_FOO_BAR -> X-Foo-Bar, for requests against a live server."""
    return {key[5:].replace("_", "-").title(): value for key, value in test_client_headers.items()}


def webhook_path(account: IntegrationAccount, *, status: bool = False) -> str:
    return account.webhook_path + ("status/" if status else "")


def post_webhook(
    client, account, body: bytes, *, signed: bool = True, status: bool | None = None, commit: bool = True, **headers
):
    """POST `body` to the account's webhook as the platform would (test client).

    `commit`: inside a test's transaction, run the after-commit work (the inbox processor) as
    a real commit would; False leaves it for the test to look at.
    """
    if status is None:  # Vonage status callbacks go to their own URL
        status = account.messenger == "nexmo" and b'"status"' in body and b'"message_type"' not in body
    if signed:
        headers = {**signature_headers(account, body), **headers}
    path = webhook_path(account, status=status)
    if not commit:
        return client.post(path, data=body, content_type="application/json", **headers)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, data=body, content_type="application/json", **headers)


def stored_counts() -> dict[str, int]:
    return {
        "messages": Message.objects.count(),
        "customers": Customer.objects.count(),
        "interactions": Interaction.objects.count(),
        "events": InboxEvent.objects.count(),
    }


def snapshot() -> list[tuple]:
    """Everything ingest may write, to compare the state after one and after three deliveries."""
    messages = Message.objects.order_by("id").values_list("id", "kind", "text", "status", "platform_event_id")
    customers = Customer.objects.order_by("id").values_list(
        "id", "external_id", "display_name", "first_name", "unreachable_at"
    )
    interactions = Interaction.objects.order_by("id").values_list("id", "status", "closed_reason")
    events = InboxEvent.objects.order_by("id").values_list("id", "event_id")
    return [tuple(messages), tuple(customers), tuple(interactions), tuple(events)]


def json_body(data) -> bytes:
    return json.dumps(data).encode()
