"""The Agent Desktop socket: authenticate, decode, call a service, send frames.

Client frames: {"action": ..., "request_id": ..., ...}. Server frames: "snapshot" (state and
chats), "message" (one transcript row, sent again when its status changes), "transcript"
(an earlier interaction), "note" (a private note), "ack"/"error" for a request, "notice".
The desktop keeps the last message id per chat and asks for "sync" after every (re)connect,
so nothing is missed. Every action is answered by an "ack" or an "error" frame; the desktop
re-sends unanswered actions after a reconnect and `requests.apply_once` applies each request
id once.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from agentdesk import notes, requests, selectors, services, states
from agentdesk.models import Agent
from contactcenter import scheduling
from conversations.models import Interaction
from conversations.realtime import agent_group, interaction_group

logger = logging.getLogger(__name__)

# Reads for the desktop (snapshots, message and note frames) run on a few threads of their
# own: on Channels' one thread-sensitive database thread every socket of the process waited
# in one line behind every other's reads (`make bench`, 200 msg/s to 200 agents). A socket's
# hints are still handled one at a time, in order. Writes stay on the one thread.
READERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="desk-reads")


def read(func):
    """`func` as an awaitable database read on the reader threads."""
    return database_sync_to_async(func, thread_sensitive=False, executor=READERS)


RECENT_HINTS = 256  # message hints remembered per socket, to skip the second copy
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_AN_AGENT = 4403


class AgentDeskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(Agent.objects.filter(user_id=user.pk).exists)():
            await self.close(code=CLOSE_NOT_AN_AGENT)
            return
        self.user = user
        self.watched: set[int] = set()  # the readable chats of the last snapshot, whose groups it joined
        self.recent_hints: collections.OrderedDict = collections.OrderedDict()
        # Per message, the version (updated_at) of the last frame built from a hint's fields.
        self.versions: collections.OrderedDict = collections.OrderedDict()
        await self.channel_layer.group_add(agent_group(user.pk), self.channel_name)
        await self.accept()
        await database_sync_to_async(states.socket_opened)(user_id=user.pk)
        await database_sync_to_async(requests.forget_old)(agent_user=user)
        await self.send_snapshot()

    async def disconnect(self, code):
        user = getattr(self, "user", None)
        if user is None:
            return
        await self.channel_layer.group_discard(agent_group(user.pk), self.channel_name)
        for interaction_id in self.watched:
            await self.channel_layer.group_discard(interaction_group(interaction_id), self.channel_name)
        deadline = await database_sync_to_async(states.socket_closed)(user_id=user.pk)
        if deadline is not None:
            await database_sync_to_async(_schedule_presence)(user.pk, deadline)

    # --- Client actions -----------------------------------------------------------------

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "error": "bad_request", "message": "A frame must be an object."})
            return
        action = content.get("action")
        request_id = content.get("request_id")
        handler = ACTIONS.get(action)
        error = {"type": "error", "request_id": request_id, "action": action}
        if handler is None:
            await self.send_json({**error, "error": "unknown_action", "message": f"Unknown action {action!r}."})
            return
        try:
            applied, result = await database_sync_to_async(requests.apply_once)(
                agent_user=self.user, action=action, request_id=request_id, handler=handler, content=content
            )
        except (services.DeskError, notes.NoteRefused) as exc:
            await self.send_json({**error, "error": exc.code, "message": str(exc)})
            return
        except (TypeError, ValueError, OverflowError) as exc:
            await self.send_json({**error, "error": "bad_request", "message": str(exc)})
            return
        except Exception:
            # Never a silent close: the agent sees that this action failed and may retry.
            logger.exception("desktop action %s failed", action, extra={"user": self.user.pk})
            await self.send_json(
                {**error, "error": "server_error", "message": "The server could not do that; please try again."}
            )
            return
        for frame in result:
            if frame["type"] == "snapshot":
                await self.watch(frame)
            await self.send_json(frame)
        if action != "ping":
            await self.send_json({"type": "ack", "request_id": request_id, "action": action, "repeat": not applied})

    # --- Group hints --------------------------------------------------------------------

    HINTS = frozenset({"desk.changed", "desk.notice", "message.changed", "note.added"})

    async def dispatch(self, message):
        """A hint whose handling fails (a database or Redis hiccup) must not close the socket
        silently: log it, tell the desktop, and try the snapshot again a moment later."""
        if message.get("type") not in self.HINTS:
            return await super().dispatch(message)
        try:
            await super().dispatch(message)
        except Exception:
            logger.exception("desktop hint %s failed", message.get("type"), extra={"user": self.user.pk})
            await self.send_json(
                {"type": "error", "request_id": None, "error": "refresh_failed", "message": "Refreshing again…"}
            )
            asyncio.get_running_loop().call_later(2.0, lambda: asyncio.ensure_future(self._retry_snapshot()))

    async def _retry_snapshot(self):
        try:
            await self.send_snapshot()
        except Exception:  # the next hint or the desktop's resync on reconnect will catch up
            logger.warning("desktop snapshot retry failed", exc_info=True)

    async def desk_changed(self, event):
        await self.send_snapshot()

    async def desk_notice(self, event):
        await self.send_json({"type": "notice", "text": event.get("text", "")})

    async def message_changed(self, event):
        # The agent's socket is in the agent's group and in the chat's: one publish arrives
        # twice, with the same hint id.
        hint = event.get("hint_id")
        if hint is not None:
            if hint in self.recent_hints:
                return
            self.recent_hints[hint] = None
            if len(self.recent_hints) > RECENT_HINTS:
                self.recent_hints.popitem(last=False)
        row = event.get("row")
        frame = None
        if row is not None and event.get("interaction_id") in self.watched:  # shown: readable
            # Hints from different processes can arrive out of commit order (a fetched picture's
            # "stored" before its creation's "pending"): an older version than sent is skipped.
            version, sent = row.get("version"), self.versions.get(event["message_id"])
            if version is not None and sent is not None and version < sent:
                return
            frame = selectors.message_from_hint(row)
            if frame is not None and version is not None:
                self._sent_version(event["message_id"], version)
        if frame is None:
            frame = await read(selectors.message_for)(
                agent_user=self.user, message_id=event["message_id"], known_readable=frozenset(self.watched)
            )
        if frame is not None:
            await self.send_json({"type": "message", "message": frame})

    def _sent_version(self, message_id: int, version: float) -> None:
        self.versions[message_id] = version
        self.versions.move_to_end(message_id)
        if len(self.versions) > RECENT_HINTS:
            self.versions.popitem(last=False)

    async def note_added(self, event):
        frame = await read(notes.note_for)(user=self.user, note_id=event["note_id"])
        if frame is not None:
            await self.send_json({"type": "note", "note": frame})

    async def send_snapshot(self):
        snap = await read(selectors.snapshot)(agent_user=self.user)
        await self.watch(snap)
        await self.send_json(snap)

    async def watch(self, snap: dict) -> None:
        """Join the groups of the chats shown, so late status changes (read receipts) arrive."""
        shown = {c["interaction_id"] for c in snap["chats"] if c["status"] != "offered"}
        for interaction_id in shown - self.watched:
            await self.channel_layer.group_add(interaction_group(interaction_id), self.channel_name)
        for interaction_id in self.watched - shown:
            await self.channel_layer.group_discard(interaction_group(interaction_id), self.channel_name)
        self.watched = shown


def _schedule_presence(user_id: int, deadline) -> None:
    agent_id = Agent.objects.filter(user_id=user_id).values_list("pk", flat=True).first()
    if agent_id is not None:  # the desk sweeper fires it too, if this is lost
        scheduling.run(
            "agentdesk.tasks.presence_deadline", agent_id, delay=max(0.0, (deadline - timezone.now()).total_seconds())
        )


_ID_MAX = 2**63 - 1  # a database bigint


def _int(content: dict, key: str) -> int:
    """An id from a frame: an integer (or digit string) within the database's range."""
    value = content.get(key)
    if isinstance(value, bool) or value in (None, ""):
        raise ValueError(f"{key} is required")
    if isinstance(value, float):
        # 1e400 decodes as infinity: int() would raise OverflowError and close the socket.
        if not value.is_integer():
            raise ValueError(f"{key} must be an integer")
    number = int(value)
    if not 0 < number <= _ID_MAX:
        raise ValueError(f"{key} is out of range")
    return number


# --- Action handlers (sync, run in a thread) ------------------------------------------


def _ping(user, content):
    states.socket_seen(user_id=user.pk)
    return [{"type": "pong"}]


def _sync(user, content):
    raw = content.get("last_ids") or {}
    if not isinstance(raw, dict):
        raise ValueError("last_ids must be an object")
    last_ids = {int(k): int(v) for k, v in raw.items()}
    frames = [selectors.snapshot(agent_user=user)]
    frames += [{"type": "message", "message": m} for m in selectors.messages_after(agent_user=user, last_ids=last_ids)]
    frames += [{"type": "note", "note": n} for n in notes.notes_of(selectors.readable_interaction_ids(user))]
    return frames


def _set_state(user, content):
    reason = content.get("reason_id")
    services.set_state(agent_user=user, state=str(content.get("state")), reason_id=int(reason) if reason else None)


def _accept(user, content):
    services.accept_offer(agent_user=user, interaction_id=_int(content, "interaction_id"))


def _reject(user, content):
    services.reject_offer(agent_user=user, interaction_id=_int(content, "interaction_id"))


def _send(user, content):
    services.send_reply(
        agent_user=user, interaction_id=_int(content, "interaction_id"), text=str(content.get("text") or "")
    )


def _read(user, content):
    services.mark_read(
        agent_user=user, interaction_id=_int(content, "interaction_id"), message_id=_int(content, "message_id")
    )


def _end_chat(user, content):
    interaction = Interaction.objects.filter(pk=_int(content, "interaction_id")).first()
    if interaction is None:
        raise services.NotYourChat("No such chat.")
    services.end_chat(interaction=interaction, by="agent", cause="UserHangup", agent_user=user)


def _wrap_up(user, content):
    disposition = content.get("disposition_id")
    services.wrap_up(
        agent_user=user,
        interaction_id=_int(content, "interaction_id"),
        disposition_id=int(disposition) if disposition else None,
        notes=str(content.get("notes") or "")[:5000],
        finish=bool(content.get("finish")),
    )


def _transfer(user, content):
    to_agent = content.get("to_agent_id")
    service = content.get("service_id")
    services.transfer(
        agent_user=user,
        interaction_id=_int(content, "interaction_id"),
        to_agent_id=int(to_agent) if to_agent else None,
        service_id=int(service) if service else None,
        note=str(content.get("note") or "")[:2000],
    )


def _history(user, content):
    transcript = selectors.earlier_transcript(agent_user=user, interaction_id=_int(content, "interaction_id"))
    if transcript is None:
        raise services.NotYourChat("That conversation is not one of your customers'.")
    return [{"type": "transcript", **transcript}]


def _note(user, content):
    note = notes.add_note(
        author=user, interaction_id=_int(content, "interaction_id"), text=str(content.get("text") or "")
    )
    return [{"type": "note", "note": notes.serialize_note(note)}]


ACTIONS = {
    "note": _note,
    "ping": _ping,
    "sync": _sync,
    "set_state": _set_state,
    "accept": _accept,
    "reject": _reject,
    "send": _send,
    "read": _read,
    "end_chat": _end_chat,
    "wrap_up": _wrap_up,
    "transfer": _transfer,
    "history": _history,
}
