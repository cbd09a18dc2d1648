"""New fake-platform accounts with credentials in each platform's shape (tests, demo, admin)."""

import secrets
import uuid

from simulator.models import Platform, SimAccount


def fresh_credentials(platform: str) -> dict:
    """Random credentials and identity for a new account on `platform`."""
    if platform == Platform.TELEGRAM:
        bot_id = str(7_000_000_000 + secrets.randbelow(999_999_999))
        return {
            "platform_id": bot_id,
            "token": f"{bot_id}:AA{secrets.token_urlsafe(25)}",
            "username": f"sim{secrets.token_hex(3)}_bot",
        }
    if platform == Platform.FACEBOOK:
        return {
            "platform_id": str(100_000_000_000_000 + secrets.randbelow(10**14)),
            "token": "EAAG" + secrets.token_urlsafe(60),
            "secret": secrets.token_hex(16),
            "app_id": str(10**14 + secrets.randbelow(10**14)),
            "webhook_secret": secrets.token_urlsafe(16),
        }
    if platform == Platform.LINE:
        return {
            "platform_id": "U" + secrets.token_hex(16),
            "username": "@" + secrets.token_hex(4),
            "token": secrets.token_urlsafe(128),
            "secret": secrets.token_hex(16),
        }
    if platform == Platform.VIBER:
        return {
            "platform_id": "pa:" + str(5_000_000_000_000_000_000 + secrets.randbelow(10**18)),
            "username": "sim" + secrets.token_hex(3),
            "token": "-".join(secrets.token_hex(8) for _ in range(3)),
        }
    return {
        "platform_id": "4477009" + str(10000 + secrets.randbelow(90000)),
        "app_id": str(uuid.uuid4()),
        "api_key": secrets.token_hex(4),
        "api_secret": secrets.token_urlsafe(12),
        "secret": secrets.token_urlsafe(24),
    }


def create_account(*, platform: str, name: str = "", **fields) -> SimAccount:
    """A fake account with fresh credentials; `fields` override any of them (webhook_url, ...)."""
    values = fresh_credentials(platform) | {"name": name or f"Sim {Platform(platform).label}"} | fields
    return SimAccount.objects.create(platform=platform, **values)
