"""New chat on the Agent Desktop, in headless Chromium on a real Daphne process: an agent of a
service with a Telegram outbound account (the simulator's fake Telegram) writes first to a
known customer; the message reaches the simulator and the answer lands in the same chat."""

import pytest
from playwright.sync_api import expect

from agentdesk.models import Agent
from conversations.models import Customer, Interaction
from scenarios.models import ServiceTeam, Team
from scenarios.services import assign_account
from simulator.models import SimMessage
from simulator.services import customer_says, get_customer, register_webhook
from tests.agentdesk.conftest import assert_accessible, go_ready, log_in
from tests.outbound.conftest import link_account, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]


def test_an_agent_starts_a_chat_from_the_desktop_and_gets_the_answer(
    require_postgres, redis_url, live_daphne, desk_tx, browser, page, axe_script, tmp_path
):
    url = live_daphne.url
    account, sim = link_account(url)
    register_webhook(account=sim, url=f"{url}{account.webhook_path}", secret=account.webhook_secret)
    service = desk_tx.service("Sales")
    assign_account(account=account, service=service)  # the service's outbound chat account
    team = Team.objects.create(name="Sales team")
    ServiceTeam.objects.create(service=service, team=team, level=50)
    desk_tx.agent("olga", team=team, state=Agent.State.LOGGED_OUT, chat_share=100)  # one chat slot
    other_team = Team.objects.create(name="Billing team")
    ServiceTeam.objects.create(service=desk_tx.service("Billing"), team=other_team, level=50)
    desk_tx.agent("bob", team=other_team, state=Agent.State.LOGGED_OUT)
    # Two customers who wrote to the bot before (no scenario entry holds the account).
    ann, ben = (
        get_customer(account=sim, key="ann", name="Ann Lee"),
        get_customer(account=sim, key="ben", name="Ben Ode"),
    )
    customer_says(account=sim, customer=ann, text="hello earlier")
    customer_says(account=sim, customer=ben, text="hi")
    wait_until(lambda: account.customers.count() == 2, what="the known customers", timeout=20)
    Interaction.objects.filter(account=account).update(status="closed")

    # Bob's service has no outbound account: no New chat for him.
    bobs = browser.new_context().new_page()
    log_in(bobs, url, "bob")
    bobs.wait_for_load_state("networkidle")
    expect(bobs.locator("#new-chat")).to_be_hidden()
    bobs.context.close()

    log_in(page, url, "olga")
    go_ready(page)
    page.click("#new-chat")
    dialog = page.locator("#new-chat-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#new-chat-search")).to_be_focused()
    expect(page.locator("#new-chat-account")).to_have_text(f"Sales · Telegram: {account.name}")
    expect(page.locator("#new-chat-rule")).to_contain_text("wrote to this account before")
    expect(page.locator("#new-chat-rule")).to_contain_text("Facebook")

    page.fill("#new-chat-search", "ann")
    expect(page.locator(".new-chat-customer")).to_have_count(1)
    expect(page.locator(".new-chat-customer")).to_contain_text("Ann Lee")
    expect(page.get_by_label("Ann Lee")).to_be_checked()  # the only match is picked
    page.click("#new-chat-start")  # no message yet: said, and the message field gets the focus
    expect(page.locator("#new-chat-error")).to_have_text("Write the first message.")
    expect(page.locator("#new-chat-text")).to_be_focused()
    page.fill("#new-chat-text", "Hi Ann, your order 4711 has shipped.")
    expect(page.locator("#new-chat-error")).to_be_hidden()  # editing clears the complaint
    assert_accessible(page, axe_script, "the New chat dialog")
    dialog.screenshot(path=str(tmp_path / "new-chat-dialog.png"))

    page.click("#new-chat-start")
    expect(dialog).to_be_hidden()
    chat = page.locator(".chat-item")
    expect(chat).to_have_count(1)
    expect(chat).to_contain_text("Ann Lee")
    expect(page.locator("#chat-header")).to_contain_text("Ann Lee")
    expect(page.locator("#transcript .msg-out .msg-text")).to_have_text(["Hi Ann, your order 4711 has shipped."])
    expect(page.locator("#composer")).to_be_focused()
    wait_until(
        lambda: SimMessage.objects.filter(
            account=sim, direction="out", text="Hi Ann, your order 4711 has shipped."
        ).exists(),
        what="the first message at the simulator",
        timeout=20,
    )
    expect(page.locator("#transcript .msg-out .msg-status")).to_have_attribute("data-status", "sent")

    customer_says(account=sim, customer=ann, text="Great, thanks! When will it arrive?")
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["Great, thanks! When will it arrive?"])
    page.screenshot(path=str(tmp_path / "desk-outbound-chat.png"))
    expect(page.locator(".chat-item")).to_have_count(1)  # the same chat, not a new one
    assert Interaction.objects.filter(customer__account=account, status="open").count() == 1

    # The one chat slot is taken: a second start is refused, in the dialog, in words.
    page.click("#new-chat")
    page.fill("#new-chat-search", "ben")
    expect(page.get_by_label("Ben Ode")).to_be_checked()
    page.fill("#new-chat-text", "Hi Ben")
    page.click("#new-chat-start")
    expect(page.locator("#new-chat-error")).to_have_text("You have no free chat slot.")
    assert not Interaction.objects.filter(
        customer=Customer.objects.get(account=account, external_id=ben.external_id), status="open"
    ).exists()
    page.keyboard.press("Escape")  # closes, and the focus goes back to the button
    expect(dialog).to_be_hidden()
    expect(page.locator("#new-chat")).to_be_focused()
