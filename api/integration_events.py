"""The product's chat events, turned into signed event webhooks for integrators.

A listener of the chat-events outbox (`conversations.events`): it wants only the kinds some
enabled subscription asks for, so without subscriptions nothing extra is ever written. Each
chat event becomes at most one webhook event whose id is the chat event's, so a second
dispatch of the same chat event publishes nothing new.
"""

from __future__ import annotations

import time

from django.db import transaction

from api import event_webhooks
from api.models import EventKind, WebhookSubscription
from api.serializers import InteractionSerializer, MessageSerializer
from conversations.models import ChatEvent, Interaction, Message

Kind = ChatEvent.Kind

# Which chat events make which webhook event.
WEBHOOK_KIND = {
    Kind.INTERACTION_OPENED: EventKind.INTERACTION_CREATED,
    Kind.OFFER_ACCEPTED: EventKind.INTERACTION_ASSIGNED,
    Kind.INTERACTION_CLOSED: EventKind.INTERACTION_ENDED,
    Kind.CUSTOMER_MESSAGE: EventKind.MESSAGE_CREATED,
    Kind.MESSAGE_CREATED: EventKind.MESSAGE_CREATED,
    Kind.MESSAGE_STATUS_CHANGED: EventKind.MESSAGE_STATUS_CHANGED,
    Kind.AGENT_STATE_CHANGED: EventKind.AGENT_STATE_CHANGED,
}
CHAT_KINDS_FOR = {webhook: {chat for chat, w in WEBHOOK_KIND.items() if w == webhook} for webhook in EventKind.values}
CACHE_SECONDS = 5.0

_cache: dict[str, object] = {"at": 0.0, "kinds": frozenset()}


def wanted_kinds() -> frozenset[str]:
    """Chat-event kinds some enabled subscription wants (asked at every record: cached briefly)."""
    now = time.monotonic()
    if now - float(_cache["at"]) > CACHE_SECONDS:
        kinds: set[str] = set()
        for event_kinds in WebhookSubscription.objects.filter(enabled=True).values_list("event_kinds", flat=True):
            for webhook_kind in event_kinds or []:
                kinds |= CHAT_KINDS_FOR.get(webhook_kind, set())
        _cache.update(at=now, kinds=frozenset(kinds))
    return _cache["kinds"]  # type: ignore[return-value]


def forget_cached_kinds() -> None:
    """A subscription changed: ask the database at the next record."""
    _cache["at"] = 0.0


def on_chat_event(event: ChatEvent) -> None:
    """Publish the webhook event for one chat event (once per chat event id)."""
    webhook_kind = WEBHOOK_KIND.get(event.kind)
    if webhook_kind is None:
        return
    data = _payload(event)
    if data is None:  # the row it speaks of is gone
        return
    with transaction.atomic():
        event_webhooks.publish(webhook_kind, data, f"chat-event-{event.pk}", occurred_at=event.created_at)


def _payload(event: ChatEvent) -> dict | None:
    if event.kind in (Kind.CUSTOMER_MESSAGE, Kind.MESSAGE_CREATED, Kind.MESSAGE_STATUS_CHANGED):
        message = Message.objects.select_related("sender_user").filter(pk=event.data.get("message_id")).first()
        return {"message": MessageSerializer(message).data} if message else None
    if event.kind == Kind.AGENT_STATE_CHANGED:
        return dict(event.data)
    interaction = Interaction.objects.filter(pk=event.interaction_id).first()
    if interaction is None:
        return None
    data = {"interaction": InteractionSerializer(interaction).data}
    if event.kind == Kind.OFFER_ACCEPTED:
        data["agent_user_id"] = event.data.get("agent_user_id")
    if event.kind == Kind.INTERACTION_CLOSED:
        data["reason"] = event.data.get("reason", "")
    return data
