"""Telegram webhooks: the secret-token header, and updates parsed into InboundEvents.

Telegram does not sign bodies; it echoes the `secret_token` we gave `setWebhook` in
`X-Telegram-Bot-Api-Secret-Token`. The dedupe key is `update_id`.
"""

from __future__ import annotations

from typing import Any

from integrations.providers.base import (
    EventKind,
    InboundEvent,
    MalformedPayload,
    ParseResult,
    WebhookRejected,
    WebhookRequest,
)
from integrations.providers.inbound_common import (
    from_unix,
    ident,
    items,
    load_object,
    number,
    obj,
    same,
    secret_or_reject,
    short,
    text,
)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def verify(account, request: WebhookRequest) -> None:
    expected = secret_or_reject(account.webhook_secret, "webhook secret")
    if not same(request.headers.get(SECRET_HEADER), expected):
        raise WebhookRejected(f"{SECRET_HEADER} is missing or wrong")


def handshake(account, request: WebhookRequest):
    return None  # Telegram has no GET handshake


def parse(account, request: WebhookRequest) -> ParseResult:
    update = load_object(request.body)
    update_id = update.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int) or not 0 <= update_id < 2**63:
        raise MalformedPayload("'update_id' must be a non-negative 64-bit integer")
    event_id = str(update_id)
    if "message" in update:
        return ParseResult([_message_event(event_id, obj(update, "message"), edited=False, raw=update)])
    if "edited_message" in update:
        return ParseResult([_message_event(event_id, obj(update, "edited_message"), edited=True, raw=update)])
    if "callback_query" in update:
        return ParseResult([_callback_event(event_id, obj(update, "callback_query"), raw=update)])
    if "my_chat_member" in update:
        event = _member_event(event_id, obj(update, "my_chat_member"), raw=update)
        return ParseResult([event] if event else [], [] if event else [f"my_chat_member update {event_id}"])
    kinds = sorted(key for key in update if key != "update_id")
    return ParseResult([], [f"update {event_id} of type {','.join(kinds) or 'empty'}"])


def _person(sender: dict[str, Any]) -> dict[str, str]:
    first, last = short(text(sender, "first_name")), short(text(sender, "last_name"))
    return {
        "customer_external_id": ident(sender, "id"),
        "first_name": first,
        "last_name": last,
        "display_name": short(" ".join(part for part in (first, last) if part)),
        "username": short(text(sender, "username")),
        "language": short(text(sender, "language_code"), 16),
    }


def _content(message: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(kind, text, attachment metadata) of a message's content."""
    caption = text(message, "caption")
    if "text" in message:
        return EventKind.TEXT, text(message, "text"), {}
    if "photo" in message:
        sizes = [size for size in items(message, "photo") if isinstance(size, dict)]
        if not sizes:
            raise MalformedPayload("'photo' has no sizes")
        largest = sizes[-1]  # Telegram lists sizes smallest first
        return EventKind.IMAGE, caption, _file("image", largest, width=largest.get("width"))
    for key, kind in (
        ("document", EventKind.FILE),
        ("voice", EventKind.AUDIO),
        ("audio", EventKind.AUDIO),
        ("video", EventKind.VIDEO),
        ("video_note", EventKind.VIDEO),
        ("animation", EventKind.VIDEO),
    ):
        if key in message:
            part = obj(message, key)
            return kind, caption, _file(key, part, file_name=part.get("file_name"), mime_type=part.get("mime_type"))
    if "sticker" in message:
        sticker = obj(message, "sticker")
        return EventKind.STICKER, "", _file("sticker", sticker, emoji=sticker.get("emoji"))
    if "location" in message:
        location = obj(message, "location")
        coords = {"latitude": number(location, "latitude"), "longitude": number(location, "longitude")}
        return EventKind.LOCATION, "", {"type": "location", **coords}
    if "contact" in message:
        contact = obj(message, "contact")
        fields = ("phone_number", "first_name", "last_name", "user_id")
        return EventKind.CONTACT, "", {"type": "contact", **{f: contact[f] for f in fields if f in contact}}
    return EventKind.OTHER, caption, {"type": "unsupported"}


def _file(kind: str, part: dict[str, Any], **extra: Any) -> dict[str, Any]:
    metadata = {"type": kind, "file_id": ident(part, "file_id"), "file_unique_id": part.get("file_unique_id")}
    metadata.update(extra)
    return {key: value for key, value in metadata.items() if value is not None}


def _message_event(event_id: str, message: dict[str, Any], *, edited: bool, raw: dict) -> InboundEvent:
    chat = obj(message, "chat")
    sender = obj(message, "from", required=False) or chat  # channel posts have no `from`
    kind, body, attachment = _content(message)
    if edited:
        attachment = {**attachment, "edited_kind": kind}
        kind = EventKind.EDITED
    return InboundEvent(
        event_id=event_id,
        kind=kind,
        reply_to=ident(chat, "id"),
        text=body,
        attachment=attachment,
        platform_message_id=ident(message, "message_id"),
        timestamp=from_unix(message.get("edit_date") if edited else message.get("date")),
        extra={"messenger": "telegram", "chat_type": text(chat, "type")},
        raw=raw,
        **_person(sender),
    )


def _callback_event(event_id: str, query: dict[str, Any], *, raw: dict) -> InboundEvent:
    message = obj(query, "message", required=False)
    sender = obj(query, "from")
    chat = obj(message, "chat", required=False)
    return InboundEvent(
        event_id=event_id,
        kind=EventKind.POSTBACK,
        reply_to=ident(chat, "id", required=False) or ident(sender, "id"),
        text=text(query, "data"),
        attachment={"type": "callback", "callback_query_id": ident(query, "id"), "data": text(query, "data")},
        timestamp=from_unix(message.get("date")),
        extra={"messenger": "telegram"},
        raw=raw,
        **_person(sender),
    )


def _member_event(event_id: str, update: dict[str, Any], *, raw: dict) -> InboundEvent | None:
    status = text(obj(update, "new_chat_member"), "status")
    kind = {"kicked": EventKind.UNFOLLOW, "member": EventKind.FOLLOW}.get(status)
    if kind is None:
        return None
    chat = obj(update, "chat")
    return InboundEvent(
        event_id=event_id,
        kind=kind,
        reply_to=ident(chat, "id"),
        timestamp=from_unix(update.get("date")),
        status=status,
        extra={"messenger": "telegram"},
        raw=raw,
        **_person(obj(update, "from")),
    )
