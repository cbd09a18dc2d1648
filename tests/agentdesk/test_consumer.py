"""The desktop socket through the real ASGI stack (session auth, origin check, routes).

Authorization: only logged-in agents connect, and every action is checked against the
agent's own chats: another agent's chat id is refused and nothing changes.
"""

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from agentdesk import routing, services
from agentdesk.models import ChatAssignment
from contactcenter.asgi import application
from conversations.models import Message
from conversations.realtime import publish_message
from simulator.services import get_customer
from tests.conftest import run_async

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")  # the origin check compares scheme, host and port with the Host


def communicator_for(user=None):
    headers = [ORIGIN, HOST]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, "/ws/agent/", headers=headers)


async def receive_until(comm, predicate, *, limit=30):
    """Read frames until one matches; the others (snapshots pushed by hints) are skipped."""
    for _ in range(limit):
        frame = await comm.receive_json_from(timeout=10)
        if predicate(frame):
            return frame
    raise AssertionError("no matching frame")


def agent_in_a_chat(desk_tx):
    """Agent ann, and a chat she accepted (the desktop shows it: its hints reach her socket)."""
    service = desk_tx.service()
    ann = desk_tx.agent("ann", skills={service.skill: 90})
    chat = desk_tx.chat(text="Hello", account=desk_tx.account())
    routing.find_agent(interaction=chat, skill_ids=[service.skill_id], service=service)
    services.offer_chat(interaction=chat, agent_user=ann.user, no_answer_timeout=60)
    services.accept_offer(agent_user=ann.user, interaction_id=chat.pk)
    return ann, chat


def is_error(frame):
    return frame["type"] == "error"


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_socket_is_refused():
    async def scenario():
        comm = communicator_for()
        connected, code = await comm.connect()
        assert not connected and code == 4401

    run_async(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_user_who_is_not_an_agent_is_refused():
    user = get_user_model().objects.create_user("visitor", password="a-long-password-1")

    comm = communicator_for(user)

    async def scenario():
        connected, code = await comm.connect()
        assert not connected and code == 4403

    run_async(scenario)


def test_another_agents_chat_is_refused_and_the_own_one_works(desk_tx, live_server):
    service = desk_tx.service()
    ann = desk_tx.agent("ann", skills={service.skill: 90})
    bob = desk_tx.agent("bob", skills={service.skill: 10})
    account, bot = desk_tx.simulated_account(live_server.url)
    sim_customer = get_customer(account=bot, key="ana", name="Ana Lima")
    chat = desk_tx.chat(text="My order is late", account=account, external_id=sim_customer.external_id)
    routing.find_agent(interaction=chat, skill_ids=[service.skill_id], service=service)
    services.offer_chat(interaction=chat, agent_user=ann.user, no_answer_timeout=60)

    bob_comm, ann_comm = communicator_for(bob.user), communicator_for(ann.user)

    async def as_bob():
        comm = bob_comm
        connected, _ = await comm.connect()
        assert connected
        snapshot = await receive_until(comm, lambda f: f["type"] == "snapshot")
        assert snapshot["chats"] == []  # ann's offer is not shown to bob
        for action, extra in [
            ("accept", {}),
            ("reject", {}),
            ("send", {"text": "hijack"}),
            ("end_chat", {}),
            ("wrap_up", {"notes": "x", "finish": True}),
            ("transfer", {"to_agent_id": ann.pk}),
            ("read", {"message_id": 1}),
            ("history", {}),
        ]:
            await comm.send_json_to({"action": action, "request_id": action, "interaction_id": chat.pk, **extra})
            frame = await receive_until(comm, lambda f, a=action: f.get("request_id") == a)
            assert frame["type"] == "error" and frame["error"] == "not_your_chat", (action, frame)
        await comm.send_json_to({"action": "sync", "request_id": "s", "last_ids": {str(chat.pk): 0}})
        await receive_until(comm, lambda f: f.get("request_id") == "s")
        await comm.disconnect()

    run_async(as_bob)
    assert ChatAssignment.objects.get(interaction=chat).status == ChatAssignment.Status.OFFERED
    assert not Message.objects.filter(text="hijack").exists()

    async def as_ann():
        comm = ann_comm
        assert (await comm.connect())[0]
        snapshot = await receive_until(comm, lambda f: f["type"] == "snapshot")
        [offer] = snapshot["chats"]
        assert (offer["status"], offer["first_message"], offer["service"]["name"]) == (
            "offered",
            "My order is late",
            "Support",
        )
        assert offer["customer"]["name"] == "Ana Lima" and offer["messenger"] == "telegram"

        await comm.send_json_to({"action": "accept", "request_id": "a", "interaction_id": chat.pk})
        ack = await receive_until(comm, lambda f: f.get("request_id") == "a")
        assert ack["type"] == "ack"
        await comm.send_json_to({"action": "sync", "request_id": "s", "last_ids": {}})
        first = await receive_until(comm, lambda f: f["type"] == "message")
        assert first["message"]["text"] == "My order is late"

        await comm.send_json_to({"action": "send", "request_id": "r", "interaction_id": chat.pk, "text": "On it!"})
        await receive_until(comm, lambda f: f.get("request_id") == "r" and f["type"] == "ack")

        # A customer message committed later reaches the desktop through the channel layer.
        def customer_writes():
            with transaction.atomic():
                message = desk_tx.customer_says(chat, "Thanks")
            publish_message(message)

        from asgiref.sync import sync_to_async

        await sync_to_async(customer_writes)()
        pushed = await receive_until(comm, lambda f: f["type"] == "message" and f["message"]["text"] == "Thanks")
        assert pushed["message"]["direction"] == "in"
        await comm.disconnect()

    run_async(as_ann)
    reply = Message.objects.get(text="On it!")
    assert (reply.direction, reply.sender_user, reply.status) == ("out", ann.user, "sent")
    # It reached the customer on the (fake) platform.
    assert list(sim_customer.messages.filter(direction="out").values_list("text", flat=True)) == ["On it!"]


def test_a_page_from_another_site_cannot_open_the_socket(desk_tx):
    ann = desk_tx.agent("ann")
    client = Client()
    client.force_login(ann.user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    comm = WebsocketCommunicator(application, "/ws/agent/", headers=[(b"origin", b"https://evil.example"), cookie])

    async def scenario():
        connected, _ = await comm.connect()
        assert not connected

    run_async(scenario)


def test_a_hint_that_fails_answers_an_error_frame_keeps_the_socket_and_refreshes_later(desk_tx, monkeypatch):
    from agentdesk import selectors
    from conversations.realtime import agent_group

    ann = desk_tx.agent("ann")
    real = selectors.snapshot
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 2:  # the snapshot of the hint below: the database went away
            raise RuntimeError("connection pool timeout")
        return real(**kwargs)

    monkeypatch.setattr(selectors, "snapshot", flaky)
    comm = communicator_for(ann.user)

    async def scenario():
        from channels.layers import get_channel_layer

        connected, _ = await comm.connect()
        assert connected
        await receive_until(comm, lambda f: f["type"] == "snapshot")
        await get_channel_layer().group_send(agent_group(ann.user.pk), {"type": "desk.changed"})
        error = await receive_until(comm, lambda f: f["type"] == "error")
        assert error["error"] == "refresh_failed"
        again = await receive_until(comm, lambda f: f["type"] == "snapshot")  # retried a moment later
        assert again["agent"]["username"] == "ann"
        await comm.send_json_to({"action": "ping", "request_id": "p"})  # the socket is still open
        await receive_until(comm, lambda f: f["type"] == "pong")
        await comm.disconnect()

    run_async(scenario)


def test_a_customer_message_hint_carries_its_frame_and_an_agents_message_is_read_back(desk_tx, monkeypatch):
    """A socket showing the chat builds a customer message's frame from the hint (no read per
    socket per message); the frame is the one a read gives. An agent's message (the agent's
    name) is read back as before."""
    from agentdesk import selectors

    ann, chat = agent_in_a_chat(desk_tx)
    reads = []
    real_read = selectors.message_for
    monkeypatch.setattr(selectors, "message_for", lambda **kw: reads.append(kw["message_id"]) or real_read(**kw))
    comm = communicator_for(ann.user)

    def write(text, **fields):
        with transaction.atomic():
            message = desk_tx.customer_says(chat, text)
            if fields:
                Message.objects.filter(pk=message.pk).update(**fields)
                message.refresh_from_db()
        publish_message(message)
        return message

    async def scenario():
        from asgiref.sync import sync_to_async

        assert (await comm.connect())[0]
        await receive_until(comm, lambda f: f["type"] == "snapshot")
        customer = await sync_to_async(write)("Where is my parcel?", attachment={"type": "image", "name": "p.jpg"})
        pushed = await receive_until(comm, lambda f: f["type"] == "message")
        read_back = await sync_to_async(lambda: selectors.serialize_message(Message.objects.get(pk=customer.pk)))()
        assert pushed["message"] == read_back
        assert reads == []
        agents = await sync_to_async(write)("On it", direction="out", sender="agent", sender_user=ann.user)
        pushed = await receive_until(comm, lambda f: f["type"] == "message" and f["message"]["id"] == agents.pk)
        assert pushed["message"]["sender_name"] == "Ann" and reads == [agents.pk]
        await comm.disconnect()

    run_async(scenario)


def test_a_hint_older_than_the_last_frame_sent_is_skipped(desk_tx):
    """Hints from two processes can arrive out of commit order (a fetched picture's "stored"
    before its creation's "pending"): the desktop must keep the newer state."""
    import copy
    import datetime as dt

    ann, chat = agent_in_a_chat(desk_tx)
    with transaction.atomic():
        created = desk_tx.customer_says(chat, "a picture")
    fetched = copy.copy(created)
    fetched.text, fetched.updated_at = "a picture, fetched", created.updated_at + dt.timedelta(seconds=1)
    later = copy.copy(fetched)
    later.text, later.updated_at = "a picture, read", fetched.updated_at + dt.timedelta(seconds=1)
    comm = communicator_for(ann.user)

    async def scenario():
        from asgiref.sync import sync_to_async

        assert (await comm.connect())[0]
        await receive_until(comm, lambda f: f["type"] == "snapshot")
        texts = []
        for message in (fetched, created, later):  # the creation's hint arrives late
            await sync_to_async(publish_message)(message)
        for _ in range(2):
            frame = await receive_until(comm, lambda f: f["type"] == "message")
            texts.append(frame["message"]["text"])
        assert texts == ["a picture, fetched", "a picture, read"]
        await comm.disconnect()

    run_async(scenario)
