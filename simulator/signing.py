"""Every signature the fake platforms put on what they deliver, over the exact body bytes.

The same functions reproduce the vectors of messenger-apis.md section 7 (see the tests).
"""

import base64
import hashlib
import hmac
import time
import uuid

import jwt


def _hmac_sha256(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode(), body, hashlib.sha256).digest()


def facebook_signature(*, app_secret: str, body: bytes) -> str:
    """X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256(app secret, body)>."""
    return "sha256=" + _hmac_sha256(app_secret, body).hex()


def line_signature(*, channel_secret: str, body: bytes) -> str:
    """x-line-signature: base64 HMAC-SHA256(channel secret, body)."""
    return base64.b64encode(_hmac_sha256(channel_secret, body)).decode()


def viber_signature(*, auth_token: str, body: bytes) -> str:
    """X-Viber-Content-Signature: lowercase hex HMAC-SHA256(auth token, body)."""
    return _hmac_sha256(auth_token, body).hex()


def vonage_jwt(
    *, signature_secret: str, body: bytes, api_key: str, application_id: str, issued_at: int | None = None
) -> str:
    """The Bearer token of a Vonage Messages callback: HS256 with the signature secret."""
    claims = {
        "iat": int(time.time()) if issued_at is None else issued_at,
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "api_key": api_key,
        "application_id": application_id,
        "payload_hash": hashlib.sha256(body).hexdigest(),
    }
    return jwt.encode(claims, signature_secret, algorithm="HS256")


def vonage_sms_signature(*, params: dict[str, str], signature_secret: str, method: str = "md5") -> str:
    """Legacy SMS API `sig`: HMAC over '&key=value' of the params sorted by key, '&'/'=' in values as '_'."""
    message = "".join(
        f"&{key}={str(value).replace('&', '_').replace('=', '_')}"
        for key, value in sorted(params.items())
        if key != "sig"
    )
    return hmac.new(signature_secret.encode(), message.encode(), getattr(hashlib, method)).hexdigest()


def telegram_headers(*, secret_token: str) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
