"""Authenticity and bad input: signature vectors, rejections, status codes, no secret echoed."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid

import jwt
import pytest
from django.test import Client

from integrations.models import IntegrationAccount
from integrations.providers import facebook, line, viber
from integrations.providers.base import WebhookRejected, WebhookRequest
from integrations.providers.nexmo import inbound as nexmo
from tests.integrations.webhook_support import (
    MESSENGERS,
    SECRETS,
    fixture_body,
    post_webhook,
    signature_headers,
    stored_counts,
    webhook_account,
)

pytestmark = pytest.mark.django_db
NOTHING = {"messages": 0, "customers": 0, "interactions": 0, "events": 0}
TEXT_FIXTURE = {
    "telegram": "text__basic",
    "facebook": "text__basic",
    "line": "text__basic",
    "viber": "text__basic",
    "nexmo": "text__sms",
}


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


def _request(body: bytes, **headers: str) -> WebhookRequest:
    return WebhookRequest(method="POST", body=body, headers=headers, query={})


# --- Section 7 of messenger-apis.md -----------------------------------------------------


def test_viber_vector():
    account = IntegrationAccount(messenger="viber", access_token="44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3")
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    good = "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
    viber.verify(account, _request(body, **{"X-Viber-Content-Signature": good}))
    with pytest.raises(WebhookRejected):
        viber.verify(account, _request(body, **{"X-Viber-Content-Signature": good[:-1] + "0"}))
    with pytest.raises(WebhookRejected):
        viber.verify(account, _request(body + b" ", **{"X-Viber-Content-Signature": good}))


def test_line_vector():
    account = IntegrationAccount(messenger="line", signing_secret="channel_secret")
    good = "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="
    line.verify(account, _request(b"bodybodybodybody", **{"x-line-signature": good}))
    with pytest.raises(WebhookRejected):
        line.verify(account, _request(b"bodybodybodybodx", **{"x-line-signature": good}))


def test_messenger_vector():
    account = IntegrationAccount(messenger="facebook", signing_secret="test_app_secret_key")
    good = "sha256=0cd827e6460b86fe5000b22caf1c5ffa24837ef9702ad29f764134462f21396c"
    facebook.verify(account, _request(b'{"object":"page","entry":[]}', **{"X-Hub-Signature-256": good}))
    with pytest.raises(WebhookRejected):  # the hex without its sha256= prefix is not the header
        facebook.verify(account, _request(b'{"object":"page","entry":[]}', **{"X-Hub-Signature-256": good[7:]}))


VONAGE_VECTOR = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOjE2OTc2MzQ2ODAsImV4"
    "cCI6MzMyNTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVhc9R30tA6U_HQHZTC29y6CGM"
)


def test_vonage_jwt_vector_is_a_valid_signature_but_not_a_valid_webhook():
    claims = nexmo.decode_signature(VONAGE_VECTOR, b"qwertyuiopasdfghjklzxcvbnm123456")
    assert claims["iss"] == "Online JWT Builder" and claims["iat"] == 1697634680
    with pytest.raises(WebhookRejected):
        nexmo.decode_signature(VONAGE_VECTOR, b"qwertyuiopasdfghjklzxcvbnm123457")
    # As a webhook it lacks payload_hash and its iat is years old: rejected.
    account = IntegrationAccount(messenger="nexmo", signing_secret="qwertyuiopasdfghjklzxcvbnm123456")
    with pytest.raises(WebhookRejected):
        nexmo.verify(account, _request(b"{}", Authorization=f"Bearer {VONAGE_VECTOR}"))


def test_vectors_over_http(client):
    viber_account = webhook_account("viber")  # its token is the vector's key
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    signature = "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
    response = client.post(
        viber_account.webhook_path, body, "application/json", HTTP_X_VIBER_CONTENT_SIGNATURE=signature
    )
    assert response.status_code == 200

    fb_account = webhook_account("facebook")
    good = "sha256=0cd827e6460b86fe5000b22caf1c5ffa24837ef9702ad29f764134462f21396c"
    response = client.post(
        fb_account.webhook_path, b'{"object":"page","entry":[]}', "application/json", HTTP_X_HUB_SIGNATURE_256=good
    )
    assert response.status_code == 200

    line_account = webhook_account("line")
    sig = "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="
    response = client.post(
        line_account.webhook_path, b"bodybodybodybody", "application/json", HTTP_X_LINE_SIGNATURE=sig
    )
    assert response.status_code == 400  # authentic, but not JSON
    assert stored_counts() == NOTHING


# --- Rejections ---------------------------------------------------------------------------


def _tampered(account, body: bytes) -> dict[str, str]:
    """Signature headers computed with the wrong secret."""
    impostor = IntegrationAccount(
        messenger=account.messenger,
        **{key: value + "x" if key != "page_id" else value for key, value in SECRETS[account.messenger].items()},
    )
    return signature_headers(impostor, body)


@pytest.mark.parametrize("messenger", MESSENGERS)
@pytest.mark.parametrize("how", ["missing", "wrong secret", "other body", "empty"])
def test_unsigned_or_badly_signed_is_403_and_stores_nothing(client, messenger, how):
    account = webhook_account(messenger)
    body = fixture_body(messenger, TEXT_FIXTURE[messenger])
    if how == "missing":
        response = post_webhook(client, account, body, signed=False)
    elif how == "wrong secret":
        response = post_webhook(client, account, body, signed=False, **_tampered(account, body))
    elif how == "other body":
        headers = signature_headers(account, body.replace(b"Hello", b"Hellp"))
        response = post_webhook(client, account, body, signed=False, **headers)
        if messenger == "telegram":  # Telegram signs no body: its secret header is all there is
            assert response.status_code == 200
            return
    else:
        name = next(iter(signature_headers(account, body)))
        response = post_webhook(client, account, body, signed=False, **{name: ""})
    assert response.status_code == 403
    assert stored_counts() == NOTHING


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_an_account_without_its_secret_rejects_everything(client, messenger):
    blank = {"telegram": "webhook_secret", "facebook": "signing_secret", "line": "signing_secret"}
    blank |= {"viber": "access_token", "nexmo": "signing_secret"}
    account = webhook_account(messenger, **{blank[messenger]: ""})
    body = fixture_body(messenger, TEXT_FIXTURE[messenger])
    # What a forger would send when the secret is empty: a signature keyed by "".
    if messenger == "nexmo":  # PyJWT refuses an empty HMAC key; any key will do for the forger
        forged = _vonage_token(IntegrationAccount(signing_secret="forged-key-0123456789abcdef012345"), body)
        response = post_webhook(client, account, body, signed=False, HTTP_AUTHORIZATION=forged)
    else:
        response = post_webhook(client, account, body)
    assert response.status_code == 403
    assert stored_counts() == NOTHING


def _vonage_token(account, body: bytes, **claims) -> str:
    payload = {"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest(), **claims}
    payload = {key: value for key, value in payload.items() if value is not None}  # None: leave the claim out
    return "Bearer " + jwt.encode(payload, account.signing_secret, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": int(time.time()) - 3600},  # a captured request replayed an hour later
        {"iat": int(time.time()) + 3600},
        {"iat": None},
        {"payload_hash": hashlib.sha256(b"another body").hexdigest()},
        {"payload_hash": None},
        {"exp": int(time.time()) - 10},
    ],
    ids=["stale", "future", "no iat", "other body", "no payload_hash", "expired"],
)
def test_vonage_jwt_claims_are_enforced(client, claims):
    account = webhook_account("nexmo")
    body = fixture_body("nexmo", "text__sms")
    token = _vonage_token(account, body, **claims)
    assert post_webhook(client, account, body, signed=False, HTTP_AUTHORIZATION=token).status_code == 403
    assert stored_counts() == NOTHING


def test_vonage_unsigned_algorithm_is_refused(client):
    account = webhook_account("nexmo")
    body = fixture_body("nexmo", "text__sms")
    claims = {"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest()}
    token = jwt.encode(claims, key=None, algorithm="none")
    assert post_webhook(client, account, body, signed=False, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
    assert post_webhook(client, account, body, signed=False, HTTP_AUTHORIZATION=f"Basic {token}").status_code == 403


# --- Malformed, oversized, unknown --------------------------------------------------------

WRONG_SHAPES = {
    "telegram": [b"{}", b'{"update_id":"12"}', b'{"update_id":1,"message":{"text":"hi"}}', b"[1,2]"],
    "facebook": [
        b'{"object":"page"}',
        b'{"object":"page","entry":{}}',
        b'{"object":"page","entry":[{"id":"1000000000001","messaging":[{"message":{"mid":"m"}}]}]}',
    ],
    "line": [b"{}", b'{"events":{}}', b'{"events":[{"type":"message","source":{"userId":"U1"}}]}', b'"events"'],
    "viber": [b'{"event":"message"}', b'{"event":"message","sender":{"id":"x"},"message":{"type":"text"}}', b"null"],
    "nexmo": [b"{}", b'{"message_uuid":"x"}', b'{"message_uuid":"x","message_type":"text","from":{}}', b"3"],
}


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_signed_but_unreadable_is_400_and_stores_nothing(client, messenger):
    account = webhook_account(messenger)
    for body in [b"{not json", b"\xff\xfe\x00", b"", *WRONG_SHAPES[messenger]]:
        response = post_webhook(client, account, body)
        assert response.status_code == 400, (body, response.content)
    assert stored_counts() == NOTHING


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_body_over_one_mebibyte_is_413(client, messenger):
    account = webhook_account(messenger)
    padding = "x" * (1024 * 1024)
    body = json.dumps({"update_id": 1, "object": "page", "events": [], "event": "x", "pad": padding}).encode()
    assert post_webhook(client, account, body).status_code == 413
    assert stored_counts() == NOTHING


def test_unknown_disabled_or_mismatched_accounts_are_404(client):
    account = webhook_account("telegram")
    disabled = webhook_account("viber", enabled=False)
    body = fixture_body("telegram", "text__basic")
    headers = signature_headers(account, body)
    for path in [
        f"/webhooks/telegram/{uuid.uuid4()}/",
        f"/webhooks/viber/{account.pk}/",  # right id, wrong messenger
        f"/webhooks/icq/{account.pk}/",
        f"/webhooks/telegram/{account.pk}/status/",  # only Vonage has a status URL
        f"/webhooks/viber/{disabled.pk}/",
    ]:
        assert client.post(path, body, "application/json", **headers).status_code == 404, path
    assert client.post(f"/webhooks/telegram/{account.pk}x/", body, "application/json").status_code == 404
    assert stored_counts() == NOTHING


# --- Handshakes ---------------------------------------------------------------------------


def test_facebook_verify_token_handshake(client):
    account = webhook_account("facebook")
    ok = client.get(
        account.webhook_path,
        {"hub.mode": "subscribe", "hub.verify_token": "verify-token-123456", "hub.challenge": "1158201444"},
    )
    assert (ok.status_code, ok.content) == (200, b"1158201444")
    for query in [
        {"hub.mode": "subscribe", "hub.verify_token": "verify-token-12345", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-token-123456", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ]:
        refused = client.get(account.webhook_path, query)
        assert refused.status_code == 403 and b"verify-token" not in refused.content


def test_facebook_handshake_without_a_verify_token_refuses(client):
    account = webhook_account("facebook", webhook_secret="")
    query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert client.get(account.webhook_path, query).status_code == 403


@pytest.mark.parametrize("messenger", ["telegram", "line", "viber", "nexmo"])
def test_no_get_handshake_elsewhere(client, messenger):
    account = webhook_account(messenger)
    assert client.get(account.webhook_path, {"hub.mode": "subscribe"}).status_code == 405
    assert client.put(account.webhook_path, b"{}", "application/json").status_code == 405


# --- Secrets stay secret ------------------------------------------------------------------


def test_no_response_or_log_line_echoes_a_secret(client, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    for messenger in MESSENGERS:
        account = webhook_account(messenger)
        body = fixture_body(messenger, TEXT_FIXTURE[messenger])
        for response in (
            post_webhook(client, account, body),
            post_webhook(client, account, body, signed=False),
            post_webhook(client, account, body, signed=False, **_tampered(account, body)),
            post_webhook(client, account, b'{"nope": 1}'),
            client.get(account.webhook_path, {"hub.mode": "subscribe", "hub.verify_token": "guess"}),
        ):
            bodies.append(response.content.decode(errors="replace"))
    assert "webhooks.telegram" in caplog.text or "rejected" in caplog.text  # the log was captured
    everything = caplog.text + "\n".join(bodies)
    for secrets in SECRETS.values():
        for key, value in secrets.items():
            if key not in ("page_id", "sender_id", "api_key", "application_id"):
                assert value not in everything, key
