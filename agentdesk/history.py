"""Conversation history: search past chats and read their transcripts.

An agent finds the conversations it took part in; a supervisor (staff) finds everyone's.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q

from agentdesk.models import ChatAssignment
from agentdesk.notes import may_read, notes_of
from agentdesk.selectors import serialize_message
from conversations.models import Interaction, Message

MAX_RESULTS = 50
MAX_QUERY = 200


def search(
    *,
    user,
    text: str = "",
    messenger: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = MAX_RESULTS,
) -> list[dict]:
    """Conversations matching a word in a message or the customer's names, newest first."""
    rows = Interaction.objects.select_related("customer", "account", "agent")
    if not user.is_staff:
        mine = ChatAssignment.objects.filter(
            interaction_id=OuterRef("pk"), agent__user_id=user.pk, accepted_at__isnull=False
        )
        rows = rows.filter(Exists(mine))
    text = (text or "").strip()[:MAX_QUERY]
    if text:
        said = Message.objects.filter(interaction_id=OuterRef("pk"), text__icontains=text)
        rows = rows.filter(
            Q(Exists(said))
            | Q(customer__first_name__icontains=text)
            | Q(customer__last_name__icontains=text)
            | Q(customer__display_name__icontains=text)
            | Q(customer__username__icontains=text)
            | Q(customer__external_id=text)
        )
    if messenger:
        rows = rows.filter(account__messenger=messenger)
    if date_from:
        rows = rows.filter(opened_at__date__gte=date_from)
    if date_to:
        rows = rows.filter(opened_at__date__lte=date_to)
    results = []
    for interaction in rows.order_by("-opened_at", "-id")[: max(1, min(limit, MAX_RESULTS))]:
        hit = None
        if text:
            hit = (
                interaction.messages.filter(text__icontains=text).order_by("id").values_list("text", flat=True).first()
            )
        last = hit or interaction.messages.order_by("-id").values_list("text", flat=True).first() or ""
        agent = interaction.agent
        results.append(
            {
                "interaction_id": interaction.pk,
                "customer": interaction.customer.name or interaction.customer.external_id,
                "messenger": interaction.account.messenger,
                "messenger_label": interaction.account.get_messenger_display(),
                "agent": (agent.get_full_name() or agent.get_username()) if agent else "",
                "opened_at": interaction.opened_at.isoformat(),
                "closed_at": interaction.closed_at.isoformat() if interaction.closed_at else None,
                "status": interaction.status,
                "excerpt": last[:200],
            }
        )
    return results


def transcript(*, user, interaction_id: int) -> dict | None:
    """Messages and private notes of one conversation the user may read, else None."""
    interaction = Interaction.objects.select_related("customer", "account").filter(pk=interaction_id).first()
    if interaction is None or not may_read(user, interaction.pk):
        return None
    messages = interaction.messages.select_related("sender_user").order_by("id")[:2000]
    return {
        "interaction_id": interaction.pk,
        "customer": interaction.customer.name or interaction.customer.external_id,
        "messenger_label": interaction.account.get_messenger_display(),
        "opened_at": interaction.opened_at.isoformat(),
        "closed_at": interaction.closed_at.isoformat() if interaction.closed_at else None,
        "messages": [serialize_message(m) for m in messages],
        "notes": notes_of([interaction.pk]),
    }


def parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
