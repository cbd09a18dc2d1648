"""Headless Chromium: an administrator builds a scenario from blocks and sees its flowchart."""

import json

import pytest
from django.contrib.auth import get_user_model

from scenarios.models import Scenario

PASSWORD = "a-long-password-1"

pytestmark = pytest.mark.browser


def log_in(page, url):
    get_user_model().objects.create_superuser("builder", password=PASSWORD)
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "builder")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}/admin/")


def test_build_a_scenario_inline_with_per_type_help_and_see_the_flowchart(live_daphne, page):
    url = live_daphne.url
    log_in(page, url)
    page.goto(f"{url}/admin/scenarios/scenario/add/")
    page.fill("#id_name", "Greeter")

    page.click("text=Add another Block")
    page.fill("#id_blocks-0-title", "Ask name")
    page.select_option("#id_blocks-0-type", "request_input")
    # The type's example and help appear at once.
    example = json.loads(page.input_value("#id_blocks-0-settings"))
    assert example["variable"] == "orderNumber"
    assert "Request Input" in page.locator(".block-type-help").first.inner_text()
    page.fill("#id_blocks-0-settings", '{"message": "Your name?", "variable": "name", "timeout": 60}')
    page.fill("#id_blocks-0-next_block", "hello")
    page.fill("#id_blocks-0-other_exits", "Timeout = bye")

    page.click("text=Add another Block")
    page.fill("#id_blocks-1-order", "1")
    page.fill("#id_blocks-1-key", "hello")
    page.fill("#id_blocks-1-title", "Hello")
    page.fill("#id_blocks-1-settings", '{"message": "Hello $(name)!"}')
    page.fill("#id_blocks-1-next_block", "bye")

    page.click("text=Add another Block")
    page.fill("#id_blocks-2-order", "2")
    page.fill("#id_blocks-2-key", "bye")
    page.fill("#id_blocks-2-title", "Bye")
    page.select_option("#id_blocks-2-type", "exit")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    scenario = Scenario.objects.get(name="Greeter")
    assert [(b.key, b.type, b.exits) for b in scenario.blocks.order_by("order")] == [
        ("ask-name", "request_input", {"next": "hello", "Timeout": "bye"}),
        ("hello", "send_message", {"next": "bye"}),
        ("bye", "exit", {}),
    ]
    diagram = page.locator("svg.scenario-diagram")
    assert diagram.is_visible()
    assert "Ask name" in diagram.inner_html() and "Timeout" in diagram.inner_html()

    # Breaking an exit is refused with the reason, and the stored scenario stays as it was.
    page.fill("#id_blocks-1-next_block", "nowhere")
    page.click("input[name=_continue]")
    assert 'points to a missing block "nowhere"' in page.locator(".errorlist").first.inner_text()
    assert scenario.blocks.get(key="hello").exits == {"next": "bye"}
