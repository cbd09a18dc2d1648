"""Offers and the chat lifecycle through the named actions: accept, reject, miss, end, wrap-up,
transfer, state history, presence grace."""

import datetime as dt

import pytest
from django.utils import timezone

from agentdesk import routing, services, states
from agentdesk.models import Agent, AgentStateChange, ChatAssignment, NotReadyReason, QueuedChat, ServiceDeskSettings
from conversations.models import Message
from scenarios.models import Disposition

Status = ChatAssignment.Status
State = Agent.State
LATER = dt.timedelta(minutes=10)


def connect(desk, service, agent, chat=None):
    """Route a chat to the agent, offer it and accept it; returns the chat."""
    chat = chat or desk.chat()
    result = routing.find_agent(interaction=chat, skill_ids=[service.skill_id], service=service)
    assert result.agent_user_id == agent.user_id
    services.offer_chat(interaction=chat, agent_user=agent.user)
    services.accept_offer(agent_user=agent.user, interaction_id=chat.pk)
    return chat


def refreshed(agent):
    agent.refresh_from_db()
    return agent


def test_accepting_connects_the_chat_and_the_agent_is_busy(desk):
    service = desk.service()
    agent = desk.agent("ann", skills={service.skill: 50})

    chat = connect(desk, service, agent)

    chat.refresh_from_db()
    assert chat.agent == agent.user
    assert ChatAssignment.objects.get(interaction=chat).status == Status.ACTIVE
    assert refreshed(agent).state == State.BUSY


def test_reject_with_no_other_chat_sets_not_ready(desk):
    service = desk.service()
    agent = desk.agent("ann", skills={service.skill: 50})
    chat = desk.chat()
    routing.find_agent(interaction=chat, skill_ids=[service.skill_id])
    services.offer_chat(interaction=chat, agent_user=agent.user)

    services.reject_offer(agent_user=agent.user, interaction_id=chat.pk)

    agent = refreshed(agent)
    assert agent.state == State.NOT_READY
    assert agent.not_ready_reason.system_code == "rejected_chat"
    assert ChatAssignment.objects.get(interaction=chat).status == Status.REJECTED


def test_reject_with_another_chat_open_goes_not_ready_after_it_ends(desk):
    service = desk.service()
    agent = desk.agent("ann", skills={service.skill: 50})
    first = connect(desk, service, agent)
    second = desk.chat()
    routing.find_agent(interaction=second, skill_ids=[service.skill_id])
    services.offer_chat(interaction=second, agent_user=agent.user)

    services.reject_offer(agent_user=agent.user, interaction_id=second.pk)
    assert refreshed(agent).state == State.BUSY
    # Meanwhile no new chat comes to an agent about to go Not Ready.
    assert routing.find_agent(interaction=desk.chat(), skill_ids=[service.skill_id]).queued

    services.end_chat(interaction=first, by="agent", agent_user=agent.user)
    assert refreshed(agent).state == State.AFTER_CALL_WORK  # the service's default ACW first
    services.wrap_up(agent_user=agent.user, interaction_id=first.pk, finish=True)
    assert refreshed(agent).state == State.NOT_READY


def test_an_unanswered_offer_is_missed_and_the_agent_not_ready(desk):
    service = desk.service()
    agent = desk.agent("ann", skills={service.skill: 50})
    chat = desk.chat()
    routing.find_agent(interaction=chat, skill_ids=[service.skill_id])
    assignment = services.offer_chat(interaction=chat, agent_user=agent.user, no_answer_timeout=10)

    assert services.offer_timed_out(assignment_id=assignment.pk) is False  # not due yet
    assert services.offer_timed_out(assignment_id=assignment.pk, now=timezone.now() + LATER) is True

    agent = refreshed(agent)
    assert agent.state == State.NOT_READY
    assert agent.not_ready_reason.name == "Missed chat"
    assert ChatAssignment.objects.get(pk=assignment.pk).status == Status.MISSED


def test_end_chat_goes_to_after_call_work_and_wrap_up_needs_a_disposition(desk):
    service = desk.service(use_dispositions=True)
    sold = Disposition.objects.create(service=service, name="Product sold")
    ServiceDeskSettings.objects.create(service=service, after_call_work=True, acw_time_limit=60)
    agent = desk.agent("ann", skills={service.skill: 50})
    chat = connect(desk, service, agent)

    services.end_chat(interaction=chat, by="agent", agent_user=agent.user)

    assert refreshed(agent).state == State.AFTER_CALL_WORK
    assignment = ChatAssignment.objects.get(interaction=chat)
    assert assignment.status == Status.WRAP_UP and assignment.end_cause == "UserHangup"
    with pytest.raises(services.DeskError, match="disposition"):
        services.wrap_up(agent_user=agent.user, interaction_id=chat.pk, notes="asked about prices", finish=True)

    services.wrap_up(agent_user=agent.user, interaction_id=chat.pk, disposition_id=sold.pk, notes="sold", finish=True)

    assignment.refresh_from_db()
    assert (assignment.status, assignment.disposition, assignment.notes) == (Status.DONE, sold, "sold")
    assert refreshed(agent).state == State.READY


def test_another_services_disposition_is_refused(desk):
    service, other = desk.service(), desk.service("Sales")
    foreign = Disposition.objects.create(service=other, name="Foreign")
    agent = desk.agent("ann", skills={service.skill: 50})
    chat = connect(desk, service, agent)

    with pytest.raises(services.DeskError):
        services.wrap_up(agent_user=agent.user, interaction_id=chat.pk, disposition_id=foreign.pk)


def test_the_acw_time_limit_makes_the_agent_ready(desk):
    service = desk.service()
    ServiceDeskSettings.objects.create(service=service, acw_time_limit=30)
    agent = desk.agent("ann", skills={service.skill: 50})
    chat = connect(desk, service, agent)
    services.end_chat(interaction=chat, by="agent", agent_user=agent.user)
    assignment = ChatAssignment.objects.get(interaction=chat)

    assert services.acw_expired(assignment_id=assignment.pk) is False
    assert services.acw_expired(assignment_id=assignment.pk, now=timezone.now() + LATER) is True
    assert refreshed(agent).state == State.READY


def test_the_customer_ending_releases_the_agent(desk):
    service = desk.service()
    ServiceDeskSettings.objects.create(service=service, after_call_work=False)
    agent = desk.agent("ann", skills={service.skill: 50})
    chat = connect(desk, service, agent)

    services.end_chat(interaction=chat, by="customer", cause="UserHangup")

    assert ChatAssignment.objects.get(interaction=chat).status == Status.DONE
    chat.refresh_from_db()
    assert chat.agent is None
    assert refreshed(agent).state == State.READY


def test_transfer_to_an_agent_completes_when_they_accept(desk):
    service = desk.service()
    ServiceDeskSettings.objects.create(service=service, after_call_work=False)
    ann = desk.agent("ann", skills={service.skill: 50})
    bob = desk.agent("bob", skills={service.skill: 50}, state=State.NOT_READY)
    chat = connect(desk, service, ann)
    services.set_state(agent_user=bob.user, state=State.READY)

    services.transfer(agent_user=ann.user, interaction_id=chat.pk, to_agent_id=bob.pk, note="wants a refund")
    offered = ChatAssignment.objects.get(interaction=chat, agent=bob)
    assert (offered.status, offered.transfer_note) == (Status.OFFERED, "wants a refund")
    assert ChatAssignment.objects.get(interaction=chat, agent=ann).status == Status.ACTIVE  # until bob accepts

    services.accept_offer(agent_user=bob.user, interaction_id=chat.pk)

    assert ChatAssignment.objects.get(interaction=chat, agent=ann).status == Status.TRANSFERRED
    chat.refresh_from_db()
    assert chat.agent == bob.user
    assert refreshed(ann).state == State.READY


def test_transfer_to_a_service_queue_offers_it_to_another_agent(desk):
    support, billing = desk.service(), desk.service("Billing")
    ann = desk.agent("ann", skills={support.skill: 50, billing.skill: 50})
    bob = desk.agent("bob", skills={billing.skill: 50})
    chat = connect(desk, support, ann)

    services.transfer(agent_user=ann.user, interaction_id=chat.pk, service_id=billing.pk, note="billing question")

    offered = ChatAssignment.objects.get(interaction=chat, status=Status.OFFERED)
    assert offered.agent == bob and offered.origin == ChatAssignment.Origin.TRANSFER
    assert offered.transfer_note == "billing question"
    assert ChatAssignment.objects.get(interaction=chat, agent=ann).status == Status.TRANSFERRED


def test_not_ready_needs_a_reason_once_custom_reasons_exist(desk):
    agent = desk.agent("ann")
    lunch = NotReadyReason.objects.create(name="Lunch")

    with pytest.raises(services.DeskError):
        services.set_state(agent_user=agent.user, state=State.NOT_READY)
    services.set_state(agent_user=agent.user, state=State.NOT_READY, reason_id=lunch.pk)

    assert refreshed(agent).not_ready_reason == lunch
    history = list(AgentStateChange.objects.filter(agent=agent).values_list("state", "reason", "ended_at"))
    assert [(s, r) for s, r, _ in history] == [(State.READY, ""), (State.NOT_READY, "Lunch")]
    assert history[0][2] is not None and history[1][2] is None


def test_a_lost_connection_logs_out_after_the_grace_period(desk):
    service = desk.service()
    agent = desk.agent("ann", skills={service.skill: 50})
    live = connect(desk, service, agent)
    ringing = desk.chat()
    routing.find_agent(interaction=ringing, skill_ids=[service.skill_id])
    services.offer_chat(interaction=ringing, agent_user=agent.user)
    states.socket_opened(user_id=agent.user_id)

    deadline = states.socket_closed(user_id=agent.user_id)
    assert deadline is not None
    assert services.presence_expired(agent_id=agent.pk) is False  # still within the grace period
    states.socket_opened(user_id=agent.user_id)  # came back in time
    assert services.presence_expired(agent_id=agent.pk, now=deadline + LATER) is False

    deadline = states.socket_closed(user_id=agent.user_id)
    assert services.presence_expired(agent_id=agent.pk, now=deadline + dt.timedelta(seconds=1)) is True

    assert refreshed(agent).state == State.LOGGED_OUT
    assert ChatAssignment.objects.get(interaction=ringing).status == Status.CANCELLED
    ended = ChatAssignment.objects.get(interaction=live)
    assert ended.end_cause == "UserLogout"


def test_replies_become_queued_outbound_messages_only_in_own_chats(desk):
    service = desk.service()
    ann = desk.agent("ann", skills={service.skill: 50})
    bob = desk.agent("bob", skills={service.skill: 10})
    chat = connect(desk, service, ann)

    with pytest.raises(services.NotYourChat):
        services.send_reply(agent_user=bob.user, interaction_id=chat.pk, text="hijack")
    [message] = services.send_reply(agent_user=ann.user, interaction_id=chat.pk, text="Hello Ana")

    assert (message.direction, message.sender, message.sender_user, message.status) == (
        Message.Direction.OUTBOUND,
        Message.Sender.AGENT,
        ann.user,
        Message.Status.QUEUED,
    )
    assert not Message.objects.filter(text="hijack").exists()


def test_leave_queue_withdraws_a_reservation(desk):
    service = desk.service()
    agent = desk.agent("ann", skills={service.skill: 50}, state=State.NOT_READY)
    chat = desk.chat()
    routing.find_agent(interaction=chat, skill_ids=[service.skill_id])
    assert QueuedChat.objects.filter(interaction=chat).exists()

    assert services.leave_queue(chat) is True
    services.set_state(agent_user=agent.user, state=State.READY)

    assert not ChatAssignment.objects.filter(interaction=chat).exists()
    assert refreshed(agent).state == State.READY


def test_unread_counts_inbound_messages_after_the_last_one_read(desk):
    from agentdesk import selectors

    service = desk.service()
    agent = desk.agent("ann", skills={service.skill: 50})
    chat = connect(desk, service, agent)
    first = chat.messages.get()
    later = [desk.customer_says(chat, text) for text in ("one", "two")]

    [shown] = selectors.snapshot(agent_user=agent.user)["chats"]
    assert shown["unread"] == 3
    services.mark_read(agent_user=agent.user, interaction_id=chat.pk, message_id=later[0].pk)
    [shown] = selectors.snapshot(agent_user=agent.user)["chats"]
    assert shown["unread"] == 1
    assert first.pk < later[0].pk


def test_a_rejected_queue_transfer_waits_and_rings_at_the_next_agent_going_ready(desk):
    support, billing = desk.service(), desk.service("Billing")
    ann = desk.agent("ann", skills={support.skill: 50})
    bob = desk.agent("bob", skills={billing.skill: 50})
    cy = desk.agent("cy", skills={billing.skill: 50}, state=State.NOT_READY)
    chat = connect(desk, support, ann)
    services.transfer(agent_user=ann.user, interaction_id=chat.pk, service_id=billing.pk, note="invoice")
    assert ChatAssignment.objects.get(interaction=chat, status=Status.OFFERED).agent == bob

    services.reject_offer(agent_user=bob.user, interaction_id=chat.pk)
    waiting = QueuedChat.objects.get(interaction=chat)
    assert (waiting.origin, waiting.transfer_note) == (ChatAssignment.Origin.TRANSFER, "invoice")

    services.set_state(agent_user=cy.user, state=State.READY)

    ringing = ChatAssignment.objects.get(interaction=chat, status=Status.OFFERED)
    assert (ringing.agent, ringing.transfer_note) == (cy, "invoice")
    assert not QueuedChat.objects.exists()
