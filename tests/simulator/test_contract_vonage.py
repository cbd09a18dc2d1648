"""The fake Vonage APIs driven by Vonage's own Python SDK (vonage 4) over real HTTP, and the
simulator's signed callbacks checked by the SDK's JWT verifier (vonage_jwt.verify_signature).

The SDK only builds https://{host}{path} URLs; the one shim below sends its requests for the
live test server's host over plain HTTP, leaving method, path, headers and body untouched."""

import base64
import hashlib
import json

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from vonage import Auth, HttpClientOptions, Vonage
from vonage_application import ApplicationConfig, ApplicationUrl, Capabilities, Messages, MessagesWebhooks
from vonage_http_client import AuthenticationError, HttpRequestError, RateLimitedError
from vonage_jwt import verify_signature
from vonage_messages import Sms

from simulator.delivery import deliver_due
from simulator.factories import create_account
from simulator.services import customer_says, customer_sees, get_customer

pytestmark = pytest.mark.django_db(transaction=True)


class PlainHttp(requests.adapters.HTTPAdapter):
    """Send https:// requests for the test server as http:// (the SDK has no scheme option)."""

    def send(self, request, **kwargs):
        request.url = "http://" + request.url.removeprefix("https://")
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def app(private_key):
    public = serialization.load_pem_private_key(private_key.encode(), None).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return create_account(platform="nexmo", name="Acme SMS", public_key=pem)


@pytest.fixture
def vonage(base, app, private_key):
    """Make a Vonage client: basic credentials, and the application's key for the Messages API."""
    host = base.removeprefix("http://") + "/simulator/api/nexmo"

    def make(api_secret: str | None = None, with_application: bool = True) -> Vonage:
        auth = Auth(
            api_key=app.api_key,
            api_secret=api_secret or app.api_secret,
            application_id=app.app_id if with_application else None,
            private_key=private_key if with_application else None,
        )
        client = Vonage(auth, HttpClientOptions(api_host=host, rest_host=host, max_retries=0))
        client.http_client._session.mount(f"https://{base.removeprefix('http://')}", PlainHttp())
        return client

    return make


def sms(app, to: str, text: str = "Hi") -> Sms:
    return Sms(to=to, from_=app.platform_id, text=text)


def test_identity_and_bad_credentials(vonage, app):
    balance = vonage().account.get_balance()
    assert balance.value == float(app.balance) and balance.auto_reload is False
    with pytest.raises(AuthenticationError) as raised:
        vonage(api_secret="wrong-secret").account.get_balance()
    assert raised.value.response.status_code == 401 and raised.value.response.json()["title"] == "Unauthorized"


def test_set_and_get_webhooks_on_the_application(vonage, app, receiver):
    client = vonage()
    hooks = MessagesWebhooks(
        inbound_url=ApplicationUrl(address=receiver.url, http_method="POST"),
        status_url=ApplicationUrl(address=receiver.url + "/status", http_method="POST"),
    )
    config = ApplicationConfig(
        name="Acme SMS", capabilities=Capabilities(messages=Messages(version="v1", webhooks=hooks))
    )
    updated = client.application.update_application(app.app_id, config)
    assert updated.id == app.app_id
    got = client.application.get_application(app.app_id)
    assert got.capabilities.messages.webhooks.inbound_url.address == receiver.url
    assert got.capabilities.messages.webhooks.status_url.address == receiver.url + "/status"
    assert got.keys.public_key == app.public_key


def test_send_text_with_the_application_jwt_and_with_basic_auth(vonage, app):
    ana = get_customer(account=app, key="ana")
    sent = vonage().messages.send(sms(app, ana.external_id, "Hi Ana"))
    assert ana.messages.get(direction="out", text="Hi Ana").platform_message_id == sent.message_uuid
    sent = vonage(with_application=False).messages.send(sms(app, ana.external_id, "Hi again"))
    assert ana.messages.get(direction="out", text="Hi again").platform_message_id == sent.message_uuid


def test_send_errors_raise_what_vonage_raises(vonage, app):
    client = vonage()
    ana = get_customer(account=app, key="ana")

    with pytest.raises(AuthenticationError):
        vonage(with_application=False, api_secret="wrong-secret").messages.send(sms(app, ana.external_id))

    with pytest.raises(HttpRequestError) as raised:
        client.messages.send(sms(app, ana.external_id, "x" * 1001))
    problem = raised.value.response.json()
    assert raised.value.response.status_code == 422 and problem["title"] == "Invalid params"
    assert problem["invalid_parameters"][0]["name"] == "text"

    app.rate_limit = 1
    app.save()
    client.messages.send(sms(app, ana.external_id, "one"))
    with pytest.raises(RateLimitedError) as raised:
        client.messages.send(sms(app, ana.external_id, "two"))
    assert raised.value.response.status_code == 429  # Vonage gives no retry value


def _callbacks(receiver, app) -> list[dict]:
    """Every callback body, after checking its JWT with the SDK and its payload_hash."""
    bodies = []
    for post in receiver.posts():
        token = post["headers"]["Authorization"].removeprefix("Bearer ")
        assert verify_signature(token, app.secret)
        assert not verify_signature(token, app.secret + "x")
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["payload_hash"] == hashlib.sha256(post["body"]).hexdigest()
        bodies.append({"path": post["path"], **json.loads(post["body"])})
    return bodies


def test_unknown_number_is_accepted_then_rejected_by_a_status_callback(vonage, app, receiver):
    """Issue 16: a well-formed number that is no simulated customer gets 202 and a message
    UUID; the failure comes later as a "rejected" status callback, as Vonage documents."""
    app.webhook_url, app.status_url = receiver.url, receiver.url + "/status"
    app.save()
    sent = vonage().messages.send(sms(app, "447700900999"))
    deliver_due(account=app)
    submitted, rejected = _callbacks(receiver, app)
    assert (submitted["path"], submitted["status"], submitted["message_uuid"]) == (
        "/hook/status",
        "submitted",
        sent.message_uuid,
    )
    assert (rejected["status"], rejected["message_uuid"], rejected["to"]) == (
        "rejected",
        sent.message_uuid,
        "447700900999",
    )
    assert rejected["error"]["type"].startswith("https://developer.nexmo.com/api-errors/messages#")

    with pytest.raises(HttpRequestError) as raised:  # a malformed number is still refused at once
        vonage().messages.send(Sms.model_construct(to="not-a-number", from_=app.platform_id, text="Hi"))
    assert raised.value.response.status_code == 422


def test_inbound_and_status_callbacks_verify_with_the_sdk(vonage, app, receiver):
    app.webhook_url, app.status_url = receiver.url, receiver.url + "/status"
    app.save()
    ana = get_customer(account=app, key="ana")
    customer_says(account=app, customer=ana, text="Hello SMS")
    sent = vonage().messages.send(sms(app, ana.external_id, "Hi Ana"))
    customer_sees(account=app, customer=ana)
    deliver_due(account=app)
    bodies = _callbacks(receiver, app)
    inbound = bodies[0]
    assert (inbound["path"], inbound["text"], inbound["from"]) == ("/hook", "Hello SMS", ana.external_id)
    statuses = [(b["status"], b["message_uuid"]) for b in bodies[1:]]
    assert statuses == [(s, sent.message_uuid) for s in ("submitted", "delivered", "read")]
