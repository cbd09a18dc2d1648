"""The viber provider: API calls in `api`, webhook verification and parsing in `inbound`.

It exposes the names of `integrations.providers.base.Provider`.
"""

from integrations.providers import base
from integrations.providers.viber.api import (
    TEXT_LIMIT,
    fetch_profile,
    send_location,
    send_text,
    set_webhook,
    test_connection,
    webhook_info,
    webhook_target,
)
from integrations.providers.viber.inbound import handshake, parse, verify
from integrations.providers.viber.media import MEDIA_LIMITS, fetch_media, send_media

# Viber's "too many requests" (status 12) caps messages to one user, not the bot.
FETCHES_PROFILE = False
RATE_LIMIT_PER_RECIPIENT = True
DELIVERY_RECEIPTS = True
LIVE_WEBHOOK_HEALTH = False
text_length = base.count_characters
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
