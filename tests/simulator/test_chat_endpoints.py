"""The chat page's JSON endpoints through the Python helper (real HTTP), echo and drop modes."""

import pytest
import requests

from simulator import client
from simulator.factories import create_account
from simulator.models import DropMode, SimDelivery, SimMessage, SimRequest
from simulator.services import bot_sends, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_echo_mode_answers_each_customer_separately(base):
    bot = create_account(platform="telegram")  # no webhook registered: the simulator echoes

    sent = client.send_text(base, bot, "ana", "Hello", name="Ana Lee")
    client.send_text(base, bot.id, "ben", "Hi there")

    assert sent["message"]["text"] == "Hello" and sent["delivery"] is None and sent["echo"] is True
    assert sent["customer"]["name"] == "Ana Lee" and sent["customer"]["external_id"].isdigit()
    assert client.replies(base, bot, "ana") == ["Echo: Hello"]
    assert client.replies(base, bot, "ben") == ["Echo: Hi there"]
    chat = client.chat(base, bot, "ana")
    assert [(m["direction"], m["text"]) for m in chat] == [("in", "Hello"), ("out", "Echo: Hello")]
    assert client.chat(base, bot, "ana", after=chat[0]["id"])[0]["text"] == "Echo: Hello"


def test_messages_go_to_the_registered_webhook_and_replies_show(base, receiver):
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")
    sent = client.send_text(base, bot, "ana", "Hello")
    assert sent["delivery"] == {"status": "delivered", "last_status_code": 200, "attempts": 1}
    assert sent["echo"] is False
    assert SimDelivery.objects.get(message_id=sent["message"]["id"]).event_id == str(receiver.json()["update_id"])
    assert receiver.json()["message"]["text"] == "Hello"
    assert client.replies(base, bot, "ana") == []  # no echo when a webhook is registered

    customer = get_customer(account=bot, key="ana")
    bot_sends(account=bot, customer=customer, text="Welcome!")
    assert client.wait_for_replies(base, bot, "ana") == ["Welcome!"]
    assert SimMessage.objects.get(text="Welcome!").seen_at is not None


def test_bad_input_is_refused_and_nothing_stored(base):
    bot = create_account(platform="line")
    with pytest.raises(requests.HTTPError) as bad_key:
        client.send_text(base, bot, "no spaces", "Hello")
    assert bad_key.value.response.status_code == 400
    with pytest.raises(requests.HTTPError):
        client.send_text(base, bot, "ana", "   ")
    assert SimMessage.objects.count() == 0 and bot.customers.count() == 0
    no_csrf = requests.post(f"{base}/simulator/chat/{bot.id}/send", json={"customer": "a", "text": "x"}, timeout=10)
    assert no_csrf.status_code == 403


def test_drop_modes(base, receiver):
    bot = create_account(platform="facebook", webhook_url=receiver.url, drop_mode=DropMode.INBOUND)
    sent = client.send_text(base, bot, "ana", "Lost")
    assert sent["delivery"]["status"] == "dropped" and receiver.posts() == []
    assert SimDelivery.objects.get(account=bot).attempts == 0

    bot.drop_mode = DropMode.OUTBOUND
    bot.save()
    bot_sends(account=bot, customer=get_customer(account=bot, key="ana"), text="Never arrives")
    assert client.replies(base, bot, "ana") == []


def test_log_shows_masked_calls_and_deliveries(base, receiver):
    bot = create_account(platform="viber", webhook_url=receiver.url)
    requests.post(f"{base}/simulator/api/viber/get_account_info", json={"auth_token": bot.token}, timeout=10)
    client.send_text(base, bot, "ana", "Hello")
    log = requests.get(f"{base}/simulator/chat/{bot.id}/log", timeout=10)
    assert bot.token not in log.text
    data = log.json()
    assert data["requests"][0]["path"] == "/simulator/api/viber/get_account_info"
    assert '"auth_token": "[redacted]"' in data["requests"][0]["body"]
    assert data["deliveries"][0]["kind"] == "message" and data["deliveries"][0]["status"] == "delivered"
    assert "X-Viber-Content-Signature" in data["deliveries"][0]["headers"]
    assert SimRequest.objects.filter(account=bot).count() == 1
