"""What each fake platform puts in its webhook bodies, and the platform-shaped ids in them."""

import base64
import datetime as dt
import json
import secrets
import time
import uuid

from simulator.media import cdn_url
from simulator.models import Platform, SimAccount, SimCustomer

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A ULID (48-bit ms time + 80 random bits, Crockford base32), like LINE's webhookEventId."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def now_ms() -> int:
    return int(time.time() * 1000)


def customer_external_id(platform: str) -> str:
    """A new customer id in the platform's own shape."""
    if platform == Platform.TELEGRAM:
        return str(secrets.randbelow(8_000_000_000) + 1_000_000_000)
    if platform == Platform.FACEBOOK:
        return str(secrets.randbelow(9 * 10**15) + 10**15)
    if platform == Platform.LINE:
        return "U" + secrets.token_hex(16)
    if platform == Platform.VIBER:
        return base64.b64encode(secrets.token_bytes(16)).decode()
    return "4477009" + str(secrets.randbelow(90000) + 10000)


def message_id(platform: str, counter: int) -> str:
    """A platform message id for a new message (Telegram: the bot's message counter)."""
    if platform == Platform.TELEGRAM:
        return str(counter)
    if platform == Platform.FACEBOOK:
        return "m_" + secrets.token_urlsafe(24)
    if platform == Platform.LINE:
        return str(secrets.randbelow(9 * 10**17) + 10**17)
    if platform == Platform.VIBER:
        return str(secrets.randbelow(2**62) + 2**60)
    return str(uuid.uuid4())


def dumps(platform: str, payload: dict) -> bytes:
    """Serialize as the platform does; Meta escapes non-ASCII and '/'."""
    if platform == Platform.FACEBOOK:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def inbound_text(
    *,
    account: SimAccount,
    customer: SimCustomer,
    text: str,
    message_id: str,
    update_id: int,
    quick_reply: str | None = None,
) -> dict:
    """The webhook body of a customer's text message (a pressed Facebook quick reply carries
    its payload)."""
    ms = now_ms()
    platform = account.platform
    if platform == Platform.TELEGRAM:
        person = {"id": int(customer.external_id), "first_name": customer.first_name}
        if customer.last_name:
            person["last_name"] = customer.last_name
        person["username"] = customer.key.replace("-", "_")[:32]
        return {
            "update_id": update_id,
            "message": {
                "message_id": int(message_id),
                "from": {**person, "is_bot": False, "language_code": "en"},
                "chat": {**person, "type": "private"},
                "date": ms // 1000,
                "text": text,
            },
        }
    if platform == Platform.FACEBOOK:
        message = {"mid": message_id, "text": text}
        if quick_reply is not None:
            message["quick_reply"] = {"payload": quick_reply}
        return _facebook(account, customer, ms, {"message": message})
    if platform == Platform.LINE:
        return {
            "destination": account.platform_id,
            "events": [
                {
                    "type": "message",
                    "message": {
                        "type": "text",
                        "id": message_id,
                        "quoteToken": secrets.token_urlsafe(24),
                        "text": text,
                    },
                    "webhookEventId": ulid(),
                    "deliveryContext": {"isRedelivery": False},
                    "timestamp": ms,
                    "source": {"type": "user", "userId": customer.external_id},
                    "replyToken": secrets.token_hex(16),
                    "mode": "active",
                }
            ],
        }
    if platform == Platform.VIBER:
        return {
            "event": "message",
            "timestamp": ms,
            "chat_hostname": "SN-CHAT-05_",
            "message_token": int(message_id),
            "sender": {
                "id": customer.external_id,
                "name": customer.name,
                "avatar": "",
                "language": "en",
                "country": "GB",
                "api_version": 10,
            },
            "message": {"type": "text", "text": text},
            "silent": False,
        }
    return {
        "channel": "sms",
        "message_uuid": message_id,
        "to": account.platform_id,
        "from": customer.external_id,
        "timestamp": iso_now(),
        "message_type": "text",
        "text": text,
        "sms": {"num_messages": "1"},
        "usage": {"currency": "EUR", "price": "0.0333"},
    }


def receipt(*, account: SimAccount, customer: SimCustomer, kind: str, message_id: str, error: dict | None = None):
    """A delivery/read receipt for one of the bot's messages, or None where the platform has none.

    kind: "delivered", "read" (Vonage also "submitted", "rejected").
    """
    ms = now_ms()
    platform = account.platform
    if platform == Platform.FACEBOOK:
        if kind == "delivered":
            return _facebook(account, customer, ms, {"delivery": {"mids": [message_id], "watermark": ms}})
        return _facebook(account, customer, ms, {"read": {"watermark": ms}})
    if platform == Platform.VIBER:
        return {
            "event": "delivered" if kind == "delivered" else "seen",
            "timestamp": ms,
            "chat_hostname": "SN-CHAT-05_",
            "message_token": int(message_id),
            "user_id": customer.external_id,
        }
    if platform == Platform.NEXMO:
        return vonage_status(account=account, to=customer.external_id, kind=kind, message_id=message_id, error=error)
    return None


def vonage_status(*, account: SimAccount, to: str, kind: str, message_id: str, error: dict | None = None) -> dict:
    """A Vonage Messages status callback about a message the bot sent to `to`."""
    body = {
        "message_uuid": message_id,
        "to": to,
        "from": account.platform_id,
        "timestamp": iso_now(),
        "status": kind,
        "channel": "sms",
    }
    if kind == "delivered":
        body["usage"] = {"currency": "EUR", "price": "0.0333"}
    if error:
        body["error"] = error
    return body


def block_event(*, account: SimAccount, customer: SimCustomer, blocked: bool, update_id: int) -> dict | None:
    """What the platform tells the bot when a customer blocks or unblocks it (None: nothing)."""
    ms = now_ms()
    if account.platform == Platform.TELEGRAM:
        person = {"id": int(customer.external_id), "is_bot": False, "first_name": customer.first_name}
        bot = {
            "id": int(account.platform_id or 0),
            "is_bot": True,
            "first_name": account.name,
            "username": account.username,
        }
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        return {
            "update_id": update_id,
            "my_chat_member": {
                "chat": {"id": int(customer.external_id), "first_name": customer.first_name, "type": "private"},
                "from": person,
                "date": ms // 1000,
                "old_chat_member": _chat_member(bot, old),
                "new_chat_member": _chat_member(bot, new),
            },
        }
    if account.platform == Platform.LINE:
        event = {
            "type": "unfollow" if blocked else "follow",
            "mode": "active",
            "timestamp": ms,
            "source": {"type": "user", "userId": customer.external_id},
            "webhookEventId": ulid(),
            "deliveryContext": {"isRedelivery": False},
        }
        if not blocked:
            event.update(replyToken=secrets.token_hex(16), follow={"isUnblocked": True})
        return {"destination": account.platform_id, "events": [event]}
    if account.platform == Platform.VIBER:
        body = {"timestamp": ms, "chat_hostname": "SN-CHAT-05_", "message_token": int(message_id(Platform.VIBER, 0))}
        if blocked:
            return {"event": "unsubscribed", **body, "user_id": customer.external_id}
        user = {
            "id": customer.external_id,
            "name": customer.name,
            "avatar": "",
            "language": "en",
            "country": "GB",
            "api_version": 10,
        }
        return {"event": "subscribed", **body, "user": user}
    return None


def _chat_member(user: dict, status: str) -> dict:
    """A Telegram ChatMember; a "kicked" one always carries until_date (0: forever), on either
    side of the update, and client libraries refuse it without."""
    return {"user": user, "status": status} | ({"until_date": 0} if status == "kicked" else {})


def event_id_of(body: dict) -> str:
    """The platform event id of a LINE or Viber body (for the delivery log)."""
    if "events" in body:
        return body["events"][0]["webhookEventId"]
    return str(body.get("message_token", ""))


def viber_webhook_event() -> dict:
    """The event Viber POSTs to a URL during set_webhook."""
    return {
        "event": "webhook",
        "timestamp": now_ms(),
        "chat_hostname": "SN-CHAT-05_",
        "message_token": int(message_id(Platform.VIBER, 0)),
    }


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _facebook(account: SimAccount, customer: SimCustomer, ms: int, event: dict) -> dict:
    return {
        "object": "page",
        "entry": [
            {
                "id": account.platform_id,
                "time": ms,
                "messaging": [
                    {"sender": {"id": customer.external_id}, "recipient": {"id": account.platform_id}, "timestamp": ms}
                    | event
                ],
            }
        ],
    }


def inbound_media(*, account: SimAccount, customer: SimCustomer, message, update_id: int) -> dict:
    """The webhook body of a customer's picture, file or location (`message` is the SimMessage;
    its file is served the platform's way, see simulator.media)."""
    body = inbound_text(
        account=account,
        customer=customer,
        text=message.text or "-",
        message_id=message.platform_message_id,
        update_id=update_id,
    )
    kind, att, caption = message.kind, message.attachment, message.text
    platform = account.platform
    if platform == Platform.TELEGRAM:
        content = body["message"]
        del content["text"]
        if caption and kind != "location":
            content["caption"] = caption
        if kind == "location":
            content["location"] = {"latitude": att["latitude"], "longitude": att["longitude"]}
        elif kind == "image":
            content["photo"] = [
                {
                    "file_id": att["file_id"],
                    "file_unique_id": att["file_id"][-12:],
                    "width": 640,
                    "height": 480,
                    "file_size": att["size"],
                }
            ]
        else:
            content["document"] = {
                "file_id": att["file_id"],
                "file_unique_id": att["file_id"][-12:],
                "file_name": att["name"],
                "mime_type": att["content_type"],
                "file_size": att["size"],
            }
        return body
    if platform == Platform.FACEBOOK:
        if kind == "location":
            item = {"type": "location", "payload": {"coordinates": {"lat": att["latitude"], "long": att["longitude"]}}}
        else:
            item = {"type": "image" if kind == "image" else "file", "payload": {"url": cdn_url(message)}}
        body["entry"][0]["messaging"][0]["message"] = {"mid": message.platform_message_id, "attachments": [item]}
        return body
    if platform == Platform.LINE:
        event = body["events"][0]
        if kind == "location":
            event["message"] = {
                "type": "location",
                "id": message.platform_message_id,
                "title": "Shared location",
                "address": "",
                "latitude": att["latitude"],
                "longitude": att["longitude"],
            }
        elif kind == "image":
            event["message"] = {
                "type": "image",
                "id": message.platform_message_id,
                "contentProvider": {"type": "line"},
                "quoteToken": ulid(),
            }
        else:
            event["message"] = {
                "type": "file",
                "id": message.platform_message_id,
                "fileName": att["name"],
                "fileSize": att["size"],
            }
        return body
    if platform == Platform.VIBER:
        if kind == "location":
            body["message"] = {"type": "location", "location": {"lat": att["latitude"], "lon": att["longitude"]}}
        elif kind == "image":
            body["message"] = {
                "type": "picture",
                "text": caption,
                "media": cdn_url(message),
                "thumbnail": cdn_url(message),
                "file_name": att["name"],
                "size": att["size"],
            }
        else:
            body["message"] = {"type": "file", "media": cdn_url(message), "file_name": att["name"], "size": att["size"]}
        return body
    del body["text"]
    if kind == "location":
        body.update(message_type="location", location={"lat": att["latitude"], "long": att["longitude"]})
    else:
        key = "image" if kind == "image" else "file"
        part = {"url": cdn_url(message)}
        if key == "file":
            part["name"] = att["name"]
        if caption:
            part["caption"] = caption
        body.update(channel="mms" if key == "image" else body["channel"], message_type=key, **{key: part})
    return body
