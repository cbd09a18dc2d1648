"""Set Webhook and Test Connection for every messenger, against the simulator's fake
platforms over real HTTP: success, and a clear failure for an injected error."""

import pytest

from integrations.models import IntegrationAccount
from integrations.providers.facebook.api import SUBSCRIBED_FIELDS
from integrations.providers.telegram.api import ALLOWED_UPDATES
from integrations.providers.viber.api import EVENT_TYPES
from integrations.services import account_set_webhook, account_test_connection, webhook_health
from simulator.models import SimDelivery
from tests.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

MESSENGERS = ["telegram", "facebook", "line", "viber", "nexmo"]

# A credential the platform refuses, and the platform's own words for it.
WRONG_CREDENTIALS = {
    "telegram": ({"access_token": "123456:" + "x" * 35}, "Unauthorized"),
    "facebook": ({"access_token": "EAAGwrong"}, "Invalid OAuth access token - Cannot parse access token"),
    "line": (
        {"access_token": "wrong"},
        "Authentication failed. Confirm that the access token in the authorization header is valid.",
    ),
    "viber": ({"access_token": "wrong-token"}, "invalidAuthToken"),
    "nexmo": ({"api_secret": "wrong"}, "Unauthorized: You did not provide correct credentials."),
}


def registered(sim_account, account) -> bool:
    """What the fake platform now holds matches what Set Webhook should have registered."""
    sim_account.refresh_from_db()
    url = account.webhook_url
    if account.messenger == "telegram":
        return (sim_account.webhook_url, sim_account.webhook_secret, sim_account.webhook_events) == (
            url,
            account.webhook_secret,
            ALLOWED_UPDATES,
        )
    if account.messenger == "facebook":
        return (
            sim_account.webhook_url == url
            and sim_account.webhook_secret == account.webhook_secret
            and sim_account.webhook_active
            and sim_account.webhook_events == SUBSCRIBED_FIELDS.split(",")
        )
    if account.messenger == "line":
        probe = SimDelivery.objects.filter(account=sim_account, kind="test").first()
        return sim_account.webhook_url == url and probe is not None and probe.last_status_code == 200
    if account.messenger == "viber":
        return (sim_account.webhook_url, sim_account.webhook_events) == (url, EVENT_TYPES)
    return (sim_account.webhook_url, sim_account.status_url) == (url, f"{url}status/")


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_set_webhook_registers_our_url_and_records_it(linked_account, messenger):
    account, sim_account = linked_account(messenger)

    outcome = account_set_webhook(account=account)

    assert outcome.ok, outcome.message
    assert outcome.message.startswith(f"Webhook set to {account.webhook_url}")
    assert registered(sim_account, account)
    stored = IntegrationAccount.objects.get(pk=account.pk)
    assert stored.last_webhook_ok is True and stored.webhook_registered_url == account.webhook_url
    assert stored.webhook_set_at is not None


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_set_webhook_with_refused_credentials_fails_with_the_platform_words(linked_account, messenger):
    wrong, words = WRONG_CREDENTIALS[messenger]
    account, sim_account = linked_account(messenger, **wrong)

    outcome = account_set_webhook(account=account)

    assert not outcome.ok and outcome.message == f"Set Webhook failed: {words}"
    assert not registered(sim_account, account)
    stored = IntegrationAccount.objects.get(pk=account.pk)
    assert stored.last_webhook_ok is False and stored.last_webhook_message == words
    assert stored.webhook_registered_url == ""


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_test_connection_succeeds_and_is_stored(linked_account, messenger):
    account, _ = linked_account(messenger)

    result = account_test_connection(account=account)

    assert result.ok, result.message
    stored = IntegrationAccount.objects.get(pk=account.pk)
    assert stored.last_test_ok is True and stored.last_test_message == result.message and stored.last_test_at


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_test_connection_with_refused_credentials_shows_the_platform_words(linked_account, messenger):
    wrong, words = WRONG_CREDENTIALS[messenger]
    account, _ = linked_account(messenger, **wrong)

    result = account_test_connection(account=account)

    assert not result.ok and result.message == words
    stored = IntegrationAccount.objects.get(pk=account.pk)
    assert stored.last_test_ok is False and stored.last_test_message == words


@pytest.mark.parametrize(
    ("messenger", "identity_field", "other"),
    [("telegram", "username", "other_acme_bot"), ("facebook", "page_id", "99999"), ("viber", "username", "Other")],
)
def test_test_connection_checks_the_identity_behind_the_credentials(linked_account, messenger, identity_field, other):
    account, _ = linked_account(messenger, **{identity_field: other})

    result = account_test_connection(account=account)

    assert not result.ok and other in result.message and "The token belongs to" in result.message


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_an_unreachable_platform_fails_both_buttons_clearly(linked_account, messenger):
    account, _ = linked_account(messenger)
    account.api_base_url = account.api_base_url.replace(account.api_base_url.split("/")[2], f"127.0.0.1:{free_port()}")
    account.save()

    outcome = account_set_webhook(account=account)
    result = account_test_connection(account=account)

    assert not outcome.ok and "Could not reach" in outcome.message
    assert not result.ok and "Could not reach" in result.message


def test_viber_set_webhook_fails_when_our_webhook_does_not_answer(linked_account, settings):
    account, sim_account = linked_account("viber")
    account.webhook_host = f"127.0.0.1:{free_port()}"  # nobody listens there
    account.save()

    outcome = account_set_webhook(account=account)

    assert not outcome.ok and outcome.message == "Set Webhook failed: invalidUrl"
    sim_account.refresh_from_db()
    assert sim_account.webhook_url == ""


def test_viber_registers_the_host_and_port_from_its_window(linked_account, live_server):
    account, sim_account = linked_account("viber")
    host = live_server.url.split("://", 1)[1]
    account.webhook_host = host
    account.save()

    outcome = account_set_webhook(account=account)

    assert outcome.ok
    sim_account.refresh_from_db()
    assert sim_account.webhook_url == f"http://{host}/webhooks/viber/{account.pk}/"


def test_facebook_without_app_id_subscribes_the_page_and_says_what_to_paste(linked_account):
    account, sim_account = linked_account("facebook", application_id="")

    outcome = account_set_webhook(account=account)

    assert outcome.ok and "App Dashboard" in outcome.message
    sim_account.refresh_from_db()
    assert sim_account.webhook_active and sim_account.webhook_events == SUBSCRIBED_FIELDS.split(",")


def test_nexmo_set_webhook_also_tells_the_urls_to_paste(linked_account):
    account, _ = linked_account("nexmo")

    outcome = account_set_webhook(account=account)

    # Both URLs, each named once (issue 15: the message listed them twice).
    shown = outcome.message + outcome.info
    assert outcome.ok and f"{account.webhook_url} (Inbound URL)" in shown
    assert f"{account.webhook_url}status/ (Status URL)" in shown
    assert shown.count(f"{account.webhook_url}status/") == 1
    assert shown.count(account.webhook_url) == 2  # the inbound URL, and inside the status URL


def test_set_webhook_refuses_http_for_real_platforms_but_not_the_simulator(linked_account, settings):
    account, sim_account = linked_account("telegram")
    simulated = account_set_webhook(account=account)
    assert simulated.ok  # PUBLIC_BASE_URL is the live server's http:// address

    account.api_base_url = ""  # the real Telegram
    outcome = account_set_webhook(account=account)

    assert not outcome.ok and "needs an https:// address" in outcome.message
    assert IntegrationAccount.objects.get(pk=account.pk).last_webhook_ok is True  # the refusal stored nothing


def test_webhook_health_reads_telegram_and_stored_results_for_others(linked_account):
    telegram, bot = linked_account("telegram")
    line, _ = linked_account("line")
    assert webhook_health(account=telegram) == (False, "no webhook set")

    account_set_webhook(account=telegram)
    account_set_webhook(account=line)
    telegram.refresh_from_db()
    line.refresh_from_db()

    assert webhook_health(account=telegram) == (True, "ok (0 pending)")
    assert webhook_health(account=line) == (True, "Webhook was set and LINE's test call succeeded")
    bot.refresh_from_db()
    bot.last_error_message = "Connection refused"
    bot.last_error_at = bot.created_at
    bot.save()
    assert webhook_health(account=telegram) == (True, "ok (0 pending)")  # cached for the changelist
    telegram.save()  # any change to the account refreshes it
    assert webhook_health(account=telegram) == (False, "failing: Connection refused (0 pending)")
