"""Structured logging helpers: a filter that keeps credentials out of every log line."""

import logging
import re

# Shapes of credentials that could reach a log line through a URL, header or exception.
_SECRET_PATTERNS = [
    # Telegram bot tokens, also inside /bot<token>/ URL paths.
    (re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}"), "[telegram-token]"),
    # access_token=..., api_secret=... in query strings and form bodies.
    (
        re.compile(r"(?i)\b(access_token|api_secret|api_key|auth_token|secret|password|token)=([^&\s\"']+)"),
        r"\1=[redacted]",
    ),
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    # X-Viber-Auth-Token / X-Telegram-Bot-Api-Secret-Token header values.
    (
        re.compile(r"(?i)(x-viber-auth-token|x-telegram-bot-api-secret-token)(['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
        r"\1\2[redacted]",
    ),
]


def redact(text: str) -> str:
    """Replace anything that looks like a credential in `text`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_secret(value: str | None) -> str:
    """How a stored secret is shown to people: only that it is set and its last 4 chars."""
    if not value:
        return "not set"
    tail = value[-4:] if len(value) >= 12 else ""
    return f"set, ends in …{tail}" if tail else "set"


class RedactSecretsFilter(logging.Filter):
    """Rewrites the rendered message (and exception text) of a record with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Render the traceback now, masked; formatters then use exc_text as it is.
            record.exc_text = redact(_plain.formatException(record.exc_info))
            record.exc_info = None
        return True


_plain = logging.Formatter()
