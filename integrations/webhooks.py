"""The one webhook handler: every platform's POSTs (and Facebook's GET handshake) land here.

Order matters: find the account, bound the body, verify the signature on the raw bytes,
parse, take the events into the inbox with one INSERT, and only then answer 2xx (the inbox
processor does the rest after the ack: `integrations.ingest`). Status codes tell the platform
what to do: 4xx for requests that are not from it or cannot be read (no retry helps), 200 for
events stored or deliberately ignored, 503 for our own failures so that it retries.

`handle` holds the logic and knows nothing of Django's request: the Django view below serves
it under WSGI (and the test client), `integrations.webhook_asgi` serves it under ASGI without
Django's middleware and per-request thread hop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations import account_cache
from integrations.ingest import take_in
from integrations.providers import PROVIDERS, get_provider
from integrations.providers.base import MalformedPayload, WebhookRejected, WebhookRequest

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: far above any real platform payload
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = TEXT


def refusal(method: str, declared_length: str | None) -> Answer | None:
    """What to answer before reading the body at all, or None to read it."""
    if method not in ("GET", "POST"):
        return Answer(405, "Method Not Allowed")
    declared = declared_length or "0"
    if not declared.isdigit():
        return Answer(400, "Bad Request: invalid Content-Length")
    if int(declared) > MAX_BODY_BYTES:
        return Answer(413, "Payload Too Large")
    return None


def handle(
    *, messenger: str, account_id: str, callback: str, method: str, body: bytes, headers: Mapping, query, path: str
) -> Answer:
    """Answer one webhook request whose body was read (at most MAX_BODY_BYTES + 1 bytes)."""
    if messenger not in PROVIDERS or (callback == "status" and messenger != "nexmo"):
        return Answer(404, "Not Found")
    try:
        account = account_cache.webhook_account(messenger=messenger, account_id=account_id)
    except DatabaseError:
        logger.exception("webhook %s/%s: database unavailable", messenger, account_id)
        return Answer(503, "Service Unavailable")
    if account is None:
        return Answer(404, "Not Found")
    if len(body) > MAX_BODY_BYTES:
        return Answer(413, "Payload Too Large")
    provider = get_provider(messenger)
    call = WebhookRequest(method=method, body=body, headers=headers, query=query, path=path)
    if method == "GET":
        handshake = provider.handshake(account, call)
        if handshake is None:
            return Answer(405, "Method Not Allowed")
        return Answer(handshake.status, handshake.body, handshake.content_type)

    try:
        provider.verify(account, call)
    except WebhookRejected as exc:
        logger.warning("webhook %s/%s rejected: %s", messenger, account.pk, exc)
        return Answer(403, "Forbidden")
    try:
        parsed = provider.parse(account, call)
    except MalformedPayload as exc:
        logger.warning("webhook %s/%s malformed: %s", messenger, account.pk, exc)
        return Answer(400, f"Bad Request: {exc}")
    for description in parsed.ignored:
        logger.debug("webhook %s/%s: not handled: %s", messenger, account.pk, description)
    try:
        taken = take_in(account=account, events=parsed.events)
    except DatabaseError:
        logger.exception("webhook %s/%s: storing %d events failed", messenger, account.pk, len(parsed.events))
        return Answer(503, "Service Unavailable")
    logger.debug("webhook %s/%s (%s): %d events taken in", messenger, account.pk, callback, taken)
    return Answer(200, "OK")


@csrf_exempt
def webhook(request: HttpRequest, messenger: str, account_id, callback: str = "inbound") -> HttpResponse:
    answer = refusal(request.method, request.META.get("CONTENT_LENGTH"))
    if answer is None:
        # Read the body ourselves with a cap: request.body trusts Content-Length alone.
        body = request.read(MAX_BODY_BYTES + 1)
        answer = handle(
            messenger=messenger,
            account_id=str(account_id),
            callback=callback,
            method=request.method,
            body=body,
            headers=request.headers,
            query=request.GET,
            path=request.path,
        )
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
