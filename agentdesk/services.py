"""Named actions on agents and their chats. Views, consumers, tasks and the engine call these.

Each runs in one transaction and locks the Agent row(s) it changes first, in primary-key
order, then the assignment rows: the same order as routing, so they cannot deadlock with it.
Engine events go out with transaction.on_commit.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from agentdesk import states
from agentdesk.common import (
    TRANSFER_OFFER_TIMEOUT,
    DeskError,
    NotYourChat,
    end_active,
    finish_wrap_ups,
    fire_event,
    lock_due_assignment,
    own_assignment,
    schedule_deadline,
)
from agentdesk.models import Agent, ChatAssignment, NotReadyReason, QueuedChat
from agentdesk.notify import notify_agents, notify_notice
from conversations.models import Interaction

logger = logging.getLogger(__name__)

State = Agent.State
Status = ChatAssignment.Status
Origin = ChatAssignment.Origin


def custom_reasons():
    return NotReadyReason.objects.filter(system_code__isnull=True, active=True)


@transaction.atomic
def set_state(*, agent_user, state: str, reason_id: int | None = None, by=None) -> Agent:
    """The state selector: Ready, Not Ready (with a reason) or Logged out.

    Not Ready while chats are open takes effect when they end; until then no new chat comes.
    """
    agent = states.lock_agent(user_id=agent_user.pk)
    if state == State.LOGGED_OUT:
        _log_out(agent, by=by, cause="agent" if by is None else "supervisor")
    elif state == State.READY:
        finish_wrap_ups(agent)
        if agent.state in (State.LOGGED_OUT, State.NOT_READY):
            states.change_state(agent, State.READY, cause="agent", by=by)
        agent.pending_not_ready = False
        agent.pending_not_ready_reason = None
        agent.save(update_fields=["pending_not_ready", "pending_not_ready_reason"])
        states.settle(agent, cause="agent")
    elif state == State.NOT_READY:
        reason = None
        if reason_id:
            reason = NotReadyReason.objects.filter(pk=reason_id).first()
            if reason is None:
                raise DeskError("Unknown Not Ready reason.")
        elif by is None and custom_reasons().exists():
            raise DeskError("Choose a Not Ready reason.", code="reason_required")
        if states.counts(agent)[0]:
            states.ask_not_ready_later(agent, reason)
        else:
            finish_wrap_ups(agent)
            states.change_state(agent, State.NOT_READY, reason=reason, cause="agent", by=by)
    else:
        raise DeskError(f"An agent cannot choose the state {state!r}.")
    return agent


@transaction.atomic
def log_in(*, agent_user) -> Agent:
    """Desktop login: Not Ready, or Ready when the profile says so."""
    agent = states.lock_agent(user_id=agent_user.pk)
    if agent.state == State.LOGGED_OUT:
        target = State.READY if agent.ready_on_login else State.NOT_READY
        states.change_state(agent, target, cause="login")
        states.settle(agent, cause="login")
    return agent


@transaction.atomic
def log_out(*, agent_user, by=None, cause: str = "agent") -> None:
    agent = states.lock_agent(user_id=agent_user.pk)
    _log_out(agent, by=by, cause=cause)


@transaction.atomic
def force_state(*, supervisor, agent_id: int, state: str) -> None:
    """A supervisor forces an agent Not Ready (after its chats) or logs it out."""
    agent = Agent.objects.select_related("user").get(pk=agent_id)
    if state == State.NOT_READY:
        set_state(agent_user=agent.user, state=state, reason_id=NotReadyReason.system("supervisor").pk, by=supervisor)
    elif state == State.LOGGED_OUT:
        log_out(agent_user=agent.user, by=supervisor, cause="supervisor")
    else:
        raise DeskError("A supervisor may force Not Ready or Logged out.")


def _log_out(agent: Agent, *, by=None, cause: str) -> None:
    """Withdraw pending offers (routing finds another agent), end live chats, log out."""
    if agent.state == State.LOGGED_OUT:
        return
    for assignment in agent.assignments.select_for_update(of=("self",)).filter(status__in=ChatAssignment.PENDING):
        _withdraw_offer(assignment, status=Status.CANCELLED)
    for assignment in (
        agent.assignments.select_for_update(of=("self",)).select_related("service").filter(status=Status.ACTIVE)
    ):
        end_active(assignment, cause="UserLogout")
        fire_event(assignment.interaction_id, "chat_ended", {"by": "agent", "cause": "UserLogout"})
    finish_wrap_ups(agent)
    states.change_state(agent, State.LOGGED_OUT, cause=cause, by=by)
    agent.presence_deadline = None
    agent.save(update_fields=["presence_deadline"])
    from agentdesk.routing import drop_unservable_queue

    drop_unservable_queue()


@transaction.atomic
def offer_chat(*, interaction, agent_user, no_answer_timeout: int = 10, auto_answer_after: int | None = None):
    """Offer the chat to the agent routing reserved (or, with spare capacity, any agent).

    The desktop rings; Accept, Reject, or no answer within `no_answer_timeout` seconds
    (the agent goes Not Ready, "Missed chat"). When the agent cannot take it any more
    (logged out meanwhile), the engine gets "offer_timed_out" at once.
    """
    from agentdesk.routing import accepts_chats, holding_counts, reserve

    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = (
        agent.assignments.select_for_update(of=("self",))
        .filter(interaction=interaction, status__in=ChatAssignment.PENDING)
        .first()
    )
    if assignment is None and accepts_chats(agent, holding_counts([agent.pk]).get(agent.pk, 0)):
        assignment = reserve(agent=agent, interaction=interaction)
    if assignment is None or agent.state == State.LOGGED_OUT:
        logger.info("offer of interaction %s to %s not possible", interaction.pk, agent)
        fire_event(interaction.pk, "offer_timed_out", {"agent_user_id": agent.user_id})
        return assignment
    now = timezone.now()
    assignment.status = Status.OFFERED
    assignment.offered_at = now
    assignment.offer_deadline = now + dt.timedelta(seconds=no_answer_timeout)
    if auto_answer_after is not None:
        assignment.auto_answer_at = now + dt.timedelta(seconds=auto_answer_after)
    assignment.save(update_fields=["status", "offered_at", "offer_deadline", "auto_answer_at"])
    notify_agents(agent.user_id)
    schedule_deadline("offer_deadline", assignment.pk, assignment.offer_deadline)
    schedule_deadline("auto_answer", assignment.pk, assignment.auto_answer_at)
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
            states.settle(
                agents.get(other.agent_id) or states.lock_agent(user_id=other.agent.user_id), cause="transfer"
            )
    now = timezone.now()
    assignment.status = Status.ACTIVE
    assignment.accepted_at = now
    assignment.offer_deadline = None
    assignment.save(update_fields=["status", "accepted_at", "offer_deadline"])
    Interaction.objects.filter(pk=interaction_id).update(agent=agent.user)
    states.settle(agent, cause="offer accepted")
    notify_agents(agent.user_id)
    if assignment.origin == Origin.SCENARIO:
        fire_event(interaction_id, "offer_accepted", {"agent_user_id": agent.user_id})
    return assignment


@transaction.atomic
def reject_offer(*, agent_user, interaction_id: int) -> None:
    """Reject: Not Ready now with no other chat open, else once the others end."""
    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = own_assignment(agent, interaction_id, ChatAssignment.PENDING)
    _withdraw_offer(assignment, status=Status.REJECTED)
    _not_ready_after_offer(agent, NotReadyReason.system("rejected_chat"), cause="offer rejected")


@transaction.atomic
def offer_timed_out(*, assignment_id: int, now: dt.datetime | None = None) -> bool:
    """No answer in time: the offer is missed and the agent goes Not Ready ("Missed chat")."""
    now = now or timezone.now()
    due = lock_due_assignment(assignment_id, status=Status.OFFERED, deadline_field="offer_deadline", now=now)
    if due is None:
        return False
    agent, assignment = due
    _withdraw_offer(assignment, status=Status.MISSED)
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
        states.settle(agent, cause=cause)
    else:
        states.change_state(agent, State.NOT_READY, reason=reason, cause=cause)


def _withdraw_offer(assignment: ChatAssignment, *, status: str) -> None:
    """The offer ends unanswered; whoever waits for the chat is told (engine or transferrer)."""
    assignment.status = status
    assignment.ended_at = timezone.now()
    assignment.offer_deadline = None
    assignment.save(update_fields=["status", "ended_at", "offer_deadline"])
    agent = assignment.agent
    notify_agents(agent.user_id)
    if assignment.origin == Origin.SCENARIO:
        event = {Status.REJECTED: "offer_rejected"}.get(status, "offer_timed_out")
        fire_event(assignment.interaction_id, event, {"agent_user_id": agent.user_id})
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
    from agentdesk.routing import find_agent

    service = assignment.service
    if service is None or service.skill_id is None:
        return
    result = find_agent(
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
            states.settle(agent, cause="offer withdrawn")
            removed += 1
    return bool(removed)


@transaction.atomic
def presence_expired(*, agent_id: int, now: dt.datetime | None = None) -> bool:
    """No desktop socket for the whole grace period: log the agent out."""
    now = now or timezone.now()
    agent = Agent.objects.select_for_update(of=("self",)).select_related("user").filter(pk=agent_id).first()
    if agent is None or agent.state == State.LOGGED_OUT:
        return False
    gone = agent.connections == 0 and agent.presence_deadline is not None and agent.presence_deadline <= now
    stale = agent.connections > 0 and agent.last_seen_at is not None and agent.last_seen_at < states.stale_before()
    if not (gone or stale):
        return False
    agent.connections = 0
    agent.save(update_fields=["connections"])
    _log_out(agent, cause="connection lost")
    return True


from agentdesk.chats import mark_read, send_reply, transfer  # noqa: E402,F401  (named actions, one import path)
from agentdesk.endings import acw_expired, end_chat, wrap_up  # noqa: E402,F401
