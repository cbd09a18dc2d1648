"""Contract of the fake Viber REST bot API: status codes in HTTP 200 bodies, set_webhook callback."""

import json

import pytest
import requests

from simulator import signing
from simulator.delivery import deliver_due
from simulator.factories import create_account
from simulator.models import ForcedError, SimDelivery
from simulator.services import bot_sends, customer_says, customer_sees, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bot():
    return create_account(platform="viber", name="Acme Viber", username="acme")


def pa(base, bot, method, body=None, token=None):
    headers = {"X-Viber-Auth-Token": token or bot.token}
    return requests.post(f"{base}/simulator/api/viber/{method}", json=body or {}, headers=headers, timeout=10)


def test_account_info_and_auth(base, bot):
    info = pa(base, bot, "get_account_info")
    assert info.status_code == 200
    assert info.json()["status"] == 0 and info.json()["status_message"] == "ok"
    assert info.json()["id"] == bot.platform_id and info.json()["uri"] == "acme" and info.json()["webhook"] == ""
    bad = pa(base, bot, "get_account_info", token="nope")
    assert bad.status_code == 200 and bad.json() == {"status": 2, "status_message": "invalidAuthToken"}
    missing = requests.post(f"{base}/simulator/api/viber/get_account_info", json={}, timeout=10)
    assert missing.json() == {"status": 2, "status_message": "missing_auth_token"}
    in_body = requests.post(f"{base}/simulator/api/viber/get_account_info", json={"auth_token": bot.token}, timeout=10)
    assert in_body.json()["status"] == 0  # the Python SDK puts the token in the body


def test_set_webhook_calls_the_url_with_a_signed_webhook_event(base, bot, receiver):
    events = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
    ok = pa(
        base, bot, "set_webhook", {"url": receiver.url, "event_types": events, "send_name": True, "send_photo": True}
    )
    assert ok.json() == {"status": 0, "status_message": "ok", "event_types": events}
    posted = receiver.posts()[0]
    assert json.loads(posted["body"])["event"] == "webhook"
    assert posted["headers"]["X-Viber-Content-Signature"] == signing.viber_signature(
        auth_token=bot.token, body=posted["body"]
    )
    info = pa(base, bot, "get_account_info").json()
    assert info["webhook"] == receiver.url and info["event_types"] == events

    receiver.statuses = [500]
    failed = pa(base, bot, "set_webhook", {"url": receiver.url + "/other"})
    assert failed.json()["status"] == 1
    assert pa(base, bot, "get_account_info").json()["webhook"] == receiver.url  # unchanged
    assert SimDelivery.objects.get(account=bot, url=receiver.url + "/other").status == "failed"

    assert pa(base, bot, "set_webhook", {"url": ""}).json()["status"] == 0
    assert pa(base, bot, "get_account_info").json()["webhook"] == ""


def test_send_message_statuses(base, bot, receiver):
    ana = get_customer(account=bot, key="ana", name="Ana Lee")
    body = {"receiver": ana.external_id, "type": "text", "text": "Hi Ana", "sender": {"name": "Acme Support"}}
    assert pa(base, bot, "send_message", body).json()["status"] == 10  # webhookNotSet
    pa(base, bot, "set_webhook", {"url": receiver.url})
    bot.refresh_from_db()

    ok = pa(base, bot, "send_message", body).json()
    assert ok["status"] == 0 and isinstance(ok["message_token"], int) and ok["chat_hostname"]
    assert pa(base, bot, "send_message", body | {"receiver": "nobody="}).json()["status"] == 5
    assert pa(base, bot, "send_message", body | {"text": "x" * 7001}).json()["status"] == 3
    assert (
        pa(base, bot, "send_message", {"receiver": ana.external_id, "type": "text", "text": "x"}).json()["status"] == 4
    )

    bot.forced_error = ForcedError.BLOCKED
    bot.save()
    assert pa(base, bot, "send_message", body).json() == {"status": 6, "status_message": "receiverNotSubscribed"}
    bot.forced_error, bot.rate_limit = ForcedError.NONE, 1
    bot.save()
    assert pa(base, bot, "send_message", body).json() == {"status": 12, "status_message": "tooManyRequests"}
    bot.rate_limit, bot.forced_error = 0, ForcedError.SERVER_ERROR
    bot.save()
    assert pa(base, bot, "send_message", body).status_code == 500


def test_message_and_receipts_delivered_signed(bot, receiver):
    bot.webhook_url, bot.webhook_events = receiver.url, ["delivered", "seen"]
    bot.save()
    ana = get_customer(account=bot, key="ana", name="Ana Lee")
    customer_says(account=bot, customer=ana, text="Hello")
    posted = receiver.posts()[0]
    assert posted["headers"]["X-Viber-Content-Signature"] == signing.viber_signature(
        auth_token=bot.token, body=posted["body"]
    )
    event = json.loads(posted["body"])
    assert event["event"] == "message" and event["sender"]["id"] == ana.external_id
    assert event["sender"]["name"] == "Ana Lee" and isinstance(event["message_token"], int)

    reply = bot_sends(account=bot, customer=ana, text="Hi")
    customer_sees(account=bot, customer=ana)
    deliver_due()
    receipts = [receiver.json(i) for i in (1, 2)]
    assert [r["event"] for r in receipts] == ["delivered", "seen"]
    assert all(
        r["message_token"] == int(reply.platform_message_id) and r["user_id"] == ana.external_id for r in receipts
    )
