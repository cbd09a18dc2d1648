"""System chat messages (Chat Settings): which text is in force (account > entry > tenant-wide,
Disabled sends nothing), the desk's moments turned into SYSTEM messages by the chat-events
listener, once per event however often it is dispatched, and the admin's errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from agentdesk import routing, selectors
from agentdesk import services as desk
from agentdesk.models import ServiceDeskSettings
from conversations import events
from conversations.models import ChatEvent, Interaction, Message
from scenarios import system_messages
from scenarios.models import (
    SYSTEM_MESSAGES,
    AccountChatSettings,
    ChatSettings,
    EntryChatSettings,
    ScenarioEntry,
    SystemMessageEvent,
)
from tests import factories

CUSTOM, DISABLED = ChatSettings.Mode.CUSTOM, ChatSettings.Mode.DISABLED
EVERY_MESSAGE_ON = {f"{prefix}_mode": CUSTOM for prefix in system_messages.MOMENTS.values()} | {
    "chat_ended_mode": CUSTOM
}


def system_texts(interaction: Interaction) -> list[str]:
    return list(
        Message.objects.filter(interaction=interaction, sender=Message.Sender.SYSTEM)
        .order_by("id")
        .values_list("text", flat=True)
    )


def dispatch_all(interaction: Interaction) -> None:
    """What the outbox does after each commit (the test's transaction never commits)."""
    for event_id in ChatEvent.objects.filter(interaction=interaction, dispatched_at__isnull=True).values_list(
        "pk", flat=True
    ):
        events.dispatch(event_id)


@pytest.fixture
def support(db):
    """A service with two ready agents (no After Call Work) and an entry holding an account."""
    service = factories.service()
    ServiceDeskSettings.objects.create(service=service, after_call_work=False)
    entry = factories.entry([("end", "exit", {}, {})], service=service)
    ann = factories.agent("ann", skills={service.skill: 50})
    bob = factories.agent("bob", skills={service.skill: 50})
    return service, entry, ann, bob


def connect(service, entry: ScenarioEntry, agent) -> Interaction:
    chat = factories.interaction_on(entry)
    assert routing.find_agent(interaction=chat, skill_ids=[service.skill_id], service=service).reserved
    desk.offer_chat(interaction=chat, agent_user=agent.user)
    desk.accept_offer(agent_user=agent.user, interaction_id=chat.pk)
    return chat


def test_the_account_overrides_the_entry_which_overrides_the_tenant(support):
    _, entry, ann, _ = support
    chat = factories.interaction_on(entry)
    text = lambda: system_messages.text_for("agent_joined", chat, agent_user_id=ann.user_id)  # noqa: E731

    assert text() == ""  # off by default: the stock scenario announces the agent itself
    ChatSettings(agent_joined_mode=CUSTOM, agent_joined_text="{agent} is here.").save()
    assert text() == "Ann is here."
    EntryChatSettings.objects.create(entry=entry, agent_joined_text="Hi, I am {agent}.")  # mode inherited
    assert text() == "Hi, I am Ann."
    account_settings = AccountChatSettings.objects.create(account=chat.account, agent_joined_mode=DISABLED)
    assert text() == ""
    account_settings.agent_joined_mode, account_settings.agent_joined_text = CUSTOM, "Ann from {agent}"
    account_settings.save()
    assert text() == "Ann from Ann"
    # An entry that disables a message silences it for its chats only; other moments keep the tenant's.
    account_settings.delete()
    EntryChatSettings.objects.filter(entry=entry).update(agent_joined_mode=DISABLED)
    assert text() == ""
    assert system_messages.text_for("agent_left", chat, agent_user_id=ann.user_id) == "Ann has left the chat."


def test_the_account_override_reaches_the_inactivity_texts_too(support):
    from scenarios.inactivity import settings_for

    _, entry, _, _ = support
    account = entry.account_assignments.get().account
    AccountChatSettings.objects.create(account=account, inactivity_warning_text="Hello? (account)")
    EntryChatSettings.objects.create(entry=entry, inactivity_warning_text="Hello? (entry)", inactivity_timeout=60)

    assert settings_for(entry, account_id=account.pk).warning_text == "Hello? (account)"
    assert settings_for(entry).warning_text == "Hello? (entry)"
    assert settings_for(entry, account_id=account.pk).timeout == 60


def test_accept_transfer_and_end_tell_the_customer_in_order(support):
    service, entry, ann, bob = support
    ChatSettings(**EVERY_MESSAGE_ON).save()
    chat = connect(service, entry, ann)
    desk.transfer(agent_user=ann.user, interaction_id=chat.pk, to_agent_id=bob.pk)
    desk.accept_offer(agent_user=bob.user, interaction_id=chat.pk)
    desk.end_chat(interaction=chat, by="agent", agent_user=bob.user)
    dispatch_all(chat)

    assert system_texts(chat) == [
        "Ann has joined the chat.",
        "We are transferring your chat to another agent. Please wait a moment.",
        "Ann has left the chat.",
        "Bob has joined the chat.",
        "Bob has ended the chat.",
    ]
    sent = Message.objects.filter(interaction=chat, sender=Message.Sender.SYSTEM)
    assert {(m.direction, m.status, m.account_id) for m in sent} == {("out", "queued", chat.account_id)}


def test_by_default_only_transfers_are_announced(support):
    service, entry, ann, bob = support
    chat = connect(service, entry, ann)
    desk.transfer(agent_user=ann.user, interaction_id=chat.pk, service_id=service.pk)  # back to the queue
    desk.accept_offer(agent_user=bob.user, interaction_id=chat.pk)
    desk.end_chat(interaction=chat, by="agent", agent_user=bob.user)
    # The customer leaving or the scenario ending a chat is no agent's doing: nothing said.
    other = connect(service, entry, ann)
    desk.end_chat(interaction=other, by="customer", cause="UserHangup")
    dispatch_all(chat)
    dispatch_all(other)

    assert system_texts(chat) == [
        "We are transferring your chat to another agent. Please wait a moment.",
        "Ann has left the chat.",
    ]
    assert system_texts(other) == []


def test_a_second_dispatch_of_the_same_event_sends_nothing_more(support):
    service, entry, ann, _ = support
    ChatSettings(**EVERY_MESSAGE_ON).save()
    chat = connect(service, entry, ann)
    dispatch_all(chat)
    joined = ChatEvent.objects.get(interaction=chat, kind=ChatEvent.Kind.AGENT_JOINED)

    # The sweeper took the event again (say its acknowledgement was lost) and a listener re-runs.
    ChatEvent.objects.filter(pk=joined.pk).update(dispatched_at=None)
    assert events.dispatch(joined.pk) is True
    system_messages.on_chat_event(joined)

    assert system_texts(chat) == ["Ann has joined the chat."]
    assert SystemMessageEvent.objects.filter(event=joined).count() == 1
    # The agent's desktop shows the line in the transcript, as the customer got it.
    transcript = selectors.messages_after(agent_user=ann.user, last_ids={chat.pk: 0})
    assert [(m["sender_name"], m["text"]) for m in transcript if m["sender"] == "system"] == [
        ("System", "Ann has joined the chat.")
    ]


def test_a_logged_out_agent_has_left_the_chat(support):
    service, entry, ann, _ = support
    chat = connect(service, entry, ann)
    desk.log_out(agent_user=ann.user)
    dispatch_all(chat)
    assert system_texts(chat) == ["Ann has left the chat."]


@pytest.mark.parametrize(
    ("model", "fields", "error"),
    [
        (ChatSettings, {"agent_joined_mode": CUSTOM, "agent_joined_text": " "}, "Custom needs a text"),
        (ChatSettings, {"chat_ended_text": "Bye from {name}"}, "unknown placeholder {name}"),
        (ChatSettings, {"inactivity_warning_text": "Still there, {agent}?"}, "takes no placeholders"),
        (AccountChatSettings, {"agent_left_mode": CUSTOM}, "Custom needs a text"),
    ],
)
def test_bad_input_gets_a_clear_error(db, model, fields, error):
    settings = model(**fields)
    with pytest.raises(ValidationError) as raised:
        settings.clean()
    assert error in str(raised.value)


def test_the_admin_edits_the_messages_and_refuses_custom_without_text(admin_client, support):
    _, entry, _, _ = support
    account = entry.account_assignments.get().account
    page = admin_client.get("/admin/scenarios/chatsettings/add/").content.decode()
    assert "System chat messages" in page and "agent_joined_text" in page and "{agent}" in page

    data = {"account": account.pk, "agent_joined_mode": CUSTOM, "agent_joined_text": ""}
    data |= {f"{p}_{f}": "" for p, _ in SYSTEM_MESSAGES for f in ("mode", "text") if p != "agent_joined"}
    refused = admin_client.post("/admin/scenarios/accountchatsettings/add/", data)
    assert refused.status_code == 200 and "Agent joined the chat: Custom needs a text" in refused.content.decode()

    data["agent_joined_text"] = "{agent} is with you now."
    assert admin_client.post("/admin/scenarios/accountchatsettings/add/", data).status_code == 302
    assert AccountChatSettings.objects.get(account=account).agent_joined_text == "{agent} is with you now."
    listing = admin_client.get("/admin/scenarios/accountchatsettings/").content.decode()
    assert str(account) in listing and "Agent joined the chat" in listing


@pytest.mark.embedded_beat
def test_embedded_the_customer_reads_that_the_agent_joined_and_ended_the_chat(live_daphne, mobile_chat):
    """Through the simulator on the embedded shape, with the stock Mobile Chat scenario."""
    from django.db import transaction

    from simulator.services import customer_says, get_customer
    from tests.outbound.conftest import wait_until
    from tests.scenarios.test_end_to_end import has, logged_in_agent, setup_chat, texts

    ChatSettings(
        agent_joined_mode=CUSTOM, chat_ended_mode=CUSTOM, chat_ended_text="{agent} has ended the chat. Bye!"
    ).save()
    account, sim, team = setup_chat(live_daphne.url, mobile_chat)
    alice = logged_in_agent("alice", team)
    with transaction.atomic():
        desk.set_state(agent_user=alice.user, state="ready")
    customer_says(account=sim, customer=get_customer(account=sim, key="ann", name="Ann"), text="Hello")
    wait_until(lambda: Interaction.objects.filter(account=account).exists(), what="the interaction", timeout=20)
    interaction = Interaction.objects.get(account=account)
    wait_until(lambda: interaction.assignments.filter(status="offered").exists(), what="the offer", timeout=20)

    desk.accept_offer(agent_user=alice.user, interaction_id=interaction.pk)
    wait_until(has(sim, "alice has joined the chat."), what="the joined message")
    with transaction.atomic():
        desk.end_chat(interaction=interaction, by="agent", agent_user=alice.user)
    wait_until(has(sim, "Thank you for chatting with us"), what="the scenario's goodbye")

    assert texts(sim)[-4:] == [
        "We are connecting you to alice.",
        "alice has joined the chat.",
        "alice has ended the chat. Bye!",
        "Thank you for chatting with us. Goodbye!",
    ]
