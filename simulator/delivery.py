"""Webhook delivery to our product as each platform does it: signed exact bytes, retried on
anything but a 2xx with the platform's redelivery marks, durable rows with next_attempt_at.

Deliveries are attempted right away when created and retried by `deliver_due()`, which the
chat page's polls and the fake APIs call opportunistically, and `manage.py simulator_deliver`.
"""

import datetime as dt
import json
import logging

import requests
from django.db import transaction
from django.utils import timezone

from simulator import payloads, signing
from simulator.models import DropMode, Platform, SimAccount, SimCustomer, SimDelivery, SimMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CONNECT_TIMEOUT, READ_TIMEOUT = 3, 15  # Vonage's published callback timeouts
LEASE = dt.timedelta(seconds=60)  # an attempt in flight is not picked up by another poller


def retry_delay(platform: str, attempts: int) -> dt.timedelta:
    """Backoff before the next attempt: Vonage ≈5 s doubling capped at 15 min; others 2 s doubling."""
    base, cap = (5, 900) if platform == Platform.NEXMO else (2, 300)
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def create_delivery(
    *,
    account: SimAccount,
    url: str,
    payload: dict,
    kind: str,
    event_id: str = "",
    customer: SimCustomer | None = None,
    message: SimMessage | None = None,
) -> SimDelivery:
    """Store a webhook call to make now (status pending, due immediately)."""
    dropped = kind == "message" and account.drop_mode == DropMode.INBOUND
    return SimDelivery.objects.create(
        account=account,
        customer=customer,
        message=message,
        kind=kind,
        url=url,
        event_id=event_id,
        body=payloads.dumps(account.platform, payload).decode(),
        status=SimDelivery.Status.DROPPED if dropped else SimDelivery.Status.PENDING,
        next_attempt_at=None if dropped else timezone.now(),
    )


def signed_headers(account: SimAccount, body: bytes) -> dict[str, str]:
    """The headers the platform puts on a webhook POST of `body`."""
    headers = {"Content-Type": "application/json"}
    platform = account.platform
    if platform == Platform.TELEGRAM:
        headers.update(signing.telegram_headers(secret_token=account.webhook_secret))
    elif platform == Platform.FACEBOOK:
        headers["X-Hub-Signature-256"] = signing.facebook_signature(app_secret=account.secret, body=body)
        headers["User-Agent"] = "facebookexternalua"
    elif platform == Platform.LINE:
        headers["Content-Type"] = "application/json; charset=utf-8"
        headers["x-line-signature"] = signing.line_signature(channel_secret=account.secret, body=body)
        headers["User-Agent"] = "LineBotWebhook/2.0"
    elif platform == Platform.VIBER:
        headers["X-Viber-Content-Signature"] = signing.viber_signature(auth_token=account.token, body=body)
    elif platform == Platform.NEXMO:
        token = signing.vonage_jwt(
            signature_secret=account.secret, body=body, api_key=account.api_key, application_id=account.app_id
        )
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _claim(delivery_id: int) -> SimDelivery | None:
    """Take a due delivery for one attempt (a lease, so concurrent pollers don't both send it)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            SimDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("account")
            .filter(id=delivery_id, status=SimDelivery.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if delivery.attempts and delivery.account.platform == Platform.LINE:
            body = json.loads(delivery.body)  # LINE marks redeliveries; the event id stays
            for event in body.get("events", []):
                event.setdefault("deliveryContext", {})["isRedelivery"] = True
            delivery.body = payloads.dumps(Platform.LINE, body).decode()
        delivery.headers = signed_headers(delivery.account, delivery.body.encode())
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["body", "headers", "next_attempt_at"])
    return delivery


def attempt(delivery_id: int) -> SimDelivery | None:
    """One attempt of a due delivery (outside any transaction). Returns it, or None if not due."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    status_code, error, response_text = None, "", ""
    try:
        response = requests.post(
            delivery.url,
            data=delivery.body.encode(),
            headers=delivery.headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,
        )
        status_code, response_text = response.status_code, response.text[:2000]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    _record(delivery, status_code=status_code, error=error, response_text=response_text)
    return delivery


def _record(delivery: SimDelivery, *, status_code: int | None, error: str, response_text: str) -> None:
    now = timezone.now()
    ok = status_code is not None and 200 <= status_code < 300
    delivery.attempts += 1
    delivery.history = [*delivery.history, {"at": now.isoformat(), "status_code": status_code, "error": error}]
    delivery.last_status_code = status_code
    delivery.last_response = response_text or error
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = SimDelivery.Status.DELIVERED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = SimDelivery.Status.FAILED, None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.account.platform, delivery.attempts)
    delivery.save()
    if not ok:
        account = delivery.account
        account.last_error_at = now
        account.last_error_message = (
            f"Wrong response from the webhook: {status_code}" if status_code else error or "Connection failed"
        )[:500]
        SimAccount.objects.filter(id=account.id).update(
            last_error_at=now, last_error_message=account.last_error_message
        )
        logger.info("simulator webhook %s to %s failed: %s", delivery.id, delivery.url, account.last_error_message)


def deliver_due(
    *,
    now: dt.datetime | None = None,
    account: SimAccount | None = None,
    created_before: dt.datetime | None = None,
    limit: int = 50,
) -> int:
    """Attempt every pending delivery that is due; returns how many were attempted."""
    due = SimDelivery.objects.filter(status=SimDelivery.Status.PENDING, next_attempt_at__lte=now or timezone.now())
    if account is not None:
        due = due.filter(account=account)
    if created_before is not None:
        due = due.filter(created_at__lt=created_before)
    done = 0
    for delivery_id in list(due.order_by("id").values_list("id", flat=True)[:limit]):
        if attempt(delivery_id) is not None:
            done += 1
    return done


def make_due(delivery: SimDelivery) -> None:
    """Make a pending delivery due now (tests and the admin's "retry now")."""
    SimDelivery.objects.filter(id=delivery.id, status=SimDelivery.Status.PENDING).update(next_attempt_at=timezone.now())


def verify_facebook_callback(*, account: SimAccount, url: str, verify_token: str) -> tuple[bool, str]:
    """Meta's GET handshake against a callback URL: 200 with the bare challenge or it fails."""
    challenge = str(payloads.now_ms() % 2_000_000_000)
    params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    row = SimDelivery.objects.create(
        account=account, kind="verify", method="GET", url=url, body="", headers={}, next_attempt_at=None
    )
    try:
        response = requests.get(url, params=params, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False)
        status_code, text, error = response.status_code, response.text[:2000], ""
    except requests.RequestException as exc:
        status_code, text, error = None, "", f"{type(exc).__name__}: {exc}"[:500]
    ok = status_code == 200 and text.strip() == challenge
    row.url = f"{url}?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge={challenge}"
    row.attempts, row.last_status_code, row.last_response = 1, status_code, text or error
    row.history = [{"at": timezone.now().isoformat(), "status_code": status_code, "error": error}]
    row.status = SimDelivery.Status.DELIVERED if ok else SimDelivery.Status.FAILED
    row.delivered_at = timezone.now() if ok else None
    row.save()
    if ok:
        return True, ""
    reason = f"HTTP Status Code = {status_code}" if status_code else error
    if status_code == 200:
        reason = "The URL couldn't be validated. Response does not match challenge"
    return False, reason
