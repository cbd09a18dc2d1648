"""Structured logging helpers: a filter that keeps credentials out of every log line."""

import logging
import re

# Shapes of credentials that could reach a log line through a URL, header or exception.
_SECRET_PATTERNS = [
    # Telegram bot tokens, also inside /bot<token>/ URL paths (whatever their shape there).
    (re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}"), "[telegram-token]"),
    (re.compile(r"(/bot)\d+:[^/\s'\"?]+"), r"\1[telegram-token]"),
    # access_token=..., api_secret=..., hub.verify_token=... in query strings and form bodies.
    (
        re.compile(r"(?i)\b([\w.]*?(?:access_token|api_secret|api_key|auth_token|secret|password|token))=([^&\s\"']+)"),
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


# What every LogRecord has; anything else on a record came from `extra=` (Django's
# `request` and `status_code`, Celery's task fields) and is rendered by the JSON formatter.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_PLAIN_TYPES = (int, float, bool, type(None))


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in every field of a record: the message, the traceback, the stack, and
    every extra field (Django's error records carry the request, whose path and query can
    hold a bot token or an access_token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Render the traceback now, masked; formatters then use exc_text as it is.
            record.exc_text = redact(_plain.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name in _STANDARD_ATTRIBUTES or isinstance(value, _PLAIN_TYPES):
                continue
            # Objects (an HttpRequest) become their masked text: nothing downstream may
            # render them unmasked.
            setattr(record, name, redact(value if isinstance(value, str) else _text(value)))
        return True


def _text(value) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__ must not lose the log line
        return f"<{type(value).__name__}>"


_plain = logging.Formatter()
