"""Find Agent and Connect Chat against the real routing of agentdesk (PostgreSQL row locks).

The events routing and the desktop fire after their commits ("agent_found",
"offer_accepted", "chat_ended", ...) are delivered here the way the task delivers them;
the end-to-end tests run the same flow with a real Celery worker.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from agentdesk import services as desk
from agentdesk.models import Agent, AgentSkill, ChatAssignment, QueuedChat
from conversations.models import Interaction
from scenarios import engine
from scenarios.models import ScenarioRun, Service, ServiceTeam, Team
from tests.scenarios.conftest import bot_texts, customer_writes, fire_due_timers, run_of

pytestmark = pytest.mark.usefixtures("require_postgres")

EXIT = ("end", "exit", {}, {})


@pytest.fixture
def service(db):
    service = Service(name="Support desk")
    service.save()
    team = Team.objects.create(name="Desk team")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    return service


def agent(username: str, service: Service, *, ready: bool = True) -> Agent:
    user = get_user_model().objects.create_user(username=username, password="x")
    profile = Agent.objects.create(user=user, team=service.team_assignments.get().team)
    desk.log_in(agent_user=user)
    if ready:
        desk.set_state(agent_user=user, state="ready")
    return profile


def event(interaction, name, **data):
    engine.handle_event(interaction_id=interaction.pk, event=name, data=data)


def flow(find_settings=None, connect_settings=None):
    return [
        (
            "find",
            "find_agent",
            find_settings or {},
            {"next": "hello", "No Agents": "nobody", "Queue Limit": "full", "Timeout": "late"},
        ),
        ("hello", "send_message", {"message": "Connected to $(destination)"}, {"next": "connect"}),
        (
            "connect",
            "connect_chat",
            connect_settings or {},
            {"next": "thanks", "No Answer": "missed", "Target Disconnected": "dropped"},
        ),
        ("thanks", "send_message", {"message": "Thanks"}, {"next": "end"}),
        ("missed", "send_message", {"message": "No answer"}, {"next": "end"}),
        ("dropped", "send_message", {"message": "Agent left: $(targetDisconnectedCause)"}, {"next": "end"}),
        ("nobody", "send_message", {"message": "No agents"}, {"next": "end"}),
        ("full", "send_message", {"message": "Queue full"}, {"next": "end"}),
        ("late", "send_message", {"message": "Timed out"}, {"next": "end"}),
        EXIT,
    ]


def test_a_ready_agent_is_found_offered_and_the_chat_ends_normally(chat, service):
    alice = agent("alice", service)
    interaction = chat(flow({"extra_skills": []}), service=service)
    customer_writes(interaction, "hi")

    assert bot_texts(interaction) == ["Connected to alice"]
    run = run_of(interaction)
    assert run.variables["destination"] == "alice" and run.current_block == "connect"
    offer = ChatAssignment.objects.get(interaction=interaction)
    assert offer.agent == alice and offer.status == ChatAssignment.Status.OFFERED
    assert (offer.offer_deadline - offer.offered_at).total_seconds() == 10

    desk.accept_offer(agent_user=alice.user, interaction_id=interaction.pk)
    event(interaction, "offer_accepted", agent_user_id=alice.user_id)
    assert run_of(interaction).waiting_for == ["chat_ended"]
    customer_writes(interaction, "a question for the agent")  # goes to the agent, not the scenario
    assert run_of(interaction).current_block == "connect"

    desk.end_chat(interaction=interaction, by="agent", cause="UserHangup", agent_user=alice.user)
    event(interaction, "chat_ended", by="agent", cause="UserHangup")
    assert bot_texts(interaction) == ["Connected to alice", "Agent left: UserHangup"]
    assert run_of(interaction).variables["targetDisconnectedCause"] == "UserHangup"
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.CLOSED


def test_with_nobody_logged_in_find_agent_takes_no_agents(chat, service):
    interaction = chat(flow(), service=service)
    customer_writes(interaction, "hi")
    assert bot_texts(interaction) == ["No agents"]
    assert not QueuedChat.objects.filter(interaction=interaction).exists()


def test_queued_chat_gets_queue_messages_and_is_connected_when_an_agent_goes_ready(chat, service):
    bob = agent("bob", service, ready=False)  # logged in, Not Ready
    interaction = chat(
        flow(
            {
                "initial_message": "You are number $(queue.position); wait about $(queue.ewt).",
                "periodic_message": "Still number $(queue.position).",
                "periodic_every": 30,
            }
        ),
        service=service,
    )
    customer_writes(interaction, "hi")
    assert bot_texts(interaction) == ["You are number 1; wait about 1 minute."]
    assert QueuedChat.objects.filter(interaction=interaction).exists()
    assert run_of(interaction).waiting_for == ["agent_found", "no_agents", "timer"]

    fire_due_timers(interaction, now=timezone.now() + dt.timedelta(seconds=31))
    assert bot_texts(interaction)[-1] == "Still number 1."
    fire_due_timers(interaction, now=timezone.now() + dt.timedelta(seconds=62))
    assert bot_texts(interaction)[-1] == "Still number 1."
    assert len(bot_texts(interaction)) == 3

    desk.set_state(agent_user=bob.user, state="ready")  # routing reserves the queue head for bob
    assert ChatAssignment.objects.get(interaction=interaction).agent == bob
    event(interaction, "agent_found", agent_user_id=bob.user_id, username="bob")
    event(interaction, "agent_found", agent_user_id=bob.user_id, username="bob")  # a duplicate
    assert bot_texts(interaction)[-1] == "Connected to bob"
    assert bot_texts(interaction).count("Connected to bob") == 1
    assert ChatAssignment.objects.get(interaction=interaction).status == ChatAssignment.Status.OFFERED
    # The periodic timer died with the Find Agent block.
    fire_due_timers(interaction, now=timezone.now() + dt.timedelta(seconds=200))
    assert bot_texts(interaction)[-1] == "Connected to bob"


def test_escalation_loosens_the_minimum_level(chat, service):
    agent("carol", service)  # level 50 through the team, Ready
    expert = agent("victor", service, ready=False)  # level 90, logged in but Not Ready
    AgentSkill.objects.create(agent=expert, skill=service.skill, level=90)
    interaction = chat(
        flow({"intervals": [{"seconds": 30, "min_level": 80}, {"seconds": 0, "min_level": 1}]}), service=service
    )
    customer_writes(interaction, "hi")
    assert bot_texts(interaction) == []
    assert QueuedChat.objects.get(interaction=interaction).min_level == 80
    fire_due_timers(interaction, now=timezone.now() + dt.timedelta(seconds=31))
    assert bot_texts(interaction) == ["Connected to carol"]


def test_nobody_at_the_strict_level_logged_in_escalates_at_once(chat, service):
    agent("carol", service)  # level 50: below the first interval's 80
    interaction = chat(
        flow({"intervals": [{"seconds": 30, "min_level": 80}, {"seconds": 0, "min_level": 1}]}), service=service
    )
    customer_writes(interaction, "hi")
    assert bot_texts(interaction) == ["Connected to carol"]


def test_find_agent_times_out_after_the_last_interval(chat, service):
    agent("dave", service, ready=False)
    interaction = chat(flow({"intervals": [{"seconds": 30, "min_level": 1}]}), service=service)
    customer_writes(interaction, "hi")
    fire_due_timers(interaction, now=timezone.now() + dt.timedelta(seconds=31))
    assert bot_texts(interaction) == ["Timed out"]
    assert not QueuedChat.objects.filter(interaction=interaction).exists()


def test_queue_limit(chat, service):
    agent("erin", service, ready=False)
    first = chat(flow(), service=service)
    customer_writes(first, "hi")
    second = chat(flow({"queue_limit": 1}), service=service)
    customer_writes(second, "hi")
    assert bot_texts(second) == ["Queue full"]
    assert not QueuedChat.objects.filter(interaction=second).exists()


def test_no_answer_and_other_agents_events_are_ignored(chat, service):
    frank = agent("frank", service)
    interaction = chat(flow(connect_settings={"no_answer_timeout": 5, "auto_answer_after": 2}), service=service)
    customer_writes(interaction, "hi")
    offer = ChatAssignment.objects.get(interaction=interaction)
    assert (offer.offer_deadline - offer.offered_at).total_seconds() == 5
    assert (offer.auto_answer_at - offer.offered_at).total_seconds() == 2
    event(interaction, "offer_timed_out", agent_user_id=frank.user_id + 999)  # somebody else's offer
    assert run_of(interaction).current_block == "connect"
    event(interaction, "offer_timed_out", agent_user_id=frank.user_id)
    assert bot_texts(interaction)[-1] == "No answer"


def test_the_customer_leaving_ends_the_scenario_and_frees_the_agent(chat, service):
    gina = agent("gina", service)
    interaction = chat(flow(), service=service)
    customer_writes(interaction, "hi")
    desk.accept_offer(agent_user=gina.user, interaction_id=interaction.pk)
    event(interaction, "offer_accepted", agent_user_id=gina.user_id)
    event(interaction, "chat_ended", by="customer", cause="UserHangup")
    assert run_of(interaction).state == ScenarioRun.State.FINISHED
    assert not ChatAssignment.objects.filter(interaction=interaction, status__in=ChatAssignment.HOLDING).exists()
    assert bot_texts(interaction) == ["Connected to gina"]


def test_the_customer_leaving_the_queue_ends_the_scenario(chat, service):
    agent("hank", service, ready=False)
    interaction = chat(flow(), service=service)
    customer_writes(interaction, "hi")
    event(interaction, "chat_ended", by="customer", cause="UserHangup")
    assert run_of(interaction).state == ScenarioRun.State.FINISHED
    assert not QueuedChat.objects.filter(interaction=interaction).exists()
