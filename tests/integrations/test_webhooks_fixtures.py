"""Conformance: every recorded payload of every platform, posted over HTTP with CSRF enforced.

One table says what each fixture must leave in the database; each fixture is also replayed
three times and must leave exactly what one delivery left.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import pytest
from django.test import Client

from conversations.models import Customer, Interaction, Message
from tests.integrations.webhook_support import (
    MESSENGERS,
    fixture_body,
    fixture_names,
    post_webhook,
    snapshot,
    stored_counts,
    webhook_account,
)

pytestmark = pytest.mark.django_db

CUSTOMER = {
    "telegram": "123456789",
    "facebook": "7000000000000001",
    "line": "U206d25c2ea6bd87c17655609a1c37cb8",
    "viber": "01234567890A=",
    "nexmo": "447700900001",
}
# The platform id of "our" outbound message that the receipt fixtures refer to.
OUR_MESSAGE = {
    "facebook": "m_OurReply1",
    "viber": "5741311803571721087",
    "nexmo": "d8f86df1-dec6-442f-870a-2241be27d721",
}
SENT_AT = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)  # before every receipt watermark


@dataclass(frozen=True)
class Case:
    messenger: str
    fixture: str
    messages: tuple[tuple[str, str], ...] = ()  # (kind, text) of the customer messages stored
    attachment: dict = field(default_factory=dict)  # expected subset of the first message's attachment
    customer: dict = field(default_factory=dict)  # expected fields of the customer
    arrange: str = ""  # "outbound": one of our messages was sent; "unreachable"; "open_chat"
    outbound_status: str = ""  # receipts: the status our message ends with
    unreachable: bool | None = None

    @property
    def id(self) -> str:
        return f"{self.messenger}/{self.fixture}"


ANA_TG = {"first_name": "Ana", "last_name": "Lee", "username": "analee", "language": "en", "reply_to": "123456789"}
ANA_VIBER = {"display_name": "Ana Lee", "language": "en", "avatar_url": "https://media-direct.cdn.viber.com/ana.jpg"}

CASES = [
    # Telegram
    Case("telegram", "text__basic", (("text", "Hello"),), customer=ANA_TG),
    Case("telegram", "text__unicode", (("text", "Olá, tudo bem? 👋"),)),
    Case("telegram", "photo__caption", (("image", "my receipt"),), {"file_id": "AgACAgIAAxk-large"}),
    Case("telegram", "document__pdf", (("file", ""),), {"file_id": "BQACAgIAAxk-doc", "file_name": "invoice.pdf"}),
    Case("telegram", "voice__basic", (("audio", ""),), {"type": "voice", "file_id": "AwACAgIAAxk-voice"}),
    Case("telegram", "sticker__basic", (("sticker", ""),), {"file_id": "CAACAgIAAxk-sticker", "emoji": "😀"}),
    Case("telegram", "location__basic", (("location", ""),), {"latitude": 51.5074, "longitude": -0.1278}),
    Case("telegram", "contact__basic", (("contact", ""),), {"phone_number": "+447700900123"}),
    Case("telegram", "edited__text", (("edited", "Hello, corrected"),), {"edited_kind": "text"}),
    Case("telegram", "callback__button", (("postback", "yes"),), {"data": "yes"}),
    Case("telegram", "my_chat_member__kicked", arrange="open_chat", unreachable=True),
    Case("telegram", "my_chat_member__member", arrange="unreachable", unreachable=False),
    Case("telegram", "poll__unhandled"),
    # Facebook (names come from the profile API later, not from the payload)
    Case("facebook", "text__basic", (("text", "Hello"),), customer={"reply_to": "7000000000000001"}),
    Case("facebook", "text__unicode", (("text", "Olá 👋 ünïcödé"),)),
    Case("facebook", "image__basic", (("image", ""),), {"url": "https://scontent.xx.fbcdn.net/v/photo.jpg"}),
    Case("facebook", "sticker__like", (("sticker", ""),), {"sticker_id": 369239263222822}),
    Case("facebook", "location__basic", (("location", ""),), {"latitude": 48.8584, "longitude": 2.2945}),
    Case("facebook", "file__pdf", (("file", ""),), {"url": "https://cdn.fbsbx.com/v/invoice.pdf"}),
    Case("facebook", "quick_reply__basic", (("text", "Yes"),), {"payload": "ANSWER_YES"}),
    Case("facebook", "postback__get_started", (("postback", "GET_STARTED"),), {"title": "Get Started"}),
    Case("facebook", "edit__basic", (("edited", "Hello again"),), {"num_edit": 1}),
    Case("facebook", "batched__two_entries", (("text", "first"), ("text", "second"), ("text", "third"))),
    Case("facebook", "echo__ours"),
    Case("facebook", "reaction__unhandled"),
    Case("facebook", "delivery__mids", arrange="outbound", outbound_status="delivered"),
    Case("facebook", "read__watermark", arrange="outbound", outbound_status="read"),
    # LINE
    Case("line", "text__basic", (("text", "Hello"),), customer={"reply_to": CUSTOMER["line"]}),
    Case("line", "text__redelivery", (("text", "Are you there?"),)),
    Case("line", "image__basic", (("image", ""),), {"message_id": "325709", "content_provider": "line"}),
    Case("line", "file__basic", (("file", ""),), {"file_name": "report.pdf", "file_size": 2138}),
    Case("line", "sticker__basic", (("sticker", ""),), {"packageId": "446", "stickerId": "1988"}),
    Case("line", "location__basic", (("location", ""),), {"title": "my location", "latitude": 35.67966}),
    Case("line", "postback__basic", (("postback", "action=buy&itemid=111"),)),
    Case("line", "edited__basic", (("edited", "Hello (edited)"),)),
    Case("line", "batched__three_events", (("text", "one"), ("text", "two"), ("text", "three"))),
    Case("line", "follow__unblocked", arrange="unreachable", unreachable=False),
    Case("line", "unfollow__basic", arrange="open_chat", unreachable=True),
    Case("line", "verify__empty_events"),
    Case("line", "join__unhandled"),
    # Viber
    Case("viber", "text__basic", (("text", "Hello"),), customer=ANA_VIBER),
    Case("viber", "text__unicode", (("text", "Привет 👋"),)),
    Case("viber", "picture__basic", (("image", "look"),), {"url": "https://dl-media.viber.com/photo.jpg"}),
    Case("viber", "file__basic", (("file", ""),), {"file_name": "doc.pdf", "size": 20480}),
    Case("viber", "sticker__basic", (("sticker", ""),), {"sticker_id": "46105"}),
    Case("viber", "location__basic", (("location", ""),), {"latitude": 50.76891, "longitude": 6.11499}),
    Case("viber", "contact__basic", (("contact", ""),), {"name": "Bob", "phone_number": "+447700900123"}),
    Case("viber", "subscribed__basic", arrange="unreachable", unreachable=False, customer=ANA_VIBER),
    Case("viber", "conversation_started__basic", arrange="unreachable", unreachable=False),
    Case("viber", "unsubscribed__basic", arrange="open_chat", unreachable=True),
    Case("viber", "delivered__basic", arrange="outbound", outbound_status="delivered"),
    Case("viber", "seen__basic", arrange="outbound", outbound_status="read"),
    Case("viber", "failed__basic", arrange="outbound", outbound_status="failed"),
    Case("viber", "webhook__set_webhook"),
    # Vonage
    Case("nexmo", "text__sms", (("text", "Hello"),), customer={"reply_to": "447700900001"}),
    Case("nexmo", "image__mms", (("image", "look"),), {"url": "https://example.com/image.jpg"}),
    Case("nexmo", "location__whatsapp", (("location", ""),), {"latitude": 51.5}, customer={"display_name": "Ana Lee"}),
    Case("nexmo", "sticker__whatsapp", (("sticker", ""),), {"url": "https://example.com/sticker.webp"}),
    Case("nexmo", "reply__whatsapp", (("postback", "Yes please"),), {"id": "row1"}),
    Case("nexmo", "status__submitted", arrange="outbound", outbound_status="sent"),
    Case("nexmo", "status__delivered", arrange="outbound", outbound_status="delivered"),
    Case("nexmo", "status__read", arrange="outbound", outbound_status="read"),
    Case("nexmo", "status__rejected", arrange="outbound", outbound_status="failed"),
]


def test_every_fixture_has_a_case():
    covered = {case.id for case in CASES}
    on_disk = {f"{messenger}/{name}" for messenger in MESSENGERS for name in fixture_names(messenger)}
    assert on_disk == covered


def _arrange(case: Case, account) -> Message | None:
    if not case.arrange:
        return None
    customer = Customer.objects.create(account=account, external_id=CUSTOMER[case.messenger])
    if case.arrange == "unreachable":
        customer.unreachable_at, customer.unreachable_reason = SENT_AT, "blocked earlier"
        customer.save()
        return None
    interaction = Interaction.objects.create(account=account, customer=customer)
    if case.arrange == "open_chat":
        return None
    status = Message.Status.SENDING if case.outbound_status == "sent" else Message.Status.SENT
    return Message.objects.create(
        interaction=interaction,
        account=account,
        customer=customer,
        direction=Message.Direction.OUTBOUND,
        sender=Message.Sender.BOT,
        text="Hi Ana",
        status=status,
        platform_message_id=OUR_MESSAGE[case.messenger],
        sent_at=SENT_AT,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_fixture_is_stored_once_however_often_it_is_delivered(case: Case):
    account = webhook_account(case.messenger)
    ours = _arrange(case, account)
    client = Client(enforce_csrf_checks=True)
    body = fixture_body(case.messenger, case.fixture)

    first = post_webhook(client, account, body)
    assert first.status_code == 200, first.content
    after_one = snapshot()
    for _ in range(2):
        assert post_webhook(client, account, body).status_code == 200
    assert snapshot() == after_one

    inbound = Message.objects.filter(direction="in", sender="customer").order_by("id")
    assert [(m.kind, m.text) for m in inbound] == list(case.messages)
    assert all(m.status == "received" and m.platform_event_id for m in inbound)
    if case.attachment:
        assert case.attachment.items() <= inbound[0].attachment.items()
    if case.messages:
        # Each customer's messages land in that customer's one open chat session.
        for message in inbound:
            assert message.interaction.customer_id == message.customer_id
            assert message.interaction.status == "open"
    if case.customer:
        customer = Customer.objects.get(account=account, external_id=CUSTOMER[case.messenger])
        assert {key: getattr(customer, key) for key in case.customer} == case.customer
    if ours is not None:
        ours.refresh_from_db()
        assert ours.status == case.outbound_status
        if case.outbound_status == "failed":
            assert ours.error_text
    if case.unreachable is not None:
        customer = Customer.objects.get(account=account, external_id=CUSTOMER[case.messenger])
        assert (customer.unreachable_at is not None) is case.unreachable
    if case.arrange == "open_chat":
        chat = Interaction.objects.get(customer__external_id=CUSTOMER[case.messenger])
        assert chat.status == "closed" and chat.closed_reason == "customer_unfollowed"
        assert chat.messages.filter(sender="system").count() == 1


def test_ignored_fixtures_store_nothing_and_are_logged_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="integrations.webhooks")
    ignored = [case for case in CASES if not (case.messages or case.arrange)]
    assert len(ignored) >= 6
    client = Client(enforce_csrf_checks=True)
    for case in ignored:
        account = webhook_account(case.messenger)
        assert post_webhook(client, account, fixture_body(case.messenger, case.fixture)).status_code == 200
    assert stored_counts() == {"messages": 0, "customers": 0, "interactions": 0, "events": 0}
    not_handled = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and "not handled" in r.msg]
    for description in ("update 912345690 of type poll", "echo of our own message", "messaging item of type reaction"):
        assert any(description in line for line in not_handled), description
    for description in ("join event", "webhook event"):
        assert any(description in line for line in not_handled), description
