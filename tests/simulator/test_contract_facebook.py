"""The fake Graph API driven by Meta's own facebook-business SDK over real HTTP. The SDK sends
POST parameters form-encoded with JSON values (`recipient={"id":"..."}`), as many clients do;
the Graph API decodes them, so the simulator must too (issue 16). Meta ships no webhook parser
in Python: the X-Hub-Signature-256 check below is the one its docs describe."""

import hashlib
import hmac
import json

import pytest
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession

from simulator.factories import create_account
from simulator.models import ForcedError
from simulator.services import customer_says, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page():
    return create_account(platform="facebook", name="Acme")


def graph(base: str, token: str) -> FacebookAdsApi:
    """The SDK's API object with `token`, on the simulator's Graph API v19.0."""
    api = FacebookAdsApi(FacebookSession(access_token=token), api_version="v19.0")
    root = f"{base}/simulator/api/facebook"

    def call(method: str, path: tuple, params: dict | None = None) -> dict:
        return api.call(method, path, params=params, url_override=root).json()

    api.graph_call = call
    return api


def test_identity_and_bad_token(base, page):
    assert graph(base, page.token).graph_call("GET", ("me",)) == {"name": "Acme", "id": page.platform_id}
    debug = graph(base, f"{page.app_id}|{page.secret}").graph_call("GET", ("debug_token",), {"input_token": page.token})
    assert debug["data"]["is_valid"] is True and debug["data"]["profile_id"] == page.platform_id

    with pytest.raises(FacebookRequestError) as raised:
        graph(base, "EAAGnotAToken").graph_call("GET", ("me",))
    error = raised.value
    assert (error.http_status(), error.api_error_code(), error.api_error_type()) == (400, 190, "OAuthException")


def test_set_and_get_webhook_then_messages_are_delivered(base, page, receiver):
    app = graph(base, f"{page.app_id}|{page.secret}")
    params = {"object": "page", "callback_url": receiver.url, "verify_token": receiver.verify_token}
    assert app.graph_call("POST", (page.app_id, "subscriptions"), params | {"fields": ["messages"]}) == {
        "success": True
    }
    assert receiver.requests[0]["query"]["hub.mode"] == "subscribe"  # the handshake happened during the call
    callbacks = app.graph_call("GET", (page.app_id, "subscriptions"))["data"]
    assert callbacks[0]["callback_url"] == receiver.url and callbacks[0]["object"] == "page"

    # The SDK JSON-encodes the list; stored as broken strings, the page lost `messages` (issue 16).
    fields = ["messages", "message_deliveries", "message_reads"]
    api = graph(base, page.token)
    assert api.graph_call("POST", (page.platform_id, "subscribed_apps"), {"subscribed_fields": fields}) == {
        "success": True
    }
    subscribed = api.graph_call("GET", (page.platform_id, "subscribed_apps"))["data"]
    assert subscribed[0]["subscribed_fields"] == fields

    page.refresh_from_db()
    ana = get_customer(account=page, key="ana")
    customer_says(account=page, customer=ana, text="Hello page")
    post = receiver.posts()[-1]
    expected = "sha256=" + hmac.new(page.secret.encode(), post["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(post["headers"]["X-Hub-Signature-256"], expected)
    event = json.loads(post["body"])["entry"][0]["messaging"][0]
    assert event["sender"]["id"] == ana.external_id and event["message"]["text"] == "Hello page"


def _send(base, page, psid: str, text: str) -> dict:
    params = {"recipient": {"id": psid}, "message": {"text": text}, "messaging_type": "RESPONSE"}
    return graph(base, page.token).graph_call("POST", (page.platform_id, "messages"), params)


def _refused(base, page, psid: str, text: str = "Hi") -> FacebookRequestError:
    with pytest.raises(FacebookRequestError) as raised:
        _send(base, page, psid, text)
    return raised.value


def test_send_text(base, page):
    ana = get_customer(account=page, key="ana")
    sent = _send(base, page, ana.external_id, "Hi Ana")
    assert sent["recipient_id"] == ana.external_id and sent["message_id"].startswith("m_")
    assert ana.messages.get(direction="out").text == "Hi Ana"


def test_send_errors_raise_what_the_graph_api_raises(base, page):
    ana = get_customer(account=page, key="ana")

    unknown = _refused(base, page, "1" + ana.external_id)
    assert (unknown.http_status(), unknown.api_error_code(), unknown.api_error_subcode()) == (400, 100, 2018001)
    assert unknown.api_error_message() == "(#100) No matching user found"

    too_long = _refused(base, page, ana.external_id, "x" * 2001)
    assert (too_long.api_error_code(), too_long.api_error_subcode()) == (100, None)
    assert "Length of param message[text]" in too_long.api_error_message()

    page.rate_limit = 1
    page.save()
    _send(base, page, ana.external_id, "one")
    limited = _refused(base, page, ana.external_id)
    assert (limited.http_status(), limited.api_error_code()) == (400, 613)

    page.rate_limit, page.forced_error = 0, ForcedError.BLOCKED
    page.save()
    blocked = _refused(base, page, ana.external_id)
    assert (blocked.api_error_code(), blocked.api_error_subcode()) == (551, 1545041)
    assert blocked.api_error_message() == "(#551) This person isn't available right now."
