"""The customer chat page in headless Chromium against a real Daphne process."""

import pytest
from playwright.sync_api import expect

from integrations.models import IntegrationAccount
from integrations.providers import get_provider
from simulator.demo import API_BASE_PATHS
from simulator.factories import create_account
from simulator.models import SimCustomer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_chat(page, url: str, account, name: str):
    page.goto(f"{url}/simulator/")
    page.select_option("#account", str(account.id))
    page.fill("#name", name)
    page.dispatch_event("#name", "change")
    expect(page.locator("#platform")).to_contain_text(account.get_platform_display())


def test_customer_chats_in_two_tabs_and_sees_replies(live_daphne, browser):
    bot = create_account(platform="line", name="Acme LINE")  # echo mode: no webhook yet
    context = browser.new_context()
    try:
        ana, ben = context.new_page(), context.new_page()
        _open_chat(ana, live_daphne.url, bot, "Ana Lee")
        _open_chat(ben, live_daphne.url, bot, "Ben Ito")

        ana.fill("#text", "Hello <b>there</b>")
        ana.press("#text", "Enter")
        ben.fill("#text", "Hi from Ben")
        ben.click("button[type=submit]")

        expect(ana.locator("#messages li.out")).to_have_text(["Echo: Hello <b>there</b>"])  # text, not markup
        expect(ben.locator("#messages li.out")).to_have_text(["Echo: Hi from Ben"])
        expect(ana.locator("#messages li.in")).to_have_count(1)
        assert sorted(SimCustomer.objects.values_list("name", flat=True)) == ["Ana Lee", "Ben Ito"]
    finally:
        context.close()


def test_customer_message_reaches_the_product_and_the_agent_reply_arrives(live_daphne, page, settings):
    settings.PUBLIC_BASE_URL = live_daphne.url
    bot = create_account(platform="telegram", name="Acme Support", username="acme_support_bot")
    account = IntegrationAccount.objects.create(
        messenger="telegram",
        name="Acme",
        username=bot.username,
        access_token=bot.token,
        api_base_url=f"{live_daphne.url}{API_BASE_PATHS['telegram']}",
    )
    get_provider("telegram").set_webhook(account, account.webhook_url)

    _open_chat(page, live_daphne.url, bot, "Ana Lee")
    page.fill("#text", "I need help")
    page.press("#text", "Enter")
    expect(page.locator("#status")).to_contain_text("Delivered to the webhook (HTTP 200)")

    stored = account.messages.get(direction="in")
    assert stored.text == "I need help"
    customer = SimCustomer.objects.get(account=bot)
    get_provider("telegram").send_text(account, to=customer.external_id, text="An agent is here", idempotency_key="k")
    expect(page.locator("#messages li.out").last).to_have_text("An agent is here")

    page.click("#wire summary")
    expect(page.locator("#log")).to_contain_text("/sendMessage → 200")
    expect(page.locator("#log")).to_contain_text("webhook message POST " + account.webhook_url)
    assert bot.token not in page.locator("#log").inner_text()

    page.click("#block")
    expect(page.locator("#status")).to_contain_text(
        "You blocked the bot. The platform told the bot (unfollow event, delivered)"
    )
    expect(page.locator("#block")).to_have_text("Unblock the bot")
    assert SimCustomer.objects.get(account=bot).blocked is True
