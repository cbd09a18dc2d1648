"""Outbound delivery rules: what may be sent, what an error means, sweeping and the admin's Retry.

`integrations.sender` claims, sends and records in batches; this module holds the rules it
applies to each message. The message row is the idempotency record: a message is marked
"sending" and committed before any network call, so a duplicated or late run leaves it alone.
What can still happen is a crash between the platform accepting the message and our commit:
the sweeper then resends it (at-least-once), which LINE deduplicates by the X-Line-Retry-Key
we send.

Order per customer: a message waits while an older outbound message of the same customer is
queued or sending; settling a message lets the sender claim the customer's next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from conversations.models import Message
from conversations.realtime import publish_message
from conversations.services import mark_unreachable, status_changed
from integrations import media, ratelimit, sender_wake
from integrations.directives import Buttons, Location
from integrations.providers import get_provider
from integrations.providers.base import PlatformError, RateLimited, RecipientUnreachable, Unavailable

logger = logging.getLogger(__name__)

PENDING = (Message.Status.QUEUED, Message.Status.SENDING)
FACEBOOK_WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)


def max_attempts() -> int:
    return settings.OUTBOUND_MAX_ATTEMPTS


def max_age() -> dt.timedelta:
    return dt.timedelta(seconds=settings.OUTBOUND_MAX_AGE)


def sending_timeout() -> dt.timedelta:
    """How long a message may stay "sending" before the sweeper presumes its worker dead."""
    return dt.timedelta(seconds=settings.OUTBOUND_SENDING_TIMEOUT)


def backoff(attempt: int) -> float:
    """Seconds before retry `attempt` (1-based): exponential, capped, with jitter."""
    base = settings.OUTBOUND_BACKOFF_BASE
    cap = settings.OUTBOUND_BACKOFF_CAP
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Outcome:
    """What recording an error did: the message's status afterwards, and when to look again."""

    status: str
    retry_in: float | None = None  # seconds, when the message went back to queued
    detail: str = ""


def platform_send(message: Message):
    """One platform call: the message's file (uploaded, or offered by signed URL), its location,
    else its text (with buttons, when it carries them)."""
    provider = get_provider(message.account.messenger)
    common = {"to": message.customer.chat_id, "idempotency_key": str(message.idempotency_key)}
    if media.is_outbound_media(message):
        return provider.send_media(
            message.account, media=media.outbound_media(message), **common, **_send_options(message)
        )
    if (message.attachment or {}).get("location"):
        return provider.send_location(
            message.account, location=Location.from_json(message.attachment["location"]), **common
        )
    return provider.send_text(message.account, text=message.text, **common, **_send_options(message))


def older_pending(message: Message):
    return Message.objects.filter(
        customer_id=message.customer_id,
        direction=Message.Direction.OUTBOUND,
        status__in=PENDING,
        pk__lt=message.pk,
    )


def first_in_line():
    """Queued outbound messages with no older pending message of the same customer."""
    older = Message.objects.filter(
        customer_id=OuterRef("customer_id"),
        direction=Message.Direction.OUTBOUND,
        status__in=PENDING,
        pk__lt=OuterRef("pk"),
    )
    return Message.objects.filter(direction=Message.Direction.OUTBOUND, status=Message.Status.QUEUED).exclude(
        Exists(older)
    )


def _outside_facebook_window(message: Message, *, now: dt.datetime) -> dt.timedelta | None:
    """Time since the customer's last message when past the 24-hour window, else None."""
    last = message.customer.last_inbound_at
    if message.account.messenger != "facebook" or last is None:
        return None
    elapsed = now - last
    return elapsed if elapsed > FACEBOOK_WINDOW else None


def refusal(message: Message, *, now: dt.datetime) -> str:
    """Why this message must not be sent at all, or ""."""
    if not message.account.enabled:
        return "Not sent: the integration account is disabled."
    if now - message.created_at > max_age():
        return "Not sent: the message waited longer than the delivery deadline."
    elapsed = _outside_facebook_window(message, now=now)
    if elapsed is None:
        return ""
    if not message.account.allow_human_agent_tag:
        return (
            "Not sent: Facebook allows replies only within 24 hours of the customer's last message, "
            "and this page has no Human Agent permission."
        )
    if message.sender != Message.Sender.AGENT:
        return "Not sent: outside Facebook's 24-hour window only an agent's own reply may be sent (HUMAN_AGENT tag)."
    if elapsed > HUMAN_AGENT_WINDOW:
        return "Not sent: the customer's last message is older than the 7 days the HUMAN_AGENT tag allows."
    return ""


def _send_options(message: Message) -> dict:
    options = {}
    buttons = Buttons.from_json((message.attachment or {}).get("buttons"))
    if buttons is not None:
        options["buttons"] = buttons
    if _outside_facebook_window(message, now=timezone.now()) is not None:
        options["human_agent"] = True
    return options


def _locked(message_id: int) -> Message:
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("account", "customer", "interaction")
        .get(pk=message_id)
    )


@transaction.atomic
def record_error(message_id: int, error: PlatformError) -> Outcome:
    message = _locked(message_id)
    if message.status not in PENDING:
        return Outcome(message.status, detail="already settled")
    messenger = message.account.messenger
    message.error_code = error.code[:64]
    message.error_text = str(error.text)[:1000]
    now = timezone.now()
    if isinstance(error, RateLimited):
        retry_in = max(float(error.retry_after), 0.05)
        # Some platforms (Viber's status 12) cap one recipient, not the bot: then only the
        # customer's own line waits (behind this message) and the account goes on.
        if not get_provider(messenger).RATE_LIMIT_PER_RECIPIENT:
            ratelimit.pause(messenger=messenger, account_id=message.account_id, seconds=retry_in)
        return _requeue(message, retry_in=retry_in)
    if isinstance(error, Unavailable):
        if message.attempts >= max_attempts() or now - message.created_at > max_age():
            fail(message, code=message.error_code, text=f"Gave up after {message.attempts} attempts: {error.text}")
            return Outcome(message.status)
        return _requeue(message, retry_in=backoff(message.attempts))
    fail(message, code=message.error_code, text=message.error_text)
    if isinstance(error, RecipientUnreachable):
        mark_unreachable(message.customer, f"{error.text} ({error.code})" if error.code else error.text)
    return Outcome(message.status)


def _requeue(message: Message, *, retry_in: float) -> Outcome:
    message.status = Message.Status.QUEUED
    message.next_attempt_at = timezone.now() + dt.timedelta(seconds=retry_in)
    message.save()
    transaction.on_commit(lambda: publish_message(message))
    return Outcome(message.status, retry_in=retry_in)


def fail(message: Message, *, code: str, text: str) -> None:
    message.status = Message.Status.FAILED
    message.error_code = code[:64]
    message.error_text = text[:1000]
    message.next_attempt_at = None
    message.save()
    _after_final(message)


def _after_final(message: Message) -> None:
    """A message settled: record it, tell the desktop, and let the customer's next message go."""
    status_changed(message)
    transaction.on_commit(lambda: publish_message(message))
    transaction.on_commit(lambda: kick_next(customer_id=message.customer_id))


def schedule_send(message_id: int, *, delay: float) -> None:
    """Wake the sender when `message_id`, the head of its customer's line, is due: now, or in
    `delay` seconds (longer than the scheduler's countdowns: the sweeper)."""
    logger.debug("outbound message %s due in %.2f s", message_id, delay)
    sender_wake.wake_later(delay=delay)


def kick_next(*, customer_id: int) -> None:
    """Wake the sender for the customer's oldest pending outbound message, if it is queued."""
    head = (
        Message.objects.filter(customer_id=customer_id, direction=Message.Direction.OUTBOUND, status__in=PENDING)
        .order_by("pk")
        .values("pk", "status", "next_attempt_at")
        .first()
    )
    if not head or head["status"] != Message.Status.QUEUED:
        return
    now = timezone.now()
    if head["next_attempt_at"] and head["next_attempt_at"] > now:
        schedule_send(head["pk"], delay=(head["next_attempt_at"] - now).total_seconds())
        return
    # Restart the sweeper's grace: a run is on its way now.
    Message.objects.filter(pk=head["pk"], status=Message.Status.QUEUED).update(next_attempt_at=now)
    schedule_send(head["pk"], delay=0)


# --- Sweeper and admin retry ----------------------------------------------------------


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Requeue what a lost task or a dead worker left behind; returns counts.

    - "sending" for longer than the sending timeout: the worker died mid-send; back to queued
      (the attempt counts; the platform may have the message already: at-least-once).
    - queued, due for longer than a grace period, first in its customer's line: its wake-up
      was lost (killed worker, broker restart, a countdown we never parked): run the sender.
    """
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.OUTBOUND_QUEUED_GRACE)
    with transaction.atomic():
        stuck = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(
                direction=Message.Direction.OUTBOUND,
                status=Message.Status.SENDING,
                sending_started_at__lt=now - sending_timeout(),
            )
            .values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=stuck).update(status=Message.Status.QUEUED, next_attempt_at=now, updated_at=now)
    due = list(
        first_in_line().filter(next_attempt_at__lte=now - grace).order_by("pk").values_list("pk", flat=True)[:1000]
    )
    # Restart their grace, so that one slow send is not enqueued again at every sweep.
    Message.objects.filter(pk__in=due, status=Message.Status.QUEUED).update(next_attempt_at=now)
    due = sorted(set(due) | set(stuck))
    if due:
        sender_wake.run_now()  # not a coalesced wake-up: its flag may be a lost run's
        logger.info("outbound sweep: %s stuck sending, %s requeued", len(stuck), len(due))
    return {"stuck": len(stuck), "requeued": len(due)}


# --- Stuck messages and the admin's Retry ----------------------------------------------


def queued_grace() -> dt.timedelta:
    return dt.timedelta(seconds=settings.OUTBOUND_QUEUED_GRACE)


def stuck_q(*, now: dt.datetime) -> Q:
    """Outbound messages past the sweeper's window: queued for longer than the grace without
    being sent, or "sending" for longer than the sending timeout."""
    return Q(direction=Message.Direction.OUTBOUND) & (
        Q(status=Message.Status.QUEUED, created_at__lte=now - queued_grace())
        | Q(status=Message.Status.SENDING, sending_started_at__lt=now - sending_timeout())
    )


def with_older_pending(queryset):
    """Annotate `older_pending_id`: the customer's oldest pending outbound message before this one."""
    older = Message.objects.filter(
        customer_id=OuterRef("customer_id"),
        direction=Message.Direction.OUTBOUND,
        status__in=PENDING,
        pk__lt=OuterRef("pk"),
    ).order_by("pk")
    return queryset.annotate(older_pending_id=Subquery(older.values("pk")[:1]))


def format_duration(delta: dt.timedelta) -> str:
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def age(message: Message, *, now: dt.datetime) -> dt.timedelta:
    """How long the message has waited to go out (since it was written)."""
    return now - message.created_at


def stuck_reason(
    message: Message, *, now: dt.datetime, older_pending_id: int | None = None, account_wait: float | None = None
) -> str:
    """Why a queued or sending message has not gone out, in the admin's words ("" when not pending).

    `older_pending_id` (see `with_older_pending`) and `account_wait` are looked up when not given.
    """
    last_error = f" Last error: {message.error_code + ': ' if message.error_code else ''}{message.error_text}"
    last_error = last_error if message.error_text or message.error_code else ""
    if message.status == Message.Status.SENDING:
        started = message.sending_started_at or message.updated_at
        if now - started <= sending_timeout():
            return f"Being sent right now (for {format_duration(now - started)}); Retry leaves it alone."
        return (
            f"Sending for {format_duration(now - started)} with no answer from its worker (lost worker?); "
            f"the sweeper requeues it, Retry does it now."
        )
    if message.status != Message.Status.QUEUED:
        return ""
    if older_pending_id is None:
        older_pending_id = older_pending(message).order_by("pk").values_list("pk", flat=True).first()
    if older_pending_id:
        return f"Waiting behind older message #{older_pending_id} of the same customer (sent in order)."
    if not message.account.enabled:
        return "The integration account is disabled; the next attempt fails it."
    if now - message.created_at > max_age():
        return "Older than the delivery deadline; the next attempt fails it."
    if account_wait is None:
        account_wait = ratelimit.account_wait(messenger=message.account.messenger, account_id=message.account_id)
    if account_wait >= 1:
        return f"Account paused by the platform's rate limit for {format_duration(dt.timedelta(seconds=account_wait))}."
    if message.next_attempt_at and message.next_attempt_at > now:
        wait = format_duration(message.next_attempt_at - now)
        return f"Next attempt in {wait} (attempt {message.attempts + 1}).{last_error}"
    due_since = message.next_attempt_at or message.created_at
    return f"Due for {format_duration(now - due_since)} but no worker took it (task lost?).{last_error}"


@dataclass(frozen=True)
class RetryResult:
    """What the admin's Retry did with the selected messages."""

    requeued: list[int]  # failed or stuck messages put back in the queue, due now
    in_flight: list[int]  # being sent right now (within the sending timeout): left alone
    behind: list[int]  # requeued, but an older message (not retried) of the same customer goes first
    skipped: list[int]  # sent, delivered, read or inbound: nothing to retry


def retry(*, message_ids: list[int], now: dt.datetime | None = None) -> RetryResult:
    """Requeue failed and stuck outbound messages (the admin's Retry), keeping per-customer order.

    Rows are locked (in id order) before they change. A message "sending" within the sending
    timeout may be on the wire right now, so it is left alone rather than risk a second send; one
    "sending" for longer is presumed lost with its worker, as the sweeper presumes. The customer's
    oldest pending message is then handed to a task, so nothing overtakes an older message.
    """
    now = now or timezone.now()
    requeued, in_flight, skipped = [], [], []
    with transaction.atomic():
        messages = list(
            Message.objects.select_for_update(of=("self",))
            .filter(pk__in=message_ids, direction=Message.Direction.OUTBOUND)
            .order_by("pk")
        )
        skipped = sorted(set(message_ids) - {m.pk for m in messages})
        for message in messages:
            if message.status == Message.Status.FAILED:
                message.attempts = 0  # a fresh set of attempts, as the admin asked
            elif message.status == Message.Status.SENDING:
                started = message.sending_started_at or message.updated_at
                if now - started <= sending_timeout():
                    in_flight.append(message.pk)
                    continue
            elif message.status != Message.Status.QUEUED:
                skipped.append(message.pk)
                continue
            message.status = Message.Status.QUEUED
            message.next_attempt_at = now
            message.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
            transaction.on_commit(lambda m=message: publish_message(m))
            requeued.append(message.pk)
        requeued_messages = [m for m in messages if m.pk in requeued]
        behind = [m.pk for m in requeued_messages if older_pending(m).exclude(pk__in=requeued).exists()]
        customer_ids = {m.customer_id for m in requeued_messages}
        transaction.on_commit(lambda: [kick_next(customer_id=c) for c in sorted(customer_ids)])
    if requeued or in_flight:
        logger.info("outbound retry: requeued %s, left in flight %s", requeued, in_flight)
    return RetryResult(requeued=requeued, in_flight=in_flight, behind=behind, skipped=sorted(skipped))


def retry_failed(*, message_ids: list[int]) -> int:
    """Put failed or stuck outbound messages back in the queue; returns how many (see `retry`)."""
    return len(retry(message_ids=message_ids).requeued)
