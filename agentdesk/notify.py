"""Hints to desktops over the channel layer, sent once the transaction commits.

A hint says "reload": the consumer rebuilds the agent's snapshot from the database, so a lost
hint is healed by the next one or by the desktop's resync on reconnect.
"""

from django.db import transaction

from conversations.realtime import agent_group, publish


def notify_agents(*user_ids: int) -> None:
    """After commit, tell these agents' desktops that their state or chats changed."""
    ids = sorted({uid for uid in user_ids if uid})
    if not ids:
        return
    transaction.on_commit(lambda: publish([agent_group(uid) for uid in ids], {"type": "desk.changed"}), robust=True)


def notify_notice(user_id: int, text: str) -> None:
    """After commit, show a short notice on the agent's desktop (e.g. a declined transfer)."""
    transaction.on_commit(lambda: publish([agent_group(user_id)], {"type": "desk.notice", "text": text}), robust=True)
