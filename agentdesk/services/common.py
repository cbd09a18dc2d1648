"""What the desk's named actions share: chat events, deadlines, ringing, settling an agent's
state after its chats change, and the end of an agent's part in a chat."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from agentdesk import routing, states
from agentdesk.models import Agent, ChatAssignment, ServiceDeskSettings
from agentdesk.notify import notify_agents
from agentdesk.services.exceptions import NotYourChat
from contactcenter import scheduling
from conversations import events
from conversations.models import Interaction

State = Agent.State
Status = ChatAssignment.Status

TRANSFER_OFFER_TIMEOUT = 30
DEADLINE_TASKS = {
    "offer_deadline": "agentdesk.tasks.offer_deadline",
    "auto_answer": "agentdesk.tasks.auto_answer",
    "acw_deadline": "agentdesk.tasks.acw_deadline",
    "presence_deadline": "agentdesk.tasks.presence_deadline",
}


def record_event(interaction_id: int, kind: str, data: dict) -> None:
    """Tell the scenario engine, through the chat-events outbox of this transaction."""
    events.record(interaction_id=interaction_id, kind=kind, data=data)


def schedule_deadline(name: str, object_id: int, at: dt.datetime | None) -> None:
    """After commit, run the deadline's task when it is due; the sweeper fires it too if lost."""
    if at is None:
        return
    scheduling.on_commit(DEADLINE_TASKS[name], object_id, delay=max(0.0, (at - timezone.now()).total_seconds()))


def own_assignment(agent: Agent, interaction_id: int, statuses) -> ChatAssignment:
    assignment = (
        ChatAssignment.objects.select_for_update(of=("self",))
        .select_related("interaction", "service")
        .filter(agent=agent, interaction_id=interaction_id, status__in=list(statuses))
        .order_by("-id")
        .first()
    )
    if assignment is None:
        raise NotYourChat("This chat is not yours, or it has moved on.")
    return assignment


def lock_due_assignment(
    assignment_id: int, *, status: str, deadline_field: str, now: dt.datetime
) -> tuple[Agent, ChatAssignment] | None:
    """Lock the agent, then its assignment, if it is in `status` and its deadline has passed.

    Agent row first, as every desk action locks, so deadline handlers cannot deadlock
    against routing. Returns None when the deadline is not (or no longer) due.
    """
    user_id = ChatAssignment.objects.filter(pk=assignment_id).values_list("agent__user_id", flat=True).first()
    if user_id is None:
        return None
    agent = states.lock_agent(user_id=user_id)
    assignment = ChatAssignment.objects.select_for_update(of=("self",)).filter(pk=assignment_id, status=status).first()
    deadline = getattr(assignment, deadline_field, None) if assignment else None
    if deadline is None or deadline > now:
        return None
    return agent, assignment


def desk_settings(service) -> ServiceDeskSettings:
    """The service's desk settings, or the defaults (ACW on, 120 s) when none are saved."""
    if service is None:
        return ServiceDeskSettings(after_call_work=False, acw_time_limit=0)
    found = ServiceDeskSettings.objects.filter(service=service).first()
    return found or ServiceDeskSettings(service=service)


def end_active(assignment: ChatAssignment, *, cause: str, wrap_up: bool = True, status: str | None = None) -> None:
    """The agent's part of the chat ends; with After Call Work it goes to wrap-up."""
    now = timezone.now()
    settings_ = desk_settings(assignment.service)
    assignment.ended_at = now
    assignment.end_cause = cause[:32]
    if status:
        assignment.status = status
    elif wrap_up and settings_.after_call_work:
        assignment.status = Status.WRAP_UP
        if settings_.acw_time_limit:
            assignment.acw_deadline = now + dt.timedelta(seconds=settings_.acw_time_limit)
            schedule_deadline("acw_deadline", assignment.pk, assignment.acw_deadline)
    else:
        assignment.status = Status.DONE
        assignment.wrapped_at = now
    assignment.save(update_fields=["ended_at", "end_cause", "status", "acw_deadline", "wrapped_at"])
    Interaction.objects.filter(pk=assignment.interaction_id, agent_id=assignment.agent.user_id).update(agent=None)
    notify_agents(assignment.agent.user_id)


def finish_wrap_ups(agent: Agent) -> None:
    agent.assignments.filter(status=Status.WRAP_UP).update(status=Status.DONE, wrapped_at=timezone.now())


def ring(assignment: ChatAssignment, *, no_answer_timeout: int, auto_answer_after: int | None = None) -> None:
    """The (reserved, agent-locked) assignment rings on the desktop until its deadlines."""
    now = timezone.now()
    assignment.status = Status.OFFERED
    assignment.offered_at = now
    assignment.offer_deadline = now + dt.timedelta(seconds=no_answer_timeout)
    if auto_answer_after is not None:
        assignment.auto_answer_at = now + dt.timedelta(seconds=auto_answer_after)
    assignment.save(update_fields=["status", "offered_at", "offer_deadline", "auto_answer_at"])
    # The ramp-up interval began at the reservation; it counts again from the ring, so that a
    # slow step between the two (the scenario's greeting) cannot bring two rings closer.
    routing.start_ramp_up(assignment.agent)
    notify_agents(assignment.agent.user_id)
    schedule_deadline("offer_deadline", assignment.pk, assignment.offer_deadline)
    schedule_deadline("auto_answer", assignment.pk, assignment.auto_answer_at)


def settle(agent: Agent, *, cause: str = "") -> None:
    """Bring the (locked) agent's state in line with its chats, then hand it queued chats.

    Busy while it holds chats; After Call Work while wrap-ups remain; then the Not Ready it
    asked for (or was given) meanwhile, else Ready.
    """
    if agent.state == State.LOGGED_OUT:
        return
    holding, wrapping = states.counts(agent)
    if holding:
        if agent.state != State.BUSY:
            states.change_state(agent, State.BUSY, cause=cause)
    elif agent.state in (State.BUSY, State.READY, State.AFTER_CALL_WORK):
        if wrapping:
            states.change_state(agent, State.AFTER_CALL_WORK, cause=cause)
        elif agent.pending_not_ready:
            states.change_state(agent, State.NOT_READY, reason=agent.pending_not_ready_reason, cause=cause)
        else:
            states.change_state(agent, State.READY, cause=cause)
    for assignment in routing.dispatch_queue(agent):
        if assignment.origin == ChatAssignment.Origin.TRANSFER:  # a chat transferred to a queue
            ring(assignment, no_answer_timeout=TRANSFER_OFFER_TIMEOUT)
