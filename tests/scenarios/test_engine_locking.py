"""The engine under concurrency, on real PostgreSQL row locks: no block runs twice."""

import threading

import pytest
from django.db import connections

from conversations.models import Message
from scenarios import engine
from scenarios.models import ScenarioRun, ScenarioTimer
from tests.scenarios.conftest import make_entry, make_interaction

pytestmark = pytest.mark.usefixtures("require_postgres")

FLOW = [
    ("count", "set_variable", {"variable": "starts", "value": "=$(starts)+1"}, {"next": "pause"}),
    ("pause", "wait", {"seconds": 3600}, {"next": "after"}),
    ("after", "set_variable", {"variable": "resumes", "value": "=$(resumes)+1"}, {"next": "ask"}),
    ("ask", "request_input", {"variable": "answer"}, {"next": "end"}),
    ("end", "exit", {}, {}),
]


def in_parallel(*calls, copies: int = 1):
    """Run the calls in threads released together; re-raise the first error."""
    barrier = threading.Barrier(len(calls) * copies)
    errors = []

    def worker(call):
        try:
            barrier.wait()
            call()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def inbound(interaction, text):
    return Message.objects.create(
        interaction=interaction,
        account=interaction.account,
        customer=interaction.customer,
        direction=Message.Direction.INBOUND,
        sender=Message.Sender.CUSTOMER,
        text=text,
        status=Message.Status.RECEIVED,
    )


def test_the_same_first_message_delivered_four_times_at_once_starts_one_run(transactional_db):
    interaction = make_interaction(make_entry(FLOW))
    message = inbound(interaction, "hi")
    deliver = lambda: engine.handle_event(  # noqa: E731
        interaction_id=interaction.pk, event="customer_message", data={"message_id": message.pk}
    )
    in_parallel(deliver, copies=4)
    run = ScenarioRun.objects.get(interaction=interaction)
    assert run.variables["starts"] == "1"
    assert run.current_block == "pause"
    assert ScenarioTimer.objects.filter(run=run).count() == 1


def test_a_timer_delivered_twice_at_once_resumes_once(transactional_db):
    interaction = make_interaction(make_entry(FLOW))
    message = inbound(interaction, "hi")
    engine.handle_event(interaction_id=interaction.pk, event="customer_message", data={"message_id": message.pk})
    timer = ScenarioTimer.objects.get(run__interaction=interaction)
    deliver = lambda: engine.handle_event(  # noqa: E731
        interaction_id=interaction.pk, event="timer", data={"timer_id": timer.pk}
    )
    in_parallel(deliver, copies=3)
    run = ScenarioRun.objects.get(interaction=interaction)
    assert run.variables["resumes"] == "1"
    assert run.current_block == "ask"


def test_two_different_messages_at_once_are_taken_in_turn(transactional_db):
    interaction = make_interaction(
        make_entry(
            [
                ("ask1", "request_input", {"variable": "a"}, {"next": "ask2"}),
                ("ask2", "request_input", {"variable": "b"}, {"next": "ask3"}),
                ("ask3", "request_input", {"variable": "c"}, {"next": "end"}),
                ("end", "exit", {}, {}),
            ]
        )
    )
    engine.handle_event(
        interaction_id=interaction.pk, event="customer_message", data={"message_id": inbound(interaction, "go").pk}
    )
    first, second = inbound(interaction, "one"), inbound(interaction, "two")
    in_parallel(
        lambda: engine.handle_event(
            interaction_id=interaction.pk, event="customer_message", data={"message_id": first.pk}
        ),
        lambda: engine.handle_event(
            interaction_id=interaction.pk, event="customer_message", data={"message_id": second.pk}
        ),
    )
    run = ScenarioRun.objects.get(interaction=interaction)
    # Whichever event got the lock first took both messages, in the order they arrived.
    assert (run.variables["a"], run.variables["b"]) == ("one", "two")
    assert run.current_block == "ask3" and run.last_message_id == second.pk
