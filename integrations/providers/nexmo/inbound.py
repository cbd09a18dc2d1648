"""Vonage Messages API webhooks: an HS256 JWT with `payload_hash`, inbound and status shapes.

The signature secret signs a JWT in `Authorization: Bearer`; we check the signature, that
`payload_hash` is the SHA-256 of the exact body, and that `iat` is recent, so a captured
request cannot be replayed later. Inbound messages and status callbacks share this module.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jwt

from integrations.providers.base import (
    EventKind,
    InboundEvent,
    MalformedPayload,
    ParseResult,
    WebhookRejected,
    WebhookRequest,
)
from integrations.providers.inbound_common import (
    event_key,
    from_iso,
    ident,
    load_object,
    number,
    obj,
    same,
    secret_or_reject,
    short,
    text,
)

MAX_CLOCK_SKEW = 300  # seconds either side of `iat`
MEDIA_KINDS = {"image": EventKind.IMAGE, "audio": EventKind.AUDIO, "video": EventKind.VIDEO, "file": EventKind.FILE}
STATUS_KINDS = {
    "delivered": EventKind.DELIVERED,
    "read": EventKind.READ,
    "rejected": EventKind.FAILED,
    "undeliverable": EventKind.FAILED,
}


def decode_signature(token: str, secret: bytes) -> dict[str, Any]:
    """The claims of a Vonage-signed JWT (signature only); WebhookRejected when invalid."""
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.PyJWTError as exc:
        raise WebhookRejected(f"JWT rejected: {exc.__class__.__name__}") from None


def verify(account, request: WebhookRequest) -> None:
    secret = secret_or_reject(account.signing_secret, "signature secret")
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise WebhookRejected("Authorization: Bearer <JWT> is missing")
    claims = decode_signature(token.strip(), secret)
    body_hash = hashlib.sha256(request.body).hexdigest().encode()
    claimed = claims.get("payload_hash")
    if not isinstance(claimed, str) or not same(claimed, body_hash):
        raise WebhookRejected("payload_hash does not match the body")
    issued = claims.get("iat")
    if isinstance(issued, bool) or not isinstance(issued, (int, float)) or abs(time.time() - issued) > MAX_CLOCK_SKEW:
        raise WebhookRejected("JWT iat is missing or not recent")


def handshake(account, request: WebhookRequest):
    return None


def parse(account, request: WebhookRequest) -> ParseResult:
    payload = load_object(request.body)
    uuid = ident(payload, "message_uuid")
    when = from_iso(payload.get("timestamp"))
    channel = text(payload, "channel")
    if "status" in payload and "message_type" not in payload:
        return ParseResult([_status(payload, uuid, when)])
    if "message_type" not in payload:
        raise MalformedPayload("neither an inbound message nor a status")
    customer = _address(payload, "from")
    kind, body, attachment = _content(payload)
    profile = obj(payload, "profile", required=False)
    return ParseResult(
        [
            InboundEvent(
                event_id=uuid,
                kind=kind,
                customer_external_id=customer,
                reply_to=customer,
                display_name=short(text(profile, "name")),
                text=body,
                attachment=attachment,
                platform_message_id=uuid,
                timestamp=when,
                extra={"messenger": "nexmo", "channel": channel, "to": _address(payload, "to")},
                raw=payload,
            )
        ]
    )


def _address(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if isinstance(value, dict):  # webhook version v0.1 nests {type, number|id}
        return ident(value, "number", required=False) or ident(value, "id")
    return ident(payload, key)


def _content(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    kind = text(payload, "message_type")
    if kind == "text":
        return EventKind.TEXT, text(payload, "text"), {}
    if kind in MEDIA_KINDS:
        media = obj(payload, kind)
        return (
            MEDIA_KINDS[kind],
            text(media, "caption"),
            {"type": kind, "url": text(media, "url"), "name": text(media, "name")},
        )
    if kind == "location":
        location = obj(payload, "location")
        coords = {"latitude": number(location, "lat"), "longitude": number(location, "long")}
        return EventKind.LOCATION, "", {"type": "location", **coords, "name": text(location, "name")}
    if kind == "sticker":
        return EventKind.STICKER, "", {"type": "sticker", **obj(payload, "sticker", required=False)}
    if kind == "reply":
        reply = obj(payload, "reply")
        return EventKind.POSTBACK, text(reply, "title"), {"type": "reply", "id": text(reply, "id")}
    return EventKind.OTHER, "", {"type": kind or "unsupported"}


def _status(payload: dict[str, Any], uuid: str, when) -> InboundEvent:
    status = text(payload, "status")
    error = obj(payload, "error", required=False)
    return InboundEvent(
        event_id=event_key("status", uuid, status),
        kind=STATUS_KINDS.get(status, EventKind.STATUS),
        customer_external_id=_address(payload, "to"),
        receipt_message_ids=(uuid,),
        timestamp=when,
        status=status,
        error_code=str(error.get("type") or error.get("code") or "")[:64],
        error_text=" ".join(filter(None, [text(error, "title"), text(error, "detail")]))[:1000],
        extra={"messenger": "nexmo", "channel": text(payload, "channel")},
        raw=payload,
    )
