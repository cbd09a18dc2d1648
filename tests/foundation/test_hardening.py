"""Issue 18: what an attacker could still do, each closed and proved here (items 4, 7-11)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import logging
import os
import subprocess
import sys

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from contactcenter.asgi import application
from contactcenter.logging import RedactSecretsFilter
from tests.conftest import free_port

TOKEN = "123456:short-sim-token"


def run_async(coroutine):
    """Run a coroutine on a loop of its own thread: a session's Playwright loop may own this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def agent_user(db):
    from agentdesk.models import Agent

    user = get_user_model().objects.create_user("ann", password="right-password-1")
    Agent.objects.create(user=user)
    return user


# --- 4. Open redirect ---------------------------------------------------------------------


def test_desktop_login_never_redirects_off_site(agent_user):
    for target in ("https://evil.example/", "//evil.example/x", "http://127.0.0.1:9999/"):
        response = Client().post(f"/agent/login/?next={target}", {"username": "ann", "password": "right-password-1"})
        assert response.status_code == 302
        assert response["Location"] == "/agent/", target


def test_desktop_login_keeps_a_local_next(agent_user):
    response = Client().post("/agent/login/?next=/agent/?chat=3", {"username": "ann", "password": "right-password-1"})
    assert response["Location"] == "/agent/?chat=3"


# --- 7. Log masking of every record field -------------------------------------------------


def test_django_error_records_carry_the_request_masked(client, caplog):
    """django.request's 404 record carries the request; its text must be masked too."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecretsFilter())
    records = []
    handler.emit = records.append
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get(f"/nowhere/bot{TOKEN}/getMe?access_token=EAAGsecretvalue")
    finally:
        logger.removeHandler(handler)
    assert records, "django.request logged nothing"
    for record in records:
        rendered = " ".join(str(value) for value in vars(record).values())
        assert "short-sim-token" not in rendered
        assert "EAAGsecretvalue" not in rendered
        assert "[redacted]" in str(record.request) or "[telegram-token]" in str(record.request)


def test_the_facebook_handshake_verify_token_is_masked_in_the_access_log():
    from contactcenter.server import LoggingAccessLog

    records = []
    handler = logging.Handler()
    handler.addFilter(RedactSecretsFilter())
    handler.emit = records.append
    logger = logging.getLogger("contactcenter.access")
    logger.addHandler(handler)
    try:
        LoggingAccessLog(None).write_entry(
            ("203.0.113.9", 1),
            "-",
            '"GET /webhooks/facebook/x/?hub.mode=subscribe&hub.verify_token=vt-secret-1&hub.challenge=42"',
            200,
            2,
        )
    finally:
        logger.removeHandler(handler)
    [record] = records
    assert "vt-secret-1" not in record.getMessage()
    assert "hub.challenge=42" in record.getMessage()


# --- 8. WebSocket origin: scheme, host and port -------------------------------------------


def _socket_connects(user, origin: bytes, host: bytes = b"127.0.0.1:8000") -> bool:
    client = Client()
    client.force_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    comm = WebsocketCommunicator(application, "/ws/agent/", headers=[(b"origin", origin), (b"host", host), cookie])

    async def attempt():
        connected, _ = await comm.connect()
        await comm.disconnect()
        return connected

    return run_async(attempt())


@pytest.mark.django_db(transaction=True)
def test_the_socket_takes_only_this_exact_origin(agent_user):
    assert _socket_connects(agent_user, b"http://127.0.0.1:8000")
    assert not _socket_connects(agent_user, b"http://127.0.0.1:9999")  # another port, same host
    assert not _socket_connects(agent_user, b"https://127.0.0.1:8000")  # another scheme
    assert not _socket_connects(agent_user, b"http://evil.example", host=b"evil.example")  # not an allowed host


# --- 9. NUL in a query parameter ----------------------------------------------------------


@pytest.mark.django_db
def test_a_nul_in_an_admin_filter_is_a_400(admin_client):
    response = admin_client.get("/admin/conversations/interaction/?status__exact=%00")
    assert response.status_code == 400
    assert admin_client.get("/admin/conversations/interaction/?status__exact=open").status_code == 200


# --- 10. Overflowing numbers on the agent socket ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_overflowing_id_is_a_bad_request_not_a_closed_socket(agent_user):
    client = Client()
    client.force_login(agent_user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    comm = WebsocketCommunicator(
        application, "/ws/agent/", headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), cookie]
    )

    async def scenario():
        connected, _ = await comm.connect()
        assert connected
        await comm.receive_json_from(timeout=10)  # the snapshot
        for raw in (
            '{"action": "accept", "request_id": 1, "interaction_id": 1e400}',
            '{"action": "accept", "request_id": 2, "interaction_id": 99999999999999999999999}',
        ):
            await comm.send_to(text_data=raw)
            frame = await comm.receive_json_from(timeout=10)
            while frame.get("type") != "error":
                frame = await comm.receive_json_from(timeout=10)
            assert frame["error"] == "bad_request"
        await comm.send_json_to({"action": "ping", "request_id": 3})  # still open and answering
        await comm.disconnect()

    run_async(scenario())


# --- 11. Login throttling, /healthz detail, load_demo -------------------------------------


def _fail_logins(client, url: str, username: str, times: int) -> None:
    for _ in range(times):
        client.post(url, {"username": username, "password": "wrong"})


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/admin/login/", "/agent/login/"])
def test_logins_are_throttled_after_repeated_failures(url):
    User = get_user_model()
    User.objects.create_superuser("boss", password="right-password-1")
    client = Client()
    _fail_logins(client, url, "boss", settings.AXES_FAILURE_LIMIT)
    response = client.post(url, {"username": "boss", "password": "right-password-1"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_api_basic_auth_is_throttled_too():
    get_user_model().objects.create_superuser("boss", password="right-password-1")

    def basic(password: str) -> int:
        credentials = base64.b64encode(f"boss:{password}".encode()).decode()
        return Client().get("/api/integration-accounts/", HTTP_AUTHORIZATION=f"Basic {credentials}").status_code

    assert basic("right-password-1") == 200
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert basic("wrong") in (401, 403)
    assert basic("right-password-1") in (401, 403, 429)


@pytest.mark.django_db
def test_healthz_errors_only_for_staff_or_loopback(admin_user):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        remote = Client(REMOTE_ADDR="203.0.113.7").get("/healthz")
        proxied = Client().get("/healthz", HTTP_X_FORWARDED_FOR="203.0.113.7")
        staff = Client(REMOTE_ADDR="203.0.113.7")
        staff.force_login(admin_user)
        staff_view = staff.get("/healthz")
    for anonymous in (remote, proxied):
        assert anonymous.status_code == 503
        assert anonymous.json()["checks"]["redis"] == "unreachable"
        assert "errors" not in anonymous.json()
    assert "ConnectionError" in staff_view.json()["errors"]["redis"]


@pytest.mark.django_db
def test_load_demo_refuses_a_production_database():
    assert not settings.DEBUG
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo")
    assert not get_user_model().objects.exists()


@pytest.mark.slow
def test_demo_secrets_are_derived_per_installation():
    code = (
        "import django; django.setup(); from simulator.demo import DEMO_CREDENTIALS as D; "
        "print(D['telegram']['token'], D['line']['channel_secret'])"
    )

    def secrets_for(secret_key: str) -> str:
        env = {**os.environ, "SECRET_KEY": secret_key, "DJANGO_SETTINGS_MODULE": "contactcenter.settings"}
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout

    one, two = secrets_for("installation-one-" + "x" * 40), secrets_for("installation-two-" + "y" * 40)
    assert one != two
    assert one == secrets_for("installation-one-" + "x" * 40)  # stable: loading again changes nothing
    assert "AAHdemoAcmeSupportBotToken" not in one and "demoacmelinechannelsecret" not in one
    assert one.startswith("7000000001:")  # a Telegram token keeps its bot id


# --- check --deploy in the production shape -----------------------------------------------


def test_check_deploy_passes_in_the_production_shape():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "k" * 10 + "-production-shape-secret-key-with-enough-variety-0123456789",
        "FIELD_ENCRYPTION_KEY": "aTJTNe82jJn1E6hUaniOzs_HhHGEeaxU67tSO-tJN40=",
        "PUBLIC_BASE_URL": "https://cc.example.com",
        "ALLOWED_HOSTS": "cc.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://cc.example.com",
        "SIMULATOR_ENABLED": "false",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=settings.BASE_DIR,
        # Not the test session's own switches (the browser fixture sets DJANGO_ALLOW_ASYNC_UNSAFE).
        env={
            **{k: v for k, v in env.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_DATABASE_NAME")},
            "DJANGO_SETTINGS_MODULE": "contactcenter.settings",
        },
        capture_output=True,
        text=True,
    )
    # HSTS for subdomains and the preload list are the domain owner's choice (SECURITY.md).
    issues = [line for line in result.stderr.splitlines() if "(security." in line]
    unexpected = [line for line in issues if "W005" not in line and "W021" not in line]
    assert (result.returncode, unexpected) == (0, []), result.stderr
