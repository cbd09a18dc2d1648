"""Desktop actions applied once per request id, so a re-sent action is never doubled.

The desktop gives every action a request id and re-sends the actions that got no answer
after a reconnect. The id is stored in the action's own transaction: either both the change
and the id are committed, or neither, and a second arrival of the id finds it and is
answered without being applied again (also after a server restart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from agentdesk.models import Agent, HandledRequest

# Actions that change something; reads (sync, history, search) may simply run again.
APPLIED_ONCE = frozenset({"set_state", "accept", "reject", "send", "end_chat", "wrap_up", "transfer", "note"})
KEEP_FOR = dt.timedelta(days=2)
MAX_REQUEST_ID = 64


def apply_once(*, agent_user, action: str, request_id, handler: Callable, content: dict) -> tuple[bool, list]:
    """Run `handler` unless this agent's `request_id` was handled before.

    Returns (applied, frames); applied is False for a repeat, which is acknowledged as is.
    """
    if action not in APPLIED_ONCE or not request_id:
        return True, handler(agent_user, content) or []
    request_id = str(request_id)[:MAX_REQUEST_ID]
    agent_id = Agent.objects.filter(user_id=agent_user.pk).values_list("pk", flat=True).get()
    with transaction.atomic():
        try:
            # A concurrent twin waits on the unique index here until the first one commits.
            with transaction.atomic():
                HandledRequest.objects.create(agent_id=agent_id, request_id=request_id, action=action)
        except IntegrityError:
            return False, []
        return True, handler(agent_user, content) or []


def forget_old(*, agent_user, now: dt.datetime | None = None) -> int:
    """Drop this agent's request ids older than any desktop could still re-send."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = HandledRequest.objects.filter(agent__user_id=agent_user.pk, handled_at__lt=cutoff).delete()
    return deleted
