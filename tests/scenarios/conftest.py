"""Small factories for scenario tests: accounts, customers, entries with a scenario of blocks."""

from __future__ import annotations

import itertools

import pytest

from conversations.models import Customer, Interaction, Message
from integrations.models import IntegrationAccount
from scenarios import engine
from scenarios.models import Block, Scenario, ScenarioEntry, ScenarioRun
from scenarios.services import assign_account
from scenarios.validation import BlockSpec, validate_blocks

# Real Celery worker and beat processes on this run's Redis (shared with the outbound tests).
from tests.outbound.conftest import celery_processes  # noqa: F401, E402

_seq = itertools.count(1)


def make_account(messenger: str = "telegram", **fields) -> IntegrationAccount:
    n = next(_seq)
    return IntegrationAccount.objects.create(
        messenger=messenger, name=f"{messenger} bot {n}", access_token=f"{n}:token", **fields
    )


def make_scenario(blocks: list[tuple], *, name: str | None = None) -> Scenario:
    """blocks: (key, type, settings, exits) in run order; the scenario must validate."""
    specs = [BlockSpec(key, key, kind, settings, exits) for key, kind, settings, exits in blocks]
    errors = validate_blocks(specs)
    assert errors == [], errors
    scenario = Scenario.objects.create(name=name or f"Scenario {next(_seq)}")
    for order, spec in enumerate(specs):
        Block.objects.create(
            scenario=scenario,
            key=spec.key,
            order=order,
            title=spec.title,
            type=spec.type,
            settings=spec.settings,
            exits=spec.exits,
        )
    return scenario


def make_entry(blocks: list[tuple], *, account=None, **fields) -> ScenarioEntry:
    entry = ScenarioEntry.objects.create(name=f"Entry {next(_seq)}", scenario=make_scenario(blocks), **fields)
    assign_account(account=account or make_account(), entry=entry)
    return entry


def make_interaction(entry: ScenarioEntry, **customer_fields) -> Interaction:
    account = entry.account_assignments.get().account
    customer_fields.setdefault("first_name", "Ann")
    customer = Customer.objects.create(account=account, external_id=str(100000 + next(_seq)), **customer_fields)
    return Interaction.objects.create(account=account, customer=customer)


def customer_writes(interaction: Interaction, text: str) -> Message:
    """Store an inbound message and hand it to the engine, as ingest does after commit."""
    message = Message.objects.create(
        interaction=interaction,
        account=interaction.account,
        customer=interaction.customer,
        direction=Message.Direction.INBOUND,
        sender=Message.Sender.CUSTOMER,
        text=text,
        status=Message.Status.RECEIVED,
    )
    engine.handle_event(interaction_id=interaction.pk, event="customer_message", data={"message_id": message.pk})
    return message


def bot_texts(interaction: Interaction) -> list[str]:
    return list(
        Message.objects.filter(interaction=interaction, direction=Message.Direction.OUTBOUND)
        .order_by("id")
        .values_list("text", flat=True)
    )


def run_of(interaction: Interaction) -> ScenarioRun:
    return ScenarioRun.objects.get(interaction=interaction)


def fire_due_timers(interaction: Interaction, *, now) -> None:
    """What beat's sweeper does, with the clock at `now`, then the engine's turn for each."""
    from scenarios.services import due_timer_ids

    for interaction_id, timer_id in due_timer_ids(now=now):
        engine.handle_event(interaction_id=interaction_id, event="timer", data={"timer_id": timer_id})


@pytest.fixture
def chat(db):
    """chat(blocks, **entry_fields) -> an open interaction on an entry running those blocks."""

    def build(blocks, customer=None, **entry_fields):
        return make_interaction(make_entry(blocks, **entry_fields), **(customer or {}))

    return build


@pytest.fixture
def mobile_chat(db):
    """The stock Mobile Chat scenario. The data migration installs it; a transactional test run
    earlier flushes the tables, so install it again the same way when it is gone."""
    import importlib

    from django.apps import apps

    if not Scenario.objects.filter(name="Mobile Chat").exists():
        importlib.import_module("scenarios.migrations.0004_stock_mobile_chat_texts").install(apps, None)
    return Scenario.objects.get(name="Mobile Chat")
