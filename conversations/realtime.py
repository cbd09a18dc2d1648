"""Fan-out hints to the Agent Desktop over the channel layer.

A hint only says "look at the database": consumers reload the rows and the desktop resyncs
by last message id, so a lost hint delays nothing for long and loses nothing.
"""

import asyncio
import logging
import os
import threading
import uuid

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 5.0  # seconds; a hint is not worth holding a worker longer


def agent_group(user_id: int) -> str:
    """The channel-layer group of one agent's open desktop sockets."""
    return f"agent.{user_id}"


def interaction_group(interaction_id: int) -> str:
    """The group of everyone watching one interaction (agent, supervisors)."""
    return f"interaction.{interaction_id}"


class _PublisherLoop:
    """One event loop thread per process for publishing from sync code to a Redis layer.

    From a WSGI worker or a Celery task, `async_to_sync` would build a new event loop per
    call, and channels_redis a new connection per loop (about 4 ms per hint, measured); this
    loop keeps one. Recreated after a fork (Celery prefork, gunicorn), where threads do not
    survive.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.loop = None
        self.pid = None

    def run(self, coroutine) -> None:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                threading.Thread(target=self.loop.run_forever, name="channel-layer-publisher", daemon=True).start()
            loop = self.loop
        asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=PUBLISH_TIMEOUT)


_publisher = _PublisherLoop()


async def _send_all(layer, groups: list[str], payload: dict) -> None:
    await _send_each(layer, [(group, payload) for group in groups])


async def _send_each(layer, sends: list[tuple[str, dict]]) -> None:
    for group, payload in sends:
        try:
            await layer.group_send(group, payload)
        except Exception:  # a hint that fails must not fail the caller's work
            logger.warning("channel-layer publish to %s failed", group, exc_info=True)


def publish(groups: list[str], payload: dict) -> None:
    """Send `payload` (with a `type` the consumers handle) to each group; never raises."""
    layer = get_channel_layer()
    if layer is None or not groups:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to the server's own loop, which async_to_sync reaches.
            async_to_sync(_send_all)(layer, groups, payload)
        else:
            _publisher.run(_send_all(layer, groups, payload))
    except Exception:
        logger.warning("channel-layer publish to %s failed", ", ".join(groups), exc_info=True)


def publish_message(message) -> None:
    """Tell the desktop that `message` was stored or changed status. Call after commit."""
    publish_messages([message])


def publish_messages(messages) -> None:
    """`publish_message` for many (the inbox processor's batch): one hop to the publisher
    loop for all of them instead of one per message; never raises."""
    sends = [(group, payload) for message in messages for group, payload in _message_hints(message)]
    layer = get_channel_layer()
    if layer is None or not sends:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(_send_each)(layer, sends)
        else:
            _publisher.run(_send_each(layer, sends))
    except Exception:
        logger.warning("channel-layer publish of %s hints failed", len(sends), exc_info=True)


# What a desktop shows of a message, carried in its hint: a socket that may read the chat
# builds the frame from it instead of reading the row back (make bench: at 200 msg/s that read,
# one per socket per message, was most of the time between the publish and the frame).
ROW_FIELDS = (
    "interaction_id", "direction", "sender", "sender_user_id", "kind", "text", "attachment",
    "media_status", "status", "error_text", "error_code",
)  # fmt: skip


def message_row(message) -> dict:
    """The message's fields as of the change, in types a channel layer carries (msgpack)."""
    row = {name: getattr(message, name) for name in ROW_FIELDS}
    row["id"] = message.pk
    row["media"] = message.media.name if message.media else ""
    row["created_at"] = message.created_at.isoformat() if message.created_at else None
    # Each write of the row moves updated_at on (row locks order them): later means newer.
    row["version"] = message.updated_at.timestamp() if message.updated_at else None
    return row


def _message_hints(message) -> list[tuple[str, dict]]:
    interaction = message.interaction
    payload = {
        "type": "message.changed",
        "interaction_id": interaction.pk,
        "message_id": message.pk,
        "status": message.status,
        "hint_id": uuid.uuid4().hex,  # the same in every group: a socket in two takes it once
        "row": message_row(message),
    }
    groups = [interaction_group(interaction.pk)]
    if interaction.agent_id:
        groups.append(agent_group(interaction.agent_id))
    return [(group, payload) for group in groups]
