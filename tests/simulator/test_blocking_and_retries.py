"""A customer blocking the bot, and due webhooks retried opportunistically after API calls."""

import json
import time
import uuid

import pytest
import requests

from simulator import client, delivery
from simulator.factories import create_account
from simulator.models import SimDelivery
from simulator.services import customer_blocks, customer_says, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_telegram_block_sends_my_chat_member_and_sends_fail(base, receiver):
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")
    ana = get_customer(account=bot, key="ana", name="Ana Lee")
    customer_blocks(account=bot, customer=ana, blocked=True)

    update = receiver.json()["my_chat_member"]
    assert update["chat"]["id"] == int(ana.external_id)
    assert update["old_chat_member"]["status"] == "member" and update["new_chat_member"]["status"] == "kicked"
    assert update["new_chat_member"]["user"]["is_bot"] is True
    refused = requests.post(
        f"{base}/simulator/api/telegram/bot{bot.token}/sendMessage",
        json={"chat_id": ana.external_id, "text": "Hi"},
        timeout=10,
    )
    assert refused.status_code == 403 and refused.json()["description"] == "Forbidden: bot was blocked by the user"

    customer_blocks(account=bot, customer=ana, blocked=False)
    assert receiver.json()["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert receiver.json()["update_id"] == receiver.json(0)["update_id"] + 1


def test_line_unfollow_and_follow_events(receiver):
    channel = create_account(platform="line", webhook_url=receiver.url)
    ana = get_customer(account=channel, key="ana")
    customer_blocks(account=channel, customer=ana, blocked=True)
    customer_blocks(account=channel, customer=ana, blocked=False)
    unfollow, follow = receiver.json(0)["events"][0], receiver.json(1)["events"][0]
    assert unfollow["type"] == "unfollow" and "replyToken" not in unfollow
    assert unfollow["source"] == {"type": "user", "userId": ana.external_id}
    assert follow["type"] == "follow" and follow["follow"] == {"isUnblocked": True} and follow["replyToken"]


def test_viber_unsubscribed_then_status_6(base, receiver):
    bot = create_account(platform="viber", webhook_url=receiver.url)
    ana = get_customer(account=bot, key="ana")
    customer_blocks(account=bot, customer=ana, blocked=True)
    assert receiver.json() | {"timestamp": 0, "message_token": 0} == {
        "event": "unsubscribed",
        "timestamp": 0,
        "chat_hostname": "SN-CHAT-05_",
        "message_token": 0,
        "user_id": ana.external_id,
    }
    body = {"receiver": ana.external_id, "type": "text", "text": "Hi", "sender": {"name": "Acme"}}
    answer = requests.post(
        f"{base}/simulator/api/viber/send_message", json=body, headers={"X-Viber-Auth-Token": bot.token}, timeout=10
    )
    assert answer.json()["status"] == 6


def test_block_endpoint(base, receiver):
    channel = create_account(platform="line", webhook_url=receiver.url)
    client.send_text(base, channel, "ana", "Hello")
    session = client._session(base)
    answer = session.post(
        f"{base}/simulator/chat/{channel.id}/block",
        json={"customer": "ana", "blocked": True},
        headers={"X-CSRFToken": session.cookies["csrftoken"]},
        timeout=10,
    )
    assert answer.json() == {"blocked": True, "delivery": {"kind": "unfollow", "status": "delivered"}}
    assert receiver.json()["events"][0]["type"] == "unfollow"
    push = requests.post(
        f"{base}/simulator/api/line/v2/bot/message/push",
        json={"to": get_customer(account=channel, key="ana").external_id, "messages": [{"type": "text", "text": "x"}]},
        headers={"Authorization": f"Bearer {channel.token}", "X-Line-Retry-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert push.status_code == 400


def _eventually(check, timeout=15):
    """Poll until the server's after-response work is visible (it runs after the answer went out)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.1)


def test_due_webhooks_are_retried_after_an_api_call(base, receiver):
    bot = create_account(platform="telegram", webhook_url=receiver.url)
    receiver.statuses = [502]
    customer_says(account=bot, customer=get_customer(account=bot, key="ana"), text="Hello")
    row = SimDelivery.objects.get(account=bot)
    assert row.status == "pending"
    delivery.make_due(row)

    assert requests.get(f"{base}/simulator/api/telegram/bot{bot.token}/getMe", timeout=10).ok
    _eventually(lambda: SimDelivery.objects.get(id=row.id).status == "delivered")
    assert len(receiver.posts()) == 2
    assert json.loads(receiver.posts()[1]["body"]) == json.loads(receiver.posts()[0]["body"])


def test_gives_up_after_max_attempts(receiver):
    bot = create_account(platform="facebook", webhook_url=receiver.url)
    receiver.statuses = [500] * delivery.MAX_ATTEMPTS
    customer_says(account=bot, customer=get_customer(account=bot, key="ana"), text="Hello")
    row = SimDelivery.objects.get(account=bot)
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        delivery.make_due(row)
        assert delivery.deliver_due() == 1
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == delivery.MAX_ATTEMPTS and row.next_attempt_at is None
    assert [h["status_code"] for h in row.history] == [500] * delivery.MAX_ATTEMPTS
