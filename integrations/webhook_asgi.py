"""Webhooks served straight from ASGI: no Django middleware, no one-thread bottleneck.

Django's ASGI handler runs every sync view on one shared thread (thread_sensitive) behind the
whole middleware stack, which caps a Daphne process at a couple of hundred requests a second
whatever the view costs (performance.md). Webhooks need none of that: no session, user,
messages or CSRF. This app takes `/webhooks/<messenger>/<uuid>/[status/]`, reads the body with
the cap, runs `integrations.webhooks.handle` on a worker thread (each with its own database
connection from the pool), and hands every other request to Django.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import QueryDict
from django.http.request import HttpHeaders

from integrations import webhooks

PATH = re.compile(r"^/webhooks/(?P<messenger>[a-z]+)/(?P<account_id>[0-9a-fA-F-]{36})/(?P<status>status/)?$")


class WebhookRouter:
    """ASGI: webhook requests to the lean handler, everything else to `django_app`."""

    def __init__(self, django_app):
        self.django_app = django_app

    async def __call__(self, scope, receive, send):
        match = PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            return await self.django_app(scope, receive, send)
        return await _serve(match, scope, receive, send)


async def _serve(match, scope, receive, send) -> None:
    meta = _meta(scope)
    answer = webhooks.refusal(scope["method"], meta.get("CONTENT_LENGTH"))
    if answer is None:
        body = await _read_body(receive, webhooks.MAX_BODY_BYTES + 1)
        answer = await sync_to_async(_handle, thread_sensitive=False)(
            messenger=match["messenger"],
            account_id=match["account_id"],
            callback="status" if match["status"] else "inbound",
            method=scope["method"],
            body=body,
            headers=HttpHeaders(meta),
            query=QueryDict(scope.get("query_string", b"").decode("latin-1")),
            path=scope["path"],
        )
    payload = answer.body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _handle(**kwargs) -> webhooks.Answer:
    try:
        return webhooks.handle(**kwargs)
    finally:
        close_old_connections()  # hand this thread's connection back (to the pool) as Django does


def _meta(scope) -> dict[str, str]:
    """Headers as Django's META names them (what HttpHeaders and the providers expect)."""
    meta: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        meta[key] = f"{meta[key]},{value}" if key in meta else value
    meta["PATH_INFO"] = unquote(scope.get("path", ""))
    return meta


async def _read_body(receive, cap: int) -> bytes:
    """The request body, at most `cap` bytes (the caller answers 413 past the limit)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if size < cap:
            chunks.append(chunk[: cap - size])
        size += len(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)
