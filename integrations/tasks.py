"""Celery tasks of outbound delivery; the work is in `integrations.delivery`."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from contactcenter import embedded
from integrations import delivery

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_message(message_id: int) -> str:
    """Send one outbound message (a no-op unless it is queued, due and next in line)."""
    outcome = delivery.send_queued_message(message_id=message_id)
    if outcome.detail:
        logger.info("message %s stays %s: %s", message_id, outcome.status, outcome.detail)
    if outcome.retry_in is not None:
        schedule_send(message_id, delay=outcome.retry_in)
    return outcome.status


@shared_task(ignore_result=True)
def sweep_outbound() -> dict:
    """Celery beat: requeue messages a lost task or a dead worker left queued or sending."""
    return delivery.sweep()


def schedule_send(message_id: int, *, delay: float) -> None:
    """Run `send_message` in `delay` seconds without parking long countdowns in workers.

    A countdown task sits unacknowledged in a worker; past Redis's visibility timeout it
    would be delivered twice, so longer waits are left to the sweeper (the row keeps
    `next_attempt_at`). The eager embedded default has no worker and no beat: a timer
    thread stands in.
    """
    if delay <= 0.01:
        send_message.delay(message_id)
    elif send_message.app.conf.task_always_eager:
        embedded.run_later(delay, send_message, message_id)
    elif delay <= settings.OUTBOUND_MAX_COUNTDOWN:
        send_message.apply_async((message_id,), countdown=delay)
    # else: the sweeper enqueues it once next_attempt_at is due.
