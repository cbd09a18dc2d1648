"""LINE attachments: inbound content from `GET /v2/bot/message/{id}/content` on the data API
(api-data.line.me; kept for a limited time), or the customer's own external URL.

Outbound (Messaging API docs): an image message names an HTTPS JPEG or PNG of at most 10 MB
that LINE fetches; video and audio messages need a preview image and a duration we do not
have, and there is no file message: those go as a text with a signed link to the file.
"""

from __future__ import annotations

from typing import Any

from integrations.providers import http
from integrations.providers.base import MB, MediaDownload, MediaLimits, OutboundMedia, SentMessage
from integrations.providers.line.api import PLATFORM, _checked, _retry_key

# LINE documents no download limit; its largest sendable content (video, audio) is 200 MB.
MEDIA_LIMITS = MediaLimits(
    fetch_max=200 * MB,
    send_max={"image": 10 * MB, "file": 200 * MB},
    send_types={"image": frozenset({"image/jpeg", "image/png"})},
)
PUBLIC_API = "https://api.line.me"
DATA_API = "https://api-data.line.me"


def data_base(account) -> str:
    """Content lives on api-data.line.me; an overridden base (the simulator) serves both."""
    base = account.api_base
    return DATA_API if base.rstrip("/") == PUBLIC_API else base


def fetch_media(account, attachment: dict[str, Any]) -> MediaDownload | None:
    if attachment.get("type") not in ("image", "video", "audio", "file"):
        return None  # stickers and locations carry no content
    if attachment.get("content_provider") == "external" and attachment.get("url"):
        return http.download(attachment["url"], platform=PLATFORM, max_bytes=MEDIA_LIMITS.fetch_max)
    message_id = attachment.get("message_id")
    if not message_id:
        return None
    download = http.download(
        f"{data_base(account)}/v2/bot/message/{message_id}/content",
        platform=PLATFORM,
        max_bytes=MEDIA_LIMITS.fetch_max,
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    download.file_name = attachment.get("file_name") or ""
    return download


def send_media(account, *, to: str, media: OutboundMedia, idempotency_key: str, **options) -> SentMessage:
    if media.kind == "image":
        message = {"type": "image", "originalContentUrl": media.url, "previewImageUrl": media.url}
    else:
        text = f"📎 {media.file_name}: {media.link}"
        message = {"type": "text", "text": f"{media.caption}\n{text}" if media.caption else text}
    response = http.call(
        "POST",
        f"{account.api_base}/v2/bot/message/push",
        platform=PLATFORM,
        json={"to": to, "messages": [message]},
        headers={"Authorization": f"Bearer {account.access_token}", "X-Line-Retry-Key": _retry_key(idempotency_key)},
    )
    if response.status_code == 409:  # already accepted under this key: it was sent
        sent = http.json_body(response).get("sentMessages") or [{}]
        return SentMessage(platform_message_id=str(sent[0].get("id") or ""))
    sent = _checked(response).get("sentMessages") or [{}]
    return SentMessage(platform_message_id=str(sent[0].get("id") or ""))
