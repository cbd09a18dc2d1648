"""Messenger attachments: inbound `payload.url` is a CDN link that expires (fetch it soon);
outbound attachments are offered as a URL of ours that Meta fetches while answering.

Limits (Send API docs): 25 MB per attachment; images JPEG, PNG or GIF; an attachment
message carries no text, so a caption goes as a text message of its own.
"""

from __future__ import annotations

from typing import Any

from integrations.providers import http
from integrations.providers.base import MB, MediaDownload, MediaLimits, OutboundMedia, SentMessage
from integrations.providers.facebook.api import HUMAN_AGENT, PLATFORM, _call

MEDIA_LIMITS = MediaLimits(
    fetch_max=25 * MB,
    send_max=dict.fromkeys(("image", "video", "audio", "file"), 25 * MB),
    send_types={
        "image": frozenset({"image/jpeg", "image/png", "image/gif"}),
        "video": frozenset({"video/mp4"}),
        "audio": frozenset({"audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg"}),
    },
)


def fetch_media(account, attachment: dict[str, Any]) -> MediaDownload | None:
    url = attachment.get("url")
    if not url or attachment.get("type") in ("location", "fallback"):
        return None
    return http.download(url, platform=PLATFORM, max_bytes=MEDIA_LIMITS.fetch_max)


def send_media(
    account, *, to: str, media: OutboundMedia, idempotency_key: str, human_agent: bool = False, **options
) -> SentMessage:
    payload: dict[str, Any] = {
        "recipient": {"id": to},
        "message": {"attachment": {"type": media.kind, "payload": {"url": media.url, "is_reusable": False}}},
    }
    if human_agent:
        payload.update(messaging_type="MESSAGE_TAG", tag=HUMAN_AGENT)
    else:
        payload["messaging_type"] = "RESPONSE"
    body = _call(account, "POST", "me/messages", json=payload)
    return SentMessage(platform_message_id=str(body.get("message_id") or ""))
