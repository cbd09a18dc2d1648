"""Chat events: recorded in the changing transaction, dispatched to listeners after it.

A lower layer that must tell a higher one something (a customer wrote, an agent was found, a
chat ended) records a `ChatEvent` row in the same transaction as the change: the
transactional outbox. It never imports the listener. Listeners (the scenario engine)
register at start-up with `listen`; after commit a task dispatches the event to them, and
the sweeper dispatches whatever was left undispatched (broker down, process killed). A
listener must handle an event id once: dispatching twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from contactcenter import scheduling
from conversations.models import ChatEvent

logger = logging.getLogger(__name__)

Kind = ChatEvent.Kind
Listener = Callable[[ChatEvent], None]
# The kinds a listener wants: a fixed set, or a function asked at each record (cheap: cache it).
Wanted = frozenset[str] | Callable[[], frozenset[str]]
DISPATCH_TASK = "conversations.tasks.dispatch_chat_events"
# After this many failed dispatches an event is left for a person to look at (admin).
MAX_ATTEMPTS = 10
BACKOFF_CAP = dt.timedelta(minutes=5)

_listeners: list[tuple[Listener, Wanted]] = []


def listen(listener: Listener, *, kinds: Wanted) -> None:
    """Register a listener for the chat events of `kinds` (from an AppConfig.ready())."""
    if all(existing is not listener for existing, _ in _listeners):
        _listeners.append((listener, kinds))


def _wants(wanted: Wanted, kind: str) -> bool:
    return kind in (wanted() if callable(wanted) else wanted)


def wanted(kind: str) -> bool:
    """Whether any listener wants events of `kind` now."""
    return any(_wants(kinds, kind) for _, kinds in _listeners)


def grace() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CHAT_EVENT_GRACE)


def record(*, interaction_id: int | None, kind: str, data: dict | None = None) -> ChatEvent | None:
    """Write the event in the caller's transaction; it is dispatched once that commits.

    An unknown kind raises ValueError: a typo must fail the change, not lose the event. A
    kind no listener wants now is not written (returns None).
    """
    kind = Kind(kind)
    if not wanted(kind):
        return None
    event = ChatEvent.objects.create(
        interaction_id=interaction_id, kind=kind, data=data or {}, next_attempt_at=timezone.now() + grace()
    )
    scheduling.on_commit_batched(DISPATCH_TASK, event.pk)  # one task for the transaction's events
    return event


def dispatch(event_id: int) -> bool:
    """Hand one event to every listener; True when this call dispatched it.

    A chat's events reach the listeners in the order they were recorded: earlier events of
    the same interaction still undispatched (their dispatch after commit was lost, say while
    the broker restarted) go first. Otherwise a chat could be ended for the scenario before
    its offer was accepted, and the run would never finish. A listener that raises leaves
    the event undispatched, with a later next attempt for the sweeper, and the error is
    raised to the caller (a later event of that chat then waits for the sweeper too).
    """
    event = ChatEvent.objects.filter(pk=event_id, dispatched_at__isnull=True).first()
    if event is None:
        return False
    if event.interaction_id is not None:
        for earlier in _undispatched([event.interaction_id], before=event.pk):
            _dispatch_event(earlier)
    return _dispatch_event(event)


def dispatch_many(event_ids: list[int]) -> int:
    """Dispatch a batch of events (a transaction's, or the sweeper's) in recorded order, with
    one query to load them and the undispatched earlier events of their chats; returns how
    many went. One that fails waits for the sweeper, and so do its chat's later events."""
    batch = ChatEvent.objects.filter(pk__in=event_ids, dispatched_at__isnull=True).in_bulk()
    if not batch:
        return 0
    interactions = {event.interaction_id for event in batch.values() if event.interaction_id is not None}
    earlier = [event for event in _undispatched(interactions, before=max(batch)) if event.pk not in batch]
    dispatched = 0
    held: set[int] = set()  # chats whose event failed here: their later events wait
    for event in sorted([*earlier, *batch.values()], key=lambda event: event.pk):
        if event.interaction_id in held:
            continue
        try:
            dispatched += _dispatch_event(event)
        except Exception:  # logged and recorded on the row; the sweeper tries it again
            if event.interaction_id is not None:
                held.add(event.interaction_id)
    return dispatched


def _undispatched(interaction_ids, *, before: int) -> list[ChatEvent]:
    if not interaction_ids:
        return []
    return list(
        ChatEvent.objects.filter(
            interaction_id__in=interaction_ids, pk__lt=before, dispatched_at__isnull=True, attempts__lt=MAX_ATTEMPTS
        ).order_by("id")
    )


def _dispatch_event(event: ChatEvent) -> bool:
    """Hand a loaded event to its listeners and mark it dispatched (listeners are idempotent:
    a concurrent dispatcher that loaded it too changes nothing)."""
    if not _listeners:
        logger.error("chat event %s has no listener; it stays undispatched", event.pk)
        return False
    try:
        for listener, kinds in _listeners:
            if _wants(kinds, event.kind):
                listener(event)
    except Exception as exc:
        _note_failure(event, exc)
        raise
    return bool(
        ChatEvent.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


def _note_failure(event: ChatEvent, exc: Exception) -> None:
    attempts = event.attempts + 1
    wait = min(BACKOFF_CAP, grace() * 2 ** min(attempts, 10))
    ChatEvent.objects.filter(pk=event.pk).update(
        attempts=attempts, next_attempt_at=timezone.now() + wait, last_error=f"{type(exc).__name__}: {exc}"[:1000]
    )
    level = logging.ERROR if attempts >= MAX_ATTEMPTS else logging.WARNING
    logger.log(
        level, "chat event %s (%s) failed to dispatch (attempt %s)", event.pk, event.kind, attempts, exc_info=True
    )


def sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Dispatch the events whose dispatch was lost or failed; returns how many went out."""
    now = now or timezone.now()
    due = list(
        ChatEvent.objects.filter(dispatched_at__isnull=True, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    dispatched = dispatch_many(due)
    if due:
        logger.info("chat event sweep: %s due, %s dispatched", len(due), dispatched)
    return dispatched
