"""The inactivity timeout through the simulator on both shapes: a silent customer is warned at
half the timeout, the chat closes at the timeout and the agent is freed, and a restart in
between (server or worker) changes nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from agentdesk import services as desk
from agentdesk.models import Agent, ChatAssignment
from conversations.models import ChatEvent, Interaction
from scenarios.models import ChatSettings, ScenarioRun
from simulator.services import customer_says, get_customer
from tests.outbound.conftest import wait_until
from tests.scenarios.test_end_to_end import has, logged_in_agent, setup_chat, texts

WARNING = "Still there?"
CLOSING = "Closed for inactivity."
TIMEOUT = 8  # the warning at 4 s


def arrange(live_daphne, mobile_chat):
    ChatSettings(inactivity_timeout=TIMEOUT, inactivity_warning_text=WARNING, inactivity_timeout_text=CLOSING).save()
    account, sim, team = setup_chat(live_daphne.url, mobile_chat)
    agent = logged_in_agent("alice", team)
    with transaction.atomic():
        desk.set_state(agent_user=agent.user, state="ready")
    return account, sim, agent


def customer_writes_and_agent_accepts(account, sim, agent) -> Interaction:
    customer_says(account=sim, customer=get_customer(account=sim, key="ann", name="Ann"), text="Hello")
    wait_until(lambda: Interaction.objects.filter(account=account).exists(), what="the interaction", timeout=20)
    interaction = Interaction.objects.get(account=account)
    wait_until(
        lambda: ChatAssignment.objects.filter(interaction=interaction, status="offered").exists(),
        what="the offer",
        timeout=20,
    )
    desk.accept_offer(agent_user=agent.user, interaction_id=interaction.pk)
    return interaction


def assert_closed_once(sim, interaction, agent):
    wait_until(has(sim, CLOSING), what="the timeout message", timeout=30)
    wait_until(
        lambda: Interaction.objects.get(pk=interaction.pk).status == Interaction.Status.CLOSED,
        what="the chat to close",
        timeout=10,
    )
    interaction.refresh_from_db()
    assert interaction.closed_reason == "inactivity_timeout"
    ended = ChatEvent.objects.get(interaction=interaction, kind="chat_ended")
    assert ended.data == {"by": "system", "cause": "InactivityTimeout"}
    assignment = ChatAssignment.objects.get(interaction=interaction, agent=agent)
    assert assignment.status not in ChatAssignment.HOLDING and assignment.end_cause == "InactivityTimeout"
    agent.refresh_from_db()
    assert agent.state in (Agent.State.AFTER_CALL_WORK, Agent.State.READY)
    wait_until(lambda: ScenarioRun.objects.get(interaction=interaction).state == "finished", what="the run to end")
    counts = Counter(texts(sim))
    assert counts[WARNING] == 1 and counts[CLOSING] == 1
    assert texts(sim)[-2:] == [WARNING, CLOSING]


@pytest.mark.embedded_beat
def test_embedded_a_silent_customer_is_warned_then_closed_across_a_server_restart(live_daphne, mobile_chat):
    account, sim, agent = arrange(live_daphne, mobile_chat)
    interaction = customer_writes_and_agent_accepts(account, sim, agent)
    assert Interaction.objects.get(pk=interaction.pk).status == Interaction.Status.OPEN
    wait_until(has(sim, WARNING), what="the warning at half the timeout", timeout=20)
    assert ChatAssignment.objects.get(interaction=interaction).status == "active"

    live_daphne.restart()  # the countdown dies with the process; the new server's beat sweeps the row
    assert_closed_once(sim, interaction, agent)


@pytest.mark.celery_worker
def test_worker_a_silent_customer_is_warned_then_closed_across_a_worker_restart(
    live_daphne, celery_processes, mobile_chat
):
    account, sim, agent = arrange(live_daphne, mobile_chat)
    worker = celery_processes.worker()
    celery_processes.beat()
    interaction = customer_writes_and_agent_accepts(account, sim, agent)
    wait_until(has(sim, WARNING), what="the warning at half the timeout", timeout=20)

    celery_processes.kill_hard(worker)
    live_daphne.restart()
    celery_processes.worker()
    assert_closed_once(sim, interaction, agent)


@pytest.mark.embedded_beat
def test_a_customer_message_moves_the_deadline(live_daphne, mobile_chat):
    account, sim, agent = arrange(live_daphne, mobile_chat)
    interaction = customer_writes_and_agent_accepts(account, sim, agent)
    ann = get_customer(account=sim, key="ann")
    import time

    time.sleep(TIMEOUT / 2 - 1.5)
    customer_says(account=sim, customer=ann, text="still here")
    time.sleep(2.5)  # past the first warning time: none, the deadline moved
    assert WARNING not in texts(sim)
    wait_until(has(sim, WARNING), what="the moved warning", timeout=20)
    assert_closed_once(sim, interaction, agent)
