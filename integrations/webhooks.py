"""The one webhook view: every platform's POSTs (and Facebook's GET handshake) land here.

Order matters: find the account, bound the body, verify the signature on the raw bytes,
parse, store in one transaction, and only then answer 2xx. Status codes tell the platform
what to do: 4xx for requests that are not from it or cannot be read (no retry helps), 200 for
events stored or deliberately ignored, 503 for our own failures so that it retries.
"""

from __future__ import annotations

import logging
import uuid

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.ingest import ingest_events
from integrations.models import IntegrationAccount
from integrations.providers import get_provider
from integrations.providers.base import MalformedPayload, WebhookRejected, WebhookRequest

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: far above any real platform payload


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
def webhook(request: HttpRequest, messenger: str, account_id: uuid.UUID, callback: str = "inbound") -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return _plain(405, "Method Not Allowed")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        return _plain(400, "Bad Request: invalid Content-Length")
    if int(declared) > MAX_BODY_BYTES:
        return _plain(413, "Payload Too Large")
    try:
        account = IntegrationAccount.objects.filter(pk=account_id, messenger=messenger, enabled=True).first()
    except DatabaseError:
        logger.exception("webhook %s/%s: database unavailable", messenger, account_id)
        return _plain(503, "Service Unavailable")
    if account is None or (callback == "status" and messenger != "nexmo"):
        return _plain(404, "Not Found")
    provider = get_provider(messenger)

    # Read the body ourselves with a cap: request.body trusts Content-Length alone, and
    # under ASGI a chunked body without one arrives whole.
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _plain(413, "Payload Too Large")
    call = WebhookRequest(
        method=request.method, body=body, headers=request.headers, query=request.GET, path=request.path
    )
    if request.method == "GET":
        answer = provider.handshake(account, call)
        if answer is None:
            return _plain(405, "Method Not Allowed")
        return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)

    try:
        provider.verify(account, call)
    except WebhookRejected as exc:
        logger.warning("webhook %s/%s rejected: %s", messenger, account.pk, exc)
        return _plain(403, "Forbidden")
    try:
        parsed = provider.parse(account, call)
    except MalformedPayload as exc:
        logger.warning("webhook %s/%s malformed: %s", messenger, account.pk, exc)
        return _plain(400, f"Bad Request: {exc}")
    for description in parsed.ignored:
        logger.debug("webhook %s/%s: not handled: %s", messenger, account.pk, description)
    try:
        result = ingest_events(account=account, events=parsed.events)
    except DatabaseError:
        logger.exception("webhook %s/%s: storing %d events failed", messenger, account.pk, len(parsed.events))
        return _plain(503, "Service Unavailable")
    logger.info(
        "webhook %s/%s (%s): %d events, %d new, %d duplicates, %d ignored",
        messenger,
        account.pk,
        callback,
        len(parsed.events),
        result.handled,
        result.duplicates,
        len(parsed.ignored),
    )
    return _plain(200, "OK")
