"""The webhook over real HTTP served by Daphne: replays, chunked bodies, a database that is down."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import requests

from conversations.models import Message
from tests.conftest import free_port, server_environment
from tests.integrations.webhook_support import as_http_headers, fixture_body, signature_headers, webhook_account


def test_replays_over_real_http_store_one_message(live_daphne):
    account = webhook_account("viber")
    body = fixture_body("viber", "text__basic")
    url = f"{live_daphne.url}{account.webhook_path}"
    for _ in range(3):
        headers = as_http_headers(signature_headers(account, body))
        response = requests.post(url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 200, response.text
    assert list(Message.objects.values_list("text", flat=True)) == ["Hello"]


def test_chunked_body_over_one_mebibyte_is_413_without_content_length(live_daphne):
    account = webhook_account("telegram")
    headers = as_http_headers(signature_headers(account, b""))

    def chunks():  # a generator body makes requests send Transfer-Encoding: chunked
        yield b'{"update_id": 1, "pad": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    response = requests.post(f"{live_daphne.url}{account.webhook_path}", data=chunks(), headers=headers, timeout=30)
    assert response.status_code == 413
    assert not Message.objects.exists()


@pytest.fixture
def daphne_without_database(tmp_path):
    """Daphne whose DATABASE_URL points at a port where nothing listens: the database is down."""
    port, dead = free_port(), free_port()
    env = server_environment(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{dead}/contactcenter",
        DATABASE_POOL_MAX_SIZE="0",
        ALLOWED_HOSTS="127.0.0.1",
    )
    log_path = tmp_path / "daphne.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "contactcenter.asgi:application"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Daphne did not start:\n{log_path.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_database_down_answers_503_so_the_platform_retries(daphne_without_database):
    url, log_path = daphne_without_database
    account_path = "/webhooks/telegram/0b7c6a52-8f7a-4d53-9a47-0f3c2d9e8a11/"
    body = fixture_body("telegram", "text__basic")
    response = requests.post(
        f"{url}{account_path}",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": "anything", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 503
    assert "database unavailable" in log_path.read_text()
