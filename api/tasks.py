"""Celery tasks of the event webhooks; the work is in `api.event_webhooks`."""

from celery import shared_task

from api import event_webhooks


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_event_webhook(delivery_id: str) -> str:
    """One attempt at one delivery (a no-op unless it is due and nobody else is sending it)."""
    return event_webhooks.deliver(delivery_id).status


@shared_task(ignore_result=True)
def sweep_event_webhooks() -> int:
    """Celery beat: send deliveries that are due and that no task took."""
    return event_webhooks.sweep()
