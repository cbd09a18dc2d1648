"""Routing (ACD): who gets a chat now, who waits, and who takes the queue head when freed."""

import pytest

from agentdesk import routing, services
from agentdesk.models import Agent, ChatAssignment, QueuedChat
from scenarios.models import ServiceTeam, Skill, Team

Status = ChatAssignment.Status


def route(interaction, skills, **kwargs):
    return routing.find_agent(interaction=interaction, skill_ids=[s.pk for s in skills], **kwargs)


def test_highest_level_on_the_required_skills_wins(desk):
    service = desk.service()
    desk.agent("low", skills={service.skill: 30})
    high = desk.agent("high", skills={service.skill: 80})

    result = route(desk.chat(), [service.skill])

    assert result.reserved and result.username == "high"
    assert ChatAssignment.objects.get(pk=result.assignment_id).agent == high
    high.refresh_from_db()
    assert high.state == Agent.State.BUSY


def test_equal_levels_go_to_the_longest_idle_agent(desk):
    service = desk.service()
    first = desk.agent("first", skills={service.skill: 50})
    second = desk.agent("second", skills={service.skill: 50})
    Agent.objects.filter(pk=second.pk).update(idle_since=first.idle_since.replace(year=2020))

    assert route(desk.chat(), [service.skill]).username == "second"
    # Having just taken a chat, "second" is now the most recently busy one.
    assert route(desk.chat(), [service.skill]).username == "first"


def test_every_required_skill_is_needed(desk):
    service = desk.service()
    spanish = Skill.objects.create(name="Spanish", kind=Skill.Kind.LANGUAGE)
    desk.agent("expert", skills={service.skill: 100})
    desk.agent("bilingual", skills={service.skill: 10, spanish: 10})

    assert route(desk.chat(), [service.skill, spanish]).username == "bilingual"


def test_min_level_leaves_lower_agents_out(desk):
    service = desk.service()
    desk.agent("junior", skills={service.skill: 20})

    result = route(desk.chat(), [service.skill], min_level=40)

    assert result.no_agents
    assert not ChatAssignment.objects.exists()


def test_the_teams_service_skill_qualifies_its_members(desk):
    service = desk.service()
    team = Team.objects.create(name="Support")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    member = desk.agent("member", team=team)

    assert route(desk.chat(), [service.skill]).agent_user_id == member.user_id


def test_a_busy_agent_takes_chats_up_to_its_capacity_then_they_queue(desk):
    service = desk.service()
    agent = desk.agent("pair", skills={service.skill: 50}, chat_share=50)  # two chats at once

    results = [route(desk.chat(), [service.skill]) for _ in range(3)]

    assert [r.status for r in results] == ["reserved", "reserved", "queued"]
    assert results[2].position == 1
    assert ChatAssignment.objects.filter(agent=agent, status__in=ChatAssignment.HOLDING).count() == 2


def test_nobody_logged_in_means_no_agents_and_not_ready_means_queued(desk):
    service = desk.service()
    agent = desk.agent("away", skills={service.skill: 50}, state=Agent.State.LOGGED_OUT)
    chat = desk.chat()

    assert route(chat, [service.skill]).no_agents
    assert not QueuedChat.objects.exists()

    services.log_in(agent_user=agent.user)  # Not Ready after login
    assert route(chat, [service.skill]).queued
    assert QueuedChat.objects.filter(interaction=chat).exists()


def test_going_ready_takes_the_queue_head_by_priority_then_arrival(desk):
    service = desk.service()
    agent = desk.agent("solo", skills={service.skill: 50}, state=Agent.State.NOT_READY, chat_share=50)
    early, urgent, late = desk.chat(), desk.chat(), desk.chat()
    route(early, [service.skill])
    route(urgent, [service.skill], priority=5)
    route(late, [service.skill])
    french = Skill.objects.create(name="French", kind=Skill.Kind.LANGUAGE)
    desk.agent("francophone", skills={french: 50}, state=Agent.State.NOT_READY)
    other = desk.chat()
    assert route(other, [french]).queued  # waits for someone with French, not for "solo"

    services.set_state(agent_user=agent.user, state=Agent.State.READY)

    taken = set(ChatAssignment.objects.filter(agent=agent).values_list("interaction_id", flat=True))
    assert taken == {urgent.pk, early.pk}
    assert set(QueuedChat.objects.values_list("interaction_id", flat=True)) == {late.pk, other.pk}
    agent.refresh_from_db()
    assert agent.state == Agent.State.BUSY


def test_freeing_capacity_takes_the_next_queued_chat(desk):
    service = desk.service()
    agent = desk.agent("solo", skills={service.skill: 50}, chat_share=100)
    first, waiting = desk.chat(), desk.chat()
    route(first, [service.skill])
    assert route(waiting, [service.skill]).queued
    services.offer_chat(interaction=first, agent_user=agent.user)
    services.accept_offer(agent_user=agent.user, interaction_id=first.pk)

    services.end_chat(interaction=first, by="agent", agent_user=agent.user)  # no service settings: no ACW

    assert ChatAssignment.objects.get(interaction=waiting).status == Status.RESERVED
    assert not QueuedChat.objects.exists()


def test_a_second_find_agent_for_a_reserved_chat_returns_the_same_reservation(desk):
    service = desk.service()
    desk.agent("a", skills={service.skill: 50})
    desk.agent("b", skills={service.skill: 50})
    chat = desk.chat()

    first = route(chat, [service.skill])
    again = route(chat, [service.skill])

    assert again.assignment_id == first.assignment_id
    assert ChatAssignment.objects.filter(interaction=chat).count() == 1


@pytest.mark.parametrize("state", [Agent.State.NOT_READY, Agent.State.AFTER_CALL_WORK])
def test_agents_not_ready_or_in_acw_get_nothing(desk, state):
    service = desk.service()
    desk.agent("x", skills={service.skill: 50}, state=state)

    assert route(desk.chat(), [service.skill]).queued


def test_when_the_last_qualified_agent_logs_out_waiting_chats_leave_the_queue(desk):
    service = desk.service()
    french = Skill.objects.create(name="French", kind=Skill.Kind.LANGUAGE)
    ann = desk.agent("ann", skills={service.skill: 50}, state=Agent.State.NOT_READY)
    desk.agent("bob", skills={french: 50}, state=Agent.State.NOT_READY)
    support_chat, french_chat = desk.chat(), desk.chat()
    assert route(support_chat, [service.skill]).queued
    assert route(french_chat, [french]).queued

    services.log_out(agent_user=ann.user)

    # Nobody left for Support: that chat goes back to its scenario ("no_agents"); bob still
    # serves French, so that one keeps waiting.
    assert list(QueuedChat.objects.values_list("interaction_id", flat=True)) == [french_chat.pk]
