"""Celery tasks of the scenario engine: thin wrappers over scenarios.engine."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def advance_scenario(interaction_id: int, event: str, data: dict | None = None) -> None:
    """Feed one event to the interaction's scenario run (starting it if there is none).

    Safe to deliver twice: the engine locks the run row and skips events it already handled.
    """
    from scenarios import engine

    engine.handle_event(interaction_id=interaction_id, event=event, data=data or {})
