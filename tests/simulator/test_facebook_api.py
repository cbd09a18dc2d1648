"""Contract of the fake Facebook Graph API, its hub.challenge handshake and signed deliveries."""

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
def page():
    return create_account(platform="facebook", name="Acme")


def graph(base, path, method="GET", token=None, **kwargs):
    params = kwargs.pop("params", {})
    if token is not None:
        params["access_token"] = token
    return requests.request(method, f"{base}/simulator/api/facebook/v19.0/{path}", params=params, timeout=10, **kwargs)


def test_me_and_token_errors(base, page):
    me = graph(base, "me", token=page.token, params={"fields": "id,name"})
    assert me.status_code == 200 and me.json() == {"name": "Acme", "id": page.platform_id}

    bad = graph(base, "me", token="EAAGnope")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == 190 and error["type"] == "OAuthException" and error["fbtrace_id"]
    assert graph(base, "me").json()["error"]["code"] == 2500


def test_send_message_and_errors(base, page):
    ana = get_customer(account=page, key="ana", name="Ana Lee")
    body = {"recipient": {"id": ana.external_id}, "messaging_type": "RESPONSE", "message": {"text": "Hi Ana"}}
    sent = graph(base, "me/messages", "POST", page.token, json=body)
    assert sent.status_code == 200
    assert sent.json()["recipient_id"] == ana.external_id and sent.json()["message_id"].startswith("m_")

    too_long = graph(base, "me/messages", "POST", page.token, json=body | {"message": {"text": "x" * 2001}})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == 100
    assert graph(base, "me/messages", "POST", page.token, json=body | {"message": {"text": "x" * 2000}}).ok
    unknown = graph(base, "me/messages", "POST", page.token, json=body | {"recipient": {"id": "42"}})
    assert unknown.json()["error"]["error_subcode"] == 2018001

    page.forced_error = ForcedError.BLOCKED
    page.save()
    blocked = graph(base, "me/messages", "POST", page.token, json=body)
    assert blocked.status_code == 400
    assert blocked.json()["error"]["code"] == 551
    assert blocked.json()["error"]["message"] == "(#551) This person isn't available right now."

    page.forced_error, page.rate_limit = ForcedError.NONE, 1
    page.save()
    limited = graph(base, "me/messages", "POST", page.token, json=body)
    assert limited.json()["error"]["code"] == 613

    page.forced_error, page.rate_limit = ForcedError.SERVER_ERROR, 0
    page.save()
    outage = graph(base, "me/messages", "POST", page.token, json=body)
    assert outage.status_code == 500 and outage.json()["error"]["is_transient"] is True
    assert [m.text for m in ana.messages.filter(direction="out")] == ["Hi Ana", "x" * 2000]


def test_profile_of_a_psid(base, page):
    ana = get_customer(account=page, key="ana", name="Ana Lee")
    profile = graph(base, ana.external_id, token=page.token, params={"fields": "first_name,last_name,profile_pic"})
    assert profile.json() == {"first_name": "Ana", "last_name": "Lee", "profile_pic": "", "id": ana.external_id}
    assert graph(base, "123", token=page.token).json()["error"]["error_subcode"] == 33


def test_app_subscription_performs_the_handshake(base, page, receiver):
    app_token = f"{page.app_id}|{page.secret}"
    ok = graph(
        base,
        f"{page.app_id}/subscriptions",
        "POST",
        app_token,
        data={"object": "page", "callback_url": receiver.url, "verify_token": "verify-me", "fields": "messages"},
    )
    assert ok.json() == {"success": True}
    handshake = receiver.requests[-1]
    assert handshake["method"] == "GET" and handshake["query"]["hub.mode"] == "subscribe"
    assert handshake["query"]["hub.verify_token"] == "verify-me" and handshake["query"]["hub.challenge"]
    page.refresh_from_db()
    assert page.webhook_url == receiver.url

    wrong = graph(
        base,
        f"{page.app_id}/subscriptions",
        "POST",
        app_token,
        data={"object": "page", "callback_url": receiver.url, "verify_token": "wrong", "fields": "messages"},
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 2200
    assert "403" in wrong.json()["error"]["message"]
    assert graph(base, f"{page.app_id}/subscriptions", token=f"{page.app_id}|nope").json()["error"]["code"] == 190


def test_page_subscribed_apps(base, page, receiver):
    page.webhook_url, page.webhook_secret = receiver.url, "verify-me"
    page.save()
    fields = "messages,messaging_postbacks,message_deliveries,message_reads"
    ok = graph(base, f"{page.platform_id}/subscribed_apps", "POST", page.token, params={"subscribed_fields": fields})
    assert ok.json() == {"success": True}
    assert receiver.requests[-1]["method"] == "GET"  # handshake before subscribing
    data = graph(base, f"{page.platform_id}/subscribed_apps", token=page.token).json()["data"]
    assert data[0]["subscribed_fields"] == fields.split(",") and data[0]["id"] == page.app_id

    page.webhook_secret = "changed"
    page.save()
    failed = graph(
        base, f"{page.platform_id}/subscribed_apps", "POST", page.token, params={"subscribed_fields": fields}
    )
    assert failed.json()["error"]["code"] == 2200
    other = graph(base, "999/subscribed_apps", "POST", page.token, params={"subscribed_fields": fields})
    assert other.status_code == 403


def test_messages_and_receipts_are_signed_with_the_app_secret(page, receiver):
    page.webhook_url = receiver.url
    page.save()
    ana = get_customer(account=page, key="ana", name="Ana Lee")
    customer_says(account=page, customer=ana, text="Hello ✓ / ok")

    posted = receiver.posts()[0]
    assert posted["headers"]["X-Hub-Signature-256"] == signing.facebook_signature(
        app_secret=page.secret, body=posted["body"]
    )
    assert b"\\u2713" in posted["body"] and b"\\/" in posted["body"]  # Meta escapes, we hash the exact bytes
    event = json.loads(posted["body"])["entry"][0]["messaging"][0]
    assert event["sender"] == {"id": ana.external_id} and event["recipient"] == {"id": page.platform_id}
    assert event["message"]["text"] == "Hello ✓ / ok" and event["message"]["mid"].startswith("m_")

    reply = bot_sends(account=page, customer=ana, text="Hi")
    customer_sees(account=page, customer=ana)
    deliver_due()
    kinds = list(SimDelivery.objects.filter(account=page).order_by("id").values_list("kind", "status"))
    assert kinds == [("message", "delivered"), ("delivered", "delivered"), ("read", "delivered")]
    delivery_event = receiver.json(1)["entry"][0]["messaging"][0]
    assert delivery_event["delivery"]["mids"] == [reply.platform_message_id]
    assert "watermark" in receiver.json(2)["entry"][0]["messaging"][0]["read"]
