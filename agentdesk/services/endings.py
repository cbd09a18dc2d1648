"""Ending chats: End Chat by the agent or the customer, wrap-up, the After Call Work limit."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from agentdesk import states
from agentdesk.models import ChatAssignment, QueuedChat
from agentdesk.notify import notify_agents
from agentdesk.services.common import end_active, lock_due_assignment, own_assignment, record_event, settle
from agentdesk.services.exceptions import DeskError
from conversations.models import ChatEvent
from conversations.services import close_interaction

Status = ChatAssignment.Status


@transaction.atomic
def end_chat(*, interaction, by: str = "agent", cause: str = "UserHangup", agent_user=None) -> None:
    """End the chat for its agent(s). By the agent: the engine gets "chat_ended".

    The engine calls this with by="customer"/"system" when the customer left or the scenario
    ended the chat: every agent holding it is released, and no event goes back.
    """
    if by == "agent":
        if agent_user is None:
            raise DeskError("end_chat by an agent needs agent_user.")
        agent = states.lock_agent(user_id=agent_user.pk)
        assignment = own_assignment(agent, interaction.pk, [Status.ACTIVE])
        # A transfer still ringing elsewhere is withdrawn with the chat.
        for pending in ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.PENDING):
            _cancel_pending(pending)
        end_active(assignment, cause=cause)
        settle(agent, cause="chat ended")
        record_event(
            interaction.pk, ChatEvent.Kind.CHAT_ENDED, {"by": "agent", "cause": cause, "agent_user_id": agent.user_id}
        )
        if assignment.origin == ChatAssignment.Origin.OUTBOUND:  # no scenario closes an agent-started chat
            close_interaction(interaction, reason="agent_ended")
        return
    QueuedChat.objects.filter(interaction=interaction).delete()
    holders = ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.HOLDING)
    for agent_id in sorted(set(holders.values_list("agent__user_id", flat=True))):
        agent = states.lock_agent(user_id=agent_id)
        for assignment in (
            agent.assignments.select_for_update(of=("self",))
            .select_related("service")
            .filter(interaction=interaction, status__in=ChatAssignment.HOLDING)
        ):
            if assignment.status == Status.ACTIVE:
                end_active(assignment, cause=cause)
            else:
                assignment.status = Status.CANCELLED
                assignment.ended_at = timezone.now()
                assignment.save(update_fields=["status", "ended_at"])
        settle(agent, cause=f"chat ended by {by}")


def _cancel_pending(assignment: ChatAssignment) -> None:
    agent = states.lock_agent(user_id=assignment.agent.user_id)
    assignment.status = Status.CANCELLED
    assignment.ended_at = timezone.now()
    assignment.save(update_fields=["status", "ended_at"])
    settle(agent, cause="offer withdrawn")


@transaction.atomic
def wrap_up(
    *, agent_user, interaction_id: int, disposition_id: int | None = None, notes: str = "", finish: bool = False
) -> ChatAssignment:
    """Save the disposition and notes (during the chat or in ACW); `finish` completes ACW."""
    agent = states.lock_agent(user_id=agent_user.pk)
    assignment = own_assignment(agent, interaction_id, [Status.ACTIVE, Status.WRAP_UP, Status.DONE])
    service = assignment.service
    disposition = None
    if disposition_id:
        if service is None:
            raise DeskError("This chat has no service, so no dispositions.")
        disposition = service.dispositions.filter(pk=disposition_id).first()
        if disposition is None:
            raise DeskError("That disposition does not belong to this chat's service.")
    if finish and service is not None and service.use_dispositions and disposition is None:
        raise DeskError("Choose a disposition to finish the wrap-up.", code="disposition_required")
    assignment.disposition = disposition or assignment.disposition
    assignment.notes = notes
    fields = ["disposition", "notes"]
    if finish and assignment.status == Status.WRAP_UP:
        assignment.status = Status.DONE
        assignment.wrapped_at = timezone.now()
        assignment.acw_deadline = None
        fields += ["status", "wrapped_at", "acw_deadline"]
    assignment.save(update_fields=fields)
    settle(agent, cause="wrap-up done")
    notify_agents(agent.user_id)
    return assignment


@transaction.atomic
def acw_expired(*, assignment_id: int, now: dt.datetime | None = None) -> bool:
    """The service's After Call Work time limit ran out: wrap-up completes as it is."""
    now = now or timezone.now()
    due = lock_due_assignment(assignment_id, status=Status.WRAP_UP, deadline_field="acw_deadline", now=now)
    if due is None:
        return False
    agent, assignment = due
    assignment.status = Status.DONE
    assignment.wrapped_at = now
    assignment.save(update_fields=["status", "wrapped_at"])
    settle(agent, cause="ACW time limit")
    return True
