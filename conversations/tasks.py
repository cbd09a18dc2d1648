"""Celery tasks of conversations: dispatching chat events, and their sweeper."""

from celery import shared_task
from django.db import OperationalError

from conversations import events


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),  # a deadlock or a lost connection: try again
    retry_backoff=True,
    max_retries=5,
)
def dispatch_chat_event(event_id: int) -> bool:
    """Hand one recorded chat event to its listeners (a no-op once it was dispatched)."""
    return events.dispatch(event_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def dispatch_chat_events(event_ids: list[int]) -> int:
    """Hand a transaction's chat events to their listeners, in order; returns how many went.

    One that fails is left to the sweeper (recorded on its row) and the rest go on.
    """
    return events.dispatch_many(event_ids)


@shared_task(ignore_result=True)
def sweep_chat_events() -> int:
    """Beat: dispatch chat events whose dispatch after commit was lost or failed."""
    return events.sweep()
