"""The line provider: API calls in `api`, webhook verification and parsing in `inbound`.

It exposes the names of `integrations.providers.base.Provider`.
"""

from integrations.providers import base
from integrations.providers.line.api import (
    TEXT_LIMIT,
    fetch_profile,
    send_location,
    send_text,
    set_webhook,
    test_connection,
    text_length,
    webhook_info,
)
from integrations.providers.line.inbound import handshake, parse, verify
from integrations.providers.line.media import MEDIA_LIMITS, fetch_media, send_media

# Names come from LINE's profile API (once per customer), not with messages.
FETCHES_PROFILE = True
RATE_LIMIT_PER_RECIPIENT = False
DELIVERY_RECEIPTS = False
LIVE_WEBHOOK_HEALTH = False
webhook_target = base.public_webhook_url
extra_webhook_urls = base.no_extra_urls
setup_hint = base.no_setup_hint

__all__ = [
    "MEDIA_LIMITS",
    "fetch_media",
    "send_media",
    "FETCHES_PROFILE",
    "LIVE_WEBHOOK_HEALTH",
    "RATE_LIMIT_PER_RECIPIENT",
    "DELIVERY_RECEIPTS",
    "TEXT_LIMIT",
    "extra_webhook_urls",
    "fetch_profile",
    "handshake",
    "parse",
    "send_location",
    "send_text",
    "set_webhook",
    "setup_hint",
    "test_connection",
    "text_length",
    "verify",
    "webhook_info",
    "webhook_target",
]
