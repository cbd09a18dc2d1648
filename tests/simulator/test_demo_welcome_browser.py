"""The whole product on its demo data: a customer on the chat page gets the scenario's answer."""

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command
from playwright.sync_api import expect

from scenarios.models import Scenario
from simulator.demo import demo_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("platform", ["telegram", "facebook", "line", "viber", "nexmo"])
def test_customer_gets_the_products_answer(platform, live_daphne, page, settings):
    settings.PUBLIC_BASE_URL = live_daphne.url  # the demo accounts point at this server
    # The stock scenario as its data migration installs it (a transactional test flushed it).
    if not Scenario.objects.filter(name="Mobile Chat").exists():
        importlib.import_module("scenarios.migrations.0004_stock_mobile_chat_texts").install(apps, None)
    call_command("load_demo", "--force", stdout=open("/dev/null", "w"))  # noqa: SIM115
    account = demo_account(platform)

    page.goto(f"{live_daphne.url}/simulator/")
    page.select_option("#account", str(account.id))
    page.fill("#text", "Hello, I have a question")
    page.press("#text", "Enter")

    expect(page.locator("#status")).to_contain_text("Delivered to the webhook (HTTP 200)")
    reply = page.locator("#messages li.out").first
    expect(reply).to_be_visible(timeout=30_000)
    assert reply.inner_text().strip() and not reply.inner_text().startswith("Echo:")
