"""Agent-started chats: an agent of a service with an outbound Telegram account writes first to
a known customer through the simulator; the chat is the agent's at once (capacity), runs no
scenario, and the customer's answer lands in the same interaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from agentdesk.models import Agent, ChatAssignment
from conversations.models import ChatEvent, Customer, Interaction, Message
from scenarios.models import ChatSettings, ScenarioRun, ServiceTeam, Team
from scenarios.services import assign_account
from simulator.models import SimMessage
from simulator.services import customer_says, get_customer, register_webhook
from tests import factories
from tests.outbound.conftest import (
    celery_processes,  # noqa: F401 (fixture)
    link_account,
    wait_until,
)


@pytest.mark.parametrize("shape", ["embedded", pytest.param("worker", marks=pytest.mark.celery_worker)])
def test_an_agent_starts_a_chat_to_a_known_telegram_customer_and_gets_the_answer(live_daphne, desk_tx, shape, request):
    """On the worker shape the first message goes out from a Celery worker."""
    ChatSettings(outbound_no_response_timeout=300).save()
    if shape == "worker":
        request.getfixturevalue("celery_processes").worker()
    account, sim = link_account(live_daphne.url)
    register_webhook(account=sim, url=f"{live_daphne.url}{account.webhook_path}", secret=account.webhook_secret)
    service = desk_tx.service("Sales")
    assign_account(account=account, service=service)  # the service's outbound chat account
    team = Team.objects.create(name="Sales team")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    agent = desk_tx.agent("olga", team=team, state=Agent.State.READY)
    # A customer who wrote to the bot before (no scenario entry holds the account).
    ann = get_customer(account=sim, key="ann", name="Ann Lee")
    customer_says(account=sim, customer=ann, text="hello earlier")
    wait_until(lambda: account.customers.exists(), what="the known customer", timeout=20)
    Interaction.objects.filter(account=account).update(status="closed")

    client = Client()
    client.force_login(agent.user)
    options = client.get("/agent/outbound/").json()
    assert options["services"][0]["accounts"][0]["id"] == str(account.pk)
    assert "wrote to this account before" in options["note"] and "Facebook" in options["note"]
    found = client.get("/agent/outbound/customers/", {"account": account.pk, "q": "ann"}).json()["customers"]
    assert [c["name"] for c in found] == ["Ann Lee"]

    answer = client.post(
        "/agent/outbound/start/", {"service": service.pk, "customer": found[0]["id"], "text": "Hi Ann, your order"}
    )
    assert answer.status_code == 201, answer.content
    interaction = Interaction.objects.get(pk=answer.json()["interaction_id"])
    assignment = ChatAssignment.objects.get(interaction=interaction)
    assert assignment.status == "active" and assignment.agent == agent and assignment.origin == "outbound"
    agent.refresh_from_db()
    assert agent.state == Agent.State.BUSY
    wait_until(
        lambda: SimMessage.objects.filter(account=sim, direction="out", text="Hi Ann, your order").exists(),
        what="the first message at the customer",
    )
    assert interaction.inactivity.timeout == 300  # the no-response timeout of the settings
    assert ChatEvent.objects.filter(interaction=interaction, kind="outbound_chat_started").exists()

    customer_says(account=sim, customer=ann, text="Thanks, when does it ship?")
    wait_until(
        lambda: Message.objects.filter(interaction=interaction, text="Thanks, when does it ship?").exists(),
        what="the answer in the same interaction",
        timeout=20,
    )
    assert not ScenarioRun.objects.filter(interaction=interaction).exists()

    # A second start to the same customer is refused while the chat is open.
    again = client.post("/agent/outbound/start/", {"service": service.pk, "customer": found[0]["id"], "text": "x"})
    assert again.status_code == 400 and again.json()["code"] == "busy_customer"


def test_facebook_customers_outside_the_window_are_marked_and_refused(desk):
    page = desk.account("facebook")
    service = desk.service("Sales")
    assign_account(account=page, service=service)
    team = Team.objects.create(name="Sales team")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    agent = desk.agent("olga", team=team)
    recent = factories.customer(page, external_id="psid-1", first_name="Ann")
    silent = factories.customer(page, external_id="psid-2", first_name="Eve")
    Customer.objects.filter(pk=recent.pk).update(last_inbound_at=timezone.now() - dt.timedelta(hours=2))
    Customer.objects.filter(pk=silent.pk).update(last_inbound_at=timezone.now() - dt.timedelta(days=2))
    client = Client()
    client.force_login(agent.user)

    found = client.get("/agent/outbound/customers/", {"account": page.pk}).json()["customers"]
    refusals = {c["name"]: c["refusal"] for c in found}
    assert refusals["Ann"] == "" and "24 hours" in refusals["Eve"]
    refused = client.post("/agent/outbound/start/", {"service": service.pk, "customer": silent.pk, "text": "Hi"})
    assert refused.status_code == 400 and refused.json()["code"] == "outside_window"

    page.allow_human_agent_tag = True  # the Human Agent tag: up to 7 days
    page.save(update_fields=["allow_human_agent_tag"])
    started = client.post("/agent/outbound/start/", {"service": service.pk, "customer": silent.pk, "text": "Hi"})
    assert started.status_code == 201, started.content
