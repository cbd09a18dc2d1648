"""The inbox processor's batching: one savepoint per batch with a row-by-row fallback, one
dispatch task per transaction's chat events, coalesced wake-ups, and retention."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from contactcenter import scheduling
from conversations import events
from conversations.models import ChatEvent, Message
from integrations import ingest
from integrations.models import InboxEvent
from integrations.providers.base import WebhookRequest
from integrations.providers.telegram import parse
from integrations.wakeup import CoalescedWake
from tests.integrations.webhook_support import webhook_account


def take_in_text(account, update_id: int, customer: int, text: str) -> None:
    update = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "text": text,
            "from": {"id": customer, "is_bot": False, "first_name": "Ann"},
            "chat": {"id": customer, "type": "private"},
        },
    }
    request = WebhookRequest(method="POST", body=json.dumps(update).encode(), headers={}, query={})
    ingest.take_in(account=account, events=parse(account, request).events)


@pytest.fixture
def no_wake(monkeypatch):
    monkeypatch.setattr(ingest, "wake", lambda: None)  # the test runs the processor itself


@pytest.mark.django_db(transaction=True)
def test_a_failing_row_holds_only_its_customer_and_the_rest_of_the_batch_is_stored_once(require_postgres, no_wake):
    """The batch's one savepoint is rolled back by the bad row; the batch goes again row by row:
    every good row is stored exactly once, the bad customer's later row waits behind it."""
    account = webhook_account("telegram")
    texts = [(1, 201, "a1"), (2, 202, "b1"), (3, 201, "boom"), (4, 202, "b2"), (5, 201, "a3")]
    for update_id, customer, text in texts:
        take_in_text(account, update_id, customer, text)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION boom_fail() RETURNS trigger AS $$ BEGIN IF NEW.text = 'boom' THEN "
            "RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER boom_fail BEFORE INSERT ON conversations_message FOR EACH ROW EXECUTE FUNCTION boom_fail()"
        )
    try:
        assert ingest.process_pending() == 3
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER boom_fail ON conversations_message")
            cursor.execute("DROP FUNCTION boom_fail()")
    assert list(Message.objects.order_by("id").values_list("text", flat=True)) == ["a1", "b1", "b2"]
    failed = InboxEvent.objects.get(event_id="3")
    assert failed.processed_at is None and failed.attempts == 1 and "boom refused" in failed.last_error
    assert InboxEvent.objects.get(event_id="5").processed_at is None  # waits for "boom"
    InboxEvent.objects.update(next_attempt_at=timezone.now())
    assert ingest.process_pending() == 2
    assert list(Message.objects.filter(customer__external_id="201").order_by("id").values_list("text", flat=True)) == [
        "a1",
        "boom",
        "a3",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_transactions_chat_events_go_out_in_one_task_in_order(require_postgres, monkeypatch):
    calls = []
    monkeypatch.setattr(scheduling, "run", lambda name, *args, **kw: calls.append((name, args)))
    monkeypatch.setattr(events, "wanted", lambda kind: True)
    with transaction.atomic():
        first = events.record(interaction_id=None, kind=events.Kind.AGENT_FOUND)
        try:
            with transaction.atomic():
                events.record(interaction_id=None, kind=events.Kind.NO_AGENTS)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        last = events.record(interaction_id=None, kind=events.Kind.CHAT_ENDED)
        assert calls == []  # nothing before the commit
    [(name, (ids,))] = calls  # one task for the transaction
    assert name == events.DISPATCH_TASK and ids[0] == first.pk and ids[-1] == last.pk
    # The rolled-back event's id rode along under the open batch; its row is gone, so its
    # dispatch finds nothing to do.
    assert list(ChatEvent.objects.order_by("id").values_list("pk", flat=True)) == [first.pk, last.pk]
    assert events.dispatch_many(ids[1:-1]) == 0


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_savepoint_rolled_back_is_not_dispatched(require_postgres, monkeypatch):
    calls = []
    monkeypatch.setattr(scheduling, "run", lambda name, *args, **kw: calls.append(args[0]))
    monkeypatch.setattr(events, "wanted", lambda kind: True)
    with transaction.atomic():
        try:
            with transaction.atomic():
                events.record(interaction_id=None, kind=events.Kind.AGENT_FOUND)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        kept = events.record(interaction_id=None, kind=events.Kind.NO_AGENTS)
    assert calls == [[kept.pk]]


@pytest.mark.django_db(transaction=True)
def test_many_events_are_split_into_chunks_and_each_is_dispatched(require_postgres, monkeypatch):
    seen = []
    monkeypatch.setattr(events, "_listeners", [(lambda event: seen.append(event.pk), frozenset({"no_agents"}))])
    with transaction.atomic():
        recorded = [events.record(interaction_id=None, kind=events.Kind.NO_AGENTS).pk for _ in range(120)]
    assert seen == recorded  # eager: three tasks of at most 50, in order
    assert not ChatEvent.objects.filter(dispatched_at__isnull=True).exists()


def _wait_for(calls: list, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(calls) < count and time.monotonic() < deadline:
        time.sleep(0.005)


def test_wake_ups_in_one_window_make_one_call_at_once_and_one_trailing_call():
    calls = []
    caller = []
    wake = CoalescedWake(
        lambda: (calls.append(time.monotonic()), caller.append(threading.get_ident())), window=0.2, name="test-waker"
    )
    started = time.monotonic()
    wake()
    _wait_for(calls, 1)
    assert len(calls) == 1 and calls[0] - started < 0.15  # the first without waiting for the window
    for _ in range(50):
        wake()  # within the window: they share one trailing wake-up
    _wait_for(calls, 2)
    time.sleep(0.3)  # no third call comes
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.19
    assert threading.get_ident() not in caller  # never on the caller's (the request's) thread
    wake()  # a window later: at once again
    _wait_for(calls, 3)
    assert len(calls) == 3 and calls[2] - calls[1] < 0.5


def test_wake_ups_from_many_threads_are_never_all_dropped():
    calls = []
    lock = threading.Lock()

    def record():
        with lock:
            calls.append(time.monotonic())

    wake = CoalescedWake(record, window=0.05, name="test-waker")
    threads = [threading.Thread(target=lambda: [wake() for _ in range(20)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last_call = time.monotonic()
    deadline = time.monotonic() + 5
    while (not calls or calls[-1] < last_call) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls and calls[-1] >= last_call  # a wake-up after the last call, whatever the timing


@pytest.mark.django_db
def test_processed_rows_past_retention_are_pruned_and_the_rest_kept(settings, no_wake):
    settings.INBOX_RETENTION_DAYS = 7
    account = webhook_account("telegram")
    for update_id in range(1, 5):
        take_in_text(account, update_id, 300 + update_id, f"t{update_id}")
    old = timezone.now() - dt.timedelta(days=8)
    InboxEvent.objects.filter(event_id__in=["1", "2", "3"]).update(received_at=old)
    InboxEvent.objects.filter(event_id="1").update(processed_at=old)  # done long ago: pruned
    InboxEvent.objects.filter(event_id="2").update(processed_at=old, attempts=ingest.MAX_ATTEMPTS)  # given up: kept
    # "3" is old but not processed yet, "4" is recent: both kept
    assert ingest.prune() == 1
    assert sorted(InboxEvent.objects.values_list("event_id", flat=True)) == ["2", "3", "4"]


@pytest.mark.django_db(transaction=True)
def test_a_chat_closed_while_the_batch_ran_gets_no_message_a_new_chat_does(require_postgres, no_wake, monkeypatch):
    """The batch loads the open chats once; one closed by someone else before the batch ends
    (the scenario's Exit, an agent) must not take the customer's new message."""
    from conversations.models import Interaction

    account = webhook_account("telegram")
    take_in_text(account, 1, 401, "first")
    assert ingest.process_pending() == 1
    first_chat = Interaction.objects.get()
    take_in_text(account, 2, 401, "second")
    load = ingest._open_interactions

    def close_elsewhere():
        try:
            Interaction.objects.filter(pk=first_chat.pk).update(status=Interaction.Status.CLOSED)
        finally:
            connections.close_all()

    def load_then_close_elsewhere(customers):
        found = load(customers)
        worker = threading.Thread(target=close_elsewhere)  # its own connection: committed at once
        worker.start()
        worker.join()
        return found

    monkeypatch.setattr(ingest, "_open_interactions", load_then_close_elsewhere)
    assert ingest.process_pending() == 1
    second = Message.objects.get(text="second")
    assert second.interaction_id != first_chat.pk and second.interaction.status == Interaction.Status.OPEN
    assert list(first_chat.messages.values_list("text", flat=True)) == ["first"]
