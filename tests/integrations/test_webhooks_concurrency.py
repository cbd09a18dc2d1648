"""Platforms redeliver in parallel: identical deliveries racing on PostgreSQL store one event."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from conversations.models import Customer, Interaction, Message
from integrations.models import InboxEvent
from tests.integrations.webhook_support import MESSENGERS, fixture_body, post_webhook, webhook_account

TEXT_FIXTURE = {
    "telegram": "text__basic",
    "facebook": "batched__two_entries",  # three messages from two customers, all at once
    "line": "batched__three_events",
    "viber": "text__basic",
    "nexmo": "text__sms",
}
EXPECTED_MESSAGES = {"telegram": 1, "facebook": 3, "line": 3, "viber": 1, "nexmo": 1}


def _race(deliveries: list) -> list[int]:
    """Run every delivery callable in its own thread, released together; their status codes."""
    barrier = threading.Barrier(len(deliveries))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(deliver):
        try:
            client = Client(enforce_csrf_checks=True)
            barrier.wait(timeout=30)
            statuses.append(deliver(client).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(deliver,)) for deliver in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return statuses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("messenger", MESSENGERS)
def test_fifty_concurrent_identical_deliveries_store_one(require_postgres, messenger):
    account = webhook_account(messenger)
    body = fixture_body(messenger, TEXT_FIXTURE[messenger])

    statuses = _race([lambda client: post_webhook(client, account, body)] * 50)

    assert statuses == [200] * 50
    assert Message.objects.filter(account=account).count() == EXPECTED_MESSAGES[messenger]
    assert InboxEvent.objects.filter(account=account).count() == EXPECTED_MESSAGES[messenger]
    customers = Customer.objects.filter(account=account)
    assert Interaction.objects.filter(status="open").count() == customers.count() >= 1


@pytest.mark.django_db(transaction=True)
def test_a_new_customer_writing_many_messages_at_once_gets_one_chat(require_postgres):
    account = webhook_account("telegram")
    template = json.loads(fixture_body("telegram", "text__basic"))
    bodies = []
    for n in range(20):
        update = json.loads(json.dumps(template))
        update["update_id"] += n
        update["message"]["message_id"] += n
        update["message"]["text"] = f"message {n}"
        bodies.append(json.dumps(update).encode())

    statuses = _race([lambda client, body=body: post_webhook(client, account, body) for body in bodies])

    assert statuses == [200] * 20
    assert Customer.objects.filter(account=account).count() == 1
    chat = Interaction.objects.get(account=account)
    assert chat.status == "open"
    assert sorted(chat.messages.values_list("text", flat=True)) == sorted(f"message {n}" for n in range(20))
