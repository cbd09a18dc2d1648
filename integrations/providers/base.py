"""The one interface every messenger provider implements, and its value and error types.

A provider is a package `integrations.providers.<messenger>` whose `__init__` exposes the
names of `Provider` below. Everything that differs per messenger lives there: nothing above
the providers reads platform JSON or asks `if messenger == ...`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:  # type hints only: the model module imports nothing from here
    from integrations.models import IntegrationAccount

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

    _TIMES = ("timestamp", "receipt_watermark")

    def to_json(self) -> dict[str, Any]:
        """The event as JSON for the webhook inbox (without `raw`: nothing above reads it)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "raw"}
        for name in self._TIMES:
            data[name] = data[name].isoformat() if data[name] else None
        data["receipt_message_ids"] = list(self.receipt_message_ids)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboundEvent:
        values = dict(data)
        for name in cls._TIMES:
            values[name] = dt.datetime.fromisoformat(values[name]) if values.get(name) else None
        values["receipt_message_ids"] = tuple(values.get("receipt_message_ids") or ())
        return cls(**values)


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


# --- Media ------------------------------------------------------------------------------

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """What a platform lets a bot download and send, from its own documentation.

    `send_max` and `send_types` are per message kind (image, video, audio, file); a kind
    missing from `send_types` cannot go as that kind and is sent as a file; an empty set
    takes any type.
    """

    fetch_max: int
    send_max: Mapping[str, int]
    send_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The longest caption one media message carries, per kind (missing: none; the caption
    # then goes as a text message of its own after the file).
    caption_max: Mapping[str, int] = field(default_factory=dict)

    def send_limit(self, kind: str) -> int:
        return self.send_max.get(kind) or self.send_max.get("file", 0)

    def sendable_as(self, kind: str, content_type: str) -> str:
        """The kind a file of `content_type` goes as: `kind` if the platform takes it, else "file"."""
        types = self.send_types.get(kind)
        if kind == "file" or types is None or (types and content_type not in types):
            return "file"
        return kind


@dataclass
class MediaDownload:
    """A platform's file, streamed: read `chunks` once, then `close`."""

    chunks: Iterator[bytes]
    size: int | None = None  # as the platform declares it, if it does
    file_name: str = ""
    close: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class OutboundMedia:
    """One of our files to send: uploaded from `open()` or offered to the platform at `url`
    (ours, signed, expiring); `link` is a longer-lived signed URL for a customer to open."""

    kind: str  # image | video | audio | file
    file_name: str
    content_type: str
    size: int
    caption: str = ""
    url: str = ""
    link: str = ""
    open: Callable[[], BinaryIO] | None = None


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


class MediaGone(PlatformRejected):
    """The platform no longer serves the file: its link expired or the content was deleted."""


class MediaTooLarge(PlatformRejected):
    """The file is larger than the platform or we allow."""


# --- The interface ----------------------------------------------------------------------


class Provider(Protocol):
    """What every provider package exposes (checked structurally, as a module)."""

    TEXT_LIMIT: int  # the longest text one message may carry, in `text_length` units
    FETCHES_PROFILE: bool  # names come from a profile API (once per customer), not with messages
    RATE_LIMIT_PER_RECIPIENT: bool  # "too many requests" caps one recipient, not the whole bot
    DELIVERY_RECEIPTS: bool  # the platform's webhooks report our messages delivered or read
    LIVE_WEBHOOK_HEALTH: bool  # webhook_info is cheap enough to show live in the account list

    def verify(self, account: IntegrationAccount, request: WebhookRequest) -> None: ...  # WebhookRejected
    def parse(self, account: IntegrationAccount, request: WebhookRequest) -> ParseResult: ...  # MalformedPayload
    def handshake(self, account: IntegrationAccount, request: WebhookRequest) -> HandshakeResponse | None: ...
    def set_webhook(self, account: IntegrationAccount, url: str) -> WebhookStatus: ...  # PlatformError
    def webhook_info(self, account: IntegrationAccount) -> WebhookStatus: ...  # PlatformError
    def test_connection(self, account: IntegrationAccount) -> ConnectionResult: ...
    def send_text(
        self, account: IntegrationAccount, *, to: str, text: str, idempotency_key: str, **options: Any
    ) -> SentMessage: ...
    # Options of send_text: `buttons` (integrations.directives.Buttons) become the platform's
    # quick replies or keyboard; send_location sends a map pin (text where there is none).
    def send_location(
        self, account: IntegrationAccount, *, to: str, location: Any, idempotency_key: str
    ) -> SentMessage: ...
    def fetch_profile(self, account: IntegrationAccount, external_id: str) -> Profile | None: ...

    MEDIA_LIMITS: MediaLimits

    # The bytes of an inbound attachment (None: it has none to fetch, e.g. a LINE sticker).
    def fetch_media(self, account: IntegrationAccount, attachment: dict[str, Any]) -> MediaDownload | None: ...
    def send_media(
        self, account: IntegrationAccount, *, to: str, media: OutboundMedia, idempotency_key: str, **options: Any
    ) -> SentMessage: ...
    def text_length(self, text: str) -> int: ...
    def webhook_target(self, account: IntegrationAccount) -> str: ...
    def extra_webhook_urls(self, url: str) -> dict[str, str]: ...
    def setup_hint(self, url: str) -> str: ...


# Defaults that most providers re-export under the interface's names.


def count_characters(text: str) -> int:
    """Text length as most platforms count it: characters (code points)."""
    return len(text)


def public_webhook_url(account: IntegrationAccount) -> str:
    """The webhook URL built from PUBLIC_BASE_URL."""
    return account.webhook_url


def no_extra_urls(url: str) -> dict[str, str]:
    return {}


def no_setup_hint(url: str) -> str:
    return ""
