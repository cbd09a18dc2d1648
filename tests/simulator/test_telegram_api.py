"""Contract of the fake Telegram Bot API, over real HTTP, and its webhook delivery."""

import pytest
import requests

from simulator import delivery
from simulator.factories import create_account
from simulator.models import ForcedError, SimDelivery, SimRequest
from simulator.services import customer_says, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bot():
    return create_account(platform="telegram", name="Acme Support", username="acme_support_bot")


def call(base, token, method, **payload):
    return requests.post(f"{base}/simulator/api/telegram/bot{token}/{method}", json=payload, timeout=10)


def test_get_me_answers_the_bot_and_checks_the_token(base, bot):
    ok = requests.get(f"{base}/simulator/api/telegram/bot{bot.token}/getMe", timeout=10)
    assert ok.status_code == 200
    result = ok.json()["result"]
    assert ok.json()["ok"] is True
    assert result["id"] == int(bot.platform_id) and result["is_bot"] is True
    assert result["username"] == "acme_support_bot" and result["first_name"] == "Acme Support"

    unknown = requests.get(f"{base}/simulator/api/telegram/bot123456:wrongtoken/getMe", timeout=10)
    assert unknown.status_code == 401
    assert unknown.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}

    malformed = requests.get(f"{base}/simulator/api/telegram/botnot-a-token/getMe", timeout=10)
    assert malformed.status_code == 404
    assert malformed.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_set_webhook_get_info_and_delete(base, bot):
    response = call(
        base,
        bot.token,
        "setWebhook",
        url="https://cc.example.com/webhooks/telegram/1/",
        secret_token="s3cr3t_7",
        allowed_updates=["message", "my_chat_member"],
        drop_pending_updates=False,
    )
    assert response.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    again = call(
        base, bot.token, "setWebhook", url="https://cc.example.com/webhooks/telegram/1/", secret_token="s3cr3t_7"
    )
    assert again.json()["description"] == "Webhook is already set"

    info = call(base, bot.token, "getWebhookInfo").json()["result"]
    assert info["url"] == "https://cc.example.com/webhooks/telegram/1/"
    assert info["allowed_updates"] == ["message", "my_chat_member"]
    assert info["pending_update_count"] == 0 and info["has_custom_certificate"] is False
    bot.refresh_from_db()
    assert bot.webhook_secret == "s3cr3t_7"

    bad = call(base, bot.token, "setWebhook", url="https://cc.example.com/", secret_token="no spaces!")
    assert bad.status_code == 400
    assert bad.json()["description"] == "Bad Request: secret token contains unallowed characters"
    not_url = call(base, bot.token, "setWebhook", url="ftp://x")
    assert not_url.status_code == 400 and "HTTPS URL" in not_url.json()["description"]

    deleted = call(base, bot.token, "deleteWebhook", drop_pending_updates=True)
    assert deleted.json() == {"ok": True, "result": True, "description": "Webhook was deleted"}
    assert call(base, bot.token, "getWebhookInfo").json()["result"]["url"] == ""


def test_set_webhook_accepts_form_encoding(base, bot):
    response = requests.post(
        f"{base}/simulator/api/telegram/bot{bot.token}/setWebhook",
        data={"url": "https://cc.example.com/h", "allowed_updates": '["message"]'},
        timeout=10,
    )
    assert response.json()["ok"] is True
    bot.refresh_from_db()
    assert bot.webhook_url == "https://cc.example.com/h" and bot.webhook_events == ["message"]


def test_send_message_reaches_the_customer(base, bot):
    ana = get_customer(account=bot, key="ana", name="Ana Lee")
    response = call(base, bot.token, "sendMessage", chat_id=int(ana.external_id), text="Hi Ana")
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["text"] == "Hi Ana" and result["chat"]["id"] == int(ana.external_id)
    assert result["chat"]["type"] == "private" and isinstance(result["message_id"], int)
    assert [m.text for m in ana.messages.filter(direction="out")] == ["Hi Ana"]


def test_send_message_errors(base, bot):
    ana = get_customer(account=bot, key="ana")
    chat_id = int(ana.external_id)

    unknown = call(base, bot.token, "sendMessage", chat_id=42, text="x")
    assert unknown.status_code == 400
    assert unknown.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    too_long = call(base, bot.token, "sendMessage", chat_id=chat_id, text="x" * 4097)
    assert too_long.status_code == 400 and too_long.json()["description"] == "Bad Request: message is too long"
    assert call(base, bot.token, "sendMessage", chat_id=chat_id, text="x" * 4096).status_code == 200
    empty = call(base, bot.token, "sendMessage", chat_id=chat_id, text="")
    assert empty.json()["description"] == "Bad Request: message text is empty"

    bot.forced_error = ForcedError.BLOCKED
    bot.save()
    blocked = call(base, bot.token, "sendMessage", chat_id=chat_id, text="hello?")
    assert blocked.status_code == 403
    assert blocked.json() == {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}

    bot.forced_error = ForcedError.SERVER_ERROR
    bot.save()
    assert call(base, bot.token, "sendMessage", chat_id=chat_id, text="hello?").status_code == 500
    assert ana.messages.filter(direction="out").count() == 1


def test_rate_limit_answers_429_with_retry_after(base, bot):
    ana = get_customer(account=bot, key="ana")
    bot.rate_limit = 2
    bot.save()
    answers = [call(base, bot.token, "sendMessage", chat_id=int(ana.external_id), text=f"m{i}") for i in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert answers[2].status_code == 429
    assert answers[2].json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


def test_request_log_masks_the_token(base, bot):
    call(base, bot.token, "getMe")
    logged = SimRequest.objects.get(account=bot)
    assert bot.token not in logged.path and "[telegram-token]" in logged.path
    assert logged.status_code == 200 and '"acme_support_bot"' in logged.response

    short = create_account(platform="telegram", token="12345:short")  # too short for the log patterns
    call(base, short.token, "getMe")
    assert short.token not in SimRequest.objects.get(account=short).path


def test_customer_message_is_delivered_with_secret_and_retried_with_same_update_id(bot, receiver):
    bot.webhook_url, bot.webhook_secret = receiver.url, "s3cr3t_7"
    bot.save()
    receiver.statuses = [500]
    ana = get_customer(account=bot, key="ana-lee", name="Ana Lee")

    customer_says(account=bot, customer=ana, text="Hello")

    first = receiver.json(0)
    assert receiver.posts()[0]["headers"]["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t_7"
    message = first["message"]
    assert message["text"] == "Hello" and message["from"]["id"] == int(ana.external_id)
    assert message["from"]["first_name"] == "Ana" and message["from"]["last_name"] == "Lee"
    assert message["chat"] == {
        **{k: message["from"][k] for k in ("id", "first_name", "last_name", "username")},
        "type": "private",
    }
    row = SimDelivery.objects.get(account=bot, kind="message")
    assert row.status == "pending" and row.attempts == 1 and row.last_status_code == 500
    bot.refresh_from_db()
    assert bot.last_error_message == "Wrong response from the webhook: 500"

    delivery.make_due(row)
    assert delivery.deliver_due() == 1
    assert len(receiver.posts()) == 2
    assert receiver.posts()[1]["body"] == receiver.posts()[0]["body"]  # same update_id, same bytes
    row.refresh_from_db()
    assert row.status == "delivered" and row.event_id == str(first["update_id"])

    customer_says(account=bot, customer=ana, text="Again")
    assert receiver.json(-1)["update_id"] == first["update_id"] + 1


def test_allowed_updates_without_message_delivers_nothing(bot, receiver):
    bot.webhook_url, bot.webhook_events = receiver.url, ["callback_query"]
    bot.save()
    customer_says(account=bot, customer=get_customer(account=bot, key="ana"), text="Hello")
    assert receiver.posts() == []
