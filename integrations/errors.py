"""Errors the integrations app raises to the layers above it, declared once."""


class OutboundRefused(Exception):
    """A message was refused before it was queued (empty, too long, ...); the text says why."""
