"""What ingest does around the rows: the scenario hand-off and desktop hints after commit,
receipts that never go backwards, customers who leave and come back, and a database that
fails in the middle of a delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from conversations import services
from conversations.models import Customer, Interaction, Message, PendingReceipt
from conversations.realtime import interaction_group
from integrations import ingest
from integrations.models import InboxEvent
from scenarios.models import ScenarioRun
from tests.integrations.webhook_support import fixture_body, json_body, post_webhook, webhook_account
from tests.scenarios.conftest import make_entry

pytestmark = pytest.mark.django_db
WAIT_A_WHILE = [("hold", "wait", {"seconds": 600}, {})]


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


def telegram_update(update_id: int, **message) -> bytes:
    sender = {"id": 555, "first_name": "Ana", "last_name": "Lee", "username": "analee", "language_code": "en"}
    body = {"message_id": update_id, "date": 1700000000, "from": sender, "chat": {"id": 555, "type": "private"}}
    return json_body({"update_id": update_id, "message": {**body, **message}})


def test_a_new_customer_message_is_handed_to_the_scenario_engine_after_commit(
    client, django_capture_on_commit_callbacks
):
    account = webhook_account("telegram")
    make_entry(WAIT_A_WHILE, account=account)

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, account, telegram_update(10, text="I need help")).status_code == 200

    message = Message.objects.get(direction="in")
    run = ScenarioRun.objects.get(interaction=message.interaction)
    assert run.last_message_id == message.pk
    assert run.variables["item.message"] == "I need help"
    assert run.variables["item.firstName"] == "Ana"


def test_nothing_reaches_the_engine_before_the_transaction_commits(client, django_capture_on_commit_callbacks):
    account = webhook_account("telegram")
    make_entry(WAIT_A_WHILE, account=account)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post_webhook(client, account, telegram_update(11, text="hi"), commit=False).status_code == 200
    assert callbacks  # the processor is woken by the commit
    assert InboxEvent.objects.filter(processed_at__isnull=True).count() == 1  # acknowledged, durable
    assert not Message.objects.exists() and not ScenarioRun.objects.exists()


def test_a_customer_who_unfollows_ends_the_chat_and_a_new_one_starts_when_they_return(
    client, django_capture_on_commit_callbacks
):
    account = webhook_account("line")
    make_entry(WAIT_A_WHILE, account=account)
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, account, fixture_body("line", "text__basic"))
    first_chat = Interaction.objects.get()
    assert ScenarioRun.objects.get(interaction=first_chat).state == ScenarioRun.State.WAITING

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, account, fixture_body("line", "unfollow__basic")).status_code == 200
    first_chat.refresh_from_db()
    customer = Customer.objects.get()
    assert first_chat.status == "closed" and customer.unreachable_at is not None
    assert "unfollow" in customer.unreachable_reason
    assert ScenarioRun.objects.get(interaction=first_chat).state == ScenarioRun.State.FINISHED

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, account, fixture_body("line", "follow__unblocked"))
        post_webhook(client, account, fixture_body("line", "batched__three_events"))
    customer.refresh_from_db()
    assert customer.unreachable_at is None
    second_chat = Interaction.objects.get(status="open", customer=customer)
    assert second_chat.pk != first_chat.pk
    assert list(second_chat.messages.values_list("text", flat=True)) == ["one", "two"]


def _outbound(account, platform_message_id: str, status: str) -> Message:
    customer = Customer.objects.create(account=account, external_id="447700900001")
    interaction = Interaction.objects.create(account=account, customer=customer)
    return Message.objects.create(
        interaction=interaction,
        account=account,
        customer=customer,
        direction="out",
        sender="agent",
        text="Hi",
        status=status,
        platform_message_id=platform_message_id,
    )


def test_receipts_only_move_a_message_forward(client):
    account = webhook_account("nexmo")
    ours = _outbound(account, "d8f86df1-dec6-442f-870a-2241be27d721", "sent")
    for fixture, expected in [
        ("status__read", "read"),
        ("status__delivered", "read"),  # a late delivery receipt does not undo the read
        ("status__submitted", "read"),
        ("status__rejected", "read"),  # nor does a late failure
    ]:
        assert post_webhook(client, account, fixture_body("nexmo", fixture)).status_code == 200
        ours.refresh_from_db()
        assert ours.status == expected, fixture
    assert ours.read_at is not None and ours.delivered_at is not None and ours.error_text == ""


def test_a_failure_before_delivery_is_recorded_with_the_platform_reason(client):
    account = webhook_account("nexmo")
    ours = _outbound(account, "d8f86df1-dec6-442f-870a-2241be27d721", "sent")
    assert post_webhook(client, account, fixture_body("nexmo", "status__rejected")).status_code == 200
    ours.refresh_from_db()
    assert ours.status == "failed" and "Invalid recipient number" in ours.error_text
    assert post_webhook(client, account, fixture_body("nexmo", "status__delivered")).status_code == 200
    ours.refresh_from_db()
    assert ours.status == "failed"


def test_a_receipt_for_an_unknown_id_is_held_and_applied_when_the_sender_records_the_id(client):
    """Vonage may say "submitted"/"delivered" before our send call returned the message uuid."""
    account = webhook_account("nexmo")
    for fixture in ("status__delivered", "status__submitted"):
        assert post_webhook(client, account, fixture_body("nexmo", fixture)).status_code == 200
    assert not Message.objects.exists() and not Customer.objects.exists()
    assert sorted(PendingReceipt.objects.values_list("status", flat=True)) == ["delivered", "sent"]

    ours = _outbound(account, "", "sending")
    with transaction.atomic():  # what the sender does when the send call returns
        ours = Message.objects.select_for_update().get(pk=ours.pk)
        ours.status, ours.platform_message_id = "sent", "d8f86df1-dec6-442f-870a-2241be27d721"
        ours.save()
        assert services.apply_pending_receipts(message=ours) is True
    ours.refresh_from_db()
    assert ours.status == "delivered" and ours.delivered_at is not None
    assert not PendingReceipt.objects.exists()
    assert services.apply_pending_receipts(message=ours) is False


def test_facebook_entries_for_another_page_are_not_taken(client):
    account = webhook_account("facebook", page_id="999")
    assert post_webhook(client, account, fixture_body("facebook", "text__basic")).status_code == 200
    assert not Message.objects.exists()


def test_later_messages_refresh_the_profile_but_blanks_do_not_erase_it(client):
    account = webhook_account("telegram")
    post_webhook(client, account, telegram_update(20, text="one"))
    renamed = json.loads(telegram_update(21, text="two"))
    renamed["message"]["from"] = {"id": 555, "first_name": "Anna"}  # no last name, no username
    post_webhook(client, account, json_body(renamed))
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.username) == ("Anna", "Lee", "analee")
    assert customer.last_inbound_at is not None


@pytest.mark.parametrize(
    ("message", "status", "stored_text"),
    [
        ({"text": "a\u0000b"}, 200, "ab"),  # PostgreSQL text cannot hold NUL
        ({"text": "x", "date": 10**300}, 200, "x"),  # an impossible date is dropped, not fatal
        ({"text": "x" * 70000}, 200, "x" * 70000),
        ({"location": {"latitude": float("nan"), "longitude": 1.0}}, 400, None),
    ],
    ids=["nul", "huge date", "long text", "nan"],
)
def test_hostile_values_are_cleaned_or_refused_never_a_server_error(client, message, status, stored_text):
    account = webhook_account("telegram")
    body = telegram_update(30, **message)
    assert post_webhook(client, account, body).status_code == status
    assert list(Message.objects.values_list("text", flat=True)) == ([stored_text] if stored_text else [])


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_at_the_ack_answers_503_stores_nothing_and_the_retry_succeeds(require_postgres):
    """A real error raised by PostgreSQL while the inbox row is written (a trigger)."""
    account = webhook_account("viber")
    body = fixture_body("viber", "text__basic")
    with failing_inserts("integrations_inboxevent"):
        assert post_webhook(Client(), account, body).status_code == 503
        assert not InboxEvent.objects.exists() and not Customer.objects.exists()
    assert post_webhook(Client(), account, body).status_code == 200  # the platform's retry
    assert Message.objects.filter(account=account).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_ack_loses_nothing_the_processor_retries(require_postgres):
    """Acknowledged, then processing fails (the message insert raises): the inbox row stays
    unprocessed with its error, and a later run of the processor stores the message once."""
    account = webhook_account("viber")
    body = fixture_body("viber", "text__basic")
    with failing_inserts("conversations_message"):
        assert post_webhook(Client(), account, body).status_code == 200  # durable: in the inbox
        row = InboxEvent.objects.get(account=account)
        assert row.processed_at is None and row.attempts == 1 and "disk full" in row.last_error
        assert not Message.objects.exists()
    assert ingest.process_pending() == 0  # backing off: not due yet
    InboxEvent.objects.update(next_attempt_at=timezone.now())
    assert ingest.process_pending() == 1  # as beat's sweeper runs it
    assert Message.objects.filter(account=account).count() == 1
    assert post_webhook(Client(), account, body).status_code == 200  # a replay changes nothing
    assert Message.objects.filter(account=account).count() == 1


@contextlib.contextmanager
def failing_inserts(table: str):
    """Every INSERT into `table` raises in PostgreSQL, as a full disk would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION hooks_test_fail() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'disk full' USING ERRCODE = '53100'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER hooks_test_fail BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION hooks_test_fail()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER hooks_test_fail ON {table}")
            cursor.execute("DROP FUNCTION hooks_test_fail()")


@pytest.mark.django_db(transaction=True)
def test_the_desktop_gets_a_hint_for_new_messages_and_receipts(redis_url):
    account = webhook_account("viber")
    customer = Customer.objects.create(account=account, external_id="01234567890A=")
    chat = Interaction.objects.create(account=account, customer=customer)
    ours = Message.objects.create(
        interaction=chat,
        account=account,
        customer=customer,
        direction="out",
        sender="agent",
        text="Hi",
        status="sent",
        platform_message_id="5741311803571721087",
    )
    layer = get_channel_layer()

    def deliver(fixture: str) -> int:
        try:
            return post_webhook(Client(), account, fixture_body("viber", fixture)).status_code
        finally:
            connection.close()  # this helper thread's connection

    async def listen() -> list[dict]:
        channel = await layer.new_channel()
        await layer.group_add(interaction_group(chat.pk), channel)
        for fixture in ("text__basic", "delivered__basic"):
            assert await sync_to_async(deliver, thread_sensitive=False)(fixture) == 200
        hints = [await asyncio.wait_for(layer.receive(channel), 10) for _ in range(2)]
        await layer.group_discard(interaction_group(chat.pk), channel)
        return hints

    # A loop of its own in a thread of its own: a browser test may hold an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hints = pool.submit(asyncio.run, listen()).result(timeout=60)
    inbound = Message.objects.get(direction="in")
    assert {(hint["message_id"], hint["status"]) for hint in hints} == {
        (inbound.pk, "received"),
        (ours.pk, "delivered"),
    }
    assert all(hint["type"] == "message.changed" and hint["interaction_id"] == chat.pk for hint in hints)


@pytest.mark.django_db(transaction=True)
def test_the_ack_in_autocommit_stores_each_event_once_and_wakes_the_processor(require_postgres, monkeypatch):
    """The webhook path's one-statement INSERT (no BEGIN/COMMIT): replays and a batch with a
    repeated id store once, the row is committed when take_in returns, and the processor is
    woken then."""
    woken = []
    monkeypatch.setattr(ingest, "wake", lambda: woken.append(connection.in_atomic_block))
    account = webhook_account("telegram")
    assert post_webhook(Client(), account, telegram_update(9001, text="one")).status_code == 200
    assert post_webhook(Client(), account, telegram_update(9001, text="one")).status_code == 200  # a replay
    assert post_webhook(Client(), account, telegram_update(9002, text="two")).status_code == 200
    rows = list(InboxEvent.objects.filter(account=account).order_by("id"))
    assert [r.event_id for r in rows] == ["9001", "9002"]
    assert rows[0].kind and rows[0].customer_key == "555" and rows[0].event["text"] == "one"
    assert rows[0].processed_at is None and rows[0].attempts == 0 and rows[0].last_error == ""
    assert woken == [False, False, False]  # after the statement, outside any transaction
    assert ingest.process_pending() == 2
    assert list(Message.objects.filter(account=account).order_by("id").values_list("text", flat=True)) == ["one", "two"]


@pytest.mark.django_db(transaction=True)
def test_one_customers_messages_are_processed_in_arrival_order_under_two_processors(require_postgres, monkeypatch):
    """Two processors drain one inbox at once (SKIP LOCKED splits the rows): each customer's
    messages are still stored in the order their events arrived."""
    from django.db import connections

    from integrations.providers.base import WebhookRequest
    from integrations.providers.telegram import parse

    account = webhook_account("telegram")
    monkeypatch.setattr(ingest, "wake", lambda: None)  # nobody processes until both start
    monkeypatch.setattr(ingest, "_spread", lambda: None)  # exactly the two processors below
    for n in range(60):  # three customers, interleaved
        customer = 100 + n % 3
        body = json.loads(telegram_update(5000 + n, text=f"{customer}:{n:02d}"))
        body["message"]["from"]["id"] = body["message"]["chat"]["id"] = customer
        request = WebhookRequest(method="POST", body=json.dumps(body).encode(), headers={}, query={})
        ingest.take_in(account=account, events=parse(account, request).events)

    def drain():
        try:
            return ingest.process_pending(batch_size=7)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = sum(pool.map(lambda _: drain(), range(2)))
    assert done + ingest.process_pending() == 60  # the second pass takes what a skip left
    for customer in (100, 101, 102):
        texts = list(
            Message.objects.filter(customer__external_id=str(customer), direction="in")
            .order_by("id")
            .values_list("text", flat=True)
        )
        assert len(texts) == 20 and texts == sorted(texts), texts
    assert not InboxEvent.objects.filter(processed_at__isnull=True).exists()
