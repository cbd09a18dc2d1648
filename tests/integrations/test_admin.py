"""The integration accounts admin: type picker, per-type forms, buttons and bulk actions.

The buttons call the simulator's fake platform APIs over real HTTP (live_server)."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.models import IntegrationAccount
from tests.integrations.conftest import simulator_api_base

pytestmark = pytest.mark.django_db(transaction=True)

ADD_URL = reverse("admin:integrations_integrationaccount_add")
CHANGELIST_URL = reverse("admin:integrations_integrationaccount_changelist")
TOKEN = "7000000001:AAE" + "k" * 32


def change_url(account):
    return reverse("admin:integrations_integrationaccount_change", args=[account.pk])


def button_url(name, account):
    return reverse(f"admin:integrations_integrationaccount_{name}", args=[account.pk])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_add_asks_for_the_type_first(admin_client):
    response = admin_client.get(ADD_URL)

    page = response.content.decode()
    assert "Select the type of messenger integration account" in page
    for value, label in [("facebook", "Facebook Messenger"), ("line", "LINE"), ("nexmo", "Nexmo (Vonage)")]:
        assert f"?messenger={value}" in page and label in page
    assert "?messenger=telegram" in page and "?messenger=viber" in page


@pytest.mark.parametrize(
    ("messenger", "labels"),
    [
        ("telegram", ["Bot Username", "Token", "you cannot generate one here"]),
        ("facebook", ["Page Username", "Page ID", "Access Token", "Webhook Verify Token", "Generate random token"]),
        ("line", ["Name", "Access Token", "Channel Secret", "need not be", "LINE@"]),
        ("nexmo", ["API Key", "API Secret", "Signature Secret", "Application ID", "Sender Number"]),
        ("viber", ["Bot Username", "Token", "Webhook URL (host and port)", "Public Account"]),
    ],
)
def test_each_type_has_its_form_with_the_seed_labels(admin_client, messenger, labels):
    response = admin_client.get(f"{ADD_URL}?messenger={messenger}")

    page = response.content.decode().replace("does not need to be", "need not be")
    assert "Currently set" not in page  # a new account has no stored secret to keep
    for label in labels:
        assert label in page
    advanced = page[page.index("<details><summary>") :]
    assert "Advanced" in advanced.split("</summary>")[0]  # a collapsed fieldset
    assert "API base URL" in advanced.split("</details>")[0]


def test_adding_a_telegram_account_stores_it_encrypted(admin_client):
    response = admin_client.post(
        f"{ADD_URL}?messenger=telegram",
        {"name": "", "username": "acme_support_bot", "access_token": TOKEN, "enabled": "on", "api_base_url": ""},
    )

    assert response.status_code == 302
    account = IntegrationAccount.objects.get()
    assert account.messenger == "telegram" and account.name == "acme_support_bot"
    assert account.access_token == TOKEN and account.webhook_secret


@pytest.mark.parametrize(
    ("messenger", "data", "field", "error"),
    [
        ("telegram", {"username": "acme_support_bot", "access_token": "12345"}, "access_token", "not a Telegram bot"),
        ("telegram", {"username": "acme_support", "access_token": TOKEN}, "username", "ends in 'bot'"),
        ("telegram", {"username": "@acme_bot", "access_token": TOKEN}, "username", "without the leading @"),
        ("telegram", {"username": "acme_support_bot", "access_token": ""}, "access_token", "required"),
        ("viber", {"username": "x" * 29, "access_token": "abc"}, "username", "28 characters"),
        ("facebook", {"username": "@acme", "page_id": "1"}, "username", "without the leading @"),
        ("facebook", {"username": "acmesupport", "page_id": "12ab"}, "page_id", "is a number"),
        ("line", {"name": "Acme LINE", "access_token": "tok"}, "signing_secret", "required"),
        (
            "facebook",
            {"username": "acmesupport", "page_id": "123", "access_token": "EAAG1", "signing_secret": "s" * 32},
            "webhook_secret",
            "required",
        ),
        ("nexmo", {"name": "Acme SMS", "sender_id": "+44 7700"}, "sender_id", "digits only"),
        ("nexmo", {"name": "Acme SMS", "application_id": "my-app"}, "application_id", "looks like"),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_stored(admin_client, messenger, data, field, error):
    response = admin_client.post(f"{ADD_URL}?messenger={messenger}", {"enabled": "on", **data})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and error in " ".join(errors[field])
    assert not IntegrationAccount.objects.exists()


def test_change_page_never_renders_a_secret_and_blank_keeps_it(admin_client, linked_account):
    account, _ = linked_account("telegram")
    token = account.access_token

    page = admin_client.get(change_url(account)).content.decode()
    assert token not in page and account.webhook_secret not in page
    assert f"set, ends in …{token[-4:]}" in page
    assert account.webhook_url in page

    data = {"name": "Renamed", "username": account.username, "access_token": "", "enabled": "on"}
    data["api_base_url"] = account.api_base_url
    assert admin_client.post(change_url(account), data).status_code == 302
    account.refresh_from_db()
    assert account.name == "Renamed" and account.access_token == token

    new_token = "7000000002:AAF" + "n" * 32
    admin_client.post(change_url(account), data | {"access_token": new_token})
    account.refresh_from_db()
    assert account.access_token == new_token


def test_set_webhook_button_registers_our_webhook(admin_client, linked_account):
    account, bot = linked_account("telegram")

    response = admin_client.post(button_url("set_webhook", account), follow=True)

    assert any(m.startswith(f"Webhook set to {account.webhook_url}") for m in messages_of(response))
    bot.refresh_from_db()
    assert bot.webhook_url == account.webhook_url and bot.webhook_secret == account.webhook_secret
    account.refresh_from_db()
    assert account.last_webhook_ok is True and account.webhook_registered_url == account.webhook_url
    assert admin_client.get(button_url("set_webhook", account)).status_code == 405


def test_test_connection_button_shows_the_platform_error_and_stores_it(admin_client, linked_account):
    account, _ = linked_account("telegram", access_token="7000000009:AAX" + "w" * 32)

    response = admin_client.post(button_url("test_connection", account), follow=True)

    assert messages_of(response) == ["Test Connection failed: Unauthorized"]
    account.refresh_from_db()
    assert account.last_test_ok is False and account.last_test_message == "Unauthorized" and account.last_test_at


def test_set_webhook_refuses_plain_http_for_a_real_platform(admin_client, settings):
    settings.PUBLIC_BASE_URL = "http://cc.example.com"
    account = IntegrationAccount.objects.create(
        messenger="telegram", name="real", username="acme_support_bot", access_token=TOKEN
    )

    response = admin_client.post(button_url("set_webhook", account), follow=True)

    [message] = messages_of(response)
    assert "needs an https:// address" in message and "PUBLIC_BASE_URL" in message
    account.refresh_from_db()
    assert account.last_webhook_ok is None and account.webhook_registered_url == ""


def test_buttons_need_the_change_permission(client, linked_account):
    account, bot = linked_account("telegram")
    viewer = get_user_model().objects.create_user("viewer", password="pw-123456789", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_integrationaccount"))
    client.force_login(viewer)

    assert client.post(button_url("set_webhook", account)).status_code == 403
    assert client.post(button_url("test_connection", account)).status_code == 403
    bot.refresh_from_db()
    assert bot.webhook_url == ""


def test_changelist_shows_type_webhook_health_and_last_test(admin_client, linked_account):
    account, bot = linked_account("telegram")
    admin_client.post(button_url("set_webhook", account))
    admin_client.post(button_url("test_connection", account))

    page = admin_client.get(CHANGELIST_URL).content.decode()

    assert "Telegram" in page and account.webhook_url in page
    assert "ok (0 pending)" in page
    assert f"Connected to @{bot.username}." in page
    assert account.access_token not in page


def test_bulk_actions_test_and_set_every_selected_account(admin_client, linked_account):
    first, bot1 = linked_account("telegram")
    second, bot2 = linked_account("telegram")
    selected = {"_selected_action": [str(first.pk), str(second.pk)], "index": "0"}

    tested = admin_client.post(CHANGELIST_URL, selected | {"action": "test_connection_action"}, follow=True)
    webhooks = admin_client.post(CHANGELIST_URL, selected | {"action": "set_webhook_action"}, follow=True)

    assert sum("Test Connection succeeded" in m for m in messages_of(tested)) == 2
    assert sum("Webhook set to" in m for m in messages_of(webhooks)) == 2
    for bot, account in [(bot1, first), (bot2, second)]:
        bot.refresh_from_db()
        assert bot.webhook_url == account.webhook_url


def test_generate_random_token_is_post_only(admin_client):
    url = reverse("admin:integrations_integrationaccount_generate_token")

    first = admin_client.post(url).json()["token"]
    second = admin_client.post(url).json()["token"]

    assert len(first) >= 32 and first != second
    assert admin_client.get(url).status_code == 405


def test_no_credential_in_plain_text_in_the_table_pages_or_logs(admin_client, linked_account, live_server, caplog):
    caplog.set_level(logging.DEBUG)
    telegram, _ = linked_account("telegram")
    facebook = IntegrationAccount.objects.create(
        messenger="facebook",
        name="Acme page",
        username="acmesupport",
        page_id="1234567890",
        access_token="EAAG" + "p" * 40,
        signing_secret="app-secret-" + "s" * 20,
        webhook_secret="verify-" + "v" * 20,
        api_base_url=simulator_api_base(live_server.url, "facebook"),
    )
    secrets = [
        telegram.access_token,
        telegram.webhook_secret,
        facebook.access_token,
        facebook.signing_secret,
        facebook.webhook_secret,
    ]
    admin_client.post(button_url("set_webhook", telegram))
    admin_client.post(button_url("test_connection", telegram))
    pages = [
        admin_client.get(CHANGELIST_URL),
        admin_client.get(change_url(telegram)),
        admin_client.get(change_url(facebook)),
        admin_client.get(f"{ADD_URL}?messenger=facebook"),
    ]

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM integrations_integrationaccount")
        rows = " ".join(str(value) for row in cursor.fetchall() for value in row)
    for secret in secrets:
        assert secret not in rows
        assert all(secret not in page.content.decode() for page in pages)
        assert secret not in caplog.text


@pytest.mark.parametrize("messenger", ["telegram", "facebook", "line", "viber", "nexmo"])
def test_every_type_has_its_buttons_and_shows_no_secret(admin_client, linked_account, messenger):
    account, _ = linked_account(messenger)
    secrets = [
        value
        for value in (account.access_token, account.signing_secret, account.api_secret, account.webhook_secret)
        if value
    ]

    change = admin_client.get(change_url(account)).content.decode()
    changelist = admin_client.get(CHANGELIST_URL).content.decode()

    assert f'action="{button_url("set_webhook", account)}"' in change
    assert f'action="{button_url("test_connection", account)}"' in change
    assert "set, ends in …" in change
    for secret in secrets:
        assert secret not in change and secret not in changelist


def test_button_results_are_recorded_in_the_admin_history(admin_client, linked_account):
    from django.contrib.admin.models import LogEntry

    account, _ = linked_account("line")

    admin_client.post(button_url("set_webhook", account))
    admin_client.post(button_url("test_connection", account))

    history = LogEntry.objects.filter(object_id=str(account.pk)).order_by("action_time", "id")
    messages = list(history.values_list("change_message", flat=True))
    assert messages == ["Set Webhook: ok", "Test Connection: ok"]
