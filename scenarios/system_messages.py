"""System chat messages: what the customer is told when an agent joins, leaves, transfers or
ends the chat (Chat Settings, each Custom or Disabled, overridable per entry and account).

The desk knows these moments but sits below scenarios, so it records chat events
(agent_joined, agent_left, chat_transferred, chat_ended) and this listener turns them into
SYSTEM messages, queued like the inactivity texts: the customer gets them through the
account's provider and the agent sees them in the transcript. Each event is marked handled in
the same transaction as its message, so a second dispatch sends nothing.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from conversations.models import ChatEvent, Interaction
from scenarios.chat_settings import Layers
from scenarios.models import AGENT_PLACEHOLDER, ScenarioRun, SystemMessageEvent
from scenarios.services import entry_for_account, send_system_text

logger = logging.getLogger(__name__)

Kind = ChatEvent.Kind
KINDS = frozenset({Kind.AGENT_JOINED, Kind.AGENT_LEFT, Kind.CHAT_TRANSFERRED, Kind.CHAT_ENDED})
MOMENTS = {Kind.AGENT_JOINED: "agent_joined", Kind.AGENT_LEFT: "agent_left", Kind.CHAT_TRANSFERRED: "chat_transferred"}


def moment(kind: str, data: dict) -> str | None:
    """The system message (its settings prefix) an event calls for, if any."""
    if kind != Kind.CHAT_ENDED:
        return MOMENTS.get(kind)
    if data.get("by") != "agent":  # the customer, the scenario or the inactivity timeout ended it
        return None
    # A logged-out agent left a chat the scenario may still route elsewhere.
    return "agent_left" if data.get("cause") == "UserLogout" else "chat_ended"


def agent_name(user_id: int | None) -> str:
    """What the customer may call the agent: its first name, else its username."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        return "The agent"
    return user.first_name or user.get_username()


def text_for(prefix: str, interaction: Interaction, *, agent_user_id: int | None = None) -> str:
    """The message in force for this chat (account > entry > tenant-wide), the agent named;
    empty when Disabled."""
    run = ScenarioRun.objects.filter(interaction=interaction).select_related("entry").first()
    entry = run.entry if run is not None and run.entry_id else entry_for_account(interaction.account_id)
    text = Layers(entry=entry, account_id=interaction.account_id).message(prefix)
    if AGENT_PLACEHOLDER in text:
        text = text.replace(AGENT_PLACEHOLDER, agent_name(agent_user_id))
    return text


def on_chat_event(event: ChatEvent) -> None:
    """The chat-events listener: queue the event's system message once, if it is enabled."""
    prefix = moment(event.kind, event.data)
    if prefix is None or event.interaction_id is None:
        return
    with transaction.atomic():
        interaction = Interaction.objects.select_related("customer", "account").filter(pk=event.interaction_id).first()
        if interaction is None or not _first_handling(event.pk):
            return
        text = text_for(prefix, interaction, agent_user_id=event.data.get("agent_user_id"))
        send_system_text(interaction=interaction, text=text, what=f"system ({prefix})")


def _first_handling(event_id: int) -> bool:
    try:
        with transaction.atomic():  # a savepoint: the duplicate does not poison the transaction
            SystemMessageEvent.objects.create(event_id=event_id)
    except IntegrityError:
        logger.info("system message of chat event %s was handled already", event_id)
        return False
    return True
