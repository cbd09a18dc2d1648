"""Attachments both ways on all five messengers, over real HTTP through the simulator.

A customer's picture reaches the agent (fetched the platform's way after ingest, stored,
served to the agent); an agent's PDF reaches the customer (uploaded to Telegram, fetched by
the others from our signed URL, or sent as that link where the platform has no file
message); an oversized file is refused before it is queued; an expired platform link leaves
a placeholder with the reason; media URLs are served only to whom may see the chat.
"""

from __future__ import annotations

import re
import struct
import zlib

import pytest
import requests
from django.contrib.auth import get_user_model
from django.utils import timezone

from agentdesk.models import Agent, ChatAssignment
from conversations.models import Message
from integrations import media
from simulator.client import send_media
from simulator.models import SimMessage
from simulator.services import register_webhook

MESSENGERS = ["facebook", "line", "nexmo", "telegram", "viber"]
PASSWORD = "a-long-password-1"


def png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG (solid colour), built here so the test needs no image files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n" + b"%" * 3000 + b"\n%%EOF\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def linked(linked_account):
    def create(messenger: str):
        account, sim = linked_account(messenger)
        register_webhook(
            account=sim,
            url=account.webhook_url,
            secret=account.webhook_secret if messenger == "telegram" else "",
            status_url=f"{account.webhook_url}status/" if messenger == "nexmo" else "",
        )
        return account, sim

    return create


def agent_session(base_url: str, username: str) -> requests.Session:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Agent.objects.create(user=user)
    session = requests.Session()
    session.get(f"{base_url}/agent/login/", timeout=10)
    response = session.post(
        f"{base_url}/agent/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base_url}/agent/login/"},
        timeout=10,
    )
    assert response.ok and "sessionid" in session.cookies, response.text[:300]
    return session


def take_chat(username: str, interaction) -> None:
    agent = Agent.objects.get(user__username=username)
    ChatAssignment.objects.create(
        interaction=interaction, agent=agent, status=ChatAssignment.Status.ACTIVE, accepted_at=timezone.now()
    )


def upload(session: requests.Session, base_url: str, interaction_id: int, content: bytes, name: str, caption=""):
    return session.post(
        f"{base_url}/agent/attachments/{interaction_id}/",
        data={"caption": caption},
        files={"file": (name, content, "application/octet-stream")},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{base_url}/agent/"},
        timeout=30,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("messenger", MESSENGERS)
def test_a_picture_reaches_the_agent_and_a_pdf_reaches_the_customer(linked, live_server, settings, messenger):
    account, sim = linked(messenger)
    picture = png()

    send_media(live_server.url, sim, "ana", content=picture, file_name="broken.png", content_type="image/png")

    message = Message.objects.get(account=account)
    assert (message.direction, message.kind, message.media_status) == ("in", "image", "stored"), message.attachment
    assert message.attachment["content_type"] == "image/png" and message.attachment["size"] == len(picture)
    with message.media.open("rb") as stored:
        assert stored.read() == picture

    # The agent of the chat sees it, served by us with a safe type and no sniffing.
    session = agent_session(live_server.url, "agent1")
    take_chat("agent1", message.interaction)
    shown = session.get(f"{live_server.url}/agent/media/{message.pk}/", timeout=10)
    assert shown.status_code == 200 and shown.content == picture
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.headers["Content-Disposition"].startswith("inline")

    # The agent answers with a PDF and a caption; the platform gets it the way it takes files.
    answered = upload(session, live_server.url, message.interaction_id, PDF, "manual.pdf", caption="The manual")
    assert answered.status_code == 201, answered.text
    sent = Message.objects.filter(account=account, direction="out").order_by("id")
    assert sent[0].kind == "file" and sent[0].attachment["content_type"] == "application/pdf"
    assert all(m.status == "sent" for m in sent), [(m.status, m.error_text) for m in sent]
    out = SimMessage.objects.filter(account=sim, direction="out").order_by("id")
    with_file = [m for m in out if m.media]
    if with_file:  # uploaded (Telegram) or fetched from our signed URL (Facebook, Viber)
        with with_file[0].media.open("rb") as received:
            assert received.read() == PDF
    else:  # LINE and SMS have no file message: the customer gets our signed link to it
        link = re.search(r"https?://\S+", " ".join(m.text for m in out)).group(0)
        assert requests.get(link, timeout=10).content == PDF
    assert "The manual" in " ".join(m.text for m in out)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("messenger", MESSENGERS)
def test_an_oversized_file_is_refused_before_queueing(linked, live_server, settings, messenger):
    account, sim = linked(messenger)
    send_media(live_server.url, sim, "ana", location=(52.52, 13.405))
    inbound = Message.objects.get(account=account)
    assert inbound.kind == "location" and inbound.attachment["latitude"] == 52.52
    session = agent_session(live_server.url, "agent1")
    take_chat("agent1", inbound.interaction)
    settings.MEDIA_MAX_BYTES = 2000

    refused = upload(session, live_server.url, inbound.interaction_id, PDF, "manual.pdf")

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "manual.pdf is 3 KB" in error and "at most 2 KB" in error and account.get_messenger_display() in error
    assert not Message.objects.filter(account=account, direction="out").exists()
    assert not SimMessage.objects.filter(account=sim, direction="out").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("messenger", MESSENGERS)
def test_an_expired_platform_link_leaves_a_placeholder_with_the_reason(linked, live_server, messenger):
    account, sim = linked(messenger)
    sim.media_ttl = 0  # the platform's link / content is gone by the time we fetch it
    sim.save(update_fields=["media_ttl"])

    send_media(live_server.url, sim, "ana", content=png(), file_name="late.png", content_type="image/png")

    message = Message.objects.get(account=account)
    assert (message.kind, message.media_status, bool(message.media)) == ("image", "failed", False)
    assert "no longer serves" in message.attachment["error"] and "expired" in message.attachment["error"]
    # Never fetched twice: a second task finds it settled and does nothing.
    assert media.fetch(message_id=message.pk) == "failed"


@pytest.mark.django_db(transaction=True)
def test_media_urls_are_served_only_to_whom_may_see_the_chat(linked, live_server, settings):
    account, sim = linked("telegram")
    send_media(live_server.url, sim, "ana", content=PDF, file_name="invoice.pdf", content_type="application/pdf")
    message = Message.objects.get(account=account)
    assert message.media_status == "stored" and message.attachment["name"] == "invoice.pdf"
    mine = agent_session(live_server.url, "agent1")
    other = agent_session(live_server.url, "agent2")
    take_chat("agent1", message.interaction)
    url = f"{live_server.url}/agent/media/{message.pk}/"

    ok = mine.get(url, timeout=10)
    assert ok.status_code == 200 and ok.content == PDF
    assert ok.headers["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert other.get(url, timeout=10).status_code == 403
    assert requests.get(url, timeout=10, allow_redirects=False).status_code == 403

    # Signed links for platforms: valid, then expired; a tampered one is refused.
    settings.PUBLIC_BASE_URL = live_server.url
    good = media.signed_url(message, seconds=60)
    assert requests.get(good, timeout=10).content == PDF
    assert requests.get(media.signed_url(message, seconds=-1), timeout=10).status_code == 403
    prefix, token, name = good.rsplit("/", 2)
    forged = token.replace('"m":', "").replace(token.split(":", 1)[0], token.split(":", 1)[0][:-2] + "xx")
    assert requests.get(f"{prefix}/{forged}/{name}", timeout=10).status_code == 403
