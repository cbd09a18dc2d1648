"""The fake Viber REST bot API driven by Viber's own viberbot library over real HTTP, and the
simulator's callbacks checked by viberbot's signature check and parsed by its request models.

viberbot posts its JSON bodies without a Content-Type header; Viber reads them as JSON anyway,
and so must the simulator (issue 16). viberbot reports a refused call as a plain Exception
"failed with status: N, message: ...", the same against Viber."""

import pytest
import viberbot.api.api
from viberbot import Api, BotConfiguration
from viberbot.api.messages import TextMessage
from viberbot.api.viber_requests import (
    ViberDeliveredRequest,
    ViberMessageRequest,
    ViberSeenRequest,
    ViberSubscribedRequest,
    ViberUnsubscribedRequest,
)

from simulator.delivery import deliver_due
from simulator.factories import create_account
from simulator.models import ForcedError
from simulator.services import customer_blocks, customer_says, customer_sees, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bot():
    return create_account(platform="viber", name="Acme Viber", username="acmeviber")


@pytest.fixture
def viber(base, monkeypatch):
    """Make viberbot's Api for a token, on the simulator (the library has no base URL option:
    Api reads the module's VIBER_BOT_API_URL when it is created)."""
    monkeypatch.setattr(viberbot.api.api, "VIBER_BOT_API_URL", f"{base}/simulator/api/viber")
    return lambda token: Api(BotConfiguration(name="Acme", avatar="", auth_token=token))


def header(post: dict, name: str) -> str:
    return {k.lower(): v for k, v in post["headers"].items()}[name.lower()]


def test_identity_and_bad_token(viber, bot):
    info = viber(bot.token).get_account_info()
    assert (info["status"], info["id"], info["name"], info["uri"]) == (0, bot.platform_id, "Acme Viber", "acmeviber")
    assert viber("0000-bad-token").get_account_info() == {"status": 2, "status_message": "invalidAuthToken"}
    with pytest.raises(Exception, match="^failed with status: 2, message: invalidAuthToken$"):
        viber("0000-bad-token").set_webhook("https://example.invalid/hook")


def test_set_and_get_webhook(viber, bot, receiver):
    api = viber(bot.token)
    assert api.set_webhook(receiver.url, webhook_events=["delivered", "seen"]) == ["delivered", "seen"]
    probe = receiver.posts()[0]  # Viber calls the URL during set_webhook, signed
    assert api.verify_signature(probe["body"], header(probe, "X-Viber-Content-Signature"))
    assert api.parse_request(probe["body"]).event_type == "webhook"
    info = api.get_account_info()
    assert (info["webhook"], info["event_types"]) == (receiver.url, ["delivered", "seen"])
    api.unset_webhook()
    assert api.get_account_info()["webhook"] == ""


def test_send_text(viber, bot, receiver):
    api = viber(bot.token)
    api.set_webhook(receiver.url)  # Viber sends only with a webhook set
    ana = get_customer(account=bot, key="ana")
    (token,) = api.send_messages(ana.external_id, [TextMessage(text="Hi Ana")])
    assert isinstance(token, int) and ana.messages.get(direction="out").platform_message_id == str(token)


def test_send_errors_raise_what_viber_raises(viber, bot, receiver):
    api = viber(bot.token)
    api.set_webhook(receiver.url)
    bot.refresh_from_db()
    ana = get_customer(account=bot, key="ana")

    def refused(to: str, text: str = "Hi") -> str:
        with pytest.raises(Exception, match="^failed with status: ") as raised:
            api.send_messages(to, [TextMessage(text=text)])
        return str(raised.value)

    assert refused("bm90LWEtdXNlcg==") == "failed with status: 5, message: receiverNotRegistered"
    assert refused(ana.external_id, "x" * 7001) == "failed with status: 3, message: badData"
    bot.rate_limit = 1
    bot.save()
    api.send_messages(ana.external_id, [TextMessage(text="one")])
    assert refused(ana.external_id) == "failed with status: 12, message: tooManyRequests"  # no retry value
    bot.rate_limit, bot.forced_error = 0, ForcedError.BLOCKED
    bot.save()
    assert refused(ana.external_id) == "failed with status: 6, message: receiverNotSubscribed"


def test_callbacks_verify_and_parse_with_viberbot(viber, bot, receiver):
    api = viber(bot.token)
    api.set_webhook(receiver.url)
    bot.refresh_from_db()
    ana = get_customer(account=bot, key="ana", name="Ana Lee")
    customer_says(account=bot, customer=ana, text="Hello Viber")
    api.send_messages(ana.external_id, [TextMessage(text="Hi Ana")])
    customer_sees(account=bot, customer=ana)
    deliver_due(account=bot)
    customer_blocks(account=bot, customer=ana, blocked=True)
    customer_blocks(account=bot, customer=ana, blocked=False)

    parsed = []
    for post in receiver.posts()[1:]:  # after the set_webhook probe
        assert api.verify_signature(post["body"], header(post, "X-Viber-Content-Signature"))
        assert not api.verify_signature(post["body"] + b" ", header(post, "X-Viber-Content-Signature"))
        parsed.append(api.parse_request(post["body"]))
    kinds = [type(request) for request in parsed]
    assert kinds == [
        ViberMessageRequest,
        ViberDeliveredRequest,
        ViberSeenRequest,
        ViberUnsubscribedRequest,
        ViberSubscribedRequest,
    ]
    said = parsed[0]
    assert said.message.text == "Hello Viber" and said.sender.id == ana.external_id and said.sender.name == "Ana Lee"
    assert parsed[3].user_id == ana.external_id and parsed[4].user.id == ana.external_id
