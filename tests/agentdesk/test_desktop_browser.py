"""The Agent Desktop in headless Chromium, end to end on a real Daphne process.

A customer writes on the fake Telegram of the simulator; the signed webhook reaches the
product; the stock "Mobile Chat" scenario finds an agent through our routing and Connect
Chat offers the chat; the agents work in the browser; replies reach the simulator.
"""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from agentdesk.models import AgentStateChange, ChatAssignment
from conversations.models import Message
from simulator.client import send_text, wait_for_replies
from tests.agentdesk.conftest import PASSWORD, go_ready, log_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

Status = ChatAssignment.Status


def states_of(agent):
    return list(
        AgentStateChange.objects.filter(agent=agent).order_by("started_at", "id").values_list("state", flat=True)
    )


def test_offer_accept_chat_both_ways_end_and_wrap_up(contact_center, page):
    url, bot = contact_center["url"], contact_center["bot"]
    agent1, _ = contact_center["agents"]
    log_in(page, url, "agent1")
    go_ready(page)

    send_text(url, bot, "ana", "My parcel has not arrived", name="Ana Lee")

    offer = page.locator(".offer")
    expect(offer).to_contain_text("Customer Support")
    expect(offer).to_contain_text("Ana Lee · Telegram")
    expect(offer.locator(".offer-message")).to_have_text("My parcel has not arrived")
    offer.locator(".accept").click()

    expect(page.locator(".chat-item")).to_have_count(1)
    expect(page.locator("#state-label")).to_have_text("Busy")
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["My parcel has not arrived"])
    expect(page.locator("#customer-card")).to_contain_text("Ana Lee")
    expect(page.locator("#limit")).to_have_text("0 / 4096")

    # A canned response fills in the customer's names; Enter sends it.
    page.select_option("#canned", label="Greeting")
    expect(page.locator("#composer")).to_have_value("Hello Ana Lee, how can I help?")
    page.press("#composer", "Enter")
    replies = wait_for_replies(url, bot, "ana", count=4)  # welcome, please wait, connected, ours
    assert replies[-1] == "Hello Ana Lee, how can I help?"
    reply = page.locator("#transcript .msg-out").last
    expect(reply.locator(".msg-text")).to_contain_text("Hello Ana Lee, how can I help?")
    expect(reply.locator(".msg-status")).to_have_attribute("data-status", "sent")

    # Shift+Enter makes a new line instead of sending.
    page.fill("#composer", "Line one")
    page.press("#composer", "Shift+Enter")
    page.type("#composer", "line two")
    expect(page.locator("#composer")).to_have_value("Line one\nline two")
    page.fill("#composer", "")

    send_text(url, bot, "ana", "It was due <b>Monday</b>", name="Ana Lee")
    expect(page.locator("#transcript .msg-in .msg-text").last).to_have_text(
        "It was due <b>Monday</b>"
    )  # text, not HTML

    page.click("#end-chat")
    expect(page.locator("#state-label")).to_have_text("After Call Work")
    expect(page.locator("#wrapup-done")).to_be_visible()
    page.click("#wrapup-done")  # no disposition yet: refused
    expect(page.locator("#notice")).to_contain_text("Choose a disposition")
    page.select_option("#disposition", label="Problem solved")
    page.fill("#notes", "Parcel re-sent")
    page.click("#wrapup-done")
    expect(page.locator("#state-label")).to_have_text("Ready")
    expect(page.locator(".chat-item")).to_have_count(0)

    assignment = ChatAssignment.objects.get()
    assert (assignment.status, assignment.disposition.name, assignment.notes) == (
        Status.DONE,
        "Problem solved",
        "Parcel re-sent",
    )
    assert states_of(agent1) == ["not_ready", "ready", "busy", "acw", "ready"]
    # The scenario went on after Connect Chat: the customer got the goodbye message.
    assert wait_for_replies(url, bot, "ana", count=5)[-1] == "Thank you for chatting with us. Goodbye!"


def test_reject_goes_to_the_other_agent_and_a_missed_offer_sets_not_ready(contact_center, page, browser):
    url, bot = contact_center["url"], contact_center["bot"]
    agent1, agent2 = contact_center["agents"]
    other = browser.new_context().new_page()
    other.set_default_timeout(30_000)
    try:
        log_in(page, url, "agent1")
        log_in(other, url, "agent2")
        go_ready(page)
        go_ready(other)

        send_text(url, bot, "ben", "Hello?", name="Ben Ito")
        page.locator(".offer .reject").click()
        expect(page.locator("#state-label")).to_have_text("Not Ready (Rejected chat)")

        # Connect Chat took No Answer, Find Agent ran again: the chat rings at agent2.
        expect(other.locator(".offer")).to_contain_text("Ben Ito")
        # Nobody answers within the No Answer timeout (10 s): agent2 goes Not Ready.
        expect(other.locator("#state-label")).to_have_text("Not Ready (Missed chat)", timeout=30_000)
        expect(other.locator(".offer")).to_have_count(0)
        assert ChatAssignment.objects.get(agent=agent2).status == Status.MISSED

        # Now nobody is Ready and the chat waits; agent1 going Ready takes it at once.
        page.select_option("#state-select", "ready")
        expect(page.locator(".offer")).to_contain_text("Ben Ito")
        expect(page.locator("#state-label")).to_have_text("Busy")
        page.locator(".offer .accept").click()
        expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["Hello?"])
        statuses = list(ChatAssignment.objects.filter(agent=agent1).order_by("id").values_list("status", flat=True))
        assert statuses == [Status.REJECTED, Status.ACTIVE]

        # A supervisor sees both agents live and logs agent2 out from the supervisor page.
        get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True)
        boss = other.context.new_page()
        boss.goto(f"{url}/agent/login/")
        boss.fill("#id_username", "boss")
        boss.fill("#id_password", PASSWORD)
        boss.click("#login-button")
        boss.wait_for_url(f"{url}/agent/supervisor/")
        expect(boss.locator("#agents tr[data-agent=agent1] .state")).to_have_text("Busy")
        row = boss.locator("#agents tr[data-agent=agent2]")
        expect(row).to_contain_text("Missed chat")
        row.locator(".force-logout").click()
        expect(row.locator(".state")).to_have_text("Logged out")
        expect(other.locator("#state-label")).to_have_text("Logged out")
        expect(boss.locator("#counts")).to_contain_text("Logged in 1")
    finally:
        other.context.close()


def test_transfer_keeps_the_transcript_and_a_cut_socket_loses_nothing(contact_center, page, browser):
    url, bot = contact_center["url"], contact_center["bot"]
    agent1, agent2 = contact_center["agents"]

    # Route the desktop's socket through a switch the test can open and close.
    cut = {"on": False, "routes": []}

    def through_switch(route):
        if cut["on"]:
            route.close()
            return
        route.connect_to_server()
        cut["routes"].append(route)

    page.route_web_socket("**/ws/agent/", through_switch)
    other = browser.new_context().new_page()
    other.set_default_timeout(30_000)
    try:
        log_in(page, url, "agent1")
        go_ready(page)
        send_text(url, bot, "cy", "First question", name="Cy Ode")
        page.locator(".offer .accept").click()
        expect(page.locator("#transcript .msg-in")).to_have_count(1)

        # The network drops; the customer writes meanwhile; the desktop comes back by itself.
        cut["on"] = True
        for route in cut["routes"]:
            route.close()
        expect(page.locator("#connection")).to_contain_text("reconnecting")
        send_text(url, bot, "cy", "Are you there?", name="Cy Ode")
        send_text(url, bot, "cy", "Hello??", name="Cy Ode")
        assert Message.objects.filter(direction="in").count() == 3
        cut["on"] = False
        expect(page.locator("#connection")).to_have_text("Connected", timeout=30_000)
        expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(
            ["First question", "Are you there?", "Hello??"]
        )

        # Transfer to agent2 with a note; agent2 sees the whole transcript once it accepts.
        log_in(other, url, "agent2")
        go_ready(other)
        page.click("#transfer-box summary")
        page.select_option("#transfer-agent", str(agent2.pk))
        page.fill("#transfer-note-input", "Wants a refund")
        page.click("#transfer-button")
        offer = other.locator(".offer")
        expect(offer).to_contain_text("Transferred chat")
        expect(offer).to_contain_text("Wants a refund")
        offer.locator(".accept").click()
        expect(other.locator("#transcript .msg-in .msg-text")).to_have_text(
            ["First question", "Are you there?", "Hello??"]
        )
        expect(other.locator("#transfer-note")).to_contain_text("Wants a refund")
        expect(page.locator(".chat-item")).to_have_count(0)

        # The customer is told of the transfer (system chat messages on by default), and
        # agent2's transcript shows the same line.
        expect(other.locator("#transcript .msg-out", has_text="Agent1 has left the chat.")).to_contain_text("System")

        other.fill("#composer", "I can help with the refund")
        other.click("#send")
        assert wait_for_replies(url, bot, "cy", count=6)[3:] == [
            "We are transferring your chat to another agent. Please wait a moment.",
            "Agent1 has left the chat.",
            "I can help with the refund",
        ]
        mine, theirs = (
            ChatAssignment.objects.filter(agent=agent1).get(),
            ChatAssignment.objects.filter(agent=agent2).get(),
        )
        assert (mine.status, theirs.status, theirs.transfer_note) == (
            Status.TRANSFERRED,
            Status.ACTIVE,
            "Wants a refund",
        )
        assert theirs.interaction.agent == agent2.user
    finally:
        other.context.close()
