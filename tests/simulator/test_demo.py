"""Demo accounts: fixed credentials, idempotent, webhook registration without a server."""

import io

import pytest
import requests

from simulator import demo
from simulator.models import SimAccount

pytestmark = pytest.mark.django_db(transaction=True)


def test_load_is_idempotent_and_registers_webhooks():
    demo.load(io.StringIO())
    demo.load(io.StringIO())
    assert sorted(SimAccount.objects.values_list("platform", flat=True)) == sorted(demo.API_BASE_PATHS)

    account = demo.register_demo_webhook(
        platform="nexmo",
        url="http://127.0.0.1:8000/webhooks/nexmo/x/",
        status_url="http://127.0.0.1:8000/webhooks/nexmo/x/status/",
    )
    demo.load(io.StringIO())
    account.refresh_from_db()
    assert account.webhook_url.endswith("/nexmo/x/") and account.status_url.endswith("/status/")
    assert account.api_key == demo.DEMO_CREDENTIALS["nexmo"]["api_key"]


def test_demo_credentials_open_the_fakes(live_server):
    demo.load(io.StringIO())
    base = live_server.url
    telegram = demo.DEMO_CREDENTIALS["telegram"]
    me = requests.get(f"{base}{demo.API_BASE_PATHS['telegram']}/bot{telegram['token']}/getMe", timeout=10).json()
    assert me["result"]["username"] == telegram["username"]
    fb = demo.DEMO_CREDENTIALS["facebook"]
    page = requests.get(
        f"{base}{demo.API_BASE_PATHS['facebook']}/me", params={"access_token": fb["page_access_token"]}, timeout=10
    )
    assert page.json()["id"] == fb["page_id"]
    line = demo.DEMO_CREDENTIALS["line"]
    info = requests.get(
        f"{base}{demo.API_BASE_PATHS['line']}/v2/bot/info",
        headers={"Authorization": f"Bearer {line['channel_access_token']}"},
        timeout=10,
    )
    assert info.json()["userId"] == line["bot_user_id"]
    viber = demo.DEMO_CREDENTIALS["viber"]
    account_info = requests.post(
        f"{base}{demo.API_BASE_PATHS['viber']}/get_account_info",
        headers={"X-Viber-Auth-Token": viber["auth_token"]},
        timeout=10,
    )
    assert account_info.json()["id"] == viber["account_id"]
    nexmo = demo.DEMO_CREDENTIALS["nexmo"]
    balance = requests.get(
        f"{base}{demo.API_BASE_PATHS['nexmo']}/account/get-balance",
        auth=(nexmo["api_key"], nexmo["api_secret"]),
        timeout=10,
    )
    assert balance.status_code == 200


def test_load_corrects_the_line_bot_id_of_older_demo_data():
    """Demo data made before issue 16 has a 32-character LINE userId: load() fixes that row
    (keeping its webhook) instead of adding a second demo LINE account."""
    demo.load(io.StringIO())
    line = demo.demo_account("line")
    SimAccount.objects.filter(id=line.id).update(platform_id="Ud000000000000000000000000000001")
    demo.register_demo_webhook(platform="line", url="http://127.0.0.1:8000/webhooks/line/x/")

    demo.load(io.StringIO())
    line.refresh_from_db()
    assert SimAccount.objects.filter(platform="line").count() == 1
    assert line.platform_id == demo.DEMO_CREDENTIALS["line"]["bot_user_id"] and len(line.platform_id) == 33
    assert line.webhook_url == "http://127.0.0.1:8000/webhooks/line/x/"
