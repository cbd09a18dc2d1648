"""The one place tests build their objects, through the models' and services' public API.

Suites arrange with these (their conftest modules add fixtures around them); names say what
the product calls the thing: an integration account, a customer, a chat, a scenario entry,
a service, an agent.
"""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from agentdesk.models import Agent, AgentSkill
from agentdesk.states import change_state
from conversations.models import Customer, Interaction, Message
from conversations.services import open_interaction, record_inbound_message, upsert_customer
from integrations.models import IntegrationAccount
from scenarios.models import Block, Scenario, ScenarioEntry, Service
from scenarios.services import assign_account
from scenarios.validation import BlockSpec, validate_blocks

PASSWORD = "a-long-password-1"
_seq = itertools.count(1)


def unique(prefix: str = "") -> str:
    return f"{prefix}{next(_seq)}"


# --- Integrations -----------------------------------------------------------------------


def account(messenger: str = "telegram", *, validated: bool = False, **fields) -> IntegrationAccount:
    """An integration account; `validated` runs the model's checks first, as the admin does."""
    n = next(_seq)
    fields.setdefault("name", f"{messenger} bot {n}")
    if messenger == "telegram" and not validated:
        fields.setdefault("access_token", f"{n}:token")
    found = IntegrationAccount(messenger=messenger, **fields)
    if validated:
        found.full_clean()
    found.save()
    return found


# --- Conversations ----------------------------------------------------------------------


def customer(on: IntegrationAccount, *, external_id: str = "", **profile) -> Customer:
    """A customer of the account, created (or refreshed) as ingest does."""
    return upsert_customer(account=on, external_id=external_id or unique("c"), profile=profile)


def customer_says(interaction: Interaction, text: str) -> Message:
    """A stored customer message, as the inbox processor writes it (no chat event)."""
    n = next(_seq)
    return record_inbound_message(
        interaction=interaction,
        kind=Message.Kind.TEXT,
        text=text,
        attachment={},
        platform_event_id=f"ev{n}",
        platform_message_id=f"m{n}",
        platform_timestamp=None,
    )


def chat(on: IntegrationAccount, *, text: str = "Hello", external_id: str = "", **profile) -> Interaction:
    """An open chat of a (new) customer of the account, with the customer's first message."""
    interaction, _ = open_interaction(customer=customer(on, external_id=external_id, **profile))
    if text:
        customer_says(interaction, text)
    return interaction


# --- Scenarios --------------------------------------------------------------------------


def scenario(blocks: list[tuple], *, name: str | None = None) -> Scenario:
    """blocks: (key, type, settings, exits) in run order; the scenario must validate."""
    specs = [BlockSpec(key, key, kind, settings, exits) for key, kind, settings, exits in blocks]
    errors = validate_blocks(specs)
    assert errors == [], errors
    built = Scenario.objects.create(name=name or unique("Scenario "))
    for order, spec in enumerate(specs):
        Block.objects.create(
            scenario=built,
            key=spec.key,
            order=order,
            title=spec.title,
            type=spec.type,
            settings=spec.settings,
            exits=spec.exits,
        )
    return built


def entry(blocks: list[tuple], *, on: IntegrationAccount | None = None, **fields) -> ScenarioEntry:
    """A scenario entry running those blocks, holding the account (a new Telegram one)."""
    built = ScenarioEntry.objects.create(name=unique("Entry "), scenario=scenario(blocks), **fields)
    assign_account(account=on or account(), entry=built)
    return built


def interaction_on(built_entry: ScenarioEntry, **customer_fields) -> Interaction:
    """An open chat (no message yet) of a new customer of the entry's account."""
    on = built_entry.account_assignments.get().account
    customer_fields.setdefault("first_name", "Ann")
    person = Customer.objects.create(account=on, external_id=str(100000 + next(_seq)), **customer_fields)
    return Interaction.objects.create(account=on, customer=person)


# --- The desk ---------------------------------------------------------------------------


def service(name: str = "Support", **fields) -> Service:
    built = Service(name=name, **fields)
    built.save()  # creates its service skill
    return built


def agent(username: str, *, skills=None, state: str = Agent.State.READY, chat_share: int = 25, **fields) -> Agent:
    """A user with an agent profile, the given {skill: level}, in `state`."""
    user = get_user_model().objects.create_user(
        username, password=PASSWORD, first_name=username.capitalize(), is_staff=fields.pop("is_staff", False)
    )
    built = Agent.objects.create(user=user, chat_share=chat_share, **fields)
    for skill, level in (skills or {}).items():
        AgentSkill.objects.create(agent=built, skill=skill, level=level)
    if state != Agent.State.LOGGED_OUT:
        change_state(built, state, cause="test")
    return built
