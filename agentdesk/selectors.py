"""Reads for the desktop and the supervisor page: plain dicts ready to send as JSON."""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count, F, Min, Q
from django.urls import reverse
from django.utils import timezone

from agentdesk.models import Agent, CannedResponse, ChatAssignment, NotReadyReason, QueuedChat
from agentdesk.routing import holding_counts, queue_position
from conversations.models import Interaction, Message
from integrations.outbound import text_limit
from scenarios.models.org import Service

Status = ChatAssignment.Status
# Chats the desktop shows: ringing, live, or waiting for wrap-up.
VISIBLE = (Status.OFFERED, Status.ACTIVE, Status.WRAP_UP)
# Chats whose transcript the agent may read.
READABLE = (Status.ACTIVE, Status.WRAP_UP)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def serialize_message(message: Message) -> dict:
    user = message.sender_user
    return {
        "id": message.pk,
        "interaction_id": message.interaction_id,
        "direction": message.direction,
        "sender": message.sender,
        "sender_name": (user.get_full_name() or user.get_username()) if user else message.get_sender_display(),
        "kind": message.kind,
        "text": message.text,
        "attachment": _public_attachment(message.attachment or {}),
        "media": _media(message),
        "status": message.status,
        "error": message.error_text or message.error_code,
        "created_at": _iso(message.created_at),
    }


# Platform fields the desktop has no use for (links that expire, platform file ids).
_PLATFORM_FIELDS = ("url", "file_id", "file_unique_id", "message_id", "thumbnail", "source_url", "more")


def _public_attachment(attachment: dict) -> dict:
    return {k: v for k, v in attachment.items() if k not in _PLATFORM_FIELDS}


def _media(message: Message) -> dict | None:
    """The attachment's file as the desktop shows it: where to load it, or why it is missing."""
    if not message.media_status and not (message.attachment or {}).get("source_url"):
        return None
    attachment = message.attachment or {}
    stored = message.media_status == Message.MediaStatus.STORED and bool(message.media)
    return {
        "state": message.media_status or "linked",
        "url": reverse("agentdesk:media", args=[message.pk]) if stored else attachment.get("source_url", ""),
        "name": attachment.get("name") or attachment.get("file_name") or "",
        "size": attachment.get("size"),
        "content_type": attachment.get("content_type", ""),
        "error": attachment.get("error", ""),
    }


def message_from_hint(row: dict) -> dict | None:
    """The frame of a message from the fields its hint carries (conversations.realtime), for a
    socket that may read the chat; None when the frame needs the database (an agent's name)."""
    if row.get("sender_user_id"):
        return None
    fields = dict(row)
    fields.pop("version", None)
    created_at = fields.pop("created_at")
    message = Message(**fields, created_at=dt.datetime.fromisoformat(created_at) if created_at else None)
    return serialize_message(message)


def readable_interaction_ids(agent_user) -> set[int]:
    return set(
        ChatAssignment.objects.filter(agent__user_id=agent_user.pk, status__in=READABLE).values_list(
            "interaction_id", flat=True
        )
    )


def messages_after(*, agent_user, last_ids: dict[int, int]) -> list[dict]:
    """Messages of the agent's readable chats after the last id the desktop saw, per chat."""
    allowed = readable_interaction_ids(agent_user)
    query = Q()
    for interaction_id in allowed:
        query |= Q(interaction_id=interaction_id, id__gt=int(last_ids.get(interaction_id, 0)))
    if not allowed:
        return []
    rows = Message.objects.filter(query).select_related("sender_user").order_by("id")[:2000]
    return [serialize_message(m) for m in rows]


def message_for(*, agent_user, message_id: int, known_readable: frozenset[int] = frozenset()) -> dict | None:
    """One message, if it belongs to a chat the agent may read. `known_readable`: chats the
    caller found readable a moment ago (the socket's last snapshot); others are looked up."""
    message = Message.objects.select_related("sender_user").filter(pk=message_id).first()
    if message is None:
        return None
    if message.interaction_id not in known_readable and message.interaction_id not in readable_interaction_ids(
        agent_user
    ):
        return None
    return serialize_message(message)


def earlier_transcript(*, agent_user, interaction_id: int) -> dict | None:
    """An earlier interaction of a customer the agent is chatting with (the customer card)."""
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        return None
    current = ChatAssignment.objects.filter(
        agent__user_id=agent_user.pk, status__in=READABLE, interaction__customer_id=interaction.customer_id
    )
    if not current.exists():
        return None
    messages = interaction.messages.select_related("sender_user").order_by("id")[:1000]
    return {
        "interaction_id": interaction.pk,
        "opened_at": _iso(interaction.opened_at),
        "messages": [serialize_message(m) for m in messages],
    }


def _chat(assignment: ChatAssignment) -> dict:
    interaction = assignment.interaction
    customer = interaction.customer
    account = interaction.account
    service = assignment.service
    first = interaction.messages.filter(direction=Message.Direction.INBOUND).order_by("id").first()
    last_in = interaction.messages.filter(direction=Message.Direction.INBOUND).order_by("-id").first()
    unread = interaction.messages.filter(
        direction=Message.Direction.INBOUND, id__gt=assignment.last_read_message_id
    ).count()
    canned = (
        CannedResponse.objects.filter(Q(service__isnull=True) | Q(service=service))
        if service
        else (CannedResponse.objects.filter(service__isnull=True))
    )
    earlier = customer.interactions.exclude(pk=interaction.pk).order_by("-opened_at")[:10]
    return {
        "interaction_id": interaction.pk,
        "assignment_id": assignment.pk,
        "status": assignment.status,
        "origin": assignment.origin,
        "service": {"id": service.pk, "name": service.name} if service else None,
        "messenger": account.messenger,
        "messenger_label": account.get_messenger_display(),
        "text_limit": text_limit(account.messenger),
        "customer": {
            "id": customer.pk,
            "name": customer.name or customer.external_id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "username": customer.username,
            "language": customer.language,
        },
        "first_message": first.text if first else "",
        "last_inbound_at": _iso(last_in.created_at) if last_in else None,
        "unread": unread,
        "last_read_message_id": assignment.last_read_message_id,
        "offered_at": _iso(assignment.offered_at),
        "offer_deadline": _iso(assignment.offer_deadline),
        "accepted_at": _iso(assignment.accepted_at),
        "ended_at": _iso(assignment.ended_at),
        "acw_deadline": _iso(assignment.acw_deadline),
        "transfer_note": assignment.transfer_note,
        "transferred_from": (
            assignment.transferred_from.get_full_name() or assignment.transferred_from.get_username()
            if assignment.transferred_from
            else ""
        ),
        "use_dispositions": bool(service and service.use_dispositions),
        "dispositions": [{"id": d.pk, "name": d.name} for d in service.dispositions.all()] if service else [],
        "disposition_id": assignment.disposition_id,
        "notes": assignment.notes,
        "canned": [
            {"title": c.title, "text": c.fill(first_name=customer.first_name, last_name=customer.last_name)}
            for c in canned
        ],
        "earlier": [
            {"interaction_id": i.pk, "opened_at": _iso(i.opened_at), "closed_at": _iso(i.closed_at)} for i in earlier
        ],
    }


def snapshot(*, agent_user) -> dict:
    """Everything the desktop shows except transcripts (those come as message frames)."""
    agent = Agent.objects.select_related("user", "not_ready_reason", "pending_not_ready_reason").get(
        user_id=agent_user.pk
    )
    assignments = (
        ChatAssignment.objects.filter(agent=agent, status__in=VISIBLE)
        .select_related("interaction__customer", "interaction__account", "service", "transferred_from")
        .order_by("reserved_at", "id")
    )
    others = Agent.objects.exclude(pk=agent.pk).exclude(state=Agent.State.LOGGED_OUT).select_related("user")
    return {
        "type": "snapshot",
        "server_time": _iso(timezone.now()),
        "agent": {
            "id": agent.pk,
            "username": agent.user.get_username(),
            "name": agent.display_name,
            "state": agent.state,
            "state_label": agent.get_state_display(),
            "reason": agent.not_ready_reason.name if agent.not_ready_reason else "",
            "reason_id": agent.not_ready_reason_id,
            "pending_not_ready": agent.pending_not_ready,
            "state_since": _iso(agent.state_since),
            "capacity": agent.capacity,
        },
        "reasons": [
            {"id": r.pk, "name": r.name} for r in NotReadyReason.objects.filter(system_code__isnull=True, active=True)
        ],
        "chats": [_chat(a) for a in assignments],
        "transfer_agents": [{"id": a.pk, "name": a.display_name, "state": a.get_state_display()} for a in others],
        "transfer_services": [{"id": s.pk, "name": s.name} for s in Service.objects.all()],
    }


def supervisor_overview() -> dict:
    """Agents with state and time in state, queues with waiting chats and longest wait, counts."""
    now = timezone.now()
    agents = list(Agent.objects.select_related("user", "team", "not_ready_reason").order_by("user__username"))
    held = holding_counts(a.pk for a in agents)
    active = dict(
        ChatAssignment.objects.filter(status=Status.ACTIVE)
        .values("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    queues = (
        QueuedChat.objects.values("service_id", "service__name")
        .annotate(waiting=Count("id"), oldest=Min("enqueued_at"))
        .order_by("service__name")
    )
    by_state = {state: 0 for state, _ in Agent.State.choices}
    for agent in agents:
        by_state[agent.state] += 1
    return {
        "server_time": _iso(now),
        "agents": [
            {
                "id": a.pk,
                "username": a.user.get_username(),
                "name": a.display_name,
                "team": a.team.name if a.team else "",
                "state": a.state,
                "state_label": a.get_state_display(),
                "reason": a.not_ready_reason.name if a.not_ready_reason else "",
                "seconds_in_state": int((now - a.state_since).total_seconds()),
                "chats": active.get(a.pk, 0),
                "holding": held.get(a.pk, 0),
                "capacity": a.capacity,
                "connected": a.connections > 0,
            }
            for a in agents
        ],
        "queues": [
            {
                "service": q["service__name"] or "(no service)",
                "waiting": q["waiting"],
                "longest_wait_seconds": int((now - q["oldest"]).total_seconds()) if q["oldest"] else 0,
            }
            for q in queues
        ],
        "counts": {
            "agents_logged_in": sum(1 for a in agents if a.state != Agent.State.LOGGED_OUT),
            "by_state": by_state,
            "chats_active": sum(active.values()),
            "chats_waiting": QueuedChat.objects.count(),
            "offers_ringing": ChatAssignment.objects.filter(status=Status.OFFERED).count(),
        },
    }


# --- For the scenario engine's Find Agent -----------------------------------------------


def queue_position_of(interaction) -> int | None:
    """The chat's 1-based place in the queue, or None when it is not waiting."""
    entry = QueuedChat.objects.filter(interaction=interaction).first()
    return queue_position(entry) if entry else None


def recent_wait_seconds(*, sample: int = 50) -> float | None:
    """Mean time from chat start to agent reservation over the last routed chats (None: none)."""
    recent = ChatAssignment.objects.filter(origin=ChatAssignment.Origin.SCENARIO).order_by("-reserved_at")[:sample]
    ids = list(recent.values_list("pk", flat=True))
    mean = (
        ChatAssignment.objects.filter(pk__in=ids)
        .aggregate(wait=Avg(F("reserved_at") - F("interaction__opened_at")))
        .get("wait")
    )
    return mean.total_seconds() if mean else None
