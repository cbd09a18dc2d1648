"""Webhooks served straight from WSGI (gunicorn): no Django middleware, URL resolver or
request object, the same `integrations.webhooks.handle` as every other path."""

from __future__ import annotations

from django.db import close_old_connections
from django.http import QueryDict
from django.http.request import HttpHeaders

from integrations import webhooks
from integrations.webhook_asgi import PATH

REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
REASONS |= {413: "Payload Too Large", 503: "Service Unavailable"}


class WebhookRouter:
    """WSGI: webhook requests to the lean handler, everything else to `django_app`."""

    def __init__(self, django_app):
        self.django_app = django_app

    def __call__(self, environ, start_response):
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match is None:
            return self.django_app(environ, start_response)
        try:
            answer = _answer(match, environ)
        finally:
            close_old_connections()  # hand the connection back (to the pool) as Django does
        payload = answer.body.encode()
        start_response(
            f"{answer.status} {REASONS.get(answer.status, 'Unknown')}",
            [("Content-Type", answer.content_type), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def _answer(match, environ) -> webhooks.Answer:
    method = environ.get("REQUEST_METHOD", "GET")
    answer = webhooks.refusal(method, environ.get("CONTENT_LENGTH"))
    if answer is not None:
        return answer
    declared = environ.get("CONTENT_LENGTH")
    cap = webhooks.MAX_BODY_BYTES + 1  # one byte more: the handler answers 413 past the limit
    body = environ["wsgi.input"].read(min(int(declared), cap) if declared else cap)  # chunked: up to the cap
    return webhooks.handle(
        messenger=match["messenger"],
        account_id=match["account_id"],
        callback="status" if match["status"] else "inbound",
        method=method,
        body=body,
        headers=HttpHeaders(environ),
        query=QueryDict(environ.get("QUERY_STRING", "")),
        path=environ.get("PATH_INFO", ""),
    )
