"""The telegram provider: API calls in `api`, webhook verification and parsing in `inbound`."""

from integrations.providers.telegram.api import (  # noqa: F401
    TEXT_LIMIT,
    fetch_profile,
    send_text,
    set_webhook,
    test_connection,
    webhook_info,
)
from integrations.providers.telegram.inbound import handshake, parse, verify  # noqa: F401
