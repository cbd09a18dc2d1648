"""send_text and fetch_profile of the Facebook, LINE, Viber and Vonage clients against the
simulator's fakes over real HTTP: what the platform received, and how refusals map."""

import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.providers import get_provider
from integrations.providers.base import PlatformRejected, RecipientUnreachable, Unavailable
from simulator import services as sim
from simulator.models import ForcedError, SimMessage, SimRequest

pytestmark = pytest.mark.django_db(transaction=True)

MESSENGERS = ["facebook", "line", "viber", "nexmo"]


def ready(linked_account, messenger):
    """An account, its fake-platform twin with our webhook registered, and one customer."""
    account, sim_account = linked_account(messenger)
    sim.register_webhook(account=sim_account, url=account.webhook_url)
    customer = sim.get_customer(account=sim_account, key="ana", name="Ana Lee")
    return account, sim_account, customer


def sent_texts(sim_account):
    return list(SimMessage.objects.filter(account=sim_account, direction="out").values_list("text", flat=True))


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_send_text_reaches_the_customer(linked_account, messenger):
    account, sim_account, customer = ready(linked_account, messenger)

    sent = get_provider(messenger).send_text(
        account, to=customer.external_id, text="Hi Ana", idempotency_key=str(uuid.uuid4())
    )

    stored = SimMessage.objects.get(account=sim_account, direction="out")
    assert stored.text == "Hi Ana" and stored.customer == customer
    assert sent.platform_message_id == stored.platform_message_id


@pytest.mark.parametrize("messenger", MESSENGERS)
def test_a_platform_outage_is_unavailable(linked_account, messenger):
    account, sim_account, customer = ready(linked_account, messenger)
    sim_account.forced_error = ForcedError.SERVER_ERROR
    sim_account.save()

    with pytest.raises(Unavailable) as error:
        get_provider(messenger).send_text(account, to=customer.external_id, text="Hi", idempotency_key="k")

    assert error.value.retryable and error.value.http_status == 500
    assert sent_texts(sim_account) == []


@pytest.mark.parametrize(
    ("messenger", "error", "words"),
    [
        ("facebook", RecipientUnreachable, "(#551) This person isn't available right now."),
        ("viber", RecipientUnreachable, "receiverNotSubscribed"),
    ],
)
def test_a_customer_who_blocked_us_is_unreachable(linked_account, messenger, error, words):
    account, sim_account, customer = ready(linked_account, messenger)
    sim_account.forced_error = ForcedError.BLOCKED
    sim_account.save()

    with pytest.raises(error) as raised:
        get_provider(messenger).send_text(account, to=customer.external_id, text="Hi", idempotency_key="k")

    assert raised.value.text == words and not raised.value.retryable


@pytest.mark.parametrize(
    ("messenger", "error", "words"),
    [
        ("facebook", PlatformRejected, "(#100) No matching user found"),
        ("line", PlatformRejected, "The property, 'to', in the request body is invalid"),
        ("viber", RecipientUnreachable, "receiverNotRegistered"),
    ],
)
def test_an_unknown_recipient_is_refused_with_the_platform_words(linked_account, messenger, error, words):
    account, sim_account, _ = ready(linked_account, messenger)
    stranger = "U" + "0" * 32 if messenger == "line" else "12345678"

    with pytest.raises(error) as raised:
        get_provider(messenger).send_text(account, to=stranger, text="Hi", idempotency_key=str(uuid.uuid4()))

    assert raised.value.text.startswith(words)


def test_vonage_accepts_an_unknown_number_and_refuses_a_malformed_one(linked_account):
    """Vonage answers 202 to a well-formed number it cannot reach and reports "rejected" later by
    status callback (issue 16); only a malformed number is refused at once."""
    account, sim_account, _ = ready(linked_account, "nexmo")
    nexmo = get_provider("nexmo")

    accepted = nexmo.send_text(account, to="447700900999", text="Hi", idempotency_key=str(uuid.uuid4()))
    assert uuid.UUID(accepted.platform_message_id)
    with pytest.raises(PlatformRejected) as raised:
        nexmo.send_text(account, to="not-a-number", text="Hi", idempotency_key=str(uuid.uuid4()))
    assert raised.value.text.startswith("Invalid params: The value of one or more parameters is invalid.")


def test_line_sends_a_retry_key_and_takes_409_as_already_sent(linked_account):
    account, sim_account, customer = ready(linked_account, "line")
    line = get_provider("line")

    first = line.send_text(account, to=customer.external_id, text="Once", idempotency_key="message-42")
    again = line.send_text(account, to=customer.external_id, text="Once", idempotency_key="message-42")

    assert sent_texts(sim_account) == ["Once"]
    assert again.platform_message_id == first.platform_message_id
    keys = {r.headers.get("X-Line-Retry-Key") for r in SimRequest.objects.filter(path__endswith="/message/push")}
    assert len(keys) == 1 and uuid.UUID(keys.pop())
    assert list(SimRequest.objects.filter(path__endswith="/message/push").values_list("status_code", flat=True)) == [
        200,
        409,
    ]


def test_facebook_human_agent_option_tags_the_message(linked_account):
    account, _, customer = ready(linked_account, "facebook")
    facebook = get_provider("facebook")

    facebook.send_text(account, to=customer.external_id, text="Within 24 h", idempotency_key="a")
    facebook.send_text(account, to=customer.external_id, text="Later", idempotency_key="b", human_agent=True)

    bodies = list(SimRequest.objects.filter(path__contains="/me/messages").values_list("body", flat=True))
    assert '"messaging_type": "RESPONSE"' in bodies[0] and "HUMAN_AGENT" not in bodies[0]
    assert '"messaging_type": "MESSAGE_TAG"' in bodies[1] and '"tag": "HUMAN_AGENT"' in bodies[1]


def test_viber_sends_as_the_public_account_name(linked_account):
    account, _, customer = ready(linked_account, "viber")

    get_provider("viber").send_text(account, to=customer.external_id, text="Hi", idempotency_key="a")

    body = SimRequest.objects.get(path__endswith="/send_message").body
    assert f'"sender": {{"name": "{account.username}"}}' in body


def test_vonage_sends_with_an_application_jwt_when_a_private_key_is_set(linked_account):
    account, sim_account, customer = ready(linked_account, "nexmo")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sim_account.public_key = (
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    sim_account.save()
    account.private_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    get_provider("nexmo").send_text(account, to=customer.external_id, text="Hi by JWT", idempotency_key="a")

    assert sent_texts(sim_account) == ["Hi by JWT"]
    assert SimRequest.objects.get(path__endswith="/v1/messages").headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize(("messenger", "display_name"), [("facebook", "Ana Lee"), ("line", "Ana Lee")])
def test_fetch_profile_reads_the_customer_name(linked_account, messenger, display_name):
    account, _, customer = ready(linked_account, messenger)
    provider = get_provider(messenger)

    profile = provider.fetch_profile(account, customer.external_id)

    assert profile.display_name == display_name
    assert provider.fetch_profile(account, "U" + "9" * 32 if messenger == "line" else "999999") is None
