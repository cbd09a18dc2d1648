"""Our own provider clients against the fakes, and the product's webhooks fed by the fakes:
everything over real HTTP on the live test server (simulator and product on one server)."""

import pytest

from conversations.models import Message
from integrations.models import IntegrationAccount
from integrations.providers import get_provider
from integrations.providers.base import PlatformRejected, RateLimited, RecipientUnreachable
from simulator.demo import API_BASE_PATHS
from simulator.factories import create_account
from simulator.models import ForcedError, SimAccount, SimDelivery
from simulator.services import customer_says, get_customer

pytestmark = pytest.mark.django_db(transaction=True)
MESSENGERS = ["telegram", "facebook", "line", "viber", "nexmo"]


def _linked(messenger: str, server: str) -> tuple[IntegrationAccount, SimAccount]:
    sim = create_account(
        platform=messenger, name="Acme", username="acme_support_bot" if messenger == "telegram" else "acme"
    )
    fields = {
        "telegram": {"username": sim.username, "access_token": sim.token},
        "facebook": {"page_id": sim.platform_id, "access_token": sim.token, "signing_secret": sim.secret},
        "line": {"access_token": sim.token, "signing_secret": sim.secret},
        "viber": {"username": sim.username, "access_token": sim.token},
        "nexmo": {
            "api_key": sim.api_key,
            "api_secret": sim.api_secret,
            "signing_secret": sim.secret,
            "application_id": sim.app_id,
            "sender_id": sim.platform_id,
        },
    }[messenger]
    account = IntegrationAccount.objects.create(
        messenger=messenger, name=f"Acme {messenger}", api_base_url=f"{server}{API_BASE_PATHS[messenger]}", **fields
    )
    if messenger == "facebook":  # the App Dashboard's callback URL and verify token
        sim.webhook_url, sim.webhook_secret = account.webhook_url, account.webhook_secret
        sim.save()
    return account, sim


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_provider_connects_registers_receives_and_sends(messenger, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    account, sim = _linked(messenger, live_server.url)
    provider = get_provider(messenger)

    connection = provider.test_connection(account)
    assert connection.ok, connection.message
    provider.set_webhook(account, account.webhook_url)
    assert provider.webhook_info(account).ok
    sim.refresh_from_db()
    assert sim.webhook_url == account.webhook_url

    ana = get_customer(account=sim, key="ana", name="Ana Lee")
    customer_says(account=sim, customer=ana, text="Hello from the simulator")
    sent = SimDelivery.objects.get(account=sim, kind="message")
    assert (sent.status, sent.last_status_code) == ("delivered", 200), sent.last_response
    stored = Message.objects.get(account=account, direction="in")
    assert stored.text == "Hello from the simulator" and stored.customer.external_id == ana.external_id

    reply = provider.send_text(account, to=ana.external_id, text="Hi Ana", idempotency_key="k-1")
    assert reply.platform_message_id
    assert ana.messages.filter(direction="out", text="Hi Ana", platform_message_id=reply.platform_message_id).exists()


@pytest.mark.parametrize("messenger", ["telegram", "facebook", "viber"])
def test_blocked_customer_is_unreachable(messenger, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    account, sim = _linked(messenger, live_server.url)
    sim.webhook_url = sim.webhook_url or account.webhook_url  # Viber sends only with a webhook
    sim.forced_error = ForcedError.BLOCKED
    sim.save()
    ana = get_customer(account=sim, key="ana")
    with pytest.raises(RecipientUnreachable):
        get_provider(messenger).send_text(account, to=ana.external_id, text="Hi", idempotency_key="k")


@pytest.mark.parametrize("messenger", ["telegram", "facebook", "line", "nexmo"])
def test_rate_limit_is_rate_limited(messenger, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    account, sim = _linked(messenger, live_server.url)
    sim.rate_limit = 1
    sim.save()
    ana = get_customer(account=sim, key="ana")
    provider = get_provider(messenger)
    provider.send_text(account, to=ana.external_id, text="one", idempotency_key="k-1")
    with pytest.raises(RateLimited):
        provider.send_text(account, to=ana.external_id, text="two", idempotency_key="k-2")


def test_line_push_to_a_blocked_customer_is_rejected(live_server, settings):
    # LINE reports blocks as unfollow events; the push itself fails with LINE's generic 400.
    settings.PUBLIC_BASE_URL = live_server.url
    account, sim = _linked("line", live_server.url)
    sim.forced_error = ForcedError.BLOCKED
    sim.save()
    ana = get_customer(account=sim, key="ana")
    with pytest.raises(PlatformRejected, match="Failed to send messages"):
        get_provider("line").send_text(account, to=ana.external_id, text="Hi", idempotency_key="k")
