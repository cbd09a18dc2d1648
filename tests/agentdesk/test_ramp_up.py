"""Agent ramp-up (Chat Settings): after an agent goes Ready, queued chats are offered one at a
time, spaced by the ramp-up interval; the spacing is a stored deadline (countdown + sweeper)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from agentdesk import routing, services, tasks
from agentdesk.models import Agent, ChatAssignment
from scenarios.models import ChatSettings
from simulator.services import customer_says, get_customer
from tests.outbound.conftest import (
    celery_processes,  # noqa: F401 (fixture)
    wait_until,
)
from tests.scenarios.conftest import mobile_chat  # noqa: F401, F811 (fixture)
from tests.scenarios.test_end_to_end import has, logged_in_agent, setup_chat


def held(agent) -> int:
    return ChatAssignment.objects.filter(agent=agent, status__in=ChatAssignment.HOLDING).count()


def test_queued_chats_come_one_per_interval_and_the_sweeper_hands_out_the_next(desk):
    ChatSettings(ramp_up_interval=30).save()
    service = desk.service()
    agent = desk.agent("ramp", skills={service.skill: 50}, state=Agent.State.NOT_READY)
    chats = [desk.chat() for _ in range(3)]
    for chat in chats:
        assert routing.find_agent(interaction=chat, skill_ids=[service.skill_id]).queued

    with transaction.atomic():
        services.set_state(agent_user=agent.user, state="ready")
    assert held(agent) == 1  # not all three at once
    agent.refresh_from_db()
    assert agent.ramp_up_until is not None

    # A new arrival meanwhile waits too, though the agent has spare capacity.
    assert routing.find_agent(interaction=desk.chat(), skill_ids=[service.skill_id]).queued
    assert tasks.sweep_deadlines() == 0 and held(agent) == 1

    Agent.objects.filter(pk=agent.pk).update(ramp_up_until=timezone.now() - dt.timedelta(seconds=1))
    assert tasks.sweep_deadlines() == 1  # the countdown was lost: beat's sweeper fires the row
    assert held(agent) == 2


def test_without_ramp_up_every_queued_chat_comes_at_once(desk):
    service = desk.service()
    agent = desk.agent("eager", skills={service.skill: 50}, state=Agent.State.NOT_READY)
    for _ in range(3):
        routing.find_agent(interaction=desk.chat(), skill_ids=[service.skill_id])
    with transaction.atomic():
        services.set_state(agent_user=agent.user, state="ready")
    assert held(agent) == 3


@pytest.mark.parametrize("shape", ["embedded", pytest.param("worker", marks=pytest.mark.celery_worker)])
def test_offers_through_the_simulator_are_spaced_by_the_interval(live_daphne, mobile_chat, shape, request):  # noqa: F811
    """On the worker shape the spacing countdowns and the desk sweeper run in a Celery worker and beat."""
    ChatSettings(ramp_up_interval=2).save()
    if shape == "worker":
        processes = request.getfixturevalue("celery_processes")
        processes.worker()
        processes.beat()
    account, sim, team = setup_chat(live_daphne.url, mobile_chat)
    agent = logged_in_agent("rita", team)  # logged in, Not Ready: the chats queue
    for name in ("ann", "bea", "cid"):
        customer_says(account=sim, customer=get_customer(account=sim, key=name, name=name.title()), text="Hi")
    wait_until(
        lambda: sum(t.startswith("All our agents are busy") for t in [m.text for m in sim.messages.all()]) == 3,
        what="three queued chats",
        timeout=30,
    )
    with transaction.atomic():
        services.set_state(agent_user=agent.user, state="ready")
    wait_until(lambda: ChatAssignment.objects.filter(agent=agent, status="offered").count() == 3, what="3 offers")
    offered = sorted(ChatAssignment.objects.filter(agent=agent).values_list("offered_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in zip(offered, offered[1:], strict=False)]
    assert all(gap >= 1.9 for gap in gaps), gaps
    assert has(sim, "We are connecting you to rita")()
