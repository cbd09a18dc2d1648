"""Celery tasks of integrations: thin wrappers over `delivery` and `profiles`."""

from __future__ import annotations

import logging

from celery import shared_task

from integrations import delivery, ingest, media, profiles, sender
from integrations.providers.base import PlatformError

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_outbound() -> int:
    """Send the outbound messages that are due, in batches, until none is; returns how many
    went (woken after each queueing, at a rate-limit slot or a backoff, and by the sweeper)."""
    return sender.send_due()


@shared_task(ignore_result=True)
def sweep_outbound() -> dict:
    """Beat: requeue messages a lost task or a dead worker left queued or sending."""
    return delivery.sweep()


@shared_task(bind=True, max_retries=5, default_retry_delay=30, ignore_result=True)
def fetch_customer_profile(self, customer_id: int) -> None:
    """Fetch a customer's name from the platform's profile API, once, off the webhook path."""
    try:
        profiles.fetch_profile(customer_id=customer_id)
    except PlatformError as exc:  # retryable only: permanent refusals are recorded as tried
        raise self.retry(exc=exc) from None


@shared_task(ignore_result=True)
def process_inbox() -> int:
    """Turn acknowledged webhook events into customers, chats and messages (woken after each
    webhook's commit, and by beat for rows nobody took)."""
    return ingest.process_pending()


@shared_task(ignore_result=True)
def prune_inbox() -> int:
    """Beat: delete processed inbox rows past their retention (the table would only grow)."""
    return ingest.prune()


@shared_task(bind=True, max_retries=4, ignore_result=True)
def fetch_media(self, message_id: int) -> str:
    """Fetch an inbound attachment's bytes from the platform and store them, once."""
    try:
        return media.fetch(message_id=message_id, last_try=self.request.retries >= self.max_retries)
    except media.FetchLater as exc:
        raise self.retry(exc=exc, countdown=15 * 2**self.request.retries) from None


@shared_task(ignore_result=True)
def sweep_media() -> int:
    """Beat: queue again the media fetches a lost task or a dead worker left behind."""
    return media.sweep()
