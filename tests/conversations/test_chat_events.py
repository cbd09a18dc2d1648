"""Chat events: recorded in the changing transaction, dispatched after it, swept when lost.

These run on the suite's database (PostgreSQL in `make test`); `test_on_sqlite_too` runs
this module again on SQLite in a child pytest, the embedded default's database.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from contactcenter import embedded, scheduling
from conversations import events
from conversations.models import ChatEvent, Message
from conversations.tasks import sweep_chat_events
from scenarios import engine
from scenarios.models import HandledChatEvent
from tests.scenarios.conftest import bot_texts, make_entry, make_interaction, run_of

GREETING = [
    ("hello", "send_message", {"message": "Hello $(item.firstName)!"}, {"next": "ask"}),
    ("ask", "request_input", {"variable": "answer", "message": "What can we do?"}, {"next": "thanks"}),
    ("thanks", "send_message", {"message": "Thanks: $(answer)"}, {"next": "end"}),
    ("end", "exit", {}, {}),
]


def customer_message(interaction, text: str) -> Message:
    """What ingest does: store the message and record its chat event, in one transaction."""
    from django.db import transaction

    with transaction.atomic():
        message = Message.objects.create(
            interaction=interaction,
            account=interaction.account,
            customer=interaction.customer,
            direction=Message.Direction.INBOUND,
            sender=Message.Sender.CUSTOMER,
            text=text,
            status=Message.Status.RECEIVED,
        )
        events.record(interaction_id=interaction.pk, kind=events.Kind.CUSTOMER_MESSAGE, data={"message_id": message.pk})
    return message


def due_later():
    """The clock as the sweeper sees it once an event's grace period has passed."""
    return timezone.now() + dt.timedelta(seconds=60)


@pytest.fixture
def broker_down(monkeypatch):
    """Every attempt to run a task fails, as with Redis gone: the commit itself succeeds."""

    def refuse(name, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(scheduling, "run", refuse)


@pytest.mark.django_db(transaction=True)
def test_a_lost_dispatch_is_delivered_by_the_sweeper_and_runs_the_scenario(broker_down, monkeypatch):
    interaction = make_interaction(make_entry(GREETING), first_name="Ann")
    customer_message(interaction, "hi")

    event = ChatEvent.objects.get(interaction=interaction)
    assert event.dispatched_at is None  # the commit happened; its dispatch was lost
    assert bot_texts(interaction) == []  # and the scenario never heard of it

    monkeypatch.undo()  # the broker is back
    assert events.sweep(now=timezone.now()) == 0  # still inside the grace period: maybe just slow
    assert events.sweep(now=due_later()) == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert bot_texts(interaction) == ["Hello Ann!", "What can we do?"]


@pytest.mark.django_db(transaction=True)
def test_a_listener_that_raises_leaves_the_event_for_the_sweeper(monkeypatch):
    interaction = make_interaction(make_entry(GREETING), first_name="Bo")
    real = engine.on_chat_event
    calls = []

    def failing_once(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        real(event)

    monkeypatch.setattr(events, "_listeners", [(failing_once, engine.CHAT_EVENTS)])
    customer_message(interaction, "hi")  # dispatched after commit: the listener raises

    event = ChatEvent.objects.get(interaction=interaction)
    assert event.dispatched_at is None and event.attempts == 1
    assert "database went away" in event.last_error
    assert event.next_attempt_at > timezone.now()  # backed off
    assert bot_texts(interaction) == []

    assert sweep_chat_events.apply().result == 0  # not due yet
    assert events.sweep(now=due_later()) == 1
    assert bot_texts(interaction) == ["Hello Bo!", "What can we do?"]


@pytest.mark.django_db(transaction=True)
def test_the_same_event_dispatched_twice_runs_the_scenario_once():
    interaction = make_interaction(make_entry(GREETING), first_name="Cy")
    customer_message(interaction, "hi")
    event = ChatEvent.objects.get(interaction=interaction)
    assert event.dispatched_at is not None
    assert bot_texts(interaction) == ["Hello Cy!", "What can we do?"]

    # The dispatcher crashed after the engine committed but before it marked the event:
    ChatEvent.objects.filter(pk=event.pk).update(dispatched_at=None)
    assert events.sweep(now=due_later()) == 1  # dispatched again ...
    engine.on_chat_event(event)  # ... and handed over once more by hand
    assert bot_texts(interaction) == ["Hello Cy!", "What can we do?"]  # ... and nothing ran twice
    assert HandledChatEvent.objects.filter(event=event).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatches_of_one_event_run_it_once(require_postgres):
    interaction = make_interaction(make_entry(GREETING), first_name="Di")
    with pytest.MonkeyPatch.context() as patch:
        # Recorded, but its dispatch reaches nobody: the engine gets it by hand below.
        patch.setattr(events, "_listeners", [(lambda event: None, engine.CHAT_EVENTS)])
        customer_message(interaction, "hi")
    event = ChatEvent.objects.get(interaction=interaction)
    barrier = threading.Barrier(4)

    def hand_over():
        try:
            barrier.wait()
            engine.on_chat_event(event)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hand_over) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bot_texts(interaction) == ["Hello Di!", "What can we do?"]
    assert run_of(interaction).current_block == "ask"


def test_a_kind_nobody_listens_to_is_not_written(db):
    interaction = make_interaction(make_entry(GREETING))
    assert events.record(interaction_id=interaction.pk, kind=events.Kind.MESSAGE_STATUS_CHANGED) is None
    assert not ChatEvent.objects.exists()


def test_an_unknown_kind_fails_loudly(db):
    interaction = make_interaction(make_entry(GREETING))
    with pytest.raises(ValueError):
        events.record(interaction_id=interaction.pk, kind="customer_mesage")
    with pytest.raises(ValueError):
        engine.handle_event(interaction_id=interaction.pk, event="agent_fnd", data={})
    assert not ChatEvent.objects.exists()


def test_a_wrong_task_name_fails_at_once(db):
    with pytest.raises(LookupError):
        scheduling.on_commit("conversations.tasks.no_such_task", 1)


@pytest.mark.django_db(transaction=True)
def test_the_embedded_beat_sweeps_with_no_worker_and_no_beat(broker_down, monkeypatch, settings):
    """The embedded default: tasks run in-process, and the server's own beat thread repairs."""
    interaction = make_interaction(make_entry(GREETING), first_name="Ed")
    customer_message(interaction, "hi")
    assert bot_texts(interaction) == []
    monkeypatch.undo()

    settings.CHAT_EVENT_GRACE = 0.2
    ChatEvent.objects.update(next_attempt_at=timezone.now())  # its grace is over
    beat = embedded.InProcessBeat({"chat events": {"task": "conversations.tasks.sweep_chat_events", "schedule": 0.2}})
    beat.start()
    try:
        deadline = time.monotonic() + 15
        while bot_texts(interaction) == [] and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        beat.stop()
    assert bot_texts(interaction) == ["Hello Ed!", "What can we do?"]
    message_event = ChatEvent.objects.get(interaction=interaction, kind=ChatEvent.Kind.CUSTOMER_MESSAGE)
    assert message_event.dispatched_at is not None


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CHAT_EVENTS_CHILD") == "1", reason="the child run itself")
def test_on_sqlite_too(db, tmp_path):
    """The same module on SQLite, the embedded default's database (a child pytest)."""
    if connection.vendor == "sqlite":
        pytest.skip("this run is on SQLite already")
    # CI=false: the PostgreSQL-only tests of the module skip in the SQLite child, not fail.
    env = dict(os.environ, CHAT_EVENTS_CHILD="1", TEST_DATABASE_NAME=str(tmp_path / "events.sqlite3"), CI="false")
    env.pop("DATABASE_URL", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(  # noqa: S603 - our own test module
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.django_db(transaction=True)
def test_a_chats_events_reach_the_listener_in_order_when_an_earlier_dispatch_was_lost(monkeypatch):
    """Seen under `make chaos` (Redis restarted): an offer_accepted whose dispatch was lost
    reached the engine after the chat_ended recorded later, and the chat stayed open forever."""
    interaction = make_interaction(make_entry(GREETING), first_name="Ed")
    seen = []
    monkeypatch.setattr(events, "_listeners", [(lambda event: seen.append(event.kind), frozenset(events.Kind))])
    with monkeypatch.context() as broker:
        broker.setattr(scheduling, "run", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("broker down")))
        accepted = events.record(interaction_id=interaction.pk, kind=events.Kind.OFFER_ACCEPTED)
    assert ChatEvent.objects.get(pk=accepted.pk).dispatched_at is None  # its dispatch was lost

    events.record(interaction_id=interaction.pk, kind=events.Kind.CHAT_ENDED)  # the broker is back

    assert seen == ["offer_accepted", "chat_ended"]
    assert not ChatEvent.objects.filter(interaction=interaction, dispatched_at__isnull=True).exists()
    assert events.sweep(now=due_later()) == 0  # nothing left, nothing twice
    assert seen == ["offer_accepted", "chat_ended"]
