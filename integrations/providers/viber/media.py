"""Viber attachments: inbound `media` URLs expire (fetch them soon); outbound picture, video
and file messages name a URL of ours that Viber fetches.

Limits (REST bot API docs): picture JPEG, PNG or non-animated GIF, at most 1 MB, with a
caption of at most 120 characters; video MP4 up to 26 MB; file up to 50 MB.
"""

from __future__ import annotations

from typing import Any

from integrations.providers import http
from integrations.providers.base import MB, MediaDownload, MediaLimits, OutboundMedia, SentMessage
from integrations.providers.viber.api import PLATFORM, SENDER_NAME_LIMIT, _call

MEDIA_LIMITS = MediaLimits(
    fetch_max=50 * MB,
    send_max={"image": 1 * MB, "video": 26 * MB, "file": 50 * MB},
    send_types={"image": frozenset({"image/jpeg", "image/png", "image/gif"}), "video": frozenset({"video/mp4"})},
    caption_max={"image": 120},
)
VIBER_TYPES = {"image": "picture", "video": "video", "file": "file"}


def fetch_media(account, attachment: dict[str, Any]) -> MediaDownload | None:
    url = attachment.get("url")
    if not url:
        return None
    download = http.download(url, platform=PLATFORM, max_bytes=MEDIA_LIMITS.fetch_max)
    download.file_name = attachment.get("file_name") or ""
    return download


def send_media(account, *, to: str, media: OutboundMedia, idempotency_key: str, **options) -> SentMessage:
    kind = VIBER_TYPES.get(media.kind, "file")
    payload: dict[str, Any] = {
        "receiver": to,
        "type": kind,
        "media": media.url,
        "sender": {"name": (account.username or account.name)[:SENDER_NAME_LIMIT]},
        "min_api_version": 1,
    }
    if kind == "picture":
        payload["text"] = media.caption
    else:
        payload["size"] = media.size
    if kind == "file":
        payload["file_name"] = media.file_name
    body = _call(account, "send_message", payload)
    return SentMessage(platform_message_id=str(body.get("message_token") or ""))
