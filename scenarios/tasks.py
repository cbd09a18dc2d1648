"""Celery tasks of the scenario engine: thin wrappers over scenarios.engine and services."""

import logging

from celery import shared_task
from django.db import OperationalError

from scenarios import engine, inactivity, services

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),  # a deadlock or a lost connection: try again
    retry_backoff=True,
    max_retries=5,
)
def advance_scenario(interaction_id: int, event: str, data: dict | None = None) -> None:
    """Feed one event to the interaction's scenario run (starting it if there is none).

    Chat events from the layers below come through `conversations.events` instead; this task
    carries the engine's own timers (and lets tests and operators poke a run).
    """
    engine.handle_event(interaction_id=interaction_id, event=event, data=data or {})


@shared_task(ignore_result=True)
def fire_due_timers() -> int:
    """Beat, every second: hand every due scenario timer to its run."""
    due = services.due_timer_ids()
    for interaction_id, timer_id in due:
        services.wake(interaction_id, timer_id)
    return len(due)


@shared_task(ignore_result=True)
def fire_timer(timer_id: int) -> None:
    """Countdown task for one timer; the sweeper covers it if this task is lost."""
    interaction_id = services.claim_timer(timer_id)
    if interaction_id is not None:
        services.wake(interaction_id, timer_id)


@shared_task(ignore_result=True)
def inactivity_deadline(row_id: int) -> None:
    """Countdown task of one chat's inactivity deadline; the sweeper covers it if lost."""
    inactivity.fire(row_id)


@shared_task(ignore_result=True)
def sweep_inactivity() -> int:
    """Beat: fire every due inactivity deadline (warning or close)."""
    fired = 0
    for row_id in inactivity.due_ids():
        try:
            fired += inactivity.fire(row_id) != "done"
        except Exception:  # one chat's failure must not stop the others
            logger.exception("inactivity deadline %s failed", row_id)
    return fired
