"""Chat attachments: inbound media fetched after ingest, outbound files checked before they are
queued, and the signed, expiring links through which platforms fetch our files.

Inbound: ingest stores the message with `media_status = pending` and queues `fetch_media`.
The task marks the row `fetching` (committed: a second task finds it and stops, so a file is
never fetched twice), streams the platform's file to a temporary file within the platform's
limit and ours, sniffs the content type from the bytes, saves it through Django's storage API
and marks it `stored`; a refused, expired or oversized fetch marks it `failed` with the
reason, which the desktop shows in the file's place. The message itself is never lost.

Outbound: `check_upload` decides the kind a file goes as on the account's messenger and
refuses it (with the limit in words) before anything is queued; the send goes through the
same state machine as text (`delivery`), with `outbound_media` describing the file to the
provider: an open handle to upload, or a signed URL of ours for the platform to fetch.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import tempfile
import time
import uuid
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename

from contactcenter import scheduling
from conversations.models import MediaStatus, Message
from conversations.realtime import publish_message
from integrations.providers import get_provider
from integrations.providers.base import (
    MediaLimits,
    MediaTooLarge,
    OutboundMedia,
    PlatformError,
)

logger = logging.getLogger(__name__)

FETCH_TASK = "integrations.tasks.fetch_media"
# Message kinds whose attachment has bytes on the platform.
FETCHED_KINDS = frozenset({"image", "file", "audio", "video", "sticker"})
SNIFF_BYTES = 8192
# A "fetching" row this old was left by a dead worker: the sweeper hands it to a new task.
STALE_FETCH = dt.timedelta(minutes=10)
PENDING_GRACE = dt.timedelta(seconds=60)
# Types a browser may show inline (img, audio, video). Anything else downloads as a file.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/x-wav",
        "video/mp4",
        "video/webm",
        "video/quicktime",
    }
)
LINK_SALT = "integrations.media.link"
# Links a customer opens (a file sent on LINE or by SMS) must outlive the platform's own fetch.
CUSTOMER_LINK_SECONDS = 7 * 24 * 3600


class FetchLater(Exception):
    """The platform is unavailable for now: the task retries later."""


def sniff(head: bytes, file_name: str = "") -> str:
    """The content type from the file's first bytes. A name's guess is taken only for types
    never shown inline (text, CSV, ...): a name must not make a browser render anything."""
    found = filetype.guess(head) if head else None
    if found is not None:
        return found.mime
    guessed = mimetypes.guess_type(file_name)[0] or ""
    if guessed and guessed not in INLINE_TYPES and not guessed.startswith(("image/", "video/", "audio/", "text/html")):
        return guessed
    return "application/octet-stream"


def kind_of(content_type: str) -> str:
    """The message kind of a content type: image, video, audio or file."""
    major = content_type.split("/", 1)[0]
    return {"image": "image", "video": "video", "audio": "audio"}.get(major, "file")


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def safe_name(name: str, default: str = "file") -> str:
    return (get_valid_filename(name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]) or default)[:150]


# --- Inbound ---------------------------------------------------------------------------


def wants_fetch(kind: str) -> bool:
    return kind in FETCHED_KINDS


def fetch(*, message_id: int, last_try: bool = True) -> str:
    """Fetch and store the inbound message's media once; returns the media status after."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("account").filter(pk=message_id).first()
        if message is None:
            return "missing"
        stale = message.media_status == MediaStatus.FETCHING and message.updated_at < timezone.now() - STALE_FETCH
        if message.media_status != MediaStatus.PENDING and not stale:
            return message.media_status  # stored, failed, or another task fetches it now
        message.media_status = MediaStatus.FETCHING
        message.save(update_fields=["media_status", "updated_at"])
    # Outside any transaction: the platform call and the download.
    account = message.account
    provider = get_provider(account.messenger)
    limit = min(provider.MEDIA_LIMITS.fetch_max, settings.MEDIA_MAX_BYTES)
    try:
        download = provider.fetch_media(account, message.attachment)
        if download is None:
            return _settle(message_id, status=MediaStatus.NONE)
        try:
            stored = _store(
                download.chunks,
                limit=limit,
                platform=account.get_messenger_display(),
                name=download.file_name or message.attachment.get("file_name") or message.attachment.get("name") or "",
                folder=f"chat-media/in/{account.pk}/{message.pk}",
            )
        finally:
            download.close()
    except PlatformError as error:
        if error.retryable and not last_try:
            _settle(message_id, status=MediaStatus.PENDING)
            raise FetchLater(error.text) from error
        return _settle(message_id, status=MediaStatus.FAILED, error=_reason(error))
    except Exception as error:  # a bug or an unwrapped network error: keep the message, say so
        logger.exception("fetching the media of message %s failed", message_id)
        if not last_try:
            _settle(message_id, status=MediaStatus.PENDING)
            raise FetchLater(str(error)) from error
        return _settle(
            message_id, status=MediaStatus.FAILED, error=f"The file could not be fetched ({type(error).__name__})."
        )
    return _settle(message_id, status=MediaStatus.STORED, stored=stored)


def _reason(error: PlatformError) -> str:
    if error.retryable:
        return f"The platform did not deliver the file: {error.text}"
    return error.text


@dataclass(frozen=True)
class StoredFile:
    path: str
    name: str
    size: int
    content_type: str


def _store(chunks, *, limit: int, platform: str, name: str, folder: str) -> StoredFile:
    """Stream `chunks` to a temporary file (never whole in memory), within `limit`, then
    save it through the storage API under a name of ours."""
    size = 0
    head = b""
    with tempfile.TemporaryFile() as spool:
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise MediaTooLarge(
                    f"The file is larger than {human_size(limit)}, the most we fetch from {platform}.",
                    code="too_large",
                )
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            spool.write(chunk)
        content_type = sniff(head, name)
        extension = mimetypes.guess_extension(content_type) or ""
        file_name = safe_name(name) if name else f"{kind_of(content_type)}{extension}"
        spool.seek(0)
        path = default_storage.save(f"{folder}/{file_name}", File(spool, name=file_name))
    return StoredFile(path=path, name=file_name, size=size, content_type=content_type)


def _settle(message_id: int, *, status: str, stored: StoredFile | None = None, error: str = "") -> str:
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.media_status != MediaStatus.FETCHING:  # the sweeper gave our fetch to another
            if stored is not None:
                default_storage.delete(stored.path)
            return message.media_status
        attachment = dict(message.attachment or {})
        attachment.pop("error", None)
        if stored is not None:
            message.media.name = stored.path
            attachment.update(name=stored.name, size=stored.size, content_type=stored.content_type)
        if error:
            attachment["error"] = error
        message.attachment = attachment
        message.media_status = status
        message.save(update_fields=["media", "media_status", "attachment", "updated_at"])
        if status != MediaStatus.PENDING:
            transaction.on_commit(lambda: publish_message(message))
    return status


def sweep(*, now: dt.datetime | None = None) -> int:
    """Queue again the fetches a lost task or a dead worker left pending or fetching."""
    now = now or timezone.now()
    ids = list(
        Message.objects.filter(
            direction=Message.Direction.INBOUND, media_status=MediaStatus.PENDING, updated_at__lt=now - PENDING_GRACE
        ).values_list("pk", flat=True)[:200]
    ) + list(
        Message.objects.filter(media_status=MediaStatus.FETCHING, updated_at__lt=now - STALE_FETCH).values_list(
            "pk", flat=True
        )[:200]
    )
    for message_id in ids:
        scheduling.run(FETCH_TASK, message_id)
    return len(ids)


# --- Outbound --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    content_type: str
    name: str
    size: int


class AttachmentRefused(Exception):
    """The file cannot be sent on this messenger (too large, empty); the text says why."""


def check_upload(*, messenger: str, messenger_label: str, upload, file_name: str) -> CheckedUpload:
    """The kind `upload` goes as on `messenger`, or AttachmentRefused with the limit in words."""
    limits: MediaLimits = get_provider(messenger).MEDIA_LIMITS
    name = safe_name(file_name or getattr(upload, "name", "") or "file")
    size = upload.size
    if not size:
        raise AttachmentRefused(f"{name} is empty.")
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    content_type = sniff(head, name)
    kind = limits.sendable_as(kind_of(content_type), content_type)
    limit = min(limits.send_limit(kind), settings.MEDIA_MAX_BYTES)
    if size > limit:
        what = "pictures" if kind == "image" else f"{kind} files" if kind != "file" else "files"
        raise AttachmentRefused(
            f"{name} is {human_size(size)}; {messenger_label} takes {what} of at most {human_size(limit)}. "
            "Send a smaller file or a link instead."
        )
    return CheckedUpload(kind=kind, content_type=content_type, name=name, size=size)


def save_upload(*, account_id: int, upload, checked: CheckedUpload) -> str:
    """Store an outbound file; returns its storage path."""
    return default_storage.save(f"chat-media/out/{account_id}/{uuid.uuid4().hex}/{checked.name}", upload)


def caption_fits(*, messenger: str, kind: str, caption: str) -> bool:
    return len(caption) <= get_provider(messenger).MEDIA_LIMITS.caption_max.get(kind, 0)


def is_outbound_media(message: Message) -> bool:
    return message.direction == Message.Direction.OUTBOUND and (
        bool(message.media) or bool((message.attachment or {}).get("source_url"))
    )


def outbound_media(message: Message) -> OutboundMedia:
    """What the provider needs to send the message's file."""
    attachment = message.attachment or {}
    source_url = attachment.get("source_url", "")
    if source_url:  # a picture by URL (scenario Send Message): the platform fetches it there
        return OutboundMedia(
            kind=message.kind,
            file_name=attachment.get("name") or "picture",
            content_type=attachment.get("content_type", ""),
            size=0,
            caption=message.text,
            url=source_url,
            link=source_url,
        )
    path = message.media.name
    return OutboundMedia(
        kind=message.kind,
        file_name=attachment.get("name") or path.rsplit("/", 1)[-1],
        content_type=attachment.get("content_type") or "application/octet-stream",
        size=int(attachment.get("size") or message.media.size),
        caption=message.text,
        url=signed_url(message, seconds=settings.MEDIA_LINK_SECONDS),
        link=signed_url(message, seconds=CUSTOMER_LINK_SECONDS),
        open=lambda: default_storage.open(path, "rb"),
    )


# --- Signed links ----------------------------------------------------------------------


class LinkInvalid(Exception):
    """The link was not signed by us, or it has expired; the text says which."""


def signed_url(message: Message, *, seconds: int) -> str:
    """An absolute URL of ours to the message's file, valid for `seconds`."""
    token = signing.dumps({"m": message.pk, "e": int(time.time()) + seconds}, salt=LINK_SALT, compress=True)
    name = (message.attachment or {}).get("name") or "file"
    return settings.PUBLIC_BASE_URL + reverse("media:link", args=[token, safe_name(name)])


def message_for_link(token: str) -> Message:
    """The message a signed link names; LinkInvalid when forged or expired."""
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        raise LinkInvalid("This link is not valid.") from None
    if int(data.get("e", 0)) < time.time():
        raise LinkInvalid("This link has expired.")
    message = Message.objects.filter(pk=data.get("m"), media_status=MediaStatus.STORED).first()
    if message is None or not message.media:
        raise LinkInvalid("This file is no longer available.")
    return message


def file_response(message: Message):
    """Stream the message's stored file (never whole in memory): inline only for types a
    browser shows safely, else as a download; the browser must not second-guess the type."""
    attachment = message.attachment or {}
    content_type = attachment.get("content_type") or "application/octet-stream"
    inline = content_type in INLINE_TYPES
    response = FileResponse(
        default_storage.open(message.media.name, "rb"),
        content_type=content_type,
        as_attachment=not inline,
        filename=attachment.get("name") or "file",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=300"
    return response
