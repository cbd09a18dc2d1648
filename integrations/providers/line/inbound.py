"""LINE webhooks: base64 x-line-signature over the raw body, batched `events[]`.

The console's "Verify" button sends a signed body with `"events": []`: it parses to nothing
and is answered 200. The dedupe key is `webhookEventId`, unchanged on redelivery.
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
    from_millis,
    hmac_sha256_base64,
    ident,
    items,
    load_object,
    number,
    obj,
    same,
    secret_or_reject,
    text,
)

SIGNATURE_HEADER = "x-line-signature"
MEDIA_KINDS = {"image": EventKind.IMAGE, "video": EventKind.VIDEO, "audio": EventKind.AUDIO, "file": EventKind.FILE}


def verify(account, request: WebhookRequest) -> None:
    key = secret_or_reject(account.signing_secret, "channel secret")
    expected = hmac_sha256_base64(key, request.body).encode()
    if not same(request.headers.get(SIGNATURE_HEADER), expected):
        raise WebhookRejected(f"{SIGNATURE_HEADER} is missing or wrong")


def handshake(account, request: WebhookRequest):
    return None


def parse(account, request: WebhookRequest) -> ParseResult:
    payload = load_object(request.body)
    events: list[InboundEvent] = []
    ignored: list[str] = []
    batch = items(payload, "events")
    unreadable: list[str] = []
    for index, item in enumerate(batch):
        # One unreadable event must not cost the others: LINE would redeliver the whole
        # batch until it gives up, and the good customer messages with it.
        try:
            if not isinstance(item, dict):
                raise MalformedPayload("'events' items must be objects")
            event = _event(item)
        except MalformedPayload as exc:
            unreadable.append(f"unreadable event #{index}: {exc}")
            continue
        if isinstance(event, InboundEvent):
            events.append(event)
        else:
            ignored.append(event)
    if unreadable and len(unreadable) == len(batch):
        raise MalformedPayload(unreadable[0])  # nothing in it is readable: the delivery is
    return ParseResult(events, ignored + unreadable)


def _event(item: dict[str, Any]) -> InboundEvent | str:
    kind = text(item, "type")
    event_id = ident(item, "webhookEventId")
    source = obj(item, "source")
    user_id = ident(source, "userId", required=False)
    if not user_id:
        return f"{kind} event {event_id} without a userId"
    if text(item, "mode") == "standby":
        return f"{kind} event {event_id} in standby mode"
    common = {
        "event_id": event_id,
        "customer_external_id": user_id,
        # Push accepts a user, group or room id: reply where the customer wrote.
        "reply_to": ident(source, "groupId", required=False) or ident(source, "roomId", required=False) or user_id,
        "timestamp": from_millis(item.get("timestamp")),
        "extra": {
            "messenger": "line",
            "source_type": text(source, "type"),
            "is_redelivery": bool(obj(item, "deliveryContext", required=False).get("isRedelivery")),
        },
        "raw": item,
    }
    if kind in ("message", "messageEdited"):
        message = obj(item, "message")
        message_kind, body, attachment = _content(message)
        if kind == "messageEdited":
            attachment = {**attachment, "edited_kind": message_kind}
            message_kind = EventKind.EDITED
        return InboundEvent(
            kind=message_kind, text=body, attachment=attachment, platform_message_id=ident(message, "id"), **common
        )
    if kind == "postback":
        postback = obj(item, "postback")
        data = text(postback, "data")
        params = obj(postback, "params", required=False)
        return InboundEvent(
            kind=EventKind.POSTBACK, text=data, attachment={"type": "postback", "data": data, **params}, **common
        )
    if kind == "follow":
        unblocked = bool(obj(item, "follow", required=False).get("isUnblocked"))
        return InboundEvent(kind=EventKind.FOLLOW, status="unblocked" if unblocked else "follow", **common)
    if kind == "unfollow":
        return InboundEvent(kind=EventKind.UNFOLLOW, status="unfollow", **common)
    return f"{kind or 'untyped'} event {event_id}"


def _content(message: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    kind = text(message, "type")
    message_id = ident(message, "id")
    if kind == "text":
        return EventKind.TEXT, text(message, "text"), {}
    if kind in MEDIA_KINDS:
        provider = obj(message, "contentProvider", required=False)
        attachment = {
            "type": kind,
            "message_id": message_id,
            "content_provider": text(provider, "type") or "line",
            "url": text(provider, "originalContentUrl"),
            "file_name": text(message, "fileName"),
            "file_size": message.get("fileSize"),
            "duration": message.get("duration"),
        }
        return MEDIA_KINDS[kind], "", {k: v for k, v in attachment.items() if v not in ("", None)}
    if kind == "sticker":
        sticker = {k: message[k] for k in ("packageId", "stickerId", "stickerResourceType", "keywords") if k in message}
        return EventKind.STICKER, "", {"type": "sticker", **sticker}
    if kind == "location":
        place = {"title": text(message, "title"), "address": text(message, "address")}
        coords = {"latitude": number(message, "latitude"), "longitude": number(message, "longitude")}
        return EventKind.LOCATION, "", {"type": "location", **place, **coords}
    return EventKind.OTHER, "", {"type": kind or "unsupported", "message_id": message_id}
