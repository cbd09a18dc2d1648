"""A working day at the Agent Desktop (issue 15), in headless Chromium on a real Daphne.

Each test is one browser session that checks several things in the order an agent meets
them, so the slow part (server, login, scenario) is paid once per group.
"""

import json
import time

import pytest
from playwright.sync_api import expect

from agentdesk.models import Agent, ChatAssignment, HandledRequest, PrivateNote
from conversations.models import Message
from simulator.client import chat, send_text, wait_for_replies
from tests.agentdesk.conftest import assert_accessible, go_ready, log_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

Status = ChatAssignment.Status


def wait_until(check, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def chat_item(page, name: str):
    return page.locator(".chat-item", has_text=name)


def test_two_customers_one_returning_drafts_notes_transcript_history_and_logout(contact_center, page, axe_script):
    url, bot = contact_center["url"], contact_center["bot"]
    agent1, _ = contact_center["agents"]
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_viewport_size({"width": 1280, "height": 720})

    log_in(page, url, "agent1")
    expect(page.locator("#state-select")).to_have_value("not_ready")  # the control shows the state
    expect(page.locator("#wrapup")).to_be_hidden()  # no chat, no wrap-up form
    go_ready(page)
    expect(page.locator("#state-select")).to_have_value("ready")

    # First visit: the greeting by first name, "connecting" with the agent's first name.
    send_text(url, bot, "ana", "First visit: my parcel", name="Ana Lee")
    page.locator(".offer .accept").click()
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["First visit: my parcel"])
    expect(page.locator("#state-select option:checked")).to_have_text("Busy")
    page.fill("#composer", "Sorry to hear that")
    page.press("#composer", "Enter")
    reply = page.locator("#transcript .msg-out").last
    expect(reply.locator(".msg-status")).to_have_attribute("data-status", "sent")
    expect(reply.locator(".msg-status")).to_have_attribute("title", "Sent")
    # Sender and time sit above the bubble, not inside it.
    expect(reply.locator(".msg-head .msg-sender")).to_have_text("Agent1")
    expect(reply.locator(".msg-text")).to_have_text("Sorry to hear that")
    page.click("#end-chat")
    expect(page.locator("#wrapup-done")).to_be_visible()
    page.select_option("#disposition", label="Problem solved")
    page.fill("#notes", "Parcel re-sent")
    page.click("#wrapup-done")
    expect(page.locator(".chat-item")).to_have_count(0)
    # After Done nothing of the old chat lingers: no form, no notes, no running timer.
    expect(page.locator("#wrapup")).to_be_hidden()
    expect(page.locator("#notes")).to_have_value("")
    expect(page.locator("#acw-timer")).to_have_text("")
    first_visit = wait_for_replies(url, bot, "ana", count=5)
    assert first_visit[:3] == [
        "Hello Ana! Thank you for contacting us.",
        "Please wait while we connect you to an agent.",
        "We are connecting you to Agent1.",
    ]
    assert first_visit[-1] == "Thank you for chatting with us. Goodbye!"

    # Ana comes back while Ben writes too; both are accepted.
    send_text(url, bot, "ana", "Back again about the parcel", name="Ana Lee")
    send_text(url, bot, "ben", "A different question", name="Ben Ito")
    expect(page.locator(".offer")).to_have_count(2)
    page.locator(".offer .accept").first.click()
    expect(page.locator(".offer")).to_have_count(1)
    page.locator(".offer .accept").first.click()
    expect(page.locator(".chat-item")).to_have_count(2)

    # Switched back and forth, each transcript is its own customer's.
    chat_item(page, "Ben Ito").click()
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["A different question"])
    chat_item(page, "Ana Lee").click()
    expect(page.locator("#chat-header")).to_contain_text("Ana Lee")
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["Back again about the parcel"])
    earlier = page.locator("#earlier li")
    expect(earlier).to_have_count(1)
    earlier.locator("button").click()
    expect(page.locator("#history .msg-in .msg-text")).to_have_text(["First visit: my parcel"])
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator(".chat-item.selected")).to_contain_text("Ben Ito")
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["A different question"])
    expect(page.locator("#history li")).to_have_count(0)
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator(".chat-item.selected")).to_contain_text("Ana Lee")
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["Back again about the parcel"])
    assert errors == []

    # A draft survives a reload and stays with its conversation.
    page.fill("#composer", "Half-written answer for Ana")
    page.reload()
    expect(page.locator("#connection")).to_have_text("Connected")
    chat_item(page, "Ben Ito").click()
    expect(page.locator("#composer")).to_have_value("")
    chat_item(page, "Ana Lee").click()
    expect(page.locator("#composer")).to_have_value("Half-written answer for Ana")

    # A private note: shown apart from messages, kept, never sent.
    page.check("#note-mode")
    expect(page.locator("#composer")).to_have_value("")
    page.fill("#composer", "VIP customer, second parcel lost")
    page.press("#composer", "Enter")
    expect(page.locator("#transcript .note .note-text")).to_have_text(["VIP customer, second parcel lost"])
    expect(page.locator("#transcript .note .note-label")).to_have_text(["Private note"])
    expect(page.locator("#notes-list .note-text")).to_have_text(["VIP customer, second parcel lost"])
    page.uncheck("#note-mode")
    expect(page.locator("#composer")).to_have_value("Half-written answer for Ana")
    page.press("#composer", "Enter")
    second_visit = wait_for_replies(url, bot, "ana", count=9)
    assert second_visit[5:] == [
        "Hello Ana! Thank you for contacting us.",
        "Please wait while we connect you to an agent.",
        "We are connecting you to Agent1.",
        "Half-written answer for Ana",
    ]
    assert PrivateNote.objects.get().text == "VIP customer, second parcel lost"
    assert not Message.objects.filter(text__contains="VIP").exists()
    assert not any("VIP" in (m["text"] or "") for m in chat(url, bot, "ana"))

    # Links are clickable and safe; long words wrap; one separator for today.
    long_word = "x" * 400
    send_text(url, bot, "ana", f"Track https://example.com/t?id=7, not javascript:alert(1) {long_word}", name="Ana")
    link = page.locator("#transcript .msg-in a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://example.com/t?id=7")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    bubble = page.locator("#transcript .msg-in .msg-text").last
    assert bubble.evaluate("n => n.scrollWidth <= n.clientWidth + 1 && n.getBoundingClientRect().width < 900")
    expect(page.locator("#transcript .day-sep")).to_have_text(["Today"])

    # History: the agent finds its earlier chat by a word in it and reads it.
    page.fill("#history-q", "first visit")
    page.click("#history-search")
    result = page.locator("#history-results .result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Ana Lee")
    result.click()
    expect(page.locator("#past-view")).to_be_visible()
    expect(page.locator("#past-view .msg-in .msg-text")).to_have_text(["First visit: my parcel"])
    expect(page.locator("#transcript")).to_be_hidden()
    assert_accessible(page, axe_script, "the desktop with a past transcript open")
    page.click("#past-view .past-close")
    expect(page.locator("#transcript")).to_be_visible()

    # The help overlay lists the shortcuts; Alt+E ends the chat shown.
    page.locator("#chats-title").click()
    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    expect(page.locator("#help-dialog")).to_contain_text("Accept the ringing chat")
    assert_accessible(page, axe_script, "the desktop with the help overlay")
    page.keyboard.press("Escape")
    expect(page.locator("#help-dialog")).to_be_hidden()
    assert_accessible(page, axe_script, "the desktop with two chats")
    chat_item(page, "Ben Ito").click()
    page.keyboard.press("Alt+e")
    expect(page.locator("#chat-header")).to_contain_text("chat ended, wrap-up")
    expect(page.locator("#state-select option:checked")).to_have_text("Busy")

    # "Logged out" in the state control logs out and disconnects the desktop.
    page.select_option("#state-select", "logged_out")
    page.wait_for_url(f"{url}/agent/login/")
    agent1.refresh_from_db()
    assert agent1.state == Agent.State.LOGGED_OUT
    assert errors == []


# Hiding a headless tab: Chromium's headless pages are always visible and focused, so the
# test tells the page it is hidden (as the browser would when the agent switches tabs)
# and records the real Notification objects the desktop creates, and its ring tones.
HIDE_AND_RECORD = """
(() => {
  window.__away = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return window.__away ? "hidden" : "visible"; } });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return window.__away; } });
  const hasFocus = Document.prototype.hasFocus;
  Document.prototype.hasFocus = function () { return !window.__away && hasFocus.call(this); };
  window.__shown = [];
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__shown.push({ title, body: options && options.body });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
  window.__tones = 0;
  const osc = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () { window.__tones += 1; return osc.call(this); };
})();
"""


def set_away(page, away: bool) -> None:
    page.evaluate(
        """away => { window.__away = away; document.dispatchEvent(new Event("visibilitychange"));
                     window.dispatchEvent(new Event(away ? "blur" : "focus")); }""",
        away,
    )


def test_notifications_ringing_shortcuts_and_nothing_lost_across_reconnects(contact_center, browser):
    url, bot = contact_center["url"], contact_center["bot"]
    agent1, _ = contact_center["agents"]
    context = browser.new_context(permissions=["notifications"])
    context.add_init_script(HIDE_AND_RECORD)
    page = context.new_page()
    page.set_default_timeout(20_000)

    # The desktop's socket goes through a switch: cut it, or swallow one ack and cut.
    net = {"cut": False, "swallow_ack_of": None, "routes": [], "sent": []}

    def through_switch(route):
        if net["cut"]:
            route.close()
            return
        server = route.connect_to_server()

        def from_page(message):
            net["sent"].append(message)
            server.send(message)

        def from_server(message):
            frame = json.loads(message)
            if frame.get("type") == "ack" and frame.get("action") == net["swallow_ack_of"]:
                # The server applied the action but the answer is lost with the connection.
                net["swallow_ack_of"] = None
                route.close()
                return
            route.send(message)

        route.on_message(from_page)
        server.on_message(from_server)
        net["routes"].append(route)

    page.route_web_socket("**/ws/agent/", through_switch)
    try:
        log_in(page, url, "agent1")
        expect(page.locator("#enable-notifications")).to_be_hidden()  # already granted
        go_ready(page)

        # An offer while the tab is hidden: a notification, the count in the title, ringing.
        set_away(page, True)
        send_text(url, bot, "ana", "Anyone there?", name="Ana Lee")
        expect(page.locator(".offer")).to_have_count(1)
        page.wait_for_function("window.__shown.some(n => n.title === 'New chat: Ana Lee')")
        expect(page).to_have_title("(1) Agent Desktop")
        page.wait_for_function("window.__tones >= 2", timeout=10_000)  # it rings again
        assert page.evaluate("agentDesk.ringing") is True
        page.keyboard.press("Alt+a")
        expect(page.locator(".chat-item")).to_have_count(1)
        expect(page.locator(".offer")).to_have_count(0)
        assert page.evaluate("agentDesk.ringing") is False
        tones = page.evaluate("window.__tones")
        page.wait_for_timeout(3000)
        assert page.evaluate("window.__tones") == tones  # silent once answered

        send_text(url, bot, "ana", "Hello again?", name="Ana Lee")
        page.wait_for_function("window.__shown.some(n => n.title === 'Ana Lee' && n.body === 'Hello again?')")
        expect(page).to_have_title("(2) Agent Desktop")
        set_away(page, False)
        expect(page).to_have_title("Agent Desktop")

        # An offer made while the socket is down appears after the reconnect.
        net["cut"] = True
        for route in net["routes"]:
            route.close()
        expect(page.locator("#connection")).to_contain_text("reconnecting")
        send_text(url, bot, "ben", "Are you open today?", name="Ben Ito")
        ben_offered = ChatAssignment.objects.filter(interaction__customer__first_name="Ben", status=Status.OFFERED)
        wait_until(ben_offered.exists, "the offer to Ben")
        net["cut"] = False
        expect(page.locator("#connection")).to_have_text("Connected", timeout=30_000)
        expect(page.locator(".offer")).to_contain_text("Ben Ito")
        page.keyboard.press("Alt+r")
        expect(page.locator(".offer")).to_have_count(0)
        assert ChatAssignment.objects.get(interaction__customer__first_name="Ben").status == Status.REJECTED
        expect(page.locator("#state-select option:checked")).to_contain_text("Not Ready after chats")

        # The answer to a send is lost with the connection: re-sent, applied once.
        net["swallow_ack_of"] = "send"
        chat_item(page, "Ana Lee").click()
        page.fill("#composer", "Only once, please")
        page.press("#composer", "Enter")
        expect(page.locator("#connection")).to_have_text("Connected", timeout=30_000)
        page.wait_for_function("agentDesk.socket.pending.size === 0")
        sends = [m for m in net["sent"] if "Only once, please" in m]
        assert len(sends) == 2 and json.loads(sends[0])["request_id"] == json.loads(sends[1])["request_id"]
        wait_until(lambda: "Only once, please" in wait_for_replies(url, bot, "ana", count=1), "the reply")
        time.sleep(1)
        assert Message.objects.filter(text="Only once, please").count() == 1
        assert wait_for_replies(url, bot, "ana", count=1).count("Only once, please") == 1
        assert HandledRequest.objects.filter(action="send").count() == 1
        expect(page.locator("#transcript .msg-out .msg-text", has_text="Only once, please")).to_have_count(1)

        # Written while offline, then the page reloaded: the reply still goes out, once.
        net["cut"] = True
        for route in net["routes"]:
            route.close()
        expect(page.locator("#connection")).to_contain_text("reconnecting")
        page.fill("#composer", "Written offline")
        page.press("#composer", "Enter")
        expect(page.locator("#notice")).to_contain_text("Not connected")
        page.reload()
        net["cut"] = False
        expect(page.locator("#connection")).to_have_text("Connected", timeout=30_000)
        page.wait_for_function("agentDesk.socket.pending.size === 0")
        wait_until(lambda: Message.objects.filter(text="Written offline").exists(), "the offline reply")
        assert Message.objects.filter(text="Written offline").count() == 1

        # A supervisor logs the agent out: the desktop says so and stops reconnecting.
        from agentdesk import services

        services.force_state(supervisor=agent1.user, agent_id=agent1.pk, state="logged_out")
        expect(page.locator("#state-label")).to_have_text("Logged out")
        expect(page.locator("#connection")).to_have_text("Disconnected")
        expect(page.locator("#notice")).to_contain_text("You are logged out")
    finally:
        context.close()


def test_greetings_per_messenger_supervisor_notes_admin_flag_and_accessibility(demo_center, browser, axe_script):
    from django.contrib.auth import get_user_model

    from integrations.models import IntegrationAccount
    from simulator.demo import demo_account
    from tests.agentdesk.conftest import PASSWORD

    url = demo_center
    alice_context, bob_context, boss_context = (browser.new_context() for _ in range(3))
    alice, bob, boss = (c.new_page() for c in (alice_context, bob_context, boss_context))
    try:
        log_in(alice, url, "agent1")
        log_in(bob, url, "agent2")
        go_ready(alice)

        # The greeting uses the name the platform gave (LINE's through its profile API);
        # Vonage SMS gives none. The customer is told who they are being connected to.
        expected = {
            "line": "Hello Kim Park! Thank you for contacting us.",
            "viber": "Hello Lee Moon! Thank you for contacting us.",
            "nexmo": "Hello! Thank you for contacting us.",
        }
        names = {"line": "Kim Park", "viber": "Lee Moon", "nexmo": "Sam Vo"}
        for platform, name in names.items():
            send_text(url, demo_account(platform), "c1", f"A question on {platform}", name=name)
            got = wait_for_replies(url, demo_account(platform), "c1", count=3)
            assert got[0] == expected[platform], platform
            assert got[2] == "We are connecting you to Alice.", platform
        expect(alice.locator(".offer")).to_have_count(3)

        # Alice rejects the LINE chat: it goes to Bob, and the customer is told so.
        go_ready(bob)
        alice.locator(".offer", has_text="LINE").locator(".reject").click()
        expect(bob.locator(".offer")).to_contain_text("LINE")
        assert wait_for_replies(url, demo_account("line"), "c1", count=4)[3] == "We are connecting you to Bob."
        for offer in ("Viber", "Vonage"):
            alice.locator(".offer", has_text=offer).locator(".accept").click()
        expect(alice.locator(".chat-item")).to_have_count(2)

        # A supervisor finds the Viber chat by a word, reads it and adds a private note;
        # Alice sees the note at once, the customer never.
        get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True, is_superuser=True)
        boss.goto(f"{url}/agent/login/")
        boss.fill("#id_username", "boss")
        boss.fill("#id_password", PASSWORD)
        boss.click("#login-button")
        boss.wait_for_url(f"{url}/agent/supervisor/")
        boss.fill("#history-q", "question on viber")
        boss.click("#history-search")
        result = boss.locator("#history-results .result")
        expect(result).to_have_count(1)
        expect(result).to_contain_text("Lee Moon")
        result.click()
        expect(boss.locator("#past-view .msg-in .msg-text")).to_have_text(["A question on viber"])
        boss.fill("#past-note", "Offer the loyalty discount")
        boss.click("#past-view .past-note-form button")
        expect(boss.locator("#past-view .note .note-text")).to_have_text(["Offer the loyalty discount"])
        assert_accessible(boss, axe_script, "the supervisor page")
        chat_item(alice, "Lee Moon").click()
        expect(alice.locator("#transcript .note .note-text")).to_have_text(["Offer the loyalty discount"])
        expect(alice.locator("#transcript .note .msg-sender")).to_have_text(["boss"])
        assert not any("loyalty" in (m["text"] or "") for m in chat(url, demo_account("viber"), "c1"))
        # Bob, who never had the Viber chat, does not find it.
        bob.fill("#history-q", "question on viber")
        bob.click("#history-search")
        expect(bob.locator("#history-results")).to_contain_text("No conversation found.")
        assert_accessible(alice, axe_script, "the desktop with an offer and chats")

        # The admin flags an account that is on no scenario entry.
        IntegrationAccount.objects.create(
            messenger="telegram", name="Forgotten bot", access_token="1:x", username="fbot"
        )
        boss.goto(f"{url}/admin/integrations/integrationaccount/")
        row = boss.locator("#result_list tr", has_text="Forgotten bot")
        expect(row).to_contain_text("On no scenario entry: its customers get no answer.")
        expect(boss.locator("#result_list tr", has_text="Acme LINE")).to_contain_text("Mobile Chat")

        # Vonage's Set Webhook names each of its two URLs once.
        vonage = IntegrationAccount.objects.get(messenger="nexmo")
        boss.goto(f"{url}/admin/integrations/integrationaccount/{vonage.pk}/change/")
        boss.click("button:has-text('Set Webhook')")
        said = boss.locator(".messagelist").inner_text()
        inbound = f"{url}/webhooks/nexmo/{vonage.pk}/"
        assert f"{inbound} (Inbound URL)" in said and said.count(f"{inbound}status/") == 1, said

        # The browser's favicon request is answered.
        icon = boss.request.get(f"{url}/favicon.ico")
        assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")

        # The simulator's customer page passes axe-core too.
        boss.goto(f"{url}/simulator/")
        expect(boss.locator("#text")).to_be_visible()
        assert_accessible(boss, axe_script, "the simulator page")
    finally:
        for context in (alice_context, bob_context, boss_context):
            context.close()
