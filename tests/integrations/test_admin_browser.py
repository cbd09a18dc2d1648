"""Acceptance in headless Chromium: an administrator links a Telegram bot and a Facebook page.

Daphne serves the product (with the simulator) on the test database; the admin's buttons
call the simulator's fake Telegram API over real HTTP."""

import pytest
from django.contrib.auth import get_user_model

from integrations.models import IntegrationAccount
from simulator.factories import create_account
from simulator.models import SimRequest
from tests.integrations.conftest import simulator_api_base

PASSWORD = "a-long-password-1"


def log_in(page, url):
    get_user_model().objects.create_superuser("boss", password=PASSWORD)
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}/admin/")


@pytest.mark.browser
def test_add_telegram_account_set_webhook_and_test_connection(live_daphne, page):
    bot = create_account(platform="telegram")
    url = live_daphne.url
    log_in(page, url)

    page.goto(f"{url}/admin/integrations/integrationaccount/")
    page.click("text=Add integration account")
    page.click("text=Telegram")
    page.fill("#id_username", bot.username)
    page.fill("#id_access_token", bot.token)
    page.click("summary:has-text('Advanced')")
    page.fill("#id_api_base_url", simulator_api_base(url, "telegram"))
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    page.click("button:has-text('Set Webhook')")
    success = page.locator(".messagelist .success").inner_text()
    account = IntegrationAccount.objects.get()
    our_url = f"{url}/webhooks/telegram/{account.pk}/"
    assert success.startswith(f"Webhook set to {our_url}")
    bot.refresh_from_db()
    assert bot.webhook_url == our_url
    assert bot.webhook_secret == account.webhook_secret and len(account.webhook_secret) >= 32
    assert bot.webhook_events == ["message", "edited_message", "callback_query", "my_chat_member"]
    assert SimRequest.objects.filter(account=bot, path__endswith="/setWebhook", status_code=200).exists()

    page.fill("#id_access_token", "7000000009:AAwrong" + "w" * 30)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.click("button:has-text('Test Connection')")
    assert page.locator(".messagelist .error").inner_text() == "Test Connection failed: Unauthorized"
    assert bot.token not in page.content()
    # Daphne's own access log (written past the logging filters) shows the simulator's fake
    # Telegram paths, which carry the token as the real API's do; no other line may.
    lines = live_daphne.log_path.read_text().splitlines()
    assert [line for line in lines if bot.token in line and "/simulator/api/telegram/bot" not in line] == []


@pytest.mark.browser
def test_generate_random_token_fills_the_facebook_verify_token(live_daphne, page):
    url = live_daphne.url
    log_in(page, url)

    page.goto(f"{url}/admin/integrations/integrationaccount/add/")
    page.click("text=Facebook Messenger")
    assert page.input_value("#id_webhook_secret") == ""
    page.click("button:has-text('Generate random token')")
    page.wait_for_function("document.querySelector('#id_webhook_secret').value.length >= 32")
    token = page.input_value("#id_webhook_secret")
    assert page.get_attribute("#id_webhook_secret", "type") == "text"  # shown, to copy into Facebook

    page.fill("#id_username", "acmesupport")
    page.fill("#id_page_id", "1234567890")
    page.fill("#id_access_token", "EAAG" + "p" * 40)
    page.fill("#id_signing_secret", "s" * 32)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    account = IntegrationAccount.objects.get()
    assert account.webhook_secret == token
    assert token not in page.content()
