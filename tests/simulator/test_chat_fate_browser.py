"""The customer chat page in headless Chromium against a real Daphne process: it reports each
message's real fate (slow, failing, or lost answers) and shows each message once."""

import pytest
from playwright.sync_api import expect

from simulator.factories import create_account
from simulator.models import SimMessage

from .test_chat_page_browser import _open_chat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _say(page, text: str):
    page.fill("#text", text)
    page.press("#text", "Enter")


def _assert_shown_once(page):
    ids = page.locator("#messages li.in").evaluate_all("items => items.map(item => item.dataset.id)")
    assert len(ids) == 1 and ids[0], ids


def test_a_slow_webhook_message_is_shown_once_with_its_delivery(live_daphne, page, receiver):
    """The poll finds the stored message while the send still waits for the webhook; the
    send's answer then brings it again: one bubble, not two with the same id."""
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")
    receiver.delay = 2.5  # longer than two polls

    _open_chat(page, live_daphne.url, bot, "Ana Lee")
    _say(page, "Are you there?")
    expect(page.locator("#messages li.in")).to_have_count(1)
    expect(page.locator("#status")).to_contain_text("Delivered to the webhook (HTTP 200)", timeout=10_000)
    page.wait_for_timeout(1200)  # one more poll

    expect(page.locator("#messages li.in")).to_have_count(1)
    _assert_shown_once(page)
    expect(page.locator("#messages li.in .fate")).to_have_text("Delivered to the webhook (HTTP 200).")


def test_a_webhook_answering_500_shows_retrying_then_delivered(live_daphne, page, receiver):
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")
    receiver.statuses = [500]  # then 200: the platform's retry (2 s later, driven by the polls) succeeds

    _open_chat(page, live_daphne.url, bot, "Ana Lee")
    _say(page, "Hello")
    expect(page.locator("#messages li.in .fate")).to_contain_text("Webhook answered HTTP 500 (attempt 1 of 8)")
    expect(page.locator("#status")).to_contain_text(
        "Delivered to the webhook (HTTP 200) after 2 attempts", timeout=10_000
    )
    assert len(receiver.posts()) == 2
    _assert_shown_once(page)


def test_a_lost_send_answer_is_no_false_not_sent(live_daphne, page, receiver):
    """The send reached the simulator and the webhook got it, but the page got a 500 (a proxy,
    a crash after the commit): the page re-sends with the same key and reports the real fate."""
    bot = create_account(platform="telegram", webhook_url=receiver.url, webhook_secret="s3cret")
    lost = []

    def lose_first_answer(route):
        if lost:
            route.continue_()
            return
        route.fetch()  # the server does all of the work
        lost.append(route.request.url)
        route.fulfill(status=500, content_type="text/html", body="<h1>Server Error (500)</h1>")

    page.route("**/simulator/chat/*/send", lose_first_answer)
    _open_chat(page, live_daphne.url, bot, "Ana Lee")
    _say(page, "Did this arrive?")

    expect(page.locator("#status")).to_contain_text("Delivered to the webhook (HTTP 200)", timeout=10_000)
    expect(page.locator("#status")).not_to_contain_text("Not sent")
    assert lost, "the first answer was not intercepted"
    assert len(receiver.posts()) == 1  # the re-sent request stored and delivered nothing again
    assert SimMessage.objects.filter(direction="in").count() == 1
    _assert_shown_once(page)
