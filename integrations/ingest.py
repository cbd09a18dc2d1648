"""Persisting parsed webhook events: one transaction per delivery, deduplicated per event id.

The webhook view answers 2xx only after `ingest_events` returned, so a stored event is never
lost and a failed transaction (answered 5xx) is redelivered by the platform. Every event
claims (account, event id) in ProcessedEvent first: a replay, even a concurrent one, finds
the claim and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from contactcenter import scheduling
from conversations import events, services
from conversations.models import Customer, Message, ProcessedEvent
from conversations.realtime import publish_message
from integrations import profiles
from integrations.providers.base import EventKind, InboundEvent

logger = logging.getLogger(__name__)
RECEIPT_STATUS = {
    EventKind.DELIVERED: Message.Status.DELIVERED,
    EventKind.READ: Message.Status.READ,
    EventKind.FAILED: Message.Status.FAILED,
}


@dataclass
class IngestResult:
    stored: list[Message] = field(default_factory=list)  # new customer messages
    updated: list[Message] = field(default_factory=list)  # outbound messages a receipt moved
    duplicates: int = 0
    handled: int = 0


def ingest_events(*, account, events: list[InboundEvent]) -> IngestResult:
    """Store `events` of one delivery in one transaction; side effects run after commit."""
    result = IngestResult()
    with transaction.atomic():
        for event in events:
            if not _claim(account, event):
                result.duplicates += 1
                continue
            result.handled += 1
            if event.kind in EventKind.RECEIPT_KINDS:
                result.updated.extend(_receipt(account, event))
            elif event.kind == EventKind.FOLLOW:
                services.clear_unreachable(_customer(account, event))
            elif event.kind == EventKind.UNFOLLOW:
                _unfollow(account, event, result)
            elif event.kind in EventKind.MESSAGE_KINDS:
                result.stored.append(_customer_message(account, event))
            else:
                logger.debug("event %s of kind %s not handled", event.event_id, event.kind)
        stored, updated = list(result.stored), list(result.updated)
        transaction.on_commit(lambda: _after_commit(stored, updated))
    return result


def _claim(account, event: InboundEvent) -> bool:
    """Claim the event id; False when it was already taken in (a replay)."""
    try:
        with transaction.atomic():  # a savepoint, so a duplicate does not poison the delivery
            ProcessedEvent.objects.create(account=account, event_id=event.event_id, kind=event.kind)
    except IntegrityError:
        logger.info("duplicate event %s for account %s ignored", event.event_id, account.pk)
        return False
    return True


def _customer(account, event: InboundEvent) -> Customer:
    profile = {
        "display_name": event.display_name,
        "first_name": event.first_name,
        "last_name": event.last_name,
        "username": event.username,
        "language": event.language,
        "avatar_url": event.avatar_url,
    }
    customer = services.upsert_customer(
        account=account, external_id=event.customer_external_id, reply_to=event.reply_to, profile=profile
    )
    if profiles.needs_profile(customer, account.messenger):  # names come from a profile API, once
        scheduling.on_commit(profiles.FETCH_TASK, customer.pk)
    return customer


def _customer_message(account, event: InboundEvent) -> Message:
    customer = _customer(account, event)
    services.clear_unreachable(customer)  # writing to us proves they can be reached
    interaction, _ = services.open_interaction(customer=customer)
    message = services.record_inbound_message(
        interaction=interaction,
        kind=event.kind,
        text=event.text,
        attachment=event.attachment,
        platform_event_id=event.event_id,
        platform_message_id=event.platform_message_id,
        platform_timestamp=event.timestamp,
    )
    # The scenario engine hears of it through the outbox, written in this transaction.
    events.record(interaction_id=interaction.pk, kind=events.Kind.CUSTOMER_MESSAGE, data={"message_id": message.pk})
    return message


def _unfollow(account, event: InboundEvent, result: IngestResult) -> None:
    customer = _customer(account, event)
    reason = f"{event.status or 'unfollow'} on {account.get_messenger_display()}"
    services.mark_unreachable(customer, reason)
    interaction = customer.interactions.filter(status="open").first()
    if interaction is None:
        return
    # A line in the transcript, so the agent sees why the chat ended.
    note = services.record_inbound_message(
        interaction=interaction,
        kind=Message.Kind.OTHER,
        text="The customer left the chat (blocked or unfollowed the account).",
        attachment={"type": "unfollow", "status": event.status},
        platform_event_id=event.event_id,
        platform_message_id="",
        platform_timestamp=event.timestamp,
        sender=Message.Sender.SYSTEM,
    )
    result.updated.append(note)
    services.end_interaction(interaction=interaction, by="customer", cause="UserHangup", reason="customer_unfollowed")


def _receipt(account, event: InboundEvent) -> list[Message]:
    status = RECEIPT_STATUS.get(event.kind)
    if event.kind == EventKind.STATUS:
        if event.status != "submitted":
            logger.debug("status %r of %s not handled", event.status, event.receipt_message_ids)
            return []
        status = Message.Status.SENT
    customer = None
    if event.receipt_watermark is not None and not event.receipt_message_ids:
        customer = Customer.objects.filter(account=account, external_id=event.customer_external_id).first()
    changed = services.apply_receipt(
        account=account,
        status=status,
        platform_message_ids=event.receipt_message_ids,
        customer=customer,
        watermark=event.receipt_watermark,
        at=event.timestamp,
        error_code=event.error_code,
        error_text=event.error_text or event.status,
    )
    if not changed:
        logger.debug("receipt %s moved no outbound message", event.event_id)
    _hold_unmatched(account, event, status)
    return changed


def _hold_unmatched(account, event: InboundEvent, status: str) -> None:
    """Keep receipts for ids no message has yet: the send call may not have returned."""
    ids = set(filter(None, event.receipt_message_ids))
    if not ids:
        return
    known = set(
        Message.objects.filter(
            account=account, direction=Message.Direction.OUTBOUND, platform_message_id__in=ids
        ).values_list("platform_message_id", flat=True)
    )
    for platform_message_id in sorted(ids - known):
        services.hold_receipt(
            account=account,
            platform_message_id=platform_message_id,
            status=status,
            at=event.timestamp,
            error_code=event.error_code,
            error_text=event.error_text or event.status,
        )


def _after_commit(stored: list[Message], updated: list[Message]) -> None:
    """Hints to the desktops, once the rows are committed (best effort: they resync)."""
    for message in [*updated, *stored]:
        publish_message(message)
