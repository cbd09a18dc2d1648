"""The chat page's send and poll endpoints report a message's real fate and store a re-sent
request once (Django test client; the webhook target is a local receiver)."""

import json

import pytest
from django.db import OperationalError

from simulator import delivery
from simulator.factories import create_account
from simulator.models import SimDelivery, SimMessage

pytestmark = pytest.mark.django_db


def send(client, bot, text: str, **extra):
    body = {"customer": "ana", "name": "Ana Lee", "text": text, **extra}
    return client.post(f"/simulator/chat/{bot.id}/send", json.dumps(body), content_type="application/json")


def poll(client, bot, *, after: int = 0, watch: list[int] = ()):
    query = {"customer": "ana", "after": after, "watch": ",".join(map(str, watch))}
    return client.get(f"/simulator/chat/{bot.id}/messages", query).json()


def test_a_send_re_sent_with_the_same_client_key_is_stored_and_delivered_once(client, receiver):
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")

    first = send(client, bot, "Hello", client_key="k-1")
    again = send(client, bot, "Hello", client_key="k-1")  # the page lost the first answer

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert again.json()["message"]["fate"]["state"] == "delivered"
    assert SimMessage.objects.filter(direction="in").count() == 1
    assert len(receiver.posts()) == 1


def test_a_failure_after_the_webhook_call_is_not_a_500_and_the_delivery_stays_durable(client, receiver, monkeypatch):
    """Seen: "Not sent (HTTP 500)" for a delivered message: the webhook answered 200, then
    recording the attempt failed (SQLite busy) and the send view answered 500."""
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")

    def busy(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(delivery, "_record", busy)
    response = send(client, bot, "Hello", client_key="k-2")

    assert response.status_code == 201
    assert len(receiver.posts()) == 1  # it did reach the product
    fate = response.json()["message"]["fate"]
    assert (fate["state"], fate["final"]) == ("delivering", False)
    assert SimDelivery.objects.get(kind="message").status == "pending"  # retried after the lease


def test_the_poll_reports_retrying_then_delivered_for_watched_messages(client, receiver):
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")
    receiver.statuses = [500]

    sent = send(client, bot, "Hello").json()["message"]
    assert sent["fate"]["state"] == "retrying"
    assert sent["fate"]["text"].startswith("Webhook answered HTTP 500 (attempt 1 of 8); the platform retries in ")

    delivery.make_due(SimDelivery.objects.get(kind="message"))
    data = poll(client, bot, after=sent["id"], watch=[sent["id"]])

    assert data["messages"] == []  # nothing new: the message itself is not sent again
    fate = data["fates"][str(sent["id"])]
    assert (fate["state"], fate["final"]) == ("delivered", True)
    assert fate["text"] == "Delivered to the webhook (HTTP 200) after 2 attempts."


def test_a_delivery_the_platform_gave_up_on_says_so_with_the_last_answer(client, receiver):
    bot = create_account(platform="viber", webhook_url=receiver.url)
    receiver.statuses = [503]
    sent = send(client, bot, "Hello").json()["message"]
    SimDelivery.objects.filter(kind="message").update(status="failed", attempts=8)

    fate = poll(client, bot)["messages"][0]["fate"]

    assert fate["state"] == "failed"
    assert fate["text"] == "Not delivered: the platform gave up after 8 attempts (last: HTTP 503)."
    assert poll(client, bot, after=sent["id"], watch=[sent["id"]])["fates"][str(sent["id"])] == fate


def test_a_bad_client_key_is_refused(client):
    bot = create_account(platform="telegram")
    assert send(client, bot, "Hello", client_key="no spaces").status_code == 400
