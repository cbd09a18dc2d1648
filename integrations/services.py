"""Account services behind the admin buttons: Set Webhook, Test Connection, verify tokens,
webhook health. No transaction is held across a platform call: call, then record."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from integrations.models import IntegrationAccount
from integrations.providers import get_provider
from integrations.providers.base import ConnectionResult, PlatformError

logger = logging.getLogger(__name__)

# The changelist asks Telegram for webhook health; keep the page fast and the calls rare.
HEALTH_TIMEOUT = (1.0, 2.0)
HEALTH_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Outcome:
    """What a button did, in words for the administrator (never containing a credential)."""

    ok: bool
    message: str
    info: str = ""  # an extra hint, e.g. the URLs to paste into a dashboard


class WebhookNotAllowed(Exception):
    """Set Webhook was refused before calling the platform (e.g. not HTTPS)."""


def generate_verify_token() -> str:
    """A random Facebook webhook verify token (URL-safe, 32 characters)."""
    return secrets.token_urlsafe(24)


def webhook_target_url(account: IntegrationAccount) -> str:
    """The URL Set Webhook registers for the account (its provider may build its own)."""
    return get_provider(account.messenger).webhook_target(account)


def check_webhook_allowed(account: IntegrationAccount, url: str) -> None:
    """Real platforms only call https:// webhooks; the simulator also takes http://."""
    if url.startswith("https://") or account.is_simulated:
        return
    raise WebhookNotAllowed(
        f"Set Webhook needs an https:// address: {account.get_messenger_display()} does not call {url}. "
        "Set PUBLIC_BASE_URL to the public https:// address of this server (see README, Configuration)."
    )


def account_set_webhook(*, account: IntegrationAccount) -> Outcome:
    """Register this account's webhook URL with its platform and record the result."""
    url = webhook_target_url(account)
    hint = get_provider(account.messenger).setup_hint(url)  # e.g. Vonage's URLs for its dashboard
    try:
        check_webhook_allowed(account, url)
        status = get_provider(account.messenger).set_webhook(account, url)
    except WebhookNotAllowed as exc:
        return Outcome(ok=False, message=str(exc), info=f"The webhooks: {hint}" if hint else "")
    except PlatformError as exc:
        _record_webhook(account, ok=False, message=exc.text)
        logger.info("set_webhook failed", extra={"account": str(account.pk), "code": exc.code})
        return Outcome(
            ok=False, message=f"Set Webhook failed: {exc.text}", info=f"The webhooks: {hint}" if hint else ""
        )
    _record_webhook(account, ok=True, message=status.message, url=url)
    logger.info("set_webhook ok", extra={"account": str(account.pk), "messenger": account.messenger})
    if hint:  # the hint names every URL (Vonage's two): say each once
        return Outcome(ok=True, message=f"Webhook set to {hint}")
    return Outcome(ok=True, message=f"Webhook set to {url}: {status.message}.")


def _record_webhook(account: IntegrationAccount, *, ok: bool, message: str, url: str | None = None) -> None:
    now = timezone.now()
    fields = {"last_webhook_ok": ok, "last_webhook_message": message[:500], "updated_at": now}
    if url is not None:
        fields.update(webhook_registered_url=url, webhook_set_at=now)
    IntegrationAccount.objects.filter(pk=account.pk).update(**fields)
    for name, value in fields.items():
        setattr(account, name, value)


def account_test_connection(*, account: IntegrationAccount) -> ConnectionResult:
    """Check the credentials and the identity behind them; store the result and time."""
    result = get_provider(account.messenger).test_connection(account)
    now = timezone.now()
    fields = {"last_test_ok": result.ok, "last_test_message": result.message[:500], "last_test_at": now}
    IntegrationAccount.objects.filter(pk=account.pk).update(**fields)
    for name, value in fields.items():
        setattr(account, name, value)
    logger.info("test_connection", extra={"account": str(account.pk), "ok": result.ok})
    return result


def webhook_health(*, account: IntegrationAccount) -> tuple[bool | None, str]:
    """(ok, words) for the changelist: the platform's live webhook info where it is cheap
    (Telegram's getWebhookInfo; short timeout, cached), else the stored Set Webhook result."""
    if not get_provider(account.messenger).LIVE_WEBHOOK_HEALTH:
        return account.last_webhook_ok, account.last_webhook_message or "not set yet"
    key = f"integrations:webhook-health:{account.pk}:{account.updated_at.timestamp() if account.updated_at else 0}"
    cached = cache.get(key)
    if cached is None:
        cached = _live_health(account)
        cache.set(key, cached, HEALTH_CACHE_SECONDS)
    return tuple(cached)


def _live_health(account: IntegrationAccount) -> tuple[bool | None, str]:
    try:
        status = get_provider(account.messenger).webhook_info(account, timeout=HEALTH_TIMEOUT)
    except PlatformError as exc:
        return (None, f"unknown: {exc.text}")
    if not status.url:
        return (False, "no webhook set")
    if status.url != account.webhook_url:
        return (False, f"points elsewhere: {status.url}")
    if status.last_error_message:
        return (False, f"failing: {status.last_error_message} ({status.pending_update_count or 0} pending)")
    return (True, f"ok ({status.pending_update_count or 0} pending)")
