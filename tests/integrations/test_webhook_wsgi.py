"""Webhooks under WSGI skip Django's middleware: the same handler, the same answers."""

import io

import pytest

from contactcenter.wsgi import application
from integrations.models import InboxEvent
from tests.integrations.webhook_support import fixture_body, signature_headers, webhook_account, webhook_path


def call(path: str, body: bytes = b"", method: str = "POST", **meta) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        **meta,
    }
    answer: dict = {}

    def start_response(status, headers):
        answer["status"] = status

    payload = b"".join(application(environ, start_response))
    return answer["status"], payload


@pytest.mark.django_db(transaction=True)
def test_a_signed_update_is_taken_in_and_a_forged_one_refused():
    account = webhook_account("telegram")
    body = fixture_body("telegram", "text__basic")
    status, payload = call(webhook_path(account), body, **signature_headers(account, body))
    assert status == "200 OK" and payload == b"OK"
    assert InboxEvent.objects.filter(account=account).count() == 1
    status, _ = call(webhook_path(account), body, HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="wrong")
    assert status == "403 Forbidden"
    status, _ = call(webhook_path(account), b"x" * 2_000_000)
    assert status == "413 Payload Too Large"


@pytest.mark.django_db(transaction=True)
def test_other_paths_still_go_through_django():
    status, payload = call("/healthz", method="GET")
    assert status.startswith("200") and b"database" in payload
