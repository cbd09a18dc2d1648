"""The simulator's admin (write-only credentials, Facebook verify action) and simulator_deliver."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from simulator import delivery
from simulator.factories import create_account
from simulator.models import SimAccount, SimDelivery
from simulator.services import customer_says, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_never_shows_credentials_and_keeps_them_when_blank(admin_client):
    bot = create_account(platform="telegram", name="Acme")
    page = admin_client.get(reverse("admin:simulator_simaccount_change", args=[bot.id]))
    assert page.status_code == 200
    assert bot.token not in page.content.decode() and "blank keeps it" in page.content.decode()

    form = {
        "platform": "telegram",
        "name": "Acme renamed",
        "username": bot.username,
        "platform_id": bot.platform_id,
        "token": "",
        "webhook_events": "[]",
        "webhook_active": "on",
        "next_update_id": "0",
        "next_message_id": "1",
        "balance": "29.18",
        "latency_ms": "0",
        "rate_limit": "3",
        "forced_error": "blocked",
        "drop_mode": "",
    }
    saved = admin_client.post(reverse("admin:simulator_simaccount_change", args=[bot.id]), form)
    assert saved.status_code == 302
    stored = SimAccount.objects.get(id=bot.id)
    assert stored.token == bot.token and stored.name == "Acme renamed"
    assert (stored.rate_limit, stored.forced_error) == (3, "blocked")

    added = admin_client.post(reverse("admin:simulator_simaccount_add"), form | {"name": "New", "platform_id": ""})
    assert added.status_code == 302
    new = SimAccount.objects.get(name="New")
    assert new.token.startswith(new.platform_id + ":")  # generated in Telegram's shape


def test_admin_verify_action_runs_the_handshake(admin_client, receiver):
    page = create_account(platform="facebook", webhook_url=receiver.url, webhook_secret="verify-me")
    answer = admin_client.post(
        reverse("admin:simulator_simaccount_changelist"),
        {"action": "verify_facebook_callback", "_selected_action": [page.id]},
        follow=True,
    )
    assert "verified" in answer.content.decode()
    assert receiver.requests[-1]["query"]["hub.verify_token"] == "verify-me"
    assert SimDelivery.objects.get(account=page, kind="verify").status == "delivered"


def test_simulator_deliver_command_retries_due_deliveries(receiver):
    bot = create_account(platform="line", webhook_url=receiver.url)
    receiver.statuses = [500]
    customer_says(account=bot, customer=get_customer(account=bot, key="ana"), text="Hello")
    delivery.make_due(SimDelivery.objects.get(account=bot))
    out = io.StringIO()
    call_command("simulator_deliver", stdout=out)
    assert "1 deliveries attempted" in out.getvalue()
    assert SimDelivery.objects.get(account=bot).status == "delivered"
