"""The webhook inbox: take platform events in with one INSERT, process them after the ack.

The webhook view verifies the signature, parses, and calls `take_in`: one
`INSERT ... ON CONFLICT DO NOTHING` of the delivery's events into InboxEvent, keyed by
(account, platform event id), which is the dedupe, then commit and 200. The platform waits
only for durability (architecture.md, section 4).

The inbox processor (`process_pending`, the `process_inbox` task) turns rows into customers,
chats, messages, receipts and chat events: woken right after commit (one wake-up per burst,
never lost: see `wake`), in batches locked with SKIP LOCKED, one customer's events in arrival
order, each row marked processed in the same transaction as its effects (so it is done once),
and swept by beat for rows nobody took. Under the embedded default it runs in-process.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from contactcenter import scheduling
from conversations import events, services
from conversations.models import Customer, Interaction, Message
from conversations.realtime import publish_messages
from integrations import media, profiles
from integrations.models import InboxEvent, IntegrationAccount
from integrations.providers.base import EventKind, InboundEvent
from integrations.wakeup import CoalescedWake, enqueue_once

logger = logging.getLogger(__name__)

PROCESS_TASK = "integrations.tasks.process_inbox"
# Set while a processor is asked for; whoever sets it enqueues one. Expires in case that is lost.
WAKE_FLAG = "integrations:inbox:wake"
WAKE_FLAG_SECONDS = 5
SPREAD_FLAG = "integrations:inbox:spread"
BATCH_SIZE = 200
MAX_BATCHES = 50  # per run; the next wake-up or sweep goes on
MAX_ATTEMPTS = 8  # then the event is given up (logged as an error, kept with its error)
RECEIPT_STATUS = {
    EventKind.DELIVERED: Message.Status.DELIVERED,
    EventKind.READ: Message.Status.READ,
    EventKind.FAILED: Message.Status.FAILED,
}


# --- The ack side ----------------------------------------------------------------------


def take_in(*, account: IntegrationAccount, events: list[InboundEvent]) -> int:
    """Store the delivery's events in one statement (replays change nothing); returns how many.

    Commits before returning; the processor is woken after the commit.
    """
    rows = [
        InboxEvent(
            account_id=account.pk,
            event_id=event.event_id,
            kind=event.kind,
            customer_key=event.customer_external_id[:255],
            event=event.to_json(),
        )
        for event in events
    ]
    if not rows:
        return 0
    if connection.vendor == "postgresql" and connection.get_autocommit() and not connection.in_atomic_block:
        _insert_autocommit(rows)  # one statement is its own transaction: committed on return
        wake()
        return len(rows)
    with transaction.atomic():
        InboxEvent.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(wake)
    return len(rows)


INBOX_COLUMNS = ("account", "event_id", "kind", "customer_key", "event", "received_at", "next_attempt_at", "attempts")


def _insert_autocommit(rows: list[InboxEvent]) -> None:
    """All rows in ONE `INSERT ... ON CONFLICT DO NOTHING` sent in autocommit: one round trip.

    bulk_create wraps its statement in BEGIN ... COMMIT, three round trips where the INSERT
    alone is atomic; the profile of `make bench` showed those waits as most of the ack.
    """
    fields = [InboxEvent._meta.get_field(name) for name in INBOX_COLUMNS] + [InboxEvent._meta.get_field("last_error")]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields]
    table = quote(InboxEvent._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608 (names from the model)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def wake() -> None:
    """Ask for a processor run, once per burst; a lost wake-up is repaired by the sweeper.

    With a broker, a process wakes at most once per INBOX_WAKE_WINDOW and leaves a trailing
    wake-up for the calls in between (integrations.wakeup). Under the eager default the
    processor runs at once, in this thread.
    """
    if scheduling.eager() or settings.INBOX_WAKE_WINDOW <= 0:
        _wake_now()
    else:
        _coalesced_wake()


def _wake_now() -> None:
    """The processor clears the flag before each batch query (see `process_pending`)."""
    enqueue_once(flag=WAKE_FLAG, seconds=WAKE_FLAG_SECONDS, task=PROCESS_TASK, what="the inbox processor")


_coalesced_wake = CoalescedWake(_wake_now, window=settings.INBOX_WAKE_WINDOW, name="inbox-waker")


# --- The processor ---------------------------------------------------------------------


class StaleBatch(Exception):
    """A chat the batch wrote to was closed by someone else meanwhile: do it again row by row."""


@dataclass
class Outcome:
    """What a batch did, and what it looked up once for all its rows."""

    stored: list[Message] = field(default_factory=list)  # new customer messages
    updated: list[Message] = field(default_factory=list)  # outbound messages a receipt moved
    customers: dict[tuple, Customer] = field(default_factory=dict)  # the batch's, by (account, external id)
    # Open chats by customer id, loaded once for the batch; None: looked up row by row.
    interactions: dict[int, Interaction] | None = None
    closed: set[int] = field(default_factory=set)  # chats the batch itself closed
    wrote: set[int] = field(default_factory=set)  # customers who wrote (last inbound time)

    def open_interaction(self, customer: Customer) -> Interaction:
        if self.interactions is not None and customer.pk in self.interactions:
            return self.interactions[customer.pk]
        interaction, _ = services.open_interaction(customer=customer)
        if self.interactions is not None:
            self.interactions[customer.pk] = interaction
        return interaction

    def closed_interaction(self, interaction: Interaction) -> None:
        self.closed.add(interaction.pk)
        if self.interactions is not None:
            self.interactions.pop(interaction.customer_id, None)

    def check_still_open(self) -> None:
        """The chats loaded at the start must still be open (an agent or the scenario may have
        closed one since): otherwise its messages belong in a new chat, so the batch goes again."""
        if not self.interactions:
            return
        used = {interaction.pk for interaction in self.interactions.values()} - self.closed
        if Interaction.objects.filter(pk__in=used).exclude(status=Interaction.Status.OPEN).exists():
            raise StaleBatch


def process_pending(*, batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES) -> int:
    """Process inbox rows until a batch finds nothing to do; returns how many were processed."""
    total = 0
    for _ in range(max_batches):
        cache.delete(WAKE_FLAG)  # before the query: a later wake-up enqueues a new run
        done = process_batch(batch_size=batch_size)
        total += done
        if not done:
            break
        if done >= batch_size:
            _spread()
    return total


def _spread() -> None:
    """A backlog: ask for one more processor (at most one more a second). Several run side by
    side: SKIP LOCKED splits the rows and a customer's later events wait for the earlier ones."""
    try:
        if cache.add(SPREAD_FLAG, 1, timeout=1):
            scheduling.run(PROCESS_TASK, off_thread=True)
    except Exception:
        logger.warning("could not ask for another inbox processor", exc_info=True)


def process_batch(*, batch_size: int = BATCH_SIZE, now: dt.datetime | None = None) -> int:
    """Lock a batch of due rows (SKIP LOCKED) and process them in order; returns how many.

    The whole batch is tried in one savepoint (two round trips instead of two per row); when a
    row fails, that savepoint is rolled back and the batch goes again row by row, each row in
    its own savepoint, so one bad event neither poisons the others nor is lost.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            InboxEvent.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True, next_attempt_at__lte=now)
            .order_by("id")[:batch_size]
        )
        if not rows:
            return 0
        waiting_on = _earlier_pending(rows)
        rows = [row for row in rows if waiting_on.get((row.account_id, row.customer_key), row.id) >= row.id]
        accounts = IntegrationAccount.objects.in_bulk({row.account_id for row in rows})
        try:
            with transaction.atomic():
                outcome = _apply_all(rows, accounts)
            done = [row.pk for row in rows]
        except Exception:  # a row failed, or a chat was closed meanwhile (StaleBatch)
            outcome, done = _apply_each(rows, accounts, now=now)
        InboxEvent.objects.filter(pk__in=done).update(processed_at=now)
        stored, updated = list(outcome.stored), list(outcome.updated)
        transaction.on_commit(lambda: _after_commit(stored, updated))
    return len(done)


def _apply_all(rows: list[InboxEvent], accounts: dict) -> Outcome:
    customers = _known_customers(rows)
    outcome = Outcome(customers=customers, interactions=_open_interactions(customers.values()))
    for row in rows:
        _apply(accounts[row.account_id], InboundEvent.from_json(row.event), outcome)
    outcome.check_still_open()
    services.touch_customers(outcome.wrote, at=timezone.now())
    return outcome


def _apply_each(rows: list[InboxEvent], accounts: dict, *, now: dt.datetime) -> tuple[Outcome, list[int]]:
    """The batch row by row, each in a savepoint; a failed row holds its customer's later ones."""
    outcome = Outcome(customers=_known_customers(rows))
    done: list[int] = []
    held: set[tuple] = set()  # customers whose earlier row failed here: keep their order
    for row in rows:
        key = (row.account_id, row.customer_key)
        if key in held:
            continue
        try:
            with transaction.atomic():
                _apply(accounts[row.account_id], InboundEvent.from_json(row.event), outcome)
        except Exception as exc:
            held.add(key)
            outcome.customers = _known_customers(rows)  # a customer created in the savepoint is gone
            _note_failure(row, exc, now=now)
            continue
        done.append(row.pk)
    services.touch_customers(outcome.wrote, at=timezone.now())
    return outcome, done


def _open_interactions(customers) -> dict[int, Interaction]:
    """The open chats of the batch's known customers, in one query."""
    found = Interaction.objects.filter(customer__in=list(customers), status=Interaction.Status.OPEN)
    return {interaction.customer_id: interaction for interaction in found}


def _known_customers(rows: list[InboxEvent]) -> dict[tuple, Customer]:
    """The batch's customers that exist, in one query (instead of one lookup per event)."""
    keys = {row.customer_key for row in rows if row.customer_key}
    accounts = {row.account_id for row in rows}
    found = Customer.objects.filter(account_id__in=accounts, external_id__in=keys)
    return {(customer.account_id, customer.external_id): customer for customer in found}


def _earlier_pending(rows: list[InboxEvent]) -> dict[tuple, int]:
    """Per customer of the batch, the oldest unprocessed row outside it (another processor
    holds it, or it waits for a retry): the batch's later rows of that customer must wait."""
    ids = [row.pk for row in rows]
    keys = {row.customer_key for row in rows}
    earlier = (
        InboxEvent.objects.filter(processed_at__isnull=True, id__lt=max(ids), customer_key__in=keys)
        .exclude(pk__in=ids)
        .values_list("account_id", "customer_key", "id")
    )
    oldest: dict[tuple, int] = {}
    for account_id, customer_key, row_id in earlier:
        key = (account_id, customer_key)
        oldest[key] = min(row_id, oldest.get(key, row_id))
    return oldest


def _note_failure(row: InboxEvent, exc: Exception, *, now: dt.datetime) -> None:
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    if row.attempts >= MAX_ATTEMPTS:
        logger.error(
            "inbox event %s (%s) given up after %s attempts", row.pk, row.event_id, row.attempts, exc_info=True
        )
        row.processed_at = now
    else:
        logger.warning("inbox event %s (%s) failed; retried later", row.pk, row.event_id, exc_info=True)
        row.next_attempt_at = now + dt.timedelta(seconds=min(300, 2**row.attempts))
    row.save(update_fields=["attempts", "last_error", "processed_at", "next_attempt_at"])


def _apply(account: IntegrationAccount, event: InboundEvent, outcome: Outcome) -> None:
    """What one event means: a customer message, a receipt, a follow or an unfollow."""
    if event.kind in EventKind.RECEIPT_KINDS:
        outcome.updated.extend(_receipt(account, event))
    elif event.kind == EventKind.FOLLOW:
        services.clear_unreachable(_customer(account, event, outcome))
    elif event.kind == EventKind.UNFOLLOW:
        _unfollow(account, event, outcome)
    elif event.kind in EventKind.MESSAGE_KINDS:
        outcome.stored.append(_customer_message(account, event, outcome))
    else:
        logger.debug("event %s of kind %s not handled", event.event_id, event.kind)


def _customer(account, event: InboundEvent, outcome: Outcome) -> Customer:
    profile = {
        "display_name": event.display_name,
        "first_name": event.first_name,
        "last_name": event.last_name,
        "username": event.username,
        "language": event.language,
        "avatar_url": event.avatar_url,
    }
    key = (account.pk, event.customer_external_id)
    customer = services.upsert_customer(
        account=account,
        external_id=event.customer_external_id,
        reply_to=event.reply_to,
        profile=profile,
        known=outcome.customers.get(key),
    )
    outcome.customers[key] = customer
    if profiles.needs_profile(customer, account.messenger):  # names come from a profile API, once
        scheduling.on_commit(profiles.FETCH_TASK, customer.pk)
    return customer


def _customer_message(account, event: InboundEvent, outcome: Outcome) -> Message:
    customer = _customer(account, event, outcome)
    services.clear_unreachable(customer)  # writing to us proves they can be reached
    interaction = outcome.open_interaction(customer)
    message = services.record_inbound_message(
        interaction=interaction,
        kind=event.kind,
        text=event.text,
        attachment=event.attachment,
        platform_event_id=event.event_id,
        platform_message_id=event.platform_message_id,
        platform_timestamp=event.timestamp,
        touch_customer=False,
    )
    outcome.wrote.add(customer.pk)
    if media.wants_fetch(message.kind):  # the bytes are fetched after the commit, off this path
        message.media_status = Message.MediaStatus.PENDING
        message.save(update_fields=["media_status"])
        scheduling.on_commit(media.FETCH_TASK, message.pk)
    # The scenario engine hears of it through the outbox, written in this transaction.
    events.record(interaction_id=interaction.pk, kind=events.Kind.CUSTOMER_MESSAGE, data={"message_id": message.pk})
    return message


def _unfollow(account, event: InboundEvent, result: Outcome) -> None:
    customer = _customer(account, event, result)
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
    result.closed_interaction(interaction)


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


def prune(*, now: dt.datetime | None = None, chunk: int = 5000, max_chunks: int = 20) -> int:
    """Delete processed rows older than INBOX_RETENTION_DAYS, in short chunks; returns how many.

    A row is the dedupe key of its platform event, needed only while the platform may still
    redeliver it (hours); given-up rows stay for a person to look at (admin: Inbox events).
    Rows are walked from the oldest id (ids grow with arrival): the table needs no index on
    the arrival time, which every webhook's INSERT would have to write.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.INBOX_RETENTION_DAYS)
    deleted, after = 0, 0
    for _ in range(max_chunks):
        rows = list(
            InboxEvent.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "received_at", "processed_at", "attempts")[:chunk]
        )
        old = [pk for pk, received, processed, attempts in rows if received < cutoff]
        done = [
            pk
            for pk, received, processed, attempts in rows
            if received < cutoff and processed and attempts < MAX_ATTEMPTS
        ]
        if done:
            deleted += InboxEvent.objects.filter(pk__in=done).delete()[0]
        if len(old) < len(rows) or not rows:
            break  # reached rows inside the retention
        after = rows[-1][0]
    if deleted:
        logger.info("inbox: %s processed events older than %s pruned", deleted, cutoff)
    return deleted


def _after_commit(stored: list[Message], updated: list[Message]) -> None:
    """Hints to the desktops, once the rows are committed (best effort: they resync)."""
    publish_messages([*updated, *stored])
