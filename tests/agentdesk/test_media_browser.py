"""Attachments in the Agent Desktop (headless Chromium on a real Daphne process): a customer's
picture shows as a thumbnail, and the agent's PDF, attached with a caption, reaches them."""

import time

import pytest
from playwright.sync_api import expect

from simulator.client import send_media, send_text
from simulator.models import SimMessage
from tests.agentdesk.conftest import go_ready, log_in
from tests.integrations.test_media_e2e import PDF, png

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def media_root(monkeypatch, settings, tmp_path):
    """The Daphne child process stores files in this test's folder (it reads MEDIA_ROOT), and
    this process reads them from there."""
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_picture_shows_and_a_file_goes_out_with_its_caption(media_root, contact_center, page):
    url, bot = contact_center["url"], contact_center["bot"]
    log_in(page, url, "agent1")
    go_ready(page)
    send_text(url, bot, "ana", "The screen cracked", name="Ana Lee")
    page.locator(".offer .accept").click()
    expect(page.locator("#transcript .msg-in .msg-text")).to_have_text(["The screen cracked"])

    send_media(url, bot, "ana", content=png(40, 30), file_name="crack.png", content_type="image/png")

    thumb = page.locator("#transcript .msg-in .media-thumb img")
    expect(thumb).to_be_visible()
    page.wait_for_function("document.querySelector('#transcript .media-thumb img').naturalWidth === 40")
    expect(page.locator("#transcript .media-thumb")).to_have_attribute("target", "_blank")

    page.set_input_files("#attach-input", files=[{"name": "manual.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(page.locator("#attach-chip")).to_contain_text("manual.pdf")
    page.fill("#composer", "Here is the manual")
    page.click("#send")

    expect(page.locator("#transcript .msg-out .media-file")).to_contain_text("manual.pdf")
    expect(page.locator("#attach-chip")).to_be_hidden()
    deadline = time.monotonic() + 15
    while not SimMessage.objects.filter(account=bot, direction="out", kind="file").exclude(media="").exists():
        assert time.monotonic() < deadline, "the PDF did not reach the customer"
        time.sleep(0.2)
    received = SimMessage.objects.get(account=bot, direction="out", kind="file")
    assert received.text == "Here is the manual"
    with received.media.open("rb") as handle:
        assert handle.read() == PDF
