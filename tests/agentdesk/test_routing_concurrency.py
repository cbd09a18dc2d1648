"""Routing under real concurrency on PostgreSQL: parallel arrivals and parallel Ready events.

Each thread has its own database connection, so the row locks are what keeps the invariants:
a chat is never pending or connected with two agents, no agent exceeds its capacity, and no
wake-up is lost (every slot that can be filled is filled, the rest of the chats wait).
"""

import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from agentdesk import routing, services
from agentdesk.models import Agent, ChatAssignment, QueuedChat

pytestmark = [pytest.mark.postgres]


def run_in_parallel(jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def worker(job):
        try:
            barrier.wait(timeout=30)
            job()
        except Exception as exc:  # collected and reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    assert not errors, errors


def assert_invariants(agents):
    holding = ChatAssignment.objects.filter(status__in=ChatAssignment.HOLDING)
    per_chat = Counter(holding.values_list("interaction_id", flat=True))
    assert all(n == 1 for n in per_chat.values()), per_chat
    per_agent = Counter(holding.values_list("agent_id", flat=True))
    for agent in agents:
        assert per_agent[agent.pk] <= agent.capacity
    queued = set(QueuedChat.objects.values_list("interaction_id", flat=True))
    assert not queued & set(per_chat), "a chat is both queued and reserved"
    return per_chat, per_agent, queued


@pytest.mark.parametrize("rounds", [3])
def test_parallel_arrivals_and_ready_events_never_double_book(require_postgres, desk_tx, rounds):
    service = desk_tx.service()
    for round_no in range(rounds):
        agents = [
            desk_tx.agent(f"r{round_no}a{i}", skills={service.skill: 50}, state=Agent.State.NOT_READY, chat_share=50)
            for i in range(4)
        ]  # 4 agents x 2 chats = 8 slots
        chats = [desk_tx.chat() for _ in range(12)]

        arrivals = [lambda c=c: routing.find_agent(interaction=c, skill_ids=[service.skill_id]) for c in chats]
        readies = [lambda a=a: services.set_state(agent_user=a.user, state=Agent.State.READY) for a in agents]
        run_in_parallel(arrivals + readies)

        per_chat, per_agent, queued = assert_invariants(agents)
        # Nothing lost: all eight slots are taken and the four other chats wait.
        assert len(per_chat) == 8
        assert all(per_agent[a.pk] == 2 for a in agents)
        assert queued == {c.pk for c in chats} - set(per_chat)

        # Clean slate for the next round: these agents leave, their chats are dropped.
        for agent in agents:
            services.log_out(agent_user=agent.user)
        QueuedChat.objects.all().delete()


def test_parallel_frees_take_each_queued_chat_once(require_postgres, desk_tx):
    service = desk_tx.service()
    agents = [desk_tx.agent(f"f{i}", skills={service.skill: 50}, chat_share=100) for i in range(4)]
    first = [desk_tx.chat() for _ in agents]
    for chat in first:
        result = routing.find_agent(interaction=chat, skill_ids=[service.skill_id])
        user = Agent.objects.get(user_id=result.agent_user_id).user
        services.offer_chat(interaction=chat, agent_user=user)
        services.accept_offer(agent_user=user, interaction_id=chat.pk)
    waiting = [desk_tx.chat() for _ in range(3)]
    for chat in waiting:
        assert routing.find_agent(interaction=chat, skill_ids=[service.skill_id]).queued

    ends = [
        lambda c=c: services.end_chat(interaction=c, by="agent", agent_user=c.assignments.get().agent.user)
        for c in first
    ]
    more = [desk_tx.chat() for _ in range(2)]
    arrivals = [lambda c=c: routing.find_agent(interaction=c, skill_ids=[service.skill_id]) for c in more]
    run_in_parallel(ends + arrivals)

    per_chat, per_agent, queued = assert_invariants(agents)
    assert len(per_chat) == 4  # four agents, one chat each
    assert len(queued) == 1
    # The three that waited longest were served before the later arrivals could overtake
    # all of them: at most the two new arrivals took free slots first.
    assert len(set(per_chat) & {c.pk for c in waiting}) >= 2
