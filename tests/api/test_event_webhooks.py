"""Event webhooks: a real receiver on loopback gets each event once, signed; a receiver that
is down gets it later, and every attempt is logged."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from api import event_webhooks
from api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_test-secret-0123456789"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every request (or answers 503 while down)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.requests: list[dict] = []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(503 if receiver.down else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


@pytest.fixture
def fast_retries(settings):
    settings.EVENT_WEBHOOK_BACKOFF_BASE = 0.2
    settings.EVENT_WEBHOOK_BACKOFF_CAP = 0.5
    settings.EVENT_WEBHOOK_MAX_ATTEMPTS = 4
    settings.EVENT_WEBHOOK_TIMEOUT = (1.0, 2.0)


def subscribe(url: str, kinds: list[str]) -> WebhookSubscription:
    return WebhookSubscription.objects.create(name="CRM", url=url, secret=SECRET, event_kinds=kinds)


def test_each_event_arrives_once_with_a_valid_signature(fast_retries):
    receiver = Receiver()
    try:
        subscribe(receiver.url, ["interaction.created", "message.created"])
        subscribe(receiver.url, ["agent.state_changed"])  # does not want these kinds
        with transaction.atomic():
            event_webhooks.publish("interaction.created", {"interaction": 7}, "ev-1")
            event_webhooks.publish("interaction.created", {"interaction": 7}, "ev-1")  # published twice
            event_webhooks.publish("message.created", {"message": 9, "text": "Olá"}, "ev-2")
            assert receiver.requests == []  # nothing leaves before the commit

        wait_for(lambda: WebhookDelivery.objects.filter(status="delivered").count() == 2)
        time.sleep(0.3)  # a duplicate would have arrived by now
        assert len(receiver.requests) == 2
        by_id = {json.loads(r["body"])["id"]: r for r in receiver.requests}
        assert set(by_id) == {"ev-1", "ev-2"}
        for event_id, request in by_id.items():
            body, headers = request["body"], request["headers"]
            assert event_webhooks.verify(
                SECRET, body=body, timestamp=headers["X-Webhook-Timestamp"], signature=headers["X-Signature-256"]
            )
            assert not event_webhooks.verify(
                "wrong-secret",
                body=body,
                timestamp=headers["X-Webhook-Timestamp"],
                signature=headers["X-Signature-256"],
            )
            payload = json.loads(body)
            assert payload["id"] == event_id and payload["occurred_at"] and headers["X-Webhook-Id"] == event_id
        assert json.loads(by_id["ev-2"]["body"])["data"] == {"message": 9, "text": "Olá"}
        assert json.loads(by_id["ev-2"]["body"])["kind"] == "message.created"
        assert WebhookAttempt.objects.filter(ok=True, status_code=204).count() == 2
    finally:
        receiver.close()


def test_a_replayed_request_with_an_old_timestamp_does_not_verify():
    body = b'{"id":"x"}'
    old = int(time.time()) - 3600
    signature = event_webhooks.sign(SECRET, old, body)

    assert not event_webhooks.verify(SECRET, body=body, timestamp=str(old), signature=signature)
    fresh = int(time.time())
    assert event_webhooks.verify(
        SECRET, body=body, timestamp=str(fresh), signature=event_webhooks.sign(SECRET, fresh, body)
    )


def test_a_receiver_that_is_down_gets_the_event_later_and_the_log_shows_each_attempt(fast_retries):
    receiver = Receiver()
    receiver.down = True
    try:
        subscribe(receiver.url, ["interaction.ended"])
        started = time.monotonic()
        with transaction.atomic():
            event_webhooks.publish("interaction.ended", {"interaction": 3}, "ev-down")
        assert time.monotonic() - started < 0.5  # the caller never waits for the receiver

        wait_for(lambda: WebhookAttempt.objects.count() >= 2)
        receiver.down = False
        wait_for(lambda: WebhookDelivery.objects.get().status == "delivered")

        delivery = WebhookDelivery.objects.get()
        attempts = list(delivery.attempt_log.order_by("number"))
        assert [a.status_code for a in attempts[:-1]] == [503] * (len(attempts) - 1)
        assert attempts[-1].status_code == 204 and attempts[-1].ok
        assert delivery.attempts == len(attempts) >= 3
        assert len({json.loads(r["body"])["id"] for r in receiver.requests}) == 1
    finally:
        receiver.close()


def test_an_unreachable_receiver_gives_up_after_the_last_attempt_and_redelivery_sends_again(fast_retries, client):
    port = free_port()  # nothing listens there
    subscription = subscribe(f"http://127.0.0.1:{port}/hooks", ["agent.state_changed"])
    with transaction.atomic():
        event_webhooks.publish("agent.state_changed", {"agent": 1, "state": "ready"}, "ev-gone")

    wait_for(lambda: WebhookDelivery.objects.get().status == "failed")
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 4 and delivery.attempt_log.count() == 4
    assert all(a.status_code is None and "could not reach" in a.error for a in delivery.attempt_log.all())

    receiver = Receiver(port)
    try:
        from tests.api.conftest import make_user

        client.force_login(make_user("root", superuser=True))
        response = client.post(
            "/admin/api/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
        )
        assert response.status_code == 302
        wait_for(lambda: WebhookDelivery.objects.get().status == "delivered")
        assert len(receiver.requests) == 1
        assert WebhookDelivery.objects.get().attempt_log.count() == 5
        assert subscription.deliveries.count() == 1
    finally:
        receiver.close()


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError):
        event_webhooks.publish("interaction.exploded", {}, "ev-x")
