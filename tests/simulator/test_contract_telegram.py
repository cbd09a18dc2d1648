"""The fake Telegram Bot API driven by python-telegram-bot and aiogram, the two most used Python
clients, over real HTTP: what they return and raise must be what they return and raise against
api.telegram.org. The simulator's webhooks are parsed by both libraries' Update models."""

import datetime as dt
import json

import aiogram
import pytest
import telegram
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from simulator.factories import create_account
from simulator.models import ForcedError
from simulator.services import customer_blocks, customer_says, get_customer
from tests.conftest import run_async

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bot():
    return create_account(platform="telegram", name="Acme Support", username="acme_support_bot")


def run_ptb(base: str, token: str, call):
    """Run `call(bot)` on a python-telegram-bot Bot pointed at the simulator."""

    async def main():
        async with telegram.Bot(token, base_url=f"{base}/simulator/api/telegram/bot") as bot:  # getMe first
            return await call(bot)

    return run_async(main)


def run_aiogram(base: str, token: str, call):
    """Run `call(bot)` on an aiogram Bot pointed at the simulator."""

    async def main():
        session = AiohttpSession(api=TelegramAPIServer.from_base(f"{base}/simulator/api/telegram"))
        try:
            return await call(aiogram.Bot(token, session=session))
        finally:
            await session.close()

    return run_async(main)


def test_identity_and_bad_token(base, bot):
    me = run_ptb(base, bot.token, lambda b: b.get_me())
    assert (me.id, me.is_bot, me.username, me.first_name) == (int(bot.platform_id), True, bot.username, bot.name)
    me = run_aiogram(base, bot.token, lambda b: b.get_me())
    assert (me.id, me.is_bot, me.username) == (int(bot.platform_id), True, bot.username)

    wrong = f"{bot.platform_id}:AAwrongTokenWrongTokenWrongToken"
    with pytest.raises(InvalidToken):
        run_ptb(base, wrong, lambda b: b.get_me())
    with pytest.raises(TelegramUnauthorizedError) as raised:
        run_aiogram(base, wrong, lambda b: b.get_me())
    assert raised.value.message == "Unauthorized"


def test_set_and_get_webhook(base, bot, receiver):
    async def set_and_get(b):
        ok = await b.set_webhook(receiver.url, secret_token="s3cret", allowed_updates=["message", "my_chat_member"])
        return ok, await b.get_webhook_info()

    ok, info = run_ptb(base, bot.token, set_and_get)
    assert ok is True
    assert info.url == receiver.url and tuple(info.allowed_updates) == ("message", "my_chat_member")
    assert info.pending_update_count == 0

    ok, info = run_aiogram(base, bot.token, set_and_get)
    assert ok is True and info.url == receiver.url and info.allowed_updates == ["message", "my_chat_member"]
    bot.refresh_from_db()
    assert bot.webhook_secret == "s3cret"

    assert run_aiogram(base, bot.token, lambda b: b.delete_webhook()) is True
    assert run_ptb(base, bot.token, lambda b: b.get_webhook_info()).url == ""


def test_send_text(base, bot):
    ana = get_customer(account=bot, key="ana", name="Ana Lee")
    sent = run_ptb(base, bot.token, lambda b: b.send_message(int(ana.external_id), "Hi Ana"))
    assert sent.text == "Hi Ana" and sent.chat.id == int(ana.external_id) and sent.from_user.is_bot
    sent = run_aiogram(base, bot.token, lambda b: b.send_message(int(ana.external_id), "Hi again"))
    assert sent.text == "Hi again" and sent.chat.id == int(ana.external_id)
    assert list(ana.messages.filter(direction="out").values_list("text", flat=True)) == ["Hi Ana", "Hi again"]


def test_send_errors_raise_what_telegram_raises(base, bot):
    ana = get_customer(account=bot, key="ana")
    chat = int(ana.external_id)

    with pytest.raises(BadRequest, match="^Chat not found$"):
        run_ptb(base, bot.token, lambda b: b.send_message(chat + 1, "Hi"))
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        run_aiogram(base, bot.token, lambda b: b.send_message(chat + 1, "Hi"))

    with pytest.raises(BadRequest, match="^Message is too long$"):
        run_ptb(base, bot.token, lambda b: b.send_message(chat, "x" * 4097))
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        run_aiogram(base, bot.token, lambda b: b.send_message(chat, "x" * 4097))

    bot.rate_limit = 1
    bot.save()

    async def twice(b):
        await b.send_message(chat, "one")
        await b.send_message(chat, "two")

    with pytest.raises(RetryAfter) as raised:
        run_ptb(base, bot.token, twice)
    assert raised.value.retry_after in (1, dt.timedelta(seconds=1))  # int, or timedelta under PTB_TIMEDELTA
    with pytest.raises(TelegramRetryAfter) as raised:
        run_aiogram(base, bot.token, twice)
    assert raised.value.retry_after == 1

    bot.rate_limit, bot.forced_error = 0, ForcedError.BLOCKED
    bot.save()
    with pytest.raises(Forbidden, match="^Forbidden: bot was blocked by the user$"):
        run_ptb(base, bot.token, lambda b: b.send_message(chat, "Hi"))
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        run_aiogram(base, bot.token, lambda b: b.send_message(chat, "Hi"))


def _updates(receiver) -> list[dict]:
    return [json.loads(request["body"]) for request in receiver.posts()]


def test_webhooks_parse_as_updates_in_both_libraries(base, bot, receiver):
    bot.webhook_url, bot.webhook_secret = receiver.url, "s3cret"
    bot.save()
    ana = get_customer(account=bot, key="ana", name="Ana Lee")
    customer_says(account=bot, customer=ana, text="Hello")
    customer_blocks(account=bot, customer=ana, blocked=True)
    customer_blocks(account=bot, customer=ana, blocked=False)  # issue 16: until_date on the old member
    assert [r["headers"]["X-Telegram-Bot-Api-Secret-Token"] for r in receiver.posts()] == ["s3cret"] * 3
    said, blocked, unblocked = _updates(receiver)

    ptb_bot = telegram.Bot(bot.token)
    message = telegram.Update.de_json(said, ptb_bot).message
    assert message.text == "Hello" and message.chat.id == int(ana.external_id)
    block = telegram.Update.de_json(blocked, ptb_bot).my_chat_member
    assert isinstance(block.new_chat_member, telegram.ChatMemberBanned) and block.new_chat_member.user.is_bot
    unblock = telegram.Update.de_json(unblocked, ptb_bot).my_chat_member
    assert isinstance(unblock.old_chat_member, telegram.ChatMemberBanned)
    assert isinstance(unblock.new_chat_member, telegram.ChatMemberMember)

    parsed = [aiogram.types.Update.model_validate(body) for body in (said, blocked, unblocked)]
    assert parsed[0].message.text == "Hello"
    assert parsed[1].my_chat_member.new_chat_member.status == "kicked"
    assert parsed[2].my_chat_member.old_chat_member.status == "kicked"
    assert parsed[2].my_chat_member.new_chat_member.status == "member"
