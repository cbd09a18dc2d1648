"""Offers: ring an agent, accept, reject, miss; withdrawing an offer; leaving the queue.

Each action runs in one transaction and locks the Agent row(s) it changes first, in primary-key
order, then the assignment rows: the same order as routing, so they cannot deadlock with it.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from agentdesk import routing, states
from agentdesk.models import Agent, ChatAssignment, NotReadyReason, QueuedChat
from agentdesk.notify import notify_agents, notify_notice
from agentdesk.services.common import (
    TRANSFER_OFFER_TIMEOUT,
    end_active,
    lock_due_assignment,
    own_assignment,
    record_event,
    ring,
    settle,
)
from agentdesk.services.exceptions import NotYourChat
from conversations.models import ChatEvent, Interaction

logger = logging.getLogger(__name__)

State = Agent.State
Status = ChatAssignment.Status
Origin = ChatAssignment.Origin
Kind = ChatEvent.Kind


@transaction.atomic
def offer_chat(*, interaction, agent_user, no_answer_timeout: int = 10, auto_answer_after: int | None = None):
    """Offer the chat to the agent routing reserved (or, with spare capacity, any agent).

    The desktop rings; Accept, Reject, or no answer within `no_answer_timeout` seconds
    (the agent goes Not Ready, "Missed chat"). When the agent cannot take it any more
    (logged out meanwhile), the engine gets "offer_timed_out" at once.
    """
    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = (
        agent.assignments.select_for_update(of=("self",))
        .filter(interaction=interaction, status__in=ChatAssignment.PENDING)
        .first()
    )
    if assignment is None and routing.accepts_chats(agent, routing.holding_counts([agent.pk]).get(agent.pk, 0)):
        assignment = routing.reserve(agent=agent, interaction=interaction)
    if assignment is None or agent.state == State.LOGGED_OUT:
        logger.info("offer of interaction %s to %s not possible", interaction.pk, agent)
        record_event(interaction.pk, Kind.OFFER_TIMED_OUT, {"agent_user_id": agent.user_id})
        return assignment
    ring(assignment, no_answer_timeout=no_answer_timeout, auto_answer_after=auto_answer_after)
    return assignment


@transaction.atomic
def accept_offer(*, agent_user, interaction_id: int) -> ChatAssignment:
    """The agent accepts: the chat is connected to it (and leaves a transferring agent)."""
    previous = (
        ChatAssignment.objects.filter(interaction_id=interaction_id, status=Status.ACTIVE)
        .exclude(agent__user_id=agent_user.pk)
        .values_list("agent_id", flat=True)
        .first()
    )
    me = Agent.objects.filter(user_id=agent_user.pk).values_list("pk", flat=True).first()
    if me is None:
        raise NotYourChat("Only agents take chats.")
    agents = {
        a.pk: a
        for a in Agent.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk__in=sorted({me, *([previous] if previous else [])}))
        .order_by("pk")
    }
    agent = next(a for a in agents.values() if a.user_id == agent_user.pk)
    assignment = own_assignment(agent, interaction_id, [Status.OFFERED])
    if assignment.origin == Origin.TRANSFER:
        for other in ChatAssignment.objects.select_for_update(of=("self",)).filter(
            interaction_id=interaction_id, status=Status.ACTIVE
        ):
            end_active(other, cause="Transferred", wrap_up=False, status=Status.TRANSFERRED)
            settle(agents.get(other.agent_id) or states.lock_agent(user_id=other.agent.user_id), cause="transfer")
            record_event(
                interaction_id, Kind.AGENT_LEFT, {"agent_user_id": other.agent.user_id, "cause": "Transferred"}
            )
    now = timezone.now()
    assignment.status = Status.ACTIVE
    assignment.accepted_at = now
    assignment.offer_deadline = None
    assignment.save(update_fields=["status", "accepted_at", "offer_deadline"])
    Interaction.objects.filter(pk=interaction_id).update(agent=agent.user)
    settle(agent, cause="offer accepted")
    notify_agents(agent.user_id)
    if assignment.origin == Origin.SCENARIO:
        record_event(interaction_id, Kind.OFFER_ACCEPTED, {"agent_user_id": agent.user_id})
    record_event(interaction_id, Kind.AGENT_JOINED, {"agent_user_id": agent.user_id, "origin": assignment.origin})
    return assignment


@transaction.atomic
def reject_offer(*, agent_user, interaction_id: int) -> None:
    """Reject: Not Ready now with no other chat open, else once the others end."""
    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = own_assignment(agent, interaction_id, ChatAssignment.PENDING)
    withdraw_offer(assignment, status=Status.REJECTED)
    _not_ready_after_offer(agent, NotReadyReason.system("rejected_chat"), cause="offer rejected")


@transaction.atomic
def offer_timed_out(*, assignment_id: int, now: dt.datetime | None = None) -> bool:
    """No answer in time: the offer is missed and the agent goes Not Ready ("Missed chat")."""
    now = now or timezone.now()
    due = lock_due_assignment(assignment_id, status=Status.OFFERED, deadline_field="offer_deadline", now=now)
    if due is None:
        return False
    agent, assignment = due
    withdraw_offer(assignment, status=Status.MISSED)
    _not_ready_after_offer(agent, NotReadyReason.system("missed_chat"), cause="offer missed")
    return True


@transaction.atomic
def auto_answer(*, assignment_id: int, now: dt.datetime | None = None) -> bool:
    """Connect Chat's auto-answer: accept for the agent when the time comes."""
    now = now or timezone.now()
    assignment = ChatAssignment.objects.select_related("agent__user").filter(pk=assignment_id).first()
    if assignment is None or assignment.status != Status.OFFERED or not assignment.auto_answer_at:
        return False
    if assignment.auto_answer_at > now:
        return False
    accept_offer(agent_user=assignment.agent.user, interaction_id=assignment.interaction_id)
    return True


def _not_ready_after_offer(agent: Agent, reason: NotReadyReason, *, cause: str) -> None:
    if states.counts(agent)[0]:
        states.ask_not_ready_later(agent, reason)
        settle(agent, cause=cause)
    else:
        states.change_state(agent, State.NOT_READY, reason=reason, cause=cause)


def withdraw_offer(assignment: ChatAssignment, *, status: str) -> None:
    """The offer ends unanswered; whoever waits for the chat is told (engine or transferrer)."""
    assignment.status = status
    assignment.ended_at = timezone.now()
    assignment.offer_deadline = None
    assignment.save(update_fields=["status", "ended_at", "offer_deadline"])
    agent = assignment.agent
    notify_agents(agent.user_id)
    if assignment.origin == Origin.SCENARIO:
        event = Kind.OFFER_REJECTED if status == Status.REJECTED else Kind.OFFER_TIMED_OUT
        record_event(assignment.interaction_id, event, {"agent_user_id": agent.user_id})
        return
    # A transfer: to an agent, the transferring agent keeps the chat; to a queue, it queues again.
    holder = (
        ChatAssignment.objects.filter(interaction_id=assignment.interaction_id, status=Status.ACTIVE)
        .select_related("agent")
        .first()
    )
    if holder is not None:
        notify_notice(holder.agent.user_id, f"{agent.display_name} did not take the transfer.")
        notify_agents(holder.agent.user_id)
        return
    _requeue_transfer(assignment, exclude_user_id=agent.user_id)


def _requeue_transfer(assignment: ChatAssignment, *, exclude_user_id: int | None) -> None:
    service = assignment.service
    if service is None or service.skill_id is None:
        return
    result = routing.find_agent(
        interaction=assignment.interaction,
        skill_ids=[service.skill_id],
        service=service,
        origin=Origin.TRANSFER,
        exclude_user_ids=[exclude_user_id] if exclude_user_id else [],
        transferred_from=assignment.transferred_from,
        transfer_note=assignment.transfer_note,
    )
    if result.reserved:
        target = Agent.objects.select_related("user").get(user_id=result.agent_user_id)
        offer_chat(interaction=assignment.interaction, agent_user=target.user, no_answer_timeout=TRANSFER_OFFER_TIMEOUT)
    elif result.no_agents:  # nobody else is logged in: wait for the next agent of the service
        QueuedChat.objects.get_or_create(
            interaction=assignment.interaction,
            defaults={
                "skill_ids": [service.skill_id],
                "service": service,
                "origin": Origin.TRANSFER,
                "transferred_from": assignment.transferred_from,
                "transfer_note": assignment.transfer_note,
            },
        )


@transaction.atomic
def leave_queue(interaction) -> bool:
    """The chat stops waiting for an agent (Find Agent timed out, the customer left)."""
    removed, _ = QueuedChat.objects.filter(interaction=interaction).delete()
    for assignment in ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.PENDING):
        agent = states.lock_agent(user_id=assignment.agent.user_id)
        assignment = ChatAssignment.objects.select_for_update(of=("self",)).get(pk=assignment.pk)
        if assignment.status in ChatAssignment.PENDING:
            assignment.status = Status.CANCELLED
            assignment.ended_at = timezone.now()
            assignment.save(update_fields=["status", "ended_at"])
            settle(agent, cause="offer withdrawn")
            removed += 1
    return bool(removed)
