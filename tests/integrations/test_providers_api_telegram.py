"""The Telegram provider client against the simulator's fake Bot API over real HTTP."""

import pytest

from integrations.providers import get_provider
from integrations.providers.base import RecipientUnreachable, Unauthorized, Unavailable
from simulator import services as sim
from simulator.models import ForcedError, SimMessage
from tests.conftest import free_port

telegram = get_provider("telegram")
pytestmark = pytest.mark.django_db(transaction=True)


def test_set_webhook_registers_url_secret_and_allowed_updates(linked_account):
    account, bot = linked_account("telegram")

    status = telegram.set_webhook(account, account.webhook_url)

    bot.refresh_from_db()
    assert status.ok and status.url == account.webhook_url
    assert bot.webhook_url == account.webhook_url
    assert bot.webhook_secret == account.webhook_secret
    assert bot.webhook_events == ["message", "edited_message", "callback_query", "my_chat_member"]
    info = telegram.webhook_info(account)
    assert info.url == account.webhook_url and info.pending_update_count == 0 and info.last_error_message == ""


def test_set_webhook_with_a_wrong_token_is_unauthorized(linked_account):
    account, bot = linked_account("telegram")
    account.access_token = "123456:" + "x" * 35

    with pytest.raises(Unauthorized, match="Unauthorized"):
        telegram.set_webhook(account, account.webhook_url)

    bot.refresh_from_db()
    assert bot.webhook_url == ""


def test_webhook_info_reports_the_last_delivery_error(linked_account):
    account, bot = linked_account("telegram")
    telegram.set_webhook(account, account.webhook_url)
    bot.refresh_from_db()
    bot.last_error_message = "Wrong response from the webhook: 500 Internal Server Error"
    bot.last_error_at = bot.created_at
    bot.save()

    info = telegram.webhook_info(account)

    assert not info.ok
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


def test_test_connection_checks_token_and_bot_username(linked_account):
    account, bot = linked_account("telegram")

    result = telegram.test_connection(account)
    assert result.ok and result.identity == bot.username

    account.username = "someone_else_bot"
    mismatch = telegram.test_connection(account)
    assert not mismatch.ok and f"@{bot.username}" in mismatch.message

    account.access_token = "123456:" + "y" * 35
    refused = telegram.test_connection(account)
    assert not refused.ok and refused.message == "Unauthorized"


def test_send_text_reaches_the_customer(linked_account):
    account, bot = linked_account("telegram")
    customer = sim.get_customer(account=bot, key="ana", name="Ana Lee")

    sent = telegram.send_text(account, to=customer.external_id, text="Hi Ana", idempotency_key="k1")

    stored = SimMessage.objects.get(account=bot, direction="out")
    assert stored.text == "Hi Ana" and stored.customer == customer
    assert sent.platform_message_id == stored.platform_message_id


def test_send_text_maps_platform_refusals(linked_account):
    account, bot = linked_account("telegram")
    customer = sim.get_customer(account=bot, key="ana")

    with pytest.raises(RecipientUnreachable, match="chat not found"):
        telegram.send_text(account, to="999", text="Hi", idempotency_key="k1")

    bot.forced_error = ForcedError.BLOCKED
    bot.save()
    with pytest.raises(RecipientUnreachable, match="bot was blocked by the user") as blocked:
        telegram.send_text(account, to=customer.external_id, text="Hi", idempotency_key="k2")
    assert blocked.value.code == "403"

    bot.forced_error = ForcedError.SERVER_ERROR
    bot.save()
    with pytest.raises(Unavailable):
        telegram.send_text(account, to=customer.external_id, text="Hi", idempotency_key="k3")
    assert not SimMessage.objects.filter(account=bot, direction="out").exists()


def test_an_unreachable_platform_is_unavailable_and_the_error_hides_the_token(linked_account):
    account, _ = linked_account("telegram")
    account.api_base_url = f"http://127.0.0.1:{free_port()}/simulator/api/telegram"

    with pytest.raises(Unavailable) as error:
        telegram.send_text(account, to="1", text="Hi", idempotency_key="k")

    assert account.access_token not in str(error.value)
    result = telegram.test_connection(account)
    assert not result.ok and "Could not reach Telegram" in result.message
    assert account.access_token not in result.message
