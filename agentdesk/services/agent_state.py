"""The agent's own state: the state selector, login and logout, presence running out."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from agentdesk import routing, states
from agentdesk.models import Agent, ChatAssignment, NotReadyReason
from agentdesk.services.common import end_active, finish_wrap_ups, record_event, settle
from agentdesk.services.exceptions import DeskError
from agentdesk.services.offers import withdraw_offer
from conversations.models import ChatEvent

State = Agent.State
Status = ChatAssignment.Status


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
        settle(agent, cause="agent")
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
        settle(agent, cause="login")
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
        withdraw_offer(assignment, status=Status.CANCELLED)
    for assignment in (
        agent.assignments.select_for_update(of=("self",)).select_related("service").filter(status=Status.ACTIVE)
    ):
        end_active(assignment, cause="UserLogout")
        record_event(
            assignment.interaction_id,
            ChatEvent.Kind.CHAT_ENDED,
            {"by": "agent", "cause": "UserLogout", "agent_user_id": agent.user_id},
        )
    finish_wrap_ups(agent)
    states.change_state(agent, State.LOGGED_OUT, cause=cause, by=by)
    agent.presence_deadline = None
    agent.save(update_fields=["presence_deadline"])
    routing.drop_unservable_queue()


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


@transaction.atomic
def ramp_up_ended(*, agent_id: int, now: dt.datetime | None = None) -> bool:
    """The agent's ramp-up interval ran out: it may be offered the next queued chat."""
    now = now or timezone.now()
    user_id = Agent.objects.filter(pk=agent_id).values_list("user_id", flat=True).first()
    if user_id is None:
        return False
    agent = states.lock_agent(user_id=user_id)
    if agent.ramp_up_until is None or agent.ramp_up_until > now:
        return False
    agent.ramp_up_until = None
    agent.save(update_fields=["ramp_up_until"])
    settle(agent, cause="ramp-up")
    return True
