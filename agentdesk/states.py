"""Agent state bookkeeping: the state history, chat counts, socket presence."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from agentdesk.models import Agent, AgentStateChange, ChatAssignment, NotReadyReason
from agentdesk.notify import notify_agents
from conversations import events

State = Agent.State


def presence_grace() -> dt.timedelta:
    """How long a login survives without any open desktop socket."""
    return dt.timedelta(seconds=settings.AGENTDESK_PRESENCE_GRACE_SECONDS)


def heartbeat_interval() -> int:
    """Seconds between the desktop's pings."""
    return settings.AGENTDESK_HEARTBEAT_SECONDS


def lock_agent(*, user_id: int) -> Agent:
    """The agent row of a user, locked for this transaction. Agent.DoesNotExist if none."""
    return Agent.objects.select_for_update(of=("self",)).select_related("user").get(user_id=user_id)


def change_state(
    agent: Agent,
    state: str,
    *,
    reason: NotReadyReason | None = None,
    cause: str = "",
    by=None,
) -> None:
    """Move the (locked) agent to `state` and record the period in the history."""
    reason = reason if state == State.NOT_READY else None
    if agent.state == state and agent.not_ready_reason_id == (reason.pk if reason else None):
        return
    now = timezone.now()
    AgentStateChange.objects.filter(agent=agent, ended_at__isnull=True).update(ended_at=now)
    AgentStateChange.objects.create(
        agent=agent,
        state=state,
        reason=reason.name if reason else "",
        started_at=now,
        changed_by=by,
        cause=cause[:64],
    )
    agent.state = state
    agent.not_ready_reason = reason
    agent.state_since = now
    fields = ["state", "not_ready_reason", "state_since"]
    if state == State.READY:
        agent.idle_since = now
        fields.append("idle_since")
    if state in (State.READY, State.NOT_READY, State.LOGGED_OUT):
        agent.pending_not_ready = False
        agent.pending_not_ready_reason = None
        fields += ["pending_not_ready", "pending_not_ready_reason"]
    agent.save(update_fields=fields)
    notify_agents(agent.user_id)
    events.record(
        interaction_id=None,
        kind=events.Kind.AGENT_STATE_CHANGED,
        data={"agent_user_id": agent.user_id, "state": state, "reason": reason.name if reason else "", "cause": cause},
    )


def counts(agent: Agent) -> tuple[int, int]:
    """(chats held: reserved, offered or active; chats in wrap-up)."""
    rows = ChatAssignment.objects.filter(
        agent=agent, status__in=[*ChatAssignment.HOLDING, ChatAssignment.Status.WRAP_UP]
    ).values_list("status", flat=True)
    holding = sum(1 for s in rows if s in ChatAssignment.HOLDING)
    return holding, len(rows) - holding


def ask_not_ready_later(agent: Agent, reason: NotReadyReason | None) -> None:
    """The (locked, busy) agent takes no new chats and goes Not Ready once its chats end."""
    agent.pending_not_ready = True
    agent.pending_not_ready_reason = reason
    agent.save(update_fields=["pending_not_ready", "pending_not_ready_reason"])
    notify_agents(agent.user_id)


# --- Presence -------------------------------------------------------------------------


def socket_opened(*, user_id: int) -> None:
    """A desktop socket of the agent opened: it is present, no logout pending."""
    Agent.objects.filter(user_id=user_id).update(
        connections=F("connections") + 1, last_seen_at=timezone.now(), presence_deadline=None
    )


def socket_closed(*, user_id: int) -> dt.datetime | None:
    """A socket closed. With none left, the login lasts one grace period; returns its end."""
    now = timezone.now()
    Agent.objects.filter(user_id=user_id).update(connections=Greatest(F("connections") - 1, 0), last_seen_at=now)
    deadline = now + presence_grace()
    updated = (
        Agent.objects.filter(user_id=user_id, connections=0)
        .exclude(state=State.LOGGED_OUT)
        .update(presence_deadline=deadline)
    )
    return deadline if updated else None


def socket_seen(*, user_id: int) -> None:
    Agent.objects.filter(user_id=user_id).update(last_seen_at=timezone.now())


def stale_before() -> dt.datetime:
    """Sockets silent since before this are counted as gone (their process died)."""
    return timezone.now() - presence_grace() - dt.timedelta(seconds=3 * heartbeat_interval())
