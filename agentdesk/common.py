"""What the desk's named actions share: their errors, engine events, deadlines, and the end
of an agent's part in a chat."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from agentdesk import states
from agentdesk.models import Agent, ChatAssignment, ServiceDeskSettings
from agentdesk.notify import notify_agents
from conversations.models import Interaction

Status = ChatAssignment.Status

TRANSFER_OFFER_TIMEOUT = 30


class DeskError(Exception):
    """An action the agent may not take now; `code` is sent to the desktop."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class NotYourChat(DeskError):
    code = "not_your_chat"


def fire_event(interaction_id: int, event: str, data: dict) -> None:
    from scenarios.tasks import advance_scenario

    transaction.on_commit(lambda: advance_scenario.delay(interaction_id, event, data), robust=True)


def schedule_deadline(task_name: str, object_id: int, at: dt.datetime | None) -> None:
    """After commit, queue the deadline task; the sweeper fires it too if this one is lost."""
    if at is None:
        return
    from agentdesk import tasks

    task = getattr(tasks, task_name)
    countdown = max(0.0, (at - timezone.now()).total_seconds())
    transaction.on_commit(lambda: task.apply_async((object_id,), countdown=countdown), robust=True)


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


# --- States ---------------------------------------------------------------------------


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


# --- Offers ---------------------------------------------------------------------------
