"""Fan-out hints to the Agent Desktop over the channel layer.

A hint only says "look at the database": consumers reload the rows and the desktop resyncs
by last message id, so a lost hint delays nothing for long and loses nothing.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def agent_group(user_id: int) -> str:
    """The channel-layer group of one agent's open desktop sockets."""
    return f"agent.{user_id}"


def interaction_group(interaction_id: int) -> str:
    """The group of everyone watching one interaction (agent, supervisors)."""
    return f"interaction.{interaction_id}"


def publish(groups: list[str], payload: dict) -> None:
    """Send `payload` (with a `type` the consumers handle) to each group; never raises."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, payload)
        except Exception:  # a hint that fails must not fail the caller's work
            logger.warning("channel-layer publish to %s failed", group, exc_info=True)


def publish_message(message) -> None:
    """Tell the desktop that `message` was stored or changed status. Call after commit."""
    interaction = message.interaction
    groups = [interaction_group(interaction.pk)]
    if interaction.agent_id:
        groups.append(agent_group(interaction.agent_id))
    publish(
        groups,
        {
            "type": "message.changed",
            "interaction_id": interaction.pk,
            "message_id": message.pk,
            "status": message.status,
        },
    )
