"""The scenario interpreter (being written; the entry point's signature is final)."""

import logging

logger = logging.getLogger(__name__)


def handle_event(*, interaction_id: int, event: str, data: dict) -> None:
    logger.warning("scenario engine not ready yet; event %s for interaction %s ignored", event, interaction_id)
