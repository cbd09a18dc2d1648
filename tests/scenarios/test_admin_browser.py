"""Headless Chromium: an administrator builds a scenario from blocks and sees its flowchart."""

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


def test_build_a_scenario_with_per_type_fields_and_see_the_flowchart(live_daphne, page):
    url = live_daphne.url
    log_in(page, url)
    page.goto(f"{url}/admin/scenarios/scenario/add/")
    page.fill("#id_name", "Greeter")

    page.click("text=Add another Block")
    page.fill("#id_blocks-0-title", "Ask name")
    page.select_option("#id_blocks-0-type", "request_input")
    # Only the chosen type's settings and exits show, with the type's help.
    assert page.is_visible("#id_blocks-0-request_input__variable")
    assert page.is_visible("#id_blocks-0-request_input__exit__timeout")
    assert not page.is_visible("#id_blocks-0-send_message__message")
    assert not page.is_visible("#id_blocks-0-find_agent__priority")
    assert not page.is_visible("#id_blocks-0-other_exits")
    assert "Request Input" in page.locator(".block-type-help").first.inner_text()
    page.fill("#id_blocks-0-request_input__message", "Your name?")
    page.fill("#id_blocks-0-request_input__variable", "name")
    page.fill("#id_blocks-0-request_input__timeout", "60")

    page.click("text=Add another Block")
    page.fill("#id_blocks-1-order", "1")
    page.fill("#id_blocks-1-key", "hello")
    page.fill("#id_blocks-1-title", "Hello")
    assert page.is_visible("#id_blocks-1-send_message__message")  # Send Message is the first type
    page.fill("#id_blocks-1-send_message__message", "Hello $(name)!")

    page.click("text=Add another Block")
    page.fill("#id_blocks-2-order", "2")
    page.fill("#id_blocks-2-key", "bye")
    page.fill("#id_blocks-2-title", "Bye")
    page.select_option("#id_blocks-2-type", "exit")
    assert not page.is_visible("#id_blocks-2-next_block")  # Exit has no next block

    # The exits offer the keys typed on the page, new blocks included.
    options = page.locator("#id_blocks-0-next_block-keys option")
    assert sorted(options.evaluate_all("els => els.map(e => e.value)")) == ["ask-name", "bye", "hello"]
    page.fill("#id_blocks-0-next_block", "hello")
    page.fill("#id_blocks-0-request_input__exit__timeout", "bye")
    page.fill("#id_blocks-1-next_block", "bye")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    scenario = Scenario.objects.get(name="Greeter")
    assert [(b.key, b.type, b.settings, b.exits) for b in scenario.blocks.order_by("order")] == [
        (
            "ask-name",
            "request_input",
            {"message": "Your name?", "variable": "name", "timeout": 60},
            {"next": "hello", "Timeout": "bye"},
        ),
        ("hello", "send_message", {"message": "Hello $(name)!"}, {"next": "bye"}),
        ("bye", "exit", {}, {}),
    ]
    diagram = page.locator("svg.scenario-diagram")
    assert diagram.is_visible()
    assert "Ask name" in diagram.inner_html() and "Timeout" in diagram.inner_html()
    # The stored settings come back in the type's fields.
    assert page.input_value("#id_blocks-0-request_input__variable") == "name"
    assert page.is_visible("#id_blocks-0-request_input__timeout")

    # A bad setting is refused on its field, and so is breaking an exit; nothing stored changes.
    page.fill("#id_blocks-0-request_input__variable", "item.name")
    page.click("input[name=_continue]")
    field_errors = page.locator(".field-request_input__variable .errorlist").first.inner_text()
    assert "must be a name of your own" in field_errors
    page.fill("#id_blocks-0-request_input__variable", "name")
    page.fill("#id_blocks-1-next_block", "nowhere")
    page.click("input[name=_continue]")
    assert 'points to a missing block "nowhere"' in page.locator(".errorlist").first.inner_text()
    assert scenario.blocks.get(key="hello").exits == {"next": "bye"}
    assert scenario.blocks.get(key="ask-name").settings["variable"] == "name"


def test_switch_branch_exits_are_picked_per_label(live_daphne, page):
    url = live_daphne.url
    log_in(page, url)
    page.goto(f"{url}/admin/scenarios/scenario/add/")
    page.fill("#id_name", "Menu")

    page.click("text=Add another Block")
    page.fill("#id_blocks-0-key", "menu")
    page.fill("#id_blocks-0-title", "Menu")
    page.select_option("#id_blocks-0-type", "switch")
    page.fill("#id_blocks-0-switch__variable", "item.message")
    page.fill("#id_blocks-0-switch__branches", "1 = Sales\n2 = Support")
    # Each branch label gets its own exit input; the raw lines box is hidden.
    assert not page.is_visible("#id_blocks-0-other_exits")
    assert page.is_visible("#id_blocks-0-switch__exit__default")

    for i, (key, text) in enumerate([("sales", "Sales here."), ("support", "Support here.")], 1):
        page.click("text=Add another Block")
        page.fill(f"#id_blocks-{i}-order", str(i))
        page.fill(f"#id_blocks-{i}-key", key)
        page.fill(f"#id_blocks-{i}-title", key.title())
        page.fill(f"#id_blocks-{i}-send_message__message", text)
        page.fill(f"#id_blocks-{i}-next_block", "bye")
    page.click("text=Add another Block")
    page.fill("#id_blocks-3-order", "3")
    page.fill("#id_blocks-3-key", "bye")
    page.fill("#id_blocks-3-title", "Bye")
    page.select_option("#id_blocks-3-type", "exit")

    page.get_by_label("Exit Sales").fill("sales")
    page.get_by_label("Exit Support").fill("support")
    page.fill("#id_blocks-0-switch__exit__default", "bye")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    menu = Scenario.objects.get(name="Menu").blocks.get(key="menu")
    assert menu.settings == {
        "variable": "item.message",
        "branches": [{"value": "1", "exit": "Sales"}, {"value": "2", "exit": "Support"}],
    }
    assert menu.exits == {"Sales": "sales", "Support": "support", "Default": "bye"}
    assert "Support" in page.locator("svg.scenario-diagram").inner_html()
    # Reopened, the picker shows the stored targets.
    assert page.get_by_label("Exit Sales").input_value() == "sales"
