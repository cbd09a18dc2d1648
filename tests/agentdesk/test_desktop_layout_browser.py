"""The desktop's layout at a 1280x720 screen and a small laptop's, in its main states.

Each state is checked (three panes side by side, nothing wider than the window, the
composer on screen) and photographed. `DESK_SCREENSHOTS=1` copies the pictures to
docs/screenshots/ for the README; otherwise they stay in the test's temporary folder.
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from simulator.client import send_text, wait_for_replies
from simulator.demo import demo_account
from tests.agentdesk.conftest import go_ready, log_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def fits(page) -> None:
    """No horizontal scrolling, and the three panes sit side by side within the window."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    boxes = [page.locator(sel).bounding_box() for sel in (".chats", ".conversation", ".customer")]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    assert boxes[2]["x"] + boxes[2]["width"] <= width
    assert min(b["width"] for b in boxes) > 180


def test_main_states_fit_the_screen(demo_center, browser, tmp_path):
    url = demo_center
    shots = tmp_path / "screenshots"
    shots.mkdir()
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(20_000)

    def shoot(name: str) -> None:
        page.wait_for_timeout(300)  # let the one-second timers draw
        page.screenshot(path=str(shots / f"{name}.png"))

    try:
        log_in(page, url, "agent1")
        go_ready(page)
        telegram, viber = demo_account("telegram"), demo_account("viber")
        send_text(url, telegram, "ana", "Hi! My parcel 4711 has not arrived yet.", name="Ana Lee")
        page.locator(".offer .accept").click()
        page.fill("#composer", "Sorry to hear that, Ana. Let me check the tracking for you.")
        page.press("#composer", "Enter")
        send_text(url, telegram, "ana", "Thanks. Tracking: https://example.com/track?id=4711", name="Ana Lee")
        page.check("#note-mode")
        page.fill("#composer", "Second late parcel this month: offer free shipping.")
        page.press("#composer", "Enter")
        page.uncheck("#note-mode")
        page.fill("#composer", "I can see it is at the local depot")
        expect(page.locator("#transcript .note")).to_have_count(1)
        wait_for_replies(url, telegram, "ana", count=4)
        send_text(url, viber, "kim", "Can I change my delivery address?", name="Kim Park")
        expect(page.locator(".offer")).to_have_count(1)
        fits(page)
        shoot("desktop-chat-and-offer")

        page.locator(".offer .accept").click()
        expect(page.locator(".chat-item")).to_have_count(2)
        page.locator(".chat-item", has_text="Ana Lee").click()
        fits(page)
        assert page.locator("#composer").bounding_box()["y"] + 40 < 720  # the composer is on screen
        shoot("desktop-two-chats")

        page.click("#end-chat")
        expect(page.locator("#wrapup-done")).to_be_visible()
        page.select_option("#disposition", label="Problem solved")
        page.fill("#notes", "Depot contacted, delivery tomorrow.")
        fits(page)
        shoot("desktop-wrap-up")

        page.fill("#history-q", "parcel")
        page.click("#history-search")
        page.locator("#history-results .result").first.click()
        expect(page.locator("#past-view")).to_be_visible()
        fits(page)
        shoot("desktop-history")
        page.click("#past-view .past-close")

        page.locator("#chats-title").click()
        page.keyboard.press("?")
        expect(page.locator("#help-dialog")).to_be_visible()
        shoot("desktop-shortcuts")
        page.keyboard.press("Escape")

        # A small laptop screen still shows the three panes.
        page.set_viewport_size({"width": 1024, "height": 640})
        fits(page)
        shoot("desktop-laptop")
    finally:
        context.close()
    if os.environ.get("DESK_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        for picture in shots.iterdir():
            shutil.copy(picture, DOCS / picture.name)
