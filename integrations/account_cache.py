"""Integration accounts for the webhook path, cached per process with their decrypted secrets.

A webhook needs the account (and its secret) for every request; loading and decrypting it
each time costs a query and a Fernet decryption. An entry lives CACHE_SECONDS; saving or
deleting an account clears this process's entries at once (signals connected in
`IntegrationsConfig.ready`), and other processes see the change within CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
import uuid

from integrations.models import IntegrationAccount

CACHE_SECONDS = 5.0

_entries: dict[tuple[str, str], tuple[float, IntegrationAccount | None]] = {}
_lock = threading.Lock()


def webhook_account(*, messenger: str, account_id: str) -> IntegrationAccount | None:
    """The enabled account of `messenger` with this id, or None (unknown, disabled, other type)."""
    try:
        key = (messenger, str(uuid.UUID(str(account_id))))
    except ValueError:
        return None
    now = time.monotonic()
    with _lock:
        cached = _entries.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    account = IntegrationAccount.objects.filter(pk=key[1], messenger=messenger, enabled=True).first()
    with _lock:
        if len(_entries) > 10_000:  # unknown ids from scanners must not grow it without bound
            _entries.clear()
        _entries[key] = (now + CACHE_SECONDS, account)
    return account


def forget(**kwargs) -> None:
    """An account changed: drop every cached entry of this process."""
    with _lock:
        _entries.clear()
