"""The fake LINE Messaging API driven by LINE's own line-bot-sdk (v3) over real HTTP, and the
simulator's webhooks checked by the SDK's WebhookParser (signature) and its CallbackRequest
model (the whole body, `destination` included)."""

import io
import json
import uuid

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    SetWebhookEndpointRequest,
    TestWebhookEndpointRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import UnauthorizedException
from linebot.v3.webhooks import CallbackRequest, FollowEvent, MessageEvent, UnfollowEvent

from simulator import demo
from simulator.factories import create_account
from simulator.models import ForcedError
from simulator.services import customer_blocks, customer_says, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def channel():
    return create_account(platform="line", name="Acme LINE")


def messaging(base: str, token: str):
    """A MessagingApi of the SDK on the simulator (the caller closes the client)."""
    client = ApiClient(Configuration(host=f"{base}/simulator/api/line", access_token=token))
    return client, MessagingApi(client)


def call(base: str, token: str, fn):
    client, api = messaging(base, token)
    with client:
        return fn(api)


def push(base: str, token: str, to: str, text: str):
    request = PushMessageRequest(to=to, messages=[TextMessage(text=text)])
    return call(base, token, lambda api: api.push_message(request, x_line_retry_key=str(uuid.uuid4())))


def signature(post: dict) -> str:
    """x-line-signature, as LINE spells it (lower case)."""
    return post["headers"]["x-line-signature"]


def test_identity_and_bad_token(base, channel):
    info = call(base, channel.token, lambda api: api.get_bot_info())
    assert (info.user_id, info.basic_id, info.display_name) == (channel.platform_id, channel.username, "Acme LINE")
    with pytest.raises(UnauthorizedException) as raised:
        call(base, "not-a-token", lambda api: api.get_bot_info())
    assert raised.value.status == 401 and "Authentication failed" in json.loads(raised.value.body)["message"]


def test_set_get_and_test_webhook(base, channel, receiver):
    call(base, channel.token, lambda api: api.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint=receiver.url)))
    endpoint = call(base, channel.token, lambda api: api.get_webhook_endpoint())
    assert (endpoint.endpoint, endpoint.active) == (receiver.url, True)

    tested = call(base, channel.token, lambda api: api.test_webhook_endpoint(TestWebhookEndpointRequest()))
    assert (tested.success, tested.status_code, tested.reason) == (True, 200, "OK")
    probe = receiver.posts()[0]
    body = probe["body"].decode()
    assert WebhookParser(channel.secret).parse(body, signature(probe)) == []
    assert CallbackRequest.from_json(body).destination == channel.platform_id


def test_send_text(base, channel):
    ana = get_customer(account=channel, key="ana")
    sent = push(base, channel.token, ana.external_id, "Hi Ana")
    assert len(sent.sent_messages) == 1 and sent.sent_messages[0].id
    assert ana.messages.get(direction="out").platform_message_id == sent.sent_messages[0].id


def _refused(base, channel, to: str, text: str = "Hi") -> tuple[int, dict]:
    with pytest.raises(ApiException) as raised:
        push(base, channel.token, to, text)
    return raised.value.status, json.loads(raised.value.body)


def test_send_errors_raise_what_line_raises(base, channel):
    ana = get_customer(account=channel, key="ana")

    status, body = _refused(base, channel, "U" + "0" * 32)
    assert status == 400 and "'to'" in body["message"]

    status, body = _refused(base, channel, ana.external_id, "x" * 5001)
    assert status == 400 and body["details"] == [
        {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
    ]

    channel.rate_limit = 1
    channel.save()
    push(base, channel.token, ana.external_id, "one")
    status, body = _refused(base, channel, ana.external_id)
    assert status == 429  # LINE gives no retry value: no Retry-After, nothing in the body

    channel.rate_limit, channel.forced_error = 0, ForcedError.BLOCKED
    channel.save()
    status, body = _refused(base, channel, ana.external_id)
    assert status == 400


def test_webhooks_verify_and_parse_with_the_sdk(base, channel, receiver):
    channel.webhook_url = receiver.url
    channel.save()
    ana = get_customer(account=channel, key="ana")
    customer_says(account=channel, customer=ana, text="Hello LINE")
    customer_blocks(account=channel, customer=ana, blocked=True)
    customer_blocks(account=channel, customer=ana, blocked=False)
    parser = WebhookParser(channel.secret)
    events = []
    for post in receiver.posts():
        body = post["body"].decode()
        events += parser.parse(body, signature(post))
        assert CallbackRequest.from_json(body).destination == channel.platform_id
    said, unfollow, follow = events
    assert isinstance(said, MessageEvent) and said.message.text == "Hello LINE"
    assert said.source.user_id == ana.external_id
    assert isinstance(unfollow, UnfollowEvent) and isinstance(follow, FollowEvent) and follow.follow.is_unblocked

    with pytest.raises(InvalidSignatureError):
        parser.parse(receiver.posts()[0]["body"].decode(), "AAAA" + signature(receiver.posts()[0]))


def test_demo_channel_ids_are_what_the_sdk_accepts(base, receiver):
    """Issue 16: the demo bot's userId was 32 characters; LINE's are U + 32 hex digits."""
    demo.load(io.StringIO())
    channel = demo.register_demo_webhook(platform="line", url=receiver.url)
    info = call(base, channel.token, lambda api: api.get_bot_info())
    assert info.user_id == demo.DEMO_CREDENTIALS["line"]["bot_user_id"]
    customer_says(account=channel, customer=get_customer(account=channel, key="ana"), text="Hi")
    post = receiver.posts()[-1]
    body = post["body"].decode()
    assert CallbackRequest.from_json(body).destination == info.user_id
    assert isinstance(WebhookParser(channel.secret).parse(body, signature(post))[0], MessageEvent)
