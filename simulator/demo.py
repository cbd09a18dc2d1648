"""Demo accounts on the fake platforms, with fixed credentials that contactcenter/demo/accounts.py uses
to link matching IntegrationAccounts. Idempotent."""

import hashlib
import hmac
import string

from django.conf import settings

from simulator.models import Platform, SimAccount
from simulator.services import register_webhook

# Path of each fake API below the server's base URL (PUBLIC_BASE_URL + this = api_base_url).
API_BASE_PATHS = {
    "telegram": "/simulator/api/telegram",
    "facebook": "/simulator/api/facebook/v19.0",
    "line": "/simulator/api/line",
    "viber": "/simulator/api/viber",
    "nexmo": "/simulator/api/nexmo",
}

# Demo sandbox credentials. The secret ones below are templates: each installation derives
# its own values from SECRET_KEY (same shape), so a demo loaded by mistake into a real
# database does not carry secrets published with the source.
DEMO_CREDENTIALS = {
    "telegram": {
        "name": "Acme Support",
        "username": "acme_support_bot",
        "bot_id": "7000000001",
        "token": "7000000001:AAHdemoAcmeSupportBotToken0000000001",
    },
    "facebook": {
        "name": "Acme",
        "page_id": "104000000000001",
        "page_access_token": "EAAGdemoAcmePageAccessToken000000000000000001",
        "app_id": "900000000000001",
        "app_secret": "demo-acme-facebook-app-secret-01",
        "verify_token": "demo-acme-verify-token",
    },
    "line": {
        "name": "Acme LINE",
        "basic_id": "@acme-demo",
        "bot_user_id": "Ud0000000000000000000000000000001",  # U + 32 hex digits, as LINE's
        "channel_id": "2000000001",
        "channel_secret": "demoacmelinechannelsecret0000001",
        "channel_access_token": "demoAcmeLineChannelAccessToken0000000000000000000000000001",
    },
    "viber": {
        "name": "Acme Viber",
        "uri": "acmedemo",
        "account_id": "pa:5000000000000000001",
        "auth_token": "4a1b2c3d4e5f6071-8293a4b5c6d7e8f9-0a1b2c3d4e5f6071",
    },
    "nexmo": {
        "name": "Acme SMS",
        "number": "447700900000",
        "application_id": "aaaaaaaa-bbbb-4ccc-8ddd-000000000001",
        "api_key": "demo1234",
        "api_secret": "demoAcmeApiSecret1",
        "signature_secret": "demoAcmeVonageSignatureSecret000001",
    },
}


_DEMO_SECRET_KEYS = (
    "token",
    "page_access_token",
    "app_secret",
    "verify_token",
    "channel_secret",
    "channel_access_token",
    "auth_token",
    "api_secret",
    "signature_secret",
)


def _installation_value(template: str, label: str) -> str:
    """`template` with its letters and digits replaced by ones derived from SECRET_KEY.

    Same length, character classes and separators (a Telegram token keeps its bot id, a
    Viber token stays hex), stable for one installation so loading again changes nothing.
    """
    prefix, _, tail = template.rpartition(":") if label.endswith(":token") else ("", "", template)
    stream = b""
    counter = 0
    while len(stream) < len(tail):
        stream += hmac.new(settings.SECRET_KEY.encode(), f"demo:{label}:{counter}".encode(), hashlib.sha256).digest()
        counter += 1
    hexadecimal = all(c in string.hexdigits.lower() + "-" for c in tail)
    out = []
    for char, byte in zip(tail, stream, strict=False):
        if hexadecimal and char != "-":
            out.append("0123456789abcdef"[byte % 16])
        elif char.isdigit():
            out.append(string.digits[byte % 10])
        elif char.islower():
            out.append(string.ascii_lowercase[byte % 26])
        elif char.isupper():
            out.append(string.ascii_uppercase[byte % 26])
        else:
            out.append(char)
    return f"{prefix}:{''.join(out)}" if prefix else "".join(out)


for _platform, _values in DEMO_CREDENTIALS.items():
    for _key in _DEMO_SECRET_KEYS:
        if _key in _values:
            _values[_key] = _installation_value(_values[_key], f"{_platform}:{_key}")


def _fields(platform: str) -> dict:
    c = DEMO_CREDENTIALS[platform]
    if platform == Platform.TELEGRAM:
        return {"username": c["username"], "platform_id": c["bot_id"], "token": c["token"]}
    if platform == Platform.FACEBOOK:
        return {
            "platform_id": c["page_id"],
            "token": c["page_access_token"],
            "app_id": c["app_id"],
            "secret": c["app_secret"],
        }
    if platform == Platform.LINE:
        return {
            "username": c["basic_id"],
            "platform_id": c["bot_user_id"],
            "app_id": c["channel_id"],
            "token": c["channel_access_token"],
            "secret": c["channel_secret"],
        }
    if platform == Platform.VIBER:
        return {"username": c["uri"], "platform_id": c["account_id"], "token": c["auth_token"]}
    return {
        "platform_id": c["number"],
        "app_id": c["application_id"],
        "api_key": c["api_key"],
        "api_secret": c["api_secret"],
        "secret": c["signature_secret"],
    }


# Ids older demo data used that were not in the platform's shape; load() corrects them.
_LEGACY_PLATFORM_IDS = {"line": "Ud000000000000000000000000000001"}


def demo_account(platform: str) -> SimAccount | None:
    ids = [_fields(platform)["platform_id"]] + (
        [_LEGACY_PLATFORM_IDS[platform]] if platform in _LEGACY_PLATFORM_IDS else []
    )
    return SimAccount.objects.filter(platform=platform, platform_id__in=ids).order_by("id").first()


def register_demo_webhook(*, platform: str, url: str, secret: str = "", status_url: str = "") -> SimAccount:
    """Register our webhook on a demo account directly (load_demo runs without a server).

    secret: Telegram secret_token, Facebook verify token. status_url: Vonage status callbacks."""
    account = demo_account(platform)
    if account is None:
        raise LookupError(f"No demo simulator account for {platform}; run simulator.demo.load first.")
    return register_webhook(account=account, url=url, secret=secret, status_url=status_url)


def load(stdout) -> None:
    for platform in API_BASE_PATHS:
        account = demo_account(platform)
        fields = _fields(platform)
        if account is None:
            SimAccount.objects.create(platform=platform, name=DEMO_CREDENTIALS[platform]["name"], **fields)
            stdout.write(f"Simulator: created demo {platform} account {DEMO_CREDENTIALS[platform]['name']!r}")
        elif any(getattr(account, k) != v for k, v in fields.items()):
            SimAccount.objects.filter(id=account.id).update(**fields)
            stdout.write(f"Simulator: demo {platform} account credentials restored")
