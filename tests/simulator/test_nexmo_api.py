"""Contract of the fake Vonage APIs and its JWT-signed inbound and status callbacks."""

import hashlib
import json

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from simulator import delivery
from simulator.factories import create_account
from simulator.models import ForcedError, SimDelivery
from simulator.services import bot_sends, customer_says, customer_sees, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app():
    return create_account(platform="nexmo", name="Acme SMS", secret="vonage-signature-secret-0123456789abcdef")


def test_balance_with_basic_auth(base, app):
    ok = requests.get(f"{base}/simulator/api/nexmo/account/get-balance", auth=(app.api_key, app.api_secret), timeout=10)
    assert ok.status_code == 200 and ok.json() == {"value": 29.18, "autoReload": False}
    bad = requests.get(f"{base}/simulator/api/nexmo/account/get-balance", auth=(app.api_key, "wrong"), timeout=10)
    assert bad.status_code == 401
    problem = bad.json()
    assert problem["title"] == "Unauthorized" and problem["detail"] == "You did not provide correct credentials."
    assert problem["type"] == "https://developer.nexmo.com/api-errors#unauthorized" and problem["instance"]


def test_application_webhooks_get_and_put(base, app):
    url = f"{base}/simulator/api/nexmo/v2/applications/{app.app_id}"
    body = {
        "name": "contact-center",
        "capabilities": {
            "messages": {
                "version": "v1",
                "webhooks": {
                    "inbound_url": {"address": "https://cc.example.com/webhooks/nexmo/1/", "http_method": "POST"},
                    "status_url": {"address": "https://cc.example.com/webhooks/nexmo/1/status/", "http_method": "POST"},
                },
            }
        },
    }
    put = requests.put(url, json=body, auth=(app.api_key, app.api_secret), timeout=10)
    assert put.status_code == 200
    got = requests.get(url, auth=(app.api_key, app.api_secret), timeout=10).json()
    assert got["id"] == app.app_id and got["name"] == "contact-center"
    assert got["capabilities"]["messages"]["webhooks"] == body["capabilities"]["messages"]["webhooks"]
    missing = requests.get(
        f"{base}/simulator/api/nexmo/v2/applications/other", auth=(app.api_key, app.api_secret), timeout=10
    )
    assert missing.status_code == 404


def test_send_message_202_and_problems(base, app):
    ana = get_customer(account=app, key="ana")
    body = {"message_type": "text", "text": "Hi Ana", "to": ana.external_id, "from": app.platform_id, "channel": "sms"}
    url = f"{base}/simulator/api/nexmo/v1/messages"
    auth = (app.api_key, app.api_secret)
    sent = requests.post(url, json=body, auth=auth, timeout=10)
    assert sent.status_code == 202 and len(sent.json()["message_uuid"]) == 36

    too_long = requests.post(url, json=body | {"text": "x" * 1001}, auth=auth, timeout=10)
    assert too_long.status_code == 422
    assert too_long.json()["title"] == "Invalid params"
    assert [p["name"] for p in too_long.json()["invalid_parameters"]] == ["text"]
    assert requests.post(url, json=body, auth=(app.api_key, "x"), timeout=10).status_code == 401

    app.rate_limit = 1
    app.save()
    limited = requests.post(url, json=body, auth=auth, timeout=10)
    assert limited.status_code == 429 and limited.json()["title"] == "Rate Limit Hit"
    app.rate_limit, app.forced_error = 0, ForcedError.SERVER_ERROR
    app.save()
    assert requests.post(url, json=body, auth=auth, timeout=10).status_code == 500


def test_send_message_with_application_jwt(base, app):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app.public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app.save()
    ana = get_customer(account=app, key="ana")
    token = jwt.encode({"application_id": app.app_id, "iat": 1_700_000_000, "jti": "j1"}, key, algorithm="RS256")
    body = {"message_type": "text", "text": "Hi", "to": ana.external_id, "from": app.platform_id, "channel": "sms"}
    url = f"{base}/simulator/api/nexmo/v1/messages"
    assert requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 202
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"application_id": app.app_id, "iat": 1_700_000_000, "jti": "j2"}, other, algorithm="RS256")
    assert requests.post(url, json=body, headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code == 401


def _claims(posted, app):
    token = posted["headers"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, app.secret, algorithms=["HS256"])
    assert claims["payload_hash"] == hashlib.sha256(posted["body"]).hexdigest()
    return claims


def test_inbound_and_status_callbacks_are_signed_and_backed_off(app, receiver):
    app.webhook_url, app.status_url = receiver.url, receiver.url + "/status"
    app.save()
    receiver.statuses = [429]
    ana = get_customer(account=app, key="ana")
    customer_says(account=app, customer=ana, text="Hello")

    first = receiver.posts()[0]
    claims = _claims(first, app)
    assert claims["api_key"] == app.api_key and claims["application_id"] == app.app_id and claims["jti"]
    inbound = json.loads(first["body"])
    assert inbound["from"] == ana.external_id and inbound["to"] == app.platform_id and inbound["text"] == "Hello"
    assert inbound["channel"] == "sms" and inbound["message_type"] == "text"
    row = SimDelivery.objects.get(account=app, kind="message")
    assert row.status == "pending" and 4 <= (row.next_attempt_at - row.created_at).total_seconds() <= 7
    delivery.make_due(row)
    delivery.deliver_due()
    second = receiver.posts()[1]
    assert second["body"] == first["body"] and _claims(second, app)["jti"] != claims["jti"]  # fresh JWT per attempt

    sent = bot_sends(account=app, customer=ana, text="Hi")
    customer_sees(account=app, customer=ana)
    delivery.deliver_due()
    statuses = [json.loads(p["body"]) for p in receiver.posts()[2:]]
    assert [s["status"] for s in statuses] == ["submitted", "delivered", "read"]
    assert all(s["message_uuid"] == sent.platform_message_id for s in statuses)
    assert all(p["path"] == "/hook/status" for p in receiver.posts()[2:])


def test_blocked_customer_gets_rejected_status(app, receiver):
    app.webhook_url, app.status_url, app.forced_error = receiver.url, receiver.url + "/status", ForcedError.BLOCKED
    app.save()
    ana = get_customer(account=app, key="ana")

    bot_sends(account=app, customer=ana, text="Hi")
    delivery.deliver_due()
    statuses = [json.loads(p["body"]) for p in receiver.posts()]
    assert [s["status"] for s in statuses] == ["submitted", "rejected"]
    assert statuses[1]["error"]["title"] == "1330"
