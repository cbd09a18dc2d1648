"""Vonage attachments: inbound media messages carry a URL (`image.url`, `file.url`, ...) that
expires; outbound pictures go over the MMS channel as a URL of ours that Vonage fetches.

An SMS carries text only, so any other file goes as an SMS with a signed link to it.
Limits: Vonage documents none below ours for MMS images (carriers cut around 600 KB-1 MB).
"""

from __future__ import annotations

from typing import Any

from integrations.providers import http
from integrations.providers.base import MB, MediaDownload, MediaLimits, OutboundMedia, SentMessage
from integrations.providers.nexmo.api import PLATFORM, _basic, _bearer, _checked

MEDIA_LIMITS = MediaLimits(
    fetch_max=100 * MB,
    send_max={"image": 5 * MB, "file": 100 * MB},
    send_types={"image": frozenset({"image/jpeg", "image/png", "image/gif"})},
    caption_max={"image": 2000},
)


def fetch_media(account, attachment: dict[str, Any]) -> MediaDownload | None:
    url = attachment.get("url")
    if not url:
        return None
    download = http.download(url, platform=PLATFORM, max_bytes=MEDIA_LIMITS.fetch_max)
    download.file_name = attachment.get("name") or ""
    return download


def send_media(account, *, to: str, media: OutboundMedia, idempotency_key: str, **options) -> SentMessage:
    if media.kind == "image":
        image = {"url": media.url, **({"caption": media.caption} if media.caption else {})}
        payload = {"message_type": "image", "image": image, "channel": "mms"}
    else:
        text = f"{media.file_name}: {media.link}"
        payload = {"message_type": "text", "text": f"{media.caption}\n{text}" if media.caption else text}
        payload["channel"] = "sms"
    payload.update(to=to, **{"from": account.sender_id})
    if account.application_id and account.private_key:
        auth_kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {_bearer(account)}"}}
    else:
        auth_kwargs = {"auth": _basic(account)}
    body = _checked(
        http.call("POST", f"{account.api_base}/v1/messages", platform=PLATFORM, json=payload, **auth_kwargs)
    )
    return SentMessage(platform_message_id=str(body.get("message_uuid") or ""))
