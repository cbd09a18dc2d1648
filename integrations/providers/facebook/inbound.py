"""Facebook Messenger webhooks: X-Hub-Signature-256, the hub.* handshake, batched entries.

Meta batches: one POST holds several `entry[]`, each with several `messaging[]` items, and
every one is an event. Names are not in the payload (the profile API is called later).
"""

from __future__ import annotations

from typing import Any

from integrations.providers.base import (
    EventKind,
    HandshakeResponse,
    InboundEvent,
    MalformedPayload,
    ParseResult,
    WebhookRejected,
    WebhookRequest,
)
from integrations.providers.inbound_common import (
    event_key,
    from_millis,
    hmac_sha256_hex,
    ident,
    ids,
    items,
    load_object,
    number,
    obj,
    same,
    secret_or_reject,
    text,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
ATTACHMENT_KINDS = {
    "image": EventKind.IMAGE,
    "video": EventKind.VIDEO,
    "audio": EventKind.AUDIO,
    "file": EventKind.FILE,
    "location": EventKind.LOCATION,
}


def verify(account, request: WebhookRequest) -> None:
    key = secret_or_reject(account.signing_secret, "app secret")
    expected = f"sha256={hmac_sha256_hex(key, request.body)}".encode()
    if not same(request.headers.get(SIGNATURE_HEADER), expected):
        raise WebhookRejected(f"{SIGNATURE_HEADER} is missing or wrong")


def handshake(account, request: WebhookRequest) -> HandshakeResponse:
    """Meta's subscription check: echo hub.challenge when mode and verify token match."""
    token = account.webhook_secret
    if (
        token
        and request.query.get("hub.mode") == "subscribe"
        and same(request.query.get("hub.verify_token"), token.encode())
        and request.query.get("hub.challenge")
    ):
        return HandshakeResponse(200, request.query["hub.challenge"][:256])
    return HandshakeResponse(403, "Forbidden")


def parse(account, request: WebhookRequest) -> ParseResult:
    payload = load_object(request.body)
    if payload.get("object") != "page":
        return ParseResult([], [f"object {str(payload.get('object'))[:40]!r}"])
    events: list[InboundEvent] = []
    ignored: list[str] = []
    unreadable: list[str] = []
    readable = 0
    for entry in items(payload, "entry"):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str | int):
            unreadable.append("unreadable entry (not an object with an id)")
            continue
        page_id = ident(entry, "id")
        if account.page_id and page_id != account.page_id:
            ignored.append(f"entry for another page {page_id}")
            continue
        if "standby" in entry:
            ignored.append("standby entry (another app owns the thread)")
        for index, item in enumerate(items(entry, "messaging", required=False)):
            # One unreadable item must not cost the batch: Meta would redeliver it all.
            try:
                if not isinstance(item, dict):
                    raise MalformedPayload("'messaging' items must be objects")
                event = _messaging_event(item)
            except MalformedPayload as exc:
                unreadable.append(f"unreadable messaging item #{index}: {exc}")
                continue
            readable += 1
            if isinstance(event, InboundEvent):
                events.append(event)
            else:
                ignored.append(event)
    if unreadable and not readable:
        raise MalformedPayload(unreadable[0])  # nothing in it is readable: the delivery is
    return ParseResult(events, ignored + unreadable)


def _messaging_event(item: dict[str, Any]) -> InboundEvent | str:
    """One messaging item as an event, or a description of why it is not handled."""
    psid = ident(obj(item, "sender"), "id")
    when = from_millis(item.get("timestamp"))
    common = {"customer_external_id": psid, "reply_to": psid, "timestamp": when, "raw": item}
    common["extra"] = {"messenger": "facebook", "recipient": ident(obj(item, "recipient"), "id")}
    if "message" in item:
        message = obj(item, "message")
        if message.get("is_echo"):
            return "echo of our own message"
        return _message(message, common)
    if "postback" in item:
        postback = obj(item, "postback")
        payload = text(postback, "payload")
        event_id = ident(postback, "mid", required=False) or event_key("postback", psid, number(item, "timestamp"))
        return InboundEvent(
            event_id=event_id,
            kind=EventKind.POSTBACK,
            text=payload,
            attachment={"type": "postback", "title": text(postback, "title"), "payload": payload},
            platform_message_id=ident(postback, "mid", required=False),
            **common,
        )
    if "delivery" in item:
        delivery = obj(item, "delivery")
        mids = ids(delivery, "mids")
        watermark = number(delivery, "watermark", required=False)
        key = ",".join(mids) or str(watermark)
        return InboundEvent(
            event_id=event_key("delivery", psid, key),
            kind=EventKind.DELIVERED,
            receipt_message_ids=mids,
            receipt_watermark=from_millis(watermark),
            **common,
        )
    if "read" in item:
        watermark = number(obj(item, "read"), "watermark")
        return InboundEvent(
            event_id=event_key("read", psid, watermark),
            kind=EventKind.READ,
            receipt_watermark=from_millis(watermark),
            **common,
        )
    if "message_edit" in item:
        edit = obj(item, "message_edit")
        mid = ident(edit, "mid")
        return InboundEvent(
            event_id=event_key("edit", mid, number(edit, "num_edit", required=False)),
            kind=EventKind.EDITED,
            text=text(edit, "text"),
            attachment={"type": "edit", "num_edit": edit.get("num_edit")},
            platform_message_id=mid,
            **common,
        )
    kinds = sorted(set(item) - {"sender", "recipient", "timestamp"})
    return f"messaging item of type {','.join(kinds) or 'empty'}"


def _message(message: dict[str, Any], common: dict[str, Any]) -> InboundEvent:
    mid = ident(message, "mid")
    body = text(message, "text")
    kind, attachment = EventKind.TEXT, {}
    attachments = [a for a in items(message, "attachments", required=False) if isinstance(a, dict)]
    if attachments:
        first = attachments[0]
        payload = obj(first, "payload", required=False)
        kind = ATTACHMENT_KINDS.get(text(first, "type"), EventKind.OTHER)
        attachment = {"type": text(first, "type"), **{k: v for k, v in payload.items() if k != "coordinates"}}
        if kind == EventKind.IMAGE and "sticker_id" in payload:
            kind = EventKind.STICKER
        if kind == EventKind.LOCATION:
            coords = obj(payload, "coordinates")
            attachment.update(latitude=number(coords, "lat"), longitude=number(coords, "long"))
        if len(attachments) > 1:
            attachment["more"] = attachments[1:]
    elif "quick_reply" in message:
        attachment = {"type": "quick_reply", "payload": text(obj(message, "quick_reply"), "payload")}
    elif not body:
        kind, attachment = EventKind.OTHER, {"type": "unsupported"}
    return InboundEvent(event_id=mid, kind=kind, text=body, attachment=attachment, platform_message_id=mid, **common)
