"""Named actions inside a live chat: reply, mark read, transfer."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from agentdesk import routing, states
from agentdesk.models import Agent, ChatAssignment, QueuedChat
from agentdesk.notify import notify_agents
from agentdesk.services.common import TRANSFER_OFFER_TIMEOUT, end_active, own_assignment, record_event, settle
from agentdesk.services.exceptions import DeskError, NotYourChat
from agentdesk.services.offers import offer_chat
from conversations.models import ChatEvent
from integrations.errors import OutboundRefused
from integrations.outbound import queue_text
from scenarios.models.org import Service

Status = ChatAssignment.Status
Origin = ChatAssignment.Origin
VISIBLE = (Status.OFFERED, Status.ACTIVE, Status.WRAP_UP)


def send_reply(*, agent_user, interaction_id: int, text: str, split: bool = True):
    """The agent's reply becomes outbound messages (queued; the outbound task sends them)."""
    text = (text or "").strip()
    if not text:
        raise DeskError("Type a message first.", code="empty")
    with transaction.atomic():
        assignment = (
            ChatAssignment.objects.select_related("interaction__account")
            .filter(agent__user_id=agent_user.pk, interaction_id=interaction_id, status=Status.ACTIVE)
            .first()
        )
        if assignment is None:
            raise NotYourChat("This chat is not yours, or it has ended.")
        try:
            messages = queue_text(
                interaction=assignment.interaction, text=text, sender="agent", sender_user=agent_user, split=split
            )
        except OutboundRefused as exc:
            raise DeskError(str(exc), code="refused") from exc
        ChatAssignment.objects.filter(pk=assignment.pk).update(last_read_message_id=messages[-1].pk)
    return messages


def mark_read(*, agent_user, interaction_id: int, message_id: int) -> None:
    """The agent saw the chat up to `message_id`: later inbound messages count as unread."""
    mine = ChatAssignment.objects.filter(
        agent__user_id=agent_user.pk, interaction_id=interaction_id, status__in=VISIBLE
    )
    if not mine.exists():
        raise NotYourChat("This chat is not yours, or it has moved on.")
    mine.filter(Q(last_read_message_id__lt=message_id)).update(last_read_message_id=message_id)


def transfer(
    *, agent_user, interaction_id: int, to_agent_id: int | None = None, service_id: int | None = None, note: str = ""
) -> ChatAssignment | None:
    """Hand the chat to another agent (offered; it is theirs once they accept) or to a service queue.

    The transcript stays with the interaction, so whoever takes it sees all of it, and the note.
    """
    if bool(to_agent_id) == bool(service_id):
        raise DeskError("Pick an agent or a service to transfer to.")
    if to_agent_id:
        return _transfer_to_agent(
            agent_user=agent_user, interaction_id=interaction_id, to_agent_id=to_agent_id, note=note
        )
    return _transfer_to_queue(agent_user=agent_user, interaction_id=interaction_id, service_id=service_id, note=note)


@transaction.atomic
def _transfer_to_agent(*, agent_user, interaction_id: int, to_agent_id: int, note: str) -> ChatAssignment:
    me_id = Agent.objects.filter(user_id=agent_user.pk).values_list("pk", flat=True).first()
    if me_id is None or me_id == to_agent_id:
        raise DeskError("Pick another agent.")
    agents = {
        a.pk: a
        for a in Agent.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk__in=sorted({me_id, to_agent_id}))
        .order_by("pk")
    }
    if to_agent_id not in agents:
        raise DeskError("No such agent.")
    me, target = agents[me_id], agents[to_agent_id]
    mine = own_assignment(me, interaction_id, [Status.ACTIVE])
    if ChatAssignment.objects.filter(interaction_id=interaction_id, status__in=ChatAssignment.PENDING).exists():
        raise DeskError("A transfer of this chat is already ringing.")
    if not routing.accepts_chats(target, routing.holding_counts([target.pk]).get(target.pk, 0)):
        raise DeskError(f"{target.display_name} cannot take a chat now.", code="agent_unavailable")
    assignment = routing.reserve(
        agent=target,
        interaction=mine.interaction,
        service=mine.service,
        origin=Origin.TRANSFER,
        transferred_from=agent_user,
        transfer_note=note,
    )
    if assignment is None:
        raise DeskError("A transfer of this chat is already ringing.")
    notify_agents(me.user_id)
    record_event(interaction_id, ChatEvent.Kind.CHAT_TRANSFERRED, {"agent_user_id": me.user_id, "to": "agent"})
    return offer_chat(interaction=mine.interaction, agent_user=target.user, no_answer_timeout=TRANSFER_OFFER_TIMEOUT)


def _transfer_to_queue(*, agent_user, interaction_id: int, service_id: int, note: str) -> None:
    service = Service.objects.filter(pk=service_id).first()
    if service is None or service.skill_id is None:
        raise DeskError("No such service.")
    levels = routing.skill_levels()
    others = Agent.objects.filter(
        pk__in=[pk for pk, lv in levels.items() if routing.qualifies(lv, [service.skill_id], 1)]
    ).exclude(user_id=agent_user.pk)
    if not others.exclude(state=Agent.State.LOGGED_OUT).exists():
        raise DeskError(f"No agents of {service} are logged in.", code="no_agents")
    # Leave first (one transaction), then route (another): routing locks agents in its own order.
    with transaction.atomic():
        me = states.lock_agent(user_id=agent_user.pk)
        mine = own_assignment(me, interaction_id, [Status.ACTIVE])
        if ChatAssignment.objects.filter(interaction_id=interaction_id, status__in=ChatAssignment.PENDING).exists():
            raise DeskError("A transfer of this chat is already ringing.")
        end_active(mine, cause="Transferred", status=Status.TRANSFERRED)
        settle(me, cause="transferred")
        record_event(interaction_id, ChatEvent.Kind.CHAT_TRANSFERRED, {"agent_user_id": me.user_id, "to": "queue"})
        record_event(interaction_id, ChatEvent.Kind.AGENT_LEFT, {"agent_user_id": me.user_id, "cause": "Transferred"})
        interaction = mine.interaction
    result = routing.find_agent(
        interaction=interaction,
        skill_ids=[service.skill_id],
        service=service,
        origin=Origin.TRANSFER,
        exclude_user_ids=[agent_user.pk],
        transferred_from=agent_user,
        transfer_note=note,
    )
    if result.reserved:
        offer_chat(interaction=interaction, agent_user=Agent.objects.get(user_id=result.agent_user_id).user)
    elif result.no_agents:  # everyone left meanwhile: wait for the next agent of the service
        QueuedChat.objects.get_or_create(
            interaction=interaction,
            defaults={
                "skill_ids": [service.skill_id],
                "service": service,
                "origin": Origin.TRANSFER,
                "transferred_from": agent_user,
                "transfer_note": note,
            },
        )
