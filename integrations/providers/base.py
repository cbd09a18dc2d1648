"""The one interface every messenger provider implements, and its value and error types.

A provider is a package `integrations.providers.<messenger>` whose `__init__` exposes:

    verify(account, request: WebhookRequest) -> None        raises WebhookRejected
    parse(account, request: WebhookRequest) -> ParseResult  raises MalformedPayload
    handshake(account, request: WebhookRequest) -> HandshakeResponse | None   (GET calls)
    set_webhook(account, url: str) -> WebhookStatus         raises PlatformError
    webhook_info(account) -> WebhookStatus                  raises PlatformError
    test_connection(account) -> ConnectionResult            never raises for platform errors
    send_text(account, *, to: str, text: str, idempotency_key: str, **options) -> SentMessage
    fetch_profile(account, external_id: str) -> Profile | None
    TEXT_LIMIT: int

Nothing above the providers reads platform JSON: they see InboundEvent and these results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# --- Inbound --------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    """What a provider may look at of an HTTP request: raw bytes, headers, query."""

    method: str
    body: bytes
    headers: Mapping[str, str]  # case-insensitive (Django's HttpHeaders)
    query: Mapping[str, str]
    path: str = ""


class EventKind:
    """The normalized kinds of inbound events."""

    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    AUDIO = "audio"
    VIDEO = "video"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    EDITED = "edited"
    POSTBACK = "postback"
    FOLLOW = "follow"  # follow / subscribed / conversation_started / unblocked
    UNFOLLOW = "unfollow"  # unfollow / unsubscribed / blocked
    DELIVERED = "delivered"  # receipt for one of our messages
    READ = "read"
    FAILED = "failed"  # asynchronous failure of one of our messages
    STATUS = "status"  # Vonage status callback (see `status`)
    OTHER = "other"

    MESSAGE_KINDS = frozenset({TEXT, IMAGE, FILE, AUDIO, VIDEO, STICKER, LOCATION, CONTACT, EDITED, POSTBACK, OTHER})
    RECEIPT_KINDS = frozenset({DELIVERED, READ, FAILED, STATUS})


@dataclass(frozen=True)
class InboundEvent:
    """One event from a platform, normalized. `event_id` is the platform's dedupe key."""

    event_id: str
    kind: str
    customer_external_id: str
    reply_to: str = ""
    display_name: str = ""
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language: str = ""
    avatar_url: str = ""
    text: str = ""
    attachment: dict[str, Any] = field(default_factory=dict)
    platform_message_id: str = ""
    timestamp: dt.datetime | None = None
    # Receipts: which of our messages (platform ids), or a watermark time (Facebook read).
    receipt_message_ids: tuple[str, ...] = ()
    receipt_watermark: dt.datetime | None = None
    # Vonage status value or a failure description for FAILED/STATUS.
    status: str = ""
    error_code: str = ""
    error_text: str = ""
    # Platform extras a scenario may read as item.externalChatData.*
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ParseResult:
    """Events parsed from one webhook body, plus those we saw but do not handle."""

    events: list[InboundEvent]
    ignored: list[str] = field(default_factory=list)  # descriptions, logged at debug


@dataclass(frozen=True)
class HandshakeResponse:
    status: int
    body: str
    content_type: str = "text/plain"


# --- Outbound and admin ---------------------------------------------------------------


@dataclass(frozen=True)
class WebhookStatus:
    url: str
    ok: bool
    message: str = ""
    pending_update_count: int | None = None
    last_error_message: str = ""
    last_error_at: dt.datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str  # the platform's own words on failure; identity on success
    identity: str = ""  # bot username / page id / channel name the platform reports


@dataclass(frozen=True)
class SentMessage:
    platform_message_id: str


@dataclass(frozen=True)
class Profile:
    display_name: str = ""
    first_name: str = ""
    last_name: str = ""
    language: str = ""
    avatar_url: str = ""


# --- Errors ---------------------------------------------------------------------------


class WebhookRejected(Exception):
    """The request is not from the platform (bad or missing signature): answer 403."""


class MalformedPayload(Exception):
    """Signed but not a payload we can read (bad JSON, wrong shape): answer 400."""


class PlatformError(Exception):
    """A platform API call failed. `code` and `text` are the platform's own."""

    retryable = False

    def __init__(self, text: str, *, code: str | int = "", http_status: int | None = None):
        super().__init__(text)
        self.text = text
        self.code = str(code)
        self.http_status = http_status


class Unauthorized(PlatformError):
    """The credentials were refused."""


class RateLimited(PlatformError):
    """Too many requests: wait `retry_after` seconds."""

    retryable = True

    def __init__(self, text: str, *, retry_after: float, **kwargs):
        super().__init__(text, **kwargs)
        self.retry_after = retry_after


class Unavailable(PlatformError):
    """Network error, timeout or 5xx: retry later with backoff."""

    retryable = True


class RecipientUnreachable(PlatformError):
    """The customer blocked us or cannot receive messages: fail now, mark unreachable."""


class PlatformRejected(PlatformError):
    """Any other permanent refusal (bad parameter, text too long, outside window, ...)."""
