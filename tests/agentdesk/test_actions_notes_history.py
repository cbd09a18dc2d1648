"""Desktop actions applied once per request id, errors always answered, private notes and
history search limited to who may read them (issues 12 and 15).

"""

import pytest

from agentdesk import consumers, history, notes, routing, services
from agentdesk.models import ChatAssignment, HandledRequest, PrivateNote
from conversations.models import Message
from tests.agentdesk.test_consumer import communicator_for, receive_until
from tests.conftest import run_async


def accepted_chat(desk, agent, service, text="My order is late", **kwargs):
    chat = desk.chat(text=text, **kwargs)
    routing.find_agent(interaction=chat, skill_ids=[service.skill_id], service=service)
    services.offer_chat(interaction=chat, agent_user=agent.user, no_answer_timeout=60)
    services.accept_offer(agent_user=agent.user, interaction_id=chat.pk)
    return chat


def test_a_repeated_request_id_is_acknowledged_once_applied_and_errors_are_answered(desk_tx, monkeypatch):
    service = desk_tx.service()
    ann = desk_tx.agent("ann", skills={service.skill: 90})
    chat = accepted_chat(desk_tx, ann, service)
    comm = communicator_for(ann.user)

    def broken(user, content):
        raise RuntimeError("database went away")

    monkeypatch.setitem(consumers.ACTIONS, "wrap_up", broken)

    async def scenario():
        assert (await comm.connect())[0]
        send = {"action": "send", "request_id": "page1-7", "interaction_id": chat.pk, "text": "Only once"}
        await comm.send_json_to(send)
        first = await receive_until(comm, lambda f: f.get("request_id") == "page1-7")
        await comm.send_json_to(send)  # re-sent after a reconnect that lost the ack
        second = await receive_until(comm, lambda f: f.get("request_id") == "page1-7")
        assert (first["type"], first["repeat"], second["type"], second["repeat"]) == ("ack", False, "ack", True)

        await comm.send_json_to({"action": "fly", "request_id": "x1"})
        unknown = await receive_until(comm, lambda f: f.get("request_id") == "x1")
        assert (unknown["type"], unknown["error"]) == ("error", "unknown_action")

        await comm.send_json_to({"action": "wrap_up", "request_id": "x2", "interaction_id": chat.pk})
        failed = await receive_until(comm, lambda f: f.get("request_id") == "x2")
        assert (failed["type"], failed["error"], failed["action"]) == ("error", "server_error", "wrap_up")

        # The socket is still open and working after the failure.
        await comm.send_json_to({"action": "note", "request_id": "x3", "interaction_id": chat.pk, "text": "VIP"})
        note = await receive_until(comm, lambda f: f["type"] == "note")
        assert note["note"]["text"] == "VIP" and note["note"]["author"] == "Ann"
        await receive_until(comm, lambda f: f.get("request_id") == "x3" and f["type"] == "ack")
        await comm.disconnect()

    run_async(scenario)
    assert Message.objects.filter(text="Only once").count() == 1
    assert list(HandledRequest.objects.values_list("request_id", flat=True).order_by("id")) == ["page1-7", "x3"]
    # A failed action stores no request id, so its re-send is tried again.
    assert not HandledRequest.objects.filter(request_id="x2").exists()


def test_notes_and_history_are_for_the_chats_agents_and_for_supervisors(desk):
    service = desk.service()
    ann = desk.agent("ann", skills={service.skill: 90})
    bob = desk.agent("bob", skills={service.skill: 10})
    boss = desk.agent("boss", is_staff=True, state="logged_out")
    chat = accepted_chat(desk, ann, service, text="Refund for order 42", first_name="Ana")
    desk.chat(text="Refund for something else", first_name="Cy")  # nobody's chat

    assert [r["interaction_id"] for r in history.search(user=ann.user, text="refund")] == [chat.pk]
    assert history.search(user=bob.user, text="refund") == []
    assert len(history.search(user=boss.user, text="refund")) == 2
    assert [r["customer"] for r in history.search(user=ann.user, text="ana")] == ["Ana Lima"]
    assert history.search(user=ann.user, messenger="viber") == []
    assert history.transcript(user=bob.user, interaction_id=chat.pk) is None

    notes.add_note(author=boss.user, interaction_id=chat.pk, text="Approve it")
    with pytest.raises(notes.NoteRefused):
        notes.add_note(author=bob.user, interaction_id=chat.pk, text="Sneaky")
    with pytest.raises(notes.NoteRefused):
        notes.add_note(author=ann.user, interaction_id=chat.pk, text="   ")
    transcript = history.transcript(user=ann.user, interaction_id=chat.pk)
    assert [n["text"] for n in transcript["notes"]] == ["Approve it"]
    assert PrivateNote.objects.count() == 1
    assert not Message.objects.filter(text="Approve it").exists()
    assert ChatAssignment.objects.get(interaction=chat).status == ChatAssignment.Status.ACTIVE
