"""The outbound sender: claim due messages in batches, send them concurrently, record together.

One run (`send_due`, the `send_outbound` task) goes round until a claim finds nothing due:
1. claim: in one transaction, lock up to a batch of queued, due outbound messages that are
   first in their customer's line (FOR UPDATE SKIP LOCKED: two senders never take the same
   row, and a customer's next message is not first while the one before is sending), fail those
   that must not go, reserve a rate-limit slot for the others (who gets none waits, queued),
   and mark the rest "sending" in one UPDATE; commit before any network call, so a duplicated
   or late run finds "sending" and leaves it alone.
2. send: the platform calls side by side on the process's send threads (they wait on the
   network: one call at a time per run was 50 ms of nothing per message).
3. record: the sent ones in one transaction (one UPDATE for all, then their chat events);
   each error on its own path (`delivery.record_error`: retry later, or fail); written again
   through a short database outage, so the sweeper does not send them a second time.
A run that finds nothing due wakes the next one for the earliest waiting message (its slot,
its backoff); a run ends after a second and hands over to the next. A settled message lets
its customer's next one be claimed in the next round, so order per customer holds however
many senders run. Per message this costs a share of four statements instead of the six
statements and the Celery task of a sender that took one message a task (make bench: a
Celery task's fetch and ack alone cost 0.8 times the send).

Woken by `integrations.sender_wake`. Under the embedded default it runs in-process.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from conversations.models import Message
from conversations.realtime import publish_messages
from conversations.services import apply_pending_receipts, status_changed
from integrations import delivery, ratelimit, sender_wake
from integrations.providers import get_provider
from integrations.providers.base import PlatformError, Unavailable

logger = logging.getLogger(__name__)

# A run ends after this many rounds or seconds and wakes the next one: on a worker that also
# takes chat events and scenario steps, a long run would hold its pool slot while they wait.
MAX_ROUNDS = 100
MAX_RUN_SECONDS = 1.0
# Sleep for a rate-limit slot in the send thread only when it is this close; else wait queued.
MAX_SLOT_WAIT = 0.1
# A call this late for its slot takes a new one: a platform measures the gap between a chat's
# messages on arrival, and a late call followed by an on-time one would be too close to it
# (make bench: on two busy cores some calls started half a second after their slots).
MAX_LATE = 0.1
# A message due this soon is claimed now: its slot is waited for in the send thread.
EARLY = dt.timedelta(seconds=MAX_SLOT_WAIT)


@dataclass
class Claim:
    """One round's messages: going now (with their slot's time.monotonic()), or waiting for a slot."""

    going: list[tuple[Message, float]] = field(default_factory=list)
    waiting: list[Message] = field(default_factory=list)
    settled: int = 0  # refused at the claim (failed with the reason)

    @property
    def size(self) -> int:
        return len(self.going) + len(self.waiting) + self.settled


# --- The run -----------------------------------------------------------------------------


def send_due(*, batch_size: int | None = None, max_rounds: int = MAX_ROUNDS) -> int:
    """Send due outbound messages round after round until none is due; returns how many went."""
    batch_size = batch_size or settings.OUTBOUND_BATCH_SIZE
    sent, rounds_left = 0, True
    ends = time.monotonic() + MAX_RUN_SECONDS
    with sender_wake.running():
        for _ in range(max_rounds):
            if time.monotonic() > ends:
                break
            sender_wake.clear()
            threads = _send_threads()
            free = threads.take(batch_size)  # claim no more than can go at once
            try:
                claim = claim_due(limit=free)
            except BaseException:
                threads.give_back(free)
                raise
            threads.give_back(free - len(claim.going))  # each one going gives its own back when sent
            if not claim.size:
                rounds_left = False
                break
            if claim.size >= free:
                sender_wake.spread()
            record(send_all(claim.going))
            sent += len(claim.going)
    # Out of the run (under the eager default a wake-up in it waits for its next round).
    if rounds_left:
        sender_wake.go_on()
    else:
        wake_for_next()
    return sent


def wake_for_next() -> None:
    """Nothing is due: wake a run when the next queued message is (one waiting for its slot,
    or its retry's backoff). Without it a message whose wait outlasted the run that set it
    would sit until the sweeper (make bench: 6 of 1,500 with the limiter on)."""
    now = timezone.now()
    due_at = (
        delivery.first_in_line()
        .filter(next_attempt_at__gt=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due_at is not None:
        sender_wake.wake_at(due_at, now=now)


def claim_due(*, limit: int, now: dt.datetime | None = None) -> Claim:
    """Lock up to `limit` due messages, first in their lines; mark "sending" those that go now."""
    now = now or timezone.now()
    claim = Claim()
    with transaction.atomic():
        due = list(
            delivery.first_in_line()
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + EARLY))
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("account", "customer", "interaction")
            .order_by("next_attempt_at", "pk")[:limit]
        )
        allowed = []
        for message in due:
            refusal = delivery.refusal(message, now=now)
            if refusal:
                delivery.fail(message, code="", text=refusal)
                claim.settled += 1
            else:
                allowed.append(message)
        # Last before the commit, all in one Redis round trip: a slot is taken only by a message
        # that goes now, and the calls follow their slots closely.
        slots = ratelimit.reserve_many(
            [(m.account.messenger, m.account_id, m.customer.chat_id) for m in allowed], max_wait=MAX_SLOT_WAIT
        )
        refused = Counter()  # per account, this round
        for message, slot in zip(allowed, slots, strict=True):
            if slot.granted:
                claim.going.append((message, time.monotonic() + slot.wait))
                continue
            # The k-th refused message of an account comes back k of its slots later, so that
            # they do not all come back at once for one slot.
            later = slot.wait + refused[message.account_id] * ratelimit.account_interval(message.account.messenger)
            refused[message.account_id] += 1
            message.next_attempt_at, message.updated_at = now + dt.timedelta(seconds=later), now
            claim.waiting.append(message)
        if claim.waiting:
            Message.objects.bulk_update(claim.waiting, ["next_attempt_at", "updated_at"])
        going = [message for message, _ in claim.going]
        if going:
            Message.objects.filter(pk__in=[m.pk for m in going]).update(
                status=Message.Status.SENDING, attempts=F("attempts") + 1, sending_started_at=now, updated_at=now
            )
            for message in going:
                message.status, message.sending_started_at, message.updated_at = Message.Status.SENDING, now, now
                message.attempts += 1
    return claim


# --- Sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    message: Message
    platform_message_id: str = ""
    error: PlatformError | None = None
    retry_in: float | None = None  # not sent: too late for its slot and no new one close enough


class SendThreads:
    """The process's send threads, and how many of them no run has claimed a message for.

    A run claims at most as many messages as there are free threads: a claimed message
    holds a rate-limit slot, and one that waited in the executor's queue for a thread would
    reach the platform late, then too close to the chat's next message (make bench saw 429s
    from a fake Telegram when several runs shared the threads).
    """

    def __init__(self, size: int):
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="outbound-send")
        self.free = threading.Semaphore(size)

    def take(self, wanted: int) -> int:
        """Wait for one free thread, then take up to `wanted` of the free ones; returns how many."""
        self.free.acquire()
        taken = 1
        while taken < wanted and self.free.acquire(blocking=False):
            taken += 1
        return taken

    def give_back(self, count: int) -> None:
        for _ in range(count):
            self.free.release()


_threads: SendThreads | None = None
_threads_pid: int | None = None
_threads_lock = threading.Lock()


def _send_threads() -> SendThreads:
    """The process's send threads (made after a fork, so a prefork child has its own)."""
    global _threads, _threads_pid
    with _threads_lock:
        if _threads is None or _threads_pid != os.getpid():
            _threads = SendThreads(settings.OUTBOUND_SEND_THREADS)
            _threads_pid = os.getpid()
        return _threads


def send_all(going: list[tuple[Message, float]]) -> list[Result]:
    """Each message's platform call, side by side (one alone: on this thread); each gives its
    thread back when done."""
    threads = _send_threads()
    messages = [message for message, _ in going]
    if len(going) <= 1:
        publish_messages(messages)
        return [send_one(message, slot_at, threads) for message, slot_at in going]
    futures = [threads.executor.submit(send_one, message, slot_at, threads) for message, slot_at in going]
    # "Sending" for the desktop while the calls are on the wire: published before them, it
    # made them later than their rate-limit slots (make bench).
    publish_messages(messages)
    return [future.result() for future in futures]


def send_one(message: Message, slot_at: float, threads: SendThreads) -> Result:
    """Wait for the reserved slot, then the platform call; never raises."""
    try:
        wait = slot_at - time.monotonic()
        if wait < -MAX_LATE:
            again = ratelimit.reserve(
                messenger=message.account.messenger,
                account_id=message.account_id,
                chat_id=message.customer.chat_id,
                max_wait=MAX_SLOT_WAIT,
            )
            if not again.granted:
                return Result(message, retry_in=again.wait)
            wait = again.wait
        if wait > 0:
            time.sleep(wait)
        return _call(message)
    finally:
        threads.give_back(1)


def _call(message: Message) -> Result:
    try:
        sent = delivery.platform_send(message)
    except PlatformError as error:
        return Result(message, error=error)
    except Exception as error:  # a bug or an unwrapped network error: retry, never lose it
        logger.exception("sending message %s failed unexpectedly", message.pk)
        return Result(message, error=Unavailable(f"internal error: {type(error).__name__}", code="internal"))
    return Result(message, platform_message_id=sent.platform_message_id or "")


# --- Recording -----------------------------------------------------------------------------


def record(results: list[Result]) -> None:
    """The sent ones together; each error on its own (a retry later, or a failure)."""
    if not results:
        return
    claimed = min(r.message.sending_started_at or timezone.now() for r in results)
    until = claimed + delivery.sending_timeout() - RECORD_MARGIN
    sent = [result for result in results if result.error is None and result.retry_in is None]
    if sent:
        _despite_outage(lambda: record_sent(sent), until=until)
    for result in results:
        if result.retry_in is not None:
            _despite_outage(lambda r=result: give_back(r.message, retry_in=r.retry_in), until=until)
            sender_wake.wake_later(delay=result.retry_in)
        elif result.error is not None:
            outcome = _despite_outage(lambda r=result: delivery.record_error(r.message.pk, r.error), until=until)
            if outcome.retry_in is not None:
                sender_wake.wake_later(delay=outcome.retry_in)


# The calls went out: their results are written again and again through a short database
# outage (a restart, a failover), until a little before the sweeper would take the messages
# for lost and send them again (make chaos: PostgreSQL stopped right after a round's calls
# made the sweeper send two of them twice).
RECORD_MARGIN = dt.timedelta(seconds=2)
RECORD_RETRY_SECONDS = 1.0


def _despite_outage(write, *, until: dt.datetime):
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError):
            if timezone.now() + dt.timedelta(seconds=RECORD_RETRY_SECONDS) > until:
                raise  # the sweeper sends them again: at-least-once
            logger.warning("recording sent messages failed; trying again", exc_info=True)
            connection.close()  # a broken connection; the next attempt takes a new one
            time.sleep(RECORD_RETRY_SECONDS)


def give_back(message: Message, *, retry_in: float) -> None:
    """A claimed message that did not go (its slot passed): queued again, the attempt undone."""
    now = timezone.now()
    back = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
        status=Message.Status.QUEUED,
        attempts=F("attempts") - 1,
        sending_started_at=None,
        next_attempt_at=now + dt.timedelta(seconds=retry_in),
        updated_at=now,
    )
    if back:
        message.status, message.updated_at = Message.Status.QUEUED, now
        publish_messages([message])


@transaction.atomic
def record_sent(results: list[Result]) -> list[Message]:
    """Record the platform's ids of messages still pending, in one UPDATE; returns them.

    Still pending means "sending", or "queued" if the sweeper gave up on this run meanwhile
    (we did send it). A message settled by someone else keeps what they recorded.
    """
    by_id = {result.message.pk: result for result in results}
    pending = list(
        Message.objects.select_for_update()
        .filter(pk__in=by_id, status__in=delivery.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not pending:
        return []
    now = timezone.now()
    platform_ids = Case(*[When(pk=pk, then=Value(by_id[pk].platform_message_id)) for pk in pending])
    Message.objects.filter(pk__in=pending).update(
        status=Message.Status.SENT, platform_message_id=platform_ids, sent_at=now, next_attempt_at=None, updated_at=now
    )
    messages = []
    for pk in pending:
        message = by_id[pk].message
        message.status, message.platform_message_id = Message.Status.SENT, by_id[pk].platform_message_id
        message.sent_at, message.next_attempt_at, message.updated_at = now, None, now
        # A delivery/read receipt may have beaten this commit (it is held until the id is known).
        # Telegram and LINE send none: no query for them.
        if get_provider(message.account.messenger).DELIVERY_RECEIPTS:
            apply_pending_receipts(message=message)
        status_changed(message)
        messages.append(message)
    transaction.on_commit(lambda: publish_messages(messages))
    return messages
