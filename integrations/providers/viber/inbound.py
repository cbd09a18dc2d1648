"""Viber webhooks: hex X-Viber-Content-Signature keyed by the auth token.

`set_webhook` makes Viber POST a signed `webhook` event that must get a 200; it parses to
nothing. delivered/seen/failed carry the `message_token` of *our* message.
"""

from __future__ import annotations

from typing import Any

from integrations.providers.base import (
    EventKind,
    InboundEvent,
    ParseResult,
    WebhookRejected,
    WebhookRequest,
)
from integrations.providers.inbound_common import (
    event_key,
    from_millis,
    hmac_sha256_hex,
    ident,
    load_object,
    number,
    obj,
    same,
    secret_or_reject,
    short,
    text,
)

SIGNATURE_HEADER = "X-Viber-Content-Signature"
MESSAGE_KINDS = {
    "text": EventKind.TEXT,
    "picture": EventKind.IMAGE,
    "video": EventKind.VIDEO,
    "file": EventKind.FILE,
    "sticker": EventKind.STICKER,
    "location": EventKind.LOCATION,
    "contact": EventKind.CONTACT,
    "url": EventKind.TEXT,
}
RECEIPT_KINDS = {"delivered": EventKind.DELIVERED, "seen": EventKind.READ, "failed": EventKind.FAILED}


def verify(account, request: WebhookRequest) -> None:
    key = secret_or_reject(account.access_token, "auth token")
    expected = hmac_sha256_hex(key, request.body).encode()
    if not same(request.headers.get(SIGNATURE_HEADER), expected):
        raise WebhookRejected(f"{SIGNATURE_HEADER} is missing or wrong")


def handshake(account, request: WebhookRequest):
    return None


def parse(account, request: WebhookRequest) -> ParseResult:
    payload = load_object(request.body)
    event = text(payload, "event")
    stamp = payload.get("timestamp")
    when = from_millis(stamp)
    token = ident(payload, "message_token", required=False)
    base = {"timestamp": when, "raw": payload}
    if event == "message":
        return ParseResult([_message(payload, token, base)])
    if event in ("subscribed", "conversation_started"):
        user = obj(payload, "user")
        event_id = event_key(event, token or ident(user, "id"), number(payload, "timestamp"))
        extra = {"messenger": "viber", "context": text(payload, "context"), "subscribed": payload.get("subscribed")}
        return ParseResult(
            [InboundEvent(event_id=event_id, kind=EventKind.FOLLOW, status=event, extra=extra, **_person(user), **base)]
        )
    if event == "unsubscribed":
        user_id = ident(payload, "user_id")
        event_id = event_key("unsubscribed", user_id, number(payload, "timestamp"))
        return ParseResult(
            [
                InboundEvent(
                    event_id=event_id,
                    kind=EventKind.UNFOLLOW,
                    status=event,
                    customer_external_id=user_id,
                    reply_to=user_id,
                    **base,
                )
            ]
        )
    if event in RECEIPT_KINDS:
        user_id = ident(payload, "user_id")
        ours = ident(payload, "message_token")
        return ParseResult(
            [
                InboundEvent(
                    event_id=event_key(event, ours, user_id),
                    kind=RECEIPT_KINDS[event],
                    customer_external_id=user_id,
                    receipt_message_ids=(ours,),
                    status=event,
                    error_text=text(payload, "desc")[:1000],
                    **base,
                )
            ]
        )
    return ParseResult([], [f"{event or 'untyped'} event"])


def _person(user: dict[str, Any]) -> dict[str, str]:
    user_id = ident(user, "id")
    return {
        "customer_external_id": user_id,
        "reply_to": user_id,
        "display_name": short(text(user, "name")),
        "avatar_url": short(text(user, "avatar"), 1000),
        "language": short(text(user, "language"), 16),
    }


def _message(payload: dict[str, Any], token: str, base: dict[str, Any]) -> InboundEvent:
    message = obj(payload, "message")
    kind = text(message, "type")
    attachment: dict[str, Any] = {}
    body = text(message, "text")
    if kind == "url":
        body = body or text(message, "media")
    elif kind in ("picture", "video", "file"):
        attachment = {
            "type": kind,
            "url": text(message, "media"),
            "file_name": text(message, "file_name"),
            "size": message.get("size"),
            "thumbnail": text(message, "thumbnail"),
        }
    elif kind == "sticker":
        attachment = {"type": "sticker", "sticker_id": ident(message, "sticker_id"), "url": text(message, "media")}
    elif kind == "location":
        location = obj(message, "location")
        attachment = {"type": "location", "latitude": number(location, "lat"), "longitude": number(location, "lon")}
    elif kind == "contact":
        contact = obj(message, "contact")
        attachment = {"type": "contact", "name": text(contact, "name"), "phone_number": text(contact, "phone_number")}
    elif kind != "text":
        attachment = {"type": kind or "unsupported"}
    sender = obj(payload, "sender")
    return InboundEvent(
        event_id=ident(payload, "message_token"),
        kind=MESSAGE_KINDS.get(kind, EventKind.OTHER),
        text=body,
        attachment={k: v for k, v in attachment.items() if v not in ("", None)},
        platform_message_id=token,
        extra={
            "messenger": "viber",
            "tracking_data": text(message, "tracking_data"),
            "country": text(sender, "country"),
        },
        **_person(sender),
        **base,
    )
