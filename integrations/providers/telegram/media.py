"""Telegram attachments: `getFile` then the file path to download; multipart upload to send.

Limits (Bot API docs): a bot downloads files up to 20 MB; it uploads photos up to 10 MB and
other files up to 50 MB. A file path stays valid for at least an hour after `getFile`.
"""

from __future__ import annotations

from typing import Any

from integrations.providers import http
from integrations.providers.base import MB, MediaDownload, MediaLimits, MediaTooLarge, OutboundMedia, SentMessage
from integrations.providers.telegram.api import PLATFORM, _call, _error

MEDIA_LIMITS = MediaLimits(
    fetch_max=20 * MB,
    send_max={"image": 10 * MB, "video": 50 * MB, "audio": 50 * MB, "file": 50 * MB},
    send_types={
        "image": frozenset({"image/jpeg", "image/png", "image/webp"}),
        "video": frozenset({"video/mp4"}),
        "audio": frozenset({"audio/mpeg", "audio/mp4", "audio/ogg"}),
    },
    caption_max=dict.fromkeys(("image", "video", "audio", "file"), 1024),
)
# Our kind -> (send method, its file field). Voice notes go as audio (sendAudio plays mp3/m4a).
SEND_METHODS = {
    "image": ("sendPhoto", "photo"),
    "video": ("sendVideo", "video"),
    "audio": ("sendAudio", "audio"),
    "file": ("sendDocument", "document"),
}


def fetch_media(account, attachment: dict[str, Any]) -> MediaDownload | None:
    file_id = attachment.get("file_id")
    if not file_id:
        return None
    info = _call(account, "getFile", {"file_id": file_id}) or {}
    path = info.get("file_path")
    if not path:  # Telegram gives no path for files over its download limit
        raise MediaTooLarge(
            f"Telegram does not let bots download files over {MEDIA_LIMITS.fetch_max // MB} MB.", code="too_large"
        )
    download = http.download(
        f"{account.api_base}/file/bot{account.access_token}/{path}",
        platform=PLATFORM,
        max_bytes=MEDIA_LIMITS.fetch_max,
    )
    download.file_name = attachment.get("file_name") or path.rsplit("/", 1)[-1]
    return download


def send_media(account, *, to: str, media: OutboundMedia, idempotency_key: str, **options) -> SentMessage:
    """Upload the file (multipart, streamed from storage); a URL-only file (a scenario's
    picture) is passed as its URL, which Telegram fetches itself."""
    method, field = SEND_METHODS.get(media.kind, SEND_METHODS["file"])
    data = {"chat_id": to}
    if media.caption:
        data["caption"] = media.caption
    url = f"{account.api_base}/bot{account.access_token}/{method}"
    if media.open is None:
        response = http.call("POST", url, platform=PLATFORM, json={**data, field: media.url})
    else:
        with media.open() as handle:
            body = http.MultipartUpload(
                data,
                field=field,
                file_name=media.file_name,
                content_type=media.content_type,
                handle=handle,
                size=media.size,
            )
            response = http.call("POST", url, platform=PLATFORM, data=body, headers={"Content-Type": body.content_type})
    body = http.json_body(response)
    if response.ok and body.get("ok"):
        return SentMessage(platform_message_id=str(body["result"]["message_id"]))
    raise _error(response, body)
