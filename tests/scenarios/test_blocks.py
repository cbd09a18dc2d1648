"""Each block type run by the engine on a real database, driven through its events."""

import datetime as dt
from datetime import time

import pytest
from django.utils import timezone

from conversations.models import ChatEvent, Interaction
from scenarios import engine
from scenarios.models import Holiday, HoursOfOperation, ScenarioRun, ScenarioTimer, WeeklyHours
from tests.scenarios.conftest import bot_texts, customer_writes, fire_due_timers, run_of, stored_inbound

EXIT = ("end", "exit", {}, {})


def say(key, text, nxt="end", **exits):
    return (key, "send_message", {"message": text}, {"next": nxt, **exits} if nxt else exits)


# --- Send Message, Exit, Goto -----------------------------------------------------------


def test_send_message_fills_variables_and_exit_closes_the_chat(chat):
    interaction = chat([say("hi", "Hello $(item.firstName) on $(item.messenger): $(item.message)"), EXIT])
    customer_writes(interaction, "hi there")
    assert bot_texts(interaction) == ["Hello Ann on telegram: hi there"]
    run = run_of(interaction)
    assert run.state == ScenarioRun.State.FINISHED
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.CLOSED
    assert interaction.closed_reason == "scenario_exit"


def test_send_message_takes_send_error_when_the_customer_is_unreachable(chat):
    interaction = chat(
        [
            say("hi", "Hello", "end", **{"Send error": "note"}),
            ("note", "set_variable", {"variable": "failed", "value": "yes"}, {"next": "end"}),
            EXIT,
        ],
        customer={"unreachable_at": timezone.now(), "unreachable_reason": "blocked"},
    )
    customer_writes(interaction, "hi")
    run = run_of(interaction)
    assert bot_texts(interaction) == []
    assert run.variables["failed"] == "yes"
    assert "blocked" in run.variables["sendMessageError"]


def test_an_account_on_no_scenario_entry_tells_the_customer_and_closes_the_chat(chat, settings):
    interaction = chat([("end", "exit", {}, {})])
    interaction.account.assignment.delete()  # the account is on no entry any more
    settings.UNROUTED_CHAT_ACTION = "close"  # the default outside tests
    settings.UNROUTED_CHAT_MESSAGE = "Nobody staffs this channel yet."
    customer_writes(interaction, "hello?")
    interaction.refresh_from_db()
    assert bot_texts(interaction) == ["Nobody staffs this channel yet."]  # not left in silence
    assert interaction.status == Interaction.Status.CLOSED and interaction.closed_reason == "no_scenario_entry"
    assert not ScenarioRun.objects.filter(interaction=interaction).exists()


def test_running_out_of_blocks_ends_like_exit(chat):
    interaction = chat([("hi", "send_message", {"message": "only"}, {})])
    customer_writes(interaction, "x")
    assert run_of(interaction).state == ScenarioRun.State.FINISHED
    interaction.refresh_from_db()
    assert interaction.closed_reason == "scenario_end"


def test_goto_loop_without_waiting_is_stopped_and_the_customer_told(chat):
    interaction = chat(
        [
            ("count", "set_variable", {"variable": "n", "value": "=$(n)+1"}, {"next": "again"}),
            ("again", "goto", {}, {"next": "count"}),
        ],
        error_message="Sorry, we hit a problem.",
    )
    customer_writes(interaction, "x")
    run = run_of(interaction)
    assert run.state == ScenarioRun.State.FAILED
    assert "Stopped after 100 blocks" in run.error
    assert bot_texts(interaction) == ["Sorry, we hit a problem."]
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.CLOSED


# --- Set Variable ------------------------------------------------------------------------


def test_set_variable_literal_and_expression(chat):
    interaction = chat(
        [
            ("a", "set_variable", {"variable": "greeting", "value": "Hi $(item.firstName)"}, {"next": "b"}),
            ("b", "set_variable", {"variable": "n", "value": "=length($(greeting)) * 2"}, {"next": "c"}),
            say("c", "$(greeting) $(n) $(global_interaction_id)"),
            EXIT,
        ]
    )
    customer_writes(interaction, "x")
    assert bot_texts(interaction) == [f"Hi Ann 12 {interaction.global_id}"]


def test_a_failing_expression_fails_the_run_visibly(chat):
    interaction = chat(
        [("a", "set_variable", {"variable": "x", "value": "=1/0"}, {"next": "b"}), say("b", "never"), EXIT],
        error_message="Something broke.",
    )
    customer_writes(interaction, "x")
    run = run_of(interaction)
    assert run.state == ScenarioRun.State.FAILED
    assert 'Block "a" (set_variable) failed' in run.error and "Division by zero" in run.error
    assert bot_texts(interaction) == ["Something broke."]


# --- If and Switch -----------------------------------------------------------------------


def branch(label, *conditions, join="and"):
    return {"exit": label, "join": join, "conditions": list(conditions)}


def s(variable, op, value=""):
    return {"type": "string", "variable": variable, "op": op, "value": value}


def n(variable, op, value=None, **extra):
    return {
        "type": "number",
        "variable": variable,
        "op": op,
        **({"value": value} if value is not None else {}),
        **extra,
    }


def if_chat(chat, *branches):
    exits = {b["exit"]: "took" for b in branches}
    return chat(
        [
            ("check", "if", {"branches": list(branches)}, {"next": "none", **exits}),
            ("took", "set_variable", {"variable": "result", "value": "took"}, {"next": "end"}),
            ("none", "set_variable", {"variable": "result", "value": "none"}, {"next": "end"}),
            EXIT,
        ]
    )


@pytest.mark.parametrize(
    ("condition", "message", "expected"),
    [
        (s("item.message", "equals", "yes"), "yes", "took"),
        (s("item.message", "equals", "yes"), "Yes", "none"),
        (s("item.message", "not_equals", "yes"), "no", "took"),
        (s("item.message", "contains", "order"), "my order 5", "took"),
        (s("item.message", "starts_with", "/start"), "/start now", "took"),
        (s("item.message", "starts_with", "/start"), "go /start", "none"),
        (s("item.message", "matches", r"^\d{5}$"), "12345", "took"),
        (s("item.message", "matches", r"^\d{5}$"), "1234", "none"),
        (s("item.message", "is_empty"), "   ", "took"),
        (s("item.message", "is_not_empty"), "x", "took"),
        (s("item.message", "equals", "Ann"), "Ann", "took"),
        (n("item.message", "=", "5"), "5", "took"),
        (n("item.message", "!=", "5"), "6", "took"),
        (n("item.message", "<", "5"), "4.5", "took"),
        (n("item.message", "<=", "5"), "5", "took"),
        (n("item.message", ">", "5"), "5", "none"),
        (n("item.message", ">=", "5"), "5", "took"),
        (n("item.message", "in_range", min=1, max=10), "10", "took"),
        (n("item.message", "in_range", min=1, max=10), "11", "none"),
        (n("item.message", "<", "5"), "abc", "none"),
    ],
)
def test_if_conditions(chat, condition, message, expected):
    interaction = if_chat(chat, branch("Hit", condition))
    customer_writes(interaction, message)
    assert run_of(interaction).variables["result"] == expected


def test_if_joins_with_and_or_and_first_branch_wins(chat):
    interaction = chat(
        [
            (
                "check",
                "if",
                {
                    "branches": [
                        branch("Both", s("item.message", "contains", "a"), s("item.message", "contains", "z")),
                        branch(
                            "Either", s("item.message", "contains", "q"), s("item.message", "contains", "b"), join="or"
                        ),
                        branch("Also", s("item.message", "contains", "b")),
                    ]
                },
                {"next": "end", "Both": "both", "Either": "either", "Also": "also"},
            ),
            say("both", "both"),
            say("either", "either"),
            say("also", "also"),
            EXIT,
        ]
    )
    customer_writes(interaction, "ab")
    assert bot_texts(interaction) == ["either"]


@pytest.fixture
def office_hours(db):
    """Open Monday to Friday 09:00-17:00 in Berlin."""
    hours = HoursOfOperation.objects.create(name="Office", time_zone="Europe/Berlin")
    for day in range(5):
        WeeklyHours.objects.create(hours=hours, weekday=day, opens_at=time(9), closes_at=time(17))
    return hours


def test_hours_of_operation(office_hours):
    from zoneinfo import ZoneInfo

    from scenarios.hours import is_open

    berlin = ZoneInfo("Europe/Berlin")
    assert is_open(office_hours, at=dt.datetime(2026, 11, 23, 10, 0, tzinfo=berlin))  # Monday
    assert not is_open(office_hours, at=dt.datetime(2026, 11, 23, 17, 0, tzinfo=berlin))
    assert not is_open(office_hours, at=dt.datetime(2026, 11, 22, 10, 0, tzinfo=berlin))  # Sunday
    assert is_open(office_hours, at=dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC))  # 09:30 in Berlin
    Holiday.objects.create(hours=office_hours, date=dt.date(2026, 11, 23))
    assert not is_open(office_hours, at=dt.datetime(2026, 11, 23, 10, 0, tzinfo=berlin))


@pytest.mark.parametrize("open_now", [True, False])
def test_if_outside_hours_uses_the_entry_schedule(chat, open_now):
    hours = HoursOfOperation.objects.create(name="Now", time_zone="UTC")
    now = timezone.now().astimezone(dt.UTC)
    if open_now:
        for day in range(7):
            WeeklyHours.objects.create(hours=hours, weekday=day, opens_at=time(0), closes_at=time(0))
    interaction = chat(
        [
            (
                "check",
                "if",
                {"branches": [branch("Closed", {"type": "hours", "op": "outside"})]},
                {"next": "open", "Closed": "closed"},
            ),
            say("open", "open"),
            say("closed", "closed"),
            EXIT,
        ],
        hours_of_operation=hours,
    )
    customer_writes(interaction, "hi")
    assert bot_texts(interaction) == (["open"] if open_now else ["closed"]), now


def test_switch_picks_the_matching_branch_or_default(chat):
    blocks = [
        (
            "menu",
            "switch",
            {"variable": "item.message", "ignore_case": True, "branches": [{"value": "sales", "exit": "Sales"}]},
            {"Sales": "sales", "Default": "other"},
        ),
        say("sales", "sales"),
        say("other", "other"),
        EXIT,
    ]
    first, second = chat(blocks), chat(blocks)
    customer_writes(first, " SALES ")
    customer_writes(second, "support")
    assert bot_texts(first) == ["sales"]
    assert bot_texts(second) == ["other"]


# --- Wait and Request Input ------------------------------------------------------------


def test_wait_persists_a_timer_and_continues_when_it_fires(chat):
    interaction = chat(
        [say("a", "before", "pause"), ("pause", "wait", {"seconds": 5}, {"next": "b"}), say("b", "after"), EXIT]
    )
    customer_writes(interaction, "x")
    run = run_of(interaction)
    assert run.state == ScenarioRun.State.WAITING and run.current_block == "pause"
    timer = ScenarioTimer.objects.get(run=run)
    assert 4 <= (timer.due_at - timezone.now()).total_seconds() <= 5

    fire_due_timers(interaction, now=timezone.now())  # not due yet
    assert bot_texts(interaction) == ["before"]

    fire_due_timers(interaction, now=timezone.now() + dt.timedelta(seconds=6))
    assert bot_texts(interaction) == ["before", "after"]
    # The same timer delivered again (a redelivered task) changes nothing.
    engine.handle_event(interaction_id=interaction.pk, event="timer", data={"timer_id": timer.pk})
    assert bot_texts(interaction) == ["before", "after"]


def test_request_input_stores_the_reply(chat):
    interaction = chat(
        [
            (
                "ask",
                "request_input",
                {"message": "Your order number?", "variable": "order", "timeout": 60},
                {"next": "b", "Timeout": "late"},
            ),
            say("b", "Looking up $(order)"),
            say("late", "Too late"),
            EXIT,
        ]
    )
    customer_writes(interaction, "hello")
    assert bot_texts(interaction) == ["Your order number?"]
    customer_writes(interaction, "A-77")
    assert bot_texts(interaction) == ["Your order number?", "Looking up A-77"]
    # The input timer was cancelled when the block was left.
    assert ScenarioTimer.objects.get(run=run_of(interaction)).cancelled_at is not None


def test_request_input_times_out(chat):
    interaction = chat(
        [
            (
                "ask",
                "request_input",
                {"message": "Your order number?", "variable": "order", "timeout": 60},
                {"next": "b", "Timeout": "late"},
            ),
            say("b", "Looking up $(order)"),
            say("late", "Too late"),
            EXIT,
        ]
    )
    customer_writes(interaction, "hello")
    fire_due_timers(interaction, now=timezone.now() + dt.timedelta(seconds=61))
    assert bot_texts(interaction) == ["Your order number?", "Too late"]
    # A reply after the timeout starts nothing new: the chat is closed and the run finished.
    assert run_of(interaction).state == ScenarioRun.State.FINISHED


def test_a_duplicate_customer_message_is_a_no_op(chat):
    interaction = chat(
        [
            ("ask", "request_input", {"variable": "a"}, {"next": "ask2"}),
            ("ask2", "request_input", {"variable": "b"}, {"next": "done"}),
            say("done", "$(a)/$(b)"),
            EXIT,
        ]
    )
    customer_writes(interaction, "start")
    first = customer_writes(interaction, "one")
    engine.handle_event(interaction_id=interaction.pk, event="customer_message", data={"message_id": first.pk})
    assert run_of(interaction).current_block == "ask2"
    customer_writes(interaction, "two")
    assert bot_texts(interaction) == ["one/two"]


def test_messages_are_taken_in_arrival_order_even_when_their_events_are_not(chat):
    from tests.scenarios.test_engine_locking import inbound

    interaction = chat(
        [
            ("ask", "request_input", {"variable": "a"}, {"next": "ask2"}),
            ("ask2", "request_input", {"variable": "b"}, {"next": "done"}),
            say("done", "$(a)/$(b)"),
            EXIT,
        ]
    )
    customer_writes(interaction, "start")
    first, second = inbound(interaction, "one"), inbound(interaction, "two")
    event = "customer_message"
    engine.handle_event(interaction_id=interaction.pk, event=event, data={"message_id": second.pk})
    engine.handle_event(interaction_id=interaction.pk, event=event, data={"message_id": first.pk})
    assert bot_texts(interaction) == ["one/two"]


def test_a_message_written_while_the_chat_was_ending_opens_the_next_chat(chat):
    """The customer wrote after the agent ended the chat and before the scenario's goodbye
    closed it; the engine heard of the message only after the run ended. It must not stay
    unanswered in the closed chat: it opens the customer's next one, whose run greets them."""
    interaction = chat([say("hi", "Hello"), EXIT])
    customer_writes(interaction, "first")  # the run greets and exits: the chat is closed
    late = stored_inbound(interaction, "one more thing")

    engine.handle_event(interaction_id=interaction.pk, event="customer_message", data={"message_id": late.pk})

    late.refresh_from_db()
    following = late.interaction
    assert following.pk != interaction.pk and following.customer_id == interaction.customer_id
    assert following.status == Interaction.Status.OPEN
    event = ChatEvent.objects.get(interaction=following, kind="customer_message")
    assert event.data == {"message_id": late.pk}
    engine.on_chat_event(event)  # what the dispatcher does after the commit
    assert bot_texts(following) == ["Hello"]
