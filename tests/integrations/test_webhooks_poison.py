"""Signed deliveries a broken platform (or a customer's odd text) can send must not poison
the delivery: lone surrogates are replaced, deep nesting is refused without recursion, and
one unreadable event of a batch never costs the good ones (issue 18, items 2-3)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from conversations.models import Message
from tests.integrations.webhook_support import (
    MESSENGERS,
    fixture_body,
    post_webhook,
    stored_counts,
    webhook_account,
)

pytestmark = pytest.mark.django_db

TEXT_FIXTURE = {
    "telegram": "text__basic",
    "facebook": "text__basic",
    "line": "text__basic",
    "viber": "text__basic",
    "nexmo": "text__sms",
}


def _set_first_text(node, value: str) -> bool:
    """Put `value` into the first "text" string field of a parsed fixture."""
    stack = [node]
    while stack:
        current = stack.pop(0)
        if isinstance(current, dict):
            if isinstance(current.get("text"), str):
                current["text"] = value
                return True
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return False


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_a_lone_surrogate_is_stored_replaced_on_every_platform(messenger):
    account = webhook_account(messenger)
    payload = json.loads(fixture_body(messenger, TEXT_FIXTURE[messenger]))
    assert _set_first_text(payload, "bad \ud800 text")
    body = json.dumps(payload).encode()  # ensure_ascii: the body carries the escape "\ud800"
    assert b"\\ud800" in body

    response = post_webhook(Client(enforce_csrf_checks=True), account, body)

    assert response.status_code == 200, response.content
    assert list(Message.objects.values_list("text", flat=True)) == ["bad \ufffd text"]


@pytest.mark.parametrize("depth", [600, 900])
@pytest.mark.parametrize("messenger", MESSENGERS)
def test_deep_nesting_is_a_400_not_a_500(messenger, depth):
    account = webhook_account(messenger)
    payload = json.loads(fixture_body(messenger, TEXT_FIXTURE[messenger]))
    nested = b"[" * depth + b"]" * depth
    body = json.dumps(payload).encode()[:-1] + b', "deep": ' + nested + b"}"

    response = post_webhook(Client(enforce_csrf_checks=True), account, body)

    assert response.status_code == 400
    assert b"nested deeper" in response.content
    assert stored_counts()["messages"] == 0


def test_line_batch_with_one_unreadable_event_keeps_the_good_ones():
    account = webhook_account("line")
    payload = json.loads(fixture_body("line", "batched__three_events"))
    payload["events"][1]["webhookEventId"] = {"not": "an id"}  # unreadable, whatever the text
    payload["events"][2]["message"]["text"] = "three \udc00"
    body = json.dumps(payload).encode()

    response = post_webhook(Client(enforce_csrf_checks=True), account, body)

    assert response.status_code == 200  # LINE stops redelivering; the good events are stored
    assert sorted(Message.objects.values_list("text", flat=True)) == ["one", "three \ufffd"]


def test_facebook_batch_with_one_unreadable_item_keeps_the_good_ones():
    account = webhook_account("facebook")
    payload = json.loads(fixture_body("facebook", "text__basic"))
    good = payload["entry"][0]["messaging"][0]
    payload["entry"][0]["messaging"] = [{"sender": "not an object"}, good]
    payload["entry"].insert(0, ["not", "an", "entry"])

    response = post_webhook(Client(enforce_csrf_checks=True), account, json.dumps(payload).encode())

    assert response.status_code == 200
    assert Message.objects.count() == 1
