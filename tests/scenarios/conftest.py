"""Fixtures for scenario tests; the objects come from tests/factories.py."""

from __future__ import annotations

import pytest

from conversations.models import Interaction, Message
from scenarios import engine
from scenarios.models import Scenario, ScenarioRun
from tests import factories

# Real Celery worker and beat processes on this run's Redis (shared with the outbound tests).
from tests.outbound.conftest import celery_processes  # noqa: F401, E402

# The shared builders, under the names these suites use.
make_account = factories.account
make_scenario = factories.scenario
make_interaction = factories.interaction_on


def make_entry(blocks: list[tuple], *, account=None, **fields):
    return factories.entry(blocks, on=account, **fields)


def stored_inbound(interaction: Interaction, text: str) -> Message:
    """An inbound message as ingest stores it, not yet handed to the engine."""
    return Message.objects.create(
        interaction=interaction,
        account=interaction.account,
        customer=interaction.customer,
        direction=Message.Direction.INBOUND,
        sender=Message.Sender.CUSTOMER,
        text=text,
        status=Message.Status.RECEIVED,
    )


def customer_writes(interaction: Interaction, text: str) -> Message:
    """Store an inbound message and hand it to the engine, as ingest does after commit."""
    message = stored_inbound(interaction, text)
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
