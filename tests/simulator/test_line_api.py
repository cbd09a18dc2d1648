"""Contract of the fake LINE Messaging API and its signed, redelivered webhooks."""

import json
import uuid

import pytest
import requests

from simulator import delivery, signing
from simulator.factories import create_account
from simulator.models import ForcedError, SimDelivery
from simulator.services import customer_says, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def channel():
    return create_account(platform="line", name="Acme LINE", username="@acme")


def api(base, channel, method, path, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    headers["Authorization"] = f"Bearer {token or channel.token}"
    return requests.request(method, f"{base}/simulator/api/line/v2/bot/{path}", headers=headers, timeout=10, **kwargs)


def test_bot_info_and_authentication(base, channel):
    info = api(base, channel, "GET", "info")
    assert info.status_code == 200 and info.headers["X-Line-Request-Id"]
    assert info.json() == {
        "userId": channel.platform_id,
        "basicId": "@acme",
        "displayName": "Acme LINE",
        "pictureUrl": "",
        "chatMode": "chat",
        "markAsReadMode": "manual",
    }
    bad = api(base, channel, "GET", "info", token="wrong")
    assert bad.status_code == 401 and bad.json()["message"].startswith("Authentication failed")
    missing = requests.get(f"{base}/simulator/api/line/v2/bot/info", timeout=10)
    assert missing.status_code == 401


def test_webhook_endpoint_set_get_and_test(base, channel, receiver):
    assert api(base, channel, "PUT", "channel/webhook/endpoint", json={"endpoint": receiver.url}).status_code == 200
    assert api(base, channel, "GET", "channel/webhook/endpoint").json() == {"endpoint": receiver.url, "active": True}
    invalid = api(base, channel, "PUT", "channel/webhook/endpoint", json={"endpoint": "nope"})
    assert invalid.status_code == 400 and invalid.json()["details"][0]["property"] == "endpoint"

    probe = api(base, channel, "POST", "channel/webhook/test", json={})
    assert probe.json()["success"] is True and probe.json()["statusCode"] == 200 and probe.json()["reason"] == "OK"
    posted = receiver.posts()[-1]
    assert json.loads(posted["body"]) == {"destination": channel.platform_id, "events": []}
    assert posted["headers"]["x-line-signature"] == signing.line_signature(
        channel_secret=channel.secret, body=posted["body"]
    )

    receiver.statuses = [500]
    failing = api(base, channel, "POST", "channel/webhook/test", json={"endpoint": receiver.url})
    assert failing.json()["success"] is False and failing.json()["statusCode"] == 500


def test_push_with_retry_key_and_errors(base, channel):
    ana = get_customer(account=channel, key="ana", name="Ana Lee")
    key = str(uuid.uuid4())
    body = {"to": ana.external_id, "messages": [{"type": "text", "text": "Hi Ana"}, {"type": "text", "text": "2"}]}
    first = api(base, channel, "POST", "message/push", json=body, headers={"X-Line-Retry-Key": key})
    assert first.status_code == 200
    sent = first.json()["sentMessages"]
    assert len(sent) == 2 and all(m["id"] and m["quoteToken"] for m in sent)

    repeat = api(base, channel, "POST", "message/push", json=body, headers={"X-Line-Retry-Key": key})
    assert repeat.status_code == 409
    assert repeat.json() == {"message": "The retry key is already accepted", "sentMessages": sent}
    assert repeat.headers["X-Line-Accepted-Request-Id"] == first.headers["X-Line-Request-Id"]
    assert ana.messages.filter(direction="out").count() == 2  # not sent twice

    bad_key = api(base, channel, "POST", "message/push", json=body, headers={"X-Line-Retry-Key": "not-a-uuid"})
    assert bad_key.status_code == 400
    emoji = "😀" * 2501  # 5002 UTF-16 code units
    too_long = api(
        base,
        channel,
        "POST",
        "message/push",
        json={"to": ana.external_id, "messages": [{"type": "text", "text": emoji}]},
    )
    assert too_long.status_code == 400
    assert too_long.json()["details"] == [
        {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
    ]
    unknown = api(base, channel, "POST", "message/push", json=body | {"to": "U0"})
    assert unknown.status_code == 400 and "'to'" in unknown.json()["message"]

    channel.forced_error = ForcedError.SERVER_ERROR
    channel.save()
    retry_key = str(uuid.uuid4())
    assert (
        api(base, channel, "POST", "message/push", json=body, headers={"X-Line-Retry-Key": retry_key}).status_code
        == 500
    )
    channel.forced_error = ForcedError.NONE
    channel.rate_limit = 2
    channel.save()
    # The 5xx did not consume the key; the retry goes through but the rate limit now bites.
    assert (
        api(base, channel, "POST", "message/push", json=body, headers={"X-Line-Retry-Key": retry_key}).status_code
        == 429
    )


def test_profile(base, channel):
    ana = get_customer(account=channel, key="ana", name="Ana Lee")
    profile = api(base, channel, "GET", f"profile/{ana.external_id}").json()
    assert profile["displayName"] == "Ana Lee" and profile["userId"] == ana.external_id
    assert api(base, channel, "GET", "profile/Unobody").status_code == 404


def test_message_webhook_is_signed_and_redelivered_with_is_redelivery(channel, receiver):
    channel.webhook_url = receiver.url
    channel.save()
    receiver.statuses = [503]
    ana = get_customer(account=channel, key="ana", name="Ana Lee")
    customer_says(account=channel, customer=ana, text="Hello")

    first, second = receiver.posts()[0], None
    assert first["headers"]["x-line-signature"] == signing.line_signature(
        channel_secret=channel.secret, body=first["body"]
    )
    event = json.loads(first["body"])["events"][0]
    assert event["deliveryContext"] == {"isRedelivery": False} and len(event["webhookEventId"]) == 26
    assert event["source"] == {"type": "user", "userId": ana.external_id} and event["message"]["text"] == "Hello"
    assert json.loads(first["body"])["destination"] == channel.platform_id

    delivery.make_due(SimDelivery.objects.get(account=channel))
    delivery.deliver_due()
    second = receiver.posts()[1]
    again = json.loads(second["body"])["events"][0]
    assert again["deliveryContext"] == {"isRedelivery": True}
    assert again["webhookEventId"] == event["webhookEventId"]
    assert second["headers"]["x-line-signature"] == signing.line_signature(
        channel_secret=channel.secret, body=second["body"]
    )
