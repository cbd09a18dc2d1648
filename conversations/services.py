"""State changes of customers, chat sessions and messages, called by ingest, tasks and admin.

Each function expects to run inside the caller's transaction (ingest holds one per webhook);
what higher layers must hear of is recorded as a chat event in that transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from conversations import events
from conversations.models import Customer, Interaction, Message, PendingReceipt

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("display_name", "first_name", "last_name", "username", "language", "avatar_url")

# How far each outbound status is along; receipts only ever move a message forward.
STATUS_RANK = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.SENT: 2,
    Message.Status.DELIVERED: 3,
    Message.Status.READ: 4,
}


def upsert_customer(
    *, account, external_id: str, reply_to: str = "", profile: dict[str, str], known: Customer | None = None
) -> Customer:
    """The customer of `account` known by `external_id`, created or refreshed from `profile`.

    Only non-empty profile values overwrite: a receipt or a platform that omits the name
    must not erase what we know. `known`: that customer, loaded already (a batch's lookup).
    """
    values = {key: value for key, value in profile.items() if key in PROFILE_FIELDS and value}
    if known is not None:
        customer = known
    else:
        customer, created = Customer.objects.get_or_create(
            account=account, external_id=external_id, defaults={**values, "reply_to": reply_to}
        )
        if created:
            return customer
    changed = {key: value for key, value in values.items() if getattr(customer, key) != value}
    if reply_to and customer.reply_to != reply_to:
        changed["reply_to"] = reply_to
    if changed:
        for key, value in changed.items():
            setattr(customer, key, value)
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


def open_interaction(*, customer: Customer) -> tuple[Interaction, bool]:
    """The customer's open chat session, or a new one (at most one is open, by constraint)."""
    interaction, created = Interaction.objects.get_or_create(
        customer=customer, status=Interaction.Status.OPEN, defaults={"account_id": customer.account_id}
    )
    if created:
        events.record(interaction_id=interaction.pk, kind=events.Kind.INTERACTION_OPENED)
    return interaction, created


def status_changed(message: Message) -> None:
    """Record that an outbound message moved on (sent, delivered, read, failed)."""
    events.record(
        interaction_id=message.interaction_id,
        kind=events.Kind.MESSAGE_STATUS_CHANGED,
        data={"message_id": message.pk, "status": message.status},
    )


def record_inbound_message(
    *,
    interaction: Interaction,
    kind: str,
    text: str,
    attachment: dict,
    platform_event_id: str,
    platform_message_id: str,
    platform_timestamp: dt.datetime | None,
    sender: str = Message.Sender.CUSTOMER,
    touch_customer: bool = True,
) -> Message:
    """Store a message that came from the customer's side of the chat. `touch_customer=False`:
    the caller records the customer's last inbound time itself (`touch_customers`, once for a
    batch)."""
    message = Message.objects.create(
        interaction=interaction,
        account_id=interaction.account_id,
        customer_id=interaction.customer_id,
        direction=Message.Direction.INBOUND,
        sender=sender,
        kind=kind,
        text=text,
        attachment=attachment,
        platform_event_id=platform_event_id,
        platform_message_id=platform_message_id,
        platform_timestamp=platform_timestamp,
        status=Message.Status.RECEIVED,
    )
    if sender == Message.Sender.CUSTOMER and touch_customer:
        touch_customers([interaction.customer_id], at=timezone.now())
    return message


def touch_customers(customer_ids: Iterable[int], *, at: dt.datetime) -> None:
    """Record that these customers wrote at `at` (never moving the time backwards): the start of
    Facebook's messaging window, and of "who wrote lately" in the agent's customer search."""
    Customer.objects.filter(pk__in=list(customer_ids)).filter(
        Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lt=at)
    ).update(last_inbound_at=at)


def mark_unreachable(customer: Customer, reason: str) -> None:
    """The platform says the customer blocked us or cannot receive messages."""
    reason = reason[:255]
    if customer.unreachable_at and customer.unreachable_reason == reason:
        return
    customer.unreachable_at = customer.unreachable_at or timezone.now()
    customer.unreachable_reason = reason
    customer.save(update_fields=["unreachable_at", "unreachable_reason", "updated_at"])
    logger.info("customer %s of account %s unreachable: %s", customer.pk, customer.account_id, reason)


def clear_unreachable(customer: Customer) -> None:
    """The customer followed, unblocked or wrote again: replies may reach them."""
    if customer.unreachable_at is None:
        return
    customer.unreachable_at = None
    customer.unreachable_reason = ""
    customer.save(update_fields=["unreachable_at", "unreachable_reason", "updated_at"])


def close_interaction(interaction: Interaction, *, reason: str) -> bool:
    """Close the chat session; a closed one stays as it is. True when this call closed it."""
    now = timezone.now()
    updated = Interaction.objects.filter(pk=interaction.pk, status=Interaction.Status.OPEN).update(
        status=Interaction.Status.CLOSED, closed_at=now, closed_reason=reason[:64]
    )
    if updated:
        interaction.status, interaction.closed_at, interaction.closed_reason = Interaction.Status.CLOSED, now, reason
        events.record(interaction_id=interaction.pk, kind=events.Kind.INTERACTION_CLOSED, data={"reason": reason})
    return bool(updated)


def end_interaction(*, interaction: Interaction, by: str, cause: str, reason: str) -> None:
    """The customer's side ended the chat: close it and record who ended it (a chat event)."""
    if close_interaction(interaction, reason=reason):
        events.record(interaction_id=interaction.pk, kind=events.Kind.CHAT_ENDED, data={"by": by, "cause": cause})


def apply_receipt(
    *,
    account,
    status: str,
    platform_message_ids: Iterable[str] = (),
    customer: Customer | None = None,
    watermark: dt.datetime | None = None,
    at: dt.datetime | None = None,
    error_code: str = "",
    error_text: str = "",
) -> list[Message]:
    """Move our outbound messages forward to delivered/read, or to failed; never backwards.

    Messages are named by the platform's message ids, or (Facebook) by a watermark: every
    message to `customer` sent at or before it.
    """
    outbound = Message.objects.select_for_update().filter(account=account, direction=Message.Direction.OUTBOUND)
    ids = [mid for mid in platform_message_ids if mid]
    if ids:
        candidates = outbound.filter(platform_message_id__in=ids)
    elif watermark is not None and customer is not None:
        candidates = outbound.filter(customer=customer, sent_at__lte=watermark)
    else:
        return []
    at = at or timezone.now()
    changed = []
    for message in candidates.order_by("id"):
        if _advance(message, status, at=at, error_code=error_code, error_text=error_text):
            changed.append(message)
    return changed


def hold_receipt(
    *,
    account,
    platform_message_id: str,
    status: str,
    at: dt.datetime | None,
    error_code: str = "",
    error_text: str = "",
) -> PendingReceipt:
    """Keep a receipt whose message id is not recorded yet (its send call has not returned)."""
    return PendingReceipt.objects.create(
        account=account,
        platform_message_id=platform_message_id,
        status=status,
        at=at,
        error_code=error_code[:64],
        error_text=error_text[:1000],
    )


def apply_pending_receipts(*, message: Message) -> bool:
    """Apply the receipts that arrived before `message`'s platform id was recorded.

    The outbound sender calls this with the row locked, right after it records the id;
    True when the status moved (the caller publishes the change after commit).
    """
    if not message.platform_message_id:
        return False
    pending = list(
        PendingReceipt.objects.filter(account_id=message.account_id, platform_message_id=message.platform_message_id)
    )
    moved = False
    # Whatever order they came in, apply them in the order they happen.
    for receipt in sorted(pending, key=lambda r: STATUS_RANK.get(r.status, len(STATUS_RANK))):
        at = receipt.at or receipt.received_at
        moved |= _advance(message, receipt.status, at=at, error_code=receipt.error_code, error_text=receipt.error_text)
    PendingReceipt.objects.filter(pk__in=[receipt.pk for receipt in pending]).delete()
    return moved


def _advance(message: Message, status: str, *, at: dt.datetime, error_code: str, error_text: str) -> bool:
    current = message.status
    if current == Message.Status.FAILED or current not in STATUS_RANK:
        return False
    if status == Message.Status.FAILED:
        # A late failure report cannot undo a delivery the platform already confirmed.
        if STATUS_RANK[current] >= STATUS_RANK[Message.Status.DELIVERED]:
            return False
        message.status = Message.Status.FAILED
        message.error_code, message.error_text = error_code[:64], error_text[:1000]
        message.save(update_fields=["status", "error_code", "error_text", "updated_at"])
        status_changed(message)
        return True
    if STATUS_RANK.get(status, -1) <= STATUS_RANK[current]:
        return False
    fields = ["status", "updated_at"]
    message.status = status
    if status in (Message.Status.DELIVERED, Message.Status.READ) and message.delivered_at is None:
        message.delivered_at = at
        fields.append("delivered_at")
    if status == Message.Status.READ and message.read_at is None:
        message.read_at = at
        fields.append("read_at")
    if status == Message.Status.SENT and message.sent_at is None:
        message.sent_at = at
        fields.append("sent_at")
    message.save(update_fields=fields)
    status_changed(message)
    return True


def apply_profile(*, customer: Customer, profile) -> None:
    """Store names fetched from the platform's profile API; the fetch happens only once."""
    values = {key: getattr(profile, key) for key in PROFILE_FIELDS if getattr(profile, key, "")} if profile else {}
    values["display_name"] = values.get("display_name", "")[:255] or customer.display_name
    for key, value in values.items():
        setattr(customer, key, value[: Customer._meta.get_field(key).max_length])
    customer.profile_fetched_at = timezone.now()
    customer.save(update_fields=[*values, "profile_fetched_at", "updated_at"])
