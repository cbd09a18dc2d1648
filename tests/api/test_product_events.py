"""The product's own changes reach integrators as signed event webhooks, through the outbox."""

import json

import pytest

from agentdesk.models import Agent
from agentdesk.services import set_state
from api import event_webhooks, integration_events
from api.models import WebhookDelivery
from conversations.models import ChatEvent
from tests.api.test_event_webhooks import SECRET, Receiver, fast_retries, subscribe, wait_for  # noqa: F401
from tests.integrations.webhook_support import json_body, post_webhook, webhook_account

pytestmark = pytest.mark.django_db(transaction=True)

ALL_KINDS = [
    "interaction.created",
    "interaction.assigned",
    "interaction.ended",
    "message.created",
    "message.status_changed",
    "agent.state_changed",
]


def telegram_update(update_id: int, text: str) -> bytes:
    return json_body(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1764600000,
                "chat": {"id": 4242, "type": "private", "first_name": "Ann"},
                "from": {"id": 4242, "is_bot": False, "first_name": "Ann", "language_code": "en"},
                "text": text,
            },
        }
    )


@pytest.mark.usefixtures("fast_retries")
def test_a_customer_message_and_an_agent_state_change_reach_the_receiver(client, django_user_model):
    receiver = Receiver()
    try:
        subscribe(receiver.url, ALL_KINDS)
        account = webhook_account("telegram")
        response = post_webhook(client, account, telegram_update(900001, "Where is my order?"))
        assert response.status_code == 200
        user = django_user_model.objects.create_user("crm-agent", password="x")  # noqa: S106
        Agent.objects.create(user=user)
        set_state(agent_user=user, state=Agent.State.READY)

        wait_for(lambda: len(receiver.requests) >= 3)
        kinds = sorted(r["headers"]["X-Webhook-Event"] for r in receiver.requests)
        assert kinds == ["agent.state_changed", "interaction.created", "message.created"]
        bodies = {r["headers"]["X-Webhook-Event"]: r for r in receiver.requests}
        message = json.loads(bodies["message.created"]["body"])
        assert message["data"]["message"]["text"] == "Where is my order?"
        state = json.loads(bodies["agent.state_changed"]["body"])
        assert state["data"]["state"] == "ready" and state["data"]["agent_user_id"] == user.pk
        for request in receiver.requests:
            headers = request["headers"]
            assert event_webhooks.verify(
                SECRET,
                body=request["body"],
                timestamp=headers["X-Webhook-Timestamp"],
                signature=headers["X-Signature-256"],
            )
    finally:
        receiver.close()


def test_without_subscriptions_no_extra_event_is_written(client):
    integration_events.forget_cached_kinds()  # the flush between tests sends no signals
    account = webhook_account("telegram")
    assert post_webhook(client, account, telegram_update(900002, "hello")).status_code == 200
    kinds = set(ChatEvent.objects.values_list("kind", flat=True))
    assert kinds == {"customer_message"}  # the scenario engine's; none for integrators
    assert not WebhookDelivery.objects.exists()
