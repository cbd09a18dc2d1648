"""A Telegram customer through the simulator, Daphne, Redis and a real Celery worker (and beat).

The only fake is the messenger platform (the simulator, over real HTTP); the webhook, the
scenario engine, routing and outbound sending are the product's own code in real processes.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from agentdesk import services as desk
from agentdesk.models import Agent, ChatAssignment
from conversations.models import Interaction
from scenarios.models import (
    Block,
    HoursOfOperation,
    Scenario,
    ScenarioEntry,
    ScenarioRun,
    Service,
    ServiceTeam,
    Team,
    WeeklyHours,
)
from scenarios.services import assign_account
from simulator.services import customer_says, get_customer, register_webhook
from tests.outbound.conftest import link_account, received, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres]

WELCOME = "Hello Ann! Thank you for contacting us."
PLEASE_WAIT = "Please wait while we connect you to an agent."


def mobile_chat_copy(stock: Scenario, *, periodic_every: int = 5) -> Scenario:
    """The stock Mobile Chat, saved as a copy with a quicker periodic queue message."""
    copy = Scenario.objects.create(name="Mobile Chat (test)")
    for block in stock.blocks.all():
        settings = dict(block.settings)
        if block.type == "find_agent":
            settings["periodic_every"] = periodic_every
        Block.objects.create(
            scenario=copy,
            key=block.key,
            order=block.order,
            title=block.title,
            type=block.type,
            settings=settings,
            exits=block.exits,
        )
    return copy


def setup_chat(server_url: str, stock: Scenario, *, open_hours: bool = True):
    account, sim = link_account(server_url)
    register_webhook(account=sim, url=f"{server_url}{account.webhook_path}", secret=account.webhook_secret)
    hours = HoursOfOperation.objects.create(name="Hours", time_zone="UTC")
    if open_hours:
        for day in range(7):
            WeeklyHours.objects.create(hours=hours, weekday=day, opens_at="00:00", closes_at="00:00")
    service = Service(name="Customer Support", hours_of_operation=hours)
    service.save()
    team = Team.objects.create(name="Support")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    entry = ScenarioEntry.objects.create(
        name="Mobile Chat", scenario=mobile_chat_copy(stock), service=service, hours_of_operation=hours
    )
    assign_account(account=account, entry=entry)
    return account, sim, team


def logged_in_agent(username: str, team: Team) -> Agent:
    user = get_user_model().objects.create_user(username=username, password="x")
    agent = Agent.objects.create(user=user, team=team)
    desk.log_in(agent_user=user)  # Not Ready
    return agent


def texts(sim) -> list[str]:
    return [m.text for m in received(sim)]


def has(sim, *expected: str):
    return lambda: all(any(t.startswith(e) for t in texts(sim)) for e in expected)


def test_customer_waits_in_the_queue_and_is_connected_when_an_agent_goes_ready(
    live_daphne, celery_processes, mobile_chat
):
    account, sim, team = setup_chat(live_daphne.url, mobile_chat)
    alice = logged_in_agent("alice", team)
    celery_processes.worker()
    celery_processes.beat()
    ann = get_customer(account=sim, key="ann", name="Ann")

    customer_says(account=sim, customer=ann, text="Hello, I need help")
    wait_until(has(sim, WELCOME, PLEASE_WAIT, "All our agents are busy. You are number 1"), what="the queue message")
    wait_until(has(sim, "Thank you for waiting. You are number 1"), what="a periodic queue message")
    interaction = Interaction.objects.get(account=account)
    assert ScenarioRun.objects.get(interaction=interaction).current_block == "find_agent"

    with transaction.atomic():
        desk.set_state(agent_user=alice.user, state="ready")
    wait_until(has(sim, "We are connecting you to alice"), what="the connected message")
    wait_until(
        lambda: ChatAssignment.objects.filter(interaction=interaction, status="offered").exists(), what="the offer"
    )
    desk.accept_offer(agent_user=alice.user, interaction_id=interaction.pk)
    wait_until(lambda: ScenarioRun.objects.get(interaction=interaction).waiting_for == ["chat_ended"], what="accept")

    with transaction.atomic():
        desk.end_chat(interaction=interaction, by="agent", cause="UserHangup", agent_user=alice.user)
    wait_until(has(sim, "Thank you for chatting with us"), what="the goodbye")
    wait_until(lambda: ScenarioRun.objects.get(interaction=interaction).state == "finished", what="the run to end")

    got = texts(sim)
    assert got[:3] == [WELCOME, PLEASE_WAIT, got[2]] and got[2].startswith("All our agents are busy")
    assert got[-2:] == ["We are connecting you to alice.", "Thank you for chatting with us. Goodbye!"]
    assert all(count == 1 for text, count in Counter(got).items() if not text.startswith("Thank you for waiting"))
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.CLOSED


def test_outside_hours_the_customer_gets_the_closed_message(live_daphne, celery_processes, mobile_chat):
    account, sim, team = setup_chat(live_daphne.url, mobile_chat, open_hours=False)
    logged_in_agent("bob", team)
    celery_processes.worker()
    customer_says(account=sim, customer=get_customer(account=sim, key="ann", name="Ann"), text="Hi")
    wait_until(has(sim, "We are closed now"), what="the closed message")
    assert texts(sim) == [
        WELCOME,
        PLEASE_WAIT,
        "We are closed now. Please write to us again during our opening hours.",
    ]
    wait_until(
        lambda: Interaction.objects.get(account=account).status == Interaction.Status.CLOSED, what="the chat to close"
    )


def test_with_nobody_logged_in_the_customer_takes_no_agents(live_daphne, celery_processes, mobile_chat):
    account, sim, _ = setup_chat(live_daphne.url, mobile_chat)
    celery_processes.worker()
    customer_says(account=sim, customer=get_customer(account=sim, key="ann", name="Ann"), text="Hi")
    wait_until(has(sim, "Sorry, no agent can take your chat"), what="the no-agents message")
    assert texts(sim) == [
        WELCOME,
        PLEASE_WAIT,
        "Sorry, no agent can take your chat right now. Please try again later.",
    ]


def test_a_worker_killed_mid_scenario_continues_from_the_stored_block(live_daphne, celery_processes, mobile_chat):
    account, sim, team = setup_chat(live_daphne.url, mobile_chat)
    carol = logged_in_agent("carol", team)
    worker = celery_processes.worker()
    customer_says(account=sim, customer=get_customer(account=sim, key="ann", name="Ann"), text="Hi")
    wait_until(has(sim, "All our agents are busy"), what="the queue message")
    interaction = Interaction.objects.get(account=account)

    celery_processes.kill_hard(worker)
    with transaction.atomic():  # the agent_found event waits in Redis with no worker alive
        desk.set_state(agent_user=carol.user, state="ready")
    run = ScenarioRun.objects.get(interaction=interaction)
    assert run.current_block == "find_agent" and run.state == "waiting"

    celery_processes.worker()
    celery_processes.beat()
    wait_until(has(sim, "We are connecting you to carol"), what="the run to continue after the restart")
    wait_until(
        lambda: ChatAssignment.objects.filter(interaction=interaction, status="offered").exists(), what="the offer"
    )
    got = [t for t in texts(sim) if not t.startswith("Thank you for waiting")]
    assert got == [
        WELCOME,
        PLEASE_WAIT,
        got[2],
        "We are connecting you to carol.",
    ]
    assert ScenarioRun.objects.get(interaction=interaction).current_block == "connect_chat"


def test_a_wait_timer_survives_a_killed_worker_and_fires_from_beat(live_daphne, celery_processes):
    account, sim = link_account(live_daphne.url)
    register_webhook(account=sim, url=f"{live_daphne.url}{account.webhook_path}", secret=account.webhook_secret)
    scenario = Scenario.objects.create(name="Pause")
    for order, (key, kind, settings, exits) in enumerate(
        [
            ("one", "send_message", {"message": "one"}, {"next": "pause"}),
            ("pause", "wait", {"seconds": 3}, {"next": "two"}),
            ("two", "send_message", {"message": "two"}, {"next": "end"}),
            ("end", "exit", {}, {}),
        ]
    ):
        Block.objects.create(
            scenario=scenario, key=key, order=order, title=key, type=kind, settings=settings, exits=exits
        )
    assign_account(account=account, entry=ScenarioEntry.objects.create(name="Pause entry", scenario=scenario))
    worker = celery_processes.worker()
    customer_says(account=sim, customer=get_customer(account=sim, key="ann", name="Ann"), text="Hi")
    wait_until(has(sim, "one"), what="the first message")
    celery_processes.kill_hard(worker)  # the timer's countdown task dies with it
    run = ScenarioRun.objects.get(interaction__account=account)
    assert run.current_block == "pause" and run.timers.filter(handled_at__isnull=True).count() == 1

    celery_processes.worker()
    celery_processes.beat()  # the sweeper finds the due timer row
    wait_until(lambda: ScenarioRun.objects.get(pk=run.pk).state == "finished", what="the run to finish")
    wait_until(has(sim, "two"), what="the message after the wait")
    assert texts(sim) == ["one", "two"]


def waiting_on_a_row_lock() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_inside_an_event_redelivers_it_and_nothing_is_sent_twice(
    live_daphne, celery_processes, mobile_chat
):
    import threading
    import time

    from django.db import connections

    account, sim, team = setup_chat(live_daphne.url, mobile_chat)
    dora = logged_in_agent("dora", team)
    worker = celery_processes.worker()
    customer_says(account=sim, customer=get_customer(account=sim, key="ann", name="Ann"), text="Hi")
    wait_until(has(sim, "All our agents are busy"), what="the queue message")
    run = ScenarioRun.objects.get(interaction__account=account)

    # Hold the run's row lock from another connection, so the worker's task for the next
    # event stops inside the engine; then kill the worker there.
    locked, release = threading.Event(), threading.Event()

    def hold_the_run():
        try:
            with transaction.atomic():
                ScenarioRun.objects.select_for_update().get(pk=run.pk)
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_run)
    holder.start()
    locked.wait(10)
    with transaction.atomic():
        desk.set_state(agent_user=dora.user, state="ready")  # "agent_found" goes to the worker
    wait_until(waiting_on_a_row_lock, what="the worker to block inside the engine")
    celery_processes.kill_hard(worker)
    release.set()
    holder.join()
    assert ScenarioRun.objects.get(pk=run.pk).current_block == "find_agent"

    # The unacknowledged task comes back once its visibility timeout has passed.
    celery_processes.env["CELERY_VISIBILITY_TIMEOUT"] = "3"
    time.sleep(4)
    celery_processes.worker()
    wait_until(has(sim, "We are connecting you to dora"), what="the redelivered event to run")
    wait_until(
        lambda: ChatAssignment.objects.filter(interaction=run.interaction, status="offered").exists(), what="the offer"
    )
    got = [t for t in texts(sim) if not t.startswith("Thank you for waiting")]
    assert got == [WELCOME, PLEASE_WAIT, got[2], "We are connecting you to dora."]
