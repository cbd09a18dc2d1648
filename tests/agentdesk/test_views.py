"""The desk's pages over HTTP: login and logout change the agent's state; the supervisor view
is for staff only and can force an agent Not Ready or out."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from agentdesk import routing, selectors, services
from agentdesk.models import Agent, ChatAssignment
from tests.agentdesk.conftest import PASSWORD

State = Agent.State


def test_login_puts_the_agent_not_ready_and_logout_logs_it_out(desk):
    agent = desk.agent("ann", state=State.LOGGED_OUT)
    client = Client()

    response = client.post("/agent/login/", {"username": "ann", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/agent/"
    agent.refresh_from_db()
    assert agent.state == State.NOT_READY
    page = client.get("/agent/")
    assert page.status_code == 200 and b"desk-config" in page.content

    client.post("/agent/logout/")
    agent.refresh_from_db()
    assert agent.state == State.LOGGED_OUT
    assert client.get("/agent/").status_code == 302  # back to the login page


def test_ready_on_login_profile(desk):
    agent = desk.agent("ann", state=State.LOGGED_OUT, ready_on_login=True)
    Client().post("/agent/login/", {"username": "ann", "password": PASSWORD})
    agent.refresh_from_db()
    assert agent.state == State.READY


def test_a_user_without_agent_profile_cannot_use_the_desktop(db):
    get_user_model().objects.create_user("visitor", password=PASSWORD)
    client = Client()
    response = client.post("/agent/login/", {"username": "visitor", "password": PASSWORD})
    assert response.status_code == 200 and b"not set up as an agent" in response.content
    client.force_login(get_user_model().objects.get(username="visitor"))
    assert client.get("/agent/").status_code == 403


def test_supervisor_sees_agents_and_queues_and_forces_states(desk):
    service = desk.service()
    boss = get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True)
    ann = desk.agent("ann", skills={service.skill: 50})
    bob = desk.agent("bob", skills={service.skill: 50}, state=State.NOT_READY)
    busy_chat = desk.chat()
    routing.find_agent(interaction=busy_chat, skill_ids=[service.skill_id], service=service)
    routing.find_agent(interaction=desk.chat(), skill_ids=[service.skill_id], service=service)  # ann holds two of four
    client = Client()
    client.force_login(boss)

    assert client.get("/agent/supervisor/").status_code == 200
    data = client.get("/agent/supervisor/data/").json()
    rows = {a["username"]: a for a in data["agents"]}
    assert rows["ann"]["state"] == State.BUSY and rows["ann"]["holding"] == 2
    assert rows["bob"]["state"] == State.NOT_READY and rows["bob"]["seconds_in_state"] >= 0
    assert data["counts"]["agents_logged_in"] == 2

    response = client.post(
        f"/agent/supervisor/agents/{ann.pk}/force/", {"state": "not_ready"}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"ok": True}
    ann.refresh_from_db()
    assert ann.state == State.BUSY and ann.pending_not_ready  # Not Ready once its chats end

    client.post(f"/agent/supervisor/agents/{bob.pk}/force/", {"state": "logged_out"})
    bob.refresh_from_db()
    assert bob.state == State.LOGGED_OUT


def test_queues_show_waiting_chats_and_longest_wait(desk):
    service = desk.service()
    desk.agent("ann", skills={service.skill: 50}, state=State.NOT_READY)
    for _ in range(2):
        routing.find_agent(interaction=desk.chat(), skill_ids=[service.skill_id], service=service)

    [queue] = selectors.supervisor_overview()["queues"]

    assert (queue["service"], queue["waiting"]) == ("Support", 2)
    assert queue["longest_wait_seconds"] >= 0


def test_agents_cannot_open_the_supervisor_view(desk):
    agent = desk.agent("ann")
    client = Client()
    client.force_login(agent.user)
    assert client.get("/agent/supervisor/data/").status_code == 302
    assert client.post(f"/agent/supervisor/agents/{agent.pk}/force/", {"state": "logged_out"}).status_code == 302
    agent.refresh_from_db()
    assert agent.state == State.READY


def test_the_customer_card_lists_earlier_conversations_with_their_transcripts(desk):
    service = desk.service()
    ann = desk.agent("ann", skills={service.skill: 50})
    bob = desk.agent("bob", skills={service.skill: 10}, state=State.NOT_READY)
    old = desk.chat(customer="ana", text="Last week's question")
    old.status = "closed"
    old.save(update_fields=["status"])
    current = desk.chat(customer="ana", account=old.account, text="Me again")
    routing.find_agent(interaction=current, skill_ids=[service.skill_id], service=service)
    services.offer_chat(interaction=current, agent_user=ann.user)
    services.accept_offer(agent_user=ann.user, interaction_id=current.pk)

    [chat] = selectors.snapshot(agent_user=ann.user)["chats"]
    assert [e["interaction_id"] for e in chat["earlier"]] == [old.pk]
    transcript = selectors.earlier_transcript(agent_user=ann.user, interaction_id=old.pk)
    assert [m["text"] for m in transcript["messages"]] == ["Last week's question"]
    # Someone not chatting with this customer cannot read it.
    assert selectors.earlier_transcript(agent_user=bob.user, interaction_id=old.pk) is None
    assert ChatAssignment.objects.filter(agent=bob).count() == 0


@pytest.mark.parametrize("share,capacity", [(25, 4), (30, 3), (100, 1)])
def test_capacity_follows_the_chat_share(desk, share, capacity):
    assert desk.agent(f"a{share}", chat_share=share).capacity == capacity
