"""Outgoing event webhooks: record a delivery per subscription, sign it, POST it, retry it.

`publish()` is the one entry point. It runs inside the caller's transaction and only
inserts rows; the POSTs go after commit from Celery (or a daemon thread in the embedded
default), so a receiver that is down never slows the caller. Each delivery row keeps the
exact body; every attempt is logged with its response code.

Signature: `X-Signature-256: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`
with `X-Webhook-Timestamp: <unix seconds>`; the receiver recomputes it over the bytes it got
and refuses timestamps older than a few minutes, so a captured request cannot be replayed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.models import EventKind, WebhookAttempt, WebhookDelivery, WebhookSubscription
from contactcenter import scheduling

logger = logging.getLogger(__name__)
DELIVER_TASK = "api.tasks.deliver_event_webhook"

Status = WebhookDelivery.Status
SIGNATURE_HEADER = "X-Signature-256"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
EVENT_HEADER = "X-Webhook-Event"
ID_HEADER = "X-Webhook-Id"


def publish(kind: str, data: dict, event_id: str, *, occurred_at: dt.datetime | None = None) -> list[WebhookDelivery]:
    """Record one delivery per enabled subscription that wants `kind`; send them after commit.

    Call it inside the transaction that makes the change. Publishing the same event id twice
    records nothing new, so the receiver gets each event once.
    """
    if kind not in EventKind.values:
        raise ValueError(f"Unknown event kind {kind!r} (known: {', '.join(EventKind.values)}).")
    subscriptions = [s for s in WebhookSubscription.objects.filter(enabled=True) if s.wants(kind)]
    if not subscriptions:
        return []
    body = json.dumps(
        {"id": event_id, "kind": kind, "occurred_at": (occurred_at or timezone.now()).isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    rows = [WebhookDelivery(subscription=s, event_id=event_id, kind=kind, body=body) for s in subscriptions]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    # Primary keys are made client-side; a row that hit the unique constraint was not stored.
    created = list(WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows]))
    ids = [row.pk for row in created]
    transaction.on_commit(lambda: [schedule(pk, delay=0) for pk in ids], robust=True)
    return created


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Signature-256 value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, *, body: bytes, timestamp: str, signature: str, tolerance: int = 300) -> bool:
    """What a receiver does (our tests and the README use it): constant-time, fresh timestamps only."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature or "")


@dataclass(frozen=True)
class AttemptOutcome:
    status: str
    retry_in: float | None = None


def schedule(delivery_id, *, delay: float) -> None:
    """Run the delivery task now or in `delay` seconds, never on the caller's thread
    (longer waits than the scheduler's countdowns: the sweeper sends it when due)."""
    scheduling.run(DELIVER_TASK, str(delivery_id), delay=delay, off_thread=True)


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped."""
    ceiling = min(settings.EVENT_WEBHOOK_BACKOFF_CAP, settings.EVENT_WEBHOOK_BACKOFF_BASE * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _claim(delivery_id) -> WebhookDelivery | None:
    """Mark a due delivery sending and commit, so two workers never POST it at once."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status__in=[Status.PENDING, Status.RETRYING])
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .first()
        )
        if delivery is None:
            return None
        delivery.status = Status.SENDING
        delivery.sending_started_at = now
        delivery.attempts += 1
        delivery.save(update_fields=["status", "sending_started_at", "attempts"])
    return delivery


def deliver(delivery_id) -> AttemptOutcome:
    """One attempt: claim, POST (no transaction open), record the attempt and what comes next."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return AttemptOutcome("skipped")
    subscription = delivery.subscription
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "contactcenter-webhooks/1",
        ID_HEADER: delivery.event_id,
        EVENT_HEADER: delivery.kind,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
    }
    started = timezone.now()
    clock = time.monotonic()
    code, error = None, ""
    try:
        response = requests.post(
            subscription.url, data=body, headers=headers, timeout=settings.EVENT_WEBHOOK_TIMEOUT, allow_redirects=False
        )
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: could not reach the endpoint"
    duration = int((time.monotonic() - clock) * 1000)
    return _record(delivery, started=started, code=code, error=error, duration=duration)


def _record(delivery: WebhookDelivery, *, started, code: int | None, error: str, duration: int) -> AttemptOutcome:
    ok = not error
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started,
            status_code=code,
            error=error[:500],
            duration_ms=duration,
            ok=ok,
        )
        fields = {"last_status_code": code, "last_error": error[:500], "sending_started_at": None}
        retry_in = None
        if ok:
            fields.update(status=Status.DELIVERED, delivered_at=now, next_attempt_at=None)
        elif delivery.attempts >= settings.EVENT_WEBHOOK_MAX_ATTEMPTS:
            fields.update(status=Status.FAILED, next_attempt_at=None)
        else:
            retry_in = backoff(delivery.attempts)
            fields.update(status=Status.RETRYING, next_attempt_at=now + dt.timedelta(seconds=retry_in))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    log = logger.info if ok else logger.warning
    log("event webhook attempt", extra={"delivery": str(delivery.pk), "code": code, "attempt": delivery.attempts})
    if retry_in is not None:
        schedule(delivery.pk, delay=retry_in)
    return AttemptOutcome(fields["status"], retry_in)


def redeliver(deliveries) -> int:
    """The admin's Redeliver: send these again now, whatever their status (a new attempt each)."""
    ids = [d.pk for d in deliveries]
    WebhookDelivery.objects.filter(pk__in=ids).exclude(status=Status.SENDING).update(
        status=Status.PENDING, next_attempt_at=None
    )
    transaction.on_commit(lambda: [schedule(pk, delay=0) for pk in ids], robust=True)
    return len(ids)


def sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Beat: send deliveries that are due but no task took (a lost task, a long backoff, a
    worker killed while sending)."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.EVENT_WEBHOOK_SENDING_TIMEOUT)
    WebhookDelivery.objects.filter(status=Status.SENDING, sending_started_at__lt=stale).update(
        status=Status.RETRYING, next_attempt_at=now
    )
    grace = now - dt.timedelta(seconds=5)
    due = WebhookDelivery.objects.filter(
        Q(status=Status.RETRYING, next_attempt_at__lte=now) | Q(status=Status.PENDING, created_at__lt=grace)
    ).values_list("pk", flat=True)[:limit]
    ids = list(due)
    for pk in ids:
        schedule(pk, delay=0)
    return len(ids)
