"""End to end through the simulator: a customer writes on the fake platform, the platform
delivers a signed webhook over real HTTP, and the message lands with the customer's profile.
"""

from __future__ import annotations

import pytest

from conversations.models import Customer, Message
from simulator.client import send_text
from simulator.services import register_webhook

# What each platform lets us know of the person "Ana Lee" (LINE: displayName; Vonage SMS: nothing).
EXPECTED_PROFILE = {
    "telegram": {"first_name": "Ana", "last_name": "Lee", "name": "Ana Lee"},
    "facebook": {"first_name": "Ana", "last_name": "Lee", "name": "Ana Lee"},
    "line": {"display_name": "Ana Lee", "name": "Ana Lee"},
    "viber": {"display_name": "Ana Lee", "name": "Ana Lee"},
    "nexmo": {"name": ""},
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("messenger", sorted(EXPECTED_PROFILE))
def test_a_customer_text_reaches_the_database_with_the_profile(linked_account, live_server, messenger):
    account, sim_account = linked_account(messenger)
    register_webhook(
        account=sim_account,
        url=account.webhook_url,
        secret=account.webhook_secret if messenger == "telegram" else "",
        status_url=f"{account.webhook_url}status/" if messenger == "nexmo" else "",
    )

    sent = send_text(live_server.url, sim_account, "ana", "Hello from the simulator", name="Ana Lee")

    message = Message.objects.get(account=account)
    assert (message.direction, message.sender, message.kind) == ("in", "customer", "text")
    assert message.text == "Hello from the simulator"
    customer = Customer.objects.get(account=account)
    assert message.customer_id == customer.pk and message.interaction.status == "open"
    sim_customer = sim_account.customers.get(key="ana")
    assert customer.external_id == sim_customer.external_id
    assert customer.chat_id == sim_customer.external_id
    profile = {key: getattr(customer, key) for key in EXPECTED_PROFILE[messenger]}
    assert profile == EXPECTED_PROFILE[messenger]
    if messenger in ("facebook", "line"):
        assert customer.profile_fetched_at is not None  # fetched once, after the commit
    assert sent["message"]["text"] == "Hello from the simulator"

    # The customer writes again: same customer, same chat, and no second profile fetch needed.
    send_text(live_server.url, sim_account, "ana", "Second", name="Ana Lee")
    assert Customer.objects.filter(account=account).count() == 1
    assert list(message.interaction.messages.values_list("text", flat=True)) == ["Hello from the simulator", "Second"]
