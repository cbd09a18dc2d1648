"""Celery tasks of the scenario engine: thin wrappers over scenarios.engine and services."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction

from contactcenter import embedded
from scenarios import services

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

    Safe to deliver twice: the engine locks the run row and skips events it already handled.
    """
    from scenarios import engine

    engine.handle_event(interaction_id=interaction_id, event=event, data=data or {})


@shared_task(ignore_result=True)
def fire_due_timers() -> int:
    """Celery beat, every second: hand every due scenario timer to its run."""
    due = services.due_timer_ids()
    for interaction_id, timer_id in due:
        _wake(interaction_id, timer_id)
    return len(due)


@shared_task(ignore_result=True)
def resume_stalled_chats() -> int:
    """Celery beat: hand customer messages whose engine task was lost to the engine again."""
    stalled = services.stalled_chats()
    for interaction_id, message_id in stalled:
        logger.warning(
            "interaction %s: message %s was not taken by its scenario; handing it over again",
            interaction_id,
            message_id,
        )
        advance_scenario.delay(interaction_id, "customer_message", {"message_id": message_id})
    return len(stalled)


@shared_task(ignore_result=True)
def fire_timer(timer_id: int) -> None:
    """Countdown task for one timer; the sweeper covers it if this task is lost."""
    interaction_id = services.claim_timer(timer_id)
    if interaction_id is not None:
        _wake(interaction_id, timer_id)


def _wake(interaction_id: int, timer_id: int) -> None:
    transaction.on_commit(lambda: advance_scenario.delay(interaction_id, "timer", {"timer_id": timer_id}), robust=True)


def schedule_timer(timer_id: int, *, delay: float) -> None:
    """Fire the timer in `delay` seconds by a countdown task; beat's sweeper is the safety net.

    Under the eager embedded default there is no worker and no beat: a timer thread stands
    in (as for outbound retries), so `make run` still sends queue messages and ends Waits.
    """
    if fire_timer.app.conf.task_always_eager:
        embedded.run_later(max(delay, 0) + 0.05, fire_timer, timer_id)
    elif delay <= settings.OUTBOUND_MAX_COUNTDOWN:
        # Longer countdowns would sit unacknowledged near Redis's visibility timeout.
        fire_timer.apply_async((timer_id,), countdown=max(delay, 0))
